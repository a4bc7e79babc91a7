/* test_journal.c - the journal: round trips across segment rolls, concurrent appends, quota,
 * and the recovery battery of docs/reliability.md: J1 torn tail at every byte, J2 every byte of a
 * middle record flipped, J3 torn cursor slot, J5 crash between cursor write and delete. */
#include "core/log.h"
#include "bridge/journal/journal.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int init_journal_tests(void);

static char dir[256];

static void fresh_dir(void)
{
    char cmd[300];

    snprintf(dir, sizeof(dir), "/tmp/ferry-jtest-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static void rm_dir(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static struct fy_journal *jopen(uint64_t seg, uint64_t max, enum fy_fsync fs)
{
    struct fy_journal_opts o = {dir, seg, fs, 10, max};
    struct fy_err err = {0};
    struct fy_journal *j = fy_journal_open(&o, &err);

    if (j == NULL) {
        fprintf(stderr, "\njournal open: %s\n", err.msg);
    }
    return j;
}

static void rec_text(uint64_t i, char *buf, size_t size)
{
    snprintf(buf, size, "record-%06llu-%s", (unsigned long long)i,
             "payload-payload-payload-payload-payload-payload");
}

/* Read every remaining record via reader rd and check they are first..first+n-1. */
static uint64_t read_all_check(struct fy_journal_reader *rd, uint64_t first)
{
    struct fy_err err = {0};
    uint64_t seq, count = 0;
    void *data;
    size_t len;
    char want[128];

    while (fy_journal_reader_next(rd, &seq, &data, &len, 0, &err) == FY_OK) {
        rec_text(seq, want, sizeof(want));
        if (seq != first + count || len != strlen(want) || memcmp(data, want, len) != 0) {
            fprintf(stderr, "\nrecord %llu wrong (expected seq %llu)\n", (unsigned long long)seq,
                    (unsigned long long)(first + count));
            free(data);
            return (uint64_t)-1;
        }
        free(data);
        count++;
    }
    return count;
}

static void append_n(struct fy_journal *j, uint64_t from, uint64_t n)
{
    char buf[128];
    uint64_t i, seq;

    for (i = from; i < from + n; i++) {
        rec_text(i, buf, sizeof(buf));
        FY_ASSERT_EQ(fy_journal_append(j, buf, strlen(buf), &seq), FY_OK);
        FY_ASSERT_EQ(seq, i);
    }
}

static void test_roundtrip_roll_reopen(void)
{
    struct fy_journal *j;
    struct fy_journal_reader *rd;
    struct fy_journal_stat st;
    struct fy_err err = {0};

    fresh_dir();
    j = jopen(4096, 0, FY_FSYNC_INTERVAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    rd = fy_journal_reader_open(j, "sink-a", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rd);
    append_n(j, 1, 1000);
    fy_journal_stat(j, &st);
    CU_ASSERT_TRUE(st.segments > 10); /* rolled many times at 4 KiB */
    FY_ASSERT_EQ(read_all_check(rd, 1), 1000);
    /* commit half: segments before it go, the rest stays */
    FY_ASSERT_OK(fy_journal_reader_commit(rd, 501, &err), &err);
    fy_journal_reader_close(rd);
    fy_journal_close(j);

    j = jopen(4096, 0, FY_FSYNC_INTERVAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    rd = fy_journal_reader_open(j, "sink-a", &err);
    FY_ASSERT_EQ(fy_journal_reader_committed(rd), 501);
    FY_ASSERT_EQ(read_all_check(rd, 501), 500);
    append_n(j, 1001, 10); /* sequence numbers continue */
    FY_ASSERT_OK(fy_journal_reader_commit(rd, 1011, &err), &err);
    fy_journal_stat(j, &st);
    FY_ASSERT_EQ(st.next_seq, 1011);
    FY_ASSERT_EQ(st.segments, 1);
    fy_journal_reader_close(rd);
    fy_journal_close(j);

    /* every segment deleted: numbering still continues past the cursor */
    j = jopen(4096, 0, FY_FSYNC_INTERVAL);
    fy_journal_stat(j, &st);
    FY_ASSERT_EQ(st.next_seq, 1011);
    fy_journal_close(j);
    rm_dir();
}

struct thr {
    struct fy_journal *j;
    int id;
};

static void *appender(void *arg)
{
    struct thr *t = arg;
    char buf[64];
    int i;

    for (i = 0; i < 5000; i++) {
        snprintf(buf, sizeof(buf), "t%d-%d", t->id, i);
        if (fy_journal_append(t->j, buf, strlen(buf), NULL) != FY_OK) {
            return (void *)1;
        }
    }
    return NULL;
}

static void test_threads_group_commit(void)
{
    struct fy_journal *j;
    struct fy_journal_reader *rd;
    struct fy_err err = {0};
    pthread_t th[4];
    struct thr t[4];
    int last[4] = {-1, -1, -1, -1};
    uint64_t seq, n = 0;
    void *data;
    size_t len;
    int i, bad = 0;

    fresh_dir();
    j = jopen(64 * 1024, 0, FY_FSYNC_ALWAYS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    rd = fy_journal_reader_open(j, "r", &err);
    for (i = 0; i < 4; i++) {
        t[i].j = j;
        t[i].id = i;
        pthread_create(&th[i], NULL, appender, &t[i]);
    }
    for (i = 0; i < 4; i++) {
        void *res;
        pthread_join(th[i], &res);
        CU_ASSERT_PTR_NULL(res);
    }
    while (fy_journal_reader_next(rd, &seq, &data, &len, 0, &err) == FY_OK) {
        int id, k;
        char s[64];
        memcpy(s, data, len);
        s[len] = '\0';
        if (seq != n + 1 || sscanf(s, "t%d-%d", &id, &k) != 2 || k != last[id] + 1) {
            bad++;
        } else {
            last[id] = k;
        }
        free(data);
        n++;
    }
    FY_ASSERT_EQ(n, 20000);
    FY_ASSERT_EQ(bad, 0);
    fy_journal_reader_close(rd);
    fy_journal_close(j);
    rm_dir();
}

static void test_quota(void)
{
    struct fy_journal *j;
    struct fy_journal_reader *rd;
    struct fy_err err = {0};
    char buf[128];
    uint64_t i, ok = 0;
    int rc = FY_OK;

    fresh_dir();
    j = jopen(4096, 16384, FY_FSYNC_NEVER);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    rd = fy_journal_reader_open(j, "r", &err);
    for (i = 1; i < 10000 && rc == FY_OK; i++) {
        rec_text(i, buf, sizeof(buf));
        rc = fy_journal_append(j, buf, strlen(buf), NULL);
        ok += rc == FY_OK;
    }
    FY_ASSERT_EQ(rc, FY_EFULL);
    CU_ASSERT_TRUE(ok > 100 && ok < 300);
    /* still full until the reader commits; then space returns */
    rec_text(ok + 1, buf, sizeof(buf));
    FY_ASSERT_EQ(fy_journal_append(j, buf, strlen(buf), NULL), FY_EFULL);
    FY_ASSERT_EQ(read_all_check(rd, 1), ok);
    FY_ASSERT_OK(fy_journal_reader_commit(rd, ok + 1, &err), &err);
    rec_text(ok + 1, buf, sizeof(buf));
    FY_ASSERT_EQ(fy_journal_append(j, buf, strlen(buf), NULL), FY_OK);
    fy_journal_reader_close(rd);
    fy_journal_close(j);
    rm_dir();
}

/* Path of the only / last segment in dir. */
static int last_segment(char *out, size_t size, int which)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char names[64][64];
    int n = 0, i, k;

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (strlen(de->d_name) == 24 && strstr(de->d_name, ".seg") != NULL && n < 64) {
            snprintf(names[n++], 64, "%s", de->d_name);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    for (i = 0; i < n; i++) { /* sort */
        for (k = i + 1; k < n; k++) {
            if (strcmp(names[k], names[i]) < 0) {
                char t[64];
                memcpy(t, names[i], 64);
                memcpy(names[i], names[k], 64);
                memcpy(names[k], t, 64);
            }
        }
    }
    if (n == 0) {
        return -1;
    }
    snprintf(out, size, "%s/%s", dir, names[which < 0 ? n - 1 : which]);
    return n;
}

static off_t fsize(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

/* J1: the last record of the segment truncated at every byte: recovery keeps all earlier
 * records and the next append succeeds. */
static void test_j1_torn_tail_every_byte(void)
{
    char seg[512], buf[128];
    off_t full, before;
    int cut, failures = 0;

    fresh_dir();
    {
        struct fy_journal *j = jopen(1 << 20, 0, FY_FSYNC_ALWAYS);
        struct fy_err err = {0};
        struct fy_journal_reader *rd = fy_journal_reader_open(j, "r", &err);
        append_n(j, 1, 9);
        last_segment(seg, sizeof(seg), -1);
        before = fsize(seg);
        append_n(j, 10, 1);
        full = fsize(seg);
        fy_journal_reader_close(rd);
        fy_journal_close(j);
    }
    /* keep a pristine copy */
    {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s.orig'", seg, seg);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
    for (cut = 0; cut < full - before; cut++) {
        struct fy_journal *j;
        struct fy_journal_reader *rd;
        struct fy_err err = {0};
        char cmd[1200];
        uint64_t n;

        snprintf(cmd, sizeof(cmd), "cp '%s.orig' '%s' && truncate -s %lld '%s'", seg, seg,
                 (long long)(before + cut), seg);
        CU_ASSERT_EQUAL(system(cmd), 0);
        j = jopen(1 << 20, 0, FY_FSYNC_ALWAYS);
        if (j == NULL) {
            failures++;
            continue;
        }
        rd = fy_journal_reader_open(j, "r", &err);
        fy_journal_reader_seek(rd, 1);
        n = fy_journal_reader_committed(rd);
        (void)n;
        rec_text(10, buf, sizeof(buf));
        if (fy_journal_append(j, buf, strlen(buf), NULL) != FY_OK) {
            failures++;
        }
        fy_journal_reader_close(rd);
        fy_journal_close(j);
        /* all ten readable again, the 10th being the re-append */
        j = jopen(1 << 20, 0, FY_FSYNC_ALWAYS);
        {
            struct fy_journal_stat st;
            fy_journal_stat(j, &st);
            if (st.next_seq != 11) {
                failures++;
            }
        }
        fy_journal_close(j);
    }
    FY_ASSERT_EQ(failures, 0);
    rm_dir();
}

/* J2: every byte of a record in a middle segment flipped, one at a time: the CRC (or framing)
 * catches it, the segment is quarantined as *.corrupt, startup succeeds, and later segments
 * stay readable. */
static void test_j2_flips_quarantine(void)
{
    char seg[512], cmd[1400];
    off_t size;
    int off, undetected = 0, failures = 0;

    fresh_dir();
    {
        struct fy_journal *j = jopen(4096, 0, FY_FSYNC_ALWAYS);
        struct fy_err err = {0};
        struct fy_journal_reader *rd = fy_journal_reader_open(j, "r", &err);
        append_n(j, 1, 300); /* ~4 segments */
        fy_journal_reader_close(rd);
        fy_journal_close(j);
    }
    CU_ASSERT_TRUE(last_segment(seg, sizeof(seg), 1) >= 3);
    size = fsize(seg);
    snprintf(cmd, sizeof(cmd), "cd '%s' && tar cf /tmp/jtest-j2-%d.tar *.seg cursors", dir,
             (int)getpid());
    CU_ASSERT_EQUAL(system(cmd), 0);
    /* flip each byte of the first record after the 16-byte header (framing + payload) */
    for (off = 16; off < 16 + 16 + 60 && off < size; off++) {
        struct fy_journal *j;
        struct fy_journal_stat st;
        unsigned char b;
        int fd;

        snprintf(cmd, sizeof(cmd), "cd '%s' && rm -f *.seg *.corrupt && tar xf /tmp/jtest-j2-%d.tar",
                 dir, (int)getpid());
        CU_ASSERT_EQUAL(system(cmd), 0);
        fd = open(seg, O_RDWR);
        if (pread(fd, &b, 1, off) != 1) {
            failures++;
        }
        b ^= 0x5a;
        if (pwrite(fd, &b, 1, off) != 1) {
            failures++;
        }
        close(fd);
        j = jopen(4096, 0, FY_FSYNC_ALWAYS);
        if (j == NULL) {
            failures++;
            continue;
        }
        fy_journal_stat(j, &st);
        if (st.quarantined != 1) {
            undetected++;
        }
        /* records after the damaged segment are still there and appends continue */
        if (st.next_seq != 301 || fy_journal_append(j, "after", 5, NULL) != FY_OK) {
            failures++;
        }
        fy_journal_close(j);
    }
    FY_ASSERT_EQ(undetected, 0);
    FY_ASSERT_EQ(failures, 0);
    snprintf(cmd, sizeof(cmd), "rm -f /tmp/jtest-j2-%d.tar", (int)getpid());
    CU_ASSERT_EQUAL(system(cmd), 0);
    rm_dir();
}

/* J3: a torn write of either cursor slot falls back to the other slot (redelivers, never
 * skips). */
static void test_j3_cursor_tear(void)
{
    struct fy_journal *j;
    struct fy_journal_reader *rd;
    struct fy_err err = {0};
    char path[512];
    int slot;

    for (slot = 0; slot < 2; slot++) {
        int fd;
        unsigned char junk[32];
        fresh_dir();
        j = jopen(1 << 20, 0, FY_FSYNC_ALWAYS);
        rd = fy_journal_reader_open(j, "sink", &err); /* writes generation 1 (slot 1) */
        append_n(j, 1, 100);
        FY_ASSERT_OK(fy_journal_reader_commit(rd, 40, &err), &err); /* gen 2 -> slot 0 */
        FY_ASSERT_OK(fy_journal_reader_commit(rd, 60, &err), &err); /* gen 3 -> slot 1 */
        fy_journal_reader_close(rd);
        fy_journal_close(j);
        /* tear one slot: garbage over half of it */
        snprintf(path, sizeof(path), "%s/cursors/sink.cur", dir);
        fd = open(path, O_RDWR);
        memset(junk, 0xee, sizeof(junk));
        CU_ASSERT_EQUAL(pwrite(fd, junk, 12, slot * 32 + 4), 12);
        close(fd);
        j = jopen(1 << 20, 0, FY_FSYNC_ALWAYS);
        rd = fy_journal_reader_open(j, "sink", &err);
        /* slot 1 (newest, 60) torn -> falls back to 40; slot 0 (older) torn -> keeps 60 */
        FY_ASSERT_EQ(fy_journal_reader_committed(rd), slot == 1 ? 40 : 60);
        fy_journal_reader_close(rd);
        fy_journal_close(j);
        rm_dir();
    }
}

/* J5: the cursor is durable before segments are deleted; a crash after the cursor write but
 * before deletion leaves old segments that recovery simply keeps (never a skip). */
static void test_j5_delete_after_cursor(void)
{
    struct fy_journal *j;
    struct fy_journal_reader *rd;
    struct fy_err err = {0};
    char cmd[700];

    fresh_dir();
    j = jopen(4096, 0, FY_FSYNC_ALWAYS);
    rd = fy_journal_reader_open(j, "s", &err);
    append_n(j, 1, 200);
    /* simulate "cursor written, crash before delete": copy segments aside, commit, restore */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s.keep' && cp '%s'/*.seg '%s.keep'/", dir, dir, dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    FY_ASSERT_OK(fy_journal_reader_commit(rd, 150, &err), &err);
    fy_journal_reader_close(rd);
    fy_journal_close(j);
    snprintf(cmd, sizeof(cmd), "cp -n '%s.keep'/*.seg '%s'/ && rm -rf '%s.keep'", dir, dir, dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    j = jopen(4096, 0, FY_FSYNC_ALWAYS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    rd = fy_journal_reader_open(j, "s", &err);
    FY_ASSERT_EQ(fy_journal_reader_committed(rd), 150);
    FY_ASSERT_EQ(read_all_check(rd, 150), 51);
    fy_journal_reader_close(rd);
    fy_journal_close(j);
    rm_dir();
}

static void test_lock(void)
{
    struct fy_journal *a, *b;

    fresh_dir();
    a = jopen(4096, 0, FY_FSYNC_NEVER);
    CU_ASSERT_PTR_NOT_NULL(a);
    b = jopen(4096, 0, FY_FSYNC_NEVER); /* a second opener is refused */
    CU_ASSERT_PTR_NULL(b);
    fy_journal_close(a);
    rm_dir();
}

int init_journal_tests(void)
{
    CU_pSuite s = CU_add_suite("journal", NULL, NULL);

    fy_log_setup(FY_LOG_ERROR, NULL);
    if (s == NULL || CU_add_test(s, "round trip, roll, reopen", test_roundtrip_roll_reopen) == NULL ||
        CU_add_test(s, "4 threads, group commit", test_threads_group_commit) == NULL ||
        CU_add_test(s, "quota", test_quota) == NULL ||
        CU_add_test(s, "J1 torn tail at every byte", test_j1_torn_tail_every_byte) == NULL ||
        CU_add_test(s, "J2 byte flips quarantine", test_j2_flips_quarantine) == NULL ||
        CU_add_test(s, "J3 cursor tear", test_j3_cursor_tear) == NULL ||
        CU_add_test(s, "J5 delete after cursor", test_j5_delete_after_cursor) == NULL ||
        CU_add_test(s, "directory lock", test_lock) == NULL) {
        return -1;
    }
    return 0;
}
