/* test_kafka.c - the Kafka sink's outcome classification against librdkafka's built-in mock
 * cluster (fault injection; the real broker is used by the integration and fault tests):
 * every ticket completes exactly once, retriable broker errors are retried by librdkafka,
 * a permanent error is REJECT, a dead broker past message_timeout_ms is RETRY (nothing lost). */
#include "bridge/core/conf.h"
#include "bridge/core/log.h"
#include "sinks/sink.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_kafka_tests(void);
rd_kafka_t *fy_sink_kafka_handle(void *ctx);

#define N 300

struct seen {
    int ok, retry, reject, dup;
    unsigned char done[N];
    char last_reason[256];
};

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct seen *s = arg;

    if (ticket >= N || s->done[ticket]++) {
        s->dup++;
        return;
    }
    if (res == FY_SINK_OK) {
        s->ok++;
    } else if (res == FY_SINK_RETRY) {
        s->retry++;
    } else {
        s->reject++;
    }
    if (reason != NULL) {
        snprintf(s->last_reason, sizeof(s->last_reason), "%s", reason);
    }
}

static struct fy_sink *make(struct seen *s, const char *extra, struct fy_node **root)
{
    static const char *const skip[] = {"name", "type", "retry", NULL};
    char y[512];
    struct fy_err err = {0};
    struct fy_sink *snk;

    snprintf(y, sizeof(y),
             "name: k\ntype: kafka\nbrokers: 127.0.0.1:1\ntopic: t\nlinger_ms: 1\n"
             "rdkafka.test.mock.num.brokers: 1\n%s", extra);
    *root = fy_conf_parse(y, strlen(y), "mock.yaml", &err);
    CU_ASSERT_PTR_NOT_NULL(*root);
    snk = fy_sink_create(fy_sink_plugin_find("kafka"), "k", *root, skip, 0, on_complete, s,
                         &err);
    if (snk == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
    }
    return snk;
}

static void submit_all(struct fy_sink *snk, struct seen *s, int timeout_ms)
{
    struct fy_record rec = {0};
    char key[16];
    uint64_t t;
    int waited = 0;

    rec.id = "0123456789abcdef0123456789abcdef";
    rec.rec_type = "io.test";
    rec.event_type = "create";
    rec.body = "{\"x\":1}";
    rec.body_len = 7;
    for (t = 0; t < N; t++) {
        snprintf(key, sizeof(key), "dev-%d", (int)(t % 10));
        rec.key = key;
        while (fy_sink_submit(snk, &rec, "", t) == FY_EAGAIN) {
            fy_sink_poll(snk, 10);
        }
    }
    while (s->ok + s->retry + s->reject + s->dup < N && waited < timeout_ms) {
        fy_sink_poll(snk, 50);
        waited += 50;
    }
}

static void test_all_ok_with_retriable_errors(void)
{
    struct seen s;
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    rd_kafka_mock_cluster_t *mc;

    memset(&s, 0, sizeof(s));
    snk = make(&s, "", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    mc = rd_kafka_handle_mock_cluster(fy_sink_kafka_handle(fy_sink_ctx(snk)));
    CU_ASSERT_PTR_NOT_NULL_FATAL(mc);
    /* three retriable errors on Produce: librdkafka retries, every record still succeeds */
    rd_kafka_mock_push_request_errors(mc, 0 /* Produce */, 3,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    submit_all(snk, &s, 30000);
    FY_ASSERT_EQ(s.ok, N);
    FY_ASSERT_EQ(s.dup, 0);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

static void test_permanent_error_rejects(void)
{
    struct seen s;
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    rd_kafka_mock_cluster_t *mc;
    int i;

    memset(&s, 0, sizeof(s));
    snk = make(&s, "", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    mc = rd_kafka_handle_mock_cluster(fy_sink_kafka_handle(fy_sink_ctx(snk)));
    for (i = 0; i < 50; i++) {
        rd_kafka_mock_push_request_errors(mc, 0, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    }
    submit_all(snk, &s, 30000);
    FY_ASSERT_EQ(s.ok + s.retry + s.reject, N);
    FY_ASSERT_EQ(s.dup, 0);
    CU_ASSERT_TRUE(s.reject > 0);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

static void test_broker_down_is_retry(void)
{
    struct seen s;
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    rd_kafka_mock_cluster_t *mc;

    memset(&s, 0, sizeof(s));
    snk = make(&s, "message_timeout_ms: 1000\n", &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    mc = rd_kafka_handle_mock_cluster(fy_sink_kafka_handle(fy_sink_ctx(snk)));
    rd_kafka_mock_broker_set_down(mc, 1);
    submit_all(snk, &s, 20000);
    /* nothing is reported delivered or rejected: every record times out as RETRY */
    FY_ASSERT_EQ(s.retry, N);
    FY_ASSERT_EQ(s.ok, 0);
    FY_ASSERT_EQ(s.reject, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.last_reason, "Kafka"));
    rd_kafka_mock_broker_set_up(mc, 1);
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

static void test_bad_passthrough(void)
{
    static const char *const skip[] = {"name", "type", "retry", NULL};
    const char *y = "name: k\ntype: kafka\nbrokers: a:1\nrdkafka.no.such: 1\n";
    struct fy_err err = {0};
    struct fy_node *root = fy_conf_parse(y, strlen(y), "p.yaml", &err);

    CU_ASSERT_PTR_NULL(fy_sink_create(fy_sink_plugin_find("kafka"), "k", root, skip, 1, NULL,
                                      NULL, &err));
    if (strstr(err.msg, "rdkafka.no.such: No such configuration property") == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "rdkafka.no.such: No such configuration property"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "line 4:"));
    fy_conf_free(root);
}

int init_kafka_tests(void)
{
    CU_pSuite s = CU_add_suite("kafka", NULL, NULL);

    fy_log_setup(FY_LOG_ERROR, NULL);
    if (s == NULL ||
        CU_add_test(s, "retriable broker errors still deliver", test_all_ok_with_retriable_errors) ==
            NULL ||
        CU_add_test(s, "permanent error -> REJECT", test_permanent_error_rejects) == NULL ||
        CU_add_test(s, "broker down -> RETRY, nothing lost", test_broker_down_is_retry) == NULL ||
        CU_add_test(s, "bad rdkafka.* option", test_bad_passthrough) == NULL) {
        return -1;
    }
    return 0;
}
