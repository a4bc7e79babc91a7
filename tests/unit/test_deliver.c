/* test_deliver.c - the core retry policy: backoff schedule, Retry-After parsing, and endpoint
 * health (healthy -> failing -> disabled with probing -> healthy) driven through a real journal
 * and the real webhook sink: first against a closed loopback port (connection refused), then
 * against a minimal HTTP/1.1 responder on that port (plain http with allow_insecure; the
 * webhook's TLS paths have their own tests against a real HTTPS server). */
#include "bridge/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/record.h"
#include "bridge/deliver.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int init_deliver_tests(void);

static void test_backoff_bounds(void)
{
    struct fy_retry_conf rc = {0, 0, 100, 30000};
    uint32_t r;
    int attempt;

    for (attempt = 1; attempt <= 20; attempt++) {
        int64_t ceil = 100;
        int i;
        for (i = 1; i < attempt && ceil < 30000; i++) {
            ceil *= 2;
        }
        if (ceil > 30000) {
            ceil = 30000;
        }
        for (r = 0; r < 5000; r += 7) {
            int64_t d = fy_deliver_backoff_ms(&rc, attempt, r * 2654435761u);
            CU_ASSERT_TRUE(d >= 50);
            CU_ASSERT_TRUE(d <= ceil);
        }
    }
    /* the cap holds for huge attempt counts */
    FY_ASSERT_EQ(fy_deliver_backoff_ms(&rc, 1000, 29950) <= 30000, 1);
}

static void test_backoff_spreads(void)
{
    struct fy_retry_conf rc = {0, 0, 100, 30000};
    int64_t lo = INT64_MAX, hi = 0;
    uint32_t r;

    /* attempt 6: ceiling 3200 ms; jitter must actually spread over most of [50, 3200] */
    for (r = 1; r < 20000; r++) {
        int64_t d = fy_deliver_backoff_ms(&rc, 6, r * 2654435761u);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    CU_ASSERT_TRUE(lo < 200);
    CU_ASSERT_TRUE(hi > 3000);
}

static void test_retry_after(void)
{
    FY_ASSERT_EQ(fy_deliver_retry_after("retry_after_ms=2000; HTTP 429 from https://x"), 2000);
    FY_ASSERT_EQ(fy_deliver_retry_after("HTTP 503; retry_after_ms=0"), 0);
    FY_ASSERT_EQ(fy_deliver_retry_after("HTTP 500 from https://x"), -1);
    FY_ASSERT_EQ(fy_deliver_retry_after(NULL), -1);
    FY_ASSERT_EQ(fy_deliver_retry_after("retry_after_ms=abc"), -1);
    /* capped at one hour */
    FY_ASSERT_EQ(fy_deliver_retry_after("retry_after_ms=999999999"), 3600000);
}

/* ---- endpoint health ---- */

struct responder {
    int fd;
    atomic_int stop;
    atomic_int requests;
    atomic_int status;     /* answered to every request (200 unless the test sets it) */
    const char *fail_once; /* a request holding this text is answered 500, the first time */
    atomic_int failed;
    pthread_t th;
};

/* Answers every HTTP/1.1 request with r->status (one request per connection: "Connection:
 * close"), reading the body by Content-Length. */
static void *respond(void *arg)
{
    struct responder *r = arg;

    while (!atomic_load(&r->stop)) {
        char buf[65536];
        size_t have = 0;
        long clen = -1;
        char *hdr_end = NULL;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0) {
            continue;
        }
        for (;;) {
            ssize_t n = recv(c, buf + have, sizeof(buf) - 1 - have, 0);
            if (n <= 0) {
                break;
            }
            have += (size_t)n;
            buf[have] = '\0';
            if (hdr_end == NULL && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
                char *cl = strcasestr(buf, "content-length:");
                clen = cl != NULL ? strtol(cl + 15, NULL, 10) : 0;
            }
            if (hdr_end != NULL && (long)have >= (hdr_end + 4 - buf) + clen) {
                char ok[128];
                int status = atomic_load(&r->status), w;
                if (r->fail_once != NULL && strstr(hdr_end, r->fail_once) != NULL &&
                    atomic_exchange(&r->failed, 1) == 0) {
                    status = 500;
                }
                w = snprintf(ok, sizeof(ok), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n", status);
                if (send(c, ok, (size_t)w, MSG_NOSIGNAL) > 0) {
                    atomic_fetch_add(&r->requests, 1);
                }
                break;
            }
            if (have >= sizeof(buf) - 1) {
                have = 0; /* large body: keep counting is not needed here */
            }
        }
        close(c);
    }
    return NULL;
}

static int free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int responder_start(struct responder *r, int port)
{
    struct sockaddr_in a = {0};
    struct timeval tv = {0, 100000};
    int one = 1;

    memset(r, 0, sizeof(*r));
    atomic_store(&r->status, 200);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* accept wakes to see stop */
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (bind(r->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(r->fd, 16) != 0) {
        close(r->fd);
        return -1;
    }
    return pthread_create(&r->th, NULL, respond, r) == 0 ? 0 : -1;
}

static void responder_stop(struct responder *r)
{
    atomic_store(&r->stop, 1);
    pthread_join(r->th, NULL);
    close(r->fd);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait up to ms for d's health to reach state; returns 1 when it did. */
static int wait_health(struct fy_deliver *d, enum fy_health state, int ms,
                       struct fy_health_info *out)
{
    for (; ms > 0; ms -= 20) {
        fy_deliver_health(d, out);
        if (out->state == state) {
            return 1;
        }
        sleep_ms(20);
    }
    return 0;
}

/* gone = 0: a closed port, disabled after 3 failures, then a listener answers 200.
 * gone = 1: the endpoint answers 410 Gone: disabled at the first failure; then 200. */
static void health_run(int gone)
{
    char dir[] = "/tmp/ferry-health-XXXXXX";
    char path[256], dlqdir[256], cmd[300];
    struct fy_err err = {0};
    struct fy_config *cfg;
    struct fy_journal *j, *dlq;
    struct fy_journal_opts o;
    struct fy_deliver *d;
    struct fy_health_info h;
    struct responder r;
    uint64_t retries_before;
    int port = free_port();
    int i;
    FILE *f;

    FY_ASSERT(mkdtemp(dir) != NULL);
    FY_ASSERT(port > 0);
    fy_log_setup(FY_LOG_WARN, stderr);
    snprintf(path, sizeof(path), "%s/ferry.yaml", dir);
    f = fopen(path, "w");
    FY_ASSERT(f != NULL);
    fprintf(f,
            "journal: {dir: %s/journal, fsync: never}\n"
            "sources: []\n"
            "sinks:\n"
            "  - name: hook\n    type: webhook\n    url: http://127.0.0.1:%d/in\n"
            "    allow_insecure: true\n    allow_private_networks: true\n    batch_max_wait_ms: 0\n    connect_timeout_ms: 200\n"
            "    retry: {backoff_base_ms: 20, backoff_max_ms: 40}\n"
            "    health: {disable_after: 3, probe_interval_ms: 400}\n"
            "routes: []\n",
            dir, port);
    fclose(f);
    cfg = fy_config_load(path, &err);
    FY_ASSERT_MSG(cfg != NULL, err.msg);
    FY_ASSERT_EQ(cfg->sinks[0].health.disable_after, 3);
    FY_ASSERT_EQ(cfg->sinks[0].health.probe_interval_ms, 400);
    j = fy_journal_open(&cfg->journal, &err);
    FY_ASSERT_MSG(j != NULL, err.msg);
    o = cfg->journal;
    snprintf(dlqdir, sizeof(dlqdir), "%s/dlq", dir);
    o.dir = dlqdir;
    dlq = fy_journal_open(&o, &err);
    FY_ASSERT_MSG(dlq != NULL, err.msg);
    /* a new reader starts at the end of the journal: open it before the records arrive */
    d = fy_deliver_create(&cfg->sinks[0], j, dlq, &err);
    FY_ASSERT_MSG(d != NULL, err.msg);
    for (i = 0; i < 20; i++) {
        struct fy_record rec = {0};
        struct fy_buf b;
        char id[32], body[64];
        uint64_t seq;
        snprintf(id, sizeof(id), "id-%d", i);
        snprintf(body, sizeof(body), "{\"n\":%d}", i);
        rec.id = id;
        rec.key = "k";
        rec.rec_type = "io.test";
        rec.event_type = "create";
        rec.body = body;
        rec.body_len = strlen(body);
        rec.n_dests = 1;
        rec.dests[0].sink = "hook";
        rec.dests[0].dest = "";
        fy_buf_init(&b, 256);
        FY_ASSERT_EQ(fy_record_encode(&rec, &b), FY_OK);
        FY_ASSERT_EQ(fy_journal_append(j, b.data, b.len, &seq), FY_OK);
        fy_buf_free(&b);
    }
    fy_deliver_health(d, &h);
    FY_ASSERT_EQ(h.state, FY_HEALTH_HEALTHY);
    FY_ASSERT_STR(fy_health_name(h.state), "healthy");
    FY_ASSERT_STR(fy_deliver_type(d), "webhook");

    if (gone) {
        FY_ASSERT_EQ(responder_start(&r, port), 0);
        atomic_store(&r.status, 410);
    }
    FY_ASSERT_EQ(fy_deliver_start(d, &err), FY_OK);
    if (gone) { /* the remote said Gone: disabled at the first failure */
        FY_ASSERT(wait_health(d, FY_HEALTH_DISABLED, 5000, &h));
        FY_ASSERT_EQ(h.failures, 1);
        FY_ASSERT_MSG(strstr(h.last_error, "HTTP 410") != NULL, h.last_error);
    } else { /* closed port: failing at once, disabled after 3 attempts */
        FY_ASSERT(wait_health(d, FY_HEALTH_FAILING, 3000, &h) ||
                  h.state == FY_HEALTH_DISABLED);
        FY_ASSERT(wait_health(d, FY_HEALTH_DISABLED, 5000, &h));
        FY_ASSERT(h.failures >= 3);
        FY_ASSERT_MSG(strstr(h.last_error, "127.0.0.1") != NULL, h.last_error);
    }
    FY_ASSERT(h.next_attempt_ms > 0);
    /* disabled: one probe per 400 ms, not a retry every 20-40 ms */
    retries_before = FY_STAT_GET(fy_deliver_stats(d)->retries);
    sleep_ms(1300);
    FY_ASSERT(FY_STAT_GET(fy_deliver_stats(d)->retries) - retries_before <= 4);
    FY_ASSERT_EQ(FY_STAT_GET(fy_deliver_stats(d)->delivered), 0);

    /* the endpoint comes back: the next probe succeeds, everything is delivered */
    if (gone) {
        atomic_store(&r.status, 200);
    } else {
        FY_ASSERT_EQ(responder_start(&r, port), 0);
    }
    FY_ASSERT(wait_health(d, FY_HEALTH_HEALTHY, 5000, &h));
    FY_ASSERT_EQ(h.failures, 0);
    for (i = 0; i < 250 && FY_STAT_GET(fy_deliver_stats(d)->delivered) < 20; i++) {
        sleep_ms(20);
    }
    FY_ASSERT_EQ(FY_STAT_GET(fy_deliver_stats(d)->delivered), 20);
    FY_ASSERT(atomic_load(&r.requests) >= 1);
    fy_deliver_stop(d, 2000);
    fy_deliver_destroy(d);
    responder_stop(&r);
    fy_journal_close(dlq);
    fy_journal_close(j);
    fy_config_free(cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    FY_ASSERT_EQ(system(cmd), 0);
}

/* A RETRY at the head rewinds the reader, but what the sink already took behind it is not
 * sent again: one record per request, 4 in flight, no lanes, the request with record 0
 * answered 500 once. Without the skip every OK record behind record 0 was sent twice. */
static void test_replay_skips_ok(void)
{
    char dir[] = "/tmp/ferry-replay-XXXXXX";
    char path[256], dlqdir[256], cmd[300];
    struct fy_err err = {0};
    struct fy_config *cfg;
    struct fy_journal *j, *dlq;
    struct fy_journal_opts o;
    struct fy_deliver *d;
    struct responder r;
    int port = free_port(), i, n = 40;
    uint64_t skipped;
    FILE *f;

    FY_ASSERT(mkdtemp(dir) != NULL);
    FY_ASSERT(port > 0);
    fy_log_setup(FY_LOG_ERROR, stderr);
    snprintf(path, sizeof(path), "%s/ferry.yaml", dir);
    f = fopen(path, "w");
    FY_ASSERT(f != NULL);
    fprintf(f,
            "journal: {dir: %s/journal, fsync: never}\n"
            "sources: []\n"
            "sinks:\n"
            "  - name: hook\n    type: webhook\n    url: http://127.0.0.1:%d/in\n"
            "    allow_insecure: true\n    allow_private_networks: true\n"
            "    batch_max_records: 1\n    batch_max_wait_ms: 0\n    parallel: 4\n"
            "    order: none\n    request_retries: 0\n"
            "    retry: {backoff_base_ms: 20, backoff_max_ms: 40}\n"
            "routes: []\n",
            dir, port);
    fclose(f);
    cfg = fy_config_load(path, &err);
    FY_ASSERT_MSG(cfg != NULL, err.msg);
    j = fy_journal_open(&cfg->journal, &err);
    FY_ASSERT_MSG(j != NULL, err.msg);
    o = cfg->journal;
    snprintf(dlqdir, sizeof(dlqdir), "%s/dlq", dir);
    o.dir = dlqdir;
    dlq = fy_journal_open(&o, &err);
    FY_ASSERT_MSG(dlq != NULL, err.msg);
    d = fy_deliver_create(&cfg->sinks[0], j, dlq, &err);
    FY_ASSERT_MSG(d != NULL, err.msg);
    for (i = 0; i < n; i++) {
        struct fy_record rec = {0};
        struct fy_buf b;
        char id[32], key[32], body[64];
        uint64_t seq;
        snprintf(id, sizeof(id), "id-%d", i);
        snprintf(key, sizeof(key), "dev-%d", i);
        snprintf(body, sizeof(body), "{\"n\":\"r%d.\"}", i);
        rec.id = id;
        rec.key = key;
        rec.rec_type = "io.test";
        rec.event_type = "create";
        rec.body = body;
        rec.body_len = strlen(body);
        rec.n_dests = 1;
        rec.dests[0].sink = "hook";
        rec.dests[0].dest = "";
        fy_buf_init(&b, 256);
        FY_ASSERT_EQ(fy_record_encode(&rec, &b), FY_OK);
        FY_ASSERT_EQ(fy_journal_append(j, b.data, b.len, &seq), FY_OK);
        fy_buf_free(&b);
    }
    FY_ASSERT_EQ(responder_start(&r, port), 0);
    r.fail_once = "r0.";
    FY_ASSERT_EQ(fy_deliver_start(d, &err), FY_OK);
    for (i = 0; i < 500 && FY_STAT_GET(fy_deliver_stats(d)->delivered) < (uint64_t)n; i++) {
        sleep_ms(20);
    }
    FY_ASSERT_EQ(FY_STAT_GET(fy_deliver_stats(d)->delivered), n);
    skipped = FY_STAT_GET(fy_deliver_stats(d)->not_resent);
    printf("\n  replay after one 500: %d requests for %d records, %d retry round(s), %d not "
           "sent again\n", atomic_load(&r.requests), n,
           (int)FY_STAT_GET(fy_deliver_stats(d)->retries), (int)skipped);
    FY_ASSERT_EQ(atomic_load(&r.failed), 1);
    FY_ASSERT(skipped >= 1); /* something behind record 0 was OK when it failed */
    FY_ASSERT_EQ(atomic_load(&r.requests), n + 1);
    fy_deliver_stop(d, 2000);
    fy_deliver_destroy(d);
    responder_stop(&r);
    fy_journal_close(dlq);
    fy_journal_close(j);
    fy_config_free(cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    FY_ASSERT_EQ(system(cmd), 0);
}

static void test_health_states(void)
{
    health_run(0);
}

static void test_health_gone(void)
{
    health_run(1);
}

int init_deliver_tests(void)
{
    CU_pSuite s = CU_add_suite("deliver", NULL, NULL);

    if (s == NULL || CU_add_test(s, "backoff stays within [base/2, cap]", test_backoff_bounds) == NULL ||
        CU_add_test(s, "backoff jitter spreads", test_backoff_spreads) == NULL ||
        CU_add_test(s, "Retry-After from sink reasons", test_retry_after) == NULL ||
        CU_add_test(s, "health: failing, disabled with probes, healthy again",
                    test_health_states) == NULL ||
        CU_add_test(s, "health: 410 Gone disables at once", test_health_gone) == NULL ||
        CU_add_test(s, "a replay does not send again what the sink took", test_replay_skips_ok) ==
            NULL) {
        return -1;
    }
    return 0;
}
