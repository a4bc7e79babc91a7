/* 43-dlq-replay.c - a sink that rejects a record sends it to the dead-letter journal with the
 * reason; `ferry dlq replay` delivers it once the sink accepts. The rejection is real: the
 * broker refuses records over the topic's max.message.bytes (MESSAGE_TOO_LARGE), which is a
 * permanent error; after the topic limit is raised, the replayed records are delivered. */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int init_integration_tests(void);

static void test_replay(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-dlq");
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    char yaml[4096];
    size_t n;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    /* envelopes are ~700 bytes: a 200-byte topic limit rejects every one */
    {
        char verb[256];
        snprintf(verb, sizeof(verb), "kafka-topic %s max.message.bytes=200", topic);
        FY_ASSERT_EQ(fy_h_services_do(verb), 0);
    }
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-dlq"), NULL, "",
                "    compression: none\n");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 10 --devices 5 --format tts --qos 1"), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "record dead-lettered", 30000));
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    CU_ASSERT_TRUE(fy_h_log_contains(&h, "MSG_SIZE_TOO_LARGE"));
    FY_ASSERT_EQ(fy_h_sh("'%s' journal stat -c '%s' | grep -q 'dead letters 10'",
                         getenv("FERRY_BIN"), h.config), 0);
    FY_ASSERT_EQ(fy_h_sh("'%s' dlq list -c '%s' | grep -q '10 dead letter'", getenv("FERRY_BIN"),
                         h.config), 0);
    FY_ASSERT_EQ(fy_h_sh("'%s' dlq show -c '%s' 1 | grep -q '\"sink\":.*\"kafka\"'",
                         getenv("FERRY_BIN"), h.config), 0);
    /* fix the remote (raise the topic limit), replay, run again */
    {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "kafka-configs %s", topic);
        FY_ASSERT_EQ(fy_h_services_do(cmd), 0);
    }
    FY_ASSERT_EQ(fy_h_sh("'%s' dlq replay -c '%s' | grep -q '10 record(s) replayed'",
                         getenv("FERRY_BIN"), h.config), 0);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    n = fy_h_consume(brokers, topic, 10, 60000, &m);
    FY_ASSERT_EQ(n, 10);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("dlq", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "rejected record dead-lettered, then replayed", test_replay) == NULL) {
        return -1;
    }
    return 0;
}
