/* 30-sink-webhook.c - the webhook sink against a real HTTPS server on loopback
 * (tests/support/https_server.py: TLS with a certificate made for the test, HTTP/1.1, records
 * every request): batching and every body format parsed back, Basic auth and static headers,
 * Standard Webhooks signatures verified by the receiving side, 500 then success, 429 with
 * Retry-After, 400 rejected with the response body, 413 splitting, a server that never
 * answers (time-out), certificate verification, http:// refused without allow_insecure; and
 * Ferry itself (MQTT in, journal, core retries) in front of a flaky receiver: per-device order
 * of the accepted records, nothing lost, duplicates only from requests held past the time-out. */
#include "core/b64.h"
#include "core/conf.h"
#include "core/file.h"
#include "core/log.h"
#include "sinks/sink.h"
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int init_integration_tests(void);

static char dir[128];
static char log_path[256], ca_path[256];
static int port;
static pid_t server;

#define MAXT 64

struct seen {
    int ok, retry, reject;
    char reason[MAXT][512];
    int res[MAXT];
};

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct seen *s = arg;

    if (ticket < MAXT) {
        s->res[ticket] = (int)res + 1;
        snprintf(s->reason[ticket], sizeof(s->reason[0]), "%s", reason ? reason : "");
    }
    if (res == FY_SINK_OK) {
        s->ok++;
    } else if (res == FY_SINK_RETRY) {
        s->retry++;
    } else {
        s->reject++;
    }
}

static int setup(void)
{
    if (fy_h_https_start(dir, sizeof(dir), &port, &server) != 0) {
        return -1;
    }
    snprintf(log_path, sizeof(log_path), "%s/requests.jsonl", dir);
    snprintf(ca_path, sizeof(ca_path), "%s/cert.pem", dir);
    fy_log_setup(FY_LOG_ERROR, NULL);
    return 0;
}

static int teardown(void)
{
    fy_h_https_stop(dir, server);
    return 0;
}

static struct fy_sink *make(struct seen *s, const char *path, const char *extra,
                            struct fy_node **root, struct fy_err *err)
{
    static const char *const skip[] = {"name", "type", "retry", NULL};
    char y[2048];

    snprintf(y, sizeof(y), "name: hook\ntype: webhook\nurl: https://127.0.0.1:%d%s\n"
             "ca_file: %s\nbatch_max_wait_ms: 50\nallow_private_networks: true\n%s", port, path,
             ca_path, extra);
    *root = fy_conf_parse(y, strlen(y), "hook.yaml", err);
    if (*root == NULL) {
        return NULL;
    }
    return fy_sink_create(fy_sink_plugin_find("webhook"), "hook", *root, skip, 0, on_complete, s,
                          err);
}

/* A webhook sink made of "name: h\ntype: webhook\n" + yaml is refused by its check (as
 * `ferry check` would) with want in the message. */
static void expect_config_error(const char *yaml, const char *want)
{
    static const char *const skip[] = {"name", "type", NULL};
    struct fy_err err = {0};
    struct fy_node *root;
    char y[1024];

    snprintf(y, sizeof(y), "name: h\ntype: webhook\n%s", yaml);
    root = fy_conf_parse(y, strlen(y), "t.yaml", &err);
    CU_ASSERT_PTR_NULL(fy_sink_create(fy_sink_plugin_find("webhook"), "h", root, skip, 1, NULL,
                                      NULL, &err));
    if (strstr(err.msg, want) == NULL) {
        fprintf(stderr, "\nexpected '%s' in: %s\n", want, err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    fy_conf_free(root);
}

/* Submit one record (ticket t, id t, device key "dev-<t>": a device of its own, so lanes do
 * not hold it back) with body, polling while the sink is full. */
static void submit_body(struct fy_sink *snk, uint64_t t, const char *body)
{
    struct fy_record rec = {0};
    char id[40], key[40];

    snprintf(id, sizeof(id), "%032llu", (unsigned long long)t);
    snprintf(key, sizeof(key), "dev-%llu", (unsigned long long)t);
    rec.id = id;
    rec.key = key;
    rec.rec_type = "io.test";
    rec.event_type = "create";
    rec.body = body;
    rec.body_len = strlen(body);
    while (fy_sink_submit(snk, &rec, "", t) == FY_EAGAIN) {
        fy_sink_poll(snk, 10);
    }
}

/* Submit n records (tickets first..first+n-1) and poll until all complete or timeout. */
static void run(struct fy_sink *snk, struct seen *s, int first, int n, int timeout_ms)
{
    static const char body_fmt[] = "{\"event_type\":\"create\",\"id\":\"%032d\",\"obj\":{\"n\":%d},"
                                   "\"obj_type\":\"objs\",\"recType\":\"io.test\",\"source\":\"t\"}";
    struct timeval t0, t;
    int i, done;

    for (i = first; i < first + n; i++) {
        char body[256];
        snprintf(body, sizeof(body), body_fmt, i, i);
        submit_body(snk, (uint64_t)i, body);
    }
    gettimeofday(&t0, NULL);
    do {
        fy_sink_poll(snk, 20);
        done = 0;
        for (i = first; i < first + n; i++) {
            done += s->res[i] != 0;
        }
        gettimeofday(&t, NULL);
    } while (done < n && (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_usec - t0.tv_usec) / 1000 <
                             fy_h_ms(timeout_ms));
}

/* Requests recorded for path (JSON objects; caller deletes the array). */
static cJSON *requests(const char *path)
{
    FILE *f = fopen(log_path, "r");
    char line[1 << 16];
    cJSON *arr = cJSON_CreateArray();

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        cJSON *r = cJSON_Parse(line);
        if (r != NULL && strcmp(cJSON_GetObjectItem(r, "path")->valuestring, path) == 0) {
            cJSON_AddItemToArray(arr, r);
        } else {
            cJSON_Delete(r);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return arr;
}

static char *body_of(const cJSON *req, size_t *len)
{
    const char *b64 = cJSON_GetObjectItem(req, "body")->valuestring;
    char *b = (char *)fy_b64_decode(b64, strlen(b64), len);
    char *z = realloc(b, *len + 1);
    z[*len] = '\0';
    return z;
}

static const char *hdr(const cJSON *req, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "headers"), name));
}

static void test_batch_auth_signature(void)
{
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    cJSON *reqs, *req, *arr;
    char *body;
    size_t len;

    memset(&s, 0, sizeof(s));
    snk = make(&s, "/ok", "batch_max_records: 5\nauth: basic\nusername: ferry\npassword: "
               "s3cret\nheaders.X-Api-Key: k-123\n"
               "signing_secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 10, 10000);
    FY_ASSERT_EQ(s.ok, 10);
    reqs = requests("/ok");
    FY_ASSERT_EQ(cJSON_GetArraySize(reqs), 2); /* 10 records in batches of 5 */
    req = cJSON_GetArrayItem(reqs, 0);
    body = body_of(req, &len);
    arr = cJSON_Parse(body);
    FY_ASSERT_EQ(cJSON_GetArraySize(arr), 5);
    FY_ASSERT_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "obj"),
                                     "n")->valueint, 0);
    FY_ASSERT_STR(hdr(req, "authorization"), "Basic ZmVycnk6czNjcmV0");
    FY_ASSERT_STR(hdr(req, "x-api-key"), "k-123");
    CU_ASSERT_PTR_NOT_NULL(strstr(hdr(req, "content-type"), "application/json"));
    /* the receiving side verifies the Standard Webhooks signature */
    {
        const char *id = hdr(req, "webhook-id"), *ts = hdr(req, "webhook-timestamp");
        const char *sig = hdr(req, "webhook-signature");
        size_t klen = 0;
        uint8_t *key = fy_b64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32, &klen);
        unsigned char mac[64];
        unsigned int mlen = 0;
        char *signed_text = malloc(len + 128), *expect;
        int n = snprintf(signed_text, len + 128, "%s.%s.", id, ts);
        long age = (long)time(NULL) - strtol(ts, NULL, 10);

        memcpy(signed_text + n, body, len);
        HMAC(EVP_sha256(), key, (int)klen, (unsigned char *)signed_text, (size_t)n + len, mac,
             &mlen);
        expect = fy_b64_encode(mac, mlen);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
        CU_ASSERT_TRUE(strncmp(sig, "v1,", 3) == 0 && strcmp(sig + 3, expect) == 0);
        FY_ASSERT_STR(id, "00000000000000000000000000000000");
        CU_ASSERT_TRUE(age >= 0 && age < 300); /* a receiver rejects replays older than 5 min */
        free(expect);
        free(signed_text);
        free(key);
    }
    cJSON_Delete(arr);
    free(body);
    cJSON_Delete(reqs);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

static void check_format(const char *fmt, const char *path)
{
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    char extra[128];
    cJSON *reqs;
    int total = 0, k;

    memset(&s, 0, sizeof(s));
    snprintf(extra, sizeof(extra), "format: %s\nbatch_max_records: 3\n", fmt);
    snk = make(&s, path, extra, &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 6, 10000);
    FY_ASSERT_EQ(s.ok, 6);
    reqs = requests(path);
    for (k = 0; k < cJSON_GetArraySize(reqs); k++) {
        size_t len;
        char *body = body_of(cJSON_GetArrayItem(reqs, k), &len);
        if (strcmp(fmt, "ndjson") == 0) {
            char *line, *save = NULL;
            for (line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                cJSON *e = cJSON_Parse(line);
                total += e != NULL && cJSON_GetObjectItem(e, "recType") != NULL;
                cJSON_Delete(e);
            }
        } else if (strcmp(fmt, "single") == 0) {
            cJSON *e = cJSON_Parse(body);
            total += cJSON_IsObject(e) && cJSON_GetObjectItem(e, "recType") != NULL;
            cJSON_Delete(e);
        } else { /* smartclean: an array of JSON-serialized envelopes */
            cJSON *arr = cJSON_Parse(body), *it;
            cJSON_ArrayForEach(it, arr)
            {
                cJSON *e = cJSON_IsString(it) ? cJSON_Parse(it->valuestring) : NULL;
                total += e != NULL && cJSON_GetObjectItem(e, "recType") != NULL;
                cJSON_Delete(e);
            }
            cJSON_Delete(arr);
        }
        free(body);
    }
    FY_ASSERT_EQ(total, 6);
    FY_ASSERT_EQ(cJSON_GetArraySize(reqs), strcmp(fmt, "single") == 0 ? 6 : 2);
    cJSON_Delete(reqs);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

static void test_formats(void)
{
    check_format("ndjson", "/ok/ndjson");
    check_format("smartclean", "/ok/smartclean");
    check_format("single", "/ok/single");
}

static void test_outcomes(void)
{
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;

    /* 500 twice, request_retries: 0: RETRY; the core resubmits (here: the test), it succeeds */
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/fail500/2", "batch_max_records: 1\nrequest_retries: 0\n", &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 1, 10000);
    run(snk, &s, 1, 1, 10000);
    run(snk, &s, 2, 1, 10000);
    FY_ASSERT_EQ(s.retry, 2);
    FY_ASSERT_EQ(s.ok, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "HTTP 500"));
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* 500 twice with request_retries (default 5): the sink sends the batch again by itself
     * after a back-off, the same records in the same order, and completes it OK */
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/fail500/2/again", "batch_max_records: 4\n", &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 4, 10000);
    FY_ASSERT_EQ(s.ok, 4);
    FY_ASSERT_EQ(s.retry, 0);
    {
        cJSON *reqs = requests("/fail500/2/again");
        size_t l0 = 0, l2 = 0;
        char *b0, *b2;
        FY_ASSERT_EQ(cJSON_GetArraySize(reqs), 3);
        b0 = body_of(cJSON_GetArrayItem(reqs, 0), &l0);
        b2 = body_of(cJSON_GetArrayItem(reqs, 2), &l2);
        FY_ASSERT_STR(b0, b2);
        free(b0);
        free(b2);
        cJSON_Delete(reqs);
    }
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* 429 with Retry-After: 2, request_retries: 0 -> RETRY carrying retry_after_ms=2000 for
     * the core */
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/retry429", "request_retries: 0\n", &root, &err);
    run(snk, &s, 0, 1, 10000);
    FY_ASSERT_EQ(s.retry, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "retry_after_ms=2000"));
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* 400: REJECT with status and the start of the response body */
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/bad400", "", &root, &err);
    run(snk, &s, 0, 2, 10000);
    FY_ASSERT_EQ(s.reject, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "HTTP 400"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "schema mismatch"));
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* 413 for more than 2 records: a batch of 8 is split until it fits, all delivered */
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/big413/2", "batch_max_records: 8\n", &root, &err);
    run(snk, &s, 0, 8, 15000);
    FY_ASSERT_EQ(s.ok, 8);
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* 410 Gone: RETRY that asks the core to disable the endpoint (records are kept) */
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/gone", "", &root, &err);
    run(snk, &s, 0, 1, 10000);
    FY_ASSERT_EQ(s.retry, 1);
    CU_ASSERT_TRUE(strncmp(s.reason[0], FY_SINK_REASON_DISABLE,
                           strlen(FY_SINK_REASON_DISABLE)) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "HTTP 410"));
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* 302: a failure, never followed */
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/redirect", "", &root, &err);
    run(snk, &s, 0, 1, 10000);
    FY_ASSERT_EQ(s.reject, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "redirect not followed"));
    {
        cJSON *followed = requests("/ok/redirected");
        FY_ASSERT_EQ(cJSON_GetArraySize(followed), 0);
        cJSON_Delete(followed);
    }
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* a server that never answers: RETRY after the time-out (and request_retries more) */
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/hang", "timeout_ms: 1000\nrequest_retries: 1\n", &root, &err);
    run(snk, &s, 0, 1, 10000);
    FY_ASSERT_EQ(s.retry, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "Timeout"));
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

static void test_tls_and_config(void)
{
    static const char *const skip[] = {"name", "type", "retry", NULL};
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root;
    struct fy_sink *snk;
    char y[512];

    /* without our CA the self-signed certificate is refused: no insecure fallback */
    memset(&s, 0, sizeof(s));
    snprintf(y, sizeof(y), "name: h\ntype: webhook\nurl: https://127.0.0.1:%d/ok\n"
             "batch_max_wait_ms: 10\nallow_private_networks: true\n", port);
    root = fy_conf_parse(y, strlen(y), "t.yaml", &err);
    snk = fy_sink_create(fy_sink_plugin_find("webhook"), "h", root, skip, 0, on_complete, &s,
                         &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 1, 10000);
    FY_ASSERT_EQ(s.retry, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "certificate"));
    fy_sink_destroy(snk);
    fy_conf_free(root);
    /* http:// is a configuration error unless allow_insecure */
    snprintf(y, sizeof(y), "name: h\ntype: webhook\nurl: http://127.0.0.1:%d/ok\n", port);
    root = fy_conf_parse(y, strlen(y), "t.yaml", &err);
    CU_ASSERT_PTR_NULL(fy_sink_create(fy_sink_plugin_find("webhook"), "h", root, skip, 1, NULL,
                                      NULL, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "https:// required"));
    fy_conf_free(root);
}

static void wait_done(struct fy_sink *snk, struct seen *s, int n)
{
    int i, k, done = 0;

    for (k = 0; k < fy_h_ms(10000) / 20 && done < n; k++) {
        fy_sink_poll(snk, 20);
        usleep(20000); /* poll returns at once when no request is running */
        for (done = 0, i = 0; i < n; i++) {
            done += s->res[i] != 0;
        }
    }
}

static int records_in(const cJSON *req)
{
    size_t len;
    char *body = body_of(req, &len);
    cJSON *arr = cJSON_Parse(body);
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;

    cJSON_Delete(arr);
    free(body);
    return n;
}

/* URL path and headers from envelope fields: one sink fans out per device; values are
 * percent-encoded in the URL; CR/LF in a header value and a missing field are rejected. */
static void test_templates(void)
{
    static const char *const devs[] = {"a", "b x/y", "a", "b x/y", "a", "evil\r\nX-Injected: 1",
                                       NULL};
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    cJSON *ra, *rb;
    char body[512];
    int i;

    memset(&s, 0, sizeof(s));
    snk = make(&s, "/tpl/{recType}/{deviceId}", "batch_max_records: 10\n"
               "headers.X-Device: \"{deviceId}\"\nheaders.X-App: \"app-{applicationId}\"\n",
               &root, &err);
    if (snk == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    for (i = 0; i < 7; i++) {
        cJSON *e = cJSON_CreateObject(), *o = cJSON_AddObjectToObject(e, "obj");
        char *txt;
        cJSON_AddStringToObject(e, "id", "x");
        cJSON_AddNumberToObject(o, "n", i);
        if (devs[i] != NULL) {
            cJSON_AddStringToObject(o, "deviceId", devs[i]);
        }
        cJSON_AddStringToObject(o, "applicationId", "app1");
        cJSON_AddStringToObject(e, "recType", "io.test");
        txt = cJSON_PrintUnformatted(e);
        snprintf(body, sizeof(body), "%s", txt);
        free(txt);
        cJSON_Delete(e);
        submit_body(snk, (uint64_t)i, body);
    }
    wait_done(snk, &s, 7);
    for (i = 0; i < 7; i++) {
        if (s.res[i] != (i < 5 ? 1 : 3)) {
            fprintf(stderr, "\nrecord %d: outcome %d: %s\n", i, s.res[i], s.reason[i]);
        }
    }
    FY_ASSERT_EQ(s.ok, 5);
    FY_ASSERT_EQ(s.reject, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[5], "bad_header"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[6], "{deviceId} is missing"));
    ra = requests("/tpl/io.test/a");
    rb = requests("/tpl/io.test/b%20x%2Fy");
    FY_ASSERT_EQ(cJSON_GetArraySize(ra), 1);
    FY_ASSERT_EQ(cJSON_GetArraySize(rb), 1);
    if (cJSON_GetArraySize(ra) == 1 && cJSON_GetArraySize(rb) == 1) {
        FY_ASSERT_EQ(records_in(cJSON_GetArrayItem(ra, 0)), 3);
        FY_ASSERT_EQ(records_in(cJSON_GetArrayItem(rb, 0)), 2);
        FY_ASSERT_STR(hdr(cJSON_GetArrayItem(ra, 0), "x-device"), "a");
        FY_ASSERT_STR(hdr(cJSON_GetArrayItem(rb, 0), "x-device"), "b x/y");
        FY_ASSERT_STR(hdr(cJSON_GetArrayItem(rb, 0), "x-app"), "app-app1");
        CU_ASSERT_PTR_NULL(hdr(cJSON_GetArrayItem(ra, 0), "x-injected"));
    }
    cJSON_Delete(ra);
    cJSON_Delete(rb);

    /* three records of one device: the later two wait in its lane (order: per_device) and
     * keep their rendered URL and headers; each goes alone, in order, to /tpl/io.test/lane */
    memset(&s, 0, sizeof(s));
    for (i = 0; i < 3; i++) {
        struct fy_record rec = {0};
        char id[40];
        snprintf(body, sizeof(body), "{\"id\":\"x\",\"obj\":{\"n\":%d,\"deviceId\":\"lane\","
                 "\"applicationId\":\"app1\"},\"recType\":\"io.test\"}", i);
        snprintf(id, sizeof(id), "%032d", i);
        rec.id = id;
        rec.key = "lane";
        rec.rec_type = "io.test";
        rec.event_type = "create";
        rec.body = body;
        rec.body_len = strlen(body);
        while (fy_sink_submit(snk, &rec, "", (uint64_t)i) == FY_EAGAIN) {
            fy_sink_poll(snk, 10);
        }
    }
    wait_done(snk, &s, 3);
    FY_ASSERT_EQ(s.ok, 3);
    ra = requests("/tpl/io.test/lane");
    FY_ASSERT_EQ(cJSON_GetArraySize(ra), 3);
    for (i = 0; i < cJSON_GetArraySize(ra); i++) {
        size_t len = 0;
        char *b = body_of(cJSON_GetArrayItem(ra, i), &len), want[32];
        snprintf(want, sizeof(want), "\"n\":%d,", i);
        CU_ASSERT_PTR_NOT_NULL(strstr(b, want));
        FY_ASSERT_EQ(records_in(cJSON_GetArrayItem(ra, i)), 1);
        FY_ASSERT_STR(hdr(cJSON_GetArrayItem(ra, i), "x-device"), "lane");
        free(b);
    }
    cJSON_Delete(ra);
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* the host must be literal; unknown fields are configuration errors */
    expect_config_error("url: https://{deviceId}.example.com/in\n", "host must be literal");
    expect_config_error("url: https://example.com/{devEui}\n", "unknown field '{devEui}'");
    expect_config_error("url: https://example.com/in\nheaders.X-A: \"{nope}\"\n",
                        "unknown field '{nope}'");
}

/* compression: gzip: Content-Encoding set, the server decodes the batch back to the records. */
static void test_gzip(void)
{
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    cJSON *reqs;

    memset(&s, 0, sizeof(s));
    snk = make(&s, "/ok/gzip", "compression: gzip\nbatch_max_records: 8\n", &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 8, 10000);
    FY_ASSERT_EQ(s.ok, 8);
    reqs = requests("/ok/gzip");
    FY_ASSERT_EQ(cJSON_GetArraySize(reqs), 1);
    if (cJSON_GetArraySize(reqs) == 1) {
        FY_ASSERT_STR(hdr(cJSON_GetArrayItem(reqs, 0), "content-encoding"), "gzip");
        FY_ASSERT_EQ(records_in(cJSON_GetArrayItem(reqs, 0)), 8);
    }
    cJSON_Delete(reqs);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* The SSRF guard: without allow_private_networks no connection to loopback (or any internal
 * address) is opened, whatever the URL spells; the failure is a RETRY that says why. */
static void test_ssrf_guard(void)
{
    static const char *const skip[] = {"name", "type", NULL};
    /* since the guard reads URLs with curl_url(), the octal and hex forms curl itself
     * normalizes (0177.0.0.1, 0x7f000001) and user-info (u@10.0.0.1) are caught here too */
    static const char *const literal[] = {"127.0.0.1", "127.5.5.5", "[::1]",
                                          "[::ffff:127.0.0.1]", "10.1.2.3", "169.254.169.254",
                                          "[fd00::1]", "0177.0.0.1", "0x7f000001", "u@10.0.0.1"};
    /* names (and numeric forms only curl reads as IPv4), checked after resolution; only
     * loopback addresses here, so that a broken guard could not send anything off this host.
     * The classification of every other range is unit-tested (test_ssrf.c). */
    static const char *const hosts[] = {"localhost",     "hook.test/127.0.0.1",
                                        "hook.test/::1", "hook.test/::ffff:127.0.0.1",
                                        "hook.test/0.0.0.0"};
    size_t k;

    /* an internal IP literal is a configuration error (ferry check) */
    for (k = 0; k < sizeof(literal) / sizeof(literal[0]); k++) {
        char y[256];
        snprintf(y, sizeof(y), "url: https://%s:%d/ok/ssrf\n", literal[k], port);
        expect_config_error(y, "SSRF guard");
    }
    /* a name is checked after DNS, at connection time: refused, nothing sent */
    for (k = 0; k < sizeof(hosts) / sizeof(hosts[0]); k++) {
        struct seen s;
        struct fy_err err = {0};
        struct fy_node *root;
        struct fy_sink *snk;
        cJSON *reqs;
        char y[512];

        const char *slash = strchr(hosts[k], '/');
        char host[64];

        memset(&s, 0, sizeof(s));
        snprintf(host, sizeof(host), "%.*s", slash ? (int)(slash - hosts[k]) : 63, hosts[k]);
        snprintf(y, sizeof(y), "name: h\ntype: webhook\nurl: https://%s:%d/ok/ssrf\n"
                 "ca_file: %s\nbatch_max_wait_ms: 10\nconnect_timeout_ms: 2000\n", host, port,
                 ca_path);
        if (slash != NULL) { /* CURLOPT_RESOLVE: the name maps to this address */
            snprintf(y + strlen(y), sizeof(y) - strlen(y), "resolve.%s:%d: \"%s\"\n", host, port,
                     slash + 1);
        }
        root = fy_conf_parse(y, strlen(y), "t.yaml", &err);
        snk = fy_sink_create(fy_sink_plugin_find("webhook"), "h", root, skip, 0, on_complete,
                             &s, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
        run(snk, &s, 0, 1, 10000);
        FY_ASSERT_EQ(s.reject, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "ssrf_blocked"));
        if (strstr(s.reason[0], "internal address") == NULL) {
            fprintf(stderr, "\n%s: %s\n", hosts[k], s.reason[0]);
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "internal address"));
        CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "allow_private_networks"));
        fy_sink_destroy(snk);
        fy_conf_free(root);
        reqs = requests("/ok/ssrf");
        FY_ASSERT_EQ(cJSON_GetArraySize(reqs), 0); /* nothing reached the server */
        cJSON_Delete(reqs);
    }
}

/* ---- OAuth2 (the test server's /token issues tokens, /protected checks them) ---- */

static int count_requests(const char *path)
{
    cJSON *r = requests(path);
    int n = cJSON_GetArraySize(r);

    cJSON_Delete(r);
    return n;
}

static struct fy_sink *make_oauth(struct seen *s, const char *path, const char *auth,
                                  struct fy_node **root, struct fy_err *err)
{
    char extra[1024];

    memset(s, 0, sizeof(*s));
    snprintf(extra, sizeof(extra), "batch_max_records: 2\n%s", auth);
    return make(s, path, extra, root, err);
}

/* Client credentials: one token for many batches, client_secret_basic and _post, a 401
 * mid-stream (revoked tokens) answered by one new token and a resend, nothing lost. */
static void test_oauth_client_credentials(void)
{
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    cJSON *reqs;
    char auth[512];
    int k;

    snprintf(auth, sizeof(auth), "auth: oauth2_client_credentials\n"
             "token_url: https://127.0.0.1:%d/token\nclient_id: ferry\n"
             "client_secret: s3cret-client\nscope: push\n", port);
    snk = make_oauth(&s, "/protected/cc", auth, &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 10, 10000);
    FY_ASSERT_EQ(s.ok, 10);
    FY_ASSERT_EQ(count_requests("/token"), 1); /* cached for every batch */
    reqs = requests("/protected/cc");
    FY_ASSERT_EQ(cJSON_GetArraySize(reqs), 5);
    for (k = 0; k < cJSON_GetArraySize(reqs); k++) {
        const char *a = hdr(cJSON_GetArrayItem(reqs, k), "authorization");
        CU_ASSERT_TRUE(a != NULL && strncmp(a, "Bearer at-", 10) == 0);
    }
    cJSON_Delete(reqs);
    reqs = requests("/token");
    if (cJSON_GetArraySize(reqs) == 1) { /* client_secret_basic, form has grant and scope */
        size_t len;
        char *body = body_of(cJSON_GetArrayItem(reqs, 0), &len);
        const char *a = hdr(cJSON_GetArrayItem(reqs, 0), "authorization");
        CU_ASSERT_TRUE(a != NULL && strncmp(a, "Basic ", 6) == 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(body, "grant_type=client_credentials"));
        CU_ASSERT_PTR_NOT_NULL(strstr(body, "scope=push"));
        CU_ASSERT_PTR_NULL(strstr(body, "s3cret-client"));
        free(body);
    }
    cJSON_Delete(reqs);

    /* every token revoked: the next batch gets a 401, a new token, and goes through */
    FY_ASSERT_EQ(fy_h_sh("curl -s --cacert '%s' -X POST https://127.0.0.1:%d/revoke >/dev/null",
                         ca_path, port), 0);
    run(snk, &s, 10, 4, 10000);
    FY_ASSERT_EQ(s.ok, 14);
    FY_ASSERT_EQ(s.retry, 0);
    FY_ASSERT_EQ(count_requests("/token"), 2);
    /* both batches were in flight with the revoked token: each sent twice, one new token */
    FY_ASSERT_EQ(count_requests("/protected/cc"), 5 + 2 + 2);
    fy_sink_destroy(snk);
    fy_conf_free(root);

    /* client_secret_post: the credentials in the form, no Basic header */
    snprintf(auth, sizeof(auth), "auth: oauth2_client_credentials\n"
             "token_url: https://127.0.0.1:%d/token?post=1\nclient_id: ferry\n"
             "client_secret: s3cret-client\nclient_auth: post\n", port);
    snk = make_oauth(&s, "/protected/post", auth, &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 2, 10000);
    FY_ASSERT_EQ(s.ok, 2);
    reqs = requests("/token?post=1");
    FY_ASSERT_EQ(cJSON_GetArraySize(reqs), 1);
    if (cJSON_GetArraySize(reqs) == 1) {
        size_t len;
        char *body = body_of(cJSON_GetArrayItem(reqs, 0), &len);
        CU_ASSERT_PTR_NULL(hdr(cJSON_GetArrayItem(reqs, 0), "authorization"));
        CU_ASSERT_PTR_NOT_NULL(strstr(body, "client_secret=s3cret-client"));
        free(body);
    }
    cJSON_Delete(reqs);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* Tokens that live 2 s: a new one is fetched before the old one expires, so the endpoint
 * never answers 401 (every batch is one request). */
static void test_oauth_expiry(void)
{
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    char auth[512];
    int k;

    snprintf(auth, sizeof(auth), "auth: oauth2_client_credentials\n"
             "token_url: https://127.0.0.1:%d/token?ttl=2\nclient_id: ferry\n"
             "client_secret: s3cret-client\nbatch_max_records: 1\n", port);
    memset(&s, 0, sizeof(s));
    snk = make(&s, "/protected/expiry", auth, &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    for (k = 0; k < 10; k++) {
        run(snk, &s, k, 1, 10000);
        usleep(500000);
    }
    FY_ASSERT_EQ(s.ok, 10);
    FY_ASSERT_EQ(s.retry, 0);
    FY_ASSERT_EQ(count_requests("/protected/expiry"), 10); /* no 401 and resend */
    k = count_requests("/token?ttl=2");
    CU_ASSERT_TRUE(k >= 3 && k <= 6); /* ~5.5 s of 2 s tokens renewed at 1.8 s */
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* A wrong client secret: every batch is a RETRY whose reason names the token endpoint and
 * its error, never the secret; nothing is sent to the endpoint without a token. */
static void test_oauth_bad_secret(void)
{
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    char auth[512];

    snprintf(auth, sizeof(auth), "auth: oauth2_client_credentials\n"
             "token_url: https://127.0.0.1:%d/token?bad=1\nclient_id: ferry\n"
             "client_secret: canary-Zq81-not-this\n", port);
    snk = make_oauth(&s, "/protected/bad", auth, &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 1, 10000);
    FY_ASSERT_EQ(s.retry, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "token endpoint"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "HTTP 401: invalid_client"));
    CU_ASSERT_PTR_NULL(strstr(s.reason[0], "canary-Zq81"));
    FY_ASSERT_EQ(count_requests("/protected/bad"), 0);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* Refresh tokens rotate: each is usable once. The new one is kept in oauth_state_file (mode
 * 0600), so a restarted sink whose configuration still holds the first, used-up refresh token
 * keeps working; without the state file the same configuration fails with invalid_grant. */
static void test_oauth_refresh_rotation(void)
{
    struct seen s;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    char auth[768], state[300], *txt;
    struct stat sb;
    size_t len = 0;
    int round;

    snprintf(state, sizeof(state), "%s/oauth-state.json", dir);
    snprintf(auth, sizeof(auth), "auth: oauth2_refresh_token\n"
             "token_url: https://127.0.0.1:%d/token\nclient_id: ferry\n"
             "client_secret: s3cret-client\nrefresh_token: rt-initial\n"
             "oauth_state_file: %s\n", port, state);
    for (round = 0; round < 2; round++) { /* the second round is a restart */
        snk = make_oauth(&s, "/protected/refresh", auth, &root, &err);
        if (snk == NULL) {
            fprintf(stderr, "\n%s\n", err.msg);
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
        run(snk, &s, 0, 4, 10000);
        FY_ASSERT_EQ(s.ok, 4);
        fy_sink_destroy(snk);
        fy_conf_free(root);
        CU_ASSERT_EQUAL_FATAL(stat(state, &sb), 0);
        FY_ASSERT_EQ(sb.st_mode & 0777, 0600);
        txt = fy_file_read(state, 4096, &len, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(txt);
        CU_ASSERT_PTR_NULL(strstr(txt, "rt-initial"));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "\"rt-"));
        free(txt);
    }
    /* the same configuration without the state file: rt-initial is used up */
    snprintf(auth, sizeof(auth), "auth: oauth2_refresh_token\n"
             "token_url: https://127.0.0.1:%d/token\nclient_id: ferry\n"
             "client_secret: s3cret-client\nrefresh_token: rt-initial\n"
             "oauth_state_file: %s.other\n", port, state);
    snk = make_oauth(&s, "/protected/refresh", auth, &root, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    run(snk, &s, 0, 1, 10000);
    FY_ASSERT_EQ(s.retry, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason[0], "invalid_grant"));
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

static void test_oauth_config(void)
{
    static const char *const url = "url: https://hooks.example.com/in\n";
    static const char *const bad[][2] = {
        {"auth: oauth2_client_credentials\ntoken_url: https://a.example/t\nclient_id: x\n",
         "needs token_url, client_id and client_secret"},
        {"auth: oauth2_client_credentials\ntoken_url: http://a.example/t\nclient_id: x\n"
         "client_secret: y\n", "token_url 'http://a.example/t': https:// required"},
        {"auth: oauth2_refresh_token\ntoken_url: https://a.example/t\nclient_id: x\n"
         "refresh_token: r\n", "needs token_url, client_id, refresh_token and oauth_state_file"},
        {"client_id: x\n", "only used with auth: oauth2_client_credentials"},
    };
    size_t k;

    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char y[512];
        snprintf(y, sizeof(y), "%s%s", url, bad[k][0]);
        expect_config_error(y, bad[k][1]);
    }
}

/* One endpoint that never answers does not slow another: both sinks are driven together, the
 * healthy one delivers all its records while the dead one is still waiting. */
static void test_isolation(void)
{
    struct seen a, b;
    struct fy_err err = {0};
    struct fy_node *ra = NULL, *rb = NULL;
    struct fy_sink *dead, *good;
    struct fy_record rec = {0};
    char body[128], id[40];
    int i, polls = 0;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    dead = make(&a, "/hang", "timeout_ms: 20000\nbatch_max_records: 1\n", &ra, &err);
    good = make(&b, "/ok/isolation", "batch_max_records: 10\n", &rb, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dead);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    rec.rec_type = "io.test";
    rec.event_type = "create";
    for (i = 0; i < MAXT; i++) {
        snprintf(body, sizeof(body), "{\"n\":%d}", i);
        snprintf(id, sizeof(id), "%032d", i);
        rec.id = id;
        rec.key = id; /* a device each: lanes do not hold them back */
        rec.body = body;
        rec.body_len = strlen(body);
        if (i < 4) {
            fy_sink_submit(dead, &rec, "", (uint64_t)i);
        }
        while (fy_sink_submit(good, &rec, "", (uint64_t)i) == FY_EAGAIN) {
            fy_sink_poll(good, 5);
            fy_sink_poll(dead, 0);
        }
    }
    while (b.ok < MAXT && polls++ < 500) {
        fy_sink_poll(good, 10);
        fy_sink_poll(dead, 0);
    }
    FY_ASSERT_EQ(b.ok, MAXT);          /* the healthy endpoint got everything */
    FY_ASSERT_EQ(a.ok + a.retry + a.reject, 0); /* the dead one is still waiting */
    fy_sink_destroy(dead);
    fy_sink_destroy(good);
    fy_conf_free(ra);
    fy_conf_free(rb);
}


/* What the receiver's log says about the requests to one path (tests/support/https_server.py
 * /flaky: every request in the order the receiver decided it, with its status). */
struct flaky_log {
    struct fy_h_kmsg *acc;   /* records of the 200 answers, in order of acceptance */
    size_t n_acc, cap;
    size_t requests, sent;   /* requests, records in them */
    size_t failed, held;     /* records in 500 answers, in held (maybe timed-out) requests */
    double t_last_new;       /* receiver time of the request that brought a new record */
};

static void flaky_read(const char *path, struct flaky_log *fl, unsigned devices,
                       uint32_t per_device, size_t *unique)
{
    FILE *f = fopen(log_path, "r");
    size_t max = 16 << 20, n_unique = 0;
    char *line = malloc(max);
    unsigned char *seen = calloc((size_t)devices * per_device, 1);

    fy_h_kmsgs_free(fl->acc, fl->n_acc);
    memset(fl, 0, sizeof(*fl));
    fl->cap = 1024;
    fl->acc = calloc(fl->cap, sizeof(*fl->acc));
    while (f != NULL && line != NULL && fgets(line, (int)max, f) != NULL) {
        cJSON *req = cJSON_Parse(line), *arr = NULL, *e;
        const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItem(req, "body"));
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(req, "path"));
        int status = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(req, "status"));
        int held = cJSON_IsTrue(cJSON_GetObjectItem(req, "held"));
        size_t blen = 0, k = 0;
        char *body;

        if (p == NULL || strcmp(p, path) != 0 || b64 == NULL) {
            cJSON_Delete(req);
            continue;
        }
        body = (char *)fy_b64_decode(b64, strlen(b64), &blen);
        arr = body != NULL ? cJSON_ParseWithLength(body, blen) : NULL;
        fl->requests++;
        cJSON_ArrayForEach(e, arr)
        {
            char *v = cJSON_PrintUnformatted(e);
            const char *d = strstr(v, "\"devEUI\":\"70b3d57ed0"), *c = strstr(v, "\"fCnt\":");
            unsigned dev = 0;
            long long fcnt = -1;
            k++;
            if (status != 200) {
                free(v);
                continue;
            }
            if (d != NULL && c != NULL && sscanf(d + 20, "%6x", &dev) == 1 &&
                sscanf(c + 7, "%lld", &fcnt) == 1 && dev < devices && fcnt >= 0 &&
                fcnt < per_device && seen[(size_t)dev * per_device + (size_t)fcnt]++ == 0) {
                n_unique++;
                fl->t_last_new = cJSON_GetNumberValue(cJSON_GetObjectItem(req, "t"));
            }
            if (fl->n_acc == fl->cap) {
                fl->cap *= 2;
                fl->acc = realloc(fl->acc, fl->cap * sizeof(*fl->acc));
            }
            memset(&fl->acc[fl->n_acc], 0, sizeof(fl->acc[0]));
            fl->acc[fl->n_acc].value = v;
            fl->acc[fl->n_acc].key = strdup("");
            fl->n_acc++;
        }
        fl->sent += k;
        fl->failed += status == 500 ? k : 0;
        fl->held += held ? k : 0;
        cJSON_Delete(arr);
        free(body);
        cJSON_Delete(req);
    }
    if (f != NULL) {
        fclose(f);
    }
    free(line);
    free(seen);
    *unique = n_unique;
}

/* Ferry with a webhook sink (batches of 100, parallel: 4, timeout_ms: 2000) in front of a
 * receiver that answers 500 to 20% of the requests and holds 5% for 3 s (past the time-out,
 * after accepting them): uplinks of 50 devices (FERRY_LANES_N, default 2,000). Nothing lost;
 * per device the accepted records in order (a device's later record is never in flight while
 * its earlier one is unaccepted); a failed request alone is sent again, so the records sent
 * are at most the uplinks plus the records of the failed and held requests, and duplicates
 * come only from the held ones. */
static void test_flaky_receiver_order(void)
{
    static const char path[] = "/flaky/7/20/5/3000";
    const unsigned devices = 50;
    const long total = fy_h_knob("FERRY_LANES_N", 2000);
    const uint32_t per_device = (uint32_t)(total / devices);
    const char *url, *brokers;
    char yaml[4096], args[256];
    struct fy_h_ferry h;
    struct flaky_log fl = {0};
    struct fy_h_oracle o;
    struct timeval tv;
    size_t unique = 0, missing;
    double t_puback;
    int64_t waited = 0;
    pid_t pub;

    if (fy_h_services(&url, &brokers) != 0) {
        CU_FAIL("services not running");
        return;
    }
    snprintf(yaml, sizeof(yaml),
             "journal: {dir: \"@DIR@/journal\"}\n"
             "sources:\n"
             "  - {name: ns, type: mqtt, url: \"%s\", client_id: \"%s\",\n"
             "     topics: [\"v3/+/devices/+/up\"]}\n"
             "sinks:\n"
             "  - {name: hook, type: webhook, url: \"https://127.0.0.1:%d%s\",\n"
             "     ca_file: \"%s\", batch_max_records: 100, batch_max_wait_ms: 200,\n"
             "     parallel: 4, timeout_ms: 2000, allow_private_networks: true}\n"
             "routes:\n"
             "  - {match: \"v3/+/devices/+/up\", format: tts-v3, recType: io.test, sinks: [hook]}\n",
             url, fy_h_unique("it-whlanes"), port, path, ca_path);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 1 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %ld --devices %u --format tts --qos 1 --rate 2000",
             (long)per_device * devices, devices);
    pub = fy_h_loadgen_start(url, args);
    FY_ASSERT_EQ(fy_h_wait_pid(pub, fy_h_ms(300000)), 0);
    gettimeofday(&tv, NULL);
    t_puback = (double)tv.tv_sec + (double)tv.tv_usec / 1e6; /* the last PUBACK */
    /* until every uplink was accepted once (bounded: 60 s + 20 ms per uplink) */
    while (waited < fy_h_ms(60000 + (int)total * 20)) {
        flaky_read(path, &fl, devices, per_device, &unique);
        if (unique == (size_t)per_device * devices) {
            break;
        }
        sleep(1);
        waited += 1000;
    }
    sleep(3); /* a request held at the end still answers, or times out and is sent again */
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    flaky_read(path, &fl, devices, per_device, &unique);
    missing = fy_h_oracle_check(fl.acc, fl.n_acc, devices, 0, per_device, &o);
    printf("\n  flaky receiver (500 for 20%%, 5%% held 3 s > timeout 2 s), %u devices: %ld "
           "uplinks, %zu records sent in %zu requests (%zu in 500s, %zu held), %zu accepted, "
           "%zu duplicates, %zu order violations, %zu missing, last new record %.1f s after "
           "the last PUBACK\n", devices, (long)per_device * devices, fl.sent, fl.requests,
           fl.failed, fl.held, o.received, o.duplicates, o.order_violations, missing,
           fl.t_last_new - t_puback);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.foreign, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    /* a record is accepted twice only when a request was held past the time-out */
    CU_ASSERT_TRUE(o.duplicates <= fl.held);
    /* only failed requests are sent again: nothing that was accepted goes a second time
     * unless its request's outcome was unknown */
    CU_ASSERT_TRUE(fl.sent <= (size_t)per_device * devices + fl.failed + fl.held);
    fy_h_kmsgs_free(fl.acc, fl.n_acc);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("webhook", setup, teardown);

    if (s == NULL ||
        CU_add_test(s, "batches, Basic auth, headers, signature", test_batch_auth_signature) ==
            NULL ||
        CU_add_test(s, "ndjson, smartclean, single bodies", test_formats) == NULL ||
        CU_add_test(s, "500, 429, 400, 413, time-out", test_outcomes) == NULL ||
        CU_add_test(s, "certificate check and http://", test_tls_and_config) == NULL ||
        CU_add_test(s, "a dead endpoint does not slow another", test_isolation) == NULL ||
        CU_add_test(s, "URL and header templates", test_templates) == NULL ||
        CU_add_test(s, "gzip bodies", test_gzip) == NULL ||
        CU_add_test(s, "SSRF guard", test_ssrf_guard) == NULL ||
        CU_add_test(s, "OAuth2 client credentials, 401 mid-stream", test_oauth_client_credentials) ==
            NULL ||
        CU_add_test(s, "OAuth2 token expiry", test_oauth_expiry) == NULL ||
        CU_add_test(s, "OAuth2 wrong client secret", test_oauth_bad_secret) == NULL ||
        CU_add_test(s, "OAuth2 refresh token rotation across restarts",
                    test_oauth_refresh_rotation) == NULL ||
        CU_add_test(s, "OAuth2 configuration errors", test_oauth_config) == NULL) {
        return -1;
    }
    /* its own suite: FERRY_TEST_SUITE=webhook-lanes runs it alone (FERRY_LANES_N=10000) */
    s = CU_add_suite("webhook-lanes", setup, teardown);
    if (s == NULL ||
        CU_add_test(s, "flaky receiver: per-device order, only failed requests again",
                    test_flaky_receiver_order) == NULL) {
        return -1;
    }
    return 0;
}
