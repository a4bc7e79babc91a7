/* 42-journal-full.c - D2 of docs/reliability.md: with a small journal quota (global, then the
 * sink's own max_lag_bytes) and Kafka frozen, the
 * journal fills; Ferry stops acknowledging (logs "journal full"), the broker keeps the rest;
 * when Kafka returns everything drains, ingest resumes, nothing is lost or corrupt. */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int init_integration_tests(void);

static void run(int per_sink)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-full");
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    char yaml[4096];
    size_t n, missing;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    /* either the global journal quota or the sink's own max_lag_bytes */
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-full"), NULL,
                per_sink ? "  segment_bytes: 32k\n" : "  max_bytes: 256k\n  segment_bytes: 32k\n",
                per_sink ? "    max_lag_bytes: 256k\n" : "");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    /* deliver a first batch so the producer is connected, then freeze Kafka */
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 100 --devices 20 --format mixed --qos 1"), 0);
    n = fy_h_consume(brokers, topic, 100, 60000, &m);
    FY_ASSERT_EQ(n, 100);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_services_do("kafka-pause"), 0);
    /* 2,000 more: far over a 256 KiB journal; the broker acks the publisher and queues */
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 2000 --devices 20 --format mixed --qos 1 --start 5"),
                 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, per_sink ? "holds more than its max_lag_bytes"
                                              : "journal full: not acknowledging", 30000));
    sleep(2);
    FY_ASSERT_EQ(fy_h_services_do("kafka-resume"), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, per_sink ? "within its journal quota"
                                              : "journal has room again", 120000));
    n = fy_h_consume(brokers, topic, 2100, 180000, &m);
    missing = fy_h_oracle_check(m, n, 20, 0, 105, &o);
    printf("\n  journal full: %zu received, %zu duplicates, %zu missing\n", o.received,
           o.duplicates, missing);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    /* the journal is intact: nothing quarantined */
    FY_ASSERT_EQ(fy_h_sh("'%s' journal stat -c '%s' | grep -q 'quarantined segments 0'",
                         getenv("FERRY_BIN"), h.config), 0);
    fy_h_ferry_cleanup(&h);
}

static void test_global(void)
{
    run(0);
}

static void test_per_sink(void)
{
    run(1);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("journal-full", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "global quota: backpressure, then drain", test_global) == NULL ||
        CU_add_test(s, "per-sink quota: backpressure, then drain", test_per_sink) == NULL) {
        return -1;
    }
    return 0;
}
