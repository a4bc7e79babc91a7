/* sink_kit.c - the sink conformance kit (sink_kit.h). Only sinks/sink.h, core/conf.h,
 * core/opts.h and core/log.h are used: a sink passes the kit through its contract alone. */
#include "tests/conformance/sink_kit.h"
#include "core/clock.h"

#include "core/conf.h"
#include "core/log.h"
#include "core/opts.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIT_CANARY "kit-canary-7f3a9c5e1d"
#define KIT_BAD_KEY "no_such_option_kit"

static const char *const kit_skip[] = {"name", "type", NULL};

struct kit_state {
    pthread_mutex_t mu;
    int n;                   /* tickets 0..n-1 */
    unsigned char *done;     /* completions per ticket */
    int completed, dup, unknown, wrong, canary;
    enum fy_sink_result expect;
    const char *want;        /* text every non-OK reason must hold, or NULL */
    char reason[512];        /* last reason that was not the expected result */
};

static int scaled(int ms)
{
    const char *m = getenv("FERRY_TEST_TIMEOUT_MULTIPLIER");
    long f = m != NULL ? strtol(m, NULL, 10) : 1;

    return ms * (int)(f > 0 ? f : 1);
}

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct kit_state *s = arg;

    pthread_mutex_lock(&s->mu);
    if (ticket >= (uint64_t)s->n) {
        s->unknown++;
    } else if (s->done[ticket]++ > 0) {
        s->dup++;
    } else {
        s->completed++;
    }
    if (res != s->expect ||
        (res != FY_SINK_OK && s->want != NULL && strstr(reason ? reason : "", s->want) == NULL)) {
        s->wrong++;
        snprintf(s->reason, sizeof(s->reason), "ticket %llu: result %d: %s",
                 (unsigned long long)ticket, (int)res, reason != NULL ? reason : "");
    }
    if (reason != NULL && strstr(reason, KIT_CANARY) != NULL) {
        s->canary++;
    }
    pthread_mutex_unlock(&s->mu);
}

static void state_init(struct kit_state *s, int n, enum fy_sink_result expect)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->n = n;
    s->done = calloc((size_t)n, 1);
    s->expect = expect;
}

static void state_free(struct kit_state *s)
{
    pthread_mutex_destroy(&s->mu);
    free(s->done);
}

static int state_get(struct kit_state *s, int *completed, int ticket)
{
    int d;

    pthread_mutex_lock(&s->mu);
    if (completed != NULL) {
        *completed = s->completed;
    }
    d = ticket >= 0 && ticket < s->n ? s->done[ticket] : 0;
    pthread_mutex_unlock(&s->mu);
    return d;
}

/* "name: kit\ntype: <plugin>\n" + yaml + extra, parsed as kit.yaml. */
static struct fy_node *kit_conf(const struct fy_sink_kit *k, const char *extra, int *extra_line,
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

static struct fy_sink *kit_sink(const struct fy_sink_kit *k, const char *extra,
                                struct kit_state *s, struct fy_node **root, struct fy_err *err)
{
    const struct fy_sink_plugin *p = fy_sink_plugin_find(k->plugin);

    *root = kit_conf(k, extra, NULL, err);
    if (p == NULL || *root == NULL) {
        return NULL;
    }
    return fy_sink_create(p, "kit", *root, kit_skip, 0, on_complete, s, err);
}

static void kit_record(int t, struct fy_record *rec, char *id, char *key, char *body, size_t size)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(id, 40, "kit-%028d", t);
    snprintf(key, 32, "kit-key-%d", t % 10);
    rec->id = id;
    rec->key = key;
    rec->rec_type = "io.test.kit";
    rec->event_type = "up";
    rec->body = body;
    rec->body_len = (size_t)snprintf(body, size,
                                     "{\"event_type\":\"up\",\"id\":\"%s\",\"obj\":{\"n\":%d},"
                                     "\"recType\":\"io.test.kit\",\"source\":\"kit\"}", id, t);
    rec->created_ms = 0;
}

/* Tell and count a failed check. */
#define KIT_CHECK(cond, fails, ...)                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "\nsink kit [%s]: %s: ", k->plugin, #cond);                         \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                \
            (fails)++;                                                                          \
        }                                                                                       \
        CU_ASSERT_TRUE(cond);                                                                   \
    } while (0)

/* Submit tickets 0..n-1, keeping at most max_inflight outstanding; on FY_EAGAIN check no
 * completion came for it, poll, resubmit. */
static int submit_all(const struct fy_sink_kit *k, struct fy_sink *snk, struct kit_state *s,
                      int timeout, int *eagains)
{
    char id[40], key[32], body[256];
    struct fy_record rec;
    long long t0, dt, deadline = fy_clock_mono_ms() + timeout;
    int t, rc, fails = 0;

    for (t = 0; t < s->n; t++) {
        int completed = 0;
        /* like the host (deliver.c): never more than max_inflight outstanding */
        while (state_get(s, &completed, -1),
               (size_t)(t - completed) >= fy_sink_max_inflight(snk) && fy_clock_mono_ms() < deadline) {
            fy_sink_poll(snk, 10);
        }
        kit_record(t, &rec, id, key, body, sizeof(body));
        for (;;) {
            t0 = fy_clock_mono_ms();
            rc = fy_sink_submit(snk, &rec, "", (uint64_t)t);
            dt = fy_clock_mono_ms() - t0;
            KIT_CHECK(dt <= timeout, fails, "submit of ticket %d blocked %lld ms", t, dt);
            if (rc != FY_EAGAIN) {
                break;
            }
            (*eagains)++;
            t0 = fy_clock_mono_ms();
            fy_sink_poll(snk, 10);
            dt = fy_clock_mono_ms() - t0;
            KIT_CHECK(dt <= timeout, fails, "poll(10) blocked %lld ms", dt);
            KIT_CHECK(state_get(s, NULL, t) == 0, fails,
                      "ticket %d completed although its submit returned FY_EAGAIN", t);
            if (fy_clock_mono_ms() > deadline) {
                KIT_CHECK(0, fails, "still FY_EAGAIN after %d ms (ticket %d)", timeout, t);
                return fails;
            }
        }
        KIT_CHECK(rc == FY_OK, fails, "submit of ticket %d returned %d", t, rc);
        if (rc != FY_OK) {
            return fails;
        }
    }
    return fails;
}

static int check_counts(const struct fy_sink_kit *k, struct kit_state *s, const char *phase)
{
    int fails = 0, completed, t, missing = 0, first = -1;

    state_get(s, &completed, -1);
    for (t = 0; t < s->n; t++) {
        if (state_get(s, NULL, t) == 0) {
            missing++;
            first = first < 0 ? t : first;
        }
    }
    KIT_CHECK(missing == 0, fails, "%s: %d of %d tickets never completed (first %d)", phase,
              missing, s->n, first);
    KIT_CHECK(s->dup == 0, fails, "%s: %d duplicate completions", phase, s->dup);
    KIT_CHECK(s->unknown == 0, fails, "%s: %d completions for tickets never submitted", phase,
              s->unknown);
    KIT_CHECK(s->wrong == 0, fails, "%s: %d completions not %d, last %s", phase, s->wrong,
              (int)s->expect, s->reason);
    return fails;
}

int fy_sink_kit_deliver(const struct fy_sink_kit *k)
{
    int n = k->records > 0 ? k->records : 200;
    int timeout = scaled(k->timeout_ms > 0 ? k->timeout_ms : 20000);
    struct fy_err err = {0};
    struct fy_node *root = NULL;
    struct fy_sink *snk;
    struct kit_state s;
    int fails = 0, eagains = 0, completed = 0, rc;
    long long t0, deadline, dt;

    /* (a) + (b): submit everything, polling only when full, then poll until all complete */
    state_init(&s, n, k->expect);
    s.want = k->reason;
    snk = kit_sink(k, NULL, &s, &root, &err);
    KIT_CHECK(snk != NULL, fails, "create: %s", err.msg);
    if (snk != NULL) {
        fails += submit_all(k, snk, &s, timeout, &eagains);
        deadline = fy_clock_mono_ms() + timeout;
        while (state_get(&s, &completed, -1), completed < n && fy_clock_mono_ms() < deadline) {
            t0 = fy_clock_mono_ms();
            fy_sink_poll(snk, 20);
            dt = fy_clock_mono_ms() - t0;
            KIT_CHECK(dt <= timeout, fails, "poll(20) blocked %lld ms", dt);
        }
        fails += check_counts(k, &s, "submit+poll");
        fprintf(stderr, "\n  sink kit [%s]: %d records, %d FY_EAGAIN (max_inflight %zu)%s\n",
                k->plugin, n, eagains, fy_sink_max_inflight(snk),
                eagains == 0 ? ": the sink never pushed back (fine: FY_EAGAIN is optional)"
                             : "");
        t0 = fy_clock_mono_ms();
        fy_sink_destroy(snk);
        dt = fy_clock_mono_ms() - t0;
        KIT_CHECK(dt <= timeout, fails, "destroy blocked %lld ms", dt);
    }
    fy_conf_free(root);
    root = NULL;
    state_free(&s);

    /* (c): a burst, then drain at once (the worker on stop): drain completes every one */
    state_init(&s, n, k->expect);
    s.want = k->reason;
    snk = kit_sink(k, NULL, &s, &root, &err);
    KIT_CHECK(snk != NULL, fails, "create: %s", err.msg);
    if (snk != NULL) {
        fails += submit_all(k, snk, &s, timeout, &eagains);
        t0 = fy_clock_mono_ms();
        rc = fy_sink_drain(snk, timeout);
        dt = fy_clock_mono_ms() - t0;
        KIT_CHECK(rc == FY_OK, fails, "drain(%d) returned %d", timeout, rc);
        KIT_CHECK(dt <= timeout + 1000, fails, "drain(%d) took %lld ms", timeout, dt);
        fails += check_counts(k, &s, "drain");
        fy_sink_destroy(snk);
        KIT_CHECK(s.dup == 0 && s.unknown == 0, fails, "completions after destroy");
    }
    fy_conf_free(root);
    state_free(&s);
    return fails;
}

/* fy_sink_create(check_only) on yaml + extra must fail at kit.yaml:<extra's line>:<col> with
 * key in the message. */
static int expect_option_error(const struct fy_sink_kit *k, const char *extra, const char *key,
                               int check_only, char *msg, size_t msg_size)
{
    struct fy_err err = {0};
    struct kit_state s;
    struct fy_node *root;
    struct fy_sink *snk = NULL;
    char prefix[64];
    int line = 0, fails = 0, col = 0;

    state_init(&s, 1, FY_SINK_OK);
    root = kit_conf(k, extra, &line, &err);
    if (root != NULL) {
        snk = fy_sink_create(fy_sink_plugin_find(k->plugin), "kit", root, kit_skip, check_only,
                             on_complete, &s, &err);
    }
    KIT_CHECK(snk == NULL, fails, "'%s' accepted", extra);
    snprintf(prefix, sizeof(prefix), "kit.yaml:%d:", line);
    KIT_CHECK(strncmp(err.msg, prefix, strlen(prefix)) == 0 &&
                  sscanf(err.msg + strlen(prefix), "%d: ", &col) == 1 && col > 0,
              fails, "'%s': expected \"%sCOL: ...\", got \"%s\"", extra, prefix, err.msg);
    KIT_CHECK(strstr(err.msg, key) != NULL, fails, "'%s': the message does not name %s: %s",
              extra, key, err.msg);
    if (msg != NULL) {
        snprintf(msg, msg_size, "%s", err.msg);
    }
    fy_sink_destroy(snk);
    fy_conf_free(root);
    state_free(&s);
    return fails;
}

int fy_sink_kit_option_errors(const struct fy_sink_kit *k)
{
    const struct fy_sink_plugin *p = fy_sink_plugin_find(k->plugin);
    const struct fy_opt *o;
    char extra[256];
    int fails = 0, did_int = 0, did_bool = 0, did_enum = 0;

    KIT_CHECK(p != NULL, fails, "no sink plugin named %s", k->plugin);
    if (p == NULL) {
        return fails;
    }
    fails += expect_option_error(k, KIT_BAD_KEY ": 1\n", KIT_BAD_KEY, 1, NULL, 0);
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
            fails += expect_option_error(k, extra, o->name, 1, NULL, 0);
        }
    }
    return fails;
}

static int file_contains(FILE *f, const char *text, char *line, size_t size)
{
    rewind(f);
    while (fgets(line, (int)size, f) != NULL) {
        if (strstr(line, text) != NULL) {
            return 1;
        }
    }
    return 0;
}

int fy_sink_kit_secrets(const struct fy_sink_kit *k)
{
    const struct fy_sink_plugin *p = fy_sink_plugin_find(k->plugin);
    enum fy_log_level level = fy_log_level_get();
    const struct fy_opt *o, *bad_int = NULL;
    int fails = 0, secrets = 0, completed = 0;
    char extra[512], msg[512], line[4096];
    FILE *log = tmpfile();

    KIT_CHECK(p != NULL && log != NULL, fails, "no plugin %s or no temp file", k->plugin);
    if (p == NULL || log == NULL) {
        return fails;
    }
    for (o = p->opts; o->name != NULL; o++) {
        if (o->type == FY_OPT_T_INT && bad_int == NULL &&
            (k->yaml == NULL || strstr(k->yaml, o->name) == NULL)) {
            bad_int = o;
        }
    }
    fy_log_setup(FY_LOG_DEBUG, log);
    for (o = p->opts; o->name != NULL; o++) {
        struct fy_err err = {0};
        struct fy_node *root = NULL;
        struct fy_sink *snk;
        struct kit_state s;
        long long deadline;
        int t;

        if (o->type != FY_OPT_T_STR || !(o->flags & FY_SECRET)) {
            continue;
        }
        secrets++;
        /* an option error next to the secret */
        snprintf(extra, sizeof(extra), "%s: %s\n" KIT_BAD_KEY ": 1\n", o->name, KIT_CANARY);
        fails += expect_option_error(k, extra, KIT_BAD_KEY, 1, msg, sizeof(msg));
        KIT_CHECK(strstr(msg, KIT_CANARY) == NULL, fails, "%s leaked in: %s", o->name, msg);
        if (bad_int != NULL) {
            snprintf(extra, sizeof(extra), "%s: %s\n%s: not-a-number\n", o->name, KIT_CANARY,
                     bad_int->name);
            fails += expect_option_error(k, extra, bad_int->name, 1, msg, sizeof(msg));
            KIT_CHECK(strstr(msg, KIT_CANARY) == NULL, fails, "%s leaked in: %s", o->name, msg);
        }
        /* a failing delivery run with the secret set */
        snprintf(extra, sizeof(extra), "%s: %s\n", o->name, KIT_CANARY);
        state_init(&s, 5, FY_SINK_RETRY);
        snk = kit_sink(k, extra, &s, &root, &err);
        KIT_CHECK(strstr(err.msg, KIT_CANARY) == NULL, fails, "%s leaked in: %s", o->name,
                  err.msg);
        for (t = 0; snk != NULL && t < s.n; t++) {
            char id[40], key[32], body[256];
            struct fy_record rec;
            kit_record(t, &rec, id, key, body, sizeof(body));
            while (fy_sink_submit(snk, &rec, "", (uint64_t)t) == FY_EAGAIN) {
                fy_sink_poll(snk, 10);
            }
        }
        deadline = fy_clock_mono_ms() + scaled(k->timeout_ms > 0 ? k->timeout_ms : 20000);
        while (snk != NULL && (state_get(&s, &completed, -1), completed < s.n) &&
               fy_clock_mono_ms() < deadline) {
            fy_sink_poll(snk, 20);
        }
        if (snk != NULL) {
            fy_sink_drain(snk, 1000);
        }
        fy_sink_destroy(snk);
        fy_conf_free(root);
        KIT_CHECK(s.canary == 0, fails, "%s leaked in %d completion reason(s)", o->name,
                  s.canary);
        state_free(&s);
    }
    fflush(log);
    fy_log_setup(level, NULL);
    KIT_CHECK(!file_contains(log, KIT_CANARY, line, sizeof(line)), fails,
              "a secret leaked in a log line: %s", line);
    fprintf(stderr, "\n  sink kit [%s]: %d secret option(s) checked\n", k->plugin, secrets);
    fclose(log);
    return fails;
}
