/* sink-file.c - the sink kit applied to the file sink: a real directory (a fresh temp dir,
 * small batch_max_bytes so FY_EAGAIN is exercised, fsync interval), and a file that cannot
 * take a byte (a symlink to /dev/full: every write is ENOSPC, so every record is RETRY and no
 * call blocks). The file sink has no secret options; the canary check still runs. */
#include "core/log.h"
#include "tests/conformance/sink_kit.h"
#include "tests/integration/harness.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_integration_tests(void);

static char dir[128], live[512], full[512];

static int setup(void)
{
    char link[300];

    snprintf(dir, sizeof(dir), "/tmp/ferry-kit-file-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(live, sizeof(live), "dir: %s/live\npath: \"{recType}/kit.ndjson\"\n"
             "batch_max_bytes: 4k\nfsync_interval_ms: 20\n", dir);
    snprintf(link, sizeof(link), "%s/full.ndjson", dir);
    if (symlink("/dev/full", link) != 0) {
        return -1;
    }
    snprintf(full, sizeof(full), "dir: %s\npath: full.ndjson\nfsync: always\n", dir);
    return 0;
}

static int teardown(void)
{
    return fy_h_sh("rm -rf '%s'", dir) == 0 ? 0 : -1;
}

/* Every record the kit delivered is a line: two runs (submit+poll, then burst+drain). */
static void test_live(void)
{
    const struct fy_sink_kit k = {"file", live, 2000, 30000, FY_SINK_OK, NULL};
    char path[300], line[512];
    FILE *f;
    int n = 0;

    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
    snprintf(path, sizeof(path), "%s/live/io.test.kit/kit.ndjson", dir);
    f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, "\"id\":\"kit-") != NULL && line[strlen(line) - 1] == '\n';
    }
    fclose(f);
    fprintf(stderr, "  %d lines in %s\n", n, path);
    CU_ASSERT_EQUAL(n, 2 * 2000);
}

static void test_full(void)
{
    const struct fy_sink_kit k = {"file", full, 200, 15000, FY_SINK_RETRY,
                                  "No space left on device"};
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
}

static void test_options(void)
{
    const struct fy_sink_kit k = {"file", live, 0, 0, FY_SINK_OK, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_option_errors(&k), 0);
}

static void test_secrets(void)
{
    const struct fy_sink_kit k = {"file", full, 0, 15000, FY_SINK_RETRY, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_secrets(&k), 0);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-sink-file", setup, teardown);

    fy_log_setup(FY_LOG_WARN, NULL);
    if (s == NULL || CU_add_test(s, "real directory: once each, EAGAIN, drain", test_live) == NULL ||
        CU_add_test(s, "ENOSPC (/dev/full): RETRY, never blocks", test_full) == NULL ||
        CU_add_test(s, "option errors with FILE:LINE:COL", test_options) == NULL ||
        CU_add_test(s, "secrets canary", test_secrets) == NULL) {
        return -1;
    }
    return 0;
}
