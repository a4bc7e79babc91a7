/* 50-soak.c - battery row S5 (docs/reliability.md): a steady QoS 1 stream for a bounded time
 * with Kafka frozen (SIGSTOP) for a while once per interval. Ferry's resident memory and open
 * file descriptors are sampled every second from /proc. The warm-up lasts until 10 s after
 * the first freeze ended (and at least a quarter of the run): a freeze fills librdkafka's
 * queue and the journal's read-ahead once, and that high-water mark is the steady state, not
 * a leak. After it RSS may not grow by more than 5% through the later freezes, and the
 * descriptor count must stay flat (within a few: librdkafka reconnects); at the end every
 * uplink has arrived, in order per device.
 * Label `soak`: not in `make test`; `make soak` (in .ci/run) runs it in a RelWithDebInfo build
 * without sanitizers, where the RSS criterion means something.
 * CI size: 120 s at 1,000 msg/s, a 10 s freeze every 40 s. The row's size, on demand:
 * FERRY_SOAK_S=1800 FERRY_SOAK_RATE=<half of peak> FERRY_SOAK_OUTAGE_EVERY_S=600. */
#include "core/clock.h"
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_integration_tests(void);

#define DEVICES 50
#define MAX_SAMPLES 100000 /* one a second: bounds the loop */

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb;
}

static int open_fds(pid_t pid)
{
    char path[64];
    struct dirent *e;
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    while (d != NULL && (e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

static void test_soak(void)
{
    const char *url, *brokers, *topic = fy_h_unique("it-soak");
    long seconds = fy_h_knob("FERRY_SOAK_S", 120), rate = fy_h_knob("FERRY_SOAK_RATE", 1000);
    long every = fy_h_knob("FERRY_SOAK_OUTAGE_EVERY_S", 40);
    long outage = fy_h_knob("FERRY_SOAK_OUTAGE_S", 10);
    long per_device, messages, warm_rss = -1, max_rss = 0, k;
    int warm_fds = -1, min_fds = 1 << 30, max_fds = 0, outages = 0, frozen = 0;
    char yaml[4096], args[256];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    long long t0, next_freeze, thaw = 0, warm_end = -1;
    size_t n, missing;
    pid_t pub;

    per_device = rate * seconds / DEVICES;
    messages = per_device * DEVICES;
    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-soak"), NULL,
                "  segment_bytes: 4M\n", "");
#if defined(__SANITIZE_ADDRESS__)
    {
        /* ASan keeps freed memory in a quarantine (256 MB by default) that only grows: the
         * RSS criterion needs it small. Only the Ferry process gets this. */
        const char *a = getenv("ASAN_OPTIONS");
        char opts[600];
        snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=1", a ? a : "", a ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
        if (a != NULL) {
            setenv("ASAN_OPTIONS", a, 1);
        } else {
            unsetenv("ASAN_OPTIONS");
        }
    }
#else
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
#endif
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %ld --devices %d --format mixed --qos 1 --rate %ld",
             messages, DEVICES, rate);
    pub = fy_h_loadgen_start(url, args);
    CU_ASSERT_TRUE_FATAL(pub > 0);
    t0 = fy_clock_mono_ms();
    next_freeze = t0 + every * 1000;
    for (k = 0; k < MAX_SAMPLES && fy_clock_mono_ms() - t0 < seconds * 1000; k++) {
        long long now = fy_clock_mono_ms();
        int fds = open_fds(h.pid);
        long rss;

        if (!frozen && now >= next_freeze && now - t0 + outage * 1000 < seconds * 1000) {
            FY_ASSERT_EQ(fy_h_services_do("kafka-pause"), 0);
            frozen = 1;
            thaw = now + outage * 1000;
            outages++;
        } else if (frozen && now >= thaw) {
            FY_ASSERT_EQ(fy_h_services_do("kafka-resume"), 0);
            frozen = 0;
            next_freeze = now + (every - outage) * 1000;
            if (warm_end < 0) {
                warm_end = now + 10000;
                if (warm_end < t0 + seconds * 250) {
                    warm_end = t0 + seconds * 250;
                }
            }
        }
        rss = rss_kb(h.pid);
        if (warm_end > 0 && now >= warm_end) { /* after the warm-up */
            if (warm_rss < 0) {
                warm_rss = rss;
                warm_fds = fds;
            }
            max_rss = rss > max_rss ? rss : max_rss;
            min_fds = fds < min_fds ? fds : min_fds;
            max_fds = fds > max_fds ? fds : max_fds;
        }
        usleep(1000000);
    }
    if (frozen) {
        FY_ASSERT_EQ(fy_h_services_do("kafka-resume"), 0);
    }
    FY_ASSERT_EQ(fy_h_wait_pid(pub, 600000), 0);
    n = fy_h_consume(brokers, topic, (size_t)messages, 240000, &m);
    missing = fy_h_oracle_check(m, n, DEVICES, 0, (uint32_t)per_device, &o);
    if (missing > 0 && o.duplicates > 0) { /* duplicates took the place of the last ones */
        fy_h_kmsgs_free(m, n);
        n = fy_h_consume(brokers, topic, (size_t)messages + o.duplicates, 60000, &m);
        missing = fy_h_oracle_check(m, n, DEVICES, 0, (uint32_t)per_device, &o);
    }
    printf("\n  soak %lds at %ld msg/s, %d Kafka freezes of %lds: RSS %ld kB after warm-up, "
           "max %ld kB (%+.1f%%); fds %d after warm-up, %d..%d; %zu received, %zu duplicates, "
           "%zu missing, %zu out of order\n", seconds, rate, outages, outage, warm_rss, max_rss,
           warm_rss > 0 ? 100.0 * (double)(max_rss - warm_rss) / (double)warm_rss : 0.0,
           warm_fds, min_fds, max_fds, o.received, o.duplicates, missing, o.order_violations);
    CU_ASSERT_TRUE(outages >= 2); /* one in the warm-up, at least one after it */
    CU_ASSERT_TRUE(warm_rss > 0);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's allocator keeps and reuses memory its own way (+35% seen with a 1 MB
     * quarantine): the RSS criterion is asserted by `make soak`, a build without sanitizers */
    printf("  RSS not asserted under ASan\n");
#else
    CU_ASSERT_TRUE(max_rss <= warm_rss + warm_rss / 20);
#endif
    CU_ASSERT_TRUE(max_fds - min_fds <= 8);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("soak", NULL, NULL);

    if (s == NULL || CU_add_test(s, "steady load with Kafka freezes: RSS, fds flat, 0 lost",
                                 test_soak) == NULL) {
        return -1;
    }
    return 0;
}
