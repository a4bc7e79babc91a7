/* 18-e2e-file.c - `ferry run` with the real mosquitto and the file sink: 4,000 QoS 1 uplinks
 * from 40 devices (both formats, bench_loadgen) arrive as one NDJSON line each, in a file per
 * device ({devEUI}.ndjson under dir), every line whole, each device's uplinks in order, no
 * duplicates, no device in another's file; SIGTERM exits 0. Then a kill -9 during load and a
 * restart: nothing missing, order kept, duplicates counted (at-least-once, same envelope id). */
#include "core/clock.h"
#include "core/file.h"
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_integration_tests(void);

#define DEVICES 40
#define PER_DEVICE 100

static void config(char *out, size_t size, const char *url, const char *client_id)
{
    snprintf(out, size,
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
             "      - filter: application/+/device/+/event/up\n"
             "        qos: 1\n"
             "sinks:\n"
             "  - name: files\n"
             "    type: file\n"
             "    dir: @DIR@/out\n"
             "    path: \"{devEUI}.ndjson\"\n"
             "routes:\n"
             "  - name: tts\n"
             "    match: v3/+/devices/+/up\n"
             "    format: tts-v3\n"
             "    recType: io.test.tts\n"
             "    sinks: [files]\n"
             "  - name: chirpstack\n"
             "    match: application/+/device/+/event/up\n"
             "    format: chirpstack-v4\n"
             "    recType: io.test.cs\n"
             "    sinks: [files]\n",
             url, client_id);
}

/* Every line of every file under dir as a message (value = the line); counts torn lines and
 * lines whose devEUI is not their file's name. */
static size_t read_all(const char *dir, struct fy_h_kmsg **out, size_t *torn, size_t *misfiled)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0, cap = 0;

    *out = NULL;
    *torn = *misfiled = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[1024], want[64], *text, *p, *nl;
        size_t len = 0;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        snprintf(want, sizeof(want), "\"devEUI\":\"%.*s\"", (int)strcspn(e->d_name, "."),
                 e->d_name);
        text = fy_file_read(path, 64u << 20, &len, NULL);
        for (p = text; p != NULL && *p != '\0'; p = nl + 1) {
            nl = strchr(p, '\n');
            if (nl == NULL) {
                (*torn)++;
                break;
            }
            *nl = '\0';
            if (n == cap) {
                cap = cap * 2 + 1024;
                *out = realloc(*out, cap * sizeof(**out));
            }
            memset(&(*out)[n], 0, sizeof(**out));
            (*out)[n].value = strdup(p);
            (*out)[n].key = strdup(e->d_name);
            *misfiled += strstr(p, want) == NULL;
            n++;
        }
        free(text);
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

/* Poll the files until want lines are there (or timeout_ms passed). */
static size_t wait_lines(const char *dir, size_t want, int timeout_ms)
{
    int64_t deadline = fy_clock_deadline(fy_h_ms(timeout_ms));
    struct fy_h_kmsg *m;
    size_t n = 0, torn, mis;

    for (;;) {
        n = read_all(dir, &m, &torn, &mis);
        fy_h_kmsgs_free(m, n);
        if (n >= want || fy_clock_mono_ms() > deadline) {
            return n;
        }
        fy_h_sh("sleep 0.2");
    }
}

static void test_lines_per_device(void)
{
    const char *url, *brokers;
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    char yaml[4096], out[400], args[128];
    size_t n, torn, mis, missing;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    config(yaml, sizeof(yaml), url, fy_h_unique("it-file"));
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(args, sizeof(args), "--count %d --devices %d --format mixed --qos 1",
             DEVICES * PER_DEVICE, DEVICES);
    FY_ASSERT_EQ(fy_h_loadgen(url, args), 0);
    snprintf(out, sizeof(out), "%s/out", h.dir);
    wait_lines(out, DEVICES * PER_DEVICE, 60000);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    n = read_all(out, &m, &torn, &mis);
    missing = fy_h_oracle_check(m, n, DEVICES, 0, PER_DEVICE, &o);
    printf("\n  file sink: %zu lines, %zu unique, %zu duplicates, %zu missing, %zu out of order, "
           "%zu torn, %zu misfiled\n", o.received, o.unique, o.duplicates, missing,
           o.order_violations, torn, mis);
    FY_ASSERT_EQ(n, DEVICES * PER_DEVICE);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.duplicates, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    FY_ASSERT_EQ(o.foreign, 0);
    FY_ASSERT_EQ(torn, 0);
    FY_ASSERT_EQ(mis, 0);
    fy_h_kmsgs_free(m, n);
    fy_h_ferry_cleanup(&h);
}

static void test_kill9(void)
{
    const char *url, *brokers;
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    char yaml[4096], out[400], args[128];
    size_t n, torn, mis, missing;
    pid_t lg;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    config(yaml, sizeof(yaml), url, fy_h_unique("it-file-k9"));
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));
    snprintf(out, sizeof(out), "%s/out", h.dir);
    snprintf(args, sizeof(args), "--count %d --devices %d --format mixed --qos 1 --rate 2000",
             DEVICES * PER_DEVICE, DEVICES);
    lg = fy_h_loadgen_start(url, args);
    CU_ASSERT_TRUE_FATAL(lg > 0);
    wait_lines(out, 800, 30000);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGKILL, 5000), 128 + SIGKILL);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    FY_ASSERT_EQ(fy_h_wait_pid(lg, fy_h_ms(120000)), 0);
    wait_lines(out, DEVICES * PER_DEVICE, 60000);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    n = read_all(out, &m, &torn, &mis);
    missing = fy_h_oracle_check(m, n, DEVICES, 0, PER_DEVICE, &o);
    printf("\n  file sink, kill -9 and restart: %zu lines, %zu unique, %zu duplicates, %zu "
           "missing, %zu out of order, %zu torn\n", o.received, o.unique, o.duplicates, missing,
           o.order_violations, torn);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    FY_ASSERT_EQ(o.foreign, 0);
    FY_ASSERT_EQ(torn, 0);
    FY_ASSERT_EQ(mis, 0);
    FY_ASSERT(o.duplicates <= 10000); /* one window per kill at most */
    fy_h_kmsgs_free(m, n);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("e2e-file", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "4,000 uplinks, 40 devices: a line each, per-device order",
                    test_lines_per_device) == NULL ||
        CU_add_test(s, "kill -9 during load, restart: nothing missing", test_kill9) == NULL) {
        return -1;
    }
    return 0;
}
