/* journal.c - the durable queue: append-only segment files of CRC32C-framed records, one
 * persisted cursor per reader, recovery that truncates a torn tail and quarantines a corrupt
 * segment, group commit for fsync=always, a flusher thread for fsync=interval.
 *
 * DESIGN: j->mu guards the segment list, the write position and the reader registry. Appends
 * write under j->mu; under fsync=always the first appender to find the file unsynced becomes
 * the syncer: it drops j->mu, fdatasyncs, and wakes the others (group commit). A segment is
 * rolled only when no sync is in flight. Readers read records below next_seq without j->mu:
 * those bytes are complete and never rewritten, and a reader's segment cannot be deleted
 * because deletion stops at the smallest committed cursor of the open readers.
 *
 * On disk: <dir>/<first seq, 20 digits>.seg = header "FYJ1" u32 version u64 first_seq, then
 * frames [u32 len][u32 crc32c(seq, payload)][u64 seq][payload], little-endian.
 * <dir>/cursors/<reader>.cur = two 32-byte slots [u64 next_seq][u64 generation][u32 crc];
 * a commit overwrites the older slot, so a torn write leaves the newer one intact. */
#include "bridge/journal/journal.h"

#include "core/clock.h"
#include "core/crc32c.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HDR_SIZE 16
#define FRAME_HDR 16
#define RECORD_MAX FY_JOURNAL_RECORD_MAX
#define VERSION 1
#define SLOT_SIZE 32

static const char TAG[] = "journal";

struct segment {
    uint64_t first;      /* seq of its first record (or the next one, when empty) */
    uint64_t end;        /* one past its last record */
    uint64_t size;       /* bytes incl. header */
};

struct fy_journal_reader {
    struct fy_journal *j;
    char *name;
    int fd;              /* cursor file, -1 for an ephemeral reader */
    uint64_t gen;
    uint64_t committed;  /* durable: next seq to deliver */
    uint64_t pos;        /* next seq to read */
    int seg_fd;          /* segment being read */
    uint64_t seg_first;
    uint64_t seg_off;    /* file offset of record pos (valid when pos_known) */
    int pos_known;
    struct fy_journal_reader *next;
};

struct fy_journal {
    struct fy_journal_opts o;
    char *dir;
    int dir_fd;
    int cur_dir_fd;               /* <dir>/cursors, fsynced after a cursor file is created */
    int lock_fd;
    pthread_mutex_t mu;
    pthread_cond_t cv;            /* appends, sync completion, reader commits */
    struct segment *segs;
    size_t n_segs;
    int fd;                       /* active (last) segment */
    uint64_t next_seq;
    uint64_t bytes;
    uint64_t synced;              /* every seq below this is on stable storage */
    int syncing;
    int dirty;
    int failed;
    size_t quarantined;
    struct fy_journal_reader *readers;
    pthread_t flusher;
    int flusher_running;
    int stopping;
};

/* ==== small helpers ==== */

static void le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void le64(unsigned char *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint32_t frame_crc(uint64_t seq, const void *data, size_t len)
{
    unsigned char s[8];

    le64(s, seq);
    return fy_crc32c(fy_crc32c(0, s, 8), data, len);
}

static void seg_path(const struct fy_journal *j, uint64_t first, char *out, size_t size)
{
    snprintf(out, size, "%s/%020" PRIu64 ".seg", j->dir, first);
}

static int write_all(int fd, const void *p, size_t n, off_t off)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = pwrite(fd, c, n, off);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        c += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n, off_t off)
{
    char *c = p;

    while (n > 0) {
        ssize_t r = pread(fd, c, n, off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        c += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

static void fail(struct fy_journal *j, const char *what, int e);

/* fsync policy applies to metadata too: make a created/renamed/unlinked entry durable. A
 * failed directory fsync is a storage failure like a failed fdatasync (docs/reliability.md,
 * "Journal: fsync errors"): the journal refuses further writes. Returns 0, or -1 with errno. */
static int sync_dir(struct fy_journal *j)
{
    if (j->o.fsync != FY_FSYNC_NEVER && fsync(j->dir_fd) != 0) {
        int e = errno;
        fail(j, "fsync of the journal directory", e);
        errno = e;
        return -1;
    }
    return 0;
}

/* fsync the directory holding path (a directory just created). 0 ok, -1 with errno set. */
static int sync_parent(const struct fy_journal *j, const char *path)
{
    char parent[4200];
    char *slash;
    int fd, r, e;

    if (j->o.fsync == FY_FSYNC_NEVER) {
        return 0;
    }
    snprintf(parent, sizeof(parent), "%s", path);
    slash = strrchr(parent, '/');
    if (slash == NULL) {
        snprintf(parent, sizeof(parent), ".");
    } else if (slash == parent) {
        slash[1] = '\0';
    } else {
        *slash = '\0';
    }
    fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    r = fsync(fd);
    e = errno;
    close(fd);
    errno = e;
    return r;
}

static void fail(struct fy_journal *j, const char *what, int e)
{
    if (!j->failed) {
        fy_log_error(TAG, "%s failed in %s: %s; the journal refuses further writes (restart "
                     "to recover)", what, j->dir, strerror(e));
    }
    j->failed = 1;
    pthread_cond_broadcast(&j->cv);
}

/* ==== segments ==== */

static int seg_create(struct fy_journal *j, uint64_t first, struct fy_err *err)
{
    unsigned char h[HDR_SIZE];
    struct segment *segs;
    char path[4200];
    int fd;

    seg_path(j, first, path, sizeof(path));
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        return fy_err_set(err, errno == ENOSPC ? FY_EFULL : FY_EIO, "create %s: %s", path,
                          strerror(errno));
    }
    memcpy(h, "FYJ1", 4);
    le32(h + 4, VERSION);
    le64(h + 8, first);
    if (write_all(fd, h, sizeof(h), 0) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return fy_err_set(err, e == ENOSPC ? FY_EFULL : FY_EIO, "write %s: %s", path,
                          strerror(e));
    }
    segs = realloc(j->segs, (j->n_segs + 1) * sizeof(*segs));
    if (segs == NULL) {
        close(fd);
        unlink(path);
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    j->segs = segs;
    j->segs[j->n_segs++] = (struct segment){first, first, HDR_SIZE};
    if (j->fd >= 0) {
        close(j->fd);
    }
    j->fd = fd;
    j->bytes += HDR_SIZE;
    if (sync_dir(j) != 0) {
        /* the segment's name may not survive a power loss: nothing may be acked into it */
        return fy_err_set(err, FY_EIO, "fsync of directory %s: %s", j->dir, strerror(errno));
    }
    return FY_OK;
}

/* Scan one segment file. Returns the number of valid records and sets *good_end to the offset
 * after the last valid one, *end_seq past its seq; *why explains the first bad frame. The
 * payload is checked through a fixed buffer, a piece at a time: a scan that needed memory could
 * only report its failure as a bad frame, and recovery would then truncate or quarantine
 * acknowledged records because malloc said no (docs/reliability.md, "Recover, never
 * crash-loop"; battery row S4). */
static uint64_t seg_scan(int fd, uint64_t first, uint64_t file_size, uint64_t *good_end,
                         uint64_t *end_seq, const char **why)
{
    unsigned char fh[FRAME_HDR], s[8], buf[16384];
    uint64_t off = HDR_SIZE, seq = first, n = 0;

    *why = NULL;
    while (off < file_size) {
        uint32_t len, crc, got;
        uint64_t done;
        if (file_size - off < FRAME_HDR || read_all(fd, fh, FRAME_HDR, (off_t)off) != 0) {
            *why = "torn frame header";
            break;
        }
        len = rd32(fh);
        crc = rd32(fh + 4);
        if (len > RECORD_MAX || file_size - off - FRAME_HDR < len) {
            *why = len > RECORD_MAX ? "impossible record length" : "torn record";
            break;
        }
        if (rd64(fh + 8) != seq) {
            *why = "sequence number out of order";
            break;
        }
        le64(s, seq);
        got = fy_crc32c(0, s, 8); /* as frame_crc(), over the pieces */
        for (done = 0; done < len; done += sizeof(buf)) {
            size_t piece = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
            if (read_all(fd, buf, piece, (off_t)(off + FRAME_HDR + done)) != 0) {
                break;
            }
            got = fy_crc32c(got, buf, piece);
        }
        if (done < len) {
            *why = "short read";
            break;
        }
        if (got != crc) {
            *why = "CRC mismatch";
            break;
        }
        off += FRAME_HDR + len;
        seq++;
        n++;
    }
    *good_end = off;
    *end_seq = seq;
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void quarantine(struct fy_journal *j, const char *name, const char *why)
{
    char from[4200], to[4300];

    snprintf(from, sizeof(from), "%s/%s", j->dir, name);
    snprintf(to, sizeof(to), "%s.corrupt", from);
    if (rename(from, to) != 0) {
        fy_log_error(TAG, "cannot quarantine %s: %s", from, strerror(errno));
    }
    j->quarantined++;
    fy_log_error(TAG, "CORRUPT SEGMENT %s (%s): moved to %s; its records after the damage "
                 "are lost and will not be delivered", from, why, to);
    sync_dir(j);
}

static uint64_t max_cursor(struct fy_journal *j);

static int recover(struct fy_journal *j, struct fy_err *err)
{
    DIR *d = opendir(j->dir);
    struct dirent *de;
    uint64_t *firsts = NULL;
    size_t n = 0, cap = 0, i;
    uint64_t next = 1;

    if (d == NULL) {
        return fy_err_set(err, FY_EIO, "open %s: %s", j->dir, strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char *end;
        uint64_t v;
        if (len != 24 || strcmp(de->d_name + 20, ".seg") != 0) {
            if (len > 12 && strcmp(de->d_name + len - 12, ".seg.corrupt") == 0) {
                j->quarantined++;
            }
            continue;
        }
        v = strtoull(de->d_name, &end, 10);
        if (end != de->d_name + 20) {
            continue;
        }
        if (n == cap) {
            uint64_t *nf = realloc(firsts, (cap ? cap * 2 : 16) * sizeof(*nf));
            if (nf == NULL) {
                closedir(d);
                free(firsts);
                return fy_err_set(err, FY_ENOMEM, "out of memory");
            }
            firsts = nf;
            cap = cap ? cap * 2 : 16;
        }
        firsts[n++] = v;
    }
    closedir(d);
    if (n > 1) {
        qsort(firsts, n, sizeof(*firsts), cmp_u64);
    }

    for (i = 0; i < n; i++) {
        char path[4200], name[32];
        unsigned char h[HDR_SIZE];
        struct stat st;
        uint64_t good_end, end_seq, recs;
        const char *why;
        int last = i + 1 == n;
        int fd;

        seg_path(j, firsts[i], path, sizeof(path));
        snprintf(name, sizeof(name), "%020" PRIu64 ".seg", firsts[i]);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0) {
                close(fd);
            }
            free(firsts);
            return fy_err_set(err, FY_EIO, "open %s: %s", path, strerror(errno));
        }
        if (st.st_size < HDR_SIZE || read_all(fd, h, HDR_SIZE, 0) != 0 ||
            memcmp(h, "FYJ1", 4) != 0 || rd32(h + 4) != VERSION || rd64(h + 8) != firsts[i]) {
            close(fd);
            if (last && st.st_size < HDR_SIZE) {
                /* a segment torn while being created: nothing in it was ever acknowledged */
                fy_log_warn(TAG, "%s: incomplete segment header (%lld bytes), removed", path,
                            (long long)st.st_size);
                unlink(path);
                /* the removal must be durable before anything is appended: the segment
                 * before it becomes the active one again, and if a power loss undid the
                 * unlink, that segment's unsynced tail would sit in the middle and be
                 * quarantined as corruption, acked records with it */
                if (sync_dir(j) != 0) {
                    free(firsts);
                    return fy_err_set(err, FY_EIO, "fsync of directory %s: %s", j->dir,
                                      strerror(errno));
                }
                continue;
            }
            quarantine(j, name, st.st_size < HDR_SIZE       ? "truncated header"
                                : memcmp(h, "FYJ1", 4) != 0 ? "bad magic"
                                : rd32(h + 4) != VERSION    ? "unsupported version"
                                                            : "header sequence mismatch");
            continue;
        }
        if (firsts[i] < next && j->n_segs > 0) {
            close(fd);
            quarantine(j, name, "overlaps the previous segment");
            continue;
        }
        recs = seg_scan(fd, firsts[i], (uint64_t)st.st_size, &good_end, &end_seq, &why);
        if (why != NULL) {
            if (last) {
                fy_log_warn(TAG, "%s: %s at offset %" PRIu64 " after %" PRIu64
                            " good records; truncating the torn tail (%lld bytes dropped)",
                            path, why, good_end, recs, (long long)st.st_size - (long long)good_end);
                if (ftruncate(fd, (off_t)good_end) != 0 || fdatasync(fd) != 0) {
                    close(fd);
                    free(firsts);
                    return fy_err_set(err, FY_EIO, "truncate %s: %s", path, strerror(errno));
                }
                st.st_size = (off_t)good_end;
            } else {
                close(fd);
                quarantine(j, name, why);
                continue;
            }
        }
        if (j->n_segs > 0 && firsts[i] != next) {
            fy_log_error(TAG, "records %" PRIu64 "..%" PRIu64 " are missing before %s "
                         "(a quarantined or deleted segment)", next, firsts[i] - 1, path);
        }
        {
            struct segment *segs = realloc(j->segs, (j->n_segs + 1) * sizeof(*segs));
            if (segs == NULL) {
                close(fd);
                free(firsts);
                return fy_err_set(err, FY_ENOMEM, "out of memory");
            }
            j->segs = segs;
            j->segs[j->n_segs++] = (struct segment){firsts[i], end_seq, (uint64_t)st.st_size};
        }
        j->bytes += (uint64_t)st.st_size;
        next = end_seq;
        if (j->fd >= 0) {
            close(j->fd);
        }
        j->fd = fd;
    }
    free(firsts);
    /* Sequence numbers never go back: after every segment was deleted, continue past the
     * highest cursor so no reader ever skips a new record. */
    {
        uint64_t mc = max_cursor(j);
        if (mc > next) {
            next = mc;
        }
    }
    j->next_seq = next;
    j->synced = next;
    if (j->n_segs == 0 || j->segs[j->n_segs - 1].end != next) {
        return seg_create(j, next, err);
    }
    return FY_OK;
}

/* ==== cursors ==== */

static int cursor_path(const struct fy_journal *j, const char *name, char *out, size_t size)
{
    return snprintf(out, size, "%s/cursors/%s.cur", j->dir, name) < (int)size ? 0 : -1;
}

/* Load the newest valid slot of an open cursor file. 0 found, -1 none valid. */
static int cursor_load(int fd, uint64_t *next, uint64_t *gen)
{
    unsigned char s[2 * SLOT_SIZE];
    ssize_t r = pread(fd, s, sizeof(s), 0);
    int found = -1;
    int i;

    for (i = 0; i < 2 && r >= (i + 1) * SLOT_SIZE; i++) {
        const unsigned char *p = s + i * SLOT_SIZE;
        if (fy_crc32c(0, p, 16) == rd32(p + 16) && (found < 0 || rd64(p + 8) > *gen)) {
            *next = rd64(p);
            *gen = rd64(p + 8);
            found = 0;
        }
    }
    return found;
}

static uint64_t max_cursor(struct fy_journal *j)
{
    char path[4200];
    DIR *d;
    struct dirent *de;
    uint64_t mx = 0;

    snprintf(path, sizeof(path), "%s/cursors", j->dir);
    d = opendir(path);
    if (d == NULL) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        char p[4400];
        uint64_t next, gen = 0;
        int fd;
        if (strstr(de->d_name, ".cur") == NULL) {
            continue;
        }
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && cursor_load(fd, &next, &gen) == 0 && next > mx) {
            mx = next;
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    closedir(d);
    return mx;
}

static int cursor_write(struct fy_journal_reader *rd, uint64_t next, struct fy_err *err)
{
    unsigned char s[SLOT_SIZE];
    uint64_t gen = rd->gen + 1;

    memset(s, 0, sizeof(s));
    le64(s, next);
    le64(s + 8, gen);
    le32(s + 16, fy_crc32c(0, s, 16));
    if (write_all(rd->fd, s, sizeof(s), (off_t)((gen % 2) * SLOT_SIZE)) != 0 ||
        (rd->j->o.fsync != FY_FSYNC_NEVER && fdatasync(rd->fd) != 0)) {
        return fy_err_set(err, FY_EIO, "cursor %s: %s", rd->name, strerror(errno));
    }
    rd->gen = gen;
    return FY_OK;
}

/* Delete segments every open reader has passed (never the active one). Called with mu. */
static void collect(struct fy_journal *j)
{
    struct fy_journal_reader *rd;
    uint64_t low = UINT64_MAX;
    size_t drop = 0, i;

    for (rd = j->readers; rd != NULL; rd = rd->next) {
        if (rd->fd >= 0 && rd->committed < low) {
            low = rd->committed;
        }
    }
    if (low == UINT64_MAX) {
        return; /* no durable reader: keep everything */
    }
    while (drop + 1 < j->n_segs && j->segs[drop].end <= low) {
        char path[4200];
        seg_path(j, j->segs[drop].first, path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT) {
            fy_log_warn(TAG, "cannot delete %s: %s", path, strerror(errno));
            break;
        }
        j->bytes -= j->segs[drop].size;
        drop++;
    }
    if (drop > 0) {
        for (i = drop; i < j->n_segs; i++) {
            j->segs[i - drop] = j->segs[i];
        }
        j->n_segs -= drop;
        sync_dir(j);
        pthread_cond_broadcast(&j->cv); /* room for appenders waiting on the quota */
    }
}

/* ==== flusher ==== */

/* fdatasync the active segment outside mu. Called with mu held; returns with it held. */
static void sync_now(struct fy_journal *j)
{
    uint64_t target = j->next_seq;
    int fd = j->fd;
    int r;

    j->syncing = 1;
    j->dirty = 0;
    pthread_mutex_unlock(&j->mu);
    r = fdatasync(fd);
    pthread_mutex_lock(&j->mu);
    j->syncing = 0;
    if (r != 0) {
        fail(j, "fdatasync", errno);
    } else if (target > j->synced) {
        j->synced = target;
    }
    pthread_cond_broadcast(&j->cv);
}

static void *flusher(void *arg)
{
    struct fy_journal *j = arg;

    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        struct timespec ts = fy_clock_abstime(j->o.fsync_interval_ms);
        /* j->cv is broadcast by every append (for group commit waiters) and by deletes: wait
         * out the whole interval, or the flusher would sync after nearly every append */
        while (!j->stopping && pthread_cond_timedwait(&j->cv, &j->mu, &ts) != ETIMEDOUT) {
        }
        if (j->dirty && !j->syncing && !j->failed) {
            sync_now(j);
        }
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* ==== open / close ==== */

struct fy_journal *fy_journal_open(const struct fy_journal_opts *o, struct fy_err *err)
{
    struct fy_journal *j;
    char path[4200];

    if (o == NULL || o->dir == NULL || *o->dir == '\0') {
        fy_err_set(err, FY_EINVAL, "journal: no directory");
        return NULL;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    j->o = *o;
    if (j->o.segment_bytes < 4096) {
        j->o.segment_bytes = 64u << 20;
    }
    if (j->o.fsync_interval_ms <= 0) {
        j->o.fsync_interval_ms = 100;
    }
    j->fd = -1;
    j->dir_fd = -1;
    j->cur_dir_fd = -1;
    j->lock_fd = -1;
    pthread_mutex_init(&j->mu, NULL);
    fy_clock_cond_init(&j->cv); /* timed waits on the monotonic clock */
    j->dir = strdup(o->dir);
    if (j->dir == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/cursors", j->dir);
    {
        /* mkdir -p dir/cursors; a directory made here is durable only once its parent is
         * fsynced (docs/reliability.md, "Journal": every file created is followed by an
         * fsync of its directory), else a power loss can take the whole journal with it */
        char *p;
        for (p = path + 1; *p != '\0'; p++) {
            if (*p == '/') {
                *p = '\0';
                if (mkdir(path, 0750) == 0 && sync_parent(j, path) != 0) {
                    goto fail_mkdir;
                }
                *p = '/';
            }
        }
        if (mkdir(path, 0750) == 0) {
            if (sync_parent(j, path) != 0) {
                goto fail_mkdir;
            }
        } else if (errno != EEXIST) {
            goto fail_mkdir;
        }
    }
    j->dir_fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    j->cur_dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* path: dir/cursors */
    snprintf(path, sizeof(path), "%s/LOCK", j->dir);
    j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (j->dir_fd < 0 || j->cur_dir_fd < 0 || j->lock_fd < 0) {
        fy_err_set(err, FY_EIO, "cannot open %s: %s", j->dir, strerror(errno));
        goto fail;
    }
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fy_err_set(err, FY_EIO, "%s is in use by another ferry process (stop it first)", j->dir);
        goto fail;
    }
    if (recover(j, err) != FY_OK) {
        goto fail;
    }
    if (j->o.fsync == FY_FSYNC_INTERVAL) {
        if (pthread_create(&j->flusher, NULL, flusher, j) != 0) {
            fy_err_set(err, FY_EIO, "cannot start the journal flusher thread");
            goto fail;
        }
        j->flusher_running = 1;
    }
    fy_log_debug(TAG, "%s: %zu segment(s), %" PRIu64 " bytes, next seq %" PRIu64, j->dir,
                 j->n_segs, j->bytes, j->next_seq);
    return j;
fail_mkdir:
    fy_err_set(err, FY_EIO, "cannot create %s: %s", path, strerror(errno));
fail:
    fy_journal_close(j);
    return NULL;
}

void fy_journal_close(struct fy_journal *j)
{
    if (j == NULL) {
        return;
    }
    pthread_mutex_lock(&j->mu);
    j->stopping = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (j->flusher_running) {
        pthread_join(j->flusher, NULL);
    }
    if (j->fd >= 0) {
        if (j->o.fsync != FY_FSYNC_NEVER && !j->failed && fdatasync(j->fd) != 0) {
            fy_log_error(TAG, "final fdatasync of %s failed: %s", j->dir, strerror(errno));
        }
        close(j->fd);
    }
    if (j->dir_fd >= 0) {
        close(j->dir_fd);
    }
    if (j->cur_dir_fd >= 0) {
        close(j->cur_dir_fd);
    }
    if (j->lock_fd >= 0) {
        close(j->lock_fd); /* releases the flock */
    }
    while (j->readers != NULL) {
        fy_journal_reader_close(j->readers); /* unlinks itself */
    }
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j->segs);
    free(j->dir);
    free(j);
}

/* ==== append ==== */

int fy_journal_append(struct fy_journal *j, const void *data, size_t len, uint64_t *seq_out)
{
    unsigned char fh[FRAME_HDR];
    struct fy_err err = {0};
    struct segment *s;
    uint64_t seq, need = FRAME_HDR + (uint64_t)len;
    int rc = FY_OK;

    if (j == NULL || (data == NULL && len > 0) || len > RECORD_MAX) {
        return len > RECORD_MAX ? FY_ETOOBIG : FY_EINVAL;
    }
    pthread_mutex_lock(&j->mu);
    if (j->failed) {
        pthread_mutex_unlock(&j->mu);
        return FY_EIO;
    }
    if (j->o.max_bytes > 0 && j->bytes + need > j->o.max_bytes) {
        pthread_mutex_unlock(&j->mu);
        return FY_EFULL;
    }
    s = &j->segs[j->n_segs - 1];
    if (s->size + need > j->o.segment_bytes && s->end > s->first) {
        /* roll: the old segment must be durable before we stop syncing it */
        while (j->syncing) {
            pthread_cond_wait(&j->cv, &j->mu);
        }
        if (j->o.fsync != FY_FSYNC_NEVER && fdatasync(j->fd) != 0) {
            fail(j, "fdatasync", errno);
            pthread_mutex_unlock(&j->mu);
            return FY_EIO;
        }
        j->synced = j->next_seq;
        rc = seg_create(j, j->next_seq, &err);
        if (rc != FY_OK) {
            if (rc != FY_EFULL) {
                fail(j, "segment roll", errno ? errno : EIO);
                rc = FY_EIO;
            }
            pthread_mutex_unlock(&j->mu);
            return rc;
        }
        s = &j->segs[j->n_segs - 1];
    }
    seq = j->next_seq;
    le32(fh, (uint32_t)len);
    le32(fh + 4, frame_crc(seq, data, len));
    le64(fh + 8, seq);
    if (write_all(j->fd, fh, FRAME_HDR, (off_t)s->size) != 0 ||
        write_all(j->fd, data, len, (off_t)(s->size + FRAME_HDR)) != 0) {
        int e = errno;
        /* Cut the partial frame so the segment stays valid. */
        if (ftruncate(j->fd, (off_t)s->size) != 0) {
            fail(j, "truncate after a failed write", errno);
        }
        if (e == ENOSPC || e == EDQUOT) {
            pthread_mutex_unlock(&j->mu);
            return FY_EFULL;
        }
        fail(j, "write", e);
        pthread_mutex_unlock(&j->mu);
        return FY_EIO;
    }
    s->size += need;
    s->end = seq + 1;
    j->bytes += need;
    j->next_seq = seq + 1;
    j->dirty = 1;
    pthread_cond_broadcast(&j->cv);
    if (j->o.fsync == FY_FSYNC_ALWAYS) {
        /* group commit: one fdatasync covers every record written before it started */
        while (j->synced <= seq && !j->failed) {
            if (!j->syncing) {
                sync_now(j);
            } else {
                pthread_cond_wait(&j->cv, &j->mu);
            }
        }
        rc = j->failed ? FY_EIO : FY_OK;
    }
    pthread_mutex_unlock(&j->mu);
    if (seq_out != NULL && rc == FY_OK) {
        *seq_out = seq;
    }
    return rc;
}

void fy_journal_stat(struct fy_journal *j, struct fy_journal_stat *st)
{
    pthread_mutex_lock(&j->mu);
    st->first_seq = j->n_segs > 0 && j->segs[0].end > j->segs[0].first ? j->segs[0].first : 0;
    st->next_seq = j->next_seq;
    st->bytes = j->bytes;
    st->segments = j->n_segs;
    st->quarantined = j->quarantined;
    pthread_mutex_unlock(&j->mu);
}

/* ==== readers ==== */

static struct fy_journal_reader *reader_new(struct fy_journal *j, const char *name,
                                            struct fy_err *err)
{
    struct fy_journal_reader *rd = calloc(1, sizeof(*rd));

    if (rd == NULL || (rd->name = strdup(name)) == NULL) {
        free(rd);
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    rd->j = j;
    rd->fd = -1;
    rd->seg_fd = -1;
    return rd;
}

struct fy_journal_reader *fy_journal_reader_open(struct fy_journal *j, const char *name,
                                                 struct fy_err *err)
{
    struct fy_journal_reader *rd;
    char path[4300];
    const char *c;
    uint64_t next = 0;

    for (c = name; c != NULL && *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.' || *c == '-') || (c == name && *c == '.')) {
            break;
        }
    }
    if (name == NULL || *name == '\0' || *c != '\0') {
        fy_err_set(err, FY_EINVAL, "invalid reader name '%s'", name ? name : "");
        return NULL;
    }
    rd = reader_new(j, name, err);
    if (rd == NULL) {
        return NULL;
    }
    if (cursor_path(j, name, path, sizeof(path)) != 0 ||
        (rd->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
        fy_err_set(err, FY_EIO, "cursor %s: %s", path, strerror(errno));
        free(rd->name);
        free(rd);
        return NULL;
    }
    pthread_mutex_lock(&j->mu);
    if (cursor_load(rd->fd, &next, &rd->gen) != 0) {
        /* a new reader starts at the end: it receives records appended from now on */
        next = j->next_seq;
        pthread_mutex_unlock(&j->mu);
        if (cursor_write(rd, next, err) != FY_OK) {
            close(rd->fd);
            free(rd->name);
            free(rd);
            return NULL;
        }
        /* the new file's name lives in cursors/, not in the journal dir: without this fsync
         * a power loss can drop the file, and the reader would come back as a new one at
         * the end of the journal, skipping every record it had not committed */
        if (j->o.fsync != FY_FSYNC_NEVER && fsync(j->cur_dir_fd) != 0) {
            fy_err_set(err, FY_EIO, "fsync of %s/cursors: %s", j->dir, strerror(errno));
            close(rd->fd);
            free(rd->name);
            free(rd);
            return NULL;
        }
        pthread_mutex_lock(&j->mu);
    }
    if (next > j->next_seq) {
        fy_log_warn(TAG, "reader %s: cursor %" PRIu64 " is past the end %" PRIu64 "; reset",
                    name, next, j->next_seq);
        next = j->next_seq;
    }
    rd->committed = next;
    rd->pos = next;
    rd->next = j->readers;
    j->readers = rd;
    pthread_mutex_unlock(&j->mu);
    return rd;
}

void fy_journal_reader_close(struct fy_journal_reader *rd)
{
    struct fy_journal_reader **pp;

    if (rd == NULL) {
        return;
    }
    pthread_mutex_lock(&rd->j->mu);
    for (pp = &rd->j->readers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == rd) {
            *pp = rd->next;
            break;
        }
    }
    pthread_mutex_unlock(&rd->j->mu);
    if (rd->fd >= 0) {
        close(rd->fd);
    }
    if (rd->seg_fd >= 0) {
        close(rd->seg_fd);
    }
    free(rd->name);
    free(rd);
}

int fy_journal_reader_seek(struct fy_journal_reader *rd, uint64_t seq)
{
    if (rd == NULL || seq < rd->committed) {
        return FY_EINVAL;
    }
    rd->pos = seq;
    rd->pos_known = 0;
    return FY_OK;
}

uint64_t fy_journal_reader_lag_bytes(struct fy_journal_reader *rd)
{
    struct fy_journal *j = rd->j;
    uint64_t bytes = 0;
    size_t i;

    pthread_mutex_lock(&j->mu);
    for (i = 0; i < j->n_segs; i++) {
        if (j->segs[i].end > rd->committed) {
            bytes += j->segs[i].size;
        }
    }
    pthread_mutex_unlock(&j->mu);
    return bytes;
}

uint64_t fy_journal_reader_committed(const struct fy_journal_reader *rd)
{
    return rd->committed;
}

int fy_journal_reader_next(struct fy_journal_reader *rd, uint64_t *seq, void **data,
                           size_t *len, int timeout_ms, struct fy_err *err)
{
    struct fy_journal *j = rd->j;
    unsigned char fh[FRAME_HDR];
    struct timespec ts;
    uint64_t first = 0, seg_size = 0;
    size_t i;
    void *buf;
    uint32_t flen;

    pthread_mutex_lock(&j->mu);
    if (rd->pos >= j->next_seq && timeout_ms > 0) {
        ts = fy_clock_abstime(timeout_ms);
        while (rd->pos >= j->next_seq && !j->stopping) {
            if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) != 0) {
                break;
            }
        }
    }
    if (rd->pos >= j->next_seq) {
        pthread_mutex_unlock(&j->mu);
        return FY_EAGAIN;
    }
    /* The segment holding pos (the last one whose first <= pos). */
    for (i = j->n_segs; i > 0; i--) {
        if (j->segs[i - 1].first <= rd->pos) {
            break;
        }
    }
    if (i == 0) {
        /* pos is older than every segment: those records were quarantined or deleted */
        fy_log_error(TAG, "reader %s: records %" PRIu64 "..%" PRIu64 " are gone (quarantined "
                     "segment); continuing at %" PRIu64, rd->name, rd->pos,
                     j->segs[0].first - 1, j->segs[0].first);
        rd->pos = j->segs[0].first;
        rd->pos_known = 0;
        i = 1;
    }
    if (rd->pos >= j->segs[i - 1].end) {
        /* a gap after a quarantined segment: jump to the next segment */
        uint64_t to = i < j->n_segs ? j->segs[i].first : j->next_seq;
        fy_log_error(TAG, "reader %s: records %" PRIu64 "..%" PRIu64 " are gone (quarantined "
                     "segment); continuing at %" PRIu64, rd->name, rd->pos, to - 1, to);
        rd->pos = to;
        rd->pos_known = 0;
        pthread_mutex_unlock(&j->mu);
        return FY_EAGAIN;
    }
    first = j->segs[i - 1].first;
    seg_size = j->segs[i - 1].size;
    pthread_mutex_unlock(&j->mu);

    if (rd->seg_fd < 0 || rd->seg_first != first) {
        char path[4200];
        if (rd->seg_fd >= 0) {
            close(rd->seg_fd);
        }
        seg_path(j, first, path, sizeof(path));
        rd->seg_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (rd->seg_fd < 0) {
            return fy_err_set(err, FY_EIO, "open %s: %s", path, strerror(errno));
        }
        rd->seg_first = first;
        rd->pos_known = 0;
    }
    if (!rd->pos_known) {
        /* walk the frames from the segment start to pos */
        uint64_t off = HDR_SIZE, s = first;
        while (s < rd->pos) {
            if (read_all(rd->seg_fd, fh, FRAME_HDR, (off_t)off) != 0) {
                return fy_err_set(err, FY_ECORRUPT, "segment %" PRIu64 ": cannot reach record %"
                                  PRIu64, first, rd->pos);
            }
            off += FRAME_HDR + rd32(fh);
            s++;
        }
        rd->seg_off = off;
        rd->pos_known = 1;
    }
    if (rd->seg_off + FRAME_HDR > seg_size ||
        read_all(rd->seg_fd, fh, FRAME_HDR, (off_t)rd->seg_off) != 0) {
        return fy_err_set(err, FY_EIO, "segment %" PRIu64 ": short read at %" PRIu64, first,
                          rd->seg_off);
    }
    flen = rd32(fh);
    if (rd64(fh + 8) != rd->pos || flen > RECORD_MAX) {
        rd->pos_known = 0;
        return fy_err_set(err, FY_ECORRUPT, "segment %" PRIu64 ": expected record %" PRIu64
                          " at offset %" PRIu64, first, rd->pos, rd->seg_off);
    }
    buf = malloc(flen ? flen : 1);
    if (buf == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    if (read_all(rd->seg_fd, buf, flen, (off_t)(rd->seg_off + FRAME_HDR)) != 0 ||
        frame_crc(rd->pos, buf, flen) != rd32(fh + 4)) {
        free(buf);
        rd->pos_known = 0;
        return fy_err_set(err, FY_ECORRUPT, "segment %" PRIu64 ": record %" PRIu64 " fails its "
                          "CRC", first, rd->pos);
    }
    *seq = rd->pos;
    *data = buf;
    *len = flen;
    rd->pos++;
    rd->seg_off += FRAME_HDR + flen;
    return FY_OK;
}

int fy_journal_reader_commit(struct fy_journal_reader *rd, uint64_t next_seq, struct fy_err *err)
{
    struct fy_journal *j = rd->j;
    int rc;

    if (next_seq <= rd->committed) {
        return FY_OK;
    }
    if (rd->fd < 0) {
        rd->committed = next_seq;
        return FY_OK;
    }
    rc = cursor_write(rd, next_seq, err);
    if (rc != FY_OK) {
        return rc;
    }
    pthread_mutex_lock(&j->mu);
    rd->committed = next_seq; /* durable: now segments before it may go */
    collect(j);
    pthread_mutex_unlock(&j->mu);
    return FY_OK;
}

int fy_journal_scan(struct fy_journal *j, uint64_t from_seq,
                    int (*cb)(void *arg, uint64_t seq, const void *data, size_t len), void *arg,
                    struct fy_err *err)
{
    struct fy_journal_reader *rd = reader_new(j, "scan", err);
    uint64_t seq;
    void *data;
    size_t len;
    int rc = FY_OK;

    if (rd == NULL) {
        return FY_ENOMEM;
    }
    pthread_mutex_lock(&j->mu);
    rd->pos = from_seq < (j->n_segs ? j->segs[0].first : 0) ? j->segs[0].first : from_seq;
    pthread_mutex_unlock(&j->mu);
    for (;;) {
        uint64_t before = rd->pos;
        rc = fy_journal_reader_next(rd, &seq, &data, &len, 0, err);
        if (rc == FY_EAGAIN) {
            /* FY_EAGAIN is the end, or a gap reader_next just jumped (records gone with a
             * quarantined segment, or numbers a power loss never wrote because a cursor had
             * passed them): after a gap, keep going */
            int more;
            pthread_mutex_lock(&j->mu);
            more = rd->pos < j->next_seq && rd->pos > before;
            pthread_mutex_unlock(&j->mu);
            if (more) {
                continue;
            }
            rc = FY_OK;
            break;
        }
        if (rc != FY_OK) {
            break;
        }
        rc = cb(arg, seq, data, len);
        free(data);
        if (rc != 0) {
            rc = FY_OK;
            break;
        }
    }
    if (rd->seg_fd >= 0) {
        close(rd->seg_fd);
    }
    free(rd->name);
    free(rd);
    return rc;
}

int fy_journal_cursors(struct fy_journal *j,
                       void (*cb)(void *arg, const char *name, uint64_t next_seq), void *arg)
{
    char path[4200];
    DIR *d;
    struct dirent *de;

    snprintf(path, sizeof(path), "%s/cursors", j->dir);
    d = opendir(path);
    if (d == NULL) {
        return FY_EIO;
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char p[4400], name[256];
        uint64_t next, gen = 0;
        int fd;
        if (n < 5 || n - 4 >= sizeof(name) || strcmp(de->d_name + n - 4, ".cur") != 0) {
            continue;
        }
        memcpy(name, de->d_name, n - 4);
        name[n - 4] = '\0';
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && cursor_load(fd, &next, &gen) == 0) {
            cb(arg, name, next);
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    closedir(d);
    return FY_OK;
}
