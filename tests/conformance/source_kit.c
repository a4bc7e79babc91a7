/* source_kit.c - the source conformance kit (source_kit.h). Only sources/source.h, core/conf.h
 * and core/opts.h are used: a source passes the kit through its contract alone. */
#include "tests/conformance/source_kit.h"

#include "core/clock.h"
#include "core/conf.h"
#include "core/opts.h"

#include <CUnit/CUnit.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIT_BAD_KEY "no_such_option_kit"
#define KIT_EAGAIN_TIMES 3 /* variant 1 of (b): FY_EAGAIN this many times, then FY_OK */

static const char *const kit_skip[] = {"name", "type", NULL};

/* Set when a lifecycle call did not return: the plugin may hold a lock shared by every instance
 * (a library's global mutex), so later checks would hang; they are skipped and fail instead. */
static atomic_int kit_wedged;
static char kit_wedged_what[160];
static int kit_next_id; /* ids are never reused within a process: see "earlier" */

struct kit_state {
    pthread_mutex_t mu;
    int base, n;             /* owed ids: base .. base + n - 1 */
    unsigned *ok;            /* emits answered FY_OK, per id */
    unsigned *calls;         /* every emit, per id */
    unsigned char *published; /* publish returned 0 */
    int earlier;             /* emits of ids of an earlier check (a redelivery) */
    int unknown;             /* emits that are no kit payload, or an id never handed out */
    int after_stop;          /* emits to an instance whose stop had returned */
    int while_paused;        /* emits between fy_source_pause and fy_source_resume */
    int paused;
    int fault_id;            /* this id gets fault_rc ... */
    int fault_rc;
    int fault_times;         /* ... this many times ... */
    int fault_gen;           /* ... from this instance (-1: any) */
    int fault_given;
};

/* One source instance; its emit argument. Never freed once kit_wedged is set (a stuck plugin
 * thread may still hold it). */
struct kit_inst {
    struct kit_state *s;
    int gen;
    atomic_int stopped;      /* set by the kit once fy_source_stop/destroy returned */
    struct fy_source *src;
    struct fy_node *root;
};

static int scaled(int ms)
{
    const char *m = getenv("FERRY_TEST_TIMEOUT_MULTIPLIER");
    long f = m != NULL ? strtol(m, NULL, 10) : 1;

    return ms * (int)(f > 0 ? f : 1);
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int kit_n(const struct fy_source_kit *k)
{
    return k->messages > 1 ? k->messages : 40;
}

static int kit_timeout(const struct fy_source_kit *k)
{
    return scaled(k->timeout_ms > 0 ? k->timeout_ms : 15000);
}

/* Tell and count a failed check. */
#define KIT_CHECK(cond, fails, ...)                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "\nsource kit [%s]: %s: ", k->plugin, #cond);                       \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                \
            (fails)++;                                                                          \
        }                                                                                       \
        CU_ASSERT_TRUE(cond);                                                                   \
    } while (0)

size_t fy_source_kit_payload(int id, char *buf, size_t size)
{
    int n = snprintf(buf, size, "{\"kit\":\"source\",\"id\":%d}", id);

    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static int payload_id(const struct fy_msg *msg)
{
    char b[64];
    size_t len = msg->len < sizeof(b) - 1 ? msg->len : sizeof(b) - 1;
    int id;

    if (msg->payload == NULL) {
        return -1;
    }
    memcpy(b, msg->payload, len);
    b[len] = '\0';
    return sscanf(b, "{\"kit\":\"source\",\"id\":%d}", &id) == 1 && id >= 0 ? id : -1;
}

static void state_init(struct kit_state *s, int n)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->base = kit_next_id;
    kit_next_id += n;
    s->n = n;
    s->ok = calloc((size_t)n, sizeof(*s->ok));
    s->calls = calloc((size_t)n, sizeof(*s->calls));
    s->published = calloc((size_t)n, 1);
    s->fault_id = -1;
    s->fault_gen = -1;
}

static void state_free(struct kit_state *s)
{
    if (atomic_load(&kit_wedged)) {
        return; /* a stuck plugin thread may still emit into it */
    }
    pthread_mutex_destroy(&s->mu);
    free(s->ok);
    free(s->calls);
    free(s->published);
}

static int on_emit(void *arg, struct fy_source *src, const struct fy_msg *msg)
{
    struct kit_inst *in = arg;
    struct kit_state *s = in->s;
    int id = payload_id(msg), rc = FY_OK;

    (void)src;
    pthread_mutex_lock(&s->mu);
    if (atomic_load(&in->stopped)) {
        s->after_stop++;
    }
    if (s->paused) {
        s->while_paused++;
    }
    if (id < 0 || id >= s->base + s->n) {
        s->unknown++;
    } else if (id < s->base) {
        s->earlier++;
    } else {
        s->calls[id - s->base]++;
        if (id == s->fault_id && (s->fault_gen < 0 || s->fault_gen == in->gen) &&
            s->fault_given < s->fault_times) {
            s->fault_given++;
            rc = s->fault_rc;
        } else {
            s->ok[id - s->base]++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ==== config ==== */

/* "name: kit\ntype: <plugin>\n" + yaml + extra, parsed as kit.yaml. *extra_line gets the line
 * of extra's last line. */
static struct fy_node *kit_conf(const struct fy_source_kit *k, const char *extra, int *extra_line,
                                struct fy_err *err)
{
    char y[8192];
    int i, lines = 0;
    const char *yaml = k->yaml != NULL ? k->yaml : "";
    const char *nl = *yaml != '\0' && yaml[strlen(yaml) - 1] != '\n' ? "\n" : "";

    snprintf(y, sizeof(y), "name: kit\ntype: %s\n%s%s%s", k->plugin, yaml, nl,
             extra != NULL ? extra : "");
    if (extra_line != NULL) {
        const char *e = extra != NULL ? strstr(y, extra) : NULL;
        for (i = 0; e != NULL && y + i < e; i++) {
            lines += y[i] == '\n';
        }
        for (i = 0; extra != NULL && extra[i] != '\0'; i++) {
            lines += extra[i] == '\n'; /* the last line of extra is the one that is wrong */
        }
        *extra_line = lines;
    }
    return fy_conf_parse(y, strlen(y), "kit.yaml", err);
}

/* ==== lifecycle calls under a watchdog ==== */

enum kit_op_kind { OP_CREATE, OP_START, OP_STOP, OP_PAUSE, OP_RESUME, OP_DESTROY };
static const char *const op_names[] = {"fy_source_create", "fy_source_start", "fy_source_stop",
                                       "fy_source_pause", "fy_source_resume",
                                       "fy_source_destroy"};

struct kit_op {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    enum kit_op_kind kind;
    const struct fy_source_kit *k;
    struct kit_inst *in;
    struct fy_err err;
    int rc;
};

static void *op_thread(void *arg)
{
    struct kit_op *op = arg;
    struct kit_inst *in = op->in;
    int rc = FY_OK;

    switch (op->kind) {
    case OP_CREATE:
        in->src = fy_source_create(fy_source_plugin_find(op->k->plugin), "kit", in->root,
                                   kit_skip, 0, on_emit, in, &op->err);
        rc = in->src != NULL ? FY_OK : op->err.code != FY_OK ? op->err.code : FY_EINVAL;
        break;
    case OP_START:
        rc = fy_source_start(in->src, &op->err);
        break;
    case OP_STOP:
        fy_source_stop(in->src);
        break;
    case OP_PAUSE:
        fy_source_pause(in->src);
        break;
    case OP_RESUME:
        fy_source_resume(in->src);
        break;
    case OP_DESTROY:
        fy_source_destroy(in->src);
        in->src = NULL;
        break;
    }
    pthread_mutex_lock(&op->mu);
    op->rc = rc;
    op->done = 1;
    pthread_cond_broadcast(&op->cv);
    pthread_mutex_unlock(&op->mu);
    return NULL;
}

/* Run one lifecycle call; FY_OK, its error (text in err), or -1 when it did not return within
 * the timeout (kit_wedged is then set and the call's thread left behind). */
static int kit_call(const struct fy_source_kit *k, struct kit_inst *in, enum kit_op_kind kind,
                    struct fy_err *err)
{
    struct kit_op *op = calloc(1, sizeof(*op));
    long long t0 = fy_clock_mono_ms(), deadline = t0 + kit_timeout(k);
    pthread_t th;
    int done, rc;

    if (op == NULL) {
        return FY_ENOMEM;
    }
    pthread_mutex_init(&op->mu, NULL);
    pthread_cond_init(&op->cv, NULL);
    op->kind = kind;
    op->k = k;
    op->in = in;
    if (pthread_create(&th, NULL, op_thread, op) != 0) {
        free(op);
        return FY_ENOMEM;
    }
    pthread_mutex_lock(&op->mu);
    while (!op->done && fy_clock_mono_ms() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&op->cv, &op->mu, &ts);
    }
    done = op->done;
    rc = op->rc;
    if (err != NULL && done) {
        *err = op->err;
    }
    pthread_mutex_unlock(&op->mu);
    if (!done) {
        pthread_detach(th); /* op stays allocated: the thread may still finish */
        atomic_store(&kit_wedged, 1);
        snprintf(kit_wedged_what, sizeof(kit_wedged_what), "%s (instance %d)", op_names[kind],
                 in->gen);
        fprintf(stderr, "\nsource kit [%s]: %s of instance %d did not return within %lld ms\n",
                k->plugin, op_names[kind], in->gen, fy_clock_mono_ms() - t0);
        return -1;
    }
    pthread_join(th, NULL);
    pthread_mutex_destroy(&op->mu);
    pthread_cond_destroy(&op->cv);
    free(op);
    return rc;
}

static int not_wedged(const struct fy_source_kit *k, const char *check)
{
    int fails = 0;

    KIT_CHECK(!atomic_load(&kit_wedged), fails, "%s not run: %s did not return in an earlier "
              "check, and the plugin may hold a lock every instance needs", check,
              kit_wedged_what);
    return fails == 0;
}

static struct kit_inst *inst_new(struct kit_state *s, int gen)
{
    struct kit_inst *in = calloc(1, sizeof(*in));

    if (in != NULL) {
        in->s = s;
        in->gen = gen;
    }
    return in;
}

static void inst_free(struct kit_inst *in)
{
    if (in == NULL || atomic_load(&kit_wedged)) {
        return;
    }
    fy_conf_free(in->root);
    free(in);
}

/* 1 once fy_source_connected says so, 0 after the timeout. */
static int wait_connected(const struct fy_source_kit *k, struct kit_inst *in)
{
    long long deadline = fy_clock_mono_ms() + kit_timeout(k);

    while (!fy_source_connected(in->src) && fy_clock_mono_ms() < deadline) {
        nap_ms(20);
    }
    return fy_source_connected(in->src);
}

/* Create and start an instance and wait until it is connected. Counts failures. */
static struct kit_inst *inst_up(const struct fy_source_kit *k, struct kit_state *s, int gen,
                                int *fails)
{
    struct fy_err err = {0};
    struct kit_inst *in = inst_new(s, gen);
    long long t0;
    int rc;

    if (in == NULL) {
        KIT_CHECK(0, *fails, "out of memory");
        return NULL;
    }
    in->root = kit_conf(k, NULL, NULL, &err);
    KIT_CHECK(in->root != NULL, *fails, "kit.yaml: %s", err.msg);
    if (in->root == NULL) {
        inst_free(in);
        return NULL;
    }
    rc = kit_call(k, in, OP_CREATE, &err);
    KIT_CHECK(rc == FY_OK, *fails, "create (instance %d): %s", gen, rc < 0 ? "hung" : err.msg);
    if (rc != FY_OK) {
        inst_free(in);
        return NULL;
    }
    rc = kit_call(k, in, OP_START, &err);
    KIT_CHECK(rc == FY_OK, *fails, "start (instance %d): %s", gen, rc < 0 ? "hung" : err.msg);
    if (rc != FY_OK) {
        if (rc > 0) {
            kit_call(k, in, OP_DESTROY, NULL);
            inst_free(in);
        }
        return NULL;
    }
    t0 = fy_clock_mono_ms();
    KIT_CHECK(wait_connected(k, in), *fails, "instance %d not connected after %lld ms", gen,
              fy_clock_mono_ms() - t0);
    return in;
}

/* Stop (when stop is set) or destroy an instance, then mark it stopped. */
static int inst_call_stop(const struct fy_source_kit *k, struct kit_inst *in,
                          enum kit_op_kind kind, int *fails)
{
    long long t0 = fy_clock_mono_ms();
    int rc = kit_call(k, in, kind, NULL);

    KIT_CHECK(rc == FY_OK, *fails, "%s of instance %d did not return", op_names[kind], in->gen);
    if (rc == FY_OK) {
        atomic_store(&in->stopped, 1);
        if (fy_clock_mono_ms() - t0 > 3000) {
            fprintf(stderr, "\n  source kit [%s]: %s took %lld ms\n", k->plugin, op_names[kind],
                    fy_clock_mono_ms() - t0);
        }
    }
    return rc;
}

static void inst_down(const struct fy_source_kit *k, struct kit_inst *in, int *fails)
{
    if (in == NULL) {
        return;
    }
    if (in->src != NULL && inst_call_stop(k, in, OP_DESTROY, fails) != FY_OK) {
        return;
    }
    inst_free(in);
}

/* ==== publishing and counting ==== */

/* Publish relative ids from..to-1 (retrying each for up to retry_ms while the remote refuses
 * it); returns how many the remote took. */
static int publish_range(const struct fy_source_kit *k, struct kit_state *s, int from, int to,
                         int retry_ms)
{
    int i, took = 0;

    for (i = from; i < to; i++) {
        long long deadline = fy_clock_mono_ms() + retry_ms;
        int rc;
        while ((rc = k->publish(k->arg, s->base + i)) != 0 && fy_clock_mono_ms() < deadline) {
            nap_ms(100);
        }
        if (rc == 0) {
            pthread_mutex_lock(&s->mu);
            s->published[i] = 1;
            pthread_mutex_unlock(&s->mu);
            took++;
        }
    }
    return took;
}

struct kit_pub {
    const struct fy_source_kit *k;
    struct kit_state *s;
    int from, to, gap_ms, took;
    pthread_t th;
};

static void *pub_thread(void *arg)
{
    struct kit_pub *p = arg;
    int i;

    for (i = p->from; i < p->to; i++) {
        p->took += publish_range(p->k, p->s, i, i + 1, 0);
        if (p->gap_ms > 0) {
            nap_ms(p->gap_ms);
        }
    }
    return NULL;
}

/* Relative ids from..to-1 that were published but have no FY_OK emit yet. */
static int missing(struct kit_state *s, int from, int to, int *first)
{
    int i, m = 0;

    pthread_mutex_lock(&s->mu);
    for (i = from; i < to; i++) {
        if (s->published[i] && s->ok[i] == 0) {
            if (m++ == 0 && first != NULL) {
                *first = i;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    return m;
}

static int stored(struct kit_state *s, int i)
{
    int ok;

    pthread_mutex_lock(&s->mu);
    ok = s->ok[i] > 0;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static int wait_arrived(const struct fy_source_kit *k, struct kit_state *s, int from, int to)
{
    long long deadline = fy_clock_mono_ms() + kit_timeout(k);

    while (missing(s, from, to, NULL) > 0 && fy_clock_mono_ms() < deadline) {
        nap_ms(20);
    }
    return missing(s, from, to, NULL);
}

/* Every published id of from..to-1 stored (FY_OK) at least once; with once, exactly once. */
static int check_counts(const struct fy_source_kit *k, struct kit_state *s, const char *phase,
                        int from, int to, int once)
{
    int fails = 0, i, first = -1, dup = 0, first_dup = -1, pub = 0;
    int m = missing(s, from, to, &first);

    pthread_mutex_lock(&s->mu);
    for (i = from; i < to; i++) {
        pub += s->published[i];
        if (s->ok[i] > 1) {
            dup += (int)s->ok[i] - 1;
            first_dup = first_dup < 0 ? i : first_dup;
        }
    }
    pthread_mutex_unlock(&s->mu);
    KIT_CHECK(pub > 0, fails, "%s: the remote took none of %d messages", phase, to - from);
    KIT_CHECK(m == 0, fails, "%s: %d of %d published messages never emitted with FY_OK "
              "(first id %d)", phase, m, pub, s->base + first);
    if (once) {
        KIT_CHECK(dup == 0, fails, "%s: %d duplicate emits (first id %d)", phase, dup,
                  s->base + first_dup);
    } else if (dup > 0) {
        fprintf(stderr, "\n  source kit [%s]: %s: %d redelivered (allowed here)\n", k->plugin,
                phase, dup);
    }
    return fails;
}

static int check_state(const struct fy_source_kit *k, struct kit_state *s, const char *check)
{
    int fails = 0;

    pthread_mutex_lock(&s->mu);
    KIT_CHECK(s->after_stop == 0, fails, "%s: %d emit(s) after fy_source_stop returned", check,
              s->after_stop);
    KIT_CHECK(s->unknown == 0, fails, "%s: %d emit(s) of messages never published", check,
              s->unknown);
    if (s->earlier > 0) {
        fprintf(stderr, "\n  source kit [%s]: %s: %d message(s) of an earlier check delivered "
                "again\n", k->plugin, check, s->earlier);
    }
    pthread_mutex_unlock(&s->mu);
    return fails;
}

/* ==== the checks ==== */

int fy_source_kit_deliver(const struct fy_source_kit *k)
{
    int n = kit_n(k), half = n / 2, fails = 0;
    struct kit_state s;
    struct kit_inst *in;
    struct kit_pub pub;
    long long deadline;

    if (!not_wedged(k, "deliver")) {
        return 1;
    }
    state_init(&s, n);
    in = inst_up(k, &s, 1, &fails);
    if (in == NULL || fails > 0) {
        inst_down(k, in, &fails);
        state_free(&s);
        return fails;
    }
    /* first start: half the messages, each exactly once */
    publish_range(k, &s, 0, half, 0);
    wait_arrived(k, &s, 0, half);
    fails += check_counts(k, &s, "deliver, first start", 0, half, 1);

    /* stop while messages keep coming; nothing after stop returns; start again on the same
     * instance: what the remote took meanwhile arrives */
    memset(&pub, 0, sizeof(pub));
    pub.k = k;
    pub.s = &s;
    pub.from = half;
    pub.to = n;
    pub.gap_ms = 10;
    if (pthread_create(&pub.th, NULL, pub_thread, &pub) != 0) {
        KIT_CHECK(0, fails, "cannot start the publisher thread");
        inst_down(k, in, &fails);
        state_free(&s);
        return fails;
    }
    deadline = fy_clock_mono_ms() + kit_timeout(k);
    while (!stored(&s, half) && fy_clock_mono_ms() < deadline) {
        nap_ms(5); /* stop once the stream is flowing */
    }
    if (inst_call_stop(k, in, OP_STOP, &fails) == FY_OK) {
        struct fy_err err = {0};
        int rc;
        nap_ms(300);
        fails += check_state(k, &s, "deliver, stopped");
        atomic_store(&in->stopped, 0);
        rc = kit_call(k, in, OP_START, &err);
        KIT_CHECK(rc == FY_OK, fails, "second start: %s", rc < 0 ? "hung" : err.msg);
        KIT_CHECK(rc != FY_OK || wait_connected(k, in), fails, "not connected after the "
                  "second start");
        pthread_join(pub.th, NULL);
        if (rc == FY_OK) {
            wait_arrived(k, &s, half, n);
            /* a message stored just as the connection closed may come again: at least once */
            fails += check_counts(k, &s, "deliver, after stop and start", half, n, 0);
        }
    } else {
        pthread_join(pub.th, NULL);
    }
    inst_down(k, in, &fails);
    nap_ms(200);
    fails += check_state(k, &s, "deliver");
    fprintf(stderr, "\n  source kit [%s]: deliver: %d messages, start/stop/start\n", k->plugin,
            n);
    state_free(&s);
    return fails;
}

/* Variant 1: FY_EAGAIN KIT_EAGAIN_TIMES times for one message; the source retries it. */
static int ack_eagain(const struct fy_source_kit *k)
{
    int n = kit_n(k), fails = 0, fault = n / 2;
    struct kit_state s;
    struct kit_inst *in;

    state_init(&s, n);
    s.fault_id = s.base + fault;
    s.fault_rc = FY_EAGAIN;
    s.fault_times = KIT_EAGAIN_TIMES;
    in = inst_up(k, &s, 1, &fails);
    if (in != NULL && fails == 0) {
        publish_range(k, &s, 0, n, 0);
        wait_arrived(k, &s, 0, n);
        fails += check_counts(k, &s, "ack, FY_EAGAIN", 0, n, 1);
        pthread_mutex_lock(&s.mu);
        KIT_CHECK(s.calls[fault] >= KIT_EAGAIN_TIMES + 1, fails, "ack, FY_EAGAIN: message %d "
                  "emitted %u time(s), expected %d FY_EAGAIN and then FY_OK", s.fault_id,
                  s.calls[fault], KIT_EAGAIN_TIMES);
        pthread_mutex_unlock(&s.mu);
    }
    inst_down(k, in, &fails);
    fails += check_state(k, &s, "ack, FY_EAGAIN");
    state_free(&s);
    return fails;
}

/* Variant 2: FY_EIO for one message from the first instance, every time: stop it, and a new
 * instance (same yaml: same client id, same session) must get that message again. */
static int ack_eio(const struct fy_source_kit *k)
{
    int n = kit_n(k), fails = 0, fault = n / 2;
    struct kit_state s;
    struct kit_inst *in1, *in2 = NULL;
    long long deadline;
    unsigned calls;

    state_init(&s, n);
    s.fault_id = s.base + fault;
    s.fault_rc = FY_EIO;
    s.fault_times = INT_MAX;
    s.fault_gen = 1;
    in1 = inst_up(k, &s, 1, &fails);
    if (in1 == NULL || fails > 0) {
        inst_down(k, in1, &fails);
        state_free(&s);
        return fails;
    }
    publish_range(k, &s, 0, n, 0);
    deadline = fy_clock_mono_ms() + kit_timeout(k);
    do {
        nap_ms(20);
        pthread_mutex_lock(&s.mu);
        calls = s.calls[fault];
        pthread_mutex_unlock(&s.mu);
    } while (calls == 0 && fy_clock_mono_ms() < deadline);
    KIT_CHECK(calls > 0, fails, "ack, FY_EIO: message %d never emitted", s.fault_id);
    fprintf(stderr, "\n  source kit [%s]: ack: message %d answered FY_EIO %u time(s)\n",
            k->plugin, s.fault_id, calls);
    nap_ms(300); /* let the source do what it does with an FY_EIO */
    wait_arrived(k, &s, 0, fault);
    fails += check_counts(k, &s, "ack, FY_EIO, before the failed message", 0, fault, 1);
    if (inst_call_stop(k, in1, OP_STOP, &fails) == FY_OK) {
        nap_ms(200);
        fails += check_state(k, &s, "ack, FY_EIO, first instance stopped");
        if (inst_call_stop(k, in1, OP_DESTROY, &fails) == FY_OK) {
            inst_free(in1);
            in2 = inst_up(k, &s, 2, &fails);
        }
    }
    if (in2 != NULL) {
        wait_arrived(k, &s, 0, n);
        /* the new session may get again what the first instance stored last: at least once */
        fails += check_counts(k, &s, "ack, FY_EIO, new instance", fault, n, 0);
        pthread_mutex_lock(&s.mu);
        KIT_CHECK(s.ok[fault] >= 1, fails, "ack, FY_EIO: message %d was acknowledged without "
                  "FY_OK: the new instance never got it", s.fault_id);
        pthread_mutex_unlock(&s.mu);
        inst_down(k, in2, &fails);
    }
    fails += check_state(k, &s, "ack, FY_EIO");
    state_free(&s);
    return fails;
}

int fy_source_kit_ack(const struct fy_source_kit *k)
{
    int fails = 0;

    if (!not_wedged(k, "ack")) {
        return 1;
    }
    fails += ack_eagain(k);
    if (k->skip_eio) {
        fprintf(stderr, "\n  source kit [%s]: ack: FY_EAGAIN %d times; the FY_EIO variant is "
                "skipped by the caller (a known defect, see its comment)\n", k->plugin,
                KIT_EAGAIN_TIMES);
        return fails;
    }
    if (!not_wedged(k, "ack, FY_EIO")) {
        return fails + 1;
    }
    fails += ack_eio(k);
    fprintf(stderr, "\n  source kit [%s]: ack: FY_EAGAIN %d times, then FY_EIO and a new "
            "instance\n", k->plugin, KIT_EAGAIN_TIMES);
    return fails;
}

int fy_source_kit_pause(const struct fy_source_kit *k)
{
    int n = kit_n(k), half = n / 2, fails = 0, rc, paused_emits;
    struct kit_state s;
    struct kit_inst *in;

    if (!not_wedged(k, "pause")) {
        return 1;
    }
    state_init(&s, n);
    in = inst_up(k, &s, 1, &fails);
    if (in != NULL && fails == 0) {
        publish_range(k, &s, 0, half, 0);
        wait_arrived(k, &s, 0, half);
        fails += check_counts(k, &s, "pause, before", 0, half, 1);
        rc = kit_call(k, in, OP_PAUSE, NULL);
        KIT_CHECK(rc == FY_OK, fails, "fy_source_pause did not return");
        if (rc == FY_OK) {
            pthread_mutex_lock(&s.mu);
            s.paused = 1;
            pthread_mutex_unlock(&s.mu);
            publish_range(k, &s, half, n, 0);
            nap_ms(1000); /* long enough for them to arrive if the source were not paused */
            pthread_mutex_lock(&s.mu);
            s.paused = 0;
            paused_emits = s.while_paused;
            pthread_mutex_unlock(&s.mu);
            KIT_CHECK(paused_emits == 0, fails, "pause: %d emit(s) while paused", paused_emits);
            rc = kit_call(k, in, OP_RESUME, NULL);
            KIT_CHECK(rc == FY_OK, fails, "fy_source_resume did not return");
            if (rc == FY_OK) {
                wait_arrived(k, &s, half, n);
                fails += check_counts(k, &s, "pause, after resume", half, n, 1);
            }
        }
    }
    inst_down(k, in, &fails);
    fails += check_state(k, &s, "pause");
    fprintf(stderr, "\n  source kit [%s]: pause: %d messages while paused\n", k->plugin,
            n - half);
    state_free(&s);
    return fails;
}

int fy_source_kit_reconnect(const struct fy_source_kit *k)
{
    int n = kit_n(k), half = n / 2, fails = 0, rc;
    struct kit_state s;
    struct kit_inst *in;
    long long t0, t1 = 0;

    if (k->restart_remote == NULL) {
        fprintf(stderr, "\n  source kit [%s]: reconnect skipped: no restart_remote\n",
                k->plugin);
        return 0;
    }
    if (!not_wedged(k, "reconnect")) {
        return 1;
    }
    state_init(&s, n);
    in = inst_up(k, &s, 1, &fails);
    if (in != NULL && fails == 0) {
        publish_range(k, &s, 0, half, 0);
        wait_arrived(k, &s, 0, half);
        fails += check_counts(k, &s, "reconnect, before", 0, half, 1);
        rc = k->restart_remote(k->arg);
        KIT_CHECK(rc == 0, fails, "restart_remote returned %d", rc);
        t0 = fy_clock_mono_ms();
        /* the remote may take a moment to come back: each publish is retried */
        publish_range(k, &s, half, n, kit_timeout(k));
        wait_arrived(k, &s, half, n);
        if (missing(&s, half, n, NULL) == 0) {
            t1 = fy_clock_mono_ms();
        }
        fails += check_counts(k, &s, "reconnect, after the restart", half, n, 1);
        /* messages a remote kept may come before the source counts itself connected again
         * (MQTT: the session's queue flows right after CONNACK, before the SUBACK) */
        wait_connected(k, in);
        KIT_CHECK(fy_source_connected(in->src), fails, "reconnect: not connected at the end");
        fprintf(stderr, "\n  source kit [%s]: reconnect: all %d later messages %lld ms after "
                "the restart\n", k->plugin, n - half, t1 > 0 ? t1 - t0 : -1LL);
    }
    inst_down(k, in, &fails);
    fails += check_state(k, &s, "reconnect");
    state_free(&s);
    return fails;
}

/* fy_source_create(check_only) on yaml + extra must fail at kit.yaml:<extra's line>:<col> with
 * key in the message. */
static int expect_option_error(const struct fy_source_kit *k, const char *extra,
                               const char *key)
{
    struct fy_err err = {0};
    struct kit_state s;
    struct kit_inst in = {0};
    struct fy_node *root;
    struct fy_source *src = NULL;
    char prefix[64];
    int line = 0, fails = 0, col = 0;

    state_init(&s, 1);
    in.s = &s;
    root = kit_conf(k, extra, &line, &err);
    if (root != NULL) {
        src = fy_source_create(fy_source_plugin_find(k->plugin), "kit", root, kit_skip, 1,
                               on_emit, &in, &err);
    }
    KIT_CHECK(src == NULL, fails, "'%s' accepted", extra);
    snprintf(prefix, sizeof(prefix), "kit.yaml:%d:", line);
    KIT_CHECK(strncmp(err.msg, prefix, strlen(prefix)) == 0 &&
                  sscanf(err.msg + strlen(prefix), "%d: ", &col) == 1 && col > 0,
              fails, "'%s': expected \"%sCOL: ...\", got \"%s\"", extra, prefix, err.msg);
    KIT_CHECK(strstr(err.msg, key) != NULL, fails, "'%s': the message does not name %s: %s",
              extra, key, err.msg);
    fy_source_destroy(src);
    fy_conf_free(root);
    state_free(&s);
    return fails;
}

int fy_source_kit_option_errors(const struct fy_source_kit *k)
{
    const struct fy_source_plugin *p = fy_source_plugin_find(k->plugin);
    const struct fy_opt *o;
    char extra[256];
    int fails = 0, did_int = 0, did_bool = 0, did_enum = 0, checked = 1;

    KIT_CHECK(p != NULL, fails, "no source plugin named %s", k->plugin);
    if (p == NULL) {
        return fails;
    }
    fails += expect_option_error(k, KIT_BAD_KEY ": 1\n", KIT_BAD_KEY);
    for (o = p->opts; o != NULL && o->name != NULL; o++) {
        const char *bad = NULL;
        if (k->yaml != NULL && strstr(k->yaml, o->name) != NULL) {
            continue; /* set by the caller: a second value would be a duplicate key */
        }
        if (o->type == FY_OPT_T_INT && !did_int++) {
            bad = "not-a-number";
        } else if (o->type == FY_OPT_T_BOOL && !did_bool++) {
            bad = "maybe-not";
        } else if (o->type == FY_OPT_T_ENUM && !did_enum++) {
            bad = "no-such-choice";
        }
        if (bad != NULL) {
            snprintf(extra, sizeof(extra), "%s: %s\n", o->name, bad);
            fails += expect_option_error(k, extra, o->name);
            checked++;
        }
    }
    fprintf(stderr, "\n  source kit [%s]: %d option error(s) checked\n", k->plugin, checked);
    return fails;
}
