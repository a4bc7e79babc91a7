/* 12-mqtt-restart.c - mosquitto is restarted in the middle of a stream: Ferry reconnects,
 * subscribes again and keeps delivering; with the broker's persistence and Ferry's persistent
 * session nothing the publisher had handed over is lost. */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int init_integration_tests(void);

static void test_restart(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-restart");
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    char yaml[4096], args[256];
    size_t n, missing;
    const char *dir = getenv("FERRY_SERVICES_DIR");

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-restart"), NULL, "",
                "");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    /* first half */
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 2000 --devices 20 --format mixed --qos 1 --start 0"),
                 0);
    /* restart the broker */
    FY_ASSERT_EQ(fy_h_sh("FERRY_SERVICES_DIR='%s' '%s/scripts/services' mqtt-restart", dir,
                         getenv("FERRY_SOURCE_DIR")), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "connection to", 20000));
    /* Ferry must come back and subscribe again by itself (second "subscribed" line) */
    {
        int i, subs = 0;
        for (i = 0; i < 300 && subs < 2; i++) {
            subs = fy_h_sh("test $(grep -c 'subscribed to 2 filter' '%s') -ge 2", h.log) == 0 ? 2
                                                                                           : 0;
            if (subs < 2) {
                fy_h_sh("sleep 0.1");
            }
        }
        FY_ASSERT_EQ(subs, 2);
    }
    snprintf(args, sizeof(args), "--count 2000 --devices 20 --format mixed --qos 1 --start 100");
    FY_ASSERT_EQ(fy_h_loadgen(url, args), 0);
    /* until quiet: a restart may redeliver, so duplicates can come on top of the 4,000 */
    n = fy_h_consume(brokers, topic, 0, 120000, &m);
    missing = fy_h_oracle_check(m, n, 20, 0, 200, &o);
    printf("\n  restart: %zu received, %zu unique, %zu duplicates, %zu missing\n", o.received,
           o.unique, o.duplicates, missing);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("mqtt-restart", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "reconnect and resubscribe after a broker restart", test_restart) == NULL) {
        return -1;
    }
    return 0;
}
