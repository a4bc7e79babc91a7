/* aws_body.c - see aws_body.h: SQS SendMessageBatch and Kinesis PutRecords bodies, built into a
 * bounded fy_buf and read back with cJSON, and the classification of AWS error codes. */
#include "sinks/aws/aws_body.h"

#include "core/b64.h"
#include "core/utf8.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX 2048 /* queue URL, stream ARN */

/* ==== text: UTF-8 decoding, JSON strings ==== */

/* Decode the code point at s (n > 0 bytes left) into *cp; its length, or 0 when ill-formed
 * (overlong, surrogate, above U+10FFFF, truncated, stray continuation byte). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, i;
    uint32_t v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0Fu;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07u;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    for (i = 1; i <= need; i++) {
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (i >= n || s[i] < l || s[i] > h) {
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return need + 1;
}

/* The characters SQS takes in a message body and a String attribute (the XML 1.0 Char set). */
static int sqs_char(uint32_t cp)
{
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* fy_sqs_body_ok for the field `what` ("message body", "attribute 'id'"). */
static int sqs_text_check(const char *s, size_t len, const char *what, size_t *bad_off,
                          struct fy_err *err)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;
    uint32_t cp;

    if (len == 0) {
        if (bad_off != NULL) {
            *bad_off = 0;
        }
        return fy_err_set(err, FY_EINVAL, "SQS: empty %s", what);
    }
    while (i < len) {
        k = utf8_next(p + i, len - i, &cp);
        if (k == 0) {
            if (bad_off != NULL) {
                *bad_off = i;
            }
            return fy_err_set(err, FY_EINVAL, "SQS: %s is not UTF-8 at byte %zu (0x%02X)", what,
                              i, p[i]);
        }
        if (!sqs_char(cp)) {
            if (bad_off != NULL) {
                *bad_off = i;
            }
            return fy_err_set(err, FY_EINVAL, "SQS: U+%04X at byte %zu of the %s is not allowed",
                              (unsigned)cp, i, what);
        }
        i += k;
    }
    return FY_OK;
}

/* Append s[0..n) as a JSON string. Bytes >= 0x80 go as they are (the callers checked the
 * UTF-8). Stops at the first buffer error, which has freed b. */
static int add_json_str(struct fy_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, start = 0;
    char u[7];
    int rc;

    if ((rc = fy_buf_add(b, "\"", 1)) != FY_OK) {
        return rc;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        size_t elen = 2;

        if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else if (c < 0x20) {
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = hex[c >> 4];
            u[5] = hex[c & 0xF];
            u[6] = '\0';
            esc = u;
            elen = 6;
        }
        if (esc == NULL) {
            continue;
        }
        if ((rc = fy_buf_add(b, s + start, i - start)) != FY_OK ||
            (rc = fy_buf_add(b, esc, elen)) != FY_OK) {
            return rc;
        }
        start = i + 1;
    }
    if ((rc = fy_buf_add(b, s + start, n - start)) != FY_OK) {
        return rc;
    }
    return fy_buf_add(b, "\"", 1);
}

static int add_json_cstr(struct fy_buf *b, const char *s)
{
    return add_json_str(b, s, strlen(s));
}

static int buf_fail(int rc, struct fy_err *err, const char *what)
{
    return fy_err_set(err, rc, "%s: request body: %s", what, fy_strerror(rc));
}

/* 1 when s has no byte below 0x20 nor DEL, and is UTF-8. */
static int plain_text(const char *s)
{
    const char *p;

    for (p = s; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7F) {
            return 0;
        }
    }
    return fy_utf8_valid(s, (size_t)(p - s));
}

static const char *str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* ==== SQS SendMessageBatch request ==== */

/* The message attributes sent for a record, in order; a NULL or empty value is left out. */
struct attr {
    const char *name;
    const char *value;
};

static size_t record_attrs(const struct fy_record *rec, struct attr out[3])
{
    const struct attr all[3] = {
        {"recType", rec->rec_type},
        {"event_type", rec->event_type},
        {"id", rec->id},
    };
    size_t i, n = 0;

    for (i = 0; i < 3; i++) {
        if (all[i].value != NULL && all[i].value[0] != '\0') {
            out[n++] = all[i];
        }
    }
    return n;
}

static int entry_id_ok(const char *id)
{
    size_t i;

    if (id == NULL) {
        return 0;
    }
    for (i = 0; id[i] != '\0'; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-')) {
            return 0;
        }
    }
    return i >= 1 && i <= FY_SQS_ENTRY_ID_MAX;
}

/* The character checks of one entry (body and attribute values). */
static int sqs_entry_chars(const struct fy_record *rec, struct fy_err *err)
{
    struct attr attrs[3];
    char what[64];
    size_t i, n;
    int rc;

    if ((rc = sqs_text_check(rec->body, rec->body != NULL ? rec->body_len : 0, "message body",
                             NULL, err)) != FY_OK) {
        return rc;
    }
    n = record_attrs(rec, attrs);
    for (i = 0; i < n; i++) {
        snprintf(what, sizeof(what), "attribute '%s'", attrs[i].name);
        if ((rc = sqs_text_check(attrs[i].value, strlen(attrs[i].value), what, NULL, err)) !=
            FY_OK) {
            return rc;
        }
    }
    return FY_OK;
}

int fy_sqs_batch_begin(struct fy_buf *b, const char *queue_url, struct fy_err *err)
{
    int rc;

    if (b == NULL || queue_url == NULL || queue_url[0] == '\0') {
        return fy_err_set(err, FY_EINVAL, "SQS: no queue URL");
    }
    if (strlen(queue_url) > URL_MAX || !plain_text(queue_url)) {
        return fy_err_set(err, FY_EINVAL,
                          "SQS: queue URL longer than %d bytes, not UTF-8 or with control "
                          "characters", URL_MAX);
    }
    fy_buf_reset(b);
    if ((rc = fy_buf_addstr(b, "{\"QueueUrl\":")) != FY_OK ||
        (rc = add_json_cstr(b, queue_url)) != FY_OK ||
        (rc = fy_buf_addstr(b, ",\"Entries\":[")) != FY_OK) {
        return buf_fail(rc, err, "SQS");
    }
    return FY_OK;
}

int fy_sqs_batch_add(struct fy_buf *b, const char *entry_id, const struct fy_record *rec,
                     const char *group_id, const char *dedup_id, struct fy_err *err)
{
    struct attr attrs[3];
    size_t i, n;
    int rc;

    if (b == NULL || b->data == NULL || b->len == 0 || rec == NULL) {
        return fy_err_set(err, FY_EINVAL, "SQS: entry without a batch or record");
    }
    if (!entry_id_ok(entry_id)) {
        return fy_err_set(err, FY_EINVAL,
                          "SQS: batch entry Id '%.80s' is not [A-Za-z0-9_-]{1,80}",
                          str_or_empty(entry_id));
    }
    if ((rc = sqs_entry_chars(rec, err)) != FY_OK) {
        return rc;
    }
    if (group_id != NULL && !fy_sqs_fifo_id_ok(group_id, err)) {
        fy_err_prefix(err, "MessageGroupId: ");
        return FY_EINVAL;
    }
    if (dedup_id != NULL && !fy_sqs_fifo_id_ok(dedup_id, err)) {
        fy_err_prefix(err, "MessageDeduplicationId: ");
        return FY_EINVAL;
    }
    /* the first entry follows the '[' that fy_sqs_batch_begin wrote */
    if ((rc = fy_buf_addstr(b, b->data[b->len - 1] == '[' ? "{\"Id\":" : ",{\"Id\":")) != FY_OK ||
        (rc = add_json_cstr(b, entry_id)) != FY_OK ||
        (rc = fy_buf_addstr(b, ",\"MessageBody\":")) != FY_OK ||
        (rc = add_json_str(b, rec->body, rec->body_len)) != FY_OK) {
        return buf_fail(rc, err, "SQS");
    }
    n = record_attrs(rec, attrs);
    for (i = 0; i < n; i++) {
        if ((rc = fy_buf_addstr(b, i == 0 ? ",\"MessageAttributes\":{" : ",")) != FY_OK ||
            (rc = add_json_cstr(b, attrs[i].name)) != FY_OK ||
            (rc = fy_buf_addstr(b, ":{\"DataType\":\"String\",\"StringValue\":")) != FY_OK ||
            (rc = add_json_cstr(b, attrs[i].value)) != FY_OK ||
            (rc = fy_buf_addstr(b, i + 1 == n ? "}}" : "}")) != FY_OK) {
            return buf_fail(rc, err, "SQS");
        }
    }
    if (group_id != NULL && ((rc = fy_buf_addstr(b, ",\"MessageGroupId\":")) != FY_OK ||
                             (rc = add_json_cstr(b, group_id)) != FY_OK)) {
        return buf_fail(rc, err, "SQS");
    }
    if (dedup_id != NULL && ((rc = fy_buf_addstr(b, ",\"MessageDeduplicationId\":")) != FY_OK ||
                             (rc = add_json_cstr(b, dedup_id)) != FY_OK)) {
        return buf_fail(rc, err, "SQS");
    }
    if ((rc = fy_buf_add(b, "}", 1)) != FY_OK) {
        return buf_fail(rc, err, "SQS");
    }
    return FY_OK;
}

/* Close a request body: ]} */
static int batch_end(struct fy_buf *b, struct fy_err *err, const char *svc)
{
    int rc;

    if (b == NULL || b->data == NULL) {
        return fy_err_set(err, FY_EINVAL, "%s: no request to end", svc);
    }
    if ((rc = fy_buf_add(b, "]}", 2)) != FY_OK) {
        return buf_fail(rc, err, svc);
    }
    return FY_OK;
}

int fy_sqs_batch_end(struct fy_buf *b, struct fy_err *err)
{
    return batch_end(b, err, "SQS");
}

int fy_sqs_body_ok(const char *s, size_t len, size_t *bad_off, struct fy_err *err)
{
    if (s == NULL && len > 0) {
        return fy_err_set(err, FY_EINVAL, "SQS: no message body");
    }
    return sqs_text_check(s, len, "message body", bad_off, err);
}

size_t fy_sqs_entry_size(const struct fy_record *rec)
{
    struct attr attrs[3];
    size_t i, n, size;

    if (rec == NULL) {
        return 0;
    }
    size = rec->body != NULL ? rec->body_len : 0;
    n = record_attrs(rec, attrs);
    for (i = 0; i < n; i++) {
        size += strlen(attrs[i].name) + strlen("String") + strlen(attrs[i].value);
    }
    return size;
}

int fy_sqs_entry_check(const struct fy_record *rec, size_t max_bytes, struct fy_err *err)
{
    size_t size;
    int rc;

    if (rec == NULL) {
        return fy_err_set(err, FY_EINVAL, "SQS: no record");
    }
    if ((rc = sqs_entry_chars(rec, err)) != FY_OK) {
        return rc;
    }
    size = fy_sqs_entry_size(rec);
    if (size > max_bytes) {
        return fy_err_set(err, FY_ETOOBIG,
                          "SQS: message is %zu bytes (body and attributes), over the queue's %zu",
                          size, max_bytes);
    }
    return FY_OK;
}

int fy_sqs_batch_fits(size_t n, size_t batch_bytes, size_t entry_bytes, size_t max_bytes)
{
    return n < FY_SQS_MAX_ENTRIES && entry_bytes <= max_bytes && batch_bytes <= max_bytes &&
           entry_bytes <= max_bytes - batch_bytes;
}

int fy_sqs_fifo_id_ok(const char *s, struct fy_err *err)
{
    size_t i;

    if (s == NULL || s[0] == '\0') {
        fy_err_set(err, FY_EINVAL, "SQS: empty FIFO id");
        return 0;
    }
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7E) {
            fy_err_set(err, FY_EINVAL,
                       "SQS: byte 0x%02X at %zu of a FIFO id is not alphanumeric or punctuation",
                       c, i);
            return 0;
        }
        if (i + 1 > FY_SQS_FIFO_ID_MAX) {
            fy_err_set(err, FY_EINVAL, "SQS: FIFO id longer than %d characters",
                       FY_SQS_FIFO_ID_MAX);
            return 0;
        }
    }
    return 1;
}

int fy_sqs_fifo_id(const char *s, char out[FY_SQS_FIFO_ID_MAX + 1])
{
    /* readable part + "~" + 16 hex digits = 128 */
    enum { KEEP = FY_SQS_FIFO_ID_MAX - 1 - 16 };
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t i, n;

    s = str_or_empty(s);
    if (fy_sqs_fifo_id_ok(s, NULL)) {
        memcpy(out, s, strlen(s) + 1);
        return 0;
    }
    out[0] = '\0';
    if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8) {
        return -1;
    }
    n = strlen(s);
    if (n > KEEP) {
        n = KEEP;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x21 || c > 0x7E) ? '_' : (char)c;
    }
    out[n] = '~';
    fy_hex_encode(md, 8, out + n + 1);
    return 1;
}

/* ==== Kinesis PutRecords request ==== */

static int stream_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-')) {
            return 0;
        }
    }
    return i >= 1 && i <= 128;
}

/* The shape of arn:aws[-partition]:kinesis:<region>:<account>:stream/<name>, no spaces. */
static int stream_arn_ok(const char *s)
{
    const char *k, *p;

    if (strncmp(s, "arn:aws", 7) != 0 || strlen(s) > URL_MAX) {
        return 0;
    }
    for (p = s; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F) {
            return 0;
        }
    }
    k = strstr(s, ":kinesis:");
    return k != NULL && strstr(k, ":stream/") != NULL && p[-1] != '/';
}

int fy_kinesis_batch_begin(struct fy_buf *b, const char *stream_name, const char *stream_arn,
                           struct fy_err *err)
{
    int rc;

    if (b == NULL || (stream_name == NULL && stream_arn == NULL)) {
        return fy_err_set(err, FY_EINVAL, "Kinesis: neither a stream name nor a stream ARN");
    }
    if (stream_name != NULL && !stream_name_ok(stream_name)) {
        return fy_err_set(err, FY_EINVAL,
                          "Kinesis: stream name '%.128s' is not [a-zA-Z0-9_.-]{1,128}",
                          stream_name);
    }
    if (stream_arn != NULL && !stream_arn_ok(stream_arn)) {
        return fy_err_set(err, FY_EINVAL,
                          "Kinesis: stream ARN '%.160s' is not arn:aws...:kinesis:...:stream/...",
                          stream_arn);
    }
    fy_buf_reset(b);
    rc = fy_buf_add(b, "{", 1);
    if (rc == FY_OK && stream_name != NULL) {
        if ((rc = fy_buf_addstr(b, "\"StreamName\":")) == FY_OK) {
            rc = add_json_cstr(b, stream_name);
        }
    }
    if (rc == FY_OK && stream_arn != NULL) {
        if ((rc = fy_buf_addstr(b, stream_name != NULL ? ",\"StreamARN\":" : "\"StreamARN\":")) ==
            FY_OK) {
            rc = add_json_cstr(b, stream_arn);
        }
    }
    if (rc == FY_OK) {
        rc = fy_buf_addstr(b, ",\"Records\":[");
    }
    if (rc != FY_OK) {
        return buf_fail(rc, err, "Kinesis");
    }
    return FY_OK;
}

int fy_kinesis_key_ok(const char *key, struct fy_err *err)
{
    const unsigned char *p = (const unsigned char *)key;
    size_t i = 0, len, chars = 0, k;
    uint32_t cp;

    if (key == NULL || key[0] == '\0') {
        fy_err_set(err, FY_EINVAL, "Kinesis: empty partition key");
        return 0;
    }
    len = strlen(key);
    while (i < len) {
        k = utf8_next(p + i, len - i, &cp);
        if (k == 0) {
            fy_err_set(err, FY_EINVAL, "Kinesis: partition key is not UTF-8 at byte %zu", i);
            return 0;
        }
        i += k;
        chars++;
    }
    if (chars > FY_KINESIS_KEY_MAX_CHARS) {
        fy_err_set(err, FY_EINVAL, "Kinesis: partition key has %zu characters, over %d", chars,
                   FY_KINESIS_KEY_MAX_CHARS);
        return 0;
    }
    return 1;
}

int fy_kinesis_batch_add(struct fy_buf *b, const struct fy_record *rec,
                         const char *partition_key, struct fy_err *err)
{
    char *data;
    int rc;

    if (b == NULL || b->data == NULL || b->len == 0 || rec == NULL ||
        (rec->body == NULL && rec->body_len > 0)) {
        return fy_err_set(err, FY_EINVAL, "Kinesis: record without a batch or body");
    }
    if (!fy_kinesis_key_ok(partition_key, err)) {
        return FY_EINVAL;
    }
    data = fy_b64_encode((const uint8_t *)(rec->body != NULL ? rec->body : ""), rec->body_len);
    if (data == NULL) {
        return fy_err_set(err, FY_ENOMEM, "Kinesis: base64 of a %zu-byte record", rec->body_len);
    }
    if ((rc = fy_buf_addstr(b, b->data[b->len - 1] == '[' ? "{\"Data\":\"" : ",{\"Data\":\"")) ==
            FY_OK &&
        (rc = fy_buf_addstr(b, data)) == FY_OK &&
        (rc = fy_buf_addstr(b, "\",\"PartitionKey\":")) == FY_OK &&
        (rc = add_json_cstr(b, partition_key)) == FY_OK) {
        rc = fy_buf_add(b, "}", 1);
    }
    free(data);
    if (rc != FY_OK) {
        return buf_fail(rc, err, "Kinesis");
    }
    return FY_OK;
}

int fy_kinesis_batch_end(struct fy_buf *b, struct fy_err *err)
{
    return batch_end(b, err, "Kinesis");
}

size_t fy_kinesis_entry_size(const struct fy_record *rec, const char *partition_key)
{
    return (rec != NULL && rec->body != NULL ? rec->body_len : 0) +
           (partition_key != NULL ? strlen(partition_key) : 0);
}

int fy_kinesis_batch_fits(size_t n, size_t request_bytes, size_t entry_bytes)
{
    return n < FY_KINESIS_MAX_RECORDS && entry_bytes <= FY_KINESIS_MAX_RECORD_BYTES &&
           request_bytes <= FY_KINESIS_MAX_REQUEST_BYTES &&
           entry_bytes <= FY_KINESIS_MAX_REQUEST_BYTES - request_bytes;
}

/* ==== error codes ==== */

enum cls { C_UNKNOWN, C_RETRY, C_AUTH, C_REJECT };

struct code_class {
    const char *code;
    enum cls cls;
};

/* Codes every AWS JSON service answers (the "common errors" of the API references). */
static const struct code_class common_codes[] = {
    /* signature and credentials: keep the records, new credentials may fix it */
    {"InvalidSignatureException", C_AUTH},
    {"SignatureDoesNotMatch", C_AUTH},
    {"UnrecognizedClientException", C_AUTH},
    {"ExpiredToken", C_AUTH},
    {"ExpiredTokenException", C_AUTH},
    {"InvalidClientTokenId", C_AUTH},
    {"IncompleteSignature", C_AUTH},
    {"MissingAuthenticationToken", C_AUTH},
    {"RequestExpired", C_AUTH}, /* signed too long ago (clock skew): sign again */
    /* throttling and the service's own failures */
    {"ThrottlingException", C_RETRY},
    {"Throttling", C_RETRY},
    {"RequestThrottled", C_RETRY},
    {"ServiceUnavailable", C_RETRY},
    {"ServiceUnavailableException", C_RETRY},
    {"InternalError", C_RETRY},
    {"InternalFailure", C_RETRY},
    {"InternalServerError", C_RETRY},
    /* the request, the permissions or the resource are wrong: retrying cannot help */
    {"AccessDenied", C_REJECT},
    {"AccessDeniedException", C_REJECT},
    {"NotAuthorized", C_REJECT},
    {"OptInRequired", C_REJECT},
    {"InvalidParameterValue", C_REJECT},
    {"InvalidParameterCombination", C_REJECT},
    {"InvalidQueryParameter", C_REJECT},
    {"MissingParameter", C_REJECT},
    {"MalformedQueryString", C_REJECT},
    {"InvalidAction", C_REJECT},
    {"MissingAction", C_REJECT},
    {"ValidationError", C_REJECT},
    {"ValidationException", C_REJECT},
    {"SerializationException", C_REJECT},
    {"UnknownOperationException", C_REJECT},
    {NULL, C_UNKNOWN},
};

/* SQS codes, without the "AWS.SimpleQueueService." prefix of the query-compatible names. */
static const struct code_class sqs_codes[] = {
    {"KmsThrottled", C_RETRY},
    {"KMS.ThrottlingException", C_RETRY},
    {"QueueDoesNotExist", C_REJECT},
    {"NonExistentQueue", C_REJECT},
    {"InvalidAddress", C_REJECT},
    {"InvalidSecurity", C_REJECT}, /* not HTTPS or not SigV4: our request, not the keys */
    {"InvalidMessageContents", C_REJECT},
    {"MessageTooLong", C_REJECT},
    {"BatchRequestTooLong", C_REJECT},
    {"TooManyEntriesInBatchRequest", C_REJECT},
    {"BatchEntryIdsNotDistinct", C_REJECT},
    {"EmptyBatchRequest", C_REJECT},
    {"InvalidBatchEntryId", C_REJECT},
    {"UnsupportedOperation", C_REJECT},
    {"KmsAccessDenied", C_REJECT},
    {"KmsDisabled", C_REJECT},
    {"KmsInvalidKeyUsage", C_REJECT},
    {"KmsInvalidState", C_REJECT},
    {"KmsNotFound", C_REJECT},
    {"KmsOptInRequired", C_REJECT},
    {"KMS.AccessDeniedException", C_REJECT},
    {"KMS.DisabledException", C_REJECT},
    {"KMS.InvalidKeyUsageException", C_REJECT},
    {"KMS.KMSInvalidStateException", C_REJECT},
    {"KMS.NotFoundException", C_REJECT},
    {"KMS.OptInRequired", C_REJECT},
    {NULL, C_UNKNOWN},
};

static const struct code_class kinesis_codes[] = {
    {"ProvisionedThroughputExceededException", C_RETRY},
    {"LimitExceededException", C_RETRY},
    {"KMSThrottlingException", C_RETRY},
    {"ResourceInUseException", C_RETRY}, /* stream being created or updated */
    {"ResourceNotFoundException", C_REJECT},
    {"InvalidArgumentException", C_REJECT},
    {"KMSAccessDeniedException", C_REJECT},
    {"KMSDisabledException", C_REJECT},
    {"KMSInvalidStateException", C_REJECT},
    {"KMSNotFoundException", C_REJECT},
    {"KMSOptInRequired", C_REJECT},
    {NULL, C_UNKNOWN},
};

/* code without a "namespace#" head and a ":detail" tail, into out. */
static void code_normalize(const char *code, char *out, size_t cap)
{
    const char *p = strrchr(code, '#');
    size_t n;

    if (p != NULL) {
        code = p + 1;
    }
    n = strcspn(code, ":");
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, code, n);
    out[n] = '\0';
}

static enum cls lookup(const struct code_class *t, const char *code)
{
    for (; t->code != NULL; t++) {
        if (strcmp(t->code, code) == 0) {
            return t->cls;
        }
    }
    return C_UNKNOWN;
}

static enum fy_sink_result by_status(int http_status, int fallback_reject)
{
    if (http_status == 429 || http_status >= 500) {
        return FY_SINK_RETRY;
    }
    if (http_status >= 400) {
        return FY_SINK_REJECT;
    }
    return fallback_reject ? FY_SINK_REJECT : FY_SINK_RETRY;
}

static enum fy_sink_result from_cls(enum cls c, int *auth)
{
    if (auth != NULL) {
        *auth = c == C_AUTH;
    }
    return c == C_REJECT ? FY_SINK_REJECT : FY_SINK_RETRY;
}

enum fy_sink_result fy_sqs_classify(const char *code, int sender_fault, int http_status,
                                    int *auth)
{
    static const char prefix[] = "AWS.SimpleQueueService.";
    char norm[FY_AWS_CODE_MAX];
    const char *c = norm;
    enum cls k;

    if (auth != NULL) {
        *auth = 0;
    }
    code_normalize(str_or_empty(code), norm, sizeof(norm));
    if (strncmp(c, prefix, sizeof(prefix) - 1) == 0) {
        c += sizeof(prefix) - 1;
    }
    k = lookup(common_codes, c);
    if (k == C_UNKNOWN) {
        k = lookup(sqs_codes, c);
    }
    if (k == C_UNKNOWN) {
        return by_status(http_status, sender_fault);
    }
    return from_cls(k, auth);
}

enum fy_sink_result fy_kinesis_classify(const char *code, int http_status, int *auth)
{
    char norm[FY_AWS_CODE_MAX];
    enum cls k;

    if (auth != NULL) {
        *auth = 0;
    }
    code_normalize(str_or_empty(code), norm, sizeof(norm));
    k = lookup(common_codes, norm);
    if (k == C_UNKNOWN) {
        k = lookup(kinesis_codes, norm);
    }
    if (k == C_UNKNOWN) {
        return by_status(http_status, 0);
    }
    return from_cls(k, auth);
}

/* ==== answers ==== */

enum svc { SQS, KINESIS };

static const char *svc_name(enum svc s)
{
    return s == SQS ? "SQS" : "Kinesis";
}

/* Copy at most cap-1 bytes of src, control characters as spaces, no cut UTF-8 sequence. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t i;

    for (i = 0; src[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
    }
    dst[i] = '\0';
    if (src[i] != '\0') {
        fy_utf8_truncate(dst);
    }
}

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void result_unknown(struct fy_aws_result *r, enum svc s, size_t i, const char *why)
{
    memset(r, 0, sizeof(*r));
    r->state = FY_AWS_UNKNOWN;
    r->res = FY_SINK_RETRY;
    snprintf(r->reason, sizeof(r->reason), "%s: record %zu %s", svc_name(s), i, why);
}

static void result_sent(struct fy_aws_result *r, const char *ref, const char *shard)
{
    memset(r, 0, sizeof(*r));
    r->state = FY_AWS_SENT;
    r->res = FY_SINK_OK;
    copy_text(r->ref, sizeof(r->ref), str_or_empty(ref));
    copy_text(r->shard_id, sizeof(r->shard_id), str_or_empty(shard));
}

static void result_failed(struct fy_aws_result *r, enum svc s, const char *code,
                          const char *message, int sender_fault, int http_status)
{
    char status[24] = "";

    memset(r, 0, sizeof(*r));
    r->state = FY_AWS_FAILED;
    r->sender_fault = sender_fault;
    r->http_status = http_status;
    code_normalize(str_or_empty(code), r->code, sizeof(r->code));
    copy_text(r->message, sizeof(r->message), str_or_empty(message));
    r->res = s == SQS ? fy_sqs_classify(r->code, sender_fault, http_status, &r->auth)
                      : fy_kinesis_classify(r->code, http_status, &r->auth);
    if (http_status != 0) {
        snprintf(status, sizeof(status), " HTTP %d", http_status);
    }
    snprintf(r->reason, sizeof(r->reason), "%s%s%s %s%s%s%s", r->auth ? "auth: " : "",
             svc_name(s), status, r->code[0] != '\0' ? r->code : "(no error code)",
             s == SQS && sender_fault ? " (sender fault)" : "", r->message[0] != '\0' ? ": " : "",
             r->message);
}

/* The batch index that an SQS entry Id names: "0".."n-1", no sign, no leading zero. */
static long sqs_index(const char *id, size_t n)
{
    long v = 0;
    size_t i;

    if (id == NULL || id[0] == '\0' || (id[0] == '0' && id[1] != '\0') || strlen(id) > 3) {
        return -1;
    }
    for (i = 0; id[i] != '\0'; i++) {
        if (id[i] < '0' || id[i] > '9') {
            return -1;
        }
        v = v * 10 + (id[i] - '0');
    }
    return (size_t)v < n ? v : -1;
}

int fy_sqs_batch_result(const char *json, size_t len, size_t n, struct fy_aws_result *results,
                        struct fy_err *err)
{
    const cJSON *ok, *failed, *oklist, *faillist, *it;
    unsigned seen = 0; /* bit i: entry i named once already */
    int rc = FY_OK;
    cJSON *root;
    size_t i;

    if (results == NULL || n == 0 || n > FY_SQS_MAX_ENTRIES || (json == NULL && len > 0)) {
        return fy_err_set(err, FY_EINVAL, "SQS: batch result for %zu entries", n);
    }
    for (i = 0; i < n; i++) {
        result_unknown(&results[i], SQS, i, "missing from the SendMessageBatch answer");
    }
    root = json != NULL ? cJSON_ParseWithLength(json, len) : NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        for (i = 0; i < n; i++) {
            result_unknown(&results[i], SQS, i, "not read: SendMessageBatch answer is not JSON");
        }
        return fy_err_set(err, FY_EDECODE, "SQS: SendMessageBatch answer is not a JSON object");
    }
    ok = cJSON_GetObjectItemCaseSensitive(root, "Successful");
    failed = cJSON_GetObjectItemCaseSensitive(root, "Failed");
    if ((ok != NULL && !cJSON_IsArray(ok) && !cJSON_IsNull(ok)) ||
        (failed != NULL && !cJSON_IsArray(failed) && !cJSON_IsNull(failed)) ||
        (!cJSON_IsArray(ok) && !cJSON_IsArray(failed))) {
        cJSON_Delete(root);
        return fy_err_set(err, FY_EDECODE,
                          "SQS: SendMessageBatch answer without Successful or Failed lists");
    }
    oklist = cJSON_IsArray(ok) ? ok : NULL;
    faillist = cJSON_IsArray(failed) ? failed : NULL;
    cJSON_ArrayForEach(it, oklist)
    {
        long k = sqs_index(json_str(it, "Id"), n);

        if (k < 0) {
            rc = fy_err_set(err, FY_EDECODE, "SQS: Successful entry with no batch index as Id");
            continue;
        }
        if (seen & (1u << k)) {
            result_unknown(&results[k], SQS, (size_t)k, "named twice in the answer");
            rc = fy_err_set(err, FY_EDECODE, "SQS: entry %ld named twice", k);
            continue;
        }
        seen |= 1u << k;
        result_sent(&results[k], json_str(it, "MessageId"), NULL);
    }
    cJSON_ArrayForEach(it, faillist)
    {
        long k = sqs_index(json_str(it, "Id"), n);
        const char *code = json_str(it, "Code");
        const cJSON *sf = cJSON_GetObjectItemCaseSensitive(it, "SenderFault");

        if (k < 0) {
            rc = fy_err_set(err, FY_EDECODE, "SQS: Failed entry with no batch index as Id");
            continue;
        }
        if (seen & (1u << k)) {
            result_unknown(&results[k], SQS, (size_t)k, "named twice in the answer");
            rc = fy_err_set(err, FY_EDECODE, "SQS: entry %ld named twice", k);
            continue;
        }
        seen |= 1u << k;
        if (code == NULL || code[0] == '\0') {
            result_unknown(&results[k], SQS, (size_t)k, "failed without an error code");
            rc = fy_err_set(err, FY_EDECODE, "SQS: Failed entry %ld without Code", k);
            continue;
        }
        result_failed(&results[k], SQS, code, json_str(it, "Message"), cJSON_IsTrue(sf), 0);
    }
    cJSON_Delete(root);
    return rc;
}

int fy_kinesis_batch_result(const char *json, size_t len, size_t n,
                            struct fy_aws_result *results, struct fy_err *err)
{
    const cJSON *recs, *it, *frc;
    size_t i, got, nfailed = 0;
    int rc = FY_OK;
    cJSON *root;

    if (results == NULL || n == 0 || n > FY_KINESIS_MAX_RECORDS || (json == NULL && len > 0)) {
        return fy_err_set(err, FY_EINVAL, "Kinesis: batch result for %zu records", n);
    }
    for (i = 0; i < n; i++) {
        result_unknown(&results[i], KINESIS, i, "missing from the PutRecords answer");
    }
    root = json != NULL ? cJSON_ParseWithLength(json, len) : NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        for (i = 0; i < n; i++) {
            result_unknown(&results[i], KINESIS, i, "not read: PutRecords answer is not JSON");
        }
        return fy_err_set(err, FY_EDECODE, "Kinesis: PutRecords answer is not a JSON object");
    }
    recs = cJSON_GetObjectItemCaseSensitive(root, "Records");
    if (!cJSON_IsArray(recs)) {
        cJSON_Delete(root);
        return fy_err_set(err, FY_EDECODE, "Kinesis: PutRecords answer without a Records list");
    }
    got = (size_t)cJSON_GetArraySize(recs);
    if (got != n) {
        /* Records answer by position only: with another count no position can be trusted,
         * so every record stays UNKNOWN (sent again) rather than one being taken as written */
        cJSON_Delete(root);
        return fy_err_set(err, FY_EDECODE, "Kinesis: PutRecords answered %zu records for %zu",
                          got, n);
    }
    i = 0;
    cJSON_ArrayForEach(it, recs)
    {
        const char *code = json_str(it, "ErrorCode");
        const char *seq = json_str(it, "SequenceNumber");

        if (i >= n) {
            break;
        }
        if (code != NULL && code[0] != '\0') {
            result_failed(&results[i], KINESIS, code, json_str(it, "ErrorMessage"), 0, 0);
            nfailed++;
        } else if (seq != NULL && seq[0] != '\0') {
            result_sent(&results[i], seq, json_str(it, "ShardId"));
        } else {
            result_unknown(&results[i], KINESIS, i, "has neither SequenceNumber nor ErrorCode");
            rc = fy_err_set(err, FY_EDECODE,
                            "Kinesis: record %zu has neither SequenceNumber nor ErrorCode", i);
        }
        i++;
    }
    frc = cJSON_GetObjectItemCaseSensitive(root, "FailedRecordCount");
    if (rc == FY_OK && cJSON_IsNumber(frc) && frc->valuedouble != (double)nfailed) {
        rc = fy_err_set(err, FY_EDECODE,
                        "Kinesis: FailedRecordCount %.0f but %zu records carry an ErrorCode",
                        frc->valuedouble, nfailed);
    }
    cJSON_Delete(root);
    return rc;
}

static int error_parse(enum svc s, const char *json, size_t len, int http_status,
                       struct fy_aws_result *out, struct fy_err *err)
{
    static const char *const code_keys[] = {"__type", "code", "Code", NULL};
    static const char *const msg_keys[] = {"message", "Message", "errorMessage", NULL};
    const char *code = NULL, *msg = NULL;
    cJSON *root;
    size_t i;
    int rc;

    if (out == NULL) {
        return fy_err_set(err, FY_EINVAL, "%s: no result for the error body", svc_name(s));
    }
    root = json != NULL ? cJSON_ParseWithLength(json, len) : NULL;
    for (i = 0; code == NULL && code_keys[i] != NULL; i++) {
        code = json_str(root, code_keys[i]);
    }
    for (i = 0; msg == NULL && msg_keys[i] != NULL; i++) {
        msg = json_str(root, msg_keys[i]);
    }
    if (code != NULL && code[0] != '\0') {
        result_failed(out, s, code, msg, 0, http_status);
        rc = FY_OK;
    } else {
        result_failed(out, s, NULL, msg, 0, http_status);
        rc = fy_err_set(err, FY_EDECODE, "%s: HTTP %d answer %s", svc_name(s), http_status,
                        cJSON_IsObject(root) ? "gives no error code" : "is not a JSON object");
    }
    cJSON_Delete(root);
    return rc;
}

int fy_sqs_error_parse(const char *json, size_t len, int http_status,
                       struct fy_aws_result *out, struct fy_err *err)
{
    return error_parse(SQS, json, len, http_status, out, err);
}

int fy_kinesis_error_parse(const char *json, size_t len, int http_status,
                           struct fy_aws_result *out, struct fy_err *err)
{
    return error_parse(KINESIS, json, len, http_status, out, err);
}
