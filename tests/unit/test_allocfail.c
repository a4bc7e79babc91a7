/* test_allocfail.c - battery row S4 (docs/reliability.md), allocation failure in the style of
 * curl's torture tests: each operation is run once to count its allocations K, then again for
 * N = 1..K with the Nth allocation failing. Every run must end in an error code or in a clean
 * success with the same result as the run without failures, never in a crash, and every
 * pointer allocated during the run must be freed when the run and its cleanup are over.
 *
 * How: the executable is linked with -Wl,--wrap=malloc,calloc,realloc,free,strdup,strndup
 * (tests/CMakeLists.txt), so the references in Ferry's static libraries (and in this file) go
 * to the __wrap_* functions below, while shared libraries (libyaml, OpenSSL, glibc itself) keep
 * the real allocator. In the second pass of each operation cJSON is pointed at the wrappers
 * too (cJSON_InitHooks), so that a failing cJSON_Create* or cJSON_Print is injected as well.
 * Allocations glibc makes for us (opendir, fopen, strftime) are neither counted nor failed.
 *
 * Knobs: FERRY_ALLOCFAIL_MAX (injections per operation and pass, default 1500; past it N
 * steps with a stride, which is printed), FERRY_ALLOCFAIL_VERBOSE=1 (one line per N), and, to
 * find where a leaked or failing allocation comes from, FERRY_ALLOCFAIL_OP=<name>
 * FERRY_ALLOCFAIL_N=<n> FERRY_ALLOCFAIL_BT=<allocation index> (a stack trace of that one). */
#include "bridge/config.h"
#include "bridge/envelope.h"
#include "bridge/journal/journal.h"
#include "codecs/codec.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/log.h"
#include "core/template.h"
#include "routes/router.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int init_allocfail_tests(void);

/* ==== the allocator wrappers ==== */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* Sanitizer hooks, present only in the ASan/UBSan build. */
void __sanitizer_print_stack_trace(void) __attribute__((weak));
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define SET_SLOTS (1u << 17) /* live pointers of one run; open addressing, linear probing */

struct slot {
    void *p;
    size_t size;
    long idx; /* which allocation of the run (1-based) */
};

static struct {
    pthread_mutex_t mu;
    int on;          /* counting window open */
    long count;      /* allocations in the window */
    long fail_at;    /* fail this one (0 = none) */
    long failed;     /* failures injected in the window */
    long bt_at;      /* print a stack trace at this allocation (0 = none) */
    size_t live;     /* entries in set */
    int overflow;    /* the set was full: the leak check of this run is void */
    struct slot set[SET_SLOTS];
} A = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, 0, 0, {{NULL, 0, 0}}};

static size_t slot_of(const void *p)
{
    uintptr_t h = (uintptr_t)p;

    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20) & (SET_SLOTS - 1);
}

/* Under A.mu. */
static void set_add(void *p, size_t size, long idx)
{
    size_t i = slot_of(p);

    if (A.live >= SET_SLOTS / 2) {
        A.overflow = 1;
        return;
    }
    while (A.set[i].p != NULL) {
        i = (i + 1) & (SET_SLOTS - 1);
    }
    A.set[i].p = p;
    A.set[i].size = size;
    A.set[i].idx = idx;
    A.live++;
}

/* Under A.mu. Removes p and returns 1 if it was there (backward-shift deletion, no tombstones). */
static int set_del(const void *p, struct slot *out)
{
    size_t i = slot_of(p), j;

    while (A.set[i].p != p) {
        if (A.set[i].p == NULL) {
            return 0;
        }
        i = (i + 1) & (SET_SLOTS - 1);
    }
    if (out != NULL) {
        *out = A.set[i];
    }
    A.set[i].p = NULL;
    A.live--;
    j = i;
    for (;;) {
        size_t home;
        j = (j + 1) & (SET_SLOTS - 1);
        if (A.set[j].p == NULL) {
            break;
        }
        home = slot_of(A.set[j].p);
        /* move j back to i unless its home lies cyclically in (i, j] */
        if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
            A.set[i] = A.set[j];
            A.set[j].p = NULL;
            i = j;
        }
    }
    return 1;
}

static void stack_trace(void)
{
    void *frames[32];
    int n;

    if (__sanitizer_print_stack_trace != NULL) {
        __sanitizer_print_stack_trace();
        return;
    }
    n = backtrace(frames, 32);
    backtrace_symbols_fd(frames, n, 2);
}

/* Count one allocation; 1 when it is to fail. Sets *idx to its number (0 outside the window). */
static int take(long *idx)
{
    int fail = 0, bt = 0;

    pthread_mutex_lock(&A.mu);
    *idx = 0;
    if (A.on) {
        *idx = ++A.count;
        if (A.count == A.fail_at) {
            A.failed++;
            fail = 1;
        }
        bt = A.count == A.bt_at;
    }
    pthread_mutex_unlock(&A.mu);
    if (bt) {
        fprintf(stderr, "allocfail: allocation %ld%s:\n", *idx, fail ? " (failed)" : "");
        stack_trace();
    }
    return fail;
}

static void track(void *p, size_t size, long idx)
{
    if (p == NULL || idx == 0) {
        return;
    }
    pthread_mutex_lock(&A.mu);
    set_add(p, size, idx);
    pthread_mutex_unlock(&A.mu);
}

void *__wrap_malloc(size_t n)
{
    long idx;
    void *p;

    if (take(&idx)) {
        errno = ENOMEM;
        return NULL;
    }
    p = __real_malloc(n);
    track(p, n, idx);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    long idx;
    void *p;

    if (take(&idx)) {
        errno = ENOMEM;
        return NULL;
    }
    p = __real_calloc(n, size);
    track(p, n * size, idx);
    return p;
}

void __wrap_free(void *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&A.mu);
    set_del(p, NULL); /* a pointer not in the set (cJSON's, libyaml's, older) passes through */
    pthread_mutex_unlock(&A.mu);
    __real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
    struct slot old = {NULL, 0, 0};
    long idx;
    int tracked;
    void *q;

    if (p == NULL) {
        return __wrap_malloc(n);
    }
    if (n == 0) {
        __wrap_free(p);
        return NULL;
    }
    if (take(&idx)) {
        errno = ENOMEM;
        return NULL; /* p is untouched, as with a real failure */
    }
    pthread_mutex_lock(&A.mu);
    tracked = set_del(p, &old);
    pthread_mutex_unlock(&A.mu);
    q = __real_realloc(p, n);
    if (q == NULL) {
        if (tracked) {
            track(p, old.size, old.idx);
        }
        return NULL;
    }
    if (tracked) {
        track(q, n, old.idx); /* still the allocation that made p */
    } else if (idx != 0) {
        /* A block made outside the window (or by a library) that we now resize: not ours to
         * track, whoever made it frees it. */
    }
    return q;
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = __wrap_malloc(n);

    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = __wrap_malloc(len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* ==== the torture loop ==== */

#define AF_WRONG 1000 /* an operation succeeded with a result other than the clean run's */

/* One operation: returns FY_OK after checking its result against the clean run (AF_WRONG when
 * it differs), or the error code it got. err gets the reason. Everything it allocates it frees
 * before returning. */
struct op {
    const char *name;
    int (*run)(void *arg, struct fy_err *err);
    void *arg;
};

struct figures {
    long k;        /* allocations of the clean run */
    long injected; /* runs with a failure injected */
    long ok;       /* clean successes despite the failure */
    long errors;   /* error codes returned */
    long leaks;    /* runs that left allocations live */
    long wrong;    /* successes with a wrong result */
    long silent;   /* error code without a reason */
};

static const char *cur_op = "";
static long cur_n;
static long total_k, total_injected, total_defects;

static void on_death(void)
{
    fprintf(stderr, "allocfail: died in '%s' with allocation %ld failing\n", cur_op, cur_n);
}

static void on_signal(int sig)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "allocfail: signal %d in '%s' with allocation %ld failing\n",
                     sig, cur_op, cur_n);

    if (n > 0 && write(2, line, (size_t)n) < 0) {
        /* nothing more to do */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    char *end;
    long x;

    if (v == NULL || *v == '\0') {
        return dflt;
    }
    x = strtol(v, &end, 10);
    return *end == '\0' ? x : dflt;
}

static void window_open(long fail_at, long bt_at)
{
    pthread_mutex_lock(&A.mu);
    A.count = 0;
    A.failed = 0;
    A.fail_at = fail_at;
    A.bt_at = bt_at;
    A.overflow = 0;
    A.on = 1;
    pthread_mutex_unlock(&A.mu);
}

/* Close the window; returns the allocations counted. The live entries stay for the check. */
static long window_close(void)
{
    long n;

    pthread_mutex_lock(&A.mu);
    A.on = 0;
    n = A.count;
    pthread_mutex_unlock(&A.mu);
    return n;
}

/* Print what the run left live (up to 5) and empty the set; returns how many. */
static size_t leak_report(const char *name, long n)
{
    size_t i, shown = 0, live;

    pthread_mutex_lock(&A.mu);
    live = A.live;
    for (i = 0; i < SET_SLOTS && live > 0; i++) {
        if (A.set[i].p == NULL) {
            continue;
        }
        if (shown < 5) {
            fprintf(stderr, "allocfail: %s, allocation %ld failing: allocation %ld (%zu bytes) "
                    "leaked\n", name, n, A.set[i].idx, A.set[i].size);
        }
        shown++;
        A.set[i].p = NULL;
    }
    A.live = 0;
    pthread_mutex_unlock(&A.mu);
    return live;
}

static int hooked; /* cJSON allocates through the wrappers (second pass) */

static void cjson_hooks(int on)
{
    cJSON_Hooks h = {__wrap_malloc, __wrap_free};

    if (on) {
        cJSON_InitHooks(&h);
    } else {
        cJSON_InitHooks(NULL);
    }
    hooked = on;
}

static void torture_pass(const struct op *op, struct figures *f)
{
    struct fy_err err = {0};
    long max = env_long("FERRY_ALLOCFAIL_MAX", 1500), stride = 1, n;
    const char *only = getenv("FERRY_ALLOCFAIL_OP");
    long only_n = env_long("FERRY_ALLOCFAIL_N", 0), bt = env_long("FERRY_ALLOCFAIL_BT", 0);
    int verbose = env_long("FERRY_ALLOCFAIL_VERBOSE", 0) != 0;
    char name[128];
    int rc;

    snprintf(name, sizeof(name), "%s%s", op->name, hooked ? " +cJSON" : "");
    memset(f, 0, sizeof(*f));
    cur_op = name;
    cur_n = 0;
    /* warm-up: one-time initialization (OpenSSL, the registries) stays out of the count */
    rc = op->run(op->arg, &err);
    FY_ASSERT_OK(rc, &err);
    leak_report(name, 0);
    window_open(0, only_n == 0 ? bt : 0);
    rc = op->run(op->arg, &err);
    f->k = window_close();
    FY_ASSERT_OK(rc, &err);
    FY_ASSERT_EQ(leak_report(name, 0), 0);
    if (rc != FY_OK) {
        return;
    }
    if (f->k > max && max > 0) {
        stride = (f->k + max - 1) / max;
    }
    for (n = 1; n <= f->k; n += stride) {
        size_t leaked;
        if (only != NULL && only_n > 0 && (strcmp(only, name) != 0 || n != only_n)) {
            continue;
        }
        cur_n = n;
        fy_err_clear(&err);
        window_open(n, only_n == n ? bt : 0);
        rc = op->run(op->arg, &err);
        window_close();
        if (A.failed == 0) {
            fprintf(stderr, "allocfail: %s: allocation %ld never happened (the operation is not "
                    "deterministic)\n", name, n);
        }
        f->injected++;
        leaked = leak_report(name, n);
        if (leaked > 0 || A.overflow) {
            f->leaks++;
        }
        if (rc == FY_OK) {
            f->ok++;
        } else if (rc == AF_WRONG) {
            f->wrong++;
            fprintf(stderr, "allocfail: %s, allocation %ld failing: wrong success: %s\n", name, n,
                    err.msg);
        } else {
            f->errors++;
            if (err.msg[0] == '\0') {
                f->silent++;
                fprintf(stderr, "allocfail: %s, allocation %ld failing: %s without a reason\n",
                        name, n, fy_strerror(rc));
            }
        }
        if (verbose) {
            fprintf(stderr, "allocfail: %s N=%ld: rc=%d leaked=%zu %s\n", name, n, rc, leaked,
                    err.msg);
        }
    }
    cur_n = 0;
    printf("\nallocfail: %-34s K=%5ld allocations, %5ld failures injected (stride %ld): "
           "%ld errors, %ld clean successes, %ld leaks, %ld wrong successes\n",
           name, f->k, f->injected, stride, f->errors, f->ok, f->leaks, f->wrong);
    total_k += f->k;
    total_injected += f->injected;
    total_defects += f->leaks + f->wrong + f->silent;
}

static void torture(const struct op *op)
{
    struct figures f;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        cjson_hooks(pass);
        torture_pass(op, &f);
        FY_ASSERT_EQ(f.leaks, 0);
        FY_ASSERT_EQ(f.wrong, 0);
        FY_ASSERT_EQ(f.silent, 0);
    }
    cjson_hooks(0);
}

/* ==== (1) configuration ==== */

#if defined(FERRY_HAVE_SOURCE_MQTT) && defined(FERRY_HAVE_SINK_KAFKA) &&                      \
    defined(FERRY_HAVE_SINK_WEBHOOK)
#define HAVE_CONFIG_FIXTURES 1
#endif

#ifdef HAVE_CONFIG_FIXTURES
/* What the loaded good.yaml must say (the clean run's, compared by value). */
static int config_summary(const struct fy_config *cfg, char *out, size_t size)
{
    size_t i;
    int n;

    n = snprintf(out, size, "%s|%d|%lld|%s|%d|%zu|%zu|%zu|%s|%s|%s", cfg->instance,
                 cfg->log_level, (long long)cfg->max_payload, cfg->journal.dir,
                 (int)cfg->journal.fsync, cfg->n_sources, cfg->n_sinks, cfg->n_routes,
                 cfg->unmatched_sink ? cfg->unmatched_sink : "-",
                 cfg->unmatched_topic ? cfg->unmatched_topic : "-",
                 cfg->n_sources ? cfg->sources[0].name : "-");
    for (i = 0; i < cfg->n_routes && n > 0 && (size_t)n < size; i++) {
        const struct fy_route_conf *rc = &cfg->routes[i];
        n += snprintf(out + n, size - (size_t)n, "|%s:%s:%s:%s:%s:%s:%s:%d:%zu:%s", rc->name,
                      rc->match, rc->source ? rc->source : "-", rc->codec ? rc->codec : "-",
                      rc->format, rc->rec_type ? rc->rec_type : "-",
                      rc->event_type ? rc->event_type : "-", rc->final, rc->n_targets,
                      rc->n_targets && rc->targets[0].topic ? rc->targets[0].topic : "-");
    }
    return n;
}

static int op_config_good(void *arg, struct fy_err *err)
{
    static char expect[2048];
    char got[2048];
    struct fy_config *cfg;

    (void)arg;
    cfg = fy_config_load(FERRY_FIXTURES "/config/good.yaml", err);
    if (cfg == NULL) {
        return err->code;
    }
    config_summary(cfg, got, sizeof(got));
    fy_config_free(cfg);
    if (expect[0] == '\0') {
        snprintf(expect, sizeof(expect), "%s", got); /* the warm-up run */
    }
    if (strcmp(got, expect) != 0) {
        return fy_err_set(err, AF_WRONG, "config differs: %s", got);
    }
    return FY_OK;
}

/* `ferry check` on a file with five mistakes: every run must fail, with the same list, or
 * with an allocation failure on the list. */
static int op_config_check(void *arg, struct fy_err *err)
{
    static struct fy_errlist expect;
    static int have;
    struct fy_errlist all;
    struct fy_config *cfg;
    size_t i;

    (void)arg;
    memset(&all, 0, sizeof(all));
    cfg = fy_config_load_all(FERRY_FIXTURES "/config/check/five-mistakes.yaml", &all, err);
    if (cfg != NULL) {
        fy_config_free(cfg);
        return fy_err_set(err, AF_WRONG, "five-mistakes.yaml loaded");
    }
    if (!have) {
        expect = all;
        have = 1;
    }
    for (i = 0; i < all.n; i++) {
        if (all.items[i].code == FY_ENOMEM) {
            return FY_ENOMEM; /* the list says why it is short */
        }
    }
    if (err->code == FY_ENOMEM) {
        if (all.n == 0) {
            return FY_ENOMEM; /* `ferry check` prints err when the list is empty */
        }
        return fy_err_set(err, AF_WRONG, "%zu of %zu mistakes listed and not a word about the "
                          "memory that ran out", all.n, expect.n);
    }
    if (all.n != expect.n) {
        return fy_err_set(err, AF_WRONG, "%zu errors instead of %zu, first: %s", all.n,
                          expect.n, all.n ? all.items[0].msg : "");
    }
    for (i = 0; i < all.n; i++) {
        if (strcmp(all.items[i].msg, expect.items[i].msg) != 0) {
            return fy_err_set(err, AF_WRONG, "error %zu: %s", i, all.items[i].msg);
        }
    }
    return FY_OK; /* the expected failure of the file, not of the allocation */
}
#endif

static void test_config(void)
{
#ifdef HAVE_CONFIG_FIXTURES
    static const struct op good = {"config good.yaml", op_config_good, NULL};
    static const struct op check = {"config check five-mistakes.yaml", op_config_check, NULL};

    setenv("FERRY_TEST_SECRET", "s3cret-canary", 1);
    torture(&good);
    torture(&check);
#else
    printf("\nallocfail: config: left out (its fixtures need the mqtt, kafka and webhook "
           "plugins)\n");
#endif
}

/* ==== (2) journal ==== */

#define J_RECORDS 12
#define J_RECORD_LEN 900 /* segment_bytes 4096: a few records per segment, several segments */

static char jroot[] = "/tmp/ferry-allocfail-XXXXXX";

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[600];

    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            rm_tree(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

static void record_bytes(unsigned i, unsigned char *b)
{
    unsigned k;

    for (k = 0; k < J_RECORD_LEN; k++) {
        b[k] = (unsigned char)(i * 31u + k);
    }
}

/* Read rd to its end; each record must be the one appended with that seq. */
static int read_all(struct fy_journal_reader *rd, uint64_t *next, unsigned *n_read,
                    struct fy_err *err)
{
    unsigned char want[J_RECORD_LEN];

    for (;;) {
        uint64_t seq;
        void *data;
        size_t len;
        int rc = fy_journal_reader_next(rd, &seq, &data, &len, 0, err);
        if (rc == FY_EAGAIN) {
            return FY_OK;
        }
        if (rc != FY_OK) {
            return rc;
        }
        record_bytes((unsigned)seq, want);
        rc = len == J_RECORD_LEN && memcmp(data, want, len) == 0 ? FY_OK : AF_WRONG;
        free(data);
        if (rc != FY_OK) {
            return fy_err_set(err, AF_WRONG, "record %llu differs", (unsigned long long)seq);
        }
        *next = seq + 1;
        (*n_read)++;
    }
}

/* Open, append, read, commit, close, reopen (recovery), read again, commit, close. */
static int op_journal(void *arg, struct fy_err *err)
{
    static unsigned run;
    struct fy_journal_opts o = {NULL, 4096, FY_FSYNC_NEVER, 0, 0};
    struct fy_journal *j = NULL;
    struct fy_journal_reader *rd = NULL;
    unsigned char rec[J_RECORD_LEN];
    char dir[600];
    uint64_t next = 0;
    unsigned i, n_read = 0, acked = 0;
    int rc = FY_OK;

    (void)arg;
    snprintf(dir, sizeof(dir), "%s/j%u", jroot, run++);
    o.dir = dir;
    j = fy_journal_open(&o, err);
    if (j == NULL) {
        rc = err->code;
        goto out;
    }
    rd = fy_journal_reader_open(j, "sink-a", err);
    if (rd == NULL) {
        rc = err->code;
        goto out;
    }
    for (i = 1; i <= J_RECORDS / 2; i++) {
        uint64_t seq;
        record_bytes(i, rec);
        rc = fy_journal_append(j, rec, sizeof(rec), &seq);
        if (rc != FY_OK) {
            fy_err_set(err, rc, "append %u: %s", i, fy_strerror(rc));
            goto out;
        }
        acked++;
        if (seq != i) {
            rc = fy_err_set(err, AF_WRONG, "append %u got seq %llu", i, (unsigned long long)seq);
            goto out;
        }
    }
    rc = read_all(rd, &next, &n_read, err);
    if (rc != FY_OK) {
        goto out;
    }
    rc = fy_journal_reader_commit(rd, next, err);
    if (rc != FY_OK) {
        goto out;
    }
    for (; i <= J_RECORDS; i++) {
        record_bytes(i, rec);
        rc = fy_journal_append(j, rec, sizeof(rec), NULL);
        if (rc != FY_OK) {
            fy_err_set(err, rc, "append %u: %s", i, fy_strerror(rc));
            goto out;
        }
        acked++;
    }
    fy_journal_reader_close(rd);
    rd = NULL;
    fy_journal_close(j);
    /* recovery: the committed cursor and every acknowledged record come back */
    j = fy_journal_open(&o, err);
    if (j == NULL) {
        rc = err->code;
        goto out;
    }
    rd = fy_journal_reader_open(j, "sink-a", err);
    if (rd == NULL) {
        rc = err->code;
        goto out;
    }
    if (fy_journal_reader_committed(rd) != J_RECORDS / 2 + 1) {
        rc = fy_err_set(err, AF_WRONG, "cursor %llu after reopen",
                        (unsigned long long)fy_journal_reader_committed(rd));
        goto out;
    }
    rc = read_all(rd, &next, &n_read, err);
    if (rc != FY_OK) {
        goto out;
    }
    if (n_read != J_RECORDS || next != J_RECORDS + 1) {
        rc = fy_err_set(err, AF_WRONG, "%u records read, next %llu", n_read,
                        (unsigned long long)next);
        goto out;
    }
    rc = fy_journal_reader_commit(rd, next, err);
out:
    fy_journal_reader_close(rd);
    fy_journal_close(j);
    if (rc != FY_OK && rc != AF_WRONG) {
        /* Whatever failed, what was acknowledged is on disk: a clean reopen finds it all. */
        struct fy_err e2 = {0};
        struct fy_journal_stat st;
        struct fy_journal *j2;
        pthread_mutex_lock(&A.mu);
        A.fail_at = 0; /* the check itself allocates without failures */
        pthread_mutex_unlock(&A.mu);
        j2 = fy_journal_open(&o, &e2);
        if (j2 == NULL) {
            rc = fy_err_set(err, AF_WRONG, "reopen after the failure: %s", e2.msg);
        } else {
            fy_journal_stat(j2, &st);
            if (st.next_seq != (uint64_t)acked + 1 || st.quarantined != 0) {
                rc = fy_err_set(err, AF_WRONG, "after the failure: next seq %llu with %u "
                                "acknowledged, %zu quarantined", (unsigned long long)st.next_seq,
                                acked, st.quarantined);
            }
            fy_journal_close(j2);
        }
    }
    rm_tree(dir);
    return rc;
}

static void test_journal(void)
{
    static const struct op op = {"journal", op_journal, NULL};

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(jroot));
    torture(&op);
    rm_tree(jroot);
}

/* ==== (3) network formats and envelopes ==== */

struct uplink_case {
    const char *format, *file, *topic;
    char *text; /* read once, outside the window */
    size_t len;
    char *expect; /* the clean run's envelopes, concatenated */
};

static struct uplink_case ucases[] = {
    {"tts-v3", "tts-v3/docs-uplink-full.json", "v3/app1@ttn/devices/dev1/up", NULL, 0, NULL},
    {"tts-v3", "tts-v3/docs-mqtt-join.json", "v3/app1@ttn/devices/dev1/join", NULL, 0, NULL},
    {"chirpstack-v4", "chirpstack-v4/real-tago-strega-as923.json",
     "application/0b652419-836c-4b00-87bd-bb16cf48f2ec/device/70b3d5770800030f/event/up", NULL,
     0, NULL},
    {"chirpstack-v3", "chirpstack-v3/tb-decentlab-dl-dws-chirpstack-payload_02.json",
     "application/123/device/0202020202020202/rx", NULL, 0, NULL},
    {"helium", "helium/docs-uplink.json", "helium/up", NULL, 0, NULL},
    {"loriot", "loriot/docs-uplink-basic.json", "loriot/up", NULL, 0, NULL},
    {"thingpark", "thingpark/real-tago-abeeway-uplink-numbers.json", "tp/up", NULL, 0, NULL},
    {"smartclean", "smartclean/docs-batch-example.json", "smartclean/up", NULL, 0, NULL},
};

/* Compare (or, in the warm-up run, record) what a case produced. */
static int check_output(char **expect, const struct fy_buf *got, struct fy_err *err)
{
    if (*expect == NULL) {
        pthread_mutex_lock(&A.mu);
        if (A.on) {
            pthread_mutex_unlock(&A.mu);
            return fy_err_set(err, AF_WRONG, "no clean run recorded");
        }
        pthread_mutex_unlock(&A.mu);
        *expect = strdup(got->data != NULL ? got->data : "");
        return *expect != NULL ? FY_OK : FY_ENOMEM;
    }
    if (strcmp(*expect, got->data != NULL ? got->data : "") != 0) {
        return fy_err_set(err, AF_WRONG, "output differs: %.200s", got->data);
    }
    return FY_OK;
}

static int envelope_append(const struct fy_uplink *up, const void *raw, size_t raw_len,
                           cJSON *obj, struct fy_buf *out, struct fy_err *err)
{
    struct fy_envelope env;
    int rc;

    rc = fy_envelope_build(&env, up, obj, "io.lorawan.uplink", NULL, "ferry", raw, raw_len,
                           err);
    if (rc != FY_OK) {
        return rc;
    }
    rc = fy_buf_printf(out, "%s %s\n", env.key, env.json);
    if (rc != FY_OK) {
        fy_err_set(err, rc, "out of memory");
    }
    fy_envelope_clear(&env);
    return rc;
}

static int op_uplink(void *arg, struct fy_err *err)
{
    struct uplink_case *c = arg;
    const struct fy_format_plugin *fp = fy_codec_format_find(c->format);
    struct fy_msg msg = {"test", c->topic, c->text, c->len, 1, 0};
    struct fy_buf out;
    int rc;

    if (fp == NULL) {
        return fy_err_set(err, AF_WRONG, "no format %s", c->format);
    }
    fy_buf_init(&out, 1u << 20);
    if (fp->decode_multi != NULL) {
        struct fy_uplink *ups = NULL;
        size_t n = 0, i;
        rc = fp->decode_multi(&msg, &ups, &n, err);
        for (i = 0; i < n && rc == FY_OK; i++) {
            rc = envelope_append(&ups[i], ups[i].payload, ups[i].payload_len, NULL, &out, err);
        }
        for (i = 0; i < n; i++) {
            fy_uplink_clear(&ups[i]);
        }
        free(ups);
    } else {
        struct fy_uplink up;
        fy_uplink_init(&up);
        rc = fp->decode(&msg, &up, err);
        if (rc == FY_OK) {
            rc = envelope_append(&up, c->text, c->len, NULL, &out, err);
        }
        fy_uplink_clear(&up);
    }
    if (rc == FY_OK) {
        rc = check_output(&c->expect, &out, err);
    }
    fy_buf_free(&out);
    return rc;
}

/* A device payload codec's object as the envelope's obj (takes the cJSON path of build). */
static char *lpp_expect;

static int op_cayenne(void *arg, struct fy_err *err)
{
    static const unsigned char lpp[] = {0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xff,
                                        0x06, 0x71, 0x04, 0xd2, 0xfb, 0x2e, 0x00, 0x00};
    const struct fy_payload_plugin *pp = fy_codec_payload_find("cayenne-lpp");
    struct fy_uplink up;
    struct fy_buf out;
    cJSON *obj = NULL;
    void *ctx;
    int rc;

    (void)arg;
    if (pp == NULL) {
        return fy_err_set(err, AF_WRONG, "no cayenne-lpp codec");
    }
    fy_buf_init(&out, 1u << 20);
    fy_uplink_init(&up);
    snprintf(up.format, sizeof(up.format), "%s", "tts-v3");
    snprintf(up.event, sizeof(up.event), "%s", "up");
    snprintf(up.dev_eui, sizeof(up.dev_eui), "%s", "70b3d57ed0000001");
    up.f_cnt = 7;
    up.f_port = 2;
    up.payload = malloc(sizeof(lpp));
    if (up.payload == NULL) {
        fy_buf_free(&out);
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    memcpy(up.payload, lpp, sizeof(lpp));
    up.payload_len = sizeof(lpp);
    ctx = pp->create(NULL, err);
    if (ctx == NULL) {
        rc = err->code;
        goto out;
    }
    rc = pp->decode(ctx, &up, &obj, err);
    pp->destroy(ctx);
    if (rc == FY_OK) {
        rc = envelope_append(&up, NULL, 0, obj, &out, err); /* takes obj */
    }
    if (rc == FY_OK) {
        rc = check_output(&lpp_expect, &out, err);
    }
out:
    fy_uplink_clear(&up);
    fy_buf_free(&out);
    return rc;
}

static void test_codecs(void)
{
    size_t i;

    for (i = 0; i < sizeof(ucases) / sizeof(ucases[0]); i++) {
        struct uplink_case *c = &ucases[i];
        char path[512], name[128];
        struct op op;

        snprintf(path, sizeof(path), "%s/uplinks/%s", FERRY_FIXTURES, c->file);
        c->text = fy_file_read(path, 1u << 20, &c->len, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c->text);
        snprintf(name, sizeof(name), "%s %s", c->format, strchr(c->file, '/') + 1);
        op.name = name;
        op.run = op_uplink;
        op.arg = c;
        torture(&op);
        free(c->text);
        free(c->expect);
        c->text = NULL;
        c->expect = NULL;
    }
    {
        static const struct op lpp = {"cayenne-lpp payload", op_cayenne, NULL};
        torture(&lpp);
        free(lpp_expect);
        lpp_expect = NULL;
    }
}

/* ==== (4) routing table and templates ==== */

#define R_ROUTES 40 /* more matches than the router's stack buffer holds: its heap path too */

static int op_router(void *arg, struct fy_err *err)
{
    static const char *const filters[] = {"v3/+/devices/+/up", "v3/#", "$share/g/v3/+/devices/+/+",
                                          "application/+/device/+/event/up", "#", "v3/app/#"};
    static const char *const tpls[] = {"lorawan.{recType}.{1}", "x.{deviceId}.{2}",
                                       "{{literal}}.{recType}"};
    static const char *const known[] = {"recType", "deviceId", NULL};
    static char expect[2048];
    struct fy_router_entry e[R_ROUTES];
    struct fy_route_match m[R_ROUTES];
    const char *vars[] = {"recType", "io.up", "deviceId", "dev-1", NULL};
    struct fy_router *r;
    char got[2048], dest[256];
    size_t i, n, k;
    int len = 0, rc = FY_OK;

    (void)arg;
    for (i = 0; i < R_ROUTES; i++) {
        e[i].filter = filters[i % (sizeof(filters) / sizeof(filters[0]))];
        e[i].source = i % 3 == 0 ? "ttn" : NULL;
        e[i].final = i == R_ROUTES - 1;
    }
    r = fy_router_create(e, R_ROUTES, err);
    if (r == NULL) {
        return err->code;
    }
    n = fy_router_match(r, "v3/app/devices/dev-1/up", "ttn", m, R_ROUTES);
    len += snprintf(got + len, sizeof(got) - (size_t)len, "%zu:", n);
    for (i = 0; i < n; i++) {
        len += snprintf(got + len, sizeof(got) - (size_t)len, "%zu/%d,", m[i].route,
                        m[i].n_caps);
    }
    for (k = 0; k < sizeof(tpls) / sizeof(tpls[0]) && rc == FY_OK && n > 0; k++) {
        rc = fy_template_check(tpls[k], known, 1, err);
        if (rc == FY_OK) {
            rc = fy_template_expand(tpls[k], vars, &m[0], dest, sizeof(dest), err);
        }
        if (rc == FY_OK) {
            len += snprintf(got + len, sizeof(got) - (size_t)len, "%s;", dest);
        }
    }
    fy_router_destroy(r);
    if (rc != FY_OK) {
        return rc;
    }
    if (n == 0) {
        /* the documented answer when the match list cannot grow (routes/router.c) */
        return fy_err_set(err, FY_ENOMEM, "no match: out of memory while matching");
    }
    if (expect[0] == '\0') {
        snprintf(expect, sizeof(expect), "%s", got);
    }
    if (strcmp(expect, got) != 0) {
        return fy_err_set(err, AF_WRONG, "router differs: %s", got);
    }
    return FY_OK;
}

static void test_router(void)
{
    static const struct op op = {"router + templates", op_router, NULL};

    torture(&op);
}

static void test_summary(void)
{
    printf("\nallocfail: total %ld allocations counted, %ld failures injected, %ld defects\n",
           total_k, total_injected, total_defects);
    FY_ASSERT_EQ(total_defects, 0);
}

static int suite_init(void)
{
    fy_log_setup(FY_LOG_ERROR, fopen("/dev/null", "w")); /* the failures log by the hundred */
    if (__sanitizer_set_death_callback != NULL) {
        __sanitizer_set_death_callback(on_death);
    }
    signal(SIGSEGV, on_signal);
    signal(SIGABRT, on_signal);
    signal(SIGBUS, on_signal);
    return 0;
}

int init_allocfail_tests(void)
{
    CU_pSuite s = CU_add_suite("allocfail", suite_init, NULL);

    if (s == NULL || CU_add_test(s, "config", test_config) == NULL ||
        CU_add_test(s, "journal", test_journal) == NULL ||
        CU_add_test(s, "codecs and envelopes", test_codecs) == NULL ||
        CU_add_test(s, "router and templates", test_router) == NULL ||
        CU_add_test(s, "summary", test_summary) == NULL) {
        return -1;
    }
    return 0;
}
