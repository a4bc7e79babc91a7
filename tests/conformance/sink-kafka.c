/* sink-kafka.c - the sink kit applied to the Kafka sink against the real broker of the
 * services fixture (FERRY_KAFKA_BROKERS or $FERRY_SERVICES_DIR/env), a fresh topic per run;
 * max_inflight is small so back-pressure (FY_EAGAIN) is exercised. The secrets canary runs
 * against a dead broker. */
#include "core/log.h"
#include "tests/conformance/sink_kit.h"
#include "tests/integration/harness.h"

#include <CUnit/CUnit.h>
#include <stdio.h>

int init_integration_tests(void);

static char live[1024];

static int setup(void)
{
    const char *url, *brokers;

    if (fy_h_services(&url, &brokers) != 0) {
        return -1;
    }
    snprintf(live, sizeof(live), "brokers: %s\ntopic: %s\nlinger_ms: 5\nmax_inflight: 20\n",
             brokers, fy_h_unique("conformance-kafka"));
    return 0;
}

static void test_live(void)
{
    const struct fy_sink_kit k = {"kafka", live, 300, 60000, FY_SINK_OK, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
}

static void test_options(void)
{
    const struct fy_sink_kit k = {"kafka", live, 0, 0, FY_SINK_OK, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_option_errors(&k), 0);
}

static void test_secrets(void)
{
    const struct fy_sink_kit k = {"kafka",
                                  "brokers: 127.0.0.1:1\nmessage_timeout_ms: 1500\n"
                                  "security_protocol: sasl_plaintext\nsasl_username: kit\n",
                                  0, 15000, FY_SINK_RETRY, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_secrets(&k), 0);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-sink-kafka", setup, NULL);

    fy_log_setup(FY_LOG_WARN, NULL);
    if (s == NULL || CU_add_test(s, "real broker: once each, EAGAIN, drain", test_live) == NULL ||
        CU_add_test(s, "option errors with FILE:LINE:COL", test_options) == NULL ||
        CU_add_test(s, "secrets canary", test_secrets) == NULL) {
        return -1;
    }
    return 0;
}
