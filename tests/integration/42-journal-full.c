/* 42-journal-full.c - D2 of docs/reliability.md: with a small journal quota (global, then the
 * sink's own max_lag_bytes) and Kafka frozen, the
 * journal fills; Ferry stops acknowledging (logs "journal full"), the broker keeps the rest;
 * when Kafka returns everything drains, ingest resumes, nothing is lost or corrupt. The third
 * case stops Ferry while the journal is full and two MQTT sources share Paho's one receive
 * thread: the waiting callback must let go (docs/reliability.md, "MQTT source"), Ferry exits
 * on SIGTERM, and a restart delivers everything. */
#include "core/clock.h"
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

/* Two MQTT sources, a per-sink quota, Kafka frozen: SIGTERM while one source's callback waits
 * for journal space used to hang in the other source's stop (Paho's lock). */
static void test_two_sources_stop(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-full2");
    char id_a[128], id_b[128], yaml[4096];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    long long t0;
    size_t n, missing;
    int rc;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    snprintf(id_a, sizeof(id_a), "%s", fy_h_unique("it-full2-tts"));
    snprintf(id_b, sizeof(id_b), "%s", fy_h_unique("it-full2-cs"));
    snprintf(yaml, sizeof(yaml),
             "instance: ferry-test\nlog_level: info\n"
             "journal:\n  dir: @DIR@/journal\n  segment_bytes: 32k\n"
             "sources:\n"
             "  - {name: tts, type: mqtt, url: \"%s\", client_id: \"%s\",\n"
             "     topics: [{filter: \"v3/+/devices/+/up\", qos: 1}]}\n"
             "  - {name: cs, type: mqtt, url: \"%s\", client_id: \"%s\",\n"
             "     topics: [{filter: \"application/+/device/+/event/up\", qos: 1}]}\n"
             "sinks:\n"
             "  - {name: kafka, type: kafka, brokers: \"%s\", linger_ms: 2, max_lag_bytes: 256k}\n"
             "routes:\n"
             "  - {name: tts, match: \"v3/+/devices/+/up\", format: tts-v3, recType: io.test.tts,\n"
             "     sinks: [{sink: kafka, topic: \"%s\"}]}\n"
             "  - {name: cs, match: \"application/+/device/+/event/up\", format: chirpstack-v4,\n"
             "     recType: io.test.cs, sinks: [{sink: kafka, topic: \"%s\"}]}\n",
             url, id_a, url, id_b, brokers, topic, topic);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "[source:mqtt:tts] subscribed", 20000));
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "[source:mqtt:cs] subscribed", 20000));
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 100 --devices 20 --format mixed --qos 1"), 0);
    n = fy_h_consume(brokers, topic, 100, 60000, &m);
    FY_ASSERT_EQ(n, 100);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_services_do("kafka-pause"), 0);
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 2000 --devices 20 --format mixed --qos 1 --start 5"),
                 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "waits for journal space", 30000));
    sleep(1);
    t0 = fy_clock_mono_ms();
    rc = fy_h_ferry_stop(&h, SIGTERM, 30000);
    printf("\n  two sources, journal full: SIGTERM -> exit %d after %lld ms\n", rc,
           fy_clock_mono_ms() - t0);
    FY_ASSERT_EQ(rc, 0);
    FY_ASSERT_EQ(fy_h_services_do("kafka-resume"), 0);
    /* the same sessions again: the broker sends what was never acknowledged */
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    n = fy_h_consume(brokers, topic, 2100, 180000, &m);
    missing = fy_h_oracle_check(m, n, 20, 0, 105, &o);
    if (missing > 0 && o.duplicates > 0) { /* duplicates took the place of the last ones */
        fy_h_kmsgs_free(m, n);
        n = fy_h_consume(brokers, topic, 2100 + o.duplicates, 30000, &m);
        missing = fy_h_oracle_check(m, n, 20, 0, 105, &o);
    }
    printf("  after the restart: %zu received, %zu duplicates, %zu missing\n", o.received,
           o.duplicates, missing);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("journal-full", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "global quota: backpressure, then drain", test_global) == NULL ||
        CU_add_test(s, "per-sink quota: backpressure, then drain", test_per_sink) == NULL ||
        CU_add_test(s, "two MQTT sources: SIGTERM while one waits, then restart",
                    test_two_sources_stop) == NULL) {
        return -1;
    }
    return 0;
}
