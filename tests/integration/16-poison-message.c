/* 16-poison-message.c - issue 15: one uplink whose JavaScript codec returns a 3 MiB object, in
 * the middle of 200 good ones (QoS 1, persistent session, real mosquitto). That one uplink is a
 * dead letter with its reason and is acknowledged; Ferry keeps running; the 200 good ones reach
 * Kafka in order; after a restart the broker does not redeliver it (no poison loop) and a fresh
 * uplink still goes through. Before the fix Ferry logged "journal write failed, refusing all
 * messages" and exited 1, and the broker redelivered the message at every restart. */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int init_integration_tests(void);

#define GOOD 200
#define BAD_AT 100 /* fCnt of the poison uplink: 0..99 good, 100 bad, 101..200 good */

static const char *const SCRIPT =
    "function decodeUplink(input) {\n"
    "  if (input.fPort === 99) return {data: {blob: \"x\".repeat(3 * 1024 * 1024)}};\n"
    "  return {data: {len: input.bytes.length}};\n"
    "}\n";

/* One TTS v3 uplink on a single line (mosquitto_pub -l sends one message per line). */
static void uplink(FILE *f, unsigned fcnt, int port)
{
    fprintf(f,
            "{\"end_device_ids\":{\"device_id\":\"poison-dev\",\"application_ids\":"
            "{\"application_id\":\"app1\"},\"dev_eui\":\"70B3D57ED0FF0016\"},"
            "\"received_at\":\"2026-01-01T00:00:00Z\",\"uplink_message\":{\"f_port\":%d,"
            "\"f_cnt\":%u,\"frm_payload\":\"AQI=\"}}\n",
            port, fcnt);
}

/* Publish uplinks [from, to] at QoS 1 over one connection, in order. */
static int publish_range(const char *url, const char *topic, unsigned from, unsigned to)
{
    char path[] = "/tmp/ferry-poison-XXXXXX";
    char host[200];
    int port = 1883, fd, rc;
    unsigned i;
    FILE *f;

    if (sscanf(url, "tcp://%199[^:]:%d", host, &port) < 1 || (fd = mkstemp(path)) < 0) {
        return -1;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(path);
        return -1;
    }
    for (i = from; i <= to; i++) {
        uplink(f, i, i == BAD_AT ? 99 : 1);
    }
    fclose(f);
    rc = fy_h_sh("mosquitto_pub -h '%s' -p %d -q 1 -t '%s' -l < '%s'", host, port, topic, path);
    unlink(path);
    return rc;
}

/* fCnt of a consumed envelope, or -1. */
static long fcnt_of(const struct fy_h_kmsg *m)
{
    const char *f = m->value != NULL ? strstr(m->value, "\"fCnt\":") : NULL;

    return f != NULL ? strtol(f + 7, NULL, 10) : -1;
}

static int alive(const struct fy_h_ferry *h)
{
    int st;

    return h->pid > 0 && waitpid(h->pid, &st, WNOHANG) == 0;
}

static void test_poison(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-poison");
    const char *cid = fy_h_unique("it-poison");
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    char yaml[4096], path[400];
    size_t n, i;
    long expect;
    int in_order = 1;
    FILE *f;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    snprintf(yaml, sizeof(yaml),
             "instance: ferry-test\n"
             "log_level: info\n"
             "journal:\n"
             "  dir: @DIR@/journal\n"
             "sources:\n"
             "  - name: ns\n"
             "    type: mqtt\n"
             "    url: %s\n"
             "    client_id: %s\n"
             "    topics:\n"
             "      - filter: v3/+/devices/+/up\n"
             "        qos: 1\n"
             "sinks:\n"
             "  - name: kafka\n"
             "    type: kafka\n"
             "    brokers: %s\n"
             "    linger_ms: 2\n"
             "routes:\n"
             "  - name: js\n"
             "    match: v3/+/devices/+/up\n"
             "    format: tts-v3\n"
             "    codec: javascript\n"
             "    codec_options: {script: @DIR@/poison.js, timeout_ms: 5000}\n"
             "    recType: io.test.poison\n"
             "    sinks: [{sink: kafka, topic: %s}]\n",
             url, cid, brokers, topic);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_prepare(&h, yaml), 0);
    snprintf(path, sizeof(path), "%s/poison.js", h.dir);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(SCRIPT, f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    CU_ASSERT_TRUE_FATAL(fy_h_wait_log(&h, "subscribed to 1 filter(s)", 20000));

    FY_ASSERT_EQ(publish_range(url, "v3/app1/devices/poison-dev/up", 0, GOOD), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "dead-lettered", 30000));
    n = fy_h_consume(brokers, topic, GOOD, 60000, &m);
    printf("\n  poison: %zu of %d good uplinks delivered\n", n, GOOD);
    FY_ASSERT_EQ(n, GOOD);
    for (i = 0, expect = 0; i < n; i++, expect++) {
        if (expect == BAD_AT) {
            expect++;
        }
        if (fcnt_of(&m[i]) != expect) {
            fprintf(stderr, "  message %zu: fCnt %ld, expected %ld\n", i, fcnt_of(&m[i]), expect);
            in_order = 0;
            break;
        }
    }
    FY_ASSERT(in_order);
    fy_h_kmsgs_free(m, n);
    m = NULL;
    FY_ASSERT(alive(&h));
    FY_ASSERT(!fy_h_log_contains(&h, "refusing all messages"));
    FY_ASSERT(fy_h_log_contains(&h, "over the record limit"));
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);

    /* the dead letter, with its reason, in `ferry dlq list` */
    FY_ASSERT_EQ(fy_h_sh("'%s' dlq list -c '%s' | grep -q '1 dead letter'", getenv("FERRY_BIN"),
                         h.config), 0);
    FY_ASSERT_EQ(fy_h_sh("'%s' dlq list -c '%s' | grep 'encode' | grep -q 'over the record "
                         "limit'", getenv("FERRY_BIN"), h.config), 0);

    /* restart: the poison uplink was acknowledged, so the broker does not redeliver it; Ferry
     * stays up and a fresh uplink goes through */
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 1 filter(s)", 20000));
    FY_ASSERT_EQ(publish_range(url, "v3/app1/devices/poison-dev/up", GOOD + 1, GOOD + 1), 0);
    n = fy_h_consume(brokers, topic, GOOD + 1, 60000, &m);
    FY_ASSERT_EQ(n, GOOD + 1);
    if (n == GOOD + 1) {
        FY_ASSERT_EQ(fcnt_of(&m[GOOD]), GOOD + 1);
    }
    fy_h_kmsgs_free(m, n);
    FY_ASSERT(alive(&h));
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    FY_ASSERT_EQ(fy_h_sh("test $(grep -c 'dead-lettered' '%s') -eq 1", h.log), 0);
    FY_ASSERT_EQ(fy_h_sh("'%s' dlq list -c '%s' | grep -q '1 dead letter'", getenv("FERRY_BIN"),
                         h.config), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("poison-message", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "a 3 MiB codec output is a dead letter; 200 good ones flow; no loop",
                    test_poison) == NULL) {
        return -1;
    }
    return 0;
}
