/* 21-e2e-rest.c - the http source end to end: Ferry with a REST listener and a file sink,
 * driven by libcurl. Status codes of the contract (docs/sources/http.md), then kill -9 of Ferry
 * during a REST load: every record that got a 202 must be in the sink after a restart (lost 0).
 * Records: FERRY_REST_RECORDS (default 2000). No fake: the real binary, real HTTP. */
#include "core/b64.h"
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int init_integration_tests(void);

#define KEY "rest-api-key-0123456789"
#define SECRET "hs256-secret-for-the-e2e-test-0123456789"

static char base[128], retry_after[32];

static size_t keep_header(char *p, size_t size, size_t n, void *arg)
{
    (void)arg;
    if (size * n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        snprintf(retry_after, sizeof(retry_after), "%.*s", (int)(size * n - 12), p + 12);
    }
    return size * n;
}

static size_t keep_body(char *p, size_t size, size_t n, void *arg)
{
    char *out = arg;
    size_t have = strlen(out), k = size * n;

    if (have + k < 512) {
        memcpy(out + have, p, k);
        out[have + k] = '\0';
    }
    return size * n;
}

/* POST body to path; the status (0 when no answer) and the body in out (512 bytes). */
static long post(const char *path, const char *auth, const char *ctype, const char *body,
                 size_t len, char *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[300], line[9000], dummy[512] = "";
    long code = 0;

    if (out == NULL) {
        out = dummy;
    }
    out[0] = '\0';
    retry_after[0] = '\0';
    snprintf(url, sizeof(url), "%s%s", base, path);
    snprintf(line, sizeof(line), "Content-Type: %s", ctype);
    h = curl_slist_append(h, line);
    if (auth != NULL) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", auth);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

static void b64url(const void *p, size_t n, char *out)
{
    char *s = fy_b64_encode(p, n);
    size_t i, j = 0;

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] != '=') {
            out[j++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
        }
    }
    out[j] = '\0';
    free(s);
}

/* An HS256 (or header alg) token over claims, signed with secret. */
static void token(char *out, const char *alg, const char *claims, const char *secret)
{
    char hdr[64], h64[128], c64[512], sig[128], input[700];
    uint8_t mac[32];
    unsigned ml = 0;

    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    b64url(hdr, strlen(hdr), h64);
    b64url(claims, strlen(claims), c64);
    snprintf(input, sizeof(input), "%s.%s", h64, c64);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)input, strlen(input), mac,
         &ml);
    b64url(mac, ml, sig);
    snprintf(out, 1024, "%s.%s", input, strcmp(alg, "none") == 0 ? "" : sig);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    if (b != NULL && fread(b, 1, (size_t)n, f) == (size_t)n) {
        b[n] = '\0';
    }
    fclose(f);
    return b;
}

static void config(char *yaml, size_t size, int port, const char *pem_path)
{
    snprintf(yaml, size,
             "log_level: info\n"
             "journal:\n"
             "  dir: @DIR@/journal\n"
             "sources:\n"
             "  - name: rest\n"
             "    type: http\n"
             "    listen: 127.0.0.1:%d\n"
             "    max_body: 4096\n"
             "    rate_per_s: 1\n"
             "    rate_burst: 3\n"
             "    streams:\n"
             "      - id: load\n"
             "        api_key: " KEY "\n"
             "        rate_per_s: 100000\n"
             "        rate_burst: 100000\n"
             "      - id: jwt\n"
             "        jwt_alg: HS256\n"
             "        jwt_key: " SECRET "\n"
             "        jwt_iss: e2e\n"
             "      - id: rs\n"
             "        jwt_alg: RS256\n"
             "        jwt_key: \"${file:%s}\"\n"
             "      - id: other\n"
             "        api_key: other-key-0123456789abcdef\n"
             "sinks:\n"
             "  - name: files\n"
             "    type: file\n"
             "    dir: @DIR@/out\n"
             "    path: all.ndjson\n"
             "routes:\n"
             "  - name: rest\n"
             "    match: rest/+\n"
             "    format: generic-json\n"
             "    recType: io.test.rest\n"
             "    sinks: [files]\n",
             port, pem_path);
}

static struct fy_h_ferry ferry;
static char pem[300];

static void test_statuses(void)
{
    char yaml[4096], tok[1024], body[512], claims[256], big[6000], *pubpem;
    int port = fy_h_free_port();
    long now = (long)time(NULL), code;
    int i, got429 = 0;

    snprintf(pem, sizeof(pem), "/tmp/ferry-21-%d.pem", (int)getpid());
    FY_ASSERT_EQ(fy_h_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null"
                         " | openssl pkey -pubout -out '%s' 2>/dev/null", pem), 0);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    config(yaml, sizeof(yaml), port, pem);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&ferry, yaml), 0);

    snprintf(claims, sizeof(claims), "{\"iss\":\"e2e\",\"exp\":%ld}", now + 600);
    token(tok, "HS256", claims, SECRET);
    FY_ASSERT_EQ(post("/stream/v0/data/jwt", tok, "application/json",
                      "{\"devEUI\":\"00000000000000ff\"}", 29, body), 202);
    token(tok, "HS256", claims, "the-wrong-secret-0123456789abcdef0123");
    FY_ASSERT_EQ(post("/stream/v0/data/jwt", tok, "application/json", "{}", 2, body), 401);
    snprintf(claims, sizeof(claims), "{\"iss\":\"e2e\",\"exp\":%ld}", now - 3600);
    token(tok, "HS256", claims, SECRET);
    FY_ASSERT_EQ(post("/stream/v0/data/jwt", tok, "application/json", "{}", 2, body), 401);
    FY_ASSERT(strstr(body, "expired") != NULL);
    snprintf(claims, sizeof(claims), "{\"iss\":\"e2e\",\"exp\":%ld}", now + 600);
    token(tok, "none", claims, SECRET);
    FY_ASSERT_EQ(post("/stream/v0/data/jwt", tok, "application/json", "{}", 2, body), 401);
    /* HS/RS confusion: HS256 signed with the RS256 public key's PEM text */
    pubpem = slurp(pem);
    CU_ASSERT_FATAL(pubpem != NULL);
    token(tok, "HS256", claims, pubpem);
    free(pubpem);
    FY_ASSERT_EQ(post("/stream/v0/data/rs", tok, "application/json", "{}", 2, body), 401);
    FY_ASSERT(strstr(body, "algorithm") != NULL);
    /* 403: a valid key of another stream */
    FY_ASSERT_EQ(post("/stream/v0/data/jwt", KEY, "application/json", "{}", 2, body), 403);
    /* 413, 400 with offset, NDJSON line, 415 */
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    FY_ASSERT_EQ(post("/stream/v0/data/load", KEY, "application/json", big, strlen(big), body),
                 413);
    FY_ASSERT_EQ(post("/stream/v0/data/load", KEY, "application/json", "{\"a\":1,,}", 9, body),
                 400);
    FY_ASSERT(strstr(body, "\"offset\":8") != NULL);
    FY_ASSERT_EQ(post("/stream/v0/data/load", KEY, "application/x-ndjson", "{}\n{}\n{x\n", 9,
                      body), 400);
    FY_ASSERT(strstr(body, "\"line\":3") != NULL);
    FY_ASSERT_EQ(post("/stream/v0/data/load", KEY, "text/plain", "hi", 2, body), 415);
    FY_ASSERT_EQ(post("/stream/v0/data/load", KEY, "application/xml", "<a/>", 4, body), 415);
    /* 429 with Retry-After from the token bucket (burst 3, 1/s) */
    for (i = 0; i < 8 && !got429; i++) {
        code = post("/stream/v0/data/other", "other-key-0123456789abcdef", "application/json",
                    "{}", 2, body);
        if (code == 429) {
            got429 = 1;
            FY_ASSERT(strtol(retry_after, NULL, 10) >= 1);
        }
    }
    FY_ASSERT(got429);
    FY_ASSERT(!fy_h_log_contains(&ferry, SECRET));
    FY_ASSERT(!fy_h_log_contains(&ferry, KEY));
}

struct load {
    int n;
    int *acked;
    atomic_int done;
};

static void *loader(void *arg)
{
    struct load *l = arg;
    char rec[64];
    int i;

    for (i = 0; i < l->n; i++) {
        int len = snprintf(rec, sizeof(rec), "{\"devEUI\":\"%016x\"}", i + 1);
        l->acked[i] = post("/stream/v0/data/load", KEY, "application/json", rec, (size_t)len,
                           NULL) == 202;
    }
    atomic_store(&l->done, 1);
    return NULL;
}

static void test_kill9(void)
{
    struct load l;
    pthread_t t;
    char path[400], needle[40], *out = NULL;
    int i, w, acked = 0, lost = 0;

    l.n = (int)fy_h_knob("FERRY_REST_RECORDS", 2000);
    l.acked = calloc((size_t)l.n, sizeof(int));
    atomic_store(&l.done, 0);
    CU_ASSERT_FATAL(l.acked != NULL);
    pthread_create(&t, NULL, loader, &l);
    fy_h_ms(1500);
    FY_ASSERT_EQ(fy_h_ferry_stop(&ferry, SIGKILL, 5000), 128 + SIGKILL);
    fy_h_ms(300);
    FY_ASSERT_EQ(fy_h_ferry_restart(&ferry), 0);
    pthread_join(t, NULL);
    snprintf(path, sizeof(path), "%s/out/all.ndjson", ferry.dir);
    /* delivery to the sink is asynchronous (journal first): wait up to 20 s for the sink to
     * catch up before counting */
    for (w = 0; w < 100; w++) {
        acked = lost = 0;
        out = slurp(path);
        for (i = 0; out != NULL && i < l.n; i++) {
            if (!l.acked[i]) {
                continue;
            }
            acked++;
            snprintf(needle, sizeof(needle), "\"%016x\"", i + 1);
            if (strstr(out, needle) == NULL) {
                if (lost++ < 5 && w == 99) {
                    fprintf(stderr, "  21-e2e-rest: record %d (202) not in the sink\n", i + 1);
                }
            }
        }
        free(out);
        if (acked > 0 && lost == 0) {
            break;
        }
        fy_h_ms(200);
    }
    FY_ASSERT_EQ(fy_h_ferry_stop(&ferry, SIGTERM, 30000), 0);
    fprintf(stderr, "\n  21-e2e-rest: %d records, %d answered 202, lost %d\n", l.n, acked, lost);
    FY_ASSERT(acked > 0);
    FY_ASSERT_EQ(lost, 0);
    free(l.acked);
    unlink(pem);
    if (lost == 0) {
        fy_h_ferry_cleanup(&ferry);
    } else {
        fprintf(stderr, "  21-e2e-rest: kept %s for inspection\n", ferry.dir);
    }
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("21-e2e-rest", NULL, NULL);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (s == NULL || CU_add_test(s, "status codes of the REST contract", test_statuses) == NULL ||
        CU_add_test(s, "kill -9 during a REST load: every 202 is in the sink", test_kill9) ==
            NULL) {
        return -1;
    }
    return 0;
}
