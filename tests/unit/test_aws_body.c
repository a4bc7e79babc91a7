/* test_aws_body.c - SQS SendMessageBatch and Kinesis PutRecords bodies: built batches read back
 * with cJSON field by field, size limits at the byte, SQS's character set, FIFO ids, and the
 * answers (batch results and error bodies, in the shapes of the AWS API references) with every
 * error code's classification. */
#include "sinks/aws/aws_body.h"

#include "core/b64.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int init_aws_body_tests(void);

#define QUEUE_URL "https://sqs.eu-west-1.amazonaws.com/123456789012/ferry-uplinks.fifo"
#define STREAM_ARN "arn:aws:kinesis:eu-west-1:123456789012:stream/ferry-uplinks"

/* Ten envelopes with what escaping and SQS's character set must get right. */
static const char *const bodies[10] = {
    "{\"id\":\"env-0\",\"recType\":\"uplink\",\"data\":{\"temp\":21.5}}",
    "{\"s\":\"quote \\\" and backslash \\\\ escaped in the envelope\"}",
    "{\"raw\":\"tab\there, CR\rLF\nend\"}",
    "{\"name\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8 line separator\"}",
    "{\"edges\":\"\xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbd \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"}",
    "\"a bare JSON string with \\u0000 written as an escape\"",
    "{\"slash\":\"a/b\",\"del\":\"\x7f\"}",
    "[1,2,3]",
    "{\"k\":\"\\\"\\\"\\\"\"}",
    "{\"last\":true}",
};

static void make_records(struct fy_record recs[10], char ids[10][16], char keys[10][24])
{
    static const char *const types[10] = {"uplink", "uplink", "status", "uplink", "join",
                                          "uplink", "uplink", "ack", "type \"q\"", "uplink"};
    static const char *const events[10] = {"up", "", "status", "up", "join",
                                           "up", "", "ack", "up", "up"};
    size_t i;

    memset(recs, 0, 10 * sizeof(recs[0]));
    for (i = 0; i < 10; i++) {
        snprintf(ids[i], 16, "env-%zu", i);
        snprintf(keys[i], 24, "70B3D57ED000%04zu", i);
        recs[i].id = ids[i];
        recs[i].key = keys[i];
        recs[i].rec_type = types[i];
        recs[i].event_type = events[i];
        recs[i].body = bodies[i];
        recs[i].body_len = strlen(bodies[i]);
    }
}

static const char *obj_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The attribute `name` of entry e has DataType String and StringValue want. */
static void check_attr(const cJSON *e, const char *name, const char *want)
{
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(e, "MessageAttributes");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(attrs, name);

    FY_ASSERT_MSG(cJSON_IsObject(a), name);
    FY_ASSERT_STR(obj_str(a, "DataType"), "String");
    FY_ASSERT_STR(obj_str(a, "StringValue"), want);
    FY_ASSERT_EQ(cJSON_GetArraySize(a), 2);
}

/* ==== SQS request ==== */

static void test_sqs_build(void)
{
    struct fy_record recs[10];
    char ids[10][16], keys[10][24], gid[10][FY_SQS_FIFO_ID_MAX + 1], eid[4];
    struct fy_err err = {0};
    struct fy_buf b;
    const cJSON *entries;
    cJSON *root;
    size_t i;

    make_records(recs, ids, keys);
    fy_buf_init(&b, FY_SQS_REQUEST_MAX(FY_SQS_MAX_BYTES));
    FY_ASSERT_OK(fy_sqs_batch_begin(&b, QUEUE_URL, &err), &err);
    for (i = 0; i < 10; i++) {
        snprintf(eid, sizeof(eid), "%zu", i);
        FY_ASSERT_EQ(fy_sqs_fifo_id(keys[i], gid[i]), 0);
        /* even entries as for a FIFO queue, odd ones as for a standard queue */
        FY_ASSERT_OK(fy_sqs_batch_add(&b, eid, &recs[i], i % 2 == 0 ? gid[i] : NULL,
                                      i % 2 == 0 ? ids[i] : NULL, &err),
                     &err);
    }
    FY_ASSERT_OK(fy_sqs_batch_end(&b, &err), &err);
    FY_ASSERT_MSG(b.data != NULL, "batch body");
    for (i = 0; i < b.len; i++) { /* TAB, CR, LF went out escaped */
        FY_ASSERT((unsigned char)b.data[i] >= 0x20);
    }

    root = cJSON_ParseWithLength(b.data, b.len);
    FY_ASSERT_MSG(cJSON_IsObject(root), b.data);
    FY_ASSERT_EQ(cJSON_GetArraySize(root), 2);
    FY_ASSERT_STR(obj_str(root, "QueueUrl"), QUEUE_URL);
    entries = cJSON_GetObjectItemCaseSensitive(root, "Entries");
    FY_ASSERT_MSG(cJSON_IsArray(entries), "Entries");
    FY_ASSERT_EQ(cJSON_GetArraySize(entries), 10);
    for (i = 0; i < 10; i++) {
        const cJSON *e = cJSON_GetArrayItem(entries, (int)i);
        const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(e, "MessageAttributes");
        int fields = 3 + (i % 2 == 0 ? 2 : 0);

        snprintf(eid, sizeof(eid), "%zu", i);
        FY_ASSERT_STR(obj_str(e, "Id"), eid);
        FY_ASSERT_STR(obj_str(e, "MessageBody"), bodies[i]);
        check_attr(e, "recType", recs[i].rec_type);
        check_attr(e, "id", ids[i]);
        if (recs[i].event_type[0] != '\0') {
            check_attr(e, "event_type", recs[i].event_type);
            FY_ASSERT_EQ(cJSON_GetArraySize(attrs), 3);
        } else {
            FY_ASSERT(cJSON_GetObjectItemCaseSensitive(attrs, "event_type") == NULL);
            FY_ASSERT_EQ(cJSON_GetArraySize(attrs), 2);
        }
        if (i % 2 == 0) {
            FY_ASSERT_STR(obj_str(e, "MessageGroupId"), keys[i]);
            FY_ASSERT_STR(obj_str(e, "MessageDeduplicationId"), ids[i]);
        } else {
            FY_ASSERT(cJSON_GetObjectItemCaseSensitive(e, "MessageGroupId") == NULL);
            FY_ASSERT(cJSON_GetObjectItemCaseSensitive(e, "MessageDeduplicationId") == NULL);
        }
        FY_ASSERT_EQ(cJSON_GetArraySize(e), fields);
    }
    cJSON_Delete(root);

    /* a record with no attributes at all has no MessageAttributes */
    {
        struct fy_record bare = {0};

        bare.body = "{}";
        bare.body_len = 2;
        FY_ASSERT_OK(fy_sqs_batch_begin(&b, QUEUE_URL, &err), &err);
        FY_ASSERT_OK(fy_sqs_batch_add(&b, "0", &bare, NULL, NULL, &err), &err);
        FY_ASSERT_OK(fy_sqs_batch_end(&b, &err), &err);
        FY_ASSERT_STR(b.data, "{\"QueueUrl\":\"" QUEUE_URL "\",\"Entries\":[{\"Id\":\"0\","
                              "\"MessageBody\":\"{}\"}]}");
    }
    fy_buf_free(&b);
}

static void test_sqs_args(void)
{
    struct fy_record recs[10];
    char ids[10][16], keys[10][24], long_id[90];
    struct fy_err err = {0};
    struct fy_buf b;
    size_t len;

    make_records(recs, ids, keys);
    fy_buf_init(&b, 1 << 20);
    FY_ASSERT_EQ(fy_sqs_batch_begin(&b, "", &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_sqs_batch_begin(&b, NULL, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_sqs_batch_begin(&b, "https://q/\nx", &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "0", &recs[0], NULL, NULL, &err), FY_EINVAL); /* no begin */
    FY_ASSERT_OK(fy_sqs_batch_begin(&b, QUEUE_URL, &err), &err);
    len = b.len;

    /* entry ids: [A-Za-z0-9_-]{1,80}; a refused entry leaves the body as it was */
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "", &recs[0], NULL, NULL, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, NULL, &recs[0], NULL, NULL, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "a b", &recs[0], NULL, NULL, &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "'a b'") != NULL);
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "a.b", &recs[0], NULL, NULL, &err), FY_EINVAL);
    memset(long_id, 'x', 81);
    long_id[81] = '\0';
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, long_id, &recs[0], NULL, NULL, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "0", &recs[0], "has space", NULL, &err), FY_EINVAL);
    FY_ASSERT(strncmp(err.msg, "MessageGroupId: ", 16) == 0);
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "0", &recs[0], NULL, "", &err), FY_EINVAL);
    FY_ASSERT(strncmp(err.msg, "MessageDeduplicationId: ", 24) == 0);
    FY_ASSERT_EQ(b.len, len);
    long_id[80] = '\0';
    long_id[0] = '_';
    long_id[1] = '-';
    long_id[2] = 'Z';
    long_id[3] = '9';
    FY_ASSERT_OK(fy_sqs_batch_add(&b, long_id, &recs[0], NULL, NULL, &err), &err);
    FY_ASSERT(b.len > len);
    fy_buf_free(&b);

    /* a buffer too small is FY_ETOOBIG and frees itself */
    fy_buf_init(&b, 100);
    FY_ASSERT_OK(fy_sqs_batch_begin(&b, QUEUE_URL, &err), &err);
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "0", &recs[0], NULL, NULL, &err), FY_ETOOBIG);
    FY_ASSERT(b.data == NULL && b.len == 0);
    FY_ASSERT_EQ(fy_sqs_batch_end(&b, &err), FY_EINVAL);
    fy_buf_free(&b);
}

/* A record whose SQS size is exactly `size`: attributes recType "uplink" (7+6+6) and id "abc"
 * (2+6+3) are 30 bytes, the body the rest. */
static void sized_record(struct fy_record *rec, char *body, size_t size, char fill)
{
    memset(rec, 0, sizeof(*rec));
    memset(body, fill, size - 30);
    rec->rec_type = "uplink";
    rec->event_type = "";
    rec->id = "abc";
    rec->body = body;
    rec->body_len = size - 30;
}

static void test_sqs_size(void)
{
    struct fy_record rec, recs[10];
    struct fy_err err = {0};
    struct fy_buf b;
    char *body = malloc(FY_SQS_MAX_BYTES + 2);
    char eid[4];
    size_t i, total = 0;
    cJSON *root;

    FY_ASSERT_MSG(body != NULL, "malloc");
    sized_record(&rec, body, 130, 'a');
    FY_ASSERT_EQ(rec.body_len, 100);
    FY_ASSERT_EQ(fy_sqs_entry_size(&rec), 130);
    rec.event_type = "up"; /* 10 + 6 + 2 */
    FY_ASSERT_EQ(fy_sqs_entry_size(&rec), 148);

    /* exactly 262,144 bytes is taken, one more is refused */
    sized_record(&rec, body, FY_SQS_MAX_BYTES, 'a');
    FY_ASSERT_EQ(fy_sqs_entry_size(&rec), 262144);
    FY_ASSERT_OK(fy_sqs_entry_check(&rec, FY_SQS_MAX_BYTES, &err), &err);
    sized_record(&rec, body, FY_SQS_MAX_BYTES + 1, 'a');
    FY_ASSERT_EQ(fy_sqs_entry_check(&rec, FY_SQS_MAX_BYTES, &err), FY_ETOOBIG);
    FY_ASSERT(strstr(err.msg, "262145") != NULL && strstr(err.msg, "262144") != NULL);
    /* a queue configured for 1 MiB takes it */
    FY_ASSERT_OK(fy_sqs_entry_check(&rec, 1048576, &err), &err);

    /* the batch total: the same 262,144 bytes, and at most 10 entries */
    FY_ASSERT_EQ(fy_sqs_batch_fits(0, 0, 262144, FY_SQS_MAX_BYTES), 1);
    FY_ASSERT_EQ(fy_sqs_batch_fits(0, 0, 262145, FY_SQS_MAX_BYTES), 0);
    FY_ASSERT_EQ(fy_sqs_batch_fits(1, 1, 262143, FY_SQS_MAX_BYTES), 1);
    FY_ASSERT_EQ(fy_sqs_batch_fits(1, 1, 262144, FY_SQS_MAX_BYTES), 0);
    FY_ASSERT_EQ(fy_sqs_batch_fits(9, 262134, 10, FY_SQS_MAX_BYTES), 1);
    FY_ASSERT_EQ(fy_sqs_batch_fits(9, 262134, 11, FY_SQS_MAX_BYTES), 0);
    FY_ASSERT_EQ(fy_sqs_batch_fits(10, 0, 1, FY_SQS_MAX_BYTES), 0);
    FY_ASSERT_EQ(fy_sqs_batch_fits(1, (size_t)-1, 2, FY_SQS_MAX_BYTES), 0); /* no wrap */

    /* the worst case for escaping (every body byte a quote) still fits FY_SQS_REQUEST_MAX */
    fy_buf_init(&b, FY_SQS_REQUEST_MAX(FY_SQS_MAX_BYTES));
    FY_ASSERT_OK(fy_sqs_batch_begin(&b, QUEUE_URL, &err), &err);
    sized_record(&rec, body, FY_SQS_MAX_BYTES / 10, '"');
    for (i = 0; i < 10; i++) {
        recs[i] = rec;
        FY_ASSERT_EQ(fy_sqs_batch_fits(i, total, fy_sqs_entry_size(&recs[i]), FY_SQS_MAX_BYTES),
                     1);
        total += fy_sqs_entry_size(&recs[i]);
        snprintf(eid, sizeof(eid), "%zu", i);
        FY_ASSERT_OK(fy_sqs_batch_add(&b, eid, &recs[i], "g\"\"", "d\\\\", &err), &err);
    }
    FY_ASSERT_OK(fy_sqs_batch_end(&b, &err), &err);
    FY_ASSERT(b.len > 2 * (FY_SQS_MAX_BYTES - 300)); /* it did double */
    root = cJSON_ParseWithLength(b.data, b.len);
    FY_ASSERT_MSG(root != NULL, "escaped batch parses");
    {
        const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "Entries"), 9);
        const char *mb = obj_str(e, "MessageBody");

        FY_ASSERT(mb != NULL && strlen(mb) == rec.body_len && memcmp(mb, body, rec.body_len) == 0);
        FY_ASSERT_STR(obj_str(e, "MessageGroupId"), "g\"\"");
        FY_ASSERT_STR(obj_str(e, "MessageDeduplicationId"), "d\\\\");
    }
    cJSON_Delete(root);
    fy_buf_free(&b);
    free(body);
}

static void test_sqs_chars(void)
{
    static const struct {
        const char *s;
        size_t len;
        size_t off;
        const char *words; /* in the reason */
    } bad[] = {
        {"ab\0cd", 5, 2, "U+0000 at byte 2"},
        {"abc\xef\xbf\xbe", 6, 3, "U+FFFE at byte 3"},
        {"\xef\xbf\xbf", 3, 0, "U+FFFF at byte 0"},
        {"x\x01", 2, 1, "U+0001 at byte 1"},
        {"x\x1f", 2, 1, "U+001F at byte 1"},
        {"{\"a\":\"\x0b\"}", 9, 6, "U+000B at byte 6"},
        {"ok\xed\xa0\x80", 5, 2, "not UTF-8 at byte 2"},    /* a surrogate */
        {"\xc0\x80", 2, 0, "not UTF-8 at byte 0"},          /* overlong NUL */
        {"a\xe0\x80\x80", 4, 1, "not UTF-8 at byte 1"},     /* overlong, 3 bytes */
        {"\xf0\x80\x80\x80", 4, 0, "not UTF-8 at byte 0"},  /* overlong, 4 bytes */
        {"abc\xe2\x82", 5, 3, "not UTF-8 at byte 3"},       /* truncated */
        {"\xf4\x90\x80\x80", 4, 0, "not UTF-8 at byte 0"},  /* above U+10FFFF */
        {"caf\xc3\xa9\x80", 6, 5, "not UTF-8 at byte 5"},   /* stray continuation */
        {"", 0, 0, "empty"},
    };
    static const char good[] = "\t\n\r \xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd\xf0\x90\x80\x80"
                               "\xf4\x8f\xbf\xbf~\x7f";
    struct fy_record rec = {0};
    struct fy_err err = {0};
    struct fy_buf b;
    size_t i, off, len;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        off = 999;
        FY_ASSERT_EQ(fy_sqs_body_ok(bad[i].s, bad[i].len, &off, &err), FY_EINVAL);
        FY_ASSERT_EQ(off, bad[i].off);
        if (strstr(err.msg, bad[i].words) == NULL) {
            fprintf(stderr, "\ncase %zu: '%s' lacks '%s'\n", i, err.msg, bad[i].words);
        }
        FY_ASSERT(strstr(err.msg, bad[i].words) != NULL);
    }
    FY_ASSERT_OK(fy_sqs_body_ok(good, sizeof(good) - 1, NULL, &err), &err);

    /* the builder refuses the record and leaves the body as it was; so does the check */
    fy_buf_init(&b, 1 << 16);
    FY_ASSERT_OK(fy_sqs_batch_begin(&b, QUEUE_URL, &err), &err);
    len = b.len;
    rec.body = "{\"v\":\"\xef\xbf\xbe\"}";
    rec.body_len = strlen(rec.body);
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "0", &rec, NULL, NULL, &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "U+FFFE at byte 6 of the message body") != NULL);
    FY_ASSERT_EQ(fy_sqs_entry_check(&rec, FY_SQS_MAX_BYTES, &err), FY_EINVAL);
    rec.body = "{}";
    rec.body_len = 2;
    rec.rec_type = "up\x01link";
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "0", &rec, NULL, NULL, &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "attribute 'recType'") != NULL);
    FY_ASSERT(strstr(err.msg, "U+0001 at byte 2") != NULL);
    FY_ASSERT_EQ(fy_sqs_entry_check(&rec, FY_SQS_MAX_BYTES, &err), FY_EINVAL);
    rec.rec_type = "uplink";
    rec.body_len = 0;
    FY_ASSERT_EQ(fy_sqs_batch_add(&b, "0", &rec, NULL, NULL, &err), FY_EINVAL);
    FY_ASSERT_EQ(b.len, len);
    FY_ASSERT_STR(b.data, "{\"QueueUrl\":\"" QUEUE_URL "\",\"Entries\":[");
    fy_buf_free(&b);
}

static void test_sqs_fifo_ids(void)
{
    static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~azAZ09";
    char s[300], out[FY_SQS_FIFO_ID_MAX + 1], out2[FY_SQS_FIFO_ID_MAX + 1];
    struct fy_err err = {0};

    FY_ASSERT_EQ(fy_sqs_fifo_id_ok(punct, &err), 1);
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok("70B3D57ED0001234", &err), 1);
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok("", &err), 0);
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok(NULL, &err), 0);
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok("a b", &err), 0);
    FY_ASSERT(strstr(err.msg, "0x20 at 1") != NULL);
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok("caf\xc3\xa9", &err), 0);
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok("a\x7f", &err), 0);
    memset(s, 'x', sizeof(s));
    s[128] = '\0';
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok(s, &err), 1);
    s[128] = 'x';
    s[129] = '\0';
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok(s, &err), 0);
    FY_ASSERT(strstr(err.msg, "128") != NULL);

    /* the sanitizer keeps a valid id, and rewrites the rest into a valid, distinct one */
    FY_ASSERT_EQ(fy_sqs_fifo_id(punct, out), 0);
    FY_ASSERT_STR(out, punct);
    FY_ASSERT_EQ(fy_sqs_fifo_id("dev ice/\xc3\xa9", out), 1);
    FY_ASSERT_STR(out, "dev_ice/__~c1c07ba3e81f99a1"); /* SHA-256 prefix of the input */
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok(out, NULL), 1);
    FY_ASSERT_EQ(fy_sqs_fifo_id("a b", out), 1);
    FY_ASSERT_EQ(fy_sqs_fifo_id("a\tb", out2), 1);
    FY_ASSERT(strncmp(out, "a_b~", 4) == 0 && strncmp(out2, "a_b~", 4) == 0);
    FY_ASSERT(strcmp(out, out2) != 0);
    FY_ASSERT_EQ(fy_sqs_fifo_id("a_b", out2), 0);
    FY_ASSERT(strcmp(out, out2) != 0);
    FY_ASSERT_EQ(fy_sqs_fifo_id("", out), 1);
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok(out, NULL), 1);
    FY_ASSERT_EQ(strlen(out), 17);

    /* too long: cut to 128 with the hash, the same every time, distinct from a longer one */
    FY_ASSERT_EQ(fy_sqs_fifo_id(s, out), 1); /* s is 129 'x' */
    FY_ASSERT_EQ(strlen(out), FY_SQS_FIFO_ID_MAX);
    FY_ASSERT_EQ(fy_sqs_fifo_id_ok(out, NULL), 1);
    FY_ASSERT_STR(out + 111, "~0ec9eb33e74510bc");
    FY_ASSERT_EQ(fy_sqs_fifo_id(s, out2), 1);
    FY_ASSERT_STR(out, out2);
    s[129] = 'x';
    s[130] = '\0';
    FY_ASSERT_EQ(fy_sqs_fifo_id(s, out2), 1);
    FY_ASSERT(strcmp(out, out2) != 0);
}

/* ==== SQS answers ==== */

/* A SendMessageBatch answer in the shape of the API reference's example, for 8 entries of
 * which entry 7 is not mentioned. */
static const char sqs_answer[] =
    "{\"Failed\":["
    "{\"Code\":\"InvalidParameterValue\",\"Id\":\"2\",\"Message\":\"Value {} for parameter "
    "MessageBody is invalid. Reason: Message must contain only valid characters.\","
    "\"SenderFault\":true},"
    "{\"Code\":\"InternalError\",\"Id\":\"4\",\"Message\":\"We encountered an internal error. "
    "Please try again.\",\"SenderFault\":false},"
    "{\"Code\":\"SomethingNewAndPermanent\",\"Id\":\"5\",\"SenderFault\":true},"
    "{\"Code\":\"SomethingNewAndTransient\",\"Id\":\"6\",\"Message\":\"line one\\nline two\","
    "\"SenderFault\":false}"
    "],\"Successful\":["
    "{\"Id\":\"0\",\"MD5OfMessageBody\":\"51b0a325398bcc4aa5ba7ed8d3ef8d9b\","
    "\"MessageId\":\"5fea7756-0ea4-451a-a703-a558b933e274\"},"
    "{\"Id\":\"1\",\"MD5OfMessageBody\":\"51b0a325398bcc4aa5ba7ed8d3ef8d9b\","
    "\"MD5OfMessageAttributes\":\"7b4ae6d9c8a2b1f0e9d8c7b6a5f4e3d2\","
    "\"MessageId\":\"ff0dd5b6-3e7c-4b23-9a2c-1c1a4f8d7e60\","
    "\"SequenceNumber\":\"18849496460467696128\"},"
    "{\"Id\":\"3\",\"MD5OfMessageBody\":\"51b0a325398bcc4aa5ba7ed8d3ef8d9b\","
    "\"MessageId\":\"0c9e9b0e-8d5b-4c6b-b7c5-7f1e5e3f2a11\"}"
    "]}";

static void test_sqs_result(void)
{
    struct fy_aws_result r[FY_SQS_MAX_ENTRIES];
    struct fy_err err = {0};

    FY_ASSERT_OK(fy_sqs_batch_result(sqs_answer, strlen(sqs_answer), 8, r, &err), &err);
    FY_ASSERT_EQ(r[0].state, FY_AWS_SENT);
    FY_ASSERT_EQ(r[0].res, FY_SINK_OK);
    FY_ASSERT_STR(r[0].ref, "5fea7756-0ea4-451a-a703-a558b933e274");
    FY_ASSERT_STR(r[0].reason, "");
    FY_ASSERT_EQ(r[1].state, FY_AWS_SENT);
    FY_ASSERT_STR(r[1].ref, "ff0dd5b6-3e7c-4b23-9a2c-1c1a4f8d7e60");
    FY_ASSERT_EQ(r[3].state, FY_AWS_SENT);

    FY_ASSERT_EQ(r[2].state, FY_AWS_FAILED);
    FY_ASSERT_EQ(r[2].res, FY_SINK_REJECT);
    FY_ASSERT_EQ(r[2].sender_fault, 1);
    FY_ASSERT_EQ(r[2].auth, 0);
    FY_ASSERT_STR(r[2].code, "InvalidParameterValue");
    FY_ASSERT_STR(r[2].message, "Value {} for parameter MessageBody is invalid. Reason: Message "
                                "must contain only valid characters.");
    FY_ASSERT_STR(r[2].reason, "SQS InvalidParameterValue (sender fault): Value {} for parameter "
                               "MessageBody is invalid. Reason: Message must contain only valid "
                               "characters.");

    FY_ASSERT_EQ(r[4].state, FY_AWS_FAILED);
    FY_ASSERT_EQ(r[4].res, FY_SINK_RETRY);
    FY_ASSERT_EQ(r[4].sender_fault, 0);
    FY_ASSERT_STR(r[4].reason, "SQS InternalError: We encountered an internal error. Please try "
                               "again.");
    /* codes we do not know go by SenderFault */
    FY_ASSERT_EQ(r[5].res, FY_SINK_REJECT);
    FY_ASSERT_STR(r[5].message, "");
    FY_ASSERT_STR(r[5].reason, "SQS SomethingNewAndPermanent (sender fault)");
    FY_ASSERT_EQ(r[6].res, FY_SINK_RETRY);
    FY_ASSERT_STR(r[6].message, "line one line two"); /* no newline into a log line */
    /* in neither list: unknown, retried */
    FY_ASSERT_EQ(r[7].state, FY_AWS_UNKNOWN);
    FY_ASSERT_EQ(r[7].res, FY_SINK_RETRY);
    FY_ASSERT_STR(r[7].reason, "SQS: record 7 missing from the SendMessageBatch answer");

    /* all sent, with an empty Failed list */
    {
        static const char all_ok[] = "{\"Successful\":[{\"Id\":\"1\",\"MessageId\":\"b\"},"
                                     "{\"Id\":\"0\",\"MessageId\":\"a\"}],\"Failed\":[]}";
        FY_ASSERT_OK(fy_sqs_batch_result(all_ok, strlen(all_ok), 2, r, &err), &err);
        FY_ASSERT(r[0].state == FY_AWS_SENT && r[1].state == FY_AWS_SENT);
        FY_ASSERT_STR(r[0].ref, "a");
        FY_ASSERT_STR(r[1].ref, "b");
    }
}

static void test_sqs_result_long_message(void)
{
    struct fy_aws_result r[1];
    struct fy_err err = {0};
    char json[600], msg[400];

    memset(msg, 'm', 300);
    msg[300] = '\0';
    snprintf(json, sizeof(json),
             "{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true,\"Code\":\"InvalidMessageContents\","
             "\"Message\":\"%s\"}]}",
             msg);
    FY_ASSERT_OK(fy_sqs_batch_result(json, strlen(json), 1, r, &err), &err);
    FY_ASSERT_EQ(strlen(r[0].message), FY_AWS_MESSAGE_MAX);
    FY_ASSERT(strlen(r[0].reason) < sizeof(r[0].reason));
    FY_ASSERT_EQ(r[0].res, FY_SINK_REJECT);

    /* a cut never splits a UTF-8 sequence: 199 'm' then U+00E9 at bytes 199..200 */
    memset(msg, 'm', 199);
    memcpy(msg + 199, "\xc3\xa9 tail", 8);
    snprintf(json, sizeof(json),
             "{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":false,\"Code\":\"InternalError\","
             "\"Message\":\"%s\"}]}",
             msg);
    FY_ASSERT_OK(fy_sqs_batch_result(json, strlen(json), 1, r, &err), &err);
    FY_ASSERT_EQ(strlen(r[0].message), 199);
}

static void test_sqs_result_bad(void)
{
    static const struct {
        const char *json;
        size_t n;
        const char *words;   /* in err */
        int unknown_entry;   /* this entry must be UNKNOWN afterwards, -1 none */
    } cases[] = {
        {"{", 2, "not a JSON object", 0},
        {"", 2, "not a JSON object", 1},
        {"[]", 2, "not a JSON object", 0},
        {"null", 1, "not a JSON object", 0},
        {"{}", 2, "without Successful or Failed", 0},
        {"{\"Successful\":\"0\"}", 1, "without Successful or Failed", 0},
        {"{\"Successful\":[],\"Failed\":{}}", 1, "without Successful or Failed", 0},
        {"{\"Successful\":[{\"MessageId\":\"x\"}]}", 1, "no batch index", 0},
        {"{\"Successful\":[{\"Id\":0}]}", 1, "no batch index", 0},
        {"{\"Successful\":[{\"Id\":\"1\"}]}", 1, "no batch index", 0},
        {"{\"Successful\":[{\"Id\":\"01\"}]}", 2, "no batch index", 1},
        {"{\"Successful\":[{\"Id\":\"-1\"}]}", 2, "no batch index", 1},
        {"{\"Successful\":[17]}", 1, "no batch index", 0},
        {"{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true}]}", 1, "without Code", 0},
        {"{\"Failed\":[{\"Id\":\"0\",\"Code\":\"\",\"SenderFault\":true}]}", 1, "without Code", 0},
        {"{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m\"}],\"Failed\":[{\"Id\":\"0\","
         "\"Code\":\"InternalError\",\"SenderFault\":false}]}", 1, "named twice", 0},
        {"{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m\"},{\"Id\":\"0\"}]}", 1, "named twice",
         0},
        {"{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m\"}", 1, "not a JSON object", 0},
    };
    struct fy_aws_result r[FY_SQS_MAX_ENTRIES];
    struct fy_err err = {0};
    size_t i, k;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(r, 0x5a, sizeof(r));
        fy_err_clear(&err);
        FY_ASSERT_EQ(fy_sqs_batch_result(cases[i].json, strlen(cases[i].json), cases[i].n, r,
                                         &err),
                     FY_EDECODE);
        if (strstr(err.msg, cases[i].words) == NULL) {
            fprintf(stderr, "\ncase %zu: '%s' lacks '%s'\n", i, err.msg, cases[i].words);
        }
        FY_ASSERT(strstr(err.msg, cases[i].words) != NULL);
        for (k = 0; k < cases[i].n; k++) { /* every entry filled, none left as garbage */
            FY_ASSERT(r[k].state == FY_AWS_UNKNOWN || r[k].state == FY_AWS_SENT ||
                      r[k].state == FY_AWS_FAILED);
            FY_ASSERT(memchr(r[k].reason, '\0', sizeof(r[k].reason)) != NULL);
        }
        if (cases[i].unknown_entry >= 0) {
            FY_ASSERT_EQ(r[cases[i].unknown_entry].state, FY_AWS_UNKNOWN);
            FY_ASSERT_EQ(r[cases[i].unknown_entry].res, FY_SINK_RETRY);
        }
    }
    /* a truncated answer is read within its length, not up to a NUL */
    FY_ASSERT_EQ(fy_sqs_batch_result(sqs_answer, 40, 8, r, &err), FY_EDECODE);
    FY_ASSERT_EQ(fy_sqs_batch_result(NULL, 0, 1, r, &err), FY_EDECODE);
    FY_ASSERT_EQ(r[0].state, FY_AWS_UNKNOWN);
    /* bad arguments */
    FY_ASSERT_EQ(fy_sqs_batch_result("{}", 2, 0, r, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_sqs_batch_result("{}", 2, 11, r, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_sqs_batch_result("{}", 2, 1, NULL, &err), FY_EINVAL);
}

static void test_sqs_error_body(void)
{
    static const struct {
        const char *json;
        int status;
        int rc;
        enum fy_sink_result res;
        const char *code;
        const char *reason;
    } cases[] = {
        {"{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"The specified queue "
         "does not exist.\"}",
         400, FY_OK, FY_SINK_REJECT, "QueueDoesNotExist",
         "SQS HTTP 400 QueueDoesNotExist: The specified queue does not exist."},
        {"{\"code\":\"AWS.SimpleQueueService.NonExistentQueue\",\"Message\":\"The specified queue "
         "does not exist for this wsdl version.\"}",
         400, FY_OK, FY_SINK_REJECT, "AWS.SimpleQueueService.NonExistentQueue",
         "SQS HTTP 400 AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist "
         "for this wsdl version."},
        {"{\"__type\":\"com.amazon.coral.availability#ThrottlingException\",\"message\":\"Rate "
         "exceeded\"}",
         400, FY_OK, FY_SINK_RETRY, "ThrottlingException",
         "SQS HTTP 400 ThrottlingException: Rate exceeded"},
        {"{\"__type\":\"com.amazonaws.sqs#RequestThrottled\",\"message\":\"Request is "
         "throttled.\"}",
         403, FY_OK, FY_SINK_RETRY, "RequestThrottled",
         "SQS HTTP 403 RequestThrottled: Request is throttled."},
        {"{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\",\"message\":\"The "
         "request signature we calculated does not match the signature you provided.\"}",
         400, FY_OK, FY_SINK_RETRY, "InvalidSignatureException",
         "auth: SQS HTTP 400 InvalidSignatureException: The request signature we calculated does "
         "not match the signature you provided."},
        {"{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\",\"message\":\"The "
         "security token included in the request is invalid.\"}",
         400, FY_OK, FY_SINK_RETRY, "UnrecognizedClientException",
         "auth: SQS HTTP 400 UnrecognizedClientException: The security token included in the "
         "request is invalid."},
        {"{\"__type\":\"com.amazon.coral.service#ExpiredTokenException\",\"message\":\"The "
         "security token included in the request is expired\"}",
         400, FY_OK, FY_SINK_RETRY, "ExpiredTokenException",
         "auth: SQS HTTP 400 ExpiredTokenException: The security token included in the request is "
         "expired"},
        {"{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":\"User: "
         "arn:aws:iam::123456789012:user/ferry is not authorized to perform: "
         "sqs:sendmessage\"}",
         400, FY_OK, FY_SINK_REJECT, "AccessDeniedException",
         "SQS HTTP 400 AccessDeniedException: User: arn:aws:iam::123456789012:user/ferry is not "
         "authorized to perform: sqs:sendmessage"},
        {"{\"__type\":\"com.amazonaws.sqs#BatchRequestTooLong\",\"message\":\"Batch requests "
         "cannot be longer than 262144 bytes.\"}",
         400, FY_OK, FY_SINK_REJECT, "BatchRequestTooLong",
         "SQS HTTP 400 BatchRequestTooLong: Batch requests cannot be longer than 262144 bytes."},
        {"{\"__type\":\"com.amazonaws.sqs#KmsThrottled\"}", 400, FY_OK, FY_SINK_RETRY,
         "KmsThrottled", "SQS HTTP 400 KmsThrottled"},
        {"{\"__type\":\"com.amazon.coral.service#InternalFailure\"}", 500, FY_OK, FY_SINK_RETRY,
         "InternalFailure", "SQS HTTP 500 InternalFailure"},
        {"{\"__type\":\"com.amazonaws.sqs#SomethingNew\"}", 400, FY_OK, FY_SINK_REJECT,
         "SomethingNew", "SQS HTTP 400 SomethingNew"},
        {"{\"__type\":\"com.amazonaws.sqs#SomethingNew\"}", 503, FY_OK, FY_SINK_RETRY,
         "SomethingNew", "SQS HTTP 503 SomethingNew"},
        /* no code: the status decides, and the caller hears of it */
        {"<html><body>503 Service Unavailable</body></html>", 503, FY_EDECODE, FY_SINK_RETRY, "",
         "SQS HTTP 503 (no error code)"},
        {"", 403, FY_EDECODE, FY_SINK_REJECT, "", "SQS HTTP 403 (no error code)"},
        {"{\"message\":\"Too Many Requests\"}", 429, FY_EDECODE, FY_SINK_RETRY, "",
         "SQS HTTP 429 (no error code): Too Many Requests"},
        {"{\"__type\":17}", 500, FY_EDECODE, FY_SINK_RETRY, "", "SQS HTTP 500 (no error code)"},
    };
    struct fy_aws_result r;
    struct fy_err err = {0};
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&r, 0x5a, sizeof(r));
        FY_ASSERT_EQ(fy_sqs_error_parse(cases[i].json, strlen(cases[i].json), cases[i].status, &r,
                                        &err),
                     cases[i].rc);
        FY_ASSERT_EQ(r.state, FY_AWS_FAILED);
        FY_ASSERT_EQ(r.res, cases[i].res);
        FY_ASSERT_EQ(r.http_status, cases[i].status);
        FY_ASSERT_STR(r.code, cases[i].code);
        FY_ASSERT_STR(r.reason, cases[i].reason);
        FY_ASSERT_EQ(r.auth, strncmp(cases[i].reason, "auth: ", 6) == 0);
    }
    FY_ASSERT_EQ(fy_sqs_error_parse("{}", 2, 400, NULL, &err), FY_EINVAL);
}

static void test_sqs_classify(void)
{
    static const struct {
        const char *code;
        int sender_fault, status;
        enum fy_sink_result res;
        int auth;
    } cases[] = {
        /* retried */
        {"ThrottlingException", 1, 400, FY_SINK_RETRY, 0},
        {"Throttling", 1, 400, FY_SINK_RETRY, 0},
        {"RequestThrottled", 1, 403, FY_SINK_RETRY, 0},
        {"AWS.SimpleQueueService.RequestThrottled", 1, 403, FY_SINK_RETRY, 0},
        {"ServiceUnavailable", 0, 503, FY_SINK_RETRY, 0},
        {"ServiceUnavailableException", 0, 503, FY_SINK_RETRY, 0},
        {"InternalError", 0, 0, FY_SINK_RETRY, 0},
        {"InternalFailure", 0, 500, FY_SINK_RETRY, 0},
        {"InternalServerError", 0, 500, FY_SINK_RETRY, 0},
        {"KmsThrottled", 1, 400, FY_SINK_RETRY, 0},
        {"KMS.ThrottlingException", 1, 400, FY_SINK_RETRY, 0},
        {"com.amazonaws.sqs#KmsThrottled", 1, 400, FY_SINK_RETRY, 0},
        /* retried, but it is the credentials */
        {"InvalidSignatureException", 1, 400, FY_SINK_RETRY, 1},
        {"SignatureDoesNotMatch", 1, 403, FY_SINK_RETRY, 1},
        {"UnrecognizedClientException", 1, 400, FY_SINK_RETRY, 1},
        {"ExpiredToken", 1, 400, FY_SINK_RETRY, 1},
        {"ExpiredTokenException", 1, 400, FY_SINK_RETRY, 1},
        {"InvalidClientTokenId", 1, 403, FY_SINK_RETRY, 1},
        {"IncompleteSignature", 1, 400, FY_SINK_RETRY, 1},
        {"MissingAuthenticationToken", 1, 403, FY_SINK_RETRY, 1},
        {"RequestExpired", 1, 400, FY_SINK_RETRY, 1},
        {"com.amazon.coral.service#InvalidSignatureException", 1, 400, FY_SINK_RETRY, 1},
        /* permanent */
        {"QueueDoesNotExist", 1, 400, FY_SINK_REJECT, 0},
        {"com.amazonaws.sqs#QueueDoesNotExist", 1, 400, FY_SINK_REJECT, 0},
        {"AWS.SimpleQueueService.NonExistentQueue", 1, 400, FY_SINK_REJECT, 0},
        {"AccessDenied", 1, 403, FY_SINK_REJECT, 0},
        {"AccessDeniedException", 1, 400, FY_SINK_REJECT, 0},
        {"NotAuthorized", 1, 400, FY_SINK_REJECT, 0},
        {"OptInRequired", 1, 403, FY_SINK_REJECT, 0},
        {"InvalidParameterValue", 1, 0, FY_SINK_REJECT, 0},
        {"InvalidParameterCombination", 1, 400, FY_SINK_REJECT, 0},
        {"InvalidQueryParameter", 1, 400, FY_SINK_REJECT, 0},
        {"MissingParameter", 1, 400, FY_SINK_REJECT, 0},
        {"MalformedQueryString", 1, 404, FY_SINK_REJECT, 0},
        {"InvalidAction", 1, 400, FY_SINK_REJECT, 0},
        {"MissingAction", 1, 400, FY_SINK_REJECT, 0},
        {"ValidationError", 1, 400, FY_SINK_REJECT, 0},
        {"ValidationException", 1, 400, FY_SINK_REJECT, 0},
        {"SerializationException", 1, 400, FY_SINK_REJECT, 0},
        {"UnknownOperationException", 1, 400, FY_SINK_REJECT, 0},
        {"InvalidAddress", 1, 404, FY_SINK_REJECT, 0},
        {"InvalidSecurity", 1, 403, FY_SINK_REJECT, 0},
        {"InvalidMessageContents", 1, 0, FY_SINK_REJECT, 0},
        {"MessageTooLong", 1, 0, FY_SINK_REJECT, 0},
        {"BatchRequestTooLong", 1, 400, FY_SINK_REJECT, 0},
        {"AWS.SimpleQueueService.BatchRequestTooLong", 1, 400, FY_SINK_REJECT, 0},
        {"TooManyEntriesInBatchRequest", 1, 400, FY_SINK_REJECT, 0},
        {"AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 1, 400, FY_SINK_REJECT, 0},
        {"BatchEntryIdsNotDistinct", 1, 400, FY_SINK_REJECT, 0},
        {"EmptyBatchRequest", 1, 400, FY_SINK_REJECT, 0},
        {"InvalidBatchEntryId", 1, 400, FY_SINK_REJECT, 0},
        {"UnsupportedOperation", 1, 400, FY_SINK_REJECT, 0},
        {"KmsAccessDenied", 1, 400, FY_SINK_REJECT, 0},
        {"KmsDisabled", 1, 400, FY_SINK_REJECT, 0},
        {"KmsInvalidKeyUsage", 1, 400, FY_SINK_REJECT, 0},
        {"KmsInvalidState", 1, 400, FY_SINK_REJECT, 0},
        {"KmsNotFound", 1, 400, FY_SINK_REJECT, 0},
        {"KmsOptInRequired", 1, 400, FY_SINK_REJECT, 0},
        {"KMS.AccessDeniedException", 1, 400, FY_SINK_REJECT, 0},
        {"KMS.DisabledException", 1, 400, FY_SINK_REJECT, 0},
        {"KMS.InvalidKeyUsageException", 1, 400, FY_SINK_REJECT, 0},
        {"KMS.KMSInvalidStateException", 1, 400, FY_SINK_REJECT, 0},
        {"KMS.NotFoundException", 1, 400, FY_SINK_REJECT, 0},
        {"KMS.OptInRequired", 1, 400, FY_SINK_REJECT, 0},
        /* a known code wins over SenderFault and the status */
        {"InternalError", 1, 400, FY_SINK_RETRY, 0},
        {"QueueDoesNotExist", 0, 500, FY_SINK_REJECT, 0},
        /* unknown codes: the status, else SenderFault */
        {"Brand.NewError", 0, 400, FY_SINK_REJECT, 0},
        {"Brand.NewError", 1, 429, FY_SINK_RETRY, 0},
        {"Brand.NewError", 1, 500, FY_SINK_RETRY, 0},
        {"Brand.NewError", 1, 0, FY_SINK_REJECT, 0},
        {"Brand.NewError", 0, 0, FY_SINK_RETRY, 0},
        {"", 0, 0, FY_SINK_RETRY, 0},
        {NULL, 1, 0, FY_SINK_REJECT, 0},
        /* Kinesis names mean nothing to SQS */
        {"ProvisionedThroughputExceededException", 1, 0, FY_SINK_REJECT, 0},
    };
    size_t i;
    int auth;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum fy_sink_result res;

        auth = 7;
        res = fy_sqs_classify(cases[i].code, cases[i].sender_fault, cases[i].status, &auth);
        if (res != cases[i].res || auth != cases[i].auth) {
            fprintf(stderr, "\nSQS code %s: res %d auth %d\n",
                    cases[i].code ? cases[i].code : "(null)", (int)res, auth);
        }
        FY_ASSERT_EQ(res, cases[i].res);
        FY_ASSERT_EQ(auth, cases[i].auth);
    }
    FY_ASSERT_EQ(fy_sqs_classify("ExpiredToken", 1, 400, NULL), FY_SINK_RETRY);
}

/* ==== Kinesis request ==== */

static void test_kinesis_build(void)
{
    static const char *const pkeys[10] = {
        "70B3D57ED0000000", "70B3D57ED0000001", "dev\"ice\\1", "caf\xc3\xa9", "k",
        "70B3D57ED0000005", "70B3D57ED0000006", "70B3D57ED0000007", "a b", "ctl\x01\x1f\nkey"};
    struct fy_record recs[10];
    char ids[10][16], keys[10][24];
    struct fy_err err = {0};
    struct fy_buf b;
    const cJSON *records;
    cJSON *root;
    size_t i;

    make_records(recs, ids, keys);
    /* a blob: Kinesis takes any bytes, NUL and invalid UTF-8 too */
    recs[5].body = "bin\0ary\xff\xfe";
    recs[5].body_len = 10;
    recs[7].body_len = 0;
    fy_buf_init(&b, FY_KINESIS_REQUEST_MAX);
    FY_ASSERT_OK(fy_kinesis_batch_begin(&b, "ferry-uplinks", NULL, &err), &err);
    for (i = 0; i < 10; i++) {
        FY_ASSERT_OK(fy_kinesis_batch_add(&b, &recs[i], pkeys[i], &err), &err);
    }
    FY_ASSERT_OK(fy_kinesis_batch_end(&b, &err), &err);
    /* control characters go out escaped (cJSON would read them raw, so look at the bytes) */
    FY_ASSERT(strstr(b.data, "\"PartitionKey\":\"ctl\\u0001\\u001f\\nkey\"") != NULL);
    for (i = 0; i < b.len; i++) {
        FY_ASSERT((unsigned char)b.data[i] >= 0x20);
    }

    root = cJSON_ParseWithLength(b.data, b.len);
    FY_ASSERT_MSG(cJSON_IsObject(root), b.data);
    FY_ASSERT_EQ(cJSON_GetArraySize(root), 2);
    FY_ASSERT_STR(obj_str(root, "StreamName"), "ferry-uplinks");
    FY_ASSERT(cJSON_GetObjectItemCaseSensitive(root, "StreamARN") == NULL);
    records = cJSON_GetObjectItemCaseSensitive(root, "Records");
    FY_ASSERT_MSG(cJSON_IsArray(records), "Records");
    FY_ASSERT_EQ(cJSON_GetArraySize(records), 10);
    for (i = 0; i < 10; i++) {
        const cJSON *e = cJSON_GetArrayItem(records, (int)i);
        const char *data = obj_str(e, "Data");
        uint8_t *raw;
        size_t n = 12345;

        FY_ASSERT_EQ(cJSON_GetArraySize(e), 2);
        FY_ASSERT_STR(obj_str(e, "PartitionKey"), pkeys[i]);
        FY_ASSERT_MSG(data != NULL, "Data");
        raw = fy_b64_decode(data, strlen(data), &n);
        FY_ASSERT_MSG(raw != NULL, data);
        FY_ASSERT_EQ(n, recs[i].body_len);
        FY_ASSERT(memcmp(raw, recs[i].body, n) == 0);
        free(raw);
    }
    FY_ASSERT_STR(obj_str(cJSON_GetArrayItem(records, 0), "Data"),
                  "eyJpZCI6ImVudi0wIiwicmVjVHlwZSI6InVwbGluayIsImRhdGEiOnsidGVtcCI6MjEuNX19");
    FY_ASSERT_STR(obj_str(cJSON_GetArrayItem(records, 7), "Data"), "");
    cJSON_Delete(root);

    /* by ARN, and by both */
    FY_ASSERT_OK(fy_kinesis_batch_begin(&b, NULL, STREAM_ARN, &err), &err);
    FY_ASSERT_OK(fy_kinesis_batch_add(&b, &recs[9], "k", &err), &err);
    FY_ASSERT_OK(fy_kinesis_batch_end(&b, &err), &err);
    FY_ASSERT_STR(b.data, "{\"StreamARN\":\"" STREAM_ARN "\",\"Records\":[{\"Data\":"
                          "\"eyJsYXN0Ijp0cnVlfQ==\",\"PartitionKey\":\"k\"}]}");
    FY_ASSERT_OK(fy_kinesis_batch_begin(&b, "ferry-uplinks", STREAM_ARN, &err), &err);
    FY_ASSERT_OK(fy_kinesis_batch_end(&b, &err), &err);
    FY_ASSERT_STR(b.data, "{\"StreamName\":\"ferry-uplinks\",\"StreamARN\":\"" STREAM_ARN
                          "\",\"Records\":[]}");
    fy_buf_free(&b);
}

static void test_kinesis_args(void)
{
    struct fy_record rec = {0};
    struct fy_err err = {0};
    struct fy_buf b;
    char key[1100];
    size_t i, len;

    fy_buf_init(&b, 1 << 16);
    FY_ASSERT_EQ(fy_kinesis_batch_begin(&b, NULL, NULL, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_kinesis_batch_begin(&b, "", NULL, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_kinesis_batch_begin(&b, "bad name!", NULL, &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "bad name!") != NULL);
    FY_ASSERT_EQ(fy_kinesis_batch_begin(&b, NULL, "arn:aws:sqs:eu-west-1:123456789012:q", &err),
                 FY_EINVAL);
    FY_ASSERT_EQ(fy_kinesis_batch_begin(&b, NULL, "arn:aws:kinesis:eu-west-1:1:stream/", &err),
                 FY_EINVAL);
    FY_ASSERT_EQ(fy_kinesis_batch_begin(&b, NULL, "arn:aws:kinesis:r:1:stream/a b", &err),
                 FY_EINVAL);
    FY_ASSERT_OK(fy_kinesis_batch_begin(&b, NULL, "arn:aws-cn:kinesis:cn-north-1:123456789012:"
                                                  "stream/s", &err), &err);
    memset(key, 'n', 129);
    key[129] = '\0';
    FY_ASSERT_EQ(fy_kinesis_batch_begin(&b, key, NULL, &err), FY_EINVAL);
    key[128] = '\0';
    FY_ASSERT_OK(fy_kinesis_batch_begin(&b, key, NULL, &err), &err);
    len = b.len;

    /* partition keys: 1..256 Unicode characters (not bytes) */
    rec.body = "{}";
    rec.body_len = 2;
    FY_ASSERT_EQ(fy_kinesis_key_ok("", &err), 0);
    FY_ASSERT_EQ(fy_kinesis_key_ok(NULL, &err), 0);
    FY_ASSERT_EQ(fy_kinesis_key_ok("\xff", &err), 0);
    FY_ASSERT(strstr(err.msg, "not UTF-8 at byte 0") != NULL);
    for (i = 0; i < 256; i++) {
        memcpy(key + 2 * i, "\xc3\xa9", 2);
    }
    key[512] = '\0';
    FY_ASSERT_EQ(fy_kinesis_key_ok(key, &err), 1);      /* 256 characters, 512 bytes */
    memcpy(key + 512, "x", 2);
    FY_ASSERT_EQ(fy_kinesis_key_ok(key, &err), 0);      /* 257 */
    FY_ASSERT(strstr(err.msg, "257 characters") != NULL);
    FY_ASSERT_EQ(fy_kinesis_batch_add(&b, &rec, key, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_kinesis_batch_add(&b, &rec, "", &err), FY_EINVAL);
    FY_ASSERT_EQ(b.len, len);
    fy_buf_free(&b);
    FY_ASSERT_EQ(fy_kinesis_batch_add(&b, &rec, "k", &err), FY_EINVAL); /* no begin */
}

static void test_kinesis_size(void)
{
    struct fy_record rec = {0};
    struct fy_err err = {0};
    struct fy_buf b;
    char pk[257];
    char *body = malloc(FY_KINESIS_MAX_RECORD_BYTES);
    size_t i, total = 0;

    FY_ASSERT_MSG(body != NULL, "malloc");
    memset(body, '"', FY_KINESIS_MAX_RECORD_BYTES);
    rec.body = body;
    rec.body_len = 1000;
    FY_ASSERT_EQ(fy_kinesis_entry_size(&rec, "70B3D57ED0001234"), 1016);
    FY_ASSERT_EQ(fy_kinesis_entry_size(&rec, "caf\xc3\xa9"), 1005); /* key bytes, not chars */

    FY_ASSERT_EQ(fy_kinesis_batch_fits(0, 0, 1048576), 1);
    FY_ASSERT_EQ(fy_kinesis_batch_fits(0, 0, 1048577), 0);
    FY_ASSERT_EQ(fy_kinesis_batch_fits(4, 4 * 1048576, 1048576), 1); /* exactly 5 MiB */
    FY_ASSERT_EQ(fy_kinesis_batch_fits(4, 4 * 1048576 + 1, 1048576), 0);
    FY_ASSERT_EQ(fy_kinesis_batch_fits(5, 5242880, 0), 1);
    FY_ASSERT_EQ(fy_kinesis_batch_fits(5, 5242880, 1), 0);
    FY_ASSERT_EQ(fy_kinesis_batch_fits(499, 0, 1), 1);
    FY_ASSERT_EQ(fy_kinesis_batch_fits(500, 0, 1), 0);
    FY_ASSERT_EQ(fy_kinesis_batch_fits(1, (size_t)-1, 2), 0);

    /* the largest request (5 x 1 MiB, keys of 256 quotes) fits FY_KINESIS_REQUEST_MAX */
    memset(pk, '"', 256);
    pk[256] = '\0';
    rec.body_len = FY_KINESIS_MAX_RECORD_BYTES - 256;
    FY_ASSERT_EQ(fy_kinesis_entry_size(&rec, pk), FY_KINESIS_MAX_RECORD_BYTES);
    fy_buf_init(&b, FY_KINESIS_REQUEST_MAX);
    FY_ASSERT_OK(fy_kinesis_batch_begin(&b, "s", STREAM_ARN, &err), &err);
    for (i = 0; i < 5; i++) {
        FY_ASSERT_EQ(fy_kinesis_batch_fits(i, total, fy_kinesis_entry_size(&rec, pk)), 1);
        total += fy_kinesis_entry_size(&rec, pk);
        FY_ASSERT_OK(fy_kinesis_batch_add(&b, &rec, pk, &err), &err);
    }
    FY_ASSERT_EQ(fy_kinesis_batch_fits(5, total, 1), 0);
    FY_ASSERT_OK(fy_kinesis_batch_end(&b, &err), &err);
    /* and 500 records of 10,485 bytes (5,242,500 in all) */
    rec.body_len = 10485 - 256;
    total = 0;
    FY_ASSERT_OK(fy_kinesis_batch_begin(&b, "s", STREAM_ARN, &err), &err);
    for (i = 0; i < 500; i++) {
        FY_ASSERT(fy_kinesis_batch_fits(i, total, fy_kinesis_entry_size(&rec, pk)));
        total += fy_kinesis_entry_size(&rec, pk);
        if (fy_kinesis_batch_add(&b, &rec, pk, &err) != FY_OK) {
            FY_ASSERT_OK(FY_EINVAL, &err);
            break;
        }
    }
    FY_ASSERT_EQ(fy_kinesis_batch_fits(500, total, 1), 0);
    FY_ASSERT_OK(fy_kinesis_batch_end(&b, &err), &err);
    fy_buf_free(&b);
    free(body);
}

/* ==== Kinesis answers ==== */

static void test_kinesis_result(void)
{
    /* the API reference's example answer, with the encryption type of a KMS stream */
    static const char answer[] =
        "{\"FailedRecordCount\":2,\"Records\":["
        "{\"SequenceNumber\":\"49543463076548007577105092703039560359975228518395012686\","
        "\"ShardId\":\"shardId-000000000000\"},"
        "{\"ErrorCode\":\"ProvisionedThroughputExceededException\",\"ErrorMessage\":\"Rate "
        "exceeded for shard shardId-000000000001 in stream exampleStreamName under account "
        "111111111111.\"},"
        "{\"ErrorCode\":\"InternalFailure\",\"ErrorMessage\":\"Internal service failure.\"},"
        "{\"SequenceNumber\":\"49543463076570308322303623326179887152428262250726293588\","
        "\"ShardId\":\"shardId-000000000002\"}"
        "],\"EncryptionType\":\"KMS\"}";
    struct fy_aws_result r[4];
    struct fy_err err = {0};

    FY_ASSERT_OK(fy_kinesis_batch_result(answer, strlen(answer), 4, r, &err), &err);
    FY_ASSERT_EQ(r[0].state, FY_AWS_SENT);
    FY_ASSERT_EQ(r[0].res, FY_SINK_OK);
    FY_ASSERT_STR(r[0].ref, "49543463076548007577105092703039560359975228518395012686");
    FY_ASSERT_STR(r[0].shard_id, "shardId-000000000000");
    FY_ASSERT_EQ(r[1].state, FY_AWS_FAILED);
    FY_ASSERT_EQ(r[1].res, FY_SINK_RETRY);
    FY_ASSERT_STR(r[1].code, "ProvisionedThroughputExceededException");
    FY_ASSERT_STR(r[1].reason, "Kinesis ProvisionedThroughputExceededException: Rate exceeded for "
                               "shard shardId-000000000001 in stream exampleStreamName under "
                               "account 111111111111.");
    FY_ASSERT_EQ(r[2].state, FY_AWS_FAILED);
    FY_ASSERT_EQ(r[2].res, FY_SINK_RETRY);
    FY_ASSERT_STR(r[2].reason, "Kinesis InternalFailure: Internal service failure.");
    FY_ASSERT_EQ(r[3].state, FY_AWS_SENT);
    FY_ASSERT_STR(r[3].shard_id, "shardId-000000000002");

    /* per-record KMS errors: throttling retried, a disabled key permanent */
    {
        static const char kms[] =
            "{\"FailedRecordCount\":2,\"Records\":[{\"ErrorCode\":\"KMSThrottlingException\","
            "\"ErrorMessage\":\"slow down\"},{\"ErrorCode\":\"KMSDisabledException\"}]}";
        FY_ASSERT_OK(fy_kinesis_batch_result(kms, strlen(kms), 2, r, &err), &err);
        FY_ASSERT_EQ(r[0].res, FY_SINK_RETRY);
        FY_ASSERT_EQ(r[1].res, FY_SINK_REJECT);
        FY_ASSERT_STR(r[1].reason, "Kinesis KMSDisabledException");
    }
    /* FailedRecordCount may be absent (optional in the model) */
    {
        static const char no_count[] =
            "{\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\"}]}";
        FY_ASSERT_OK(fy_kinesis_batch_result(no_count, strlen(no_count), 1, r, &err), &err);
        FY_ASSERT_EQ(r[0].state, FY_AWS_SENT);
    }
}

static void test_kinesis_result_bad(void)
{
    static const struct {
        const char *json;
        size_t n;
        const char *words;
        enum fy_aws_state want[3];
    } cases[] = {
        {"not json", 2, "not a JSON object", {FY_AWS_UNKNOWN, FY_AWS_UNKNOWN}},
        {"{\"FailedRecordCount\":0}", 1, "without a Records list", {FY_AWS_UNKNOWN}},
        {"{\"Records\":{}}", 1, "without a Records list", {FY_AWS_UNKNOWN}},
        {"[{\"SequenceNumber\":\"1\"}]", 1, "not a JSON object", {FY_AWS_UNKNOWN}},
        /* another count than sent: positions cannot be trusted, every record is unknown (sent
         * again), none is taken as written */
        {"{\"FailedRecordCount\":0,\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\"}]}",
         3, "answered 1 records for 3", {FY_AWS_UNKNOWN, FY_AWS_UNKNOWN, FY_AWS_UNKNOWN}},
        {"{\"Records\":[{\"SequenceNumber\":\"1\"},{\"ErrorCode\":\"InternalFailure\"},"
         "{\"SequenceNumber\":\"3\"}]}",
         2, "answered 3 records for 2", {FY_AWS_UNKNOWN, FY_AWS_UNKNOWN}},
        {"{\"Records\":[{\"ShardId\":\"s\"},{\"SequenceNumber\":\"2\"}]}", 2,
         "record 0 has neither", {FY_AWS_UNKNOWN, FY_AWS_SENT}},
        {"{\"Records\":[{\"ErrorCode\":\"\",\"SequenceNumber\":\"\"}]}", 1, "record 0 has neither",
         {FY_AWS_UNKNOWN}},
        {"{\"Records\":[7]}", 1, "record 0 has neither", {FY_AWS_UNKNOWN}},
        {"{\"FailedRecordCount\":1,\"Records\":[{\"SequenceNumber\":\"1\"}]}", 1,
         "FailedRecordCount 1 but 0", {FY_AWS_SENT}},
        {"{\"FailedRecordCount\":0,\"Records\":[{\"ErrorCode\":\"InternalFailure\"}]}", 1,
         "FailedRecordCount 0 but 1", {FY_AWS_FAILED}},
    };
    struct fy_aws_result r[3];
    struct fy_err err = {0};
    size_t i, k;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(r, 0x5a, sizeof(r));
        fy_err_clear(&err);
        FY_ASSERT_EQ(fy_kinesis_batch_result(cases[i].json, strlen(cases[i].json), cases[i].n, r,
                                             &err),
                     FY_EDECODE);
        if (strstr(err.msg, cases[i].words) == NULL) {
            fprintf(stderr, "\ncase %zu: '%s' lacks '%s'\n", i, err.msg, cases[i].words);
        }
        FY_ASSERT(strstr(err.msg, cases[i].words) != NULL);
        for (k = 0; k < cases[i].n; k++) {
            FY_ASSERT_EQ(r[k].state, cases[i].want[k]);
            if (r[k].state == FY_AWS_UNKNOWN) {
                FY_ASSERT_EQ(r[k].res, FY_SINK_RETRY);
                FY_ASSERT(strncmp(r[k].reason, "Kinesis: record ", 16) == 0);
            }
        }
    }
    FY_ASSERT_EQ(fy_kinesis_batch_result("{}", 2, 0, r, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_kinesis_batch_result("{}", 2, 501, r, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_kinesis_batch_result(NULL, 5, 1, r, &err), FY_EINVAL);
}

static void test_kinesis_error_body(void)
{
    static const struct {
        const char *json;
        int status;
        int rc;
        enum fy_sink_result res;
        const char *code;
        const char *reason;
    } cases[] = {
        {"{\"__type\":\"ResourceNotFoundException\",\"message\":\"Stream ferry under account "
         "123456789012 not found.\"}",
         400, FY_OK, FY_SINK_REJECT, "ResourceNotFoundException",
         "Kinesis HTTP 400 ResourceNotFoundException: Stream ferry under account 123456789012 not "
         "found."},
        {"{\"__type\":\"ResourceNotFoundException:http://internal.amazon.com/coral/"
         "com.amazon.kinesis/\",\"message\":\"gone\"}",
         400, FY_OK, FY_SINK_REJECT, "ResourceNotFoundException",
         "Kinesis HTTP 400 ResourceNotFoundException: gone"},
        {"{\"__type\":\"LimitExceededException\",\"message\":\"Rate exceeded for stream ferry "
         "under account 123456789012.\"}",
         400, FY_OK, FY_SINK_RETRY, "LimitExceededException",
         "Kinesis HTTP 400 LimitExceededException: Rate exceeded for stream ferry under account "
         "123456789012."},
        {"{\"__type\":\"ProvisionedThroughputExceededException\",\"message\":\"Rate exceeded\"}",
         400, FY_OK, FY_SINK_RETRY, "ProvisionedThroughputExceededException",
         "Kinesis HTTP 400 ProvisionedThroughputExceededException: Rate exceeded"},
        {"{\"__type\":\"ExpiredTokenException\",\"message\":\"The security token included in the "
         "request is expired\"}",
         400, FY_OK, FY_SINK_RETRY, "ExpiredTokenException",
         "auth: Kinesis HTTP 400 ExpiredTokenException: The security token included in the "
         "request is expired"},
        {"{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\",\"message\":\"The "
         "security token included in the request is invalid.\"}",
         400, FY_OK, FY_SINK_RETRY, "UnrecognizedClientException",
         "auth: Kinesis HTTP 400 UnrecognizedClientException: The security token included in the "
         "request is invalid."},
        {"{\"__type\":\"AccessDeniedException\",\"Message\":\"User is not authorized to perform: "
         "kinesis:PutRecords\"}",
         400, FY_OK, FY_SINK_REJECT, "AccessDeniedException",
         "Kinesis HTTP 400 AccessDeniedException: User is not authorized to perform: "
         "kinesis:PutRecords"},
        {"{\"__type\":\"InvalidArgumentException\",\"message\":\"1 validation error detected\"}",
         400, FY_OK, FY_SINK_REJECT, "InvalidArgumentException",
         "Kinesis HTTP 400 InvalidArgumentException: 1 validation error detected"},
        {"{\"__type\":\"InternalFailure\"}", 500, FY_OK, FY_SINK_RETRY, "InternalFailure",
         "Kinesis HTTP 500 InternalFailure"},
        {"{\"__type\":\"NewKinesisError\"}", 400, FY_OK, FY_SINK_REJECT, "NewKinesisError",
         "Kinesis HTTP 400 NewKinesisError"},
        {"{\"__type\":\"NewKinesisError\"}", 502, FY_OK, FY_SINK_RETRY, "NewKinesisError",
         "Kinesis HTTP 502 NewKinesisError"},
        {"upstream connect error", 503, FY_EDECODE, FY_SINK_RETRY, "",
         "Kinesis HTTP 503 (no error code)"},
        {"{\"__type\":\"\"}", 400, FY_EDECODE, FY_SINK_REJECT, "",
         "Kinesis HTTP 400 (no error code)"},
    };
    struct fy_aws_result r;
    struct fy_err err = {0};
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&r, 0x5a, sizeof(r));
        FY_ASSERT_EQ(fy_kinesis_error_parse(cases[i].json, strlen(cases[i].json), cases[i].status,
                                            &r, &err),
                     cases[i].rc);
        FY_ASSERT_EQ(r.state, FY_AWS_FAILED);
        FY_ASSERT_EQ(r.res, cases[i].res);
        FY_ASSERT_STR(r.code, cases[i].code);
        FY_ASSERT_STR(r.reason, cases[i].reason);
        FY_ASSERT_EQ(r.auth, strncmp(cases[i].reason, "auth: ", 6) == 0);
    }
}

static void test_kinesis_classify(void)
{
    static const struct {
        const char *code;
        int status;
        enum fy_sink_result res;
        int auth;
    } cases[] = {
        {"ProvisionedThroughputExceededException", 0, FY_SINK_RETRY, 0},
        {"ProvisionedThroughputExceededException", 400, FY_SINK_RETRY, 0},
        {"LimitExceededException", 400, FY_SINK_RETRY, 0},
        {"KMSThrottlingException", 0, FY_SINK_RETRY, 0},
        {"InternalFailure", 0, FY_SINK_RETRY, 0},
        {"InternalFailure", 500, FY_SINK_RETRY, 0},
        {"ServiceUnavailable", 503, FY_SINK_RETRY, 0},
        {"ServiceUnavailableException", 503, FY_SINK_RETRY, 0},
        {"ThrottlingException", 400, FY_SINK_RETRY, 0},
        {"ResourceInUseException", 400, FY_SINK_RETRY, 0},
        {"ExpiredTokenException", 400, FY_SINK_RETRY, 1},
        {"ExpiredToken", 400, FY_SINK_RETRY, 1},
        {"UnrecognizedClientException", 400, FY_SINK_RETRY, 1},
        {"InvalidSignatureException", 400, FY_SINK_RETRY, 1},
        {"SignatureDoesNotMatch", 403, FY_SINK_RETRY, 1},
        {"IncompleteSignature", 400, FY_SINK_RETRY, 1},
        {"MissingAuthenticationToken", 403, FY_SINK_RETRY, 1},
        {"InvalidClientTokenId", 403, FY_SINK_RETRY, 1},
        {"RequestExpired", 400, FY_SINK_RETRY, 1},
        {"ResourceNotFoundException", 400, FY_SINK_REJECT, 0},
        {"AccessDeniedException", 400, FY_SINK_REJECT, 0},
        {"InvalidArgumentException", 400, FY_SINK_REJECT, 0},
        {"ValidationException", 400, FY_SINK_REJECT, 0},
        {"SerializationException", 400, FY_SINK_REJECT, 0},
        {"KMSAccessDeniedException", 400, FY_SINK_REJECT, 0},
        {"KMSDisabledException", 400, FY_SINK_REJECT, 0},
        {"KMSInvalidStateException", 400, FY_SINK_REJECT, 0},
        {"KMSNotFoundException", 400, FY_SINK_REJECT, 0},
        {"KMSOptInRequired", 400, FY_SINK_REJECT, 0},
        {"com.amazonaws.kinesis.v20131202#ResourceNotFoundException", 400, FY_SINK_REJECT, 0},
        /* a known code wins over the status */
        {"ResourceNotFoundException", 503, FY_SINK_REJECT, 0},
        /* unknown: the status, else retried */
        {"Unheard", 400, FY_SINK_REJECT, 0},
        {"Unheard", 429, FY_SINK_RETRY, 0},
        {"Unheard", 0, FY_SINK_RETRY, 0},
        {NULL, 0, FY_SINK_RETRY, 0},
        /* SQS names mean nothing to Kinesis */
        {"QueueDoesNotExist", 0, FY_SINK_RETRY, 0},
    };
    size_t i;
    int auth;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum fy_sink_result res;

        auth = 7;
        res = fy_kinesis_classify(cases[i].code, cases[i].status, &auth);
        if (res != cases[i].res || auth != cases[i].auth) {
            fprintf(stderr, "\nKinesis code %s: res %d auth %d\n",
                    cases[i].code ? cases[i].code : "(null)", (int)res, auth);
        }
        FY_ASSERT_EQ(res, cases[i].res);
        FY_ASSERT_EQ(auth, cases[i].auth);
    }
}

int init_aws_body_tests(void)
{
    CU_pSuite s = CU_add_suite("aws_body", NULL, NULL);

    if (s == NULL || CU_add_test(s, "SQS batch of 10 read back", test_sqs_build) == NULL ||
        CU_add_test(s, "SQS builder arguments", test_sqs_args) == NULL ||
        CU_add_test(s, "SQS sizes at the limit", test_sqs_size) == NULL ||
        CU_add_test(s, "SQS character set", test_sqs_chars) == NULL ||
        CU_add_test(s, "SQS FIFO ids", test_sqs_fifo_ids) == NULL ||
        CU_add_test(s, "SQS batch result", test_sqs_result) == NULL ||
        CU_add_test(s, "SQS long error messages", test_sqs_result_long_message) == NULL ||
        CU_add_test(s, "SQS malformed batch results", test_sqs_result_bad) == NULL ||
        CU_add_test(s, "SQS error bodies", test_sqs_error_body) == NULL ||
        CU_add_test(s, "SQS error codes", test_sqs_classify) == NULL ||
        CU_add_test(s, "Kinesis batch of 10 read back", test_kinesis_build) == NULL ||
        CU_add_test(s, "Kinesis builder arguments", test_kinesis_args) == NULL ||
        CU_add_test(s, "Kinesis sizes at the limit", test_kinesis_size) == NULL ||
        CU_add_test(s, "Kinesis batch result", test_kinesis_result) == NULL ||
        CU_add_test(s, "Kinesis malformed batch results", test_kinesis_result_bad) == NULL ||
        CU_add_test(s, "Kinesis error bodies", test_kinesis_error_body) == NULL ||
        CU_add_test(s, "Kinesis error codes", test_kinesis_classify) == NULL) {
        return -1;
    }
    return 0;
}
