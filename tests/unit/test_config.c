/* test_config.c - the configuration file: a full good file parsed into the expected model, and
 * every file in tests/fixtures/config/bad/ rejected with the message its first line expects
 * ("# expect: <text>", matched as a substring of "FILE:LINE:COL: reason" with FILE shortened
 * to its base name). Adding a fixture adds a case. */
#include "bridge/config.h"
#include "core/conf.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_config_tests(void);

static void test_good(void)
{
    struct fy_err err = {0};
    struct fy_config *cfg;

    setenv("FERRY_TEST_SECRET", "s3cret-canary", 1);
    cfg = fy_config_load(FERRY_FIXTURES "/config/good.yaml", &err);
    if (cfg == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    FY_ASSERT_STR(cfg->instance, "plant-7");
    FY_ASSERT_EQ(cfg->log_level, 3);
    FY_ASSERT_EQ(cfg->max_payload, 128 * 1024);
    FY_ASSERT_STR(cfg->journal.dir, "/tmp/ferry-good/journal");
    FY_ASSERT_EQ(cfg->journal.fsync, FY_FSYNC_ALWAYS);
    FY_ASSERT_EQ(cfg->journal.segment_bytes, 8 << 20);
    FY_ASSERT_EQ(cfg->journal.max_bytes, 1LL << 30);
    FY_ASSERT_EQ(cfg->journal.fsync_interval_ms, 100);
    FY_ASSERT_EQ(cfg->n_sources, 1);
    FY_ASSERT_STR(cfg->sources[0].type, "mqtt");
    FY_ASSERT_EQ(cfg->n_sinks, 1);
    FY_ASSERT_EQ(cfg->sinks[0].retry.max_attempts, 5);
    FY_ASSERT_EQ(cfg->sinks[0].retry.backoff_max_ms, 10000);
    FY_ASSERT_EQ(cfg->sinks[0].retry.backoff_base_ms, 100);
    FY_ASSERT_EQ(cfg->n_routes, 2);
    FY_ASSERT_STR(cfg->routes[0].name, "uplinks");
    FY_ASSERT_STR(cfg->routes[0].source, "ttn");
    FY_ASSERT_STR(cfg->routes[0].targets[0].topic, "lorawan.{recType}.{1}");
    FY_ASSERT_STR(cfg->routes[1].name, "route-2");
    FY_ASSERT_STR(cfg->routes[1].event_type, "update");
    FY_ASSERT_EQ(cfg->routes[1].final, 1);
    FY_ASSERT_STR(cfg->routes[1].targets[0].sink, "kafka-main");
    CU_ASSERT_PTR_NULL(cfg->routes[1].targets[0].topic);
    FY_ASSERT_STR(cfg->unmatched_sink, "kafka-main");
    FY_ASSERT_STR(cfg->unmatched_topic, "ferry.unmatched");
    /* the substituted secret is marked secret */
    {
        const struct fy_node *pw = fy_conf_get(cfg->sources[0].node, "password");
        CU_ASSERT_PTR_NOT_NULL_FATAL(pw);
        FY_ASSERT_STR(pw->value, "s3cret-canary");
        FY_ASSERT_EQ(pw->secret, 1);
    }
    fy_config_free(cfg);
}

/* Write text to a temporary file; returns its path in buf. */
static const char *write_tmp(char *buf, size_t size, const char *text)
{
    int fd;
    FILE *f;

    snprintf(buf, size, "/tmp/ferry-config-XXXXXX");
    fd = mkstemp(buf);
    if (fd < 0) {
        return NULL;
    }
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return buf;
}

static void test_defaults(void)
{
    const char *y = "sources: []\n"
                    "sinks:\n"
                    "  - {name: k, type: kafka, brokers: \"a:1\", max_lag_bytes: 512M}\n"
                    "routes:\n"
                    "  - {match: a/#, format: tts-v3, recType: r, sinks: [k]}\n"
                    "  - {match: b/#, format: tts-v3, recType: r, sinks: [k]}\n";
    char path[64];
    struct fy_err err = {0};
    struct fy_config *cfg;

    CU_ASSERT_PTR_NOT_NULL_FATAL(write_tmp(path, sizeof(path), y));
    cfg = fy_config_load(path, &err);
    unlink(path);
    if (cfg == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    FY_ASSERT_STR(cfg->instance, "ferry");
    FY_ASSERT_EQ(cfg->log_level, 2);
    FY_ASSERT_EQ(cfg->max_payload, 262144);
    FY_ASSERT_STR(cfg->journal.dir, "./ferry-data/journal");
    FY_ASSERT_EQ(cfg->journal.segment_bytes, 64 << 20);
    FY_ASSERT_EQ(cfg->journal.fsync, FY_FSYNC_INTERVAL);
    FY_ASSERT_EQ(cfg->journal.fsync_interval_ms, 100);
    FY_ASSERT_EQ(cfg->journal.max_bytes, 0);
    FY_ASSERT_EQ(cfg->dedup_window, 0);
    FY_ASSERT_EQ(cfg->n_sources, 0);
    FY_ASSERT_EQ(cfg->n_sinks, 1);
    FY_ASSERT_STR(cfg->sinks[0].inst.name, "k");
    FY_ASSERT_STR(cfg->sinks[0].inst.type, "kafka");
    FY_ASSERT_EQ(cfg->sinks[0].max_lag_bytes, 512 << 20);
    FY_ASSERT_EQ(cfg->sinks[0].retry.max_attempts, 0);
    FY_ASSERT_EQ(cfg->sinks[0].retry.max_age_ms, 0);
    FY_ASSERT_EQ(cfg->sinks[0].retry.backoff_base_ms, 100);
    FY_ASSERT_EQ(cfg->sinks[0].retry.backoff_max_ms, 30000);
    FY_ASSERT_EQ(fy_config_sink_index(cfg, "k"), 0);
    FY_ASSERT_EQ(fy_config_sink_index(cfg, "x"), -1);
    FY_ASSERT_EQ(cfg->n_routes, 2);
    FY_ASSERT_STR(cfg->routes[0].name, "route-1");
    FY_ASSERT_STR(cfg->routes[1].name, "route-2");
    FY_ASSERT_STR(cfg->routes[1].match, "b/#");
    FY_ASSERT_STR(cfg->routes[0].event_type, "create");
    FY_ASSERT_EQ(cfg->routes[0].final, 0);
    CU_ASSERT_PTR_NULL(cfg->routes[0].source);
    CU_ASSERT_PTR_NULL(cfg->routes[0].codec);
    CU_ASSERT_PTR_NULL(cfg->routes[0].codec_opts);
    FY_ASSERT_EQ(cfg->routes[0].n_targets, 1);
    CU_ASSERT_PTR_NULL(cfg->unmatched_sink);
    fy_config_free(cfg);

    /* edges */
    fy_config_free(NULL);
    CU_ASSERT_PTR_NULL(fy_config_load(NULL, &err));
    FY_ASSERT_EQ(err.code, FY_EINVAL);
    CU_ASSERT_PTR_NULL(fy_config_load("/nonexistent/ferry.yaml", NULL));
    CU_ASSERT_PTR_NULL(fy_config_load("/nonexistent/ferry.yaml", &err));
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
}

static void test_bad_fixtures(void)
{
    DIR *d = opendir(FERRY_FIXTURES "/config/bad");
    struct dirent *de;
    int cases = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    setenv("FERRY_TEST_SECRET", "s3cret-canary", 1);
    while ((de = readdir(d)) != NULL) {
        char path[512], line[512], msg[600];
        const char *expect, *base;
        struct fy_err err = {0};
        struct fy_config *cfg;
        FILE *f;

        if (strstr(de->d_name, ".yaml") == NULL) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/config/bad/%s", FERRY_FIXTURES, de->d_name);
        f = fopen(path, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        expect = strstr(line, "# expect: ");
        CU_ASSERT_PTR_NOT_NULL_FATAL(expect);
        expect += strlen("# expect: ");
        cfg = fy_config_load(path, &err);
        CU_ASSERT_PTR_NULL(cfg);
        fy_config_free(cfg);
        FY_ASSERT_EQ(err.code, FY_ECONFIG);
        /* shorten the absolute path to the base name for comparison */
        base = strstr(err.msg, de->d_name);
        snprintf(msg, sizeof(msg), "%s", base != NULL ? base : err.msg);
        if (strstr(msg, expect) == NULL) {
            fprintf(stderr, "\n%s:\n  expected: %s\n  got:      %s\n", de->d_name, expect, msg);
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, expect));
        /* a secret never shows in an error */
        CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret-canary"));
        cases++;
    }
    closedir(d);
    CU_ASSERT_TRUE(cases >= 15);
}

int init_config_tests(void)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);

    if (s == NULL || CU_add_test(s, "good file", test_good) == NULL ||
        CU_add_test(s, "defaults", test_defaults) == NULL ||
        CU_add_test(s, "bad fixtures with file:line:col", test_bad_fixtures) == NULL) {
        return -1;
    }
    return 0;
}
