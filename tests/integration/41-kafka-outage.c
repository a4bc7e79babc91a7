/* 41-kafka-outage.c - O1/O2 of docs/reliability.md: during steady load the Kafka broker is stopped
 * (SIGTERM, refused connections) and later frozen (SIGSTOP, a hang); after each it returns and
 * everything is delivered: nothing lost, per-device order kept, nothing dead-lettered.
 * FERRY_OUTAGE_S sets each outage (default 30 s). */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int init_integration_tests(void);

static void test_outage(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-outage");
    long outage = fy_h_knob("FERRY_OUTAGE_S", 30);
    long rate = 500, devices = 50, per_device, messages;
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    char yaml[4096], args[256];
    size_t n, missing;
    pid_t pub;

    /* enough load to span both outages plus the gaps around them */
    messages = rate * (2 * outage + 20);
    per_device = messages / devices;
    messages = per_device * devices;
    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-outage"), NULL, "", "");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %ld --devices %ld --format mixed --qos 1 --rate %ld",
             messages, devices, rate);
    pub = fy_h_loadgen_start(url, args);
    CU_ASSERT_TRUE_FATAL(pub > 0);
    sleep(5);
    FY_ASSERT_EQ(fy_h_services_do("kafka-stop"), 0);
    sleep((unsigned)outage);
    FY_ASSERT_EQ(fy_h_services_do("kafka-start"), 0);
    sleep(5);
    FY_ASSERT_EQ(fy_h_services_do("kafka-pause"), 0);
    sleep((unsigned)outage);
    FY_ASSERT_EQ(fy_h_services_do("kafka-resume"), 0);
    FY_ASSERT_EQ(fy_h_wait_pid(pub, 600000), 0);
    n = fy_h_consume(brokers, topic, (size_t)messages, 240000, &m);
    missing = fy_h_oracle_check(m, n, (unsigned)devices, 0, (uint32_t)per_device, &o);
    printf("\n  outage %lds stop + %lds hang: %zu received, %zu unique, %zu duplicates, %zu "
           "missing, %zu out of order\n", outage, outage, o.received, o.unique, o.duplicates,
           missing, o.order_violations);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    CU_ASSERT_TRUE(fy_h_log_contains(&h, " 0 dead letters"));
    fy_h_kmsgs_free(m, n);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("kafka-outage", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "Kafka stopped, then frozen, under load", test_outage) == NULL) {
        return -1;
    }
    return 0;
}
