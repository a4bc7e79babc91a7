/* test_pipeline.c - the ingest path without brokers: a real config, a real journal and a
 * real dead-letter journal; messages in, records (or dead letters) out. Covers routing to two
 * routes, unmatched topics, oversized and undecodable messages, and the dedup window across a
 * restart. */
#include "bridge/config.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "core/record.h"
#include "bridge/deadletter.h"
#include "bridge/journal/journal.h"
#include "bridge/pipeline.h"
#include "codecs/js/js_engine.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_pipeline_tests(void);

struct rig {
    char dir[128];
    struct fy_config *cfg;
    struct fy_journal *j, *dlq;
    struct fy_pipeline *p;
};

static int rig_open(struct rig *r, int dedup)
{
    char path[256], spath[256], dlqdir[256];
    struct fy_err err = {0};
    struct fy_journal_opts o;
    FILE *f;

    snprintf(path, sizeof(path), "%s/ferry.yaml", r->dir);
    f = fopen(path, "w");
    fprintf(f,
            "journal: {dir: %s/journal, fsync: never, dedup_window: %d}\n"
            "max_payload: 4k\n"
            "sources: []\n"
            "sinks:\n  - {name: k, type: kafka, brokers: \"127.0.0.1:1\"}\n"
            "routes:\n"
            "  - {name: up, match: \"v3/+/devices/+/up\", format: tts-v3, recType: io.a,\n"
            "     sinks: [{sink: k, topic: \"t.{recType}.{devEUI}\"}]}\n"
            "  - {name: all, match: \"v3/#\", format: tts-v3, recType: io.b, sinks: [k]}\n"
            "  - {name: sc, match: \"smartclean/#\", format: smartclean, recType: io.sc,\n"
            "     sinks: [k]}\n"
            "  - {name: gen, match: \"generic/#\", format: generic-json, recType: io.g,\n"
            "     format_options: {dev_eui: dev.eui, f_cnt: counter, payload: raw,\n"
            "                      payload_encoding: hex}, sinks: [{sink: k, topic: \"{devEUI}\"}]}\n"
            "  - {name: js, match: \"js/#\", format: tts-v3, recType: io.js, codec: javascript,\n"
            "     codec_options: {script: %s/big.js}, sinks: [k]}\n"
            "unmatched: {sink: k, topic: ferry.unmatched}\n",
            r->dir, dedup, r->dir);
    fclose(f);
    /* the poison codec: fPort 15 decodes to a 3 MiB object, any other port to a small
     * one; fPort 17 to an object holding a lone surrogate (not representable in UTF-8) */
    snprintf(spath, sizeof(spath), "%s/big.js", r->dir);
    f = fopen(spath, "w");
    fprintf(f, "function decodeUplink(input) {\n"
               "  if (input.fPort === 15) return {data: {blob: \"x\".repeat(3 * 1024 * 1024)}};\n"
               "  if (input.fPort === 17) return {data: {s: \"\\ud800\"}};\n"
               "  return {data: {ok: input.fPort}};\n"
               "}\n");
    fclose(f);
    r->cfg = fy_config_load(path, &err);
    if (r->cfg == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
        return -1;
    }
    r->j = fy_journal_open(&r->cfg->journal, &err);
    snprintf(dlqdir, sizeof(dlqdir), "%s/deadletter", r->cfg->journal.dir);
    o = r->cfg->journal;
    o.dir = dlqdir;
    r->dlq = fy_journal_open(&o, &err);
    r->p = r->j && r->dlq ? fy_pipeline_create(r->cfg, r->j, r->dlq, &err) : NULL;
    if (r->p == NULL) {
        fprintf(stderr, "\n%s\n", err.msg);
        return -1;
    }
    return 0;
}

static void rig_close(struct rig *r)
{
    fy_pipeline_destroy(r->p);
    fy_journal_close(r->dlq);
    fy_journal_close(r->j);
    fy_config_free(r->cfg);
    r->p = NULL;
    r->j = r->dlq = NULL;
    r->cfg = NULL;
}

static char *fixture(size_t *len)
{
    FILE *f = fopen(FERRY_FIXTURES "/uplinks/tts-v3/docs-mqtt-uplink.json", "rb");
    char *b = calloc(1, 8192);

    *len = fread(b, 1, 8191, f);
    fclose(f);
    return b;
}

static int emit(struct rig *r, const char *topic, const void *p, size_t n)
{
    struct fy_msg m = {"ns", topic, p, n, 1, fy_clock_wall_ms()};

    return fy_pipeline_emit(r->p, NULL, &m);
}

struct count {
    int n;
    char dests[4][128];
};

static int count_cb(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct count *c = arg;
    struct fy_record rec;

    (void)seq;
    if (fy_record_decode(data, len, &rec, NULL) == FY_OK && c->n < 4 && rec.n_dests > 0) {
        snprintf(c->dests[c->n], sizeof(c->dests[0]), "%s:%s", rec.rec_type, rec.dests[0].dest);
    }
    c->n++;
    return 0;
}

static int records(struct fy_journal *j, struct count *c)
{
    struct fy_err err = {0};

    memset(c, 0, sizeof(*c));
    fy_journal_scan(j, 0, count_cb, c, &err);
    return c->n;
}

static void test_routes_unmatched_bad(void)
{
    struct rig r;
    struct count c;
    size_t len;
    char *msg = fixture(&len);
    char big[5000];

    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "/tmp/ferry-ptest-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(r.dir));
    CU_ASSERT_EQUAL_FATAL(rig_open(&r, 0), 0);
    /* one message, two matching routes: two records, in table order, templated dest */
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", msg, len), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 2);
    FY_ASSERT_STR(c.dests[0], "io.a:t.io.a.4200000000000000");
    FY_ASSERT_STR(c.dests[1], "io.b:");
    /* unmatched: acknowledged, counted, sent to the catch-all sink as ferry.unmatched */
    FY_ASSERT_EQ(emit(&r, "other/topic", msg, len), FY_OK);
    FY_ASSERT_EQ(emit(&r, "other/binary", "\x01\x02", 2), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 4);
    FY_ASSERT_STR(c.dests[2], "ferry.unmatched:ferry.unmatched");
    FY_ASSERT_EQ(FY_STAT_GET(fy_pipeline_stats(r.p)->unmatched), 2);
    /* too big and undecodable: dead letters, acknowledged */
    memset(big, '{', sizeof(big));
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", big, sizeof(big)), FY_OK);
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", "{oops", 5), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 4);
    FY_ASSERT_EQ(records(r.dlq, &c), 3); /* too big once + bad JSON for each of two routes */
    FY_ASSERT_EQ(FY_STAT_GET(fy_pipeline_stats(r.p)->too_big), 1);
    FY_ASSERT_EQ(FY_STAT_GET(fy_pipeline_stats(r.p)->decode_errors), 2);
    /* without dedup, a redelivery is a second record */
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", msg, len), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 6);
    rig_close(&r);
    free(msg);
    {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
}

static void test_dedup_survives_restart(void)
{
    struct rig r;
    struct count c;
    size_t len;
    char *msg = fixture(&len);
    char *other;

    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "/tmp/ferry-ptest-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(r.dir));
    CU_ASSERT_EQUAL_FATAL(rig_open(&r, 1000), 0);
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", msg, len), FY_OK);
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", msg, len), FY_OK); /* redelivery */
    FY_ASSERT_EQ(records(r.j, &c), 2);
    FY_ASSERT_EQ(FY_STAT_GET(fy_pipeline_stats(r.p)->duplicates), 2);
    rig_close(&r);
    /* after a restart the window is rebuilt from the journal */
    CU_ASSERT_EQUAL_FATAL(rig_open(&r, 1000), 0);
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", msg, len), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 2);
    /* a different uplink (other fCnt) is new */
    other = strdup(msg);
    {
        char *p = strstr(other, "\"f_port\": 15");
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        memcpy(p, "\"f_port\": 16", 12);
    }
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", other, strlen(other)), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 4);
    rig_close(&r);
    free(other);
    free(msg);
    {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
}

static void test_smartclean_batch(void)
{
    struct rig r;
    struct count c;
    size_t len = 0;
    char *batch = fy_file_read(FERRY_FIXTURES "/uplinks/smartclean/docs-batch-example.json",
                               1 << 20, &len, NULL);

    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "/tmp/ferry-ptest-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(r.dir));
    CU_ASSERT_PTR_NOT_NULL_FATAL(batch);
    CU_ASSERT_EQUAL_FATAL(rig_open(&r, 0), 0);
    /* one message, a batch of two objects: two records */
    FY_ASSERT_EQ(emit(&r, "smartclean/site-1", batch, len), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 2);
    FY_ASSERT_STR(c.dests[0], "io.sc:");
    /* generic-json with per-route field paths */
    {
        const char *g = "{\"dev\":{\"eui\":\"AABBCCDDEEFF0011\"},\"counter\":7,\"raw\":\"0102\"}";
        FY_ASSERT_EQ(emit(&r, "generic/x", g, strlen(g)), FY_OK);
        FY_ASSERT_EQ(records(r.j, &c), 3);
        FY_ASSERT_STR(c.dests[2], "io.g:aabbccddeeff0011");
    }
    /* an element that is not a serialized object: the message is dead-lettered */
    FY_ASSERT_EQ(emit(&r, "smartclean/site-1", "[\"{}\", 5]", 10), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 3);
    FY_ASSERT_EQ(records(r.dlq, &c), 1);
    rig_close(&r);
    free(batch);
    {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
}

struct last_dl {
    int n;
    char text[8192]; /* the newest dead letter's JSON (its start) */
};

static int last_cb(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct last_dl *l = arg;

    (void)seq;
    snprintf(l->text, sizeof(l->text), "%.*s", (int)(len < 8191 ? len : 8191),
             (const char *)data);
    l->n++;
    return 0;
}

static int last_dead_letter(struct fy_journal *dlq, struct last_dl *l)
{
    struct fy_err err = {0};

    memset(l, 0, sizeof(*l));
    fy_journal_scan(dlq, 0, last_cb, l, &err);
    return l->n;
}

/* A copy of the fixture with "f_port": 15 replaced by port (two digits). */
static char *with_port(const char *msg, const char *port)
{
    char *m = strdup(msg), *p = strstr(m, "\"f_port\": 15");

    if (p != NULL) {
        memcpy(p + 10, port, 2);
    }
    return m;
}

/* Issue 15: one codec output over the record limit is that message's dead letter (with the
 * reason) and is acknowledged; the journal keeps accepting and the next message goes through.
 * Before the fix this put the journal into the failed state (FY_EAGAIN, bridge exits). */
static void test_poison_codec_output(void)
{
    struct rig r;
    struct count c;
    struct last_dl l;
    size_t len;
    char *msg = fixture(&len);
    char *ok16 = with_port(msg, "16"), *ok18 = with_port(msg, "18"), *sur = with_port(msg, "17");
    char *bad;
    int i;

    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "/tmp/ferry-ptest-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(r.dir));
    CU_ASSERT_EQUAL_FATAL(rig_open(&r, 1000), 0);
    FY_ASSERT_EQ(emit(&r, "js/app1/devices/dev1/up", ok16, strlen(ok16)), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 1);
    /* the 3 MiB output: acknowledged (FY_OK), not journaled, dead-lettered with the reason */
    FY_ASSERT_EQ(emit(&r, "js/app1/devices/dev1/up", msg, len), FY_OK);
    FY_ASSERT_EQ(fy_pipeline_failed(r.p), 0);
    FY_ASSERT_EQ(records(r.j, &c), 1);
    FY_ASSERT_EQ(last_dead_letter(r.dlq, &l), 1);
    FY_ASSERT(strstr(l.text, "\"stage\":\"encode\"") != NULL);
    FY_ASSERT(strstr(l.text, "over the record limit of 98304 bytes") != NULL);
    FY_ASSERT(strstr(l.text, "\"route\":\"js\"") != NULL);
    FY_ASSERT(strstr(l.text, "\"payload_base64\":") != NULL); /* the source message, whole */
    /* a redelivery of it is dead-lettered again, never journaled, never fatal */
    FY_ASSERT_EQ(emit(&r, "js/app1/devices/dev1/up", msg, len), FY_OK);
    FY_ASSERT_EQ(last_dead_letter(r.dlq, &l), 2);
    /* the next messages go through normally and the journal keeps accepting */
    for (i = 0; i < 3; i++) {
        FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", ok16, strlen(ok16)), FY_OK);
    }
    FY_ASSERT_EQ(records(r.j, &c), 3); /* the first v3 twice (two routes); dedup drops the rest */
    FY_ASSERT_EQ(FY_STAT_GET(fy_pipeline_stats(r.p)->duplicates), 4);
    /* a lone surrogate from the codec: dead letter, nothing journaled */
    FY_ASSERT_EQ(emit(&r, "js/app1/devices/dev1/up", sur, strlen(sur)), FY_OK);
    FY_ASSERT_EQ(last_dead_letter(r.dlq, &l), 3);
    /* raw invalid UTF-8 in a field: repaired to U+FFFD in the envelope (docs/envelope.md,
     * "UTF-8"), journaled, never written raw; no dead letter */
    bad = strdup(msg);
    {
        char *p = strstr(bad, "\"device_id\": \"dev1\"");
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        memcpy(p + 14, "\xff\xfe\xc0\xaf", 4);
    }
    FY_ASSERT_EQ(emit(&r, "other/utf8", bad, strlen(bad)), FY_OK);
    FY_ASSERT_EQ(last_dead_letter(r.dlq, &l), 3);
    FY_ASSERT_EQ(records(r.j, &c), 4);
    FY_ASSERT_EQ(fy_pipeline_failed(r.p), 0);
    FY_ASSERT_EQ(emit(&r, "js/app1/devices/dev2/up", ok18, strlen(ok18)), FY_OK);
    FY_ASSERT_EQ(records(r.j, &c), 5);
    rig_close(&r);
    free(bad);
    free(sur);
    free(ok18);
    free(ok16);
    free(msg);
    {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
}

/* A dead letter that would be over FY_DLQ_MAX_BYTES is stored truncated (reason, size, head
 * of the payload) instead of failing the dead-letter journal. */
static void test_dead_letter_truncated(void)
{
    struct rig r;
    struct last_dl l;
    size_t n = 13u << 20; /* base64 of it is over 16 MiB */
    char *huge = malloc(n);

    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    memset(huge, 'A', n);
    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "/tmp/ferry-ptest-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(r.dir));
    CU_ASSERT_EQUAL_FATAL(rig_open(&r, 0), 0);
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", huge, n), FY_OK);
    FY_ASSERT_EQ(last_dead_letter(r.dlq, &l), 1);
    FY_ASSERT(strstr(l.text, "\"truncated\":true") != NULL);
    FY_ASSERT(strstr(l.text, "\"payload_bytes\":13631488") != NULL);
    FY_ASSERT(strstr(l.text, "\"payload_head_base64\":\"QUFB") != NULL);
    FY_ASSERT(strstr(l.text, "over max_payload") != NULL);
    FY_ASSERT(strstr(l.text, "\"payload_base64\"") == NULL);
    FY_ASSERT_EQ(fy_pipeline_failed(r.p), 0);
    rig_close(&r);
    free(huge);
    {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
}

/* the JavaScript codec's engine must be shut down before exit (js_engine.h) */
static int cleanup(void)
{
    fy_js_shutdown();
    return 0;
}

/* Make the main journal's open segment unwritable underneath it: every fd of this process
 * that points at <journal dir>/<seq>.seg is replaced by a read-only one, so the next write
 * fails with EBADF, a storage failure. Returns how many fds were replaced. */
static int break_segment_fds(const char *journal_dir)
{
    char link[64], target[512];
    struct dirent *de;
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    while (d != NULL && (de = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        ssize_t len;
        int ro;

        if (end == de->d_name || *end != '\0') {
            continue; /* "." and ".." */
        }
        snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
        len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0) {
            continue;
        }
        target[len] = '\0';
        if (strncmp(target, journal_dir, strlen(journal_dir)) != 0 ||
            strchr(target + strlen(journal_dir) + 1, '/') != NULL || len < 4 ||
            strcmp(target + len - 4, ".seg") != 0) {
            continue;
        }
        ro = open(target, O_RDONLY);
        if (ro >= 0 && dup2(ro, (int)fd) == (int)fd) {
            n++;
        }
        if (ro >= 0) {
            close(ro);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

/* The three kinds of failure never share a code: a per-record one is a dead letter (FY_OK),
 * a storage failure of the journal is FY_EIO (and stays so: fail-stop), never FY_EAGAIN,
 * which means "try again" and made a failed journal look like backpressure. */
static void test_storage_failure_is_eio(void)
{
    struct rig r;
    char jdir[300];
    size_t len;
    char *msg = fixture(&len);

    memset(&r, 0, sizeof(r));
    snprintf(r.dir, sizeof(r.dir), "/tmp/ferry-ptest-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(r.dir));
    CU_ASSERT_EQUAL_FATAL(rig_open(&r, 0), 0);
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", msg, len), FY_OK);
    /* a poison message first: a dead letter, the journal is fine */
    FY_ASSERT_EQ(emit(&r, "js/app1/devices/dev1/up", msg, len), FY_OK);
    FY_ASSERT_EQ(fy_pipeline_failed(r.p), 0);
    snprintf(jdir, sizeof(jdir), "%s/journal", r.dir);
    CU_ASSERT_FATAL(break_segment_fds(jdir) >= 1);
    FY_ASSERT_EQ(emit(&r, "v3/app1@ttn/devices/dev1/up", msg, len), FY_EIO);
    FY_ASSERT_EQ(fy_pipeline_failed(r.p), 1);
    /* fail-stop: every later message too, whatever it is */
    FY_ASSERT_EQ(emit(&r, "other/topic", msg, len), FY_EIO);
    FY_ASSERT_EQ(emit(&r, "js/app1/devices/dev1/up", msg, len), FY_EIO);
    rig_close(&r);
    free(msg);
    {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r.dir);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
}

int init_pipeline_tests(void)
{
    CU_pSuite s = CU_add_suite("pipeline", NULL, cleanup);

    fy_log_setup(FY_LOG_ERROR, NULL);
    if (s == NULL ||
        CU_add_test(s, "routes, unmatched, dead letters", test_routes_unmatched_bad) == NULL ||
        CU_add_test(s, "dedup window across a restart", test_dedup_survives_restart) == NULL ||
        CU_add_test(s, "SmartClean batch: one record per object", test_smartclean_batch) == NULL ||
        CU_add_test(s, "codec output over the record limit: dead letter, next goes through",
                    test_poison_codec_output) == NULL ||
        CU_add_test(s, "oversized dead letter stored truncated", test_dead_letter_truncated) ==
            NULL ||
        CU_add_test(s, "journal storage failure is FY_EIO, fail-stop",
                    test_storage_failure_is_eio) == NULL) {
        return -1;
    }
    return 0;
}
