/* 13-shared-subs.c - two Ferry instances in one MQTT 5 shared-subscription group split a
 * feed: every uplink arrives, and none is delivered by both. */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>

int init_integration_tests(void);

static void test_shared(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-shared");
    const char *group = fy_h_unique("grp");
    struct fy_h_ferry a, b;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    char yaml[4096];
    size_t n, missing;
    int a_got, b_got;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-shared-a"), group, "",
                "");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&a, yaml), 0);
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-shared-b"), group, "",
                "");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&b, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&a, "subscribed to 2 filter(s)", 20000));
    CU_ASSERT_TRUE(fy_h_wait_log(&b, "subscribed to 2 filter(s)", 20000));
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 2000 --devices 20 --format mixed --qos 1"), 0);
    n = fy_h_consume(brokers, topic, 2000, 60000, &m);
    missing = fy_h_oracle_check(m, n, 20, 0, 100, &o);
    FY_ASSERT_EQ(fy_h_ferry_stop(&a, SIGTERM, 20000), 0);
    FY_ASSERT_EQ(fy_h_ferry_stop(&b, SIGTERM, 20000), 0);
    /* both instances took part */
    a_got = fy_h_sh("grep -q 'final: 0 received' '%s'", a.log) != 0;
    b_got = fy_h_sh("grep -q 'final: 0 received' '%s'", b.log) != 0;
    printf("\n  shared: %zu received, %zu duplicates, %zu missing; a took part %d, b %d\n", n,
           o.duplicates, missing, a_got, b_got);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.duplicates, 0);
    CU_ASSERT_TRUE(a_got && b_got);
    fy_h_kmsgs_free(m, n);
    fy_h_ferry_cleanup(&a);
    fy_h_ferry_cleanup(&b);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("shared-subs", NULL, NULL);

    if (s == NULL || CU_add_test(s, "two instances split a feed", test_shared) == NULL) {
        return -1;
    }
    return 0;
}
