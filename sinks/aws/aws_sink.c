/* aws_sink.c - the request layer shared by the sqs and kinesis sinks (see aws_sink.h). */
#include "sinks/aws/aws_sink.h"

#include "core/log.h"
#include "core/redact.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A region as AWS spells them: lower-case letters, digits and '-' ("eu-west-1",
 * "us-gov-east-1", "cn-north-1"). */
static int region_ok(const char *r)
{
    size_t n = strlen(r);

    return n >= 3 && n <= 32 && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
           isalpha((unsigned char)r[0]) && isdigit((unsigned char)r[n - 1]);
}

static const char *region_of(const struct fy_aws_sink *a)
{
    const char *r = a->region;

    if (r == NULL || *r == '\0') {
        r = getenv("AWS_REGION");
    }
    if (r == NULL || *r == '\0') {
        r = getenv("AWS_DEFAULT_REGION");
    }
    return r != NULL && *r != '\0' ? r : NULL;
}

int fy_aws_sink_check(struct fy_aws_sink *a, const char *service, struct fy_err *err)
{
    const char *region = region_of(a);

    if (region == NULL) {
        return fy_err_set(err, FY_ECONFIG, "region: not set (expected e.g. region: eu-west-1, "
                          "or AWS_REGION in the environment)");
    }
    if (!region_ok(region)) {
        return fy_err_set(err, FY_ECONFIG, "region '%s': expected an AWS region such as "
                          "eu-west-1", region);
    }
    if ((a->access_key_id != NULL) != (a->secret_access_key != NULL)) {
        return fy_err_set(err, FY_ECONFIG, "access_key_id and secret_access_key go together "
                          "(one is set, the other is not)");
    }
    if (a->endpoint != NULL) {
        snprintf(a->url, sizeof(a->url), "%s", a->endpoint);
    } else {
        snprintf(a->url, sizeof(a->url), "https://%s.%s.amazonaws.com%s/", service, region,
                 strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    }
    fy_redact_url(a->url, a->url_shown, sizeof(a->url_shown));
    if (strncmp(a->url, "https://", 8) != 0 &&
        !(a->allow_insecure && strncmp(a->url, "http://", 7) == 0)) {
        return fy_err_set(err, FY_ECONFIG, "endpoint '%s': https:// required (http:// only with "
                          "allow_insecure: true)", a->url_shown);
    }
    if (!a->allow_private && fy_http_url_internal(a->url) != 0) {
        return fy_err_set(err, FY_ECONFIG, "endpoint '%s': %s", a->url_shown,
                          fy_http_url_internal(a->url) < 0
                              ? "not a URL"
                              : "a loopback or private address, refused by the SSRF guard "
                                "(expected a public host, or allow_private_networks: true)");
    }
    return FY_OK;
}

int fy_aws_sink_init(struct fy_aws_sink *a, struct fy_sink *snk, const char *service,
                     const char *target, const char *content_type, struct fy_hq_conf *qc,
                     const struct fy_hq_ops *ops, void *arg, struct fy_err *err)
{
    struct fy_aws_auth_conf ac = {0};
    char who[256];

    a->snk = snk;
    a->service = service;
    a->target = target;
    a->content_type = content_type;
    if (fy_aws_sink_check(a, service, err) != FY_OK) {
        return FY_ECONFIG;
    }
    a->transport = (struct fy_http_transport){
        .ca_file = a->ca_file, .timeout_ms = a->timeout_ms,
        .connect_timeout_ms = a->connect_timeout_ms, .allow_private = a->allow_private,
        .user_agent = "ferry-aws/0.1"};
    ac.key_id = a->access_key_id;
    ac.secret = a->secret_access_key;
    ac.session_token = a->session_token;
    ac.profile = a->profile;
    ac.credentials_file = a->credentials_file;
    ac.region = region_of(a);
    ac.sts_endpoint = a->sts_endpoint;
    ac.transport = &a->transport;
    ac.tag = fy_sink_tag(snk);
    if ((a->auth = fy_aws_auth_create(&ac, err)) == NULL) {
        return err->code != FY_OK ? err->code : FY_ECONFIG;
    }
    fy_log_info(fy_sink_tag(snk), "%s to %s, %s", target, a->url_shown,
                fy_aws_auth_describe(a->auth, who, sizeof(who)));
    qc->parallel = (size_t)a->parallel;
    qc->max_wait_ms = a->batch_max_wait_ms;
    qc->resp_max = 256 * 1024; /* a batch answer names every entry */
    a->q = fy_hq_create(qc, ops, arg, snk, err);
    return a->q != NULL ? FY_OK : err->code;
}

void fy_aws_sink_exit(struct fy_aws_sink *a)
{
    fy_hq_destroy(a->q);
    a->q = NULL;
    fy_aws_auth_destroy(a->auth);
    a->auth = NULL;
}

void fy_aws_sink_poll(void *ctx, int timeout_ms)
{
    fy_hq_poll(((struct fy_aws_sink *)ctx)->q, timeout_ms);
}

int fy_aws_sink_drain(void *ctx, int timeout_ms)
{
    return fy_hq_drain(((struct fy_aws_sink *)ctx)->q, timeout_ms);
}

void fy_aws_sink_exit_ctx(void *ctx)
{
    fy_aws_sink_exit(ctx);
}

int fy_aws_sink_request(struct fy_aws_sink *a, struct fy_hq_batch *b, CURL **easy,
                        char *reason, size_t rsize)
{
    struct fy_aws_creds cr;
    struct fy_err err = {0};
    char line[160];
    CURL *e;
    int rc;

    if (fy_aws_auth_get(a->auth, &cr, &err) != FY_OK) {
        snprintf(reason, rsize, "auth: no AWS credentials: %s", err.msg);
        fy_log_error(fy_sink_tag(a->snk), "%s", reason);
        return FY_EIO; /* nothing was sent; the core retries the records */
    }
    snprintf(line, sizeof(line), "X-Amz-Target: %s", a->target);
    b->headers = curl_slist_append(b->headers, line);
    snprintf(line, sizeof(line), "Content-Type: %s", a->content_type);
    b->headers = curl_slist_append(b->headers, line);
    /* The "Expect: 100-continue" header stays: SigV4 signs the headers curl sends, and an
     * empty "Expect:" (which removes it) would still be signed, so AWS would refuse the
     * signature (moto did: SignatureDoesNotMatch). The body goes without waiting for 100. */
    if ((e = curl_easy_init()) == NULL) {
        fy_aws_creds_clear(&cr);
        snprintf(reason, rsize, "out of memory");
        return FY_ENOMEM;
    }
    *easy = e;
    curl_easy_setopt(e, CURLOPT_URL, a->url);
    fy_http_setup(e, &a->transport, &b->guard);
    rc = fy_http_sigv4(e, region_of(a), a->service, cr.key_id, cr.secret, cr.token,
                       &b->headers);
    fy_aws_creds_clear(&cr);
    if (rc != FY_OK) {
        snprintf(reason, rsize, "auth: cannot sign the request (SigV4)");
        return FY_EIO;
    }
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->req.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->req.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers);
    curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
    return FY_OK;
}

/* The text between <tag> and </tag> in an XML error body (query-protocol and auth errors
 * come as XML even from JSON-protocol services), into out; "" when absent. */
static void xml_field(const char *body, size_t len, const char *tag, char *out, size_t size)
{
    char open[48], close[48];
    const char *p, *q, *end = body + len;

    out[0] = '\0';
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    if (body == NULL || (p = memmem(body, len, open, strlen(open))) == NULL) {
        return;
    }
    p += strlen(open);
    if ((q = memmem(p, (size_t)(end - p), close, strlen(close))) == NULL) {
        return;
    }
    snprintf(out, size, "%.*s", (int)(q - p), p);
}

int fy_aws_sink_failed(struct fy_aws_sink *a, struct fy_hq_batch *b, CURLcode result,
                       long status,
                       int (*parse)(const char *, size_t, int, struct fy_aws_result *,
                                    struct fy_err *))
{
    enum fy_http_class cls = fy_http_classify(result, status, b->guard.why[0] != '\0');
    const char *body = b->resp.data != NULL ? b->resp.data : "";
    char reason[700];

    if (cls == FY_HTTP_OK) {
        return 0;
    }
    if (cls == FY_HTTP_BLOCKED) {
        snprintf(reason, sizeof(reason), "ssrf_blocked: %s: %s", a->url_shown, b->guard.why);
        fy_log_error(fy_sink_tag(a->snk), "SSRF guard: %s", reason);
        fy_hq_complete_all(a->q, b, FY_SINK_REJECT, reason);
    } else if (result != CURLE_OK) {
        snprintf(reason, sizeof(reason), "%s from %s", curl_easy_strerror(result), a->url_shown);
        fy_hq_complete_all(a->q, b, FY_SINK_RETRY, reason);
    } else if (cls == FY_HTTP_TOO_LARGE) {
        snprintf(reason, sizeof(reason), "HTTP 413 from %s: a single record is too large",
                 a->url_shown);
        fy_hq_split(a->q, b, reason);
    } else {
        struct fy_aws_result r;
        struct fy_err err = {0};
        char code[96], msg[240];

        parse(body, b->resp.len, (int)status, &r, &err);
        if (body[0] == '<') {
            xml_field(body, b->resp.len, "Code", code, sizeof(code));
            xml_field(body, b->resp.len, "Message", msg, sizeof(msg));
            if (code[0] != '\0') {
                snprintf(r.code, sizeof(r.code), "%s", code);
                snprintf(r.message, sizeof(r.message), "%s", msg);
            }
        }
        if (strcmp(r.code, "BatchRequestTooLong") == 0 ||
            strcmp(r.code, "AWS.SimpleQueueService.BatchRequestTooLong") == 0) {
            /* over the queue's real limit (max_message_bytes set above it): halves */
            snprintf(reason, sizeof(reason), "HTTP %ld %s from %s: %s", status, r.code,
                     a->url_shown, r.message);
            fy_hq_split(a->q, b, reason);
        } else if (status == 401 || status == 403 || r.auth || strstr(r.code, "AccessDenied") ||
                   strncasecmp(r.code, "KMS", 3) == 0) {
            /* credentials, IAM policy or key policy: fixed by the operator (or renewed), never
             * a property of the records: keep them (the core retries, then dead-letters by
             * its retry policy) */
            snprintf(reason, sizeof(reason), "auth: HTTP %ld %s from %s: %s", status,
                     r.code[0] != '\0' ? r.code : "(no code)", a->url_shown, r.message);
            fy_hq_complete_all(a->q, b, FY_SINK_RETRY, reason);
        } else {
            snprintf(reason, sizeof(reason), "HTTP %ld %s from %s: %s", status,
                     r.code[0] != '\0' ? r.code : "(no code)", a->url_shown, r.message);
            fy_hq_complete_all(a->q, b, cls == FY_HTTP_RETRY ? FY_SINK_RETRY : r.res, reason);
        }
    }
    return 1;
}

void fy_aws_sink_settle(struct fy_aws_sink *a, struct fy_hq_batch *b, size_t i,
                        const struct fy_aws_result *r)
{
    const struct fy_hq_item *it = &b->items[i];

    if (r->res != FY_SINK_RETRY) {
        fy_hq_complete(a->q, b, i, r->res, r->res == FY_SINK_OK ? NULL : r->reason);
    } else if (it->attempts <= a->entry_retries) {
        /* 100 ms, 200 ms, ... up to 5 s; the record's lane stays held meanwhile */
        int64_t delay = 100LL << (it->attempts > 6 ? 6 : it->attempts - 1);
        fy_hq_retry_item(a->q, b, i, delay < 5000 ? delay : 5000);
    } else {
        char reason[400];
        snprintf(reason, sizeof(reason), "%s (refused %d times in a batch)", r->reason,
                 it->attempts);
        fy_hq_complete(a->q, b, i, FY_SINK_RETRY, reason);
    }
}

void fy_aws_sink_done(struct fy_aws_sink *a, struct fy_hq_batch *b, CURLcode result,
                      long status, fy_aws_error_parse_fn error_parse,
                      fy_aws_batch_result_fn batch_result, const char *action)
{
    struct fy_aws_result *r;
    struct fy_err err = {0};
    size_t i;

    if (fy_aws_sink_failed(a, b, result, status, error_parse)) {
        return;
    }
    if ((r = calloc(b->n, sizeof(*r))) == NULL) {
        fy_hq_complete_all(a->q, b, FY_SINK_RETRY, "out of memory reading a batch answer");
        return;
    }
    if (batch_result(b->resp.data != NULL ? b->resp.data : "", b->resp.len, b->n, r, &err) !=
        FY_OK) {
        fy_log_warn(fy_sink_tag(a->snk), "%s answer: %s (the records it does not confirm are "
                    "sent again)", action, err.msg);
    }
    for (i = 0; i < b->n; i++) {
        fy_aws_sink_settle(a, b, i, &r[i]);
    }
    free(r);
}

void fy_aws_item_record(const struct fy_hq_item *it, struct fy_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->id = it->id;
    rec->key = it->key;
    rec->rec_type = it->rec_type;
    rec->event_type = it->event_type;
    rec->body = it->body;
    rec->body_len = it->len;
}
