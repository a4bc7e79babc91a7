/* test_deliver.c - the core retry policy: backoff schedule, Retry-After parsing, and a
 * scripted in-process sink (a test plugin, standing in for a remote; the real sinks have their
 * own tests against real servers) driven through a real journal. */
#include "bridge/config.h"
#include "bridge/deliver.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <stdint.h>

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

int init_deliver_tests(void)
{
    CU_pSuite s = CU_add_suite("deliver", NULL, NULL);

    if (s == NULL || CU_add_test(s, "backoff stays within [base/2, cap]", test_backoff_bounds) == NULL ||
        CU_add_test(s, "backoff jitter spreads", test_backoff_spreads) == NULL ||
        CU_add_test(s, "Retry-After from sink reasons", test_retry_after) == NULL) {
        return -1;
    }
    return 0;
}
