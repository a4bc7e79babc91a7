/* file.c - the file sink: each record's envelope as one NDJSON line, appended to a file whose
 * name is a template under `dir`; batched writes, fdatasync per policy, rotation by size and
 * by wall-clock interval, an LRU of open descriptors.
 *
 * DESIGN: every call (submit, poll, drain, exit) comes from the sink's worker thread, so
 * nothing here is locked. submit only renders and checks the path and copies the line into
 * its file's pending buffer. poll writes every file's pending lines with one write() per file
 * (split only where max_bytes rotates the file) and then, per `fsync`:
 *   always    fdatasync each file written, then complete its records OK;
 *   interval  the written records wait; every fsync_interval_ms (or sooner, once half the
 *             host's window waits) one fdatasync per file completes them OK (a record is
 *             never OK before its bytes are on disk);
 *   never     complete OK once written (the kernel writes back; a power loss can lose them).
 * A failed write (ENOSPC, EIO, ...) truncates the file back to its last whole line, closes it
 * and completes the records of the batch RETRY with the errno text; the core resends them.
 * A failed fdatasync is not retried on the same descriptor (docs/reliability.md, "Journal:
 * fsync errors"): its records are RETRY and are written again, a duplicate at worst.
 * A file found at open that does not end in '\n' (a crash in the middle of a write) is
 * truncated to its last '\n': that line's record never completed, so the journal still has
 * it. Rotation syncs the file, renames it to a timestamped name (RENAME_NOREPLACE) and syncs
 * the directory; new files and directories are followed by a sync of their directory. */
#include "sinks/file/file.h"

#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_TABLE_SIZE 4096 /* hash buckets (a power of two) */
#define FS_PATH_MAX 4096
#define FS_ROTATE_CHECK_MS 1000

struct fs_pend {
    uint64_t ticket;
    size_t end; /* offset in buf just past this record's '\n' */
};

struct fs_file {
    char *rel;                  /* path under dir (owned) */
    char *abs;                  /* dir/rel (owned) */
    int fd;                     /* -1 when closed */
    int64_t size;               /* bytes in the file after the last whole write */
    int64_t bucket;             /* rotate_interval bucket of its first line; -1 unknown */
    char *buf;                  /* lines not yet written */
    size_t len, cap;
    struct fs_pend *pend;       /* their records, in order */
    size_t n_pend, cap_pend;
    uint64_t *unsynced;         /* written, waiting for an fdatasync */
    size_t n_unsynced, cap_unsynced;
    int dirty;                  /* on fs->dirty */
    struct fs_file *hnext;      /* hash chain */
    struct fs_file *dnext;      /* dirty list */
    struct fs_file *prev, *next; /* LRU of open files */
};

/* ==== the file table ==== */

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;

    while (*s != '\0') {
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    }
    return h & (FS_TABLE_SIZE - 1);
}

static struct fs_file *file_get(struct fy_file_sink *fs, const char *rel)
{
    size_t b = hash_str(rel);
    struct fs_file *f;
    size_t n;

    for (f = fs->table[b]; f != NULL; f = f->hnext) {
        if (strcmp(f->rel, rel) == 0) {
            return f;
        }
    }
    if ((f = calloc(1, sizeof(*f))) == NULL) {
        return NULL;
    }
    n = strlen(fs->dir_abs) + strlen(rel) + 2;
    f->rel = strdup(rel);
    f->abs = malloc(n);
    if (f->rel == NULL || f->abs == NULL) {
        free(f->rel);
        free(f->abs);
        free(f);
        return NULL;
    }
    snprintf(f->abs, n, "%s/%s", fs->dir_abs, rel);
    f->fd = -1;
    f->bucket = -1;
    f->hnext = fs->table[b];
    fs->table[b] = f;
    return f;
}

static void file_free(struct fs_file *f)
{
    free(f->rel);
    free(f->abs);
    free(f->buf);
    free(f->pend);
    free(f->unsynced);
    free(f);
}

/* Drop f from the table when it holds nothing: closed, nothing pending or unsynced. */
static void file_forget(struct fy_file_sink *fs, struct fs_file *f)
{
    struct fs_file **pp;

    if (f->fd >= 0 || f->n_pend > 0 || f->n_unsynced > 0 || f->dirty) {
        return;
    }
    for (pp = &fs->table[hash_str(f->rel)]; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == f) {
            *pp = f->hnext;
            file_free(f);
            return;
        }
    }
}

static void lru_unlink(struct fy_file_sink *fs, struct fs_file *f)
{
    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        fs->lru_head = f->next;
    }
    if (f->next != NULL) {
        f->next->prev = f->prev;
    } else {
        fs->lru_tail = f->prev;
    }
    f->prev = f->next = NULL;
}

static void lru_push(struct fy_file_sink *fs, struct fs_file *f)
{
    f->prev = NULL;
    f->next = fs->lru_head;
    if (fs->lru_head != NULL) {
        fs->lru_head->prev = f;
    }
    fs->lru_head = f;
    if (fs->lru_tail == NULL) {
        fs->lru_tail = f;
    }
}

static void file_close(struct fy_file_sink *fs, struct fs_file *f)
{
    if (f->fd < 0) {
        return;
    }
    close(f->fd);
    f->fd = -1;
    lru_unlink(fs, f);
    fs->n_open--;
}

/* ==== completions ==== */

static void complete_pending(struct fy_file_sink *fs, struct fs_file *f, size_t from,
                             enum fy_sink_result res, const char *reason)
{
    size_t i;

    for (i = from; i < f->n_pend; i++) {
        fy_sink_complete(fs->snk, f->pend[i].ticket, res, reason);
    }
    fs->pending_bytes -= f->len - (from > 0 ? f->pend[from - 1].end : 0);
    f->n_pend = from;
    f->len = from > 0 ? f->pend[from - 1].end : 0;
}

static void complete_unsynced(struct fy_file_sink *fs, struct fs_file *f,
                              enum fy_sink_result res, const char *reason)
{
    size_t i;

    for (i = 0; i < f->n_unsynced; i++) {
        fy_sink_complete(fs->snk, f->unsynced[i], res, reason);
    }
    if (res == FY_SINK_OK) {
        fs->synced += f->n_unsynced;
    }
    fs->unsynced -= f->n_unsynced;
    f->n_unsynced = 0;
}

/* ==== disk ==== */

/* fsync the directory that holds path (the part before its last '/'). */
static int sync_parent(const char *path)
{
    char d[FS_PATH_MAX];
    const char *s = strrchr(path, '/');
    int fd, rc;

    snprintf(d, sizeof(d), "%.*s", s != NULL && s != path ? (int)(s - path) : 1,
             s != NULL ? path : ".");
    if ((fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        return -1;
    }
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* mkdir -p of the directories of abs below (and including) dir; each new one is synced into
 * its parent. 0, or -1 with errno. */
static int make_dirs(const struct fy_file_sink *fs, const char *abs)
{
    char d[FS_PATH_MAX];
    size_t i, n = strlen(abs);

    for (i = 1; i < n && i < sizeof(d); i++) {
        if (abs[i] != '/') {
            continue;
        }
        snprintf(d, sizeof(d), "%.*s", (int)i, abs);
        if (mkdir(d, 0755) == 0) {
            if (fs->fsync != FS_FSYNC_NEVER && sync_parent(d) != 0) {
                return -1;
            }
        } else if (errno != EEXIST) {
            return -1;
        }
    }
    return 0;
}

/* A file found at open that does not end in '\n' lost the end of a write (a crash, or a
 * failed write whose truncation failed): cut it back to its last '\n'. The cut line belongs
 * to a record that never completed, which the journal delivers again. 0 or -1 with errno. */
static int repair_tail(struct fy_file_sink *fs, struct fs_file *f)
{
    char blk[65536];
    int64_t end = f->size, keep = 0;
    char last;

    if (end == 0) {
        return 0;
    }
    if (pread(f->fd, &last, 1, (off_t)(end - 1)) != 1) {
        return -1;
    }
    if (last == '\n') {
        return 0;
    }
    while (end > 0) {
        int64_t from = end > (int64_t)sizeof(blk) ? end - (int64_t)sizeof(blk) : 0;
        ssize_t got = pread(f->fd, blk, (size_t)(end - from), (off_t)from);
        ssize_t i;
        if (got != (ssize_t)(end - from)) {
            if (got >= 0) {
                errno = EIO;
            }
            return -1;
        }
        for (i = got - 1; i >= 0 && blk[i] != '\n'; i--) {
        }
        if (i >= 0) {
            keep = from + i + 1;
            break;
        }
        end = from;
    }
    if (ftruncate(f->fd, (off_t)keep) != 0 ||
        (fs->fsync != FS_FSYNC_NEVER && fdatasync(f->fd) != 0)) {
        return -1;
    }
    fy_log_warn(fy_sink_tag(fs->snk), "%s: cut %lld bytes of a partial last line (a write that "
                "never completed; its record is written again)", f->abs,
                (long long)(f->size - keep));
    f->size = keep;
    return 0;
}

static int64_t bucket_of(const struct fy_file_sink *fs, int64_t wall_ms)
{
    return fs->rotate_interval_ms > 0 ? wall_ms / fs->rotate_interval_ms : 0;
}

/* fdatasync f and complete its written records: OK, or RETRY with the reason when the sync
 * failed (then f is closed: a second fsync on it could "succeed" without the data). */
static void file_sync(struct fy_file_sink *fs, struct fs_file *f)
{
    char reason[FS_PATH_MAX + 128];

    if (f->n_unsynced == 0) {
        return;
    }
    if (fs->fsync == FS_FSYNC_NEVER || fdatasync(f->fd) == 0) {
        complete_unsynced(fs, f, FY_SINK_OK, NULL);
        return;
    }
    snprintf(reason, sizeof(reason), "fdatasync %s: %s", f->abs, strerror(errno));
    fy_log_error(fy_sink_tag(fs->snk), "%s (its records are written again)", reason);
    fs->write_errors++;
    complete_unsynced(fs, f, FY_SINK_RETRY, reason);
    file_close(fs, f);
}

/* Open f (a new file is synced into its directory), making room in the LRU. 0 or -1 with
 * errno. */
static int file_open(struct fy_file_sink *fs, struct fs_file *f)
{
    struct stat st;
    int fd, created = 1, e;

    if (f->fd >= 0) {
        lru_unlink(fs, f);
        lru_push(fs, f);
        return 0;
    }
    while (fs->n_open >= (size_t)fs->max_open_files && fs->lru_tail != NULL) {
        struct fs_file *old = fs->lru_tail;
        file_sync(fs, old);
        file_close(fs, old);
        file_forget(fs, old);
    }
    if (make_dirs(fs, f->abs) != 0) {
        return -1;
    }
    fd = open(f->abs, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        created = 0;
        fd = open(f->abs, O_RDWR | O_APPEND | O_CLOEXEC);
    }
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        goto fail;
    }
    f->fd = fd;
    f->size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0;
    f->bucket = f->size > 0 ? bucket_of(fs, (int64_t)st.st_mtime * 1000) : -1;
    if (S_ISREG(st.st_mode) && !created && repair_tail(fs, f) != 0) {
        f->fd = -1;
        goto fail;
    }
    if (created && fs->fsync != FS_FSYNC_NEVER && sync_parent(f->abs) != 0) {
        f->fd = -1;
        goto fail;
    }
    lru_push(fs, f);
    fs->n_open++;
    return 0;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Sync f, rename it to its timestamped name and sync the directory; f is left closed. 0, or
 * -1 with the reason. */
static int file_rotate(struct fy_file_sink *fs, struct fs_file *f, char *reason, size_t rsize)
{
    char to[FS_PATH_MAX];
    int64_t now = fy_clock_wall_ms();
    int n, e = EEXIST, done = 0;

    file_sync(fs, f);
    if (f->fd < 0) {
        snprintf(reason, rsize, "fdatasync %s before rotation failed", f->abs);
        return -1;
    }
    for (n = 1; n < 1000; n++) {
        if (fy_file_sink_rotated_name(f->abs, now, n, to, sizeof(to)) != FY_OK) {
            e = ENAMETOOLONG;
            break;
        }
        if (renameat2(AT_FDCWD, f->abs, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
            done = 1;
            break;
        }
        e = errno;
        if (e == EINVAL) { /* a filesystem without RENAME_NOREPLACE */
            if (access(to, F_OK) == 0) {
                continue;
            }
            if (rename(f->abs, to) == 0) {
                done = 1;
                break;
            }
            e = errno;
        }
        if (e != EEXIST) {
            break;
        }
    }
    if (!done) {
        snprintf(reason, rsize, "rename %s for rotation: %s", f->abs, strerror(e));
        return -1;
    }
    file_close(fs, f);
    f->size = 0;
    f->bucket = -1;
    if (fs->fsync != FS_FSYNC_NEVER && sync_parent(to) != 0) {
        snprintf(reason, rsize, "fsync of the directory of %s: %s", to, strerror(errno));
        return -1;
    }
    fs->rotations++;
    fy_log_info(fy_sink_tag(fs->snk), "rotated %s to %s", f->abs, to);
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int add_unsynced(struct fy_file_sink *fs, struct fs_file *f, size_t from, size_t to)
{
    size_t i;

    if (fs->fsync == FS_FSYNC_NEVER) {
        for (i = from; i < to; i++) {
            fy_sink_complete(fs->snk, f->pend[i].ticket, FY_SINK_OK, NULL);
        }
        fs->synced += to - from;
        return 0;
    }
    if (f->n_unsynced + (to - from) > f->cap_unsynced) {
        size_t cap = f->cap_unsynced * 2 + (to - from) + 16;
        uint64_t *u = realloc(f->unsynced, cap * sizeof(*u));
        if (u == NULL) {
            return -1;
        }
        f->unsynced = u;
        f->cap_unsynced = cap;
    }
    for (i = from; i < to; i++) {
        f->unsynced[f->n_unsynced++] = f->pend[i].ticket;
    }
    fs->unsynced += to - from;
    if (fs->next_sync_ms == 0) {
        fs->next_sync_ms = fy_clock_mono_ms() + fs->fsync_interval_ms;
    }
    return 0;
}

/* Write f's pending lines: one write per file, split where max_bytes rotates it. */
static void file_flush(struct fy_file_sink *fs, struct fs_file *f)
{
    char reason[FS_PATH_MAX + 128];
    size_t start = 0, off = 0;

    if (f->n_pend == 0) {
        return;
    }
    if (file_open(fs, f) != 0) {
        snprintf(reason, sizeof(reason), "open %s: %s", f->abs, strerror(errno));
        fy_log_debug(fy_sink_tag(fs->snk), "%s", reason);
        /* a name the filesystem refuses outright cannot ever be written */
        complete_pending(fs, f, 0, errno == ENAMETOOLONG ? FY_SINK_REJECT : FY_SINK_RETRY,
                         reason);
        fs->write_errors++;
        return;
    }
    reason[0] = '\0';
    if (fs->rotate_interval_ms > 0 && f->size > 0 && f->bucket >= 0 &&
        f->bucket != bucket_of(fs, fy_clock_wall_ms())) {
        if (file_rotate(fs, f, reason, sizeof(reason)) != 0 || file_open(fs, f) != 0) {
            if (reason[0] == '\0') {
                snprintf(reason, sizeof(reason), "open %s after rotation: %s", f->abs,
                         strerror(errno));
            }
            goto retry_rest;
        }
    }
    while (start < f->n_pend) {
        size_t end = start, bytes;
        if (fs->max_bytes > 0) {
            while (end < f->n_pend &&
                   (f->size + (int64_t)(f->pend[end].end - off) <= fs->max_bytes ||
                    (end == start && f->size == 0))) {
                end++;
            }
            if (end == start) {
                reason[0] = '\0';
                if (file_rotate(fs, f, reason, sizeof(reason)) != 0 || file_open(fs, f) != 0) {
                    if (reason[0] == '\0') {
                        snprintf(reason, sizeof(reason), "open %s after rotation: %s", f->abs,
                                 strerror(errno));
                    }
                    goto retry_rest;
                }
                continue;
            }
        } else {
            end = f->n_pend;
        }
        bytes = f->pend[end - 1].end - off;
        if (write_all(f->fd, f->buf + off, bytes) != 0) {
            int e = errno;
            snprintf(reason, sizeof(reason), "write %s: %s", f->abs, strerror(e));
            /* back to the last whole line; if that fails, repair_tail cuts it at reopen */
            if (ftruncate(f->fd, (off_t)f->size) != 0) {
                fy_log_debug(fy_sink_tag(fs->snk), "truncate %s: %s", f->abs, strerror(errno));
            }
            file_sync(fs, f); /* the earlier, whole lines: their records wait on f */
            file_close(fs, f);
            goto retry_rest;
        }
        if (add_unsynced(fs, f, start, end) != 0) {
            /* written but cannot be tracked: a duplicate once resent, never a loss */
            snprintf(reason, sizeof(reason), "out of memory after writing to %s", f->abs);
            fy_log_error(fy_sink_tag(fs->snk), "%s", reason);
            f->size += (int64_t)bytes;
            goto retry_rest;
        }
        if (f->bucket < 0) {
            f->bucket = bucket_of(fs, fy_clock_wall_ms());
        }
        f->size += (int64_t)bytes;
        fs->written += end - start;
        off += bytes;
        start = end;
    }
    fs->pending_bytes -= f->len;
    f->n_pend = 0;
    f->len = 0;
    if (fs->fsync == FS_FSYNC_ALWAYS) {
        file_sync(fs, f);
    }
    return;
retry_rest:
    /* debug only: the core logs the reason of every retry round (rate: its backoff) */
    fy_log_debug(fy_sink_tag(fs->snk), "%s (%zu records to retry)", reason, f->n_pend - start);
    fs->write_errors++;
    if (start > 0) {
        /* drop what was written, keep the rest for complete_pending */
        size_t i;
        for (i = start; i < f->n_pend; i++) {
            f->pend[i - start].ticket = f->pend[i].ticket;
            f->pend[i - start].end = f->pend[i].end - off;
        }
        memmove(f->buf, f->buf + off, f->len - off);
        fs->pending_bytes -= off;
        f->len -= off;
        f->n_pend -= start;
    }
    complete_pending(fs, f, 0, FY_SINK_RETRY, reason);
}

static void flush_all(struct fy_file_sink *fs)
{
    while (fs->dirty != NULL) {
        struct fs_file *f = fs->dirty;
        fs->dirty = f->dnext;
        f->dnext = NULL;
        f->dirty = 0;
        file_flush(fs, f);
        file_forget(fs, f);
    }
}

static void sync_all(struct fy_file_sink *fs)
{
    struct fs_file *f, *next;

    for (f = fs->lru_head; f != NULL; f = next) {
        next = f->next; /* file_sync may close f */
        file_sync(fs, f);
    }
    fs->next_sync_ms = 0;
}

/* Time rotation of open files that nothing is written to. */
static void rotate_idle(struct fy_file_sink *fs)
{
    int64_t b = bucket_of(fs, fy_clock_wall_ms());
    struct fs_file *f, *next;
    char reason[FS_PATH_MAX + 128];

    for (f = fs->lru_head; f != NULL; f = next) {
        next = f->next;
        if (f->size > 0 && f->bucket >= 0 && f->bucket != b &&
            file_rotate(fs, f, reason, sizeof(reason)) != 0) {
            fy_log_warn(fy_sink_tag(fs->snk), "%s (tried again on the next write)", reason);
        }
    }
    /* file_rotate closes what it renamed; files left with nothing are dropped */
    {
        size_t i;
        for (i = 0; i < FS_TABLE_SIZE; i++) {
            struct fs_file *g = fs->table[i], *gnext;
            for (; g != NULL; g = gnext) {
                gnext = g->hnext;
                file_forget(fs, g);
            }
        }
    }
}

/* ==== the sink contract ==== */

static int file_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    struct fy_file_sink *fs = ctx;

    fs->snk = snk;
    if (fy_file_sink_check(fs, err) != FY_OK) {
        return err->code;
    }
    fs->table = calloc(FS_TABLE_SIZE, sizeof(*fs->table));
    if (fs->table == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    fs->table_size = FS_TABLE_SIZE;
    return FY_OK;
}

static int file_submit(void *ctx, const struct fy_record *rec, const char *dest,
                       uint64_t ticket)
{
    struct fy_file_sink *fs = ctx;
    struct fy_err err = {0};
    char rendered[FS_PATH_MAX], rel[FS_PATH_MAX];
    struct fs_file *f;
    size_t need;

    if (fs->pending_bytes >= (size_t)fs->batch_max_bytes) {
        return FY_EAGAIN;
    }
    if (rec->body_len == 0 || memchr(rec->body, '\n', rec->body_len) != NULL) {
        fy_sink_complete(fs->snk, ticket, FY_SINK_REJECT,
                         rec->body_len == 0 ? "empty envelope: not an NDJSON line"
                                            : "envelope holds a newline: not one NDJSON line");
        return FY_OK;
    }
    if (dest != NULL && dest[0] != '\0') {
        snprintf(rendered, sizeof(rendered), "%s", dest);
    } else if (fy_file_sink_render(fs, rec, rendered, sizeof(rendered), &err) != FY_OK) {
        fy_sink_complete(fs->snk, ticket, FY_SINK_REJECT, err.msg);
        return FY_OK;
    }
    if (fy_file_sink_relpath(fs->dir_abs, rendered, rel, sizeof(rel) - 64, &err) != FY_OK) {
        fy_sink_complete(fs->snk, ticket, FY_SINK_REJECT, err.msg);
        return FY_OK;
    }
    if ((f = file_get(fs, rel)) == NULL) {
        return FY_EAGAIN;
    }
    need = f->len + rec->body_len + 1;
    if (need > f->cap) {
        size_t cap = need > f->cap * 2 ? need + 4096 : f->cap * 2;
        char *b = realloc(f->buf, cap);
        if (b == NULL) {
            file_forget(fs, f);
            return FY_EAGAIN;
        }
        f->buf = b;
        f->cap = cap;
    }
    if (f->n_pend == f->cap_pend) {
        size_t cap = f->cap_pend * 2 + 16;
        struct fs_pend *p = realloc(f->pend, cap * sizeof(*p));
        if (p == NULL) {
            file_forget(fs, f);
            return FY_EAGAIN;
        }
        f->pend = p;
        f->cap_pend = cap;
    }
    memcpy(f->buf + f->len, rec->body, rec->body_len);
    f->buf[f->len + rec->body_len] = '\n';
    f->len = need;
    f->pend[f->n_pend++] = (struct fs_pend){ticket, need};
    fs->pending_bytes += rec->body_len + 1;
    if (!f->dirty) {
        f->dirty = 1;
        f->dnext = fs->dirty;
        fs->dirty = f;
    }
    return FY_OK;
}

/* Write what is pending, sync what is due; wait (up to timeout_ms, at most until the next
 * sync) only when that completed nothing, like rd_kafka_poll returning once it served events. */
static void file_poll(void *ctx, int timeout_ms)
{
    struct fy_file_sink *fs = ctx;
    uint64_t before = fs->synced + fs->write_errors;
    int64_t now, wait;

    flush_all(fs);
    now = fy_clock_mono_ms();
    /* due at the interval, or earlier when half the host's window waits for it: the host
     * sends nothing more until records complete, so waiting longer would only idle */
    if (fs->unsynced > 0 &&
        (now >= fs->next_sync_ms || fs->unsynced >= fy_sink_max_inflight(fs->snk) / 2)) {
        sync_all(fs);
    }
    if (fs->rotate_interval_ms > 0 && now >= fs->next_rotate_check_ms) {
        rotate_idle(fs);
        fs->next_rotate_check_ms = now + FS_ROTATE_CHECK_MS;
    }
    if (timeout_ms <= 0 || fs->synced + fs->write_errors != before) {
        return;
    }
    wait = timeout_ms;
    if (fs->unsynced > 0 && fs->next_sync_ms - now < wait) {
        wait = fs->next_sync_ms - now;
    }
    if (wait > 0) {
        struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (fs->unsynced > 0 && fy_clock_mono_ms() >= fs->next_sync_ms) {
        sync_all(fs);
    }
}

static int file_drain(void *ctx, int timeout_ms)
{
    struct fy_file_sink *fs = ctx;

    (void)timeout_ms; /* writes and syncs are local: they finish or fail, never hang on a peer */
    flush_all(fs);
    sync_all(fs);
    return fs->dirty == NULL && fs->unsynced == 0 ? FY_OK : FY_ETIMEOUT;
}

/* Records still pending here are not completed: the host stops a sink only after draining it,
 * and any that are left stay in the journal and are delivered again at the next start. */
static void file_exit(void *ctx)
{
    struct fy_file_sink *fs = ctx;
    size_t i;

    if (fs->table == NULL) {
        return;
    }
    for (i = 0; i < FS_TABLE_SIZE; i++) {
        struct fs_file *f, *next;
        for (f = fs->table[i]; f != NULL; f = next) {
            next = f->hnext;
            if (f->fd >= 0 && fs->fsync != FS_FSYNC_NEVER) {
                (void)fdatasync(f->fd);
            }
            file_close(fs, f);
            file_free(f);
        }
    }
    free(fs->table);
    fs->table = NULL;
    fy_log_debug(fy_sink_tag(fs->snk), "%llu lines written, %llu synced, %llu write errors, "
                 "%llu rotations", (unsigned long long)fs->written,
                 (unsigned long long)fs->synced, (unsigned long long)fs->write_errors,
                 (unsigned long long)fs->rotations);
}

const struct fy_sink_plugin fy_sink_file = {
    .abi = FY_SINK_ABI,
    .name = "file",
    .description = "NDJSON files under a directory (path template), fdatasync per policy, "
                   "rotation by size and time",
    .opts = fy_file_sink_opts,
    .ctx_size = sizeof(struct fy_file_sink),
    .init = file_init,
    .submit = file_submit,
    .poll = file_poll,
    .drain = file_drain,
    .exit = file_exit,
    .max_inflight = 0,
    .check = fy_file_sink_check,
};
