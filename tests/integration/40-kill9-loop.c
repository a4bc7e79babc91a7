/* 40-kill9-loop.c - K1 of docs/reliability.md: while a publisher sends numbered QoS 1 uplinks,
 * Ferry is killed with SIGKILL at random moments and restarted; afterwards every uplink the
 * broker acknowledged to the publisher is in Kafka, per-device order holds, and the duplicate
 * count (printed) stays within kills x DUP_BOUND_PER_KILL.
 * Size: FERRY_FAULT_MESSAGES (default 50,000) and FERRY_FAULT_KILLS (default 20) in CI; the
 * issue's full size is FERRY_FAULT_MESSAGES=200000 FERRY_FAULT_KILLS=25 (on demand). */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int init_integration_tests(void);

/* Duplicates one kill may cause: MQTT in-flight (20) + the records delivered since the last
 * durable sink cursor, which is written every 250 records or 50 ms (bridge/deliver.c) but can
 * fall one batch further behind while its fsync is slow (fsync: always under ASan: 12,573
 * duplicates for 20 kills were seen, 628 per kill). 20 + 2 x 500. */
#define DUP_BOUND_PER_KILL (20 + 2 * 500)

static void run(const char *fsync)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-kill9");
    long messages = fy_h_knob("FERRY_FAULT_MESSAGES", 50000);
    long kills = fy_h_knob("FERRY_FAULT_KILLS", 20);
    long devices = 50, per_device;
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    char yaml[4096], jextra[128], args[256];
    size_t n, missing;
    pid_t pub;
    long k;
    int st;

    per_device = messages / devices;
    messages = per_device * devices;
    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    snprintf(jextra, sizeof(jextra), "  fsync: %s\n  segment_bytes: 1M\n", fsync);
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-kill9"), NULL, jextra,
                "");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %ld --devices %ld --format mixed --qos 1 --rate 2000",
             messages, devices);
    pub = fy_h_loadgen_start(url, args);
    CU_ASSERT_TRUE_FATAL(pub > 0);
    srand((unsigned)time(NULL));
    for (k = 0; k < kills; k++) {
        int ms = 500 + rand() % 1500; /* 0.5-2 s: kills spread over the whole run */
        usleep((useconds_t)ms * 1000);
        CU_ASSERT_EQUAL(fy_h_ferry_stop(&h, SIGKILL, 5000), 128 + SIGKILL);
        CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    }
    st = fy_h_wait_pid(pub, 600000);
    FY_ASSERT_EQ(st, 0); /* every uplink was acknowledged by the broker: all are obligations */
    n = fy_h_consume(brokers, topic, 0, 180000, &m);
    missing = fy_h_oracle_check(m, n, (unsigned)devices, 0, (uint32_t)per_device, &o);
    printf("\n  kill -9 (fsync %s): %ld kills, %zu received, %zu unique, %zu duplicates "
           "(bound %ld), %zu missing, %zu out of order\n", fsync, kills, o.received, o.unique,
           o.duplicates, kills * DUP_BOUND_PER_KILL, missing, o.order_violations);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    CU_ASSERT_TRUE(o.duplicates <= (size_t)(kills * DUP_BOUND_PER_KILL));
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);
}

static void test_interval(void)
{
    run("interval");
}

static void test_always(void)
{
    run("always");
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("kill9", NULL, NULL);

    if (s == NULL || CU_add_test(s, "kill -9 loop, fsync interval", test_interval) == NULL ||
        CU_add_test(s, "kill -9 loop, fsync always", test_always) == NULL) {
        return -1;
    }
    return 0;
}
