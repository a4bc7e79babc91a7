/* source-http.c - the source kit applied to the http source: publish is a real libcurl POST to
 * the source's own listener (no broker involved; the "remote" is the client, so the
 * reconnect check (d) does not apply and is skipped). The "remote" that holds a message until
 * it is stored is a retrying client: publish hands the message to a client thread that POSTs
 * until it gets 202 (on 503 or a refused connection it retries), as docs/sources/http.md asks
 * of clients. A 202 therefore means stored; the kit's counts check nothing was lost or doubled. */
#include "core/log.h"
#include "tests/conformance/source_kit.h"
#include "tests/integration/harness.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int init_integration_tests(void);

#define KEY "kit-api-key-0123456789"

static char url[128], yaml[1024];

static size_t sink_body(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static atomic_int in_flight;

/* One POST; the HTTP status, or 0 when no answer came. */
static long post_once(const char *payload, size_t len)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    long code = 0;

    if (c == NULL) {
        return 0;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Authorization: Bearer " KEY);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

struct pub {
    char payload[64];
    size_t len;
};

/* The client a REST source is written for: it retries on 503 and on a refused connection
 * (the source stopped) until it gets 202, for up to 60 s. */
static void *client(void *arg)
{
    struct pub *p = arg;
    int i;

    for (i = 0; i < 1200 && post_once(p->payload, p->len) != 202; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    free(p);
    atomic_fetch_sub(&in_flight, 1);
    return NULL;
}

/* The remote "takes" message id once a retrying client owns it: publish returns at once,
 * the client thread delivers it whenever the source answers 202. */
static int publish(void *arg, int id)
{
    struct pub *p = malloc(sizeof(*p));
    pthread_t t;

    (void)arg;
    if (p == NULL) {
        return -1;
    }
    p->len = fy_source_kit_payload(id, p->payload, sizeof(p->payload));
    atomic_fetch_add(&in_flight, 1);
    if (pthread_create(&t, NULL, client, p) != 0) {
        atomic_fetch_sub(&in_flight, 1);
        free(p);
        return -1;
    }
    pthread_detach(t);
    return 0;
}

static int teardown(void)
{
    int i;

    for (i = 0; i < 1300 && atomic_load(&in_flight) > 0; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int setup(void)
{
    int port = fy_h_free_port();

    if (port < 0) {
        return -1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/stream/v0/data/kit", port);
    /* emit_wait_ms 300: a paused or full source answers 503 soon; the client retries */
    snprintf(yaml, sizeof(yaml), "listen: 127.0.0.1:%d\nemit_wait_ms: 300\nrate_per_s: 100000\n"
             "rate_burst: 100000\nstreams:\n  - id: kit\n    api_key: %s\n", port, KEY);
    return 0;
}

static struct fy_source_kit kit(void)
{
    struct fy_source_kit k = {"http", yaml, publish, NULL, 40, 15000, NULL, 0};
    return k;
}

static void test_options(void)
{
    struct fy_source_kit k = kit();
    CU_ASSERT_EQUAL(fy_source_kit_option_errors(&k), 0);
}

static void test_deliver(void)
{
    struct fy_source_kit k = kit();
    CU_ASSERT_EQUAL(fy_source_kit_deliver(&k), 0);
}

static void test_pause(void)
{
    struct fy_source_kit k = kit();
    CU_ASSERT_EQUAL(fy_source_kit_pause(&k), 0);
}

static void test_ack(void)
{
    struct fy_source_kit k = kit();
    CU_ASSERT_EQUAL(fy_source_kit_ack(&k), 0);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-source-http", setup, teardown);

    fy_log_setup(FY_LOG_WARN, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (s == NULL || CU_add_test(s, "option errors with FILE:LINE:COL", test_options) == NULL ||
        CU_add_test(s, "every message once; start/stop/start; no emit after stop",
                    test_deliver) == NULL ||
        CU_add_test(s, "pause: no emit; resume: all arrive", test_pause) == NULL ||
        CU_add_test(s, "ack only after FY_OK: FY_EAGAIN retried, FY_EIO answered 503",
                    test_ack) == NULL) {
        return -1;
    }
    return 0;
}
