/* 17-e2e-aws.c - MQTT -> Ferry -> Amazon SQS and Kinesis, against the AWS-compatible moto
 * server on loopback (ctest fixture `aws`; no real AWS is reachable here), read back with
 * boto3:
 *   - 10,000 QoS 1 uplinks from 50 devices reach a Kinesis stream (2 shards): none missing,
 *     no duplicate, per-device order; 500 reach an SQS standard queue: none missing, no
 *     duplicate (moto's SendMessageBatch slows down with the queue's length, about 0.35 ms
 *     per queued message, so the SQS runs are smaller and the queue is drained as it fills);
 *   - a dead SQS endpoint beside a healthy Kinesis sink does not slow the healthy one;
 *   - partial failures (tests/support/aws_fault_proxy.py refuses every 7th record of each
 *     PutRecords / SendMessageBatch without storing it): the refused records are sent again
 *     alone, nothing is missing or doubled, and per-device order holds in the stream.
 * Sizes: FERRY_AWS_MESSAGES (default 10,000, the Kinesis run), FERRY_AWS_SQS_MESSAGES
 * (default 500). */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int init_integration_tests(void);

/* moto's Kinesis is not thread-safe: concurrent PutRecords calls get the same sequence
 * numbers and moto keeps only one of the records (measured: 8 threads x 40 calls x 50
 * records, 16,000 answered with a SequenceNumber, 15,862 stored). Ferry's kinesis sink sends
 * one request at a time to it here; real Kinesis takes parallel requests. */
#define KINESIS_MOTO "    parallel: 1\n"

static const char *aws, *aws_auth, *python;

/* Sources and routes for both formats into the sinks named in route_sinks ("[a, b]"). */
static void config(char *out, size_t size, const char *url, const char *sinks,
                   const char *route_sinks)
{
    snprintf(out, size,
             "instance: ferry-test\nlog_level: info\n"
             "journal:\n  dir: @DIR@/journal\n"
             "sources:\n  - name: ns\n    type: mqtt\n    url: %s\n    client_id: %s\n"
             "    topics:\n      - filter: v3/+/devices/+/up\n        qos: 1\n"
             "      - filter: application/+/device/+/event/up\n        qos: 1\n"
             "sinks:\n%s"
             "routes:\n"
             "  - name: tts\n    match: v3/+/devices/+/up\n    format: tts-v3\n"
             "    recType: io.test.tts\n    sinks: %s\n"
             "  - name: chirpstack\n    match: application/+/device/+/event/up\n"
             "    format: chirpstack-v4\n    recType: io.test.cs\n    sinks: %s\n",
             url, fy_h_unique("it-aws"), sinks, route_sinks, route_sinks);
}

/* The options every AWS sink of these tests has, for endpoint, into b[512]. */
static const char *aws_common(char *b, const char *endpoint)
{
    snprintf(b, 512, "    region: eu-west-1\n    endpoint: %s\n"
             "    access_key_id: testing\n    secret_access_key: testing\n"
             "    allow_insecure: true\n    allow_private_networks: true\n", endpoint);
    return b;
}

static int make_queue(char *url, size_t size)
{
    int st;
    char *out = fy_h_aws_tool(aws, &st, "sqs-create %s", fy_h_unique("it-q"));
    int ok = out != NULL && st == 0 && sscanf(out, "%511s", url) == 1;

    (void)size;
    free(out);
    return ok ? 0 : -1;
}

static int make_stream(char *name, size_t size)
{
    int st;
    char *out;

    snprintf(name, size, "%s", fy_h_unique("it-stream"));
    out = fy_h_aws_tool(aws, &st, "kinesis-create %s --shards 2", name);
    free(out);
    return st == 0 ? 0 : -1;
}

/* Check a read-back: count, nothing missing, no duplicates, per-device order when ordered. */
static void check(const char *what, struct fy_h_kmsg *m, size_t n, long devices, long per,
                  int ordered)
{
    struct fy_h_oracle o;
    size_t missing = fy_h_oracle_check(m, n, (unsigned)devices, 0, (uint32_t)per, &o);

    printf("\n  %s: %zu received, %zu unique, %zu duplicates, %zu missing, %zu out of order\n",
           what, o.received, o.unique, o.duplicates, missing, o.order_violations);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.duplicates, 0);
    FY_ASSERT_EQ(o.foreign, 0);
    if (ordered) {
        FY_ASSERT_EQ(o.order_violations, 0);
    }
}

/* messages uplinks from 50 devices through sinks (YAML) into the route's sink list. */
static int run(struct fy_h_ferry *h, const char *sinks, const char *route_sinks, long messages)
{
    const char *url, *brokers;
    char yaml[8192], args[256];

    if (fy_h_services(&url, &brokers) != 0) {
        return -1;
    }
    config(yaml, sizeof(yaml), url, sinks, route_sinks);
    if (fy_h_ferry_start(h, yaml) != 0 || !fy_h_wait_log(h, "subscribed to 2 filter(s)", 20000)) {
        return -1;
    }
    snprintf(args, sizeof(args), "--count %ld --devices 50 --format mixed --qos 1", messages);
    return fy_h_loadgen(url, args);
}

/* Read the whole stream until no (device, fCnt) is missing or timeout_s: a reader that
 * stops at the first `messages` records could stop before the last ones are written when
 * duplicates came first. */
static size_t read_stream(const char *stream, long per, int timeout_s, struct fy_h_kmsg **m)
{
    struct fy_h_oracle o;
    long waited = 0;
    size_t n = 0;

    *m = NULL;
    for (;;) {
        fy_h_kmsgs_free(*m, n);
        n = fy_h_aws_read("kinesis", stream, 0, 60, m);
        if (fy_h_oracle_check(*m, n, 50, 0, (uint32_t)per, &o) == 0 || waited >= timeout_s) {
            return n;
        }
        sleep(3);
        waited += 3;
    }
}

static void test_kinesis(void)
{
    long messages = fy_h_knob("FERRY_AWS_MESSAGES", 4000) / 50 * 50;
    char sinks[2048], stream[128], c1[512];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(make_stream(stream, sizeof(stream)), 0);
    snprintf(sinks, sizeof(sinks),
             "  - name: s\n    type: kinesis\n    stream_name: %s\n" KINESIS_MOTO "%s",
             stream, aws_common(c1, aws));
    CU_ASSERT_EQUAL_FATAL(run(&h, sinks, "[s]", messages), 0);
    n = read_stream(stream, messages / 50, 180, &m);
    check("kinesis", m, n, 50, messages / 50, 1);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);
}

static void test_sqs(void)
{
    long messages = fy_h_knob("FERRY_AWS_SQS_MESSAGES", 500) / 50 * 50;
    char sinks[2048], qurl[512], c1[512];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(make_queue(qurl, sizeof(qurl)), 0);
    snprintf(sinks, sizeof(sinks), "  - name: q\n    type: sqs\n    queue_url: %s\n%s", qurl,
             aws_common(c1, aws));
    CU_ASSERT_EQUAL_FATAL(run(&h, sinks, "[q]", messages), 0);
    n = fy_h_aws_read("sqs", qurl, (size_t)messages, 180, &m);
    check("sqs (standard queue: no order promised)", m, n, 50, messages / 50, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);
}

static void test_dead_neighbour(void)
{
    long messages = 2000;
    char sinks[4096], stream[128], c1[512], c2[512];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    long long t0, ms;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(make_stream(stream, sizeof(stream)), 0);
    snprintf(sinks, sizeof(sinks),
             "  - name: dead\n    type: sqs\n    queue_url: http://127.0.0.1:1/0/q\n%s"
             "    connect_timeout_ms: 500\n    timeout_ms: 1000\n"
             "  - name: s\n    type: kinesis\n    stream_name: %s\n" KINESIS_MOTO "%s",
             aws_common(c1, "http://127.0.0.1:1"), stream, aws_common(c2, aws));
    t0 = (long long)time(NULL);
    CU_ASSERT_EQUAL_FATAL(run(&h, sinks, "[dead, s]", messages), 0);
    n = read_stream(stream, messages / 50, 90, &m);
    ms = ((long long)time(NULL) - t0) * 1000;
    printf("\n  healthy kinesis beside a dead sqs sink: %zu records in about %lld ms\n", n, ms);
    check("kinesis beside a dead sink", m, n, 50, messages / 50, 1);
    FY_ASSERT(ms <= 60000);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    fy_h_ferry_cleanup(&h);
}

/* Start the fault proxy in front of moto; fills *port and *pid. */
static int proxy_start(int *port, pid_t *pid, const char *args)
{
    char cmd[1024];
    FILE *p;
    int pd = 0;

    snprintf(cmd, sizeof(cmd), "python3 '%s/tests/support/aws_fault_proxy.py' --upstream %s %s "
             "2>/dev/null & echo $!", getenv("FERRY_SOURCE_DIR"), aws, args);
    p = popen(cmd, "r");
    if (p == NULL || fscanf(p, "%d", &pd) != 1 || fscanf(p, " port %d", port) != 1) {
        return -1;
    }
    *pid = (pid_t)pd;
    return 0; /* the pipe stays open on purpose: the proxy writes nothing more to it */
}

static void test_partial_failures(void)
{
    long kin = fy_h_knob("FERRY_AWS_PARTIAL_MESSAGES", 2000) / 50 * 50, sqs = 500;
    char sinks[4096], qurl[512], stream[128], ep[128], c1[512];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    int port = 0;
    pid_t proxy = -1;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(make_queue(qurl, sizeof(qurl)), 0);
    CU_ASSERT_EQUAL_FATAL(make_stream(stream, sizeof(stream)), 0);
    CU_ASSERT_EQUAL_FATAL(proxy_start(&port, &proxy, "--fail-every 7"), 0);
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    /* the proxy refuses every 7th entry it sees, retries included: a record sent again alone
     * lands on a 7th slot again one time in 7, so entry_retries is high enough that none
     * reaches the core's retry (whose go-back-N would resend others: duplicates) */
    snprintf(sinks, sizeof(sinks),
             "  - name: s\n    type: kinesis\n    stream_name: %s\n" KINESIS_MOTO
             "    entry_retries: 20\n%s",
             stream, aws_common(c1, ep));
    CU_ASSERT_EQUAL(run(&h, sinks, "[s]", kin), 0);
    n = read_stream(stream, kin / 50, 180, &m);
    check("kinesis, every 7th record refused once", m, n, 50, kin / 50, 1);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);

    snprintf(sinks, sizeof(sinks),
             "  - name: q\n    type: sqs\n    queue_url: %s\n    entry_retries: 20\n%s", qurl,
             aws_common(c1, ep));
    CU_ASSERT_EQUAL(run(&h, sinks, "[q]", sqs), 0);
    n = fy_h_aws_read("sqs", qurl, (size_t)sqs, 180, &m);
    check("sqs, every 7th entry refused once", m, n, 50, sqs / 50, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_h_ferry_cleanup(&h);
    if (proxy > 0) {
        kill(proxy, SIGTERM);
        waitpid(proxy, NULL, 0);
    }
}

static int setup(void)
{
    return fy_h_aws(&aws, &aws_auth, &python);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("e2e-aws", setup, NULL);

    if (s == NULL ||
        CU_add_test(s, "10,000 uplinks to Kinesis: complete, once, per-device order",
                    test_kinesis) == NULL ||
        CU_add_test(s, "a dead SQS endpoint does not slow a healthy Kinesis sink",
                    test_dead_neighbour) == NULL ||
        CU_add_test(s, "500 uplinks to SQS: complete, once", test_sqs) == NULL ||
        CU_add_test(s, "partial failures are sent again alone", test_partial_failures) ==
            NULL) {
        return -1;
    }
    return 0;
}
