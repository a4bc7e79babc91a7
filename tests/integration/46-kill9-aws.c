/* 46-kill9-aws.c - K1 of docs/reliability.md for the AWS sinks: while a publisher sends
 * numbered QoS 1 uplinks, Ferry (routing into a Kinesis stream on the AWS-compatible moto
 * server, fixture `aws`; no real AWS is reachable here) is killed with SIGKILL at random
 * moments and restarted; afterwards every uplink the broker acknowledged is in the stream,
 * per-device order holds (first appearances), and the duplicates are counted and printed.
 * Size: FERRY_FAULT_AWS_MESSAGES (default 20,000) and FERRY_FAULT_AWS_KILLS (default 5). */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int init_integration_tests(void);

static void test_kill9(void)
{
    const char *url, *brokers, *aws, *aws_auth, *py;
    long messages = fy_h_knob("FERRY_FAULT_AWS_MESSAGES", 20000);
    long kills = fy_h_knob("FERRY_FAULT_AWS_KILLS", 5), devices = 50, per, k;
    char yaml[8192], stream[128], args[256];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    size_t n = 0, missing = 1;
    int64_t waited = 0;
    char *out;
    pid_t pub;
    int st;

    per = messages / devices;
    messages = per * devices;
    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    CU_ASSERT_EQUAL_FATAL(fy_h_aws(&aws, &aws_auth, &py), 0);
    snprintf(stream, sizeof(stream), "%s", fy_h_unique("it-kill9-aws"));
    out = fy_h_aws_tool(aws, &st, "kinesis-create %s --shards 2", stream);
    free(out);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    snprintf(yaml, sizeof(yaml),
             "instance: ferry-test\nlog_level: info\n"
             "journal:\n  dir: @DIR@/journal\n  segment_bytes: 1M\n"
             "sources:\n  - name: ns\n    type: mqtt\n    url: %s\n    client_id: %s\n"
             "    topics:\n      - filter: v3/+/devices/+/up\n        qos: 1\n"
             "      - filter: application/+/device/+/event/up\n        qos: 1\n"
             "sinks:\n  - name: s\n    type: kinesis\n    stream_name: %s\n"
             "    parallel: 1\n" /* moto's Kinesis loses records under parallel calls */
             "    region: eu-west-1\n    endpoint: %s\n    access_key_id: testing\n"
             "    secret_access_key: testing\n    allow_insecure: true\n"
             "    allow_private_networks: true\n"
             "routes:\n"
             "  - name: tts\n    match: v3/+/devices/+/up\n    format: tts-v3\n"
             "    recType: io.test.tts\n    sinks: [s]\n"
             "  - name: chirpstack\n    match: application/+/device/+/event/up\n"
             "    format: chirpstack-v4\n    recType: io.test.cs\n    sinks: [s]\n",
             url, fy_h_unique("it-kill9-aws"), stream, aws);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %ld --devices %ld --format mixed --qos 1 --rate 1000",
             messages, devices);
    pub = fy_h_loadgen_start(url, args);
    CU_ASSERT_TRUE_FATAL(pub > 0);
    srand((unsigned)time(NULL));
    for (k = 0; k < kills; k++) {
        int ms = 1500 + rand() % 2000; /* 1.5-3.5 s: kills spread over the ~20 s run */
        usleep((useconds_t)ms * 1000);
        CU_ASSERT_EQUAL(fy_h_ferry_stop(&h, SIGKILL, 5000), 128 + SIGKILL);
        CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    }
    st = fy_h_wait_pid(pub, 300000);
    FY_ASSERT_EQ(st, 0); /* every uplink was acknowledged by the broker: all are obligations */
    /* read the whole stream until nothing is missing (or 3 minutes) */
    while (missing > 0 && waited < 180000) {
        fy_h_kmsgs_free(m, n);
        n = fy_h_aws_read("kinesis", stream, 0, 60, &m);
        missing = fy_h_oracle_check(m, n, (unsigned)devices, 0, (uint32_t)per, &o);
        if (missing > 0) {
            sleep(5);
            waited += 5000;
        }
    }
    missing = fy_h_oracle_check(m, n, (unsigned)devices, 0, (uint32_t)per, &o);
    printf("\n  kill -9 into Kinesis: %ld kills, %zu received, %zu unique, %zu duplicates, "
           "%zu missing, %zu out of order\n", kills, o.received, o.unique, o.duplicates,
           missing, o.order_violations);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    FY_ASSERT_EQ(o.foreign, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("kill9-aws", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "kill -9 loop into Kinesis: nothing lost, order kept", test_kill9) ==
            NULL) {
        return -1;
    }
    return 0;
}
