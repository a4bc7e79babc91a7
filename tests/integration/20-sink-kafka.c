/* 20-sink-kafka.c - the Kafka sink, driven in-process, against the real single-node Kafka of
 * scripts/services: 1,000 records for 10 keys go to a fresh topic (plus a few to a second
 * topic named by the route's destination), every ticket completes once with OK, and a
 * consumer reads them back with the right key, headers recType / event_type / id, byte-exact
 * values, no duplicates and per-key order. */
#include "core/conf.h"
#include "core/log.h"
#include "sinks/kafka/kafka_conf.h"
#include "sinks/sink.h"
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int init_integration_tests(void);

#define N 1000
#define KEYS 10
#define EXTRA 20 /* records sent to the second topic */

struct seen {
    int ok, other, dup, order;
    unsigned char done[N + EXTRA];
    long long last[KEYS];
    char reason[256];
};

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct seen *s = arg;

    if (ticket >= N + EXTRA || s->done[ticket]++) {
        s->dup++;
        return;
    }
    if (ticket < N) {
        if ((long long)ticket <= s->last[ticket % KEYS]) {
            s->order++;
        }
        s->last[ticket % KEYS] = (long long)ticket;
    }
    if (res == FY_SINK_OK) {
        s->ok++;
    } else {
        s->other++;
        snprintf(s->reason, sizeof(s->reason), "%s", reason != NULL ? reason : "");
    }
}

/* The value of record seq: JSON-ish text of a length that varies with seq (up to ~1.5 KiB),
 * with non-ASCII bytes, so a byte-exact comparison means something. */
static size_t value_for(unsigned seq, char *out, size_t size)
{
    size_t len = (size_t)snprintf(out, size, "{\"seq\":%u,\"dev\":\"dev-%u\",\"pad\":\"", seq,
                                  seq % KEYS);
    size_t pad = (seq * 37u) % 1500u, i;

    for (i = 0; i < pad && len + 8 < size; i++) {
        out[len++] = (char)('a' + (seq + i) % 26);
    }
    memcpy(out + len, "\xc3\xa9\"}", 5); /* "é" then the closing, NUL included */
    return len + 4;
}

static void record_for(unsigned seq, struct fy_record *rec, char *key, char *id, char *value,
                       size_t value_size)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(key, 32, "70b3d57ed0%06x", seq % KEYS);
    snprintf(id, 40, "it20-%08u", seq);
    rec->id = id;
    rec->key = key;
    rec->rec_type = seq % 2 == 0 ? "io.test.tts" : "io.test.cs";
    rec->event_type = seq % 3 == 0 ? "join" : "up";
    rec->body = value;
    rec->body_len = value_for(seq, value, value_size);
}

static void test_produce_consume(void)
{
    static const char *const skip[] = {"name", "type", "retry", NULL};
    const char *url, *brokers;
    char topic[128], topic2[128], yaml[1024], key[32], id[40], *value;
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    struct fy_h_kmsg *m = NULL;
    struct fy_record rec;
    struct seen s;
    long long last[KEYS];
    size_t n, n2, i;
    int bad_key = 0, bad_headers = 0, bad_value = 0, dups = 0, order = 0, waited = 0;
    unsigned char got[N];
    unsigned seq;
    uint64_t delivered, retried, rejected, rebuilds;
    struct timespec t0, t1;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    snprintf(topic, sizeof(topic), "%s", fy_h_unique("it-sink-kafka"));
    snprintf(topic2, sizeof(topic2), "%s", fy_h_unique("it-sink-kafka-b"));
    snprintf(yaml, sizeof(yaml),
             "name: k\ntype: kafka\nbrokers: %s\ntopic: %s\nclient_id: it20\n"
             "compression: zstd\nlinger_ms: 5\nmax_inflight: 200\n", brokers, topic);
    root = fy_conf_parse(yaml, strlen(yaml), "it20.yaml", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    memset(&s, 0, sizeof(s));
    for (i = 0; i < KEYS; i++) {
        s.last[i] = -1;
        last[i] = -1;
    }
    snk = fy_sink_create(fy_sink_plugin_find("kafka"), "k", root, skip, 0, on_complete, &s, &err);
    if (snk == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    value = malloc(2048);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (seq = 0; seq < N + EXTRA; seq++) {
        /* the first N to the default topic (""), the rest to the route's topic2 */
        record_for(seq, &rec, key, id, value, 2048);
        while (fy_sink_submit(snk, &rec, seq < N ? "" : topic2, seq) == FY_EAGAIN) {
            fy_sink_poll(snk, 10); /* max_inflight 200: backpressure is exercised */
        }
    }
    while (s.ok + s.other + s.dup < N + EXTRA && waited < fy_h_ms(60000)) {
        fy_sink_poll(snk, 50);
        waited += 50;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    FY_ASSERT_EQ(fy_sink_drain(snk, 5000), FY_OK);
    if (s.other > 0) {
        fprintf(stderr, "\nlast failure: %s\n", s.reason);
    }
    FY_ASSERT_EQ(s.ok, N + EXTRA);
    FY_ASSERT_EQ(s.other, 0);
    FY_ASSERT_EQ(s.dup, 0);
    FY_ASSERT_EQ(s.order, 0);
    fy_sink_kafka_stats(fy_sink_ctx(snk), &delivered, &retried, &rejected, &rebuilds);
    FY_ASSERT_EQ(delivered, N + EXTRA);
    printf("\n  produced %d records in %.0f ms (all reports OK)\n", N + EXTRA,
           (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    fy_sink_destroy(snk);
    fy_conf_free(root);

    n = fy_h_consume(brokers, topic, 0, 60000, &m); /* all, until 3 s of quiet */
    FY_ASSERT_EQ(n, N);
    memset(got, 0, sizeof(got));
    for (i = 0; i < n; i++) {
        unsigned v;
        size_t len;
        if (sscanf(m[i].id, "it20-%08u", &v) != 1 || v >= N) {
            bad_headers++;
            continue;
        }
        if (got[v]++) {
            dups++;
            continue;
        }
        record_for(v, &rec, key, id, value, 2048);
        len = rec.body_len;
        if (strcmp(m[i].key, key) != 0) {
            bad_key++;
        }
        if (strcmp(m[i].rec_type, rec.rec_type) != 0 ||
            strcmp(m[i].event_type, rec.event_type) != 0 || strcmp(m[i].id, id) != 0) {
            bad_headers++;
        }
        if (m[i].value_len != len || memcmp(m[i].value, value, len) != 0) {
            bad_value++;
        }
        /* one key lives in one partition: its records must come back in sequence */
        if ((long long)v <= last[v % KEYS]) {
            order++;
        }
        last[v % KEYS] = (long long)v;
    }
    FY_ASSERT_EQ(bad_key, 0);
    FY_ASSERT_EQ(bad_headers, 0);
    FY_ASSERT_EQ(bad_value, 0);
    FY_ASSERT_EQ(dups, 0);
    FY_ASSERT_EQ(order, 0);
    fy_h_kmsgs_free(m, n);

    n2 = fy_h_consume(brokers, topic2, EXTRA, 60000, &m);
    FY_ASSERT_EQ(n2, EXTRA);
    for (i = 0; i < n2; i++) {
        unsigned v = 0;
        CU_ASSERT_TRUE(sscanf(m[i].id, "it20-%08u", &v) == 1 && v >= N && v < N + EXTRA);
    }
    fy_h_kmsgs_free(m, n2);
    free(value);
}

/* A broker that does not exist: init still succeeds (connection problems surface later), and
 * records come back as RETRY after message_timeout_ms, never as OK or REJECT. */
static void test_unreachable_broker(void)
{
    static const char *const skip[] = {"name", "type", "retry", NULL};
    const char *yaml = "name: k\ntype: kafka\nbrokers: 127.0.0.1:1\nmessage_timeout_ms: 1500\n";
    struct fy_err err = {0};
    struct fy_node *root = fy_conf_parse(yaml, strlen(yaml), "it20b.yaml", &err);
    struct fy_sink *snk;
    struct fy_record rec;
    struct seen s;
    char key[32], id[40], value[2048];
    unsigned seq;
    int waited = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    memset(&s, 0, sizeof(s));
    for (seq = 0; seq < KEYS; seq++) {
        s.last[seq] = -1;
    }
    snk = fy_sink_create(fy_sink_plugin_find("kafka"), "k", root, skip, 0, on_complete, &s, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    for (seq = 0; seq < 50; seq++) {
        record_for(seq, &rec, key, id, value, sizeof(value));
        FY_ASSERT_EQ(fy_sink_submit(snk, &rec, "", seq), FY_OK);
    }
    while (s.ok + s.other < 50 && waited < fy_h_ms(20000)) {
        fy_sink_poll(snk, 50);
        waited += 50;
    }
    FY_ASSERT_EQ(s.other, 50);
    FY_ASSERT_EQ(s.ok + s.dup + s.order, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason, "MSG_TIMED_OUT"));
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("sink-kafka", NULL, NULL);

    fy_log_setup(FY_LOG_WARN, NULL);
    if (s == NULL ||
        CU_add_test(s, "1,000 records, 10 keys: key, headers, value, per-key order",
                    test_produce_consume) == NULL ||
        CU_add_test(s, "unreachable broker -> RETRY after message_timeout_ms",
                    test_unreachable_broker) == NULL) {
        return -1;
    }
    return 0;
}
