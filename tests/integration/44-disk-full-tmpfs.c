/* 44-disk-full-tmpfs.c - D1 of docs/reliability.md: the journal on a real 2 MiB tmpfs that fills up
 * (ENOSPC, no quota) while Kafka is frozen: Ferry stops acknowledging and says "journal full",
 * nothing is corrupted; when Kafka returns the backlog drains, space is freed, ingest resumes
 * and every uplink arrives. Needs root (mount); without it the test says so and is skipped. */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_integration_tests(void);

static void test_tmpfs(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-tmpfs");
    char mnt[] = "/tmp/ferry-tmpfs-XXXXXX";
    char yaml[4096], jextra[512];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    size_t n, missing;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(mnt));
    if (fy_h_sh("mount -t tmpfs -o size=2m tmpfs '%s' 2>/dev/null", mnt) != 0) {
        printf("\n  SKIPPED: cannot mount a tmpfs here (needs root); the quota test 42 covers "
               "the same path without a real full disk\n");
        rmdir(mnt);
        return;
    }
    snprintf(jextra, sizeof(jextra), "  segment_bytes: 128k\n");
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-tmpfs"), NULL, jextra,
                "");
    /* the journal goes on the tmpfs instead of the test dir */
    {
        char *p = strstr(yaml, "@DIR@/journal");
        char tail[4096];
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        snprintf(tail, sizeof(tail), "%s", p + strlen("@DIR@/journal"));
        snprintf(p, sizeof(yaml) - (size_t)(p - yaml), "%s/journal%s", mnt, tail);
    }
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 100 --devices 20 --format mixed --qos 1"), 0);
    n = fy_h_consume(brokers, topic, 100, 60000, &m);
    FY_ASSERT_EQ(n, 100);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_services_do("kafka-pause"), 0);
    /* ~4 MB of records for a 2 MiB filesystem */
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 3000 --devices 20 --format mixed --qos 1 --start 5"),
                 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "journal full: not acknowledging", 60000));
    FY_ASSERT_EQ(fy_h_sh("df '%s' | tail -1 | awk '{exit !($4 < 200)}'", mnt), 0); /* really full */
    FY_ASSERT_EQ(fy_h_services_do("kafka-resume"), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "journal has room again", 120000));
    n = fy_h_consume(brokers, topic, 3100, 240000, &m);
    missing = fy_h_oracle_check(m, n, 20, 0, 155, &o);
    printf("\n  tmpfs full: %zu received, %zu duplicates, %zu missing\n", o.received, o.duplicates,
           missing);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    fy_h_kmsgs_free(m, n);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    FY_ASSERT_EQ(fy_h_sh("'%s' journal stat -c '%s' | grep -q 'quarantined segments 0'",
                         getenv("FERRY_BIN"), h.config), 0);
    FY_ASSERT_EQ(fy_h_sh("umount '%s' && rmdir '%s'", mnt, mnt), 0);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("disk-full", NULL, NULL);

    if (s == NULL || CU_add_test(s, "journal on a full tmpfs", test_tmpfs) == NULL) {
        return -1;
    }
    return 0;
}
