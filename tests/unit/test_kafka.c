/* test_kafka.c - the Kafka sink against librdkafka's built-in mock cluster (test.mock.num.brokers
 * through the rdkafka.* pass-through): every accepted ticket completes exactly once, in order
 * per key, with the right outcome for retriable errors, permanent errors, a dead broker past
 * message_timeout_ms, a fatal producer error (purge + rebuild), and the options' errors. The
 * real broker is exercised by tests/integration/20-sink-kafka.c. */
#include "core/conf.h"
#include "core/log.h"
#include "sinks/kafka/kafka_conf.h"
#include "sinks/sink.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int init_kafka_tests(void);

#define N 1000
#define KEYS 10
#define PARTITIONS 4
#define API_PRODUCE 0 /* Kafka protocol ApiKey of Produce (rd_kafka_mock_push_request_errors) */

static const char *const skip[] = {"name", "type", "retry", NULL};

/* ==== completion bookkeeping ==== */

struct seen {
    int ok, retry, reject, dup, unknown, order;
    unsigned char done[2 * N];
    long long last[KEYS];          /* last completed ticket per key */
    char reason[256];              /* last non-OK reason */
};

static void seen_reset(struct seen *s)
{
    int i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < KEYS; i++) {
        s->last[i] = -1;
    }
}

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct seen *s = arg;

    if (ticket >= 2 * N) {
        s->unknown++;
        return;
    }
    if (s->done[ticket]++) {
        s->dup++;
        return;
    }
    if ((long long)ticket <= s->last[ticket % KEYS]) {
        s->order++;
    }
    s->last[ticket % KEYS] = (long long)ticket;
    if (res == FY_SINK_OK) {
        s->ok++;
    } else if (res == FY_SINK_RETRY) {
        s->retry++;
    } else {
        s->reject++;
    }
    if (reason != NULL) {
        snprintf(s->reason, sizeof(s->reason), "%s", reason);
    }
}

static int completed(const struct seen *s)
{
    return s->ok + s->retry + s->reject;
}

/* ==== helpers ==== */

static struct fy_sink *make(struct seen *s, const char *extra, struct fy_node **root)
{
    char y[1024];
    struct fy_err err = {0};
    struct fy_sink *snk;

    snprintf(y, sizeof(y),
             "name: k\ntype: kafka\nbrokers: 127.0.0.1:1\ntopic: t\nlinger_ms: 1\n"
             "rdkafka.test.mock.num.brokers: 1\n%s", extra);
    *root = fy_conf_parse(y, strlen(y), "mock.yaml", &err);
    CU_ASSERT_PTR_NOT_NULL(*root);
    if (*root == NULL) {
        return NULL;
    }
    snk = fy_sink_create(fy_sink_plugin_find("kafka"), "k", *root, skip, 0, on_complete, s,
                         &err);
    if (snk == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
    }
    return snk;
}

/* Options only (check mode); returns the error text in err. */
static int check(const char *yaml, struct fy_err *err)
{
    struct fy_node *root = fy_conf_parse(yaml, strlen(yaml), "p.yaml", err);
    struct fy_sink *snk;

    if (root == NULL) {
        return err->code;
    }
    snk = fy_sink_create(fy_sink_plugin_find("kafka"), "k", root, skip, 1, NULL, NULL, err);
    fy_sink_destroy(snk);
    fy_conf_free(root);
    return snk != NULL ? FY_OK : err->code;
}

static rd_kafka_mock_cluster_t *mock_of(struct fy_sink *snk)
{
    return rd_kafka_handle_mock_cluster(fy_sink_kafka_handle(fy_sink_ctx(snk)));
}

static void record_for(uint64_t t, struct fy_record *rec, char *key, char *body, char *id)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(key, 16, "dev-%d", (int)(t % KEYS));
    snprintf(body, 64, "{\"seq\":%llu}", (unsigned long long)t);
    snprintf(id, 40, "id-%llu", (unsigned long long)t);
    rec->id = id;
    rec->key = key;
    rec->rec_type = "io.test";
    rec->event_type = "up";
    rec->body = body;
    rec->body_len = strlen(body);
}

/* Submit tickets [from, to) (polling while full), then poll until all of them completed or
 * timeout_ms passed. */
static void submit_range(struct fy_sink *snk, struct seen *s, uint64_t from, uint64_t to,
                         int timeout_ms)
{
    struct fy_record rec;
    char key[16], body[64], id[40];
    int waited = 0, want = completed(s) + (int)(to - from);
    uint64_t t;

    for (t = from; t < to; t++) {
        record_for(t, &rec, key, body, id);
        while (fy_sink_submit(snk, &rec, "", t) == FY_EAGAIN) {
            fy_sink_poll(snk, 10);
        }
    }
    while (completed(s) < want && waited < timeout_ms) {
        fy_sink_poll(snk, 50);
        waited += 50;
    }
}

/* Read everything in topic from the mock cluster (by assignment, no group). */
static int mock_consume(rd_kafka_mock_cluster_t *mc, const char *topic, int want,
                        int (*visit)(const rd_kafka_message_t *m, void *arg), void *arg)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    char errstr[256];
    rd_kafka_t *rk;
    int got = 0, idle = 0, p;

    rd_kafka_conf_set(c, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), errstr,
                      sizeof(errstr));
    rd_kafka_conf_set(c, "group.id", "test", errstr, sizeof(errstr));
    rd_kafka_conf_set(c, "enable.auto.commit", "false", errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof(errstr));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
    for (p = 0; p < PARTITIONS; p++) {
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    while (got < want && idle < 100) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            idle++;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            got++;
            idle = 0;
            visit(m, arg);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got;
}

struct check_msgs {
    int bad_key, bad_headers, order;
    long long last[KEYS];
};

static int header_is(const rd_kafka_message_t *m, const char *name, const char *want)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;

    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return 0;
    }
    return n == strlen(want) && memcmp(v, want, n) == 0;
}

static int visit_msg(const rd_kafka_message_t *m, void *arg)
{
    struct check_msgs *c = arg;
    char body[64], key[16], id[40];
    unsigned long long seq = 0;
    struct fy_record rec;

    snprintf(body, sizeof(body), "%.*s", (int)m->len, (const char *)m->payload);
    if (sscanf(body, "{\"seq\":%llu}", &seq) != 1 || seq >= N) {
        c->bad_key++;
        return 0;
    }
    record_for(seq, &rec, key, body, id);
    if (m->key_len != strlen(key) || memcmp(m->key, key, m->key_len) != 0) {
        c->bad_key++;
    }
    if (!header_is(m, "recType", "io.test") || !header_is(m, "event_type", "up") ||
        !header_is(m, "id", id)) {
        c->bad_headers++;
    }
    if ((long long)seq <= c->last[seq % KEYS]) {
        c->order++;
    }
    c->last[seq % KEYS] = (long long)seq;
    return 0;
}

/* ==== tests ==== */

/* 1,000 records over 10 keys with three retriable Produce errors: librdkafka retries them
 * (idempotent, order kept), every ticket completes once with OK, per key in order, and the
 * cluster holds exactly those records with key, headers and value. */
static void test_thousand_ok_in_order(void)
{
    struct seen s;
    struct check_msgs c;
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    rd_kafka_mock_cluster_t *mc;
    uint64_t delivered, retried, rejected, rebuilds;
    int i;

    seen_reset(&s);
    snk = make(&s, "", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    mc = mock_of(snk);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mc);
    FY_ASSERT_EQ(rd_kafka_mock_topic_create(mc, "t", PARTITIONS, 1), 0);
    rd_kafka_mock_push_request_errors(mc, API_PRODUCE, 3,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    submit_range(snk, &s, 0, N, 30000);
    FY_ASSERT_EQ(s.ok, N);
    FY_ASSERT_EQ(s.retry + s.reject, 0);
    FY_ASSERT_EQ(s.dup + s.unknown, 0);
    FY_ASSERT_EQ(s.order, 0);
    FY_ASSERT_EQ(fy_sink_drain(snk, 1000), FY_OK);
    fy_sink_kafka_stats(fy_sink_ctx(snk), &delivered, &retried, &rejected, &rebuilds);
    FY_ASSERT_EQ(delivered, N);
    FY_ASSERT_EQ(retried + rejected + rebuilds, 0);

    memset(&c, 0, sizeof(c));
    for (i = 0; i < KEYS; i++) {
        c.last[i] = -1;
    }
    FY_ASSERT_EQ(mock_consume(mc, "t", N, visit_msg, &c), N);
    FY_ASSERT_EQ(c.bad_key, 0);
    FY_ASSERT_EQ(c.bad_headers, 0);
    FY_ASSERT_EQ(c.order, 0);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* A permanent broker error rejects exactly the record it hit, with the reason; the next
 * record is delivered. A record over message.max.bytes is rejected inside submit. */
static void test_permanent_errors_reject(void)
{
    struct seen s;
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    struct fy_record rec;
    char key[16], body[64], id[40], *big;

    seen_reset(&s);
    snk = make(&s, "rdkafka.message.max.bytes: 2000\n", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    rd_kafka_mock_push_request_errors(mock_of(snk), API_PRODUCE, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    submit_range(snk, &s, 0, 1, 10000);
    FY_ASSERT_EQ(s.reject, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason, "MSG_SIZE_TOO_LARGE"));
    submit_range(snk, &s, 1, 2, 10000);
    FY_ASSERT_EQ(s.ok, 1);

    big = malloc(4000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'x', 4000);
    record_for(2, &rec, key, body, id);
    rec.body = big;
    rec.body_len = 4000;
    FY_ASSERT_EQ(fy_sink_submit(snk, &rec, "", 2), FY_OK);
    FY_ASSERT_EQ(s.reject, 2); /* completed within submit */
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason, "MSG_SIZE_TOO_LARGE"));
    free(big);

    /* a route template that expands to an illegal topic name */
    record_for(3, &rec, key, body, id);
    FY_ASSERT_EQ(fy_sink_submit(snk, &rec, "bad topic!", 3), FY_OK);
    FY_ASSERT_EQ(s.reject, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason, "invalid Kafka topic name"));
    FY_ASSERT_EQ(s.dup + s.unknown, 0);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* The broker is down past message_timeout_ms: every record completes once as RETRY (nothing
 * silently lost). Replaying the same tickets after the broker returns delivers them all, in
 * order per key: what the core does from its journal cursor. */
static void test_broker_down_then_replay(void)
{
    struct seen s;
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    rd_kafka_mock_cluster_t *mc;
    int n = 200;

    seen_reset(&s);
    snk = make(&s, "message_timeout_ms: 1000\n", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    mc = mock_of(snk);
    rd_kafka_mock_broker_set_down(mc, 1);
    submit_range(snk, &s, 0, (uint64_t)n, 20000);
    FY_ASSERT_EQ(s.retry, n);
    FY_ASSERT_EQ(s.ok + s.reject, 0);
    FY_ASSERT_EQ(s.dup + s.unknown + s.order, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.reason, "Kafka"));

    rd_kafka_mock_broker_set_up(mc, 1);
    seen_reset(&s);
    submit_range(snk, &s, 0, (uint64_t)n, 20000);
    FY_ASSERT_EQ(s.ok, n);
    FY_ASSERT_EQ(s.dup + s.unknown + s.order, 0);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* max_inflight bounds what librdkafka holds: submit answers FY_EAGAIN past it, and drain
 * times out while the broker is down. */
static void test_max_inflight(void)
{
    struct seen s;
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    struct fy_record rec;
    char key[16], body[64], id[40];
    uint64_t t;
    int accepted = 0;

    seen_reset(&s);
    snk = make(&s, "max_inflight: 5\nmessage_timeout_ms: 1000\n", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    rd_kafka_mock_broker_set_down(mock_of(snk), 1);
    for (t = 0; t < 8; t++) {
        record_for(t, &rec, key, body, id);
        if (fy_sink_submit(snk, &rec, "", t) == FY_OK) {
            accepted++;
        }
    }
    FY_ASSERT_EQ(accepted, 5);
    FY_ASSERT_EQ(fy_sink_drain(snk, 200), FY_ETIMEOUT);
    FY_ASSERT_EQ(fy_sink_drain(snk, 10000), FY_OK);
    FY_ASSERT_EQ(s.retry, 5);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* A fatal producer error while records are in flight: every one completes once as RETRY
 * (purged), the producer is rebuilt, and later records are delivered by the new one. */
static void test_fatal_error_rebuilds(void)
{
    struct seen s;
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    rd_kafka_t *before;
    uint64_t delivered, retried, rejected, rebuilds;
    int waited = 0, n = 300;

    seen_reset(&s);
    snk = make(&s, "", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    before = fy_sink_kafka_handle(fy_sink_ctx(snk));
    rd_kafka_mock_broker_set_down(mock_of(snk), 1); /* keep everything in flight */
    submit_range(snk, &s, 0, (uint64_t)n, 0);
    FY_ASSERT_EQ(rd_kafka_test_fatal_error(before, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                           "injected by test_kafka"),
                 RD_KAFKA_RESP_ERR_NO_ERROR);
    while (completed(&s) < n && waited < 20000) {
        fy_sink_poll(snk, 50);
        waited += 50;
    }
    FY_ASSERT_EQ(s.retry, n);
    FY_ASSERT_EQ(s.ok + s.reject + s.dup + s.unknown + s.order, 0);
    /* one more poll completes the rebuild once nothing is outstanding */
    fy_sink_poll(snk, 10);
    fy_sink_kafka_stats(fy_sink_ctx(snk), &delivered, &retried, &rejected, &rebuilds);
    FY_ASSERT_EQ(rebuilds, 1);
    CU_ASSERT_PTR_NOT_NULL(fy_sink_kafka_handle(fy_sink_ctx(snk)));

    /* the replay on the new producer (a fresh mock cluster, broker up) is delivered */
    seen_reset(&s);
    submit_range(snk, &s, 0, (uint64_t)n, 20000);
    FY_ASSERT_EQ(s.ok, n);
    FY_ASSERT_EQ(s.dup + s.unknown + s.order, 0);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

static void test_option_errors(void)
{
    struct fy_err err = {0};

    /* unknown librdkafka property: librdkafka's reason at FILE:LINE:COL */
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nrdkafka.no.such: 1\n", &err),
                 FY_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "p.yaml:4:18: rdkafka.no.such: No such "
                                           "configuration property"));
    if (strstr(err.msg, "p.yaml:4:18:") == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
    }
    /* the nested form reports the same way */
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nrdkafka:\n  batch.size: lots\n", &err),
                 FY_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "p.yaml:5:15: rdkafka.batch.size: "));
    /* reliability settings cannot be undone */
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nrdkafka.acks: 1\n", &err), FY_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rdkafka.acks: not allowed: fixed to all"));
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nrdkafka.enable.idempotence: false\n",
                       &err), FY_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not allowed"));
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nrdkafka.request.required.acks: 1\n",
                       &err), FY_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not allowed"));
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nrdkafka.enable.delivery.reports: "
                       "false\n", &err), FY_ECONFIG);
    /* other properties pass through, also those a typed option sets (applied last, they win) */
    FY_ASSERT_OK(check("name: k\ntype: kafka\nbrokers: a:1\nrdkafka.linger.ms: 9\n", &err), &err);
    /* a secret value is never echoed */
    setenv("FY_TEST_KAFKA_CANARY", "canary-8f3a", 1);
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\n"
                       "rdkafka.ssl.endpoint.identification.algorithm: ${FY_TEST_KAFKA_CANARY}\n",
                       &err), FY_ECONFIG);
    CU_ASSERT_PTR_NULL(strstr(err.msg, "canary-8f3a"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "p.yaml:4:"));
    /* cross-option checks */
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nssl_ca_location: /ca.pem\n", &err),
                 FY_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "security_protocol is plaintext"));
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nsecurity_protocol: sasl_ssl\n"
                       "sasl_username: u\n", &err), FY_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs sasl_username and sasl_password"));
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\nlinger_ms: 5000\n"
                       "message_timeout_ms: 1000\n", &err), FY_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "must be greater than linger_ms"));
    FY_ASSERT_EQ(check("name: k\ntype: kafka\nbrokers: a:1\ncompression: brotli\n", &err),
                 FY_ECONFIG);
    FY_ASSERT_EQ(check("name: k\ntype: kafka\ntopic: x\n", &err), FY_ECONFIG); /* no brokers */
    /* a good SASL/TLS configuration passes check without connecting */
    FY_ASSERT_OK(check("name: k\ntype: kafka\nbrokers: a:1\nsecurity_protocol: sasl_ssl\n"
                       "sasl_mechanism: SCRAM-SHA-512\nsasl_username: u\nsasl_password: p\n"
                       "compression: zstd\nrdkafka.batch.size: 100000\n", &err), &err);
}

int init_kafka_tests(void)
{
    CU_pSuite s = CU_add_suite("kafka", NULL, NULL);

    fy_log_setup(FY_LOG_ERROR, NULL);
    if (s == NULL ||
        CU_add_test(s, "1,000 records: OK once each, in order per key, exact on the broker",
                    test_thousand_ok_in_order) == NULL ||
        CU_add_test(s, "permanent errors -> REJECT with reason", test_permanent_errors_reject) ==
            NULL ||
        CU_add_test(s, "broker down -> RETRY each, replay delivers",
                    test_broker_down_then_replay) == NULL ||
        CU_add_test(s, "max_inflight bounds librdkafka", test_max_inflight) == NULL ||
        CU_add_test(s, "fatal error -> purge, RETRY, rebuild", test_fatal_error_rebuilds) == NULL ||
        CU_add_test(s, "option errors with FILE:LINE:COL", test_option_errors) == NULL) {
        return -1;
    }
    return 0;
}
