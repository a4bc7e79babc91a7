/* deliver.c - per-sink delivery worker: journal -> sink, with the core's retry policy.
 *
 * DESIGN: see deliver.h. One thread per sink. The in-flight window is a ring of entries in
 * submission order; ticket t lives at ring[t % cap]. Completions (any thread) set an entry's
 * outcome under d->mu; only the worker pops entries, advances done_seq and commits the cursor.
 * The cursor is committed at most every COMMIT_MS or COMMIT_RECORDS, and at stop.
 *
 * A RETRY at the head rewinds the reader to it (go-back-N: the cursor only ever moves over a
 * contiguous prefix of final records). Records behind the head that the sink had already
 * completed OK are remembered (ok_ahead) and not submitted again when the replay reaches
 * them: they become OK entries at once, so a failed request costs a resend of what failed
 * and of what had no outcome yet, not of everything behind it. */
#include "bridge/deliver.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/record.h"
#include "bridge/deadletter.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMMIT_MS 50
#define COMMIT_RECORDS 250

enum entry_state { E_PENDING = 0, E_OK, E_RETRY, E_REJECT, E_SKIP };

struct entry {
    uint64_t seq;
    void *data;          /* encoded record from the journal (owned) */
    size_t len;
    enum entry_state state;
    char *reason;        /* from the sink (owned), may be NULL */
};

struct fy_deliver {
    const struct fy_sink_conf *conf;   /* borrowed from the config, outlives d */
    struct fy_sink *snk;
    struct fy_journal *j;
    struct fy_journal *dlq;
    struct fy_journal_reader *rd;
    char tag[160];

    pthread_t thread;
    int running;
    atomic_int stopping;
    int drain_ms;

    pthread_mutex_t mu;                /* guards ring[].state/reason */
    struct entry *ring;
    size_t cap;
    uint64_t base;                     /* ticket of the oldest entry in the window */
    size_t n;                          /* entries in the window */
    size_t n_retry;                    /* entries in the window in state E_RETRY */

    /* a record read from the journal but refused by submit (FY_EAGAIN) */
    void *held;
    size_t held_len;
    uint64_t held_seq;

    uint64_t *ok_ahead;                /* seqs behind a failed head already OK (ascending) */
    size_t n_ok_ahead, ok_pos;         /* how many, and the next one the replay meets */

    uint64_t done_seq;                 /* every seq below this is final for this sink */
    uint64_t committed;
    int64_t committed_ms;

    uint64_t head_seq;                 /* record whose attempts are being counted */
    int head_attempts;
    int64_t head_first_ms;
    uint32_t rng;

    /* endpoint health (written by the worker, read by anyone under hmu) */
    pthread_mutex_t hmu;
    struct fy_health_info health;
    int probing;                       /* disabled: one record at a time */
    int64_t down_since_ms;             /* wall clock of the first failure of this run */

    struct fy_sink_stats stats;
};

/* ==== policy helpers ==== */

int64_t fy_deliver_backoff_ms(const struct fy_retry_conf *rc, int attempt, uint32_t r)
{
    int64_t base = rc->backoff_base_ms > 0 ? rc->backoff_base_ms : 100;
    int64_t cap = rc->backoff_max_ms > 0 ? rc->backoff_max_ms : 30000;
    int64_t ceil = base;
    int64_t floor;
    int i;

    for (i = 1; i < attempt && ceil < cap; i++) {
        ceil *= 2;
    }
    if (ceil > cap) {
        ceil = cap;
    }
    /* Full jitter (AWS architecture blog) with a floor of base/2, so that a remote that fails
     * fast is never retried in a tight loop. */
    floor = base / 2 < ceil ? base / 2 : ceil;
    return floor + (int64_t)(r % (uint64_t)(ceil - floor + 1));
}

int64_t fy_deliver_retry_after(const char *reason)
{
    const char *p;
    char *end;
    long long v;

    if (reason == NULL || (p = strstr(reason, "retry_after_ms=")) == NULL) {
        return -1;
    }
    p += strlen("retry_after_ms=");
    v = strtoll(p, &end, 10);
    if (end == p || v < 0) {
        return -1;
    }
    return v > 3600000 ? 3600000 : v;
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* ==== health ==== */

const char *fy_health_name(enum fy_health h)
{
    return h == FY_HEALTH_DISABLED ? "disabled" : h == FY_HEALTH_FAILING ? "failing" : "healthy";
}

void fy_deliver_health(struct fy_deliver *d, struct fy_health_info *out)
{
    pthread_mutex_lock(&d->hmu);
    *out = d->health;
    pthread_mutex_unlock(&d->hmu);
}

/* A record got an answer from the remote (OK, or a permanent REJECT): the endpoint works. */
static void health_ok(struct fy_deliver *d)
{
    struct fy_health_info h;

    if (d->health.state == FY_HEALTH_HEALTHY) {
        return; /* only the worker writes: reading without the lock is safe here */
    }
    pthread_mutex_lock(&d->hmu);
    h = d->health;
    d->health.state = FY_HEALTH_HEALTHY;
    d->health.since_ms = fy_clock_wall_ms();
    d->health.failures = 0;
    d->health.next_attempt_ms = 0;
    pthread_mutex_unlock(&d->hmu);
    d->probing = 0;
    fy_log_info(d->tag, "healthy again after %d failed attempt(s) over %" PRId64 " s%s",
                h.failures, (fy_clock_wall_ms() - d->down_since_ms) / 1000,
                h.state == FY_HEALTH_DISABLED ? " (was disabled; probe succeeded)" : "");
}

/* An attempt failed (RETRY); delay is the planned wait. Counts consecutive failures across
 * records (a record expired by max_attempts does not make the endpoint healthy). Returns the
 * wait to use: a disabled sink waits at least probe_interval_ms. */
static int64_t health_failed(struct fy_deliver *d, const char *reason, int64_t delay)
{
    const struct fy_health_conf *hc = &d->conf->health;
    enum fy_health was = d->health.state;
    enum fy_health now = FY_HEALTH_FAILING;
    int failures = d->health.failures + 1;
    int told = strncmp(reason, FY_SINK_REASON_DISABLE, strlen(FY_SINK_REASON_DISABLE)) == 0;

    if (told) {
        reason += strlen(FY_SINK_REASON_DISABLE);
    }

    if (told || (hc->disable_after > 0 && failures >= hc->disable_after)) {
        now = FY_HEALTH_DISABLED;
        if (delay < hc->probe_interval_ms) {
            delay = hc->probe_interval_ms;
        }
    }
    if (was == FY_HEALTH_HEALTHY) {
        d->down_since_ms = fy_clock_wall_ms();
    }
    pthread_mutex_lock(&d->hmu);
    if (now != was) {
        d->health.since_ms = fy_clock_wall_ms();
    }
    d->health.state = now;
    d->health.failures = failures;
    d->health.next_attempt_ms = fy_clock_wall_ms() + delay;
    snprintf(d->health.last_error, sizeof(d->health.last_error), "%s", reason);
    pthread_mutex_unlock(&d->hmu);
    d->probing = now == FY_HEALTH_DISABLED;
    if (now == FY_HEALTH_DISABLED && was != FY_HEALTH_DISABLED) {
        fy_log_error(d->tag, "disabled %s %d consecutive failed attempt(s): sending only one "
                     "probe every %" PRId64 " ms until it succeeds; records wait in the journal "
                     "(last error: %s)", told ? "by the remote after" : "after", failures, delay,
                     reason);
    } else if (now == FY_HEALTH_FAILING && was == FY_HEALTH_HEALTHY) {
        fy_log_warn(d->tag, "failing: %s", reason);
    }
    return delay;
}

/* ==== completions ==== */

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct fy_deliver *d = arg;
    struct entry *e;

    pthread_mutex_lock(&d->mu);
    if (ticket >= d->base && ticket < d->base + d->n) {
        e = &d->ring[ticket % d->cap];
        e->state = res == FY_SINK_OK ? E_OK : res == FY_SINK_RETRY ? E_RETRY : E_REJECT;
        d->n_retry += e->state == E_RETRY;
        free(e->reason);
        e->reason = reason != NULL ? strdup(reason) : NULL;
    } else {
        fy_log_warn(d->tag, "completion for unknown ticket %" PRIu64 " ignored", ticket);
    }
    pthread_mutex_unlock(&d->mu);
}

/* ==== create / destroy ==== */

struct fy_deliver *fy_deliver_create(const struct fy_sink_conf *sc, struct fy_journal *j,
                                     struct fy_journal *dlq, struct fy_err *err)
{
    const char *const *skip = fy_config_sink_common_keys;
    const struct fy_sink_plugin *plugin;
    struct fy_deliver *d;

    plugin = fy_sink_plugin_find(sc->inst.type);
    if (plugin == NULL) {
        fy_err_set(err, FY_ECONFIG, "sink '%s': unknown type '%s'", sc->inst.name, sc->inst.type);
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    d->conf = sc;
    d->j = j;
    d->dlq = dlq;
    pthread_mutex_init(&d->mu, NULL);
    pthread_mutex_init(&d->hmu, NULL);
    d->health.since_ms = fy_clock_wall_ms();
    d->rng = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)d;
    if (d->rng == 0) {
        d->rng = 1;
    }
    snprintf(d->tag, sizeof(d->tag), "sink:%s:%s", sc->inst.type, sc->inst.name);
    d->snk = fy_sink_create(plugin, sc->inst.name, sc->inst.node, skip, 0, on_complete, d, err);
    if (d->snk == NULL) {
        goto fail;
    }
    d->cap = fy_sink_max_inflight(d->snk);
    d->ring = calloc(d->cap, sizeof(*d->ring));
    d->ok_ahead = calloc(d->cap, sizeof(*d->ok_ahead));
    if (d->ring == NULL || d->ok_ahead == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    d->rd = fy_journal_reader_open(j, sc->inst.name, err);
    if (d->rd == NULL) {
        goto fail;
    }
    d->done_seq = fy_journal_reader_committed(d->rd);
    d->committed = d->done_seq;
    atomic_store(&d->stats.committed_seq, d->committed);
    return d;
fail:
    fy_deliver_destroy(d);
    return NULL;
}

static void window_clear(struct fy_deliver *d)
{
    size_t i;

    pthread_mutex_lock(&d->mu);
    for (i = 0; i < d->n; i++) {
        struct entry *e = &d->ring[(d->base + i) % d->cap];
        free(e->data);
        free(e->reason);
        memset(e, 0, sizeof(*e));
    }
    d->base += d->n;
    d->n = 0;
    d->n_retry = 0;
    pthread_mutex_unlock(&d->mu);
    free(d->held);
    d->held = NULL;
}

void fy_deliver_destroy(struct fy_deliver *d)
{
    if (d == NULL) {
        return;
    }
    fy_deliver_stop(d, 0);
    if (d->ring != NULL) {
        window_clear(d);
    }
    fy_sink_destroy(d->snk);
    fy_journal_reader_close(d->rd);
    free(d->ring);
    free(d->ok_ahead);
    pthread_mutex_destroy(&d->mu);
    pthread_mutex_destroy(&d->hmu);
    free(d);
}

/* ==== the worker ==== */

static void commit(struct fy_deliver *d, int force)
{
    struct fy_err err = {0};
    int64_t now;

    if (d->done_seq <= d->committed) {
        return;
    }
    now = fy_clock_mono_ms();
    if (!force && now - d->committed_ms < COMMIT_MS && d->done_seq - d->committed < COMMIT_RECORDS) {
        return;
    }
    if (fy_journal_reader_commit(d->rd, d->done_seq, &err) != FY_OK) {
        fy_log_error(d->tag, "cursor commit failed (records will be redelivered): %s", err.msg);
        return;
    }
    d->committed = d->done_seq;
    d->committed_ms = now;
    atomic_store(&d->stats.committed_seq, d->committed);
}

/* Dead-letter the record of entry e. Returns FY_OK when the dead letter is durable. */
static int dead_letter(struct fy_deliver *d, const void *data, size_t len, const char *reason,
                       int attempts)
{
    struct fy_dlq_entry de = {0};
    struct fy_err err = {0};
    int64_t now = fy_clock_wall_ms();
    int rc;

    de.stage = "delivery";
    de.reason = reason != NULL ? reason : "rejected";
    de.sink = d->conf->inst.name;
    de.record = data;
    de.record_len = len;
    de.attempts = attempts;
    de.first_attempt_ms = d->head_first_ms ? d->head_first_ms : now;
    de.last_attempt_ms = now;
    rc = fy_dlq_append(d->dlq, &de, &err);
    if (rc != FY_OK) {
        fy_log_error(d->tag, "cannot write dead letter, record stays queued: %s", err.msg);
    } else {
        fy_log_warn(d->tag, "record dead-lettered after %d attempt(s): %s", attempts, de.reason);
    }
    return rc;
}

/* Pop every final entry at the head of the window. Returns 1 if some entry asks for a retry. */
static int settle(struct fy_deliver *d)
{
    int retry = 0;

    for (;;) {
        struct entry *e;
        struct entry done;

        pthread_mutex_lock(&d->mu);
        if (d->n == 0) {
            pthread_mutex_unlock(&d->mu);
            break;
        }
        e = &d->ring[d->base % d->cap];
        if (e->state == E_PENDING || e->state == E_RETRY) {
            pthread_mutex_unlock(&d->mu);
            break;
        }
        done = *e;
        memset(e, 0, sizeof(*e));
        d->base++;
        d->n--;
        pthread_mutex_unlock(&d->mu);

        if (done.state == E_REJECT) {
            FY_STAT_INC(d->stats.rejected);
            if (dead_letter(d, done.data, done.len, done.reason, d->head_attempts + 1) != FY_OK) {
                /* Keep it: put the window back into retry so it is tried again later. */
                pthread_mutex_lock(&d->mu);
                d->base--;
                d->n++;
                done.state = E_RETRY;
                d->ring[d->base % d->cap] = done;
                d->n_retry++;
                pthread_mutex_unlock(&d->mu);
                return 1;
            }
            health_ok(d);
        } else if (done.state == E_OK) {
            FY_STAT_INC(d->stats.delivered);
            health_ok(d);
        }
        if (done.seq == d->head_seq) {
            d->head_attempts = 0;
            d->head_first_ms = 0;
        }
        d->done_seq = done.seq + 1;
        free(done.data);
        free(done.reason);
    }
    pthread_mutex_lock(&d->mu);
    retry = d->n_retry > 0; /* RETRY entries are never popped above, only cleared */
    pthread_mutex_unlock(&d->mu);
    return retry;
}

static int all_completed(struct fy_deliver *d)
{
    size_t i;
    int done = 1;

    pthread_mutex_lock(&d->mu);
    for (i = 0; i < d->n; i++) {
        if (d->ring[(d->base + i) % d->cap].state == E_PENDING) {
            done = 0;
            break;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return done;
}

/* Sleep up to ms, waking early when the worker is asked to stop. */
static void nap(struct fy_deliver *d, int64_t ms)
{
    while (ms > 0 && !atomic_load(&d->stopping)) {
        int64_t step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* The head entry failed with RETRY and nothing is in flight: count the attempt, give up or
 * back off, then rewind the reader to the head record. */
static void retry_round(struct fy_deliver *d)
{
    const struct fy_retry_conf *rc = &d->conf->retry;
    struct entry *e;
    char reason[512];
    uint64_t seq;
    int64_t now = fy_clock_wall_ms();
    int64_t delay;
    int64_t after;
    size_t resent, i;

    pthread_mutex_lock(&d->mu);
    e = &d->ring[d->base % d->cap];
    seq = e->seq;
    snprintf(reason, sizeof(reason), "%s", e->reason != NULL ? e->reason : "unknown failure");
    d->n_ok_ahead = 0;
    d->ok_pos = 0;
    for (i = 1; i < d->n; i++) {
        const struct entry *b = &d->ring[(d->base + i) % d->cap];
        if (b->state == E_OK) {
            d->ok_ahead[d->n_ok_ahead++] = b->seq;
        }
    }
    resent = d->n - 1 - d->n_ok_ahead;
    pthread_mutex_unlock(&d->mu);

    if (seq != d->head_seq || d->head_attempts == 0) {
        d->head_seq = seq;
        d->head_attempts = 0;
        d->head_first_ms = now;
    }
    d->head_attempts++;
    FY_STAT_INC(d->stats.retries);

    if ((rc->max_attempts > 0 && d->head_attempts >= rc->max_attempts) ||
        (rc->max_age_ms > 0 && now - d->head_first_ms >= rc->max_age_ms)) {
        char why[700];
        snprintf(why, sizeof(why), "expired after %d attempt(s) over %" PRId64 " ms: %s",
                 d->head_attempts, now - d->head_first_ms, reason);
        if (dead_letter(d, e->data, e->len, why, d->head_attempts) == FY_OK) {
            FY_STAT_INC(d->stats.expired);
            d->done_seq = seq + 1;
            d->head_attempts = 0;
            d->head_first_ms = 0;
            seq++;
        }
        delay = health_failed(d, reason, 0);
    } else {
        delay = fy_deliver_backoff_ms(rc, d->head_attempts, xorshift(&d->rng));
        after = fy_deliver_retry_after(reason);
        if (after > delay) {
            delay = after;
        }
        delay = health_failed(d, reason, delay);
        fy_log_warn(d->tag, "delivery failed (attempt %d), %s in %" PRId64 " ms: %s",
                    d->head_attempts, d->probing ? "next probe" : "retrying", delay, reason);
    }
    FY_STAT_ADD(d->stats.replayed, resent);
    window_clear(d);
    commit(d, 0);
    fy_journal_reader_seek(d->rd, seq);
    nap(d, delay);
}

/* Submit records while the window has room. Returns the number submitted. */
static size_t feed(struct fy_deliver *d)
{
    struct fy_record rec;
    struct fy_err err = {0};
    size_t fed = 0;

    while (d->n < (d->probing ? 1 : d->cap) && !atomic_load(&d->stopping)) {
        uint64_t seq;
        void *data;
        size_t len;
        const char *dest;
        uint64_t ticket;
        int rc;

        if (d->held != NULL) {
            data = d->held;
            len = d->held_len;
            seq = d->held_seq;
            d->held = NULL;
        } else {
            rc = fy_journal_reader_next(d->rd, &seq, &data, &len, d->n == 0 ? 100 : 0, &err);
            if (rc == FY_EAGAIN) {
                break;
            }
            if (rc != FY_OK) {
                fy_log_error(d->tag, "journal read failed: %s", err.msg);
                nap(d, 1000);
                break;
            }
        }
        if (fy_record_decode(data, len, &rec, &err) != FY_OK) {
            fy_log_error(d->tag, "undecodable journal record %" PRIu64 ": %s", seq, err.msg);
            dest = NULL;
            if (dead_letter(d, data, len, err.msg, 0) != FY_OK) {
                d->held = data;
                d->held_len = len;
                d->held_seq = seq;
                nap(d, 1000);
                break;
            }
        } else {
            dest = fy_record_dest_for(&rec, d->conf->inst.name);
        }

        while (d->ok_pos < d->n_ok_ahead && d->ok_ahead[d->ok_pos] < seq) {
            d->ok_pos++;
        }
        if (dest != NULL && d->ok_pos < d->n_ok_ahead && d->ok_ahead[d->ok_pos] == seq) {
            /* a replay reached a record the sink already took: OK without sending it again */
            d->ok_pos++;
            pthread_mutex_lock(&d->mu);
            ticket = d->base + d->n;
            d->ring[ticket % d->cap] = (struct entry){seq, data, len, E_OK, NULL};
            d->n++;
            pthread_mutex_unlock(&d->mu);
            FY_STAT_INC(d->stats.not_resent);
            continue;
        }
        pthread_mutex_lock(&d->mu);
        ticket = d->base + d->n;
        d->ring[ticket % d->cap] = (struct entry){seq, data, len, dest ? E_PENDING : E_SKIP, NULL};
        d->n++;
        pthread_mutex_unlock(&d->mu);
        if (dest == NULL) {
            continue; /* not for this sink: final at once */
        }
        rc = fy_sink_submit(d->snk, &rec, dest, ticket);
        if (rc == FY_OK) {
            fed++;
            continue;
        }
        /* Refused (full): take the entry back and hold the record for the next round. */
        pthread_mutex_lock(&d->mu);
        d->n--;
        memset(&d->ring[ticket % d->cap], 0, sizeof(struct entry));
        pthread_mutex_unlock(&d->mu);
        d->held = data;
        d->held_len = len;
        d->held_seq = seq;
        break;
    }
    return fed;
}

static void *worker(void *arg)
{
    struct fy_deliver *d = arg;
    int64_t deadline;

    fy_log_info(d->tag, "delivering from journal seq %" PRIu64, d->done_seq);
    while (!atomic_load(&d->stopping)) {
        int retry;

        feed(d);
        fy_sink_poll(d->snk, d->n > 0 ? 5 : (d->held != NULL ? 20 : 0));
        retry = settle(d);
        if (retry && all_completed(d)) {
            settle(d);
            if (d->n > 0) {
                retry_round(d);
            }
        } else if (retry) {
            /* stop feeding until everything in flight has an outcome */
            while (!all_completed(d) && !atomic_load(&d->stopping)) {
                fy_sink_poll(d->snk, 10);
            }
        }
        commit(d, 0);
    }
    /* Stopping: let in-flight records finish within the drain budget. */
    deadline = fy_clock_deadline(d->drain_ms);
    while (!all_completed(d) && fy_clock_mono_ms() < deadline) {
        fy_sink_poll(d->snk, 10);
    }
    settle(d);
    commit(d, 1);
    fy_log_info(d->tag, "stopped: %" PRIu64 " delivered, %" PRIu64 " retries, %" PRIu64
                " rejected, %" PRIu64 " expired; cursor at %" PRIu64,
                FY_STAT_GET(d->stats.delivered), FY_STAT_GET(d->stats.retries),
                FY_STAT_GET(d->stats.rejected), FY_STAT_GET(d->stats.expired), d->committed);
    return NULL;
}

int fy_deliver_start(struct fy_deliver *d, struct fy_err *err)
{
    if (d->running) {
        return FY_OK;
    }
    atomic_store(&d->stopping, 0);
    if (pthread_create(&d->thread, NULL, worker, d) != 0) {
        return fy_err_set(err, FY_EIO, "sink '%s': cannot start worker thread",
                          d->conf->inst.name);
    }
    d->running = 1;
    return FY_OK;
}

void fy_deliver_stop(struct fy_deliver *d, int drain_ms)
{
    if (d == NULL || !d->running) {
        return;
    }
    d->drain_ms = drain_ms;
    atomic_store(&d->stopping, 1);
    pthread_join(d->thread, NULL);
    d->running = 0;
}

struct fy_sink_stats *fy_deliver_stats(struct fy_deliver *d)
{
    return &d->stats;
}

const char *fy_deliver_name(const struct fy_deliver *d)
{
    return d->conf->inst.name;
}

const char *fy_deliver_type(const struct fy_deliver *d)
{
    return d->conf->inst.type;
}

uint64_t fy_deliver_lag(struct fy_deliver *d)
{
    struct fy_journal_stat st;
    uint64_t c = FY_STAT_GET(d->stats.committed_seq);

    fy_journal_stat(d->j, &st);
    return st.next_seq > c ? st.next_seq - c : 0;
}

int fy_deliver_over_quota(struct fy_deliver *d)
{
    return d->conf->max_lag_bytes > 0 &&
           fy_journal_reader_lag_bytes(d->rd) > (uint64_t)d->conf->max_lag_bytes;
}
