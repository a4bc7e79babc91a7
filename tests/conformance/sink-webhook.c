/* sink-webhook.c - the sink kit applied to the webhook sink: a real HTTPS receiver on loopback
 * (tests/support/https_server.py through fy_h_https_start), and a dead endpoint (a closed
 * loopback port: every record RETRY, no call blocks longer than the timeout). */
#include "core/log.h"
#include "tests/conformance/sink_kit.h"
#include "tests/integration/harness.h"

#include <CUnit/CUnit.h>
#include <stdio.h>

int init_integration_tests(void);

static char dir[128], live[1024], dead[512], dead_auth[600];
static int port;
static pid_t server;

static int setup(void)
{
    if (fy_h_https_start(dir, sizeof(dir), &port, &server) != 0) {
        return -1;
    }
    snprintf(live, sizeof(live), "url: https://127.0.0.1:%d/kit\nca_file: %s/cert.pem\n"
             "allow_private_networks: true\nbatch_max_wait_ms: 20\nbatch_max_records: 16\n",
             port, dir);
    /* port 1 on loopback: nothing listens, connect is refused at once */
    snprintf(dead, sizeof(dead), "url: https://127.0.0.1:1/kit\nallow_private_networks: true\n"
             "batch_max_wait_ms: 20\nconnect_timeout_ms: 500\ntimeout_ms: 1000\n");
    snprintf(dead_auth, sizeof(dead_auth), "%sauth: basic\nusername: kit\n", dead);
    return 0;
}

static int teardown(void)
{
    fy_h_https_stop(dir, server);
    return 0;
}

static void test_live(void)
{
    const struct fy_sink_kit k = {"webhook", live, 500, 30000, FY_SINK_OK, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
}

static void test_dead(void)
{
    const struct fy_sink_kit k = {"webhook", dead, 50, 15000, FY_SINK_RETRY, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
}

static void test_options(void)
{
    const struct fy_sink_kit k = {"webhook", live, 0, 0, FY_SINK_OK, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_option_errors(&k), 0);
}

static void test_secrets(void)
{
    const struct fy_sink_kit k = {"webhook", dead_auth, 0, 15000, FY_SINK_RETRY, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_secrets(&k), 0);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-sink-webhook", setup, teardown);

    fy_log_setup(FY_LOG_WARN, NULL);
    if (s == NULL || CU_add_test(s, "live receiver: once each, EAGAIN, drain", test_live) == NULL ||
        CU_add_test(s, "dead endpoint: RETRY, never blocks", test_dead) == NULL ||
        CU_add_test(s, "option errors with FILE:LINE:COL", test_options) == NULL ||
        CU_add_test(s, "secrets canary", test_secrets) == NULL) {
        return -1;
    }
    return 0;
}
