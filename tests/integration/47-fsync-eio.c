/* 47-fsync-eio.c - battery row J6 (docs/reliability.md, "Journal"): fdatasync answers EIO
 * once, under `fsync: always`, while uplinks flow. After a failed fsync the kernel may have
 * dropped the dirty pages, so Ferry must not retry it and carry on: it stops acknowledging,
 * exits non-zero within 1 s, and a restart (without the fault) delivers every uplink the
 * broker accepted, in order per device. The failure comes from an LD_PRELOAD shim
 * (tests/support/fault_io.c): a disk that fails on demand cannot be had here without root
 * block devices. */
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

#define DEVICES 10
#define FIRST 100 /* before the fault: 10 per device */
#define LATER 900 /* published while the fault hits */

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_fsync_eio(void)
{
    const char *url, *brokers, *lib = getenv("FERRY_FAULT_IO_LIB");
    const char *topic = fy_h_unique("it-eio");
    char e_pre[600], e_1[400], e_2[400];
    const char *const env[] = {e_pre, e_1, e_2, NULL};
    char yaml[4096], trigger[200], args[200], jdir[300];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    long long t_fail = 0, t_exit = 0, deadline;
    size_t n, missing;
    pid_t pub;
    int st = 0, code = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(lib);
    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    snprintf(trigger, sizeof(trigger), "/tmp/%s.trigger", fy_h_unique("ferry-eio"));
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-eio"), NULL,
                "  fsync: always\n", NULL);
    /* only the Ferry process gets the shim: set, spawn, unset. The fault is a segment's
     * fdatasync (a cursor's failed fsync is logged and costs a replay, not an exit). */
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_prepare(&h, yaml), 0);
    snprintf(jdir, sizeof(jdir), "%s/journal", h.dir);
    snprintf(e_pre, sizeof(e_pre), "LD_PRELOAD=%s", lib);
    snprintf(e_1, sizeof(e_1), "FERRY_FAULT_FSYNC_ONCE=%s", trigger);
    snprintf(e_2, sizeof(e_2), "FERRY_FAULT_IO_DIR=%s", jdir);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart_env(&h, env), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %d --devices %d --format tts --qos 1", FIRST, DEVICES);
    FY_ASSERT_EQ(fy_h_loadgen(url, args), 0);
    n = fy_h_consume(brokers, topic, FIRST, 60000, &m);
    FY_ASSERT_EQ(n, FIRST);
    fy_h_kmsgs_free(m, n);

    /* arm the fault, then keep uplinks coming: the next fdatasync fails */
    FY_ASSERT_EQ(fy_h_sh("touch '%s'", trigger), 0);
    snprintf(args, sizeof(args), "--count %d --devices %d --format tts --qos 1 --rate 500 "
             "--start %d", LATER, DEVICES, FIRST / DEVICES);
    pub = fy_h_loadgen_start(url, args);
    CU_ASSERT_TRUE_FATAL(pub > 0);
    deadline = fy_clock_mono_ms() + fy_h_ms(20000);
    while (fy_clock_mono_ms() < deadline && t_exit == 0) {
        if (t_fail == 0 && !exists(trigger)) {
            t_fail = fy_clock_mono_ms(); /* the shim took the trigger: fdatasync failed */
        }
        if (waitpid(h.pid, &st, WNOHANG) == h.pid) {
            t_exit = fy_clock_mono_ms();
            code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            h.pid = 0;
        }
        usleep(5000);
    }
    printf("\n  fsync EIO: Ferry exited %d, %lld ms after the failed fdatasync\n", code,
           t_exit > 0 && t_fail > 0 ? t_exit - t_fail : -1LL);
    CU_ASSERT_TRUE(t_fail > 0);
    CU_ASSERT_TRUE(t_exit > 0);
    CU_ASSERT_TRUE(code != 0 && code != -1);
    CU_ASSERT_TRUE(t_exit - t_fail <= 1000);
    CU_ASSERT_TRUE(fy_h_log_contains(&h, "fdatasync"));
    CU_ASSERT_TRUE(fy_h_log_contains(&h, "Input/output error"));
    FY_ASSERT_EQ(fy_h_wait_pid(pub, 60000), 0);

    /* restart without the fault: the journal recovers, the broker redelivers what Ferry did
     * not acknowledge */
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    n = fy_h_consume(brokers, topic, FIRST + LATER, 120000, &m);
    missing = fy_h_oracle_check(m, n, DEVICES, 0, (FIRST + LATER) / DEVICES, &o);
    if (missing > 0 && o.duplicates > 0) { /* duplicates took the place of the last ones */
        fy_h_kmsgs_free(m, n);
        n = fy_h_consume(brokers, topic, FIRST + LATER + o.duplicates, 30000, &m);
        missing = fy_h_oracle_check(m, n, DEVICES, 0, (FIRST + LATER) / DEVICES, &o);
    }
    printf("  after the restart: %zu received, %zu duplicates, %zu missing, %zu out of order\n",
           o.received, o.duplicates, missing, o.order_violations);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    unlink(trigger);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("fsync-eio", NULL, NULL);

    if (s == NULL || CU_add_test(s, "fdatasync EIO once: stop acking, exit, recover",
                                 test_fsync_eio) == NULL) {
        return -1;
    }
    return 0;
}
