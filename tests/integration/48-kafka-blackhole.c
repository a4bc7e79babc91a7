/* 48-kafka-blackhole.c - battery row O3 (docs/reliability.md): the Kafka broker's port is
 * blackholed (packets dropped both ways, no RST, no FIN) for longer than librdkafka's socket
 * timeout, under QoS 1 load. Nothing may be lost or reordered, nothing dead-lettered, and the
 * backlog drains after the network returns.
 *
 * Dropping packets on loopback would hit every process of the machine, so the test re-runs
 * itself in a network namespace of its own (`unshare -n`), starts its own mosquitto and Kafka
 * there (scripts/services) and blackholes with iptables inside that namespace only.
 * CI size: 15 s with `socket.timeout.ms` 10 s; on demand FERRY_BLACKHOLE_S=120 with
 * librdkafka's defaults (FERRY_BLACKHOLE_SOCKET_MS=0). Skipped where unshare or iptables
 * cannot run (not root). */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_integration_tests(void);

static int blackhole(int port, int on)
{
    const char *op = on ? "-A" : "-D";

    return fy_h_sh("iptables %s OUTPUT -p tcp --dport %d -j DROP && "
                   "iptables %s OUTPUT -p tcp --sport %d -j DROP", op, port, op, port);
}

/* The test itself, inside the namespace. */
static void inside(void)
{
    const char *url, *brokers, *topic = fy_h_unique("it-blackhole");
    long outage = fy_h_knob("FERRY_BLACKHOLE_S", 15);
    long socket_ms = fy_h_knob("FERRY_BLACKHOLE_SOCKET_MS", 10000);
    long rate = 500, devices = 50, per_device, messages;
    char dir[] = "/tmp/ferry-netns-XXXXXX", yaml[4096], args[256], extra[128] = "";
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    size_t n, missing;
    int kport = 0;
    pid_t pub;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    setenv("FERRY_SERVICES_DIR", dir, 1);
    unsetenv("FERRY_MQTT_URL");
    unsetenv("FERRY_KAFKA_BROKERS");
    CU_ASSERT_EQUAL_FATAL(fy_h_services_do("up > /dev/null"), 0);
    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    CU_ASSERT_FATAL(sscanf(strrchr(brokers, ':') + 1, "%d", &kport) == 1);
    messages = rate * (outage + 20);
    per_device = messages / devices;
    messages = per_device * devices;
    if (socket_ms > 0) {
        snprintf(extra, sizeof(extra), "    rdkafka.socket.timeout.ms: %ld\n", socket_ms);
    }
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-blackhole"), NULL, "",
                extra);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %ld --devices %ld --format mixed --qos 1 --rate %ld",
             messages, devices, rate);
    pub = fy_h_loadgen_start(url, args);
    CU_ASSERT_TRUE_FATAL(pub > 0);
    /* Kafka is taking records: then the network goes silent */
    n = fy_h_consume(brokers, topic, 500, 60000, &m);
    FY_ASSERT_EQ(n, 500);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(blackhole(kport, 1), 0);
    sleep((unsigned)outage); /* the fault is the time itself: no condition to wait for */
    FY_ASSERT_EQ(blackhole(kport, 0), 0);
    FY_ASSERT_EQ(fy_h_wait_pid(pub, 600000), 0);
    n = fy_h_consume(brokers, topic, (size_t)messages, 180000, &m);
    missing = fy_h_oracle_check(m, n, (unsigned)devices, 0, (uint32_t)per_device, &o);
    if (missing > 0 && o.duplicates > 0) { /* duplicates took the place of the last ones */
        fy_h_kmsgs_free(m, n);
        n = fy_h_consume(brokers, topic, (size_t)messages + o.duplicates, 30000, &m);
        missing = fy_h_oracle_check(m, n, (unsigned)devices, 0, (uint32_t)per_device, &o);
    }
    printf("\n  blackhole %lds (socket.timeout.ms %ld): %zu received, %zu unique, %zu "
           "duplicates, %zu missing, %zu out of order\n", outage, socket_ms, o.received, o.unique,
           o.duplicates, missing, o.order_violations);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    CU_ASSERT_TRUE(fy_h_log_contains(&h, " 0 dead letters"));
    /* the fault really outlasted the socket timeout: librdkafka gave up on the connection */
    if (outage * 1000 > (socket_ms > 0 ? socket_ms : 60000)) { /* librdkafka's default */
        CU_ASSERT_TRUE(fy_h_log_contains(&h, "request(s) timed out"));
    }
    fy_h_kmsgs_free(m, n);
    fy_h_ferry_cleanup(&h);
    fy_h_services_do("down > /dev/null");
    fy_h_sh("rm -rf '%s'", dir);
}

static void test_blackhole(void)
{
    char self[PATH_MAX];
    ssize_t len;
    int rc;

    if (getenv("FERRY_NETNS_INSIDE") != NULL) {
        inside();
        return;
    }
    if (fy_h_sh("unshare -n sh -c 'iptables -L OUTPUT -n' > /dev/null 2>&1") != 0) {
        printf("\n  SKIPPED: no network namespace with iptables here (needs root and "
               "iptables)\n");
        return;
    }
    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CU_ASSERT_FATAL(len > 0);
    self[len] = '\0';
    fflush(stdout);
    rc = fy_h_sh("FERRY_NETNS_INSIDE=1 unshare -n sh -c 'ip link set lo up && exec \"%s\"'",
                 self);
    FY_ASSERT_EQ(rc, 0);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("kafka-blackhole", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "Kafka blackholed past the socket timeout, under load",
                    test_blackhole) == NULL) {
        return -1;
    }
    return 0;
}
