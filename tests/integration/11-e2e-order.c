/* 11-e2e-order.c - 10,000 QoS 1 uplinks from 50 devices (both formats) arrive in Kafka
 * complete, and each device's uplinks keep their order (key = devEUI -> one partition). */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>

int init_integration_tests(void);

static void test_order(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-order");
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    char yaml[4096];
    size_t n, missing;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-order"), NULL, "", "");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 10000 --devices 50 --format mixed --qos 1"), 0);
    n = fy_h_consume(brokers, topic, 10000, 120000, &m);
    missing = fy_h_oracle_check(m, n, 50, 0, 200, &o);
    printf("\n  order: %zu received, %zu unique, %zu duplicates, %zu missing, %zu out of order\n",
           o.received, o.unique, o.duplicates, missing, o.order_violations);
    FY_ASSERT_EQ(n, 10000);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    FY_ASSERT_EQ(o.foreign, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("e2e-order", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "10,000 uplinks, 50 devices, per-device order", test_order) == NULL) {
        return -1;
    }
    return 0;
}
