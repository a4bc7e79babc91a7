/* test_file_sink.c - the file sink (sinks/file/): path rendering and refusal, rotated names,
 * and the sink driven through its contract: lines per file in order, fsync interval holding
 * completions until the sync, rotation by size and by time, a torn last line cut at open, the
 * LRU of open files, and a full disk (/dev/full, and a real tmpfs when run as root) giving
 * RETRY and then OK once there is room, with nothing lost. */
#include "core/clock.h"
#include "core/conf.h"
#include "core/log.h"
#include "sinks/file/file.h"
#include "sinks/sink.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int init_file_sink_tests(void);

#define MAXT 4096

static char tmp[256];

/* ==== a host: completions per ticket ==== */

struct host {
    int n;
    int done[MAXT];
    enum fy_sink_result res[MAXT];
    char reason[MAXT][160];
    int ok, retry, reject, dup;
};

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct host *h = arg;

    if (ticket >= MAXT) {
        return;
    }
    if (h->done[ticket]++ > 0) {
        h->dup++;
    }
    h->res[ticket] = res;
    snprintf(h->reason[ticket], sizeof(h->reason[ticket]), "%s", reason != NULL ? reason : "");
    h->ok += res == FY_SINK_OK;
    h->retry += res == FY_SINK_RETRY;
    h->reject += res == FY_SINK_REJECT;
}

static const char *const skip[] = {"name", "type", NULL};

static struct fy_sink *make(const char *opts, struct host *h, struct fy_node **root)
{
    char y[2048];
    struct fy_err err = {0};
    struct fy_sink *snk;

    memset(h, 0, sizeof(*h));
    snprintf(y, sizeof(y), "name: t\ntype: file\n%s", opts);
    *root = fy_conf_parse(y, strlen(y), "t.yaml", &err);
    FY_ASSERT_MSG(*root != NULL, err.msg);
    snk = fy_sink_create(fy_sink_plugin_find("file"), "t", *root, skip, 0, on_complete, h, &err);
    FY_ASSERT_MSG(snk != NULL, err.msg);
    return snk;
}

static void destroy(struct fy_sink *snk, struct fy_node *root)
{
    fy_sink_destroy(snk);
    fy_conf_free(root);
}

/* Record t of device dev: the envelope {"id":"r-<t>","obj":{"devEUI":"<dev>"},...}. */
struct trec {
    struct fy_record rec;
    char id[32], body[256];
};

static void trec(struct trec *r, int t, const char *dev, int64_t created_ms)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "r-%06d", t);
    r->rec.id = r->id;
    r->rec.key = dev;
    r->rec.rec_type = "io.test.up";
    r->rec.event_type = "create";
    r->rec.body = r->body;
    r->rec.body_len = (size_t)snprintf(r->body, sizeof(r->body),
                                       "{\"id\":\"%s\",\"obj\":{\"devEUI\":\"%s\",\"n\":%d},"
                                       "\"recType\":\"io.test.up\"}", r->id, dev, t);
    r->rec.created_ms = created_ms;
}

static int submit(struct fy_sink *snk, int t, const char *dev, const char *dest)
{
    struct trec r;
    int rc;

    trec(&r, t, dev, 1756029601000LL); /* 2025-08-24T10:00:01Z */
    while ((rc = fy_sink_submit(snk, &r.rec, dest, (uint64_t)t)) == FY_EAGAIN) {
        fy_sink_poll(snk, 1);
    }
    return rc;
}

static int scaled(int ms)
{
    const char *m = getenv("FERRY_TEST_TIMEOUT_MULTIPLIER");
    long f = m != NULL ? strtol(m, NULL, 10) : 1;

    return ms * (int)(f > 0 ? f : 1);
}

/* Poll until want completions arrived or 5 s passed. */
static void settle(struct fy_sink *snk, struct host *h, int want)
{
    int64_t deadline = fy_clock_deadline(scaled(5000));

    while (h->ok + h->retry + h->reject < want && fy_clock_mono_ms() < deadline) {
        fy_sink_poll(snk, 5);
    }
}

/* Lines of a file, and the record numbers ("n":<t>) in them (up to max). -1 when missing. */
static int read_lines(const char *path, int *ns, int max, int *torn)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;

    if (torn != NULL) {
        *torn = 0;
    }
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *p = strstr(line, "\"n\":");
        if (line[strlen(line) - 1] != '\n' && torn != NULL) {
            *torn = 1;
        }
        if (ns != NULL && n < max) {
            ns[n] = p != NULL ? (int)strtol(p + 4, NULL, 10) : -1;
        }
        n++;
    }
    fclose(f);
    return n;
}

static void fresh_dir(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", tmp, name);
    {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", out, out);
        FY_ASSERT_EQ(system(cmd), 0);
    }
}

/* Files in dir whose name starts with prefix. */
static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    }
    closedir(d);
    return n;
}

/* ==== paths ==== */

static void test_relpath(void)
{
    static const char *const ok[][2] = {
        {"a.ndjson", "a.ndjson"},
        {"io.up/0004A30B001C0530.ndjson", "io.up/0004A30B001C0530.ndjson"},
        {"/data/ferry/x/y.ndjson", "x/y.ndjson"},
        {"a..b/c.", "a..b/c."},
        {"...", "..."},
    };
    static const char *const bad[][2] = {
        {"../etc/passwd", "'..'"},
        {"a/../../b", "'..'"},
        {"a/..", "'..'"},
        {"./a", "'.'"},
        {"a//b", "empty"},
        {"a/", "ends with '/'"},
        {"", "names no file"},
        {"/data/ferry", "outside dir"},
        {"/data/ferry/", "names no file"},
        {"/data/ferryx/a", "outside dir"},
        {"/etc/passwd", "outside dir"},
        {"a\nb", "control character"},
    };
    struct fy_err err = {0};
    char rel[64];
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        FY_ASSERT_OK(fy_file_sink_relpath("/data/ferry", ok[i][0], rel, sizeof(rel), &err), &err);
        FY_ASSERT_STR(rel, ok[i][1]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = fy_file_sink_relpath("/data/ferry", bad[i][0], rel, sizeof(rel), &err);
        FY_ASSERT_EQ(rc, FY_EINVAL);
        FY_ASSERT(strncmp(err.msg, "bad_path: ", 10) == 0);
        if (strstr(err.msg, bad[i][1]) == NULL) {
            fprintf(stderr, "\n'%s': %s (expected %s)\n", bad[i][0], err.msg, bad[i][1]);
        }
        FY_ASSERT(strstr(err.msg, bad[i][1]) != NULL);
    }
    /* dir "/" (dir_abs ""): any absolute path is inside */
    FY_ASSERT_OK(fy_file_sink_relpath("", "/var/x", rel, sizeof(rel), &err), &err);
    FY_ASSERT_STR(rel, "var/x");
    FY_ASSERT_EQ(fy_file_sink_relpath("/d", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                      rel, sizeof(rel), &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "longer than 63 bytes") != NULL);
}

static void test_render(void)
{
    struct fy_file_sink fs;
    struct fy_err err = {0};
    struct trec r;
    char out[256];

    memset(&fs, 0, sizeof(fs));
    fs.dir = "/data/";
    fs.path = "{recType}/{date}/{hour}{minute}/{devEUI}.ndjson";
    FY_ASSERT_OK(fy_file_sink_check(&fs, &err), &err);
    FY_ASSERT_STR(fs.dir_abs, "/data");
    FY_ASSERT_EQ(fs.path_needs_obj, 1);
    trec(&r, 7, "0004A30B001C0530", 1756029601000LL);
    FY_ASSERT_OK(fy_file_sink_render(&fs, &r.rec, out, sizeof(out), &err), &err);
    FY_ASSERT_STR(out, "io.test.up/2025-08-24/1000/0004A30B001C0530.ndjson");
    fs.path = "{year}/{month}/{day}/{deviceId}.ndjson"; /* deviceId is not in the envelope */
    FY_ASSERT_OK(fy_file_sink_check(&fs, &err), &err);
    FY_ASSERT_EQ(fy_file_sink_render(&fs, &r.rec, out, sizeof(out), &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "{deviceId} is missing") != NULL);
    FY_ASSERT_EQ(fy_file_sink_render(&fs, &r.rec, out, 8, &err), FY_EINVAL);
    /* a device id with ../ renders, and relpath refuses what it gives */
    fs.path = "x/{devEUI}";
    FY_ASSERT_OK(fy_file_sink_check(&fs, &err), &err);
    trec(&r, 7, "../../etc/cron.d/evil", 0);
    FY_ASSERT_OK(fy_file_sink_render(&fs, &r.rec, out, sizeof(out), &err), &err);
    FY_ASSERT_EQ(fy_file_sink_relpath(fs.dir_abs, out, out, sizeof(out), &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "bad_path: ") != NULL);
    /* configuration errors */
    fs.path = "{nope}.ndjson";
    FY_ASSERT_EQ(fy_file_sink_check(&fs, &err), FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, "unknown field '{nope}'") != NULL);
    fs.path = "a";
    fs.dir = "relative/dir";
    FY_ASSERT_EQ(fy_file_sink_check(&fs, &err), FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, "absolute directory is required") != NULL);
}

static void test_rotated_name(void)
{
    char out[128];

    FY_ASSERT_OK(fy_file_sink_rotated_name("/d/a/dev.ndjson", 1756029601000LL, 1, out,
                                           sizeof(out)), NULL);
    FY_ASSERT_STR(out, "/d/a/dev-20250824T100001Z.ndjson");
    FY_ASSERT_OK(fy_file_sink_rotated_name("/d/a.b/dev", 1756029601000LL, 3, out, sizeof(out)),
                 NULL);
    FY_ASSERT_STR(out, "/d/a.b/dev-20250824T100001Z-3");
    FY_ASSERT_OK(fy_file_sink_rotated_name("/d/.hidden", 0, 1, out, sizeof(out)), NULL);
    FY_ASSERT_STR(out, "/d/.hidden-19700101T000000Z");
    FY_ASSERT_EQ(fy_file_sink_rotated_name("/d/dev.ndjson", 0, 1, out, 10), FY_ETOOBIG);
}

/* ==== the sink ==== */

static void test_lines_in_order(void)
{
    static struct host h;
    static int ns[MAXT];
    const char *devs[3] = {"dev-a", "dev-b", "dev-c"};
    struct fy_node *root;
    struct fy_sink *snk;
    char dir[300], opts[600], p[400];
    int t, d, n, torn;

    fresh_dir("order", dir, sizeof(dir));
    snprintf(opts, sizeof(opts), "dir: %s\npath: \"{recType}/{devEUI}.ndjson\"\nfsync: always\n",
             dir);
    snk = make(opts, &h, &root);
    for (t = 0; t < 300; t++) {
        FY_ASSERT_EQ(submit(snk, t, devs[t % 3], ""), FY_OK);
    }
    settle(snk, &h, 300);
    FY_ASSERT_EQ(h.ok, 300);
    FY_ASSERT_EQ(h.dup, 0);
    /* a route destination wins over path; absolute inside dir is fine; outside is refused */
    FY_ASSERT_EQ(submit(snk, 300, "dev-a", "routed/x.ndjson"), FY_OK);
    snprintf(p, sizeof(p), "%s/routed/abs.ndjson", dir);
    FY_ASSERT_EQ(submit(snk, 301, "dev-a", p), FY_OK);
    FY_ASSERT_EQ(submit(snk, 302, "dev-a", "../escape.ndjson"), FY_OK);
    FY_ASSERT_EQ(submit(snk, 303, "dev-a", "/tmp/escape.ndjson"), FY_OK);
    FY_ASSERT_EQ(submit(snk, 304, "../../x", ""), FY_OK); /* devEUI "../../x" */
    settle(snk, &h, 305);
    FY_ASSERT_EQ(h.ok, 302);
    FY_ASSERT_EQ(h.reject, 3);
    FY_ASSERT(strstr(h.reason[302], "bad_path: '../escape.ndjson' has a '..' segment") != NULL);
    FY_ASSERT(strstr(h.reason[303], "outside dir") != NULL);
    FY_ASSERT(strstr(h.reason[304], "bad_path: ") != NULL);
    FY_ASSERT_EQ(fy_sink_drain(snk, 1000), FY_OK);
    destroy(snk, root);

    for (d = 0; d < 3; d++) {
        int last = -1, inorder = 1;
        snprintf(p, sizeof(p), "%s/io.test.up/%s.ndjson", dir, devs[d]);
        n = read_lines(p, ns, MAXT, &torn);
        FY_ASSERT_EQ(n, 100);
        FY_ASSERT_EQ(torn, 0);
        for (t = 0; t < n && t < MAXT; t++) {
            inorder &= ns[t] > last && ns[t] % 3 == d;
            last = ns[t];
        }
        FY_ASSERT(inorder);
    }
    snprintf(p, sizeof(p), "%s/routed/x.ndjson", dir);
    FY_ASSERT_EQ(read_lines(p, NULL, 0, NULL), 1);
    snprintf(p, sizeof(p), "%s/routed/abs.ndjson", dir);
    FY_ASSERT_EQ(read_lines(p, NULL, 0, NULL), 1);
    FY_ASSERT(access("/tmp/escape.ndjson", F_OK) != 0);
    snprintf(p, sizeof(p), "%s/../escape.ndjson", dir);
    FY_ASSERT(access(p, F_OK) != 0);
}

static void test_interval_waits_for_sync(void)
{
    static struct host h;
    struct fy_node *root;
    struct fy_sink *snk;
    struct fy_file_sink *fs;
    char dir[300], opts[600];
    int t;
    int64_t t0;

    fresh_dir("interval", dir, sizeof(dir));
    snprintf(opts, sizeof(opts), "dir: %s\nfsync: interval\nfsync_interval_ms: 300\n", dir);
    snk = make(opts, &h, &root);
    fs = fy_sink_ctx(snk);
    t0 = fy_clock_mono_ms();
    for (t = 0; t < 50; t++) {
        FY_ASSERT_EQ(submit(snk, t, "dev-a", ""), FY_OK);
    }
    fy_sink_poll(snk, 0);
    /* written, but not OK before the sync */
    FY_ASSERT_EQ((long long)fs->written, 50);
    FY_ASSERT_EQ(h.ok, 0);
    FY_ASSERT_EQ((long long)fs->unsynced, 50);
    settle(snk, &h, 50);
    FY_ASSERT_EQ(h.ok, 50);
    FY_ASSERT(fy_clock_mono_ms() - t0 >= 250);
    FY_ASSERT_EQ((long long)fs->synced, 50);
    destroy(snk, root);
}

static void test_rotate_size(void)
{
    static struct host h;
    static int ns[MAXT];
    struct fy_node *root;
    struct fy_sink *snk;
    struct fy_file_sink *fs;
    char dir[300], opts[600], p[600];
    int t, total = 0, files = 0, seen[400];
    long long rotations;
    DIR *d;
    struct dirent *e;

    fresh_dir("size", dir, sizeof(dir));
    snprintf(opts, sizeof(opts), "dir: %s\npath: dev.ndjson\nmax_bytes: 4k\nfsync: never\n", dir);
    snk = make(opts, &h, &root);
    fs = fy_sink_ctx(snk);
    for (t = 0; t < 400; t++) {
        FY_ASSERT_EQ(submit(snk, t, "dev-a", ""), FY_OK);
        if (t % 50 == 49) {
            fy_sink_poll(snk, 0); /* several batches, each split where the file is full */
        }
    }
    settle(snk, &h, 400);
    FY_ASSERT_EQ(h.ok, 400);
    rotations = (long long)fs->rotations;
    FY_ASSERT(rotations >= 6); /* 400 lines of ~75 bytes in files of at most 4 KiB */
    destroy(snk, root);
    memset(seen, 0, sizeof(seen));
    d = opendir(dir);
    FY_ASSERT_MSG(d != NULL, dir);
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        int n, i, last = -1, inorder = 1;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        FY_ASSERT_EQ(stat(p, &st), 0);
        FY_ASSERT(st.st_size <= 4096);
        FY_ASSERT(strcmp(e->d_name, "dev.ndjson") == 0 ||
                  strncmp(e->d_name, "dev-20", 6) == 0);
        n = read_lines(p, ns, MAXT, NULL);
        for (i = 0; i < n; i++) {
            inorder &= ns[i] > last;
            last = ns[i];
            if (ns[i] >= 0 && ns[i] < 400) {
                seen[ns[i]]++;
            }
        }
        FY_ASSERT(inorder);
        total += n;
        files++;
    }
    closedir(d);
    FY_ASSERT_EQ(total, 400);
    FY_ASSERT_EQ(files, rotations + 1);
    for (t = 0; t < 400; t++) {
        FY_ASSERT_EQ(seen[t], 1);
    }
}

static void test_rotate_time(void)
{
    static struct host h;
    struct fy_node *root;
    struct fy_sink *snk;
    struct fy_file_sink *fs;
    char dir[300], opts[600], p[400];
    int64_t deadline;
    int t;

    fresh_dir("time", dir, sizeof(dir));
    snprintf(opts, sizeof(opts), "dir: %s\npath: dev.ndjson\nrotate_interval_ms: 1s\n", dir);
    snk = make(opts, &h, &root);
    fs = fy_sink_ctx(snk);
    for (t = 0; t < 10; t++) {
        FY_ASSERT_EQ(submit(snk, t, "dev-a", ""), FY_OK);
    }
    settle(snk, &h, 10);
    FY_ASSERT_EQ(h.ok, 10);
    /* nothing more is written: the idle file is rotated once the wall clock's second turns */
    deadline = fy_clock_deadline(scaled(4000));
    while (fs->rotations == 0 && fy_clock_mono_ms() < deadline) {
        fy_sink_poll(snk, 20);
    }
    FY_ASSERT_EQ((long long)fs->rotations, 1);
    snprintf(p, sizeof(p), "%s/dev.ndjson", dir);
    FY_ASSERT(access(p, F_OK) != 0);
    for (t = 10; t < 15; t++) {
        FY_ASSERT_EQ(submit(snk, t, "dev-a", ""), FY_OK);
    }
    settle(snk, &h, 15);
    FY_ASSERT_EQ(h.ok, 15);
    destroy(snk, root);
    FY_ASSERT_EQ(read_lines(p, NULL, 0, NULL), 5);
    FY_ASSERT_EQ(count_files(dir, "dev-20"), 1);
}

static void test_torn_tail(void)
{
    static struct host h;
    static int ns[64];
    struct fy_node *root;
    struct fy_sink *snk;
    char dir[300], opts[600], p[400], q[400];
    FILE *f;
    int t, torn, n;

    fresh_dir("torn", dir, sizeof(dir));
    snprintf(p, sizeof(p), "%s/dev-a.ndjson", dir);
    snprintf(q, sizeof(q), "%s/dev-b.ndjson", dir);
    f = fopen(p, "w");
    FY_ASSERT_MSG(f != NULL, p);
    fputs("{\"n\":-5}\n{\"id\":\"r-00000", f); /* a crash in the middle of the second line */
    fclose(f);
    f = fopen(q, "w");
    FY_ASSERT_MSG(f != NULL, q);
    fputs("{\"id\":", f); /* nothing whole at all */
    fclose(f);
    snprintf(opts, sizeof(opts), "dir: %s\npath: \"{devEUI}.ndjson\"\n", dir);
    snk = make(opts, &h, &root);
    for (t = 0; t < 6; t++) {
        FY_ASSERT_EQ(submit(snk, t, t < 3 ? "dev-a" : "dev-b", ""), FY_OK);
    }
    settle(snk, &h, 6);
    FY_ASSERT_EQ(h.ok, 6);
    destroy(snk, root);
    n = read_lines(p, ns, 64, &torn);
    FY_ASSERT_EQ(n, 4);
    FY_ASSERT_EQ(torn, 0);
    FY_ASSERT_EQ(ns[0], -5);
    FY_ASSERT_EQ(ns[1], 0);
    FY_ASSERT_EQ(ns[3], 2);
    n = read_lines(q, ns, 64, &torn);
    FY_ASSERT_EQ(n, 3);
    FY_ASSERT_EQ(ns[0], 3);
}

static void test_lru(void)
{
    static struct host h;
    struct fy_node *root;
    struct fy_sink *snk;
    struct fy_file_sink *fs;
    char dir[300], opts[600], p[400], dev[16];
    size_t max_open = 0;
    int t, d;

    fresh_dir("lru", dir, sizeof(dir));
    snprintf(opts, sizeof(opts), "dir: %s\npath: \"{devEUI}.ndjson\"\nmax_open_files: 2\n"
             "fsync_interval_ms: 50\n", dir);
    snk = make(opts, &h, &root);
    fs = fy_sink_ctx(snk);
    for (t = 0; t < 120; t++) {
        snprintf(dev, sizeof(dev), "dev-%d", t % 6);
        FY_ASSERT_EQ(submit(snk, t, dev, ""), FY_OK);
        if (t % 7 == 0) {
            fy_sink_poll(snk, 0);
            max_open = fs->n_open > max_open ? fs->n_open : max_open;
        }
    }
    settle(snk, &h, 120);
    max_open = fs->n_open > max_open ? fs->n_open : max_open;
    FY_ASSERT_EQ(h.ok, 120);
    FY_ASSERT_EQ(h.dup, 0);
    FY_ASSERT(max_open <= 2);
    destroy(snk, root);
    for (d = 0; d < 6; d++) {
        snprintf(p, sizeof(p), "%s/dev-%d.ndjson", dir, d);
        FY_ASSERT_EQ(read_lines(p, NULL, 0, NULL), 20);
    }
}

/* write() answers ENOSPC: every record RETRY with the errno text; once there is room the
 * records resent (as the core does) are OK, each written once. */
static void test_dev_full(void)
{
    static struct host h;
    static int ns[64];
    struct fy_node *root;
    struct fy_sink *snk;
    char dir[300], opts[600], p[400];
    int t, n, torn;

    fresh_dir("full", dir, sizeof(dir));
    snprintf(p, sizeof(p), "%s/dev.ndjson", dir);
    FY_ASSERT_EQ(symlink("/dev/full", p), 0);
    snprintf(opts, sizeof(opts), "dir: %s\npath: dev.ndjson\nfsync: always\n", dir);
    snk = make(opts, &h, &root);
    for (t = 0; t < 20; t++) {
        FY_ASSERT_EQ(submit(snk, t, "dev-a", ""), FY_OK);
    }
    settle(snk, &h, 20);
    FY_ASSERT_EQ(h.retry, 20);
    FY_ASSERT_EQ(h.ok, 0);
    FY_ASSERT(strstr(h.reason[0], "write ") != NULL &&
              strstr(h.reason[0], "No space left on device") != NULL);
    /* space is back (the name is a regular file now): the core sends the records again */
    FY_ASSERT_EQ(unlink(p), 0);
    memset(&h, 0, sizeof(h));
    for (t = 0; t < 20; t++) {
        FY_ASSERT_EQ(submit(snk, t, "dev-a", ""), FY_OK);
    }
    settle(snk, &h, 20);
    FY_ASSERT_EQ(h.ok, 20);
    FY_ASSERT_EQ(h.dup, 0);
    destroy(snk, root);
    n = read_lines(p, ns, 64, &torn);
    FY_ASSERT_EQ(n, 20);
    FY_ASSERT_EQ(torn, 0);
    FY_ASSERT_EQ(ns[19], 19);
}

/* A real full filesystem (tmpfs of 256 KiB, needs root): writes fail part-way, RETRY; the
 * file is cut back to whole lines; after the filler is removed every record is there once. */
static void test_tmpfs_full(void)
{
    static struct host h;
    static int ns[MAXT];
    static int seen[300];
    struct fy_node *root;
    struct fy_sink *snk;
    char dir[300], cmd[900], opts[600], p[400];
    int t, n, torn, retried = 0, first_ok;

    fresh_dir("tmpfs", dir, sizeof(dir));
    snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=256k tmpfs '%s' 2>/dev/null", dir);
    if (geteuid() != 0 || system(cmd) != 0) {
        printf("\n  SKIPPED: cannot mount a tmpfs here (needs root); /dev/full covers ENOSPC\n");
        return;
    }
    /* fill it, then free one page: the first batches fit, one fails in the middle */
    snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of='%s/filler' bs=4096 2>/dev/null; "
             "truncate -s -4096 '%s/filler'", dir, dir);
    FY_ASSERT_EQ(system(cmd) >= 0, 1);
    snprintf(opts, sizeof(opts), "dir: %s\npath: dev.ndjson\nfsync: always\n", dir);
    snk = make(opts, &h, &root);
    for (t = 0; t < 300; t++) {
        FY_ASSERT_EQ(submit(snk, t, "dev-a", ""), FY_OK);
        if (t % 20 == 19) {
            fy_sink_poll(snk, 0); /* batches of 20 */
        }
    }
    settle(snk, &h, 300);
    first_ok = h.ok;
    FY_ASSERT(h.ok > 0);
    FY_ASSERT(h.retry > 0);
    FY_ASSERT_EQ(h.ok + h.retry, 300);
    for (t = 0; t < 300; t++) {
        if (h.res[t] == FY_SINK_RETRY) {
            FY_ASSERT(strstr(h.reason[t], "No space left on device") != NULL);
        }
    }
    printf("\n  tmpfs full: %d OK, %d RETRY (%s)\n", h.ok, h.retry, h.reason[299]);
    /* room again: resend the RETRY ones, the next attempts as the core would */
    snprintf(cmd, sizeof(cmd), "rm -f '%s/filler'", dir);
    FY_ASSERT_EQ(system(cmd), 0);
    {
        static struct host h2;
        static enum fy_sink_result res[300];
        for (t = 0; t < 300; t++) {
            res[t] = h.res[t];
        }
        memcpy(&h2, &h, sizeof(h2));
        memset(&h, 0, sizeof(h));
        for (t = 0; t < 300; t++) {
            if (res[t] == FY_SINK_RETRY) {
                FY_ASSERT_EQ(submit(snk, t, "dev-a", ""), FY_OK);
                retried++;
            }
        }
        (void)h2;
    }
    settle(snk, &h, retried);
    FY_ASSERT_EQ(h.ok, retried);
    FY_ASSERT_EQ(first_ok + h.ok, 300);
    destroy(snk, root);
    snprintf(p, sizeof(p), "%s/dev.ndjson", dir);
    n = read_lines(p, ns, MAXT, &torn);
    FY_ASSERT_EQ(n, 300);
    FY_ASSERT_EQ(torn, 0);
    memset(seen, 0, sizeof(seen));
    for (t = 0; t < n && t < MAXT; t++) {
        if (ns[t] >= 0 && ns[t] < 300) {
            seen[ns[t]]++;
        }
    }
    for (t = 0; t < 300; t++) {
        FY_ASSERT_EQ(seen[t], 1); /* 0 lost, and no duplicate either (cut back to whole lines) */
    }
    snprintf(cmd, sizeof(cmd), "umount '%s'", dir);
    FY_ASSERT_EQ(system(cmd), 0);
}

static int suite_setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/ferry-file-sink-XXXXXX");
    return mkdtemp(tmp) != NULL ? 0 : -1;
}

static int suite_teardown(void)
{
    char cmd[400];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int init_file_sink_tests(void)
{
    CU_pSuite s = CU_add_suite("file_sink", suite_setup, suite_teardown);

    fy_log_setup(FY_LOG_ERROR, NULL);
    if (s == NULL || CU_add_test(s, "path refusal", test_relpath) == NULL ||
        CU_add_test(s, "path rendering", test_render) == NULL ||
        CU_add_test(s, "rotated names", test_rotated_name) == NULL ||
        CU_add_test(s, "lines per file in order, bad paths rejected", test_lines_in_order) == NULL ||
        CU_add_test(s, "fsync interval: OK only after the sync", test_interval_waits_for_sync) == NULL ||
        CU_add_test(s, "rotation by size", test_rotate_size) == NULL ||
        CU_add_test(s, "rotation by time", test_rotate_time) == NULL ||
        CU_add_test(s, "torn last line cut at open", test_torn_tail) == NULL ||
        CU_add_test(s, "LRU of open files", test_lru) == NULL ||
        CU_add_test(s, "ENOSPC (/dev/full): RETRY, then OK", test_dev_full) == NULL ||
        CU_add_test(s, "full tmpfs: RETRY, then OK, 0 lost", test_tmpfs_full) == NULL) {
        return -1;
    }
    return 0;
}
