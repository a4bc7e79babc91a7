/* 51-puback-capture.c - battery row K3 (docs/reliability.md, "MQTT source"): proof from
 * outside that every PUBACK Ferry sends leaves after the journal write it answers, and after
 * its fsync under `fsync: always`. tcpdump captures the broker's port on loopback while 2,000
 * QoS 1 uplinks flow; the LD_PRELOAD shim tests/support/fault_io.c logs each segment write
 * and each fdatasync with the same clock; tests/support/k3_check.py checks that at every
 * PUBACK at least as many records were durable as PUBACKs had been sent. Skipped without
 * tcpdump or the right to capture (root). */
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

#define MESSAGES 2000

static void test_capture(void)
{
    const char *url, *brokers, *lib = getenv("FERRY_FAULT_IO_LIB");
    const char *topic = fy_h_unique("it-k3");
    char e_pre[600], e_1[400], e_2[400];
    const char *const env[] = {e_pre, e_1, e_2, NULL};
    char yaml[4096], cid[128], pcap[300], iolog[300], jdir[300], args[200];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    int port = 0;
    pid_t dump;
    size_t n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(lib);
    if (fy_h_sh("command -v tcpdump > /dev/null && [ \"$(id -u)\" = 0 ]") != 0) {
        printf("\n  SKIPPED: K3 needs tcpdump and root to capture loopback\n");
        return;
    }
    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    CU_ASSERT_FATAL(sscanf(strrchr(url, ':') + 1, "%d", &port) == 1);
    snprintf(cid, sizeof(cid), "%s", fy_h_unique("it-k3"));
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, cid, NULL, "  fsync: always\n", NULL);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_prepare(&h, yaml), 0);
    snprintf(pcap, sizeof(pcap), "%s/mqtt.pcap", h.dir);
    snprintf(iolog, sizeof(iolog), "%s/io.log", h.dir);
    snprintf(jdir, sizeof(jdir), "%s/journal", h.dir);

    /* capture first, so Ferry's CONNECT is in it */
    dump = fork();
    CU_ASSERT_FATAL(dump >= 0);
    if (dump == 0) {
        char filter[64];
        FILE *o = freopen("/dev/null", "w", stdout);
        (void)o;
        snprintf(filter, sizeof(filter), "tcp port %d", port);
        execlp("tcpdump", "tcpdump", "-i", "lo", "-U", "-s", "0", "-w", pcap, filter,
               (char *)NULL);
        _exit(127);
    }
    CU_ASSERT_TRUE_FATAL(fy_h_sh("for i in $(seq 1 100); do [ -s '%s' ] && exit 0; "
                                 "sleep 0.05; done; exit 1", pcap) == 0);
    snprintf(e_pre, sizeof(e_pre), "LD_PRELOAD=%s", lib);
    snprintf(e_1, sizeof(e_1), "FERRY_FAULT_IO_LOG=%s", iolog);
    snprintf(e_2, sizeof(e_2), "FERRY_FAULT_IO_DIR=%s", jdir);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart_env(&h, env), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %d --devices 20 --format tts --qos 1 --rate 1000",
             MESSAGES);
    FY_ASSERT_EQ(fy_h_loadgen(url, args), 0);
    n = fy_h_consume(brokers, topic, MESSAGES, 60000, &m);
    FY_ASSERT_EQ(n, MESSAGES);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    sleep(1); /* tcpdump reads what the kernel still buffers for it before it stops */
    kill(dump, SIGINT);
    waitpid(dump, NULL, 0);
    FY_ASSERT_EQ(fy_h_sh("python3 '%s/tests/support/k3_check.py' --pcap '%s' --iolog '%s' "
                         "--port %d --client-id '%s' --expect %d", getenv("FERRY_SOURCE_DIR"),
                         pcap, iolog, port, cid, MESSAGES), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("puback-capture", NULL, NULL);

    if (s == NULL || CU_add_test(s, "every PUBACK after its journal write and fsync",
                                 test_capture) == NULL) {
        return -1;
    }
    return 0;
}
