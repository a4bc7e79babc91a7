/* test_powerloss.c - battery row J4: the journal under simulated power loss. An I/O shim
 * (GNU ld --wrap, see tests/CMakeLists.txt) keeps a model of what the disk holds durably;
 * random sequences of appends, syncs, reader reads and cursor commits (which roll and delete
 * segments) end in a "power loss" that rewrites the journal directory to what a disk could
 * hold, and an oracle checks what recovery gives back.
 *
 * THE MODEL (assumptions: a POSIX file system with ordered metadata, like ext4 data=ordered,
 * read strictly: nothing is durable that no fsync made durable).
 * - Only the calls of bridge/journal/journal.c that change the disk are wrapped: open (and
 *   open64, __open_2), close, write, pwrite, ftruncate, fsync, fdatasync, rename, unlink,
 *   mkdir. Reads (pread, fstat, opendir/readdir, flock) go to the real files, which always
 *   hold the current state: the journal really works between crashes. Every path under the
 *   test's temp dir (the "root") is tracked; everything else passes through untouched.
 * - A file is its durable content (as of its last fsync or fdatasync; the two are the same
 *   here: fdatasync syncs the size too) plus the log of its writes and truncations since.
 *   Power loss keeps the durable content plus a random prefix of that log, the last kept
 *   write torn at a random byte (SQLite's torn-write model: appends survive as a prefix of
 *   the unsynced tail). Then each kept write that overwrote a durable byte range is reverted
 *   with probability 1/4 (an unsynced overwrite may or may not reach the platter; sector
 *   writes are not ordered).
 * - A directory is its durable set of names (as of its last fsync of the directory) plus the
 *   log of creates, mkdirs, renames and unlinks since. Power loss keeps the durable set plus a
 *   random prefix of that log (the metadata journal commits in order): a create, rename or
 *   unlink that no directory fsync followed may be undone. An fsync of a file does NOT make
 *   its name durable (ext4 happens to commit it too; POSIX does not promise it, XFS/btrfs
 *   differ). Each directory's prefix is chosen on its own (more than ext4's single journal
 *   allows, never less). A file whose name is lost is gone; a name whose unlink is undone
 *   comes back with its content as of the crash.
 * - The root's own entry in its parent counts as durable (the test made it).
 * - A "power loss" is taken between two calls of the journal (a wrapped call is atomic), at
 *   one instant: the image is computed under the shim's lock, after which the shim drops
 *   every write, sync, create or unlink (the process is dead to the disk); the test then
 *   closes the journal to free its memory and threads (nothing it does reaches the image),
 *   writes the image to the real directory and reopens.
 * - The shim never calls the real fsync: durability is the model's, which keeps 10,000
 *   sequences fast on any disk.
 * Limits: no bit rot, no misdirected or lost synced writes, no ENOSPC/EIO (row J6 does
 * that), one appending thread (group commit across threads is row J1's round trip test),
 * block granularity is ignored (a torn write may end at any byte, which is harsher).
 *
 * THE ORACLE. A record is "acked" under fsync=always when fy_journal_append returned FY_OK;
 * under fsync=interval when an fdatasync of a segment file ran after its bytes were written
 * (the flusher's or a roll's: what "a completed sync covered"; a roll syncs the old segment,
 * so a sync of any segment after the write covers the record). After recovery: the journal opens;
 * no segment is quarantined; every record it holds is byte-exact the one appended with that
 * sequence number (never one that was not appended); every acked record at or above the
 * lowest committed cursor (below it segments may be deleted) is there; each reader's
 * committed cursor is exactly the last one commit returned FY_OK for (never lost, never
 * ahead); a reader only skips sequence numbers the journal no longer holds. Records that
 * were appended but not acked may be lost (interval only): counted, and the figure printed.
 *
 * Knobs: FERRY_J4_SEQUENCES (default 2000, about 8 s; the row's full 10,000: about 45 s), FERRY_J4_SEED, FERRY_J4_FIRST (start at that
 * sequence: a failure prints how to replay it), FERRY_J4_VERBOSE=1 (the journal's log lines
 * on stderr). */
#include "bridge/journal/journal.h"
#include "core/log.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int init_powerloss_tests(void);

/* ==== the wrapped calls (GNU ld --wrap=<sym>: references to <sym> go to __wrap_<sym>) ==== */

int __real_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);
int __real___open_2(const char *path, int flags);
int __real_close(int fd);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
int __real_ftruncate(int fd, off_t len);
int __real_fsync(int fd);
int __real_fdatasync(int fd);
int __real_rename(const char *from, const char *to);
int __real_unlink(const char *path);
int __real_mkdir(const char *path, mode_t mode);

int __wrap_open(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __wrap___open_2(const char *path, int flags);
int __wrap_close(int fd);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off);
int __wrap_ftruncate(int fd, off_t len);
int __wrap_fsync(int fd);
int __wrap_fdatasync(int fd);
int __wrap_rename(const char *from, const char *to);
int __wrap_unlink(const char *path);
int __wrap_mkdir(const char *path, mode_t mode);

/* ==== the disk model ==== */

#define PL_NAME 64
#define PL_FDS 4096
#define PL_PATH 512

enum pl_kind { OP_WRITE, OP_TRUNC, OP_ADD, OP_DEL, OP_REN };

struct pl_node;

struct pl_ent {
    char name[PL_NAME];
    struct pl_node *node;
};

struct pl_ents {
    struct pl_ent *v;
    size_t n, cap;
};

struct pl_op {
    enum pl_kind kind;
    uint64_t off, len;         /* OP_WRITE: range; OP_TRUNC: new length */
    unsigned char *data;       /* OP_WRITE: a copy of the bytes */
    char name[PL_NAME];        /* OP_ADD/OP_DEL: the name; OP_REN: from */
    char name2[PL_NAME];       /* OP_REN: to */
    struct pl_node *node;      /* OP_ADD/OP_REN: the entry's node */
};

struct pl_node {
    int is_dir;
    int is_seg;                  /* a *.seg file: its syncs ack records under interval */
    unsigned char *dur;          /* file: durable content */
    size_t dur_len;
    struct pl_ents dur_ents;     /* dir: durable names */
    struct pl_ents cur_ents;     /* dir: names now */
    struct pl_op *log;           /* unsynced changes since the last sync, in order */
    size_t n_log, cap_log;
    unsigned char *img;          /* crash image of a file (computed once per crash) */
    size_t img_len;
    int img_done;
    struct pl_node *all;         /* every node, for freeing */
};

struct pl_img {                  /* one entry of the crash image, parents first */
    char rel[PL_PATH];
    int is_dir;
    unsigned char *data;
    size_t len;
};

static struct {
    pthread_mutex_t mu;
    char root[256];
    size_t root_len;
    struct pl_node *root_node;
    struct pl_node *all;
    struct pl_node *fds[PL_FDS];
    int dead;                    /* power is lost: drop every change */
    uint64_t seg_syncs;          /* fdatasync/fsync calls on *.seg files */
    uint64_t seg_write_ticket;   /* seg_syncs when a *.seg file was last written */
    uint64_t rng;
    struct pl_img *img;
    size_t n_img, cap_img;
} pl = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (pl.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
    return n == 0 ? 0 : rnd() % n;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "test_powerloss: out of memory\n");
        abort();
    }
    return q;
}

static struct pl_node *node_new(int is_dir, const char *name)
{
    struct pl_node *n = xrealloc(NULL, sizeof(*n));
    size_t len = name ? strlen(name) : 0;

    memset(n, 0, sizeof(*n));
    n->is_dir = is_dir;
    n->is_seg = !is_dir && len > 4 && strcmp(name + len - 4, ".seg") == 0;
    n->all = pl.all;
    pl.all = n;
    return n;
}

static void log_clear(struct pl_node *n)
{
    size_t i;

    for (i = 0; i < n->n_log; i++) {
        free(n->log[i].data);
    }
    n->n_log = 0;
}

static void model_free(void)
{
    while (pl.all != NULL) {
        struct pl_node *n = pl.all;
        pl.all = n->all;
        log_clear(n);
        free(n->log);
        free(n->dur);
        free(n->img);
        free(n->dur_ents.v);
        free(n->cur_ents.v);
        free(n);
    }
    pl.root_node = NULL;
}

static struct pl_op *log_push(struct pl_node *n, enum pl_kind kind)
{
    struct pl_op *op;

    if (n->n_log == n->cap_log) {
        n->cap_log = n->cap_log ? n->cap_log * 2 : 8;
        n->log = xrealloc(n->log, n->cap_log * sizeof(*n->log));
    }
    op = &n->log[n->n_log++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    return op;
}

static long ents_find(const struct pl_ents *e, const char *name)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        if (strcmp(e->v[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void ents_set(struct pl_ents *e, const char *name, struct pl_node *node)
{
    long i = ents_find(e, name);

    if (i >= 0) {
        e->v[i].node = node;
        return;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
    }
    snprintf(e->v[e->n].name, PL_NAME, "%s", name);
    e->v[e->n].node = node;
    e->n++;
}

static void ents_del(struct pl_ents *e, const char *name)
{
    long i = ents_find(e, name);

    if (i >= 0) {
        e->v[i] = e->v[e->n - 1];
        e->n--;
    }
}

static void ents_copy(struct pl_ents *dst, const struct pl_ents *src)
{
    if (dst->cap < src->n) {
        dst->cap = src->n;
        dst->v = xrealloc(dst->v, dst->cap * sizeof(*dst->v));
    }
    if (src->n > 0) {
        memcpy(dst->v, src->v, src->n * sizeof(*src->v));
    }
    dst->n = src->n;
}

static void dir_apply(struct pl_ents *e, const struct pl_op *op)
{
    if (op->kind == OP_ADD) {
        ents_set(e, op->name, op->node);
    } else if (op->kind == OP_DEL) {
        ents_del(e, op->name);
    } else if (op->kind == OP_REN) {
        ents_del(e, op->name);
        ents_set(e, op->name2, op->node);
    }
}

static void dir_op(struct pl_node *d, enum pl_kind kind, const char *name, const char *name2,
                   struct pl_node *node)
{
    struct pl_op *op = log_push(d, kind);

    snprintf(op->name, PL_NAME, "%s", name);
    snprintf(op->name2, PL_NAME, "%s", name2 ? name2 : "");
    op->node = node;
    dir_apply(&d->cur_ents, op);
}

/* Apply a write or truncation to a file buffer (zero-filling any gap). */
static void buf_apply(unsigned char **buf, size_t *len, const struct pl_op *op, uint64_t wlen)
{
    if (op->kind == OP_TRUNC) {
        if (op->len > *len) {
            *buf = xrealloc(*buf, op->len);
            memset(*buf + *len, 0, op->len - *len);
        }
        *len = op->len;
        return;
    }
    if (op->off + wlen > *len) {
        *buf = xrealloc(*buf, op->off + wlen);
        if (op->off > *len) {
            memset(*buf + *len, 0, op->off - *len);
        }
        *len = op->off + wlen;
    }
    if (wlen > 0) {
        memcpy(*buf + op->off, op->data, wlen);
    }
}

static void node_sync(struct pl_node *n)
{
    size_t i;

    if (n->is_dir) {
        ents_copy(&n->dur_ents, &n->cur_ents);
    } else {
        for (i = 0; i < n->n_log; i++) {
            buf_apply(&n->dur, &n->dur_len, &n->log[i], n->log[i].len);
        }
        if (n->is_seg) {
            pl.seg_syncs++;
        }
    }
    log_clear(n);
}

/* Resolve path: 0 = not under the root (untracked). 1 = tracked: *is_root, or *parent (NULL
 * when a middle component does not exist) and name = the last component. */
static int resolve(const char *path, int *is_root, struct pl_node **parent, char *name)
{
    const char *p = path + pl.root_len, *slash;
    struct pl_node *d = pl.root_node;

    *is_root = 0;
    *parent = NULL;
    if (pl.root_node == NULL || strncmp(path, pl.root, pl.root_len) != 0 ||
        (*p != '\0' && *p != '/')) {
        return 0;
    }
    while (*p == '/') {
        p++;
    }
    if (*p == '\0') {
        *is_root = 1;
        return 1;
    }
    for (;;) {
        size_t len;
        slash = strchr(p, '/');
        len = slash ? (size_t)(slash - p) : strlen(p);
        if (len >= PL_NAME) {
            return 1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (slash == NULL || slash[1] == '\0') {
            *parent = d;
            return 1;
        }
        {
            long i = ents_find(&d->cur_ents, name);
            if (i < 0 || !d->cur_ents.v[i].node->is_dir) {
                return 1; /* the real call fails with ENOENT/ENOTDIR */
            }
            d = d->cur_ents.v[i].node;
        }
        p = slash + 1;
    }
}

static struct pl_node *fd_node(int fd)
{
    return fd >= 0 && fd < PL_FDS ? pl.fds[fd] : NULL;
}

/* ==== the wrappers ==== */

static int do_open(const char *path, int flags, mode_t mode, int which)
{
    struct pl_node *parent = NULL, *n = NULL;
    char name[PL_NAME];
    int tracked, is_root, fd;
    long i = -1;

    pthread_mutex_lock(&pl.mu);
    tracked = !pl.dead && resolve(path, &is_root, &parent, name);
    if (tracked && parent != NULL) {
        i = ents_find(&parent->cur_ents, name);
    }
    fd = which == 0   ? __real_open(path, flags, mode)
         : which == 1 ? __real_open64(path, flags, mode)
                      : __real___open_2(path, flags);
    if (fd >= 0 && tracked && fd < PL_FDS) {
        if (is_root) {
            n = pl.root_node;
        } else if (parent != NULL && i >= 0) {
            n = parent->cur_ents.v[i].node;
            if ((flags & O_TRUNC) && !n->is_dir) {
                log_push(n, OP_TRUNC)->len = 0;
            }
        } else if (parent != NULL) {
            n = node_new(0, name);
            dir_op(parent, OP_ADD, name, NULL, n);
        }
        pl.fds[fd] = n;
    }
    pthread_mutex_unlock(&pl.mu);
    return fd;
}

int __wrap_open(const char *path, int flags, ...)
{
    mode_t mode = 0;

    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return do_open(path, flags, mode, 0);
}

int __wrap_open64(const char *path, int flags, ...)
{
    mode_t mode = 0;

    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return do_open(path, flags, mode, 1);
}

int __wrap___open_2(const char *path, int flags)
{
    return do_open(path, flags, 0, 2);
}

int __wrap_close(int fd)
{
    pthread_mutex_lock(&pl.mu);
    if (fd >= 0 && fd < PL_FDS) {
        pl.fds[fd] = NULL;
    }
    pthread_mutex_unlock(&pl.mu);
    return __real_close(fd);
}

static ssize_t do_pwrite(int fd, const void *buf, size_t n, off_t off, int positional)
{
    struct pl_node *node;
    ssize_t r;

    pthread_mutex_lock(&pl.mu);
    node = fd_node(fd);
    if (node != NULL && pl.dead) {
        pthread_mutex_unlock(&pl.mu);
        return (ssize_t)n;
    }
    if (!positional && node != NULL) {
        off = lseek(fd, 0, SEEK_CUR);
    }
    r = positional ? __real_pwrite(fd, buf, n, off) : __real_write(fd, buf, n);
    if (r > 0 && node != NULL && !node->is_dir) {
        struct pl_op *op = log_push(node, OP_WRITE);
        if (node->is_seg) {
            pl.seg_write_ticket = pl.seg_syncs;
        }
        op->off = (uint64_t)off;
        op->len = (uint64_t)r;
        op->data = xrealloc(NULL, (size_t)r);
        memcpy(op->data, buf, (size_t)r);
    }
    pthread_mutex_unlock(&pl.mu);
    return r;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    return do_pwrite(fd, buf, n, 0, 0);
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return do_pwrite(fd, buf, n, off, 1);
}

int __wrap_ftruncate(int fd, off_t len)
{
    struct pl_node *node;
    int r;

    pthread_mutex_lock(&pl.mu);
    node = fd_node(fd);
    if (node != NULL && pl.dead) {
        pthread_mutex_unlock(&pl.mu);
        return 0;
    }
    r = __real_ftruncate(fd, len);
    if (r == 0 && node != NULL && !node->is_dir) {
        log_push(node, OP_TRUNC)->len = (uint64_t)len;
    }
    pthread_mutex_unlock(&pl.mu);
    return r;
}

static int do_sync(int fd, int data_only)
{
    struct pl_node *node;

    pthread_mutex_lock(&pl.mu);
    node = fd_node(fd);
    if (node == NULL) {
        pthread_mutex_unlock(&pl.mu);
        return data_only ? __real_fdatasync(fd) : __real_fsync(fd);
    }
    if (!pl.dead) {
        node_sync(node); /* durability is the model's; the real fsync is not needed */
    }
    pthread_mutex_unlock(&pl.mu);
    return 0;
}

int __wrap_fsync(int fd)
{
    return do_sync(fd, 0);
}

int __wrap_fdatasync(int fd)
{
    return do_sync(fd, 1);
}

int __wrap_rename(const char *from, const char *to)
{
    struct pl_node *pa = NULL, *pb = NULL;
    char na[PL_NAME], nb[PL_NAME];
    int ta, tb, ra, rb, r;

    pthread_mutex_lock(&pl.mu);
    ta = resolve(from, &ra, &pa, na);
    tb = resolve(to, &rb, &pb, nb);
    if (pl.dead && (ta || tb)) {
        pthread_mutex_unlock(&pl.mu);
        return 0;
    }
    r = __real_rename(from, to);
    if (r == 0 && ta && tb && pa != NULL && pb != NULL) {
        long i = ents_find(&pa->cur_ents, na);
        struct pl_node *n = i >= 0 ? pa->cur_ents.v[i].node : NULL;
        if (pa == pb) {
            dir_op(pa, OP_REN, na, nb, n);
        } else {
            dir_op(pa, OP_DEL, na, NULL, NULL);
            dir_op(pb, OP_ADD, nb, NULL, n);
        }
    }
    pthread_mutex_unlock(&pl.mu);
    return r;
}

int __wrap_unlink(const char *path)
{
    struct pl_node *parent = NULL;
    char name[PL_NAME];
    int t, is_root, r;

    pthread_mutex_lock(&pl.mu);
    t = resolve(path, &is_root, &parent, name);
    if (pl.dead && t) {
        pthread_mutex_unlock(&pl.mu);
        return 0;
    }
    r = __real_unlink(path);
    if (r == 0 && t && parent != NULL) {
        dir_op(parent, OP_DEL, name, NULL, NULL);
    }
    pthread_mutex_unlock(&pl.mu);
    return r;
}

int __wrap_mkdir(const char *path, mode_t mode)
{
    struct pl_node *parent = NULL;
    char name[PL_NAME];
    int t, is_root, r;

    pthread_mutex_lock(&pl.mu);
    t = resolve(path, &is_root, &parent, name);
    if (pl.dead && t) {
        pthread_mutex_unlock(&pl.mu);
        return 0;
    }
    r = __real_mkdir(path, mode);
    if (r == 0 && t && parent != NULL) {
        dir_op(parent, OP_ADD, name, NULL, node_new(1, name));
    }
    pthread_mutex_unlock(&pl.mu);
    return r;
}

/* ==== power loss ==== */

/* How many of n unsynced operations survive: none, all, or any number (the extremes get a
 * quarter of the draws each, so both are always well covered). */
static size_t kept_ops(size_t n)
{
    uint64_t r = rnd_below(4);

    return r == 0 ? 0 : r == 1 ? n : (size_t)rnd_below(n + 1);
}

static void file_image(struct pl_node *n)
{
    size_t k, i;

    if (n->img_done) {
        return;
    }
    n->img_done = 1;
    n->img_len = n->dur_len;
    n->img = xrealloc(NULL, n->dur_len);
    if (n->dur_len > 0) {
        memcpy(n->img, n->dur, n->dur_len);
    }
    k = kept_ops(n->n_log);
    for (i = 0; i < k && i < n->n_log; i++) {
        buf_apply(&n->img, &n->img_len, &n->log[i], n->log[i].len);
    }
    if (k < n->n_log) {
        /* the next one is torn: a write keeps a random prefix, a truncation is atomic */
        const struct pl_op *op = &n->log[k];
        if (op->kind == OP_WRITE) {
            buf_apply(&n->img, &n->img_len, op, rnd_below(op->len + 1));
        }
    }
    /* an unsynced overwrite of durable bytes may not have reached the disk */
    for (i = 0; i < k && i < n->n_log; i++) {
        const struct pl_op *op = &n->log[i];
        if (op->kind == OP_WRITE && op->off < n->dur_len && rnd_below(4) == 0) {
            uint64_t end = op->off + op->len, b;
            for (b = op->off; b < end && b < n->dur_len && b < n->img_len; b++) {
                n->img[b] = n->dur[b];
            }
        }
    }
}

static void img_push(const char *rel, int is_dir, const unsigned char *data, size_t len)
{
    struct pl_img *e;

    if (pl.n_img == pl.cap_img) {
        pl.cap_img = pl.cap_img ? pl.cap_img * 2 : 32;
        pl.img = xrealloc(pl.img, pl.cap_img * sizeof(*pl.img));
    }
    e = &pl.img[pl.n_img++];
    snprintf(e->rel, sizeof(e->rel), "%s", rel);
    e->is_dir = is_dir;
    e->len = len;
    e->data = xrealloc(NULL, len);
    if (len > 0) {
        memcpy(e->data, data, len);
    }
}

static void dir_image(struct pl_node *d, const char *rel, int depth)
{
    struct pl_ents e = {0};
    size_t k, i;

    ents_copy(&e, &d->dur_ents);
    k = kept_ops(d->n_log);
    for (i = 0; i < k; i++) {
        dir_apply(&e, &d->log[i]);
    }
    for (i = 0; i < e.n; i++) {
        char sub[PL_PATH];
        struct pl_node *n = e.v[i].node;
        if (n == NULL) {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s", rel, e.v[i].name);
        if (n->is_dir) {
            img_push(sub, 1, NULL, 0);
            if (depth < 8) {
                dir_image(n, sub, depth + 1);
            }
        } else {
            file_image(n);
            img_push(sub, 0, n->img, n->img_len);
        }
    }
    free(e.v);
}

/* Power is lost now: compute what the disk holds, and drop every later change. Returns the
 * number of segment syncs done before the loss. */
static uint64_t pl_power_loss(void)
{
    uint64_t syncs;

    pthread_mutex_lock(&pl.mu);
    pl.n_img = 0;
    dir_image(pl.root_node, "", 0);
    pl.dead = 1;
    syncs = pl.seg_syncs;
    pthread_mutex_unlock(&pl.mu);
    return syncs;
}

static void rm_tree(const char *path, int keep_top)
{
    DIR *d = opendir(path);
    struct dirent *de;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            char sub[PL_PATH];
            struct stat st;
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
                rm_tree(sub, 0);
            } else {
                __real_unlink(sub);
            }
        }
        closedir(d);
    }
    if (!keep_top) {
        rmdir(path);
    }
}

/* Start a fresh model: the root exists, empty, durable. */
static void pl_reset(void)
{
    pthread_mutex_lock(&pl.mu);
    model_free();
    rm_tree(pl.root, 1);
    pl.root_node = node_new(1, NULL);
    pl.dead = 0;
    pthread_mutex_unlock(&pl.mu);
}

/* After pl_power_loss and the journal's close: the disk becomes the image ("reboot"). Every
 * file and name in it is durable. 0 ok, -1 if a journal fd was left open. */
static int pl_reboot(void)
{
    size_t i;
    int leaked = 0;

    pthread_mutex_lock(&pl.mu);
    for (i = 0; i < PL_FDS; i++) {
        if (pl.fds[i] != NULL) {
            leaked = 1;
            pl.fds[i] = NULL;
        }
    }
    model_free();
    rm_tree(pl.root, 1);
    pl.root_node = node_new(1, NULL);
    for (i = 0; i < pl.n_img; i++) {
        struct pl_img *e = &pl.img[i];
        char path[PL_PATH + 256], name[PL_NAME];
        struct pl_node *parent = NULL, *n;
        int is_root;
        snprintf(path, sizeof(path), "%s%s", pl.root, e->rel);
        if (getenv("FERRY_J4_VERBOSE") != NULL) {
            fprintf(stderr, "  image: %s%s (%zu bytes)\n", e->rel, e->is_dir ? "/" : "", e->len);
        }
        if (resolve(path, &is_root, &parent, name) != 1 || parent == NULL) {
            free(e->data);
            continue;
        }
        n = node_new(e->is_dir, name);
        if (e->is_dir) {
            __real_mkdir(path, 0750);
            free(e->data);
        } else {
            int fd = __real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
            if (fd >= 0) {
                if (e->len > 0 && __real_pwrite(fd, e->data, e->len, 0) != (ssize_t)e->len) {
                    leaked = 1;
                }
                __real_close(fd);
            }
            n->dur = e->data; /* the node takes the bytes */
            n->dur_len = e->len;
        }
        e->data = NULL;
        ents_set(&parent->cur_ents, name, n);
        ents_set(&parent->dur_ents, name, n);
    }
    pl.n_img = 0;
    pl.dead = 0;
    pthread_mutex_unlock(&pl.mu);
    return leaked ? -1 : 0;
}

/* seg_syncs as of the last write to a segment: a record whose bytes were written then is
 * covered by a sync once seg_syncs passes it (a wrapped call is atomic, so the ticket is
 * exact even while the flusher syncs concurrently). */
static uint64_t pl_seg_write_ticket(void)
{
    uint64_t v;

    pthread_mutex_lock(&pl.mu);
    v = pl.seg_write_ticket;
    pthread_mutex_unlock(&pl.mu);
    return v;
}

static uint64_t pl_seg_syncs(void)
{
    uint64_t v;

    pthread_mutex_lock(&pl.mu);
    v = pl.seg_syncs;
    pthread_mutex_unlock(&pl.mu);
    return v;
}

/* ==== the shim's own check: it loses what it should ==== */

static int exists(const char *rel)
{
    char path[PL_PATH];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", pl.root, rel);
    return stat(path, &st) == 0;
}

static long file_size(const char *rel)
{
    char path[PL_PATH];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", pl.root, rel);
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_model(void)
{
    char path[PL_PATH];
    int round, dfd, fd, kept_unsynced = 0, lost_unsynced = 0;

    for (round = 0; round < 200; round++) {
        pl_reset();
        /* d/ made durable; d/a written + fsynced + name durable; d/b fsynced, name not;
         * d/a then gets 100 unsynced bytes */
        snprintf(path, sizeof(path), "%s/d", pl.root);
        CU_ASSERT_EQUAL_FATAL(mkdir(path, 0750), 0);
        fd = open(pl.root, O_RDONLY | O_DIRECTORY);
        CU_ASSERT_EQUAL(fsync(fd), 0);
        close(fd);
        dfd = open(path, O_RDONLY | O_DIRECTORY);
        snprintf(path, sizeof(path), "%s/d/a", pl.root);
        fd = open(path, O_RDWR | O_CREAT, 0640);
        CU_ASSERT_EQUAL(pwrite(fd, "0123456789", 10, 0), 10);
        CU_ASSERT_EQUAL(fdatasync(fd), 0);
        CU_ASSERT_EQUAL(fsync(dfd), 0);
        {
            char tail[100];
            memset(tail, 'x', sizeof(tail));
            CU_ASSERT_EQUAL(pwrite(fd, tail, sizeof(tail), 10), 100);
        }
        close(fd);
        snprintf(path, sizeof(path), "%s/d/b", pl.root);
        fd = open(path, O_RDWR | O_CREAT, 0640);
        CU_ASSERT_EQUAL(pwrite(fd, "b", 1, 0), 1);
        CU_ASSERT_EQUAL(fdatasync(fd), 0);
        close(fd);
        close(dfd);
        pl_power_loss();
        CU_ASSERT_EQUAL(pl_reboot(), 0);
        CU_ASSERT_TRUE(exists("d/a"));
        CU_ASSERT_TRUE(file_size("d/a") >= 10 && file_size("d/a") <= 110);
        kept_unsynced += exists("d/b");
        lost_unsynced += !exists("d/b");
    }
    /* an unsynced name is sometimes kept, sometimes lost */
    CU_ASSERT_TRUE(kept_unsynced > 0 && lost_unsynced > 0);
    pl_reset();
}

/* ==== the driver ==== */

#define MAX_READERS 2

struct rec {
    uint64_t id;        /* 0: no record with this seq */
    int acked;          /* must survive */
    int gone;           /* found missing by a recovery (deleted or lost) */
    uint64_t ticket;    /* segment syncs done when its bytes were written */
    int counted;        /* in the figures' acked count */
};

struct reader {
    const char *name;
    struct fy_journal_reader *rd;
    int opened;         /* its cursor file exists (open returned) */
    uint64_t committed; /* last value commit (or open) returned FY_OK for */
    uint64_t pos;       /* next seq to read, as the test knows it */
};

struct figures {
    uint64_t sequences, ops, crashes, appended, acked, lost_acked, lost_unacked;
    uint64_t max_lost, max_unacked, reads, commits, segments_deleted, quarantined;
};

struct run {
    enum fy_fsync fsync;
    struct fy_journal *j;
    struct fy_journal_opts o;
    char jdir[300];
    struct rec *recs;   /* indexed by seq */
    size_t cap;
    uint64_t next_seq;  /* what the journal's next append gets */
    struct reader rds[MAX_READERS];
    struct figures *fig;
    uint64_t seq_no;
    int failed;
    char why[512];
};

static uint64_t g_id;
static FILE *g_log;

static size_t payload(uint64_t id, unsigned char *buf, size_t cap)
{
    uint64_t x = id * 0x9e3779b97f4a7c15ull + 1;
    size_t len = (size_t)(id * 7919 % 180), i;
    int n;

    if (id % 41 == 0) {
        len = 1200 + (size_t)(id % 1700); /* big ones roll the 4 KiB segments often */
    }
    n = snprintf((char *)buf, cap, "r%" PRIu64 ":", id);
    for (i = (size_t)n; i < len + (size_t)n && i < cap; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    return i;
}

static void rec_need(struct run *r, uint64_t seq)
{
    if (seq >= r->cap) {
        size_t nc = r->cap ? r->cap : 256;
        while (nc <= seq) {
            nc *= 2;
        }
        r->recs = xrealloc(r->recs, nc * sizeof(*r->recs));
        memset(r->recs + r->cap, 0, (nc - r->cap) * sizeof(*r->recs));
        r->cap = nc;
    }
}

static void failf(struct run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->failed) {
        return;
    }
    r->failed = 1;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

static int jopen(struct run *r)
{
    struct fy_err err = {0};

    r->j = fy_journal_open(&r->o, &err);
    if (r->j == NULL) {
        failf(r, "recovery failed (journal unrecoverable): %s", err.msg);
        return -1;
    }
    return 0;
}

static void reader_open(struct run *r, struct reader *rd, int first)
{
    struct fy_err err = {0};
    struct fy_journal_stat st;

    rd->rd = fy_journal_reader_open(r->j, rd->name, &err);
    if (rd->rd == NULL) {
        failf(r, "reader %s: open failed: %s", rd->name, err.msg);
        return;
    }
    if (first) {
        fy_journal_stat(r->j, &st);
        rd->committed = st.next_seq;
        rd->opened = 1;
        if (fy_journal_reader_committed(rd->rd) != st.next_seq) {
            failf(r, "reader %s: a new reader starts at %" PRIu64 ", not the end %" PRIu64,
                  rd->name, fy_journal_reader_committed(rd->rd), st.next_seq);
        }
    } else if (fy_journal_reader_committed(rd->rd) != rd->committed) {
        failf(r, "reader %s: committed cursor %" PRIu64 " after recovery, but its last commit "
              "(or its first open) had returned OK for %" PRIu64 " (%s)", rd->name, fy_journal_reader_committed(rd->rd),
              rd->committed,
              fy_journal_reader_committed(rd->rd) > rd->committed ? "skips records"
                                                                  : "went backwards");
    }
    rd->pos = rd->committed;
}

static void op_append(struct run *r)
{
    unsigned char buf[4096];
    uint64_t id = ++g_id, seq = 0;
    size_t len = payload(id, buf, sizeof(buf));
    int rc = fy_journal_append(r->j, buf, len, &seq);

    if (rc != FY_OK) {
        failf(r, "append of record id %" PRIu64 " failed: %s", id, fy_strerror(rc));
        return;
    }
    if (seq != r->next_seq) {
        failf(r, "append got seq %" PRIu64 ", expected %" PRIu64, seq, r->next_seq);
        return;
    }
    rec_need(r, seq);
    r->recs[seq].id = id;
    r->recs[seq].acked = r->fsync == FY_FSYNC_ALWAYS;
    r->recs[seq].gone = 0;
    r->recs[seq].counted = 0;
    r->recs[seq].ticket = pl_seg_write_ticket(); /* the append wrote its payload last */
    r->next_seq = seq + 1;
    r->fig->appended++;
}

/* interval: wait (bounded) until a segment sync starts after every append so far */
static void op_wait_sync(struct run *r)
{
    uint64_t t = pl_seg_syncs();
    int i;

    if (r->fsync != FY_FSYNC_INTERVAL || r->next_seq <= 1 ||
        r->recs[r->next_seq - 1].id == 0 || r->recs[r->next_seq - 1].acked ||
        r->recs[r->next_seq - 1].gone ||
        r->recs[r->next_seq - 1].ticket < t) {
        return;
    }
    for (i = 0; i < 4000 && pl_seg_syncs() <= t; i++) {
        struct timespec ts = {0, 250000};
        nanosleep(&ts, NULL);
    }
    if (pl_seg_syncs() <= t) {
        if (getenv("FERRY_J4_VERBOSE") != NULL) {
            struct fy_journal_stat st;
            fy_journal_stat(r->j, &st);
            fprintf(stderr, "wait: t=%" PRIu64 " last seq %" PRIu64 " ticket %" PRIu64
                    " journal next %" PRIu64 " segs %zu crashes %" PRIu64 "\n", t,
                    r->next_seq - 1, r->recs[r->next_seq - 1].ticket, st.next_seq,
                    st.segments, r->fig->crashes);
        }
        failf(r, "fsync=interval: no sync within 1 s of an append (interval %d ms)",
              r->o.fsync_interval_ms);
    }
}

static int check_record(struct run *r, uint64_t seq, const void *data, size_t len,
                        const char *who)
{
    unsigned char want[4096];
    size_t wlen;

    if (seq >= r->cap || r->recs[seq].id == 0) {
        failf(r, "%s: record %" PRIu64 " was never appended (%zu bytes)", who, seq, len);
        return -1;
    }
    wlen = payload(r->recs[seq].id, want, sizeof(want));
    if (len != wlen || memcmp(data, want, len) != 0) {
        failf(r, "%s: record %" PRIu64 " is not the one appended (id %" PRIu64 ", %zu bytes, "
              "got %zu)", who, seq, r->recs[seq].id, wlen, len);
        return -1;
    }
    return 0;
}

static void op_read(struct run *r, struct reader *rd)
{
    struct fy_err err = {0};
    uint64_t n = 1 + rnd_below(24), k, seq, s;
    void *data;
    size_t len;

    for (k = 0; k < n && !r->failed; k++) {
        int rc = fy_journal_reader_next(rd->rd, &seq, &data, &len, 0, &err);
        if (rc == FY_EAGAIN) {
            break;
        }
        if (rc != FY_OK) {
            failf(r, "reader %s: next failed at %" PRIu64 ": %s", rd->name, rd->pos, err.msg);
            return;
        }
        if (seq < rd->pos) {
            failf(r, "reader %s: got %" PRIu64 " before its position %" PRIu64, rd->name, seq,
                  rd->pos);
        }
        for (s = rd->pos; s < seq && !r->failed; s++) {
            if (s < r->cap && r->recs[s].id != 0 && !r->recs[s].gone) {
                failf(r, "reader %s: skipped record %" PRIu64 " that the journal holds (went "
                      "from %" PRIu64 " to %" PRIu64 ")", rd->name, s, rd->pos, seq);
            }
        }
        check_record(r, seq, data, len, rd->name);
        free(data);
        rd->pos = seq + 1;
        r->fig->reads++;
    }
}

static void op_commit(struct run *r, struct reader *rd)
{
    struct fy_err err = {0};
    uint64_t to;

    if (rd->pos <= rd->committed) {
        return;
    }
    to = rd->committed + 1 + rnd_below(rd->pos - rd->committed);
    if (fy_journal_reader_commit(rd->rd, to, &err) != FY_OK) {
        failf(r, "reader %s: commit %" PRIu64 " failed: %s", rd->name, to, err.msg);
        return;
    }
    rd->committed = to;
    r->fig->commits++;
}

static void op_seek(struct run *r, struct reader *rd)
{
    uint64_t to = rd->committed + rnd_below(rd->pos - rd->committed + 1);

    if (fy_journal_reader_seek(rd->rd, to) != FY_OK) {
        failf(r, "reader %s: seek %" PRIu64 " refused", rd->name, to);
        return;
    }
    rd->pos = to;
}

static int scan_cb(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct run *r = arg;

    if (check_record(r, seq, data, len, "recovery") != 0) {
        return 1;
    }
    r->recs[seq].gone = -1; /* seen (fixed up by the caller) */
    return 0;
}

/* Lose power, recover, check the oracle. */
static void crash_and_check(struct run *r)
{
    struct fy_err err = {0};
    struct fy_journal_stat st;
    uint64_t syncs = pl_power_loss(), s, low = UINT64_MAX, lost = 0, unacked = 0, max_c = 0;
    uint64_t end_before = r->next_seq;
    int i;

    r->fig->crashes++;
    for (s = 1; s < r->next_seq && s < r->cap; s++) {
        struct rec *x = &r->recs[s];
        if (x->id != 0 && !x->gone && !x->acked) {
            if (r->fsync == FY_FSYNC_INTERVAL && syncs > x->ticket) {
                x->acked = 1;
            } else {
                unacked++;
            }
        }
        if (x->id != 0 && !x->gone && x->acked && !x->counted) {
            x->counted = 1;
            r->fig->acked++;
        }
    }
    /* the process is gone: free its memory (nothing it does now reaches the disk) */
    for (i = 0; i < MAX_READERS; i++) {
        fy_journal_reader_close(r->rds[i].rd);
        r->rds[i].rd = NULL;
    }
    fy_journal_close(r->j);
    r->j = NULL;
    if (pl_reboot() != 0) {
        failf(r, "the crash image could not be written");
        return;
    }
    if (jopen(r) != 0) {
        return;
    }
    fy_journal_stat(r->j, &st);
    if (st.quarantined > 0) {
        failf(r, "recovery quarantined %zu segment(s) after a power loss", st.quarantined);
    }
    for (s = 0; s < r->cap; s++) {
        if (r->recs[s].gone == -1) {
            r->recs[s].gone = 0;
        }
    }
    if (fy_journal_scan(r->j, 0, scan_cb, r, &err) != FY_OK) {
        failf(r, "scan after recovery failed: %s", err.msg);
    }
    for (i = 0; i < MAX_READERS; i++) {
        if (r->rds[i].opened) {
            low = r->rds[i].committed < low ? r->rds[i].committed : low;
            max_c = r->rds[i].committed > max_c ? r->rds[i].committed : max_c;
        }
    }
    if (low == UINT64_MAX) {
        low = 0; /* no reader: nothing may be deleted */
    }
    for (s = 1; s < end_before && s < r->cap && !r->failed; s++) {
        struct rec *x = &r->recs[s];
        if (x->id == 0) {
            continue;
        }
        if (x->gone == -1) { /* present */
            x->gone = 0;
            x->acked = 1; /* it is on disk now: it must stay */
            continue;
        }
        if (x->gone) {
            continue;
        }
        x->gone = 1;
        if (s < low) {
            r->fig->segments_deleted++;
            continue; /* deleted after every reader passed it */
        }
        if (x->acked) {
            failf(r, "acked record %" PRIu64 " (id %" PRIu64 ", ticket %" PRIu64 ", %" PRIu64
                  " syncs at the crash) lost (journal end %" PRIu64 " after recovery, %" PRIu64
                  " before)", s, x->id, x->ticket, syncs, st.next_seq, end_before);
            r->fig->lost_acked++;
        } else {
            lost++;
        }
    }
    /* seq numbers at or past the recovered end will be given again: forget the old ones */
    if (st.next_seq < max_c) {
        failf(r, "next seq %" PRIu64 " is below a committed cursor %" PRIu64, st.next_seq,
              max_c);
    }
    for (s = st.next_seq; s < r->cap; s++) {
        if (r->recs[s].id != 0 && !r->recs[s].gone) {
            failf(r, "record %" PRIu64 " is held but the journal's end is %" PRIu64, s,
                  st.next_seq);
        }
        r->recs[s].id = 0;
    }
    r->next_seq = st.next_seq;
    r->fig->lost_unacked += lost;
    r->fig->max_lost = lost > r->fig->max_lost ? lost : r->fig->max_lost;
    r->fig->max_unacked = unacked > r->fig->max_unacked ? unacked : r->fig->max_unacked;
    if (lost > unacked) {
        failf(r, "lost %" PRIu64 " records, but only %" PRIu64 " were not yet acked", lost,
              unacked);
    }
    for (i = 0; i < MAX_READERS && !r->failed; i++) {
        if (r->rds[i].opened) {
            reader_open(r, &r->rds[i], 0);
        }
    }
}

static void run_sequence(struct run *r)
{
    int epochs = 1 + (int)rnd_below(3), e, i;

    pl_reset();
    if (r->recs != NULL) {
        memset(r->recs, 0, r->cap * sizeof(*r->recs));
    }
    memset(r->rds, 0, sizeof(r->rds));
    r->rds[0].name = "sink-a";
    r->rds[1].name = "sink-b";
    r->next_seq = 1;
    r->o.dir = r->jdir;
    r->o.segment_bytes = 4096;
    r->o.fsync = r->fsync;
    r->o.fsync_interval_ms = 1 + (int)rnd_below(3);
    r->o.max_bytes = 0;
    if (jopen(r) != 0) {
        return;
    }
    {
        struct fy_journal_stat st;
        fy_journal_stat(r->j, &st);
        r->next_seq = st.next_seq;
    }
    if (rnd_below(4) != 0) {
        reader_open(r, &r->rds[0], 1);
    }
    for (e = 0; e < epochs && !r->failed; e++) {
        int ops = 1 + (int)rnd_below(100);
        for (i = 0; i < ops && !r->failed; i++) {
            uint64_t w = rnd_below(100);
            struct reader *rd = &r->rds[rnd_below(MAX_READERS)];
            r->fig->ops++;
            if (w < 50) {
                op_append(r);
            } else if (w < 58) {
                op_wait_sync(r);
            } else if (!rd->opened) {
                if (w < 62) {
                    reader_open(r, rd, 1);
                }
            } else if (w < 78) {
                op_read(r, rd);
            } else if (w < 94) {
                op_commit(r, rd);
            } else {
                op_seek(r, rd);
            }
        }
        if (!r->failed) {
            crash_and_check(r);
        }
    }
    for (i = 0; i < MAX_READERS; i++) {
        fy_journal_reader_close(r->rds[i].rd);
        r->rds[i].rd = NULL;
    }
    fy_journal_close(r->j);
    r->j = NULL;
    r->fig->sequences++;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    char *end;
    unsigned long long x;

    if (v == NULL || *v == '\0') {
        return dflt;
    }
    x = strtoull(v, &end, 0);
    return *end == '\0' ? (uint64_t)x : dflt;
}

static void print_figures(const char *policy, const struct figures *f)
{
    printf("\n  J4 %-8s: %" PRIu64 " sequences, %" PRIu64 " operations, %" PRIu64 " crashes; "
           "%" PRIu64 " records appended, %" PRIu64 " acked when power was lost, %" PRIu64
           " acked lost; "
           "%" PRIu64 " not-yet-acked lost (max %" PRIu64 " in one crash, when up to %" PRIu64
           " were not yet acked); %" PRIu64 " reads, %" PRIu64 " commits, %" PRIu64
           " records deleted behind the cursors",
           policy, f->sequences, f->ops, f->crashes, f->appended, f->acked, f->lost_acked,
           f->lost_unacked, f->max_lost, f->max_unacked, f->reads, f->commits,
           f->segments_deleted);
}

static void test_power_loss(void)
{
    /* the row's 10,000 take about 45 s on a shared 2-core machine: CI runs 2,000 */
    uint64_t seqs = env_u64("FERRY_J4_SEQUENCES", 2000);
    uint64_t seed = env_u64("FERRY_J4_SEED", 0x4a34);
    struct figures fig[2];
    struct run r;
    uint64_t n;
    struct timespec t0, t1;
    int failures = 0;

    memset(fig, 0, sizeof(fig));
    memset(&r, 0, sizeof(r));
    snprintf(r.jdir, sizeof(r.jdir), "%s/journal", pl.root);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (n = env_u64("FERRY_J4_FIRST", 0); n < seqs && failures < 5; n++) {
        /* each sequence has its own seed and ids: FERRY_J4_FIRST=n replays sequence n */
        pl.rng = seed + n * 0x100000001b3ull;
        g_id = n * 1000000;
        r.seq_no = n;
        r.fsync = n % 2 == 0 ? FY_FSYNC_ALWAYS : FY_FSYNC_INTERVAL;
        r.fig = &fig[n % 2];
        r.failed = 0;
        run_sequence(&r);
        if (r.failed) {
            failures++;
            fprintf(stderr, "\nJ4 sequence %" PRIu64 " (fsync=%s; FERRY_J4_SEED=%" PRIu64
                    " FERRY_J4_FIRST=%" PRIu64 " FERRY_J4_SEQUENCES=%" PRIu64 " replays it%s): "
                    "%s\n", n, r.fsync == FY_FSYNC_ALWAYS ? "always" : "interval", seed, n,
                    n + 1, r.fsync == FY_FSYNC_INTERVAL ? ", up to thread timing" : "", r.why);
            CU_FAIL("power loss oracle failed (see stderr)");
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_figures("always", &fig[0]);
    print_figures("interval", &fig[1]);
    printf("\n  J4 seed %" PRIu64 ", %.1f s\n", seed,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    FY_ASSERT_EQ(fig[0].lost_acked + fig[1].lost_acked, 0);
    free(r.recs);
    pl_reset();
}

static int suite_init(void)
{
    snprintf(pl.root, sizeof(pl.root), "%s/ferry-j4-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(pl.root) == NULL) {
        return -1;
    }
    pl.root_len = strlen(pl.root);
    pl_reset();
    return 0;
}

static int suite_clean(void)
{
    pthread_mutex_lock(&pl.mu);
    model_free();
    rm_tree(pl.root, 0);
    free(pl.img);
    pl.img = NULL;
    pthread_mutex_unlock(&pl.mu);
    if (g_log != NULL) {
        fclose(g_log);
    }
    return 0;
}

int init_powerloss_tests(void)
{
    CU_pSuite s = CU_add_suite("powerloss", suite_init, suite_clean);

    if (getenv("FERRY_J4_VERBOSE") != NULL) {
        fy_log_setup(FY_LOG_WARN, NULL);
    } else {
        g_log = fopen("/dev/null", "w");
        fy_log_setup(FY_LOG_ERROR, g_log);
    }
    if (s == NULL || CU_add_test(s, "the shim's disk model", test_model) == NULL ||
        CU_add_test(s, "J4 power loss, random sequences", test_power_loss) == NULL) {
        return -1;
    }
    return 0;
}
