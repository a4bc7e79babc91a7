/* 49-kill-recovery.c - battery row K2 (docs/reliability.md): Ferry is SIGKILLed ten times in
 * the first 300 ms after start, while it recovers a journal holding every uplink of a backlog
 * (Kafka frozen while the backlog was taken in). Every restart must come up, recovery of the
 * whole journal must take < 10 s, and when Kafka returns every uplink arrives, in order per
 * device. CI size: 100,000 records; the full row: FERRY_K2_RECORDS=1000000. */
#include "core/clock.h"
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int init_integration_tests(void);

#define DEVICES 50
#define KILLS 10

/* Wait up to timeout_ms until /status says received >= n. */
static int wait_received(int admin, long n, int timeout_ms)
{
    long long end = fy_clock_mono_ms() + fy_h_ms(timeout_ms);

    while (fy_clock_mono_ms() < end) {
        if (fy_h_sh("curl -sf http://127.0.0.1:%d/status | tr -d ' \\t\\n' | "
                    "grep -oE '\"ingest\":\\{\"received\":[0-9]+' | "
                    "awk -F: '{exit !($3 >= %ld)}'", admin, n) == 0) {
            return 1;
        }
        usleep(200000);
    }
    return 0;
}

/* Milliseconds from the last spawn until the log's next "running:" line, or -1. */
static long long time_to_running(struct fy_h_ferry *h, long from, long long t0, int timeout_ms)
{
    long long end = fy_clock_mono_ms() + fy_h_ms(timeout_ms);
    char line[4096];

    do { /* at least one look, even with timeout_ms 0 */
        FILE *f = fopen(h->log, "r");
        if (f != NULL) {
            fseek(f, from, SEEK_SET);
            while (fgets(line, sizeof(line), f) != NULL) {
                if (strstr(line, "] running:") != NULL) {
                    fclose(f);
                    return fy_clock_mono_ms() - t0;
                }
            }
            fclose(f);
        }
        usleep(5000);
    } while (fy_clock_mono_ms() < end);
    return -1;
}

static long log_size(const struct fy_h_ferry *h)
{
    struct stat st;
    return stat(h->log, &st) == 0 ? (long)st.st_size : 0;
}

static void test_kill_recovery(void)
{
    const char *url, *brokers, *topic = fy_h_unique("it-k2");
    long records = fy_h_knob("FERRY_K2_RECORDS", 100000) / DEVICES * DEVICES;
    unsigned seed = (unsigned)fy_h_knob("FERRY_K2_SEED", (long)(fy_clock_mono_ms() % 100000));
    char yaml[4096], jextra[256], args[256];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    long long t0, worst_kill = 0, recovery;
    size_t n, missing;
    int admin = fy_h_free_port(), k, up_before_kill = 0;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    srand(seed);
    snprintf(jextra, sizeof(jextra), "  segment_bytes: 8M\n  max_bytes: 4G\n");
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-k2"), NULL, jextra,
                "    max_lag_bytes: 4G\n");
    {
        /* an admin listener, for the received count */
        char with_admin[4200];
        snprintf(with_admin, sizeof(with_admin), "admin: {listen: \"127.0.0.1:%d\"}\n%s", admin,
                 yaml);
        CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, with_admin), 0);
    }
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    FY_ASSERT_EQ(fy_h_services_do("kafka-pause"), 0);
    snprintf(args, sizeof(args), "--count %ld --devices %d --format mixed --qos 1", records,
             DEVICES);
    FY_ASSERT_EQ(fy_h_loadgen(url, args), 0);
    CU_ASSERT_TRUE_FATAL(wait_received(admin, records, 120000));
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGKILL, 5000), 128 + SIGKILL);

    /* ten kills, each within 300 ms of a start: in the middle of the journal's recovery */
    for (k = 0; k < KILLS; k++) {
        long from = log_size(&h);
        int delay = rand() % 300, st = 0;
        CU_ASSERT_EQUAL_FATAL(fy_h_ferry_spawn(&h), 0);
        t0 = fy_clock_mono_ms();
        usleep((useconds_t)delay * 1000);
        if (waitpid(h.pid, &st, WNOHANG) == h.pid) {
            CU_FAIL("Ferry exited by itself during recovery");
            fy_h_sh("tail -n 20 '%s'", h.log);
            h.pid = 0;
            break;
        }
        kill(h.pid, SIGKILL);
        waitpid(h.pid, &st, 0);
        h.pid = 0;
        if (fy_clock_mono_ms() - t0 > worst_kill) {
            worst_kill = fy_clock_mono_ms() - t0;
        }
        up_before_kill += time_to_running(&h, from, t0, 0) >= 0;
    }
    /* the eleventh start recovers everything, with Kafka still frozen */
    {
        long from = log_size(&h);
        CU_ASSERT_EQUAL_FATAL(fy_h_ferry_spawn(&h), 0);
        t0 = fy_clock_mono_ms();
        recovery = time_to_running(&h, from, t0, 60000);
    }
    printf("\n  K2: %ld records, %d kills (seed %u, the latest at %lld ms), %d of them after the "
           "running line; final recovery %lld ms\n", records, KILLS, seed, worst_kill,
           up_before_kill, recovery);
    CU_ASSERT_TRUE(recovery >= 0);
    CU_ASSERT_TRUE(recovery < 10000);
    FY_ASSERT_EQ(fy_h_services_do("kafka-resume"), 0);
    n = fy_h_consume(brokers, topic, (size_t)records, 300000, &m);
    missing = fy_h_oracle_check(m, n, DEVICES, 0, (uint32_t)(records / DEVICES), &o);
    if (missing > 0 && o.duplicates > 0) { /* duplicates took the place of the last ones */
        fy_h_kmsgs_free(m, n);
        n = fy_h_consume(brokers, topic, (size_t)records + o.duplicates, 60000, &m);
        missing = fy_h_oracle_check(m, n, DEVICES, 0, (uint32_t)(records / DEVICES), &o);
    }
    printf("  after Kafka returned: %zu received, %zu duplicates, %zu missing, %zu out of "
           "order\n", o.received, o.duplicates, missing, o.order_violations);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    FY_ASSERT_EQ(fy_h_sh("'%s' journal stat -c '%s' | grep -q 'quarantined segments 0'",
                         getenv("FERRY_BIN"), h.config), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("kill-recovery", NULL, NULL);

    if (s == NULL || CU_add_test(s, "SIGKILL x10 within 300 ms of start, big journal",
                                 test_kill_recovery) == NULL) {
        return -1;
    }
    return 0;
}
