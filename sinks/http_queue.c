/* http_queue.c - batches, the request queue and per-key lanes of HTTP sinks (see
 * http_queue.h). */
#include "sinks/http_queue.h"

#include "core/clock.h"
#include "core/http/http.h"
#include "core/http/multi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_OPEN 64      /* open batches (targets) at once; the oldest closes beyond */
#define LANE_BUCKETS 1024
#define HELD_BACK "held back, not sent: an earlier record of the same key is being retried"

/* A record that waits for its key's earlier record to become final. */
struct wait {
    struct fy_hq_item it;
    char *target;
    void *tdata;              /* the sink's data for target (rendered URL...), or NULL: a
                               * batch opened for this record when it leaves the lane gets it */
    struct wait *next;
};

struct lane {
    char *key;
    int busy;                 /* a record of this key is in a batch */
    struct fy_hq_batch *in;   /* the open batch that record went into (may have closed) */
    int blocked;              /* a record of this key went back to the core as RETRY: later
                               * ones go back too, unsent, until nothing is pending */
    char *why;                /* while blocked: HELD_BACK and that record's reason */
    struct wait *head, *tail; /* later records of this key, in order */
    struct lane *next;        /* hash chain */
};

struct fy_hq {
    struct fy_hq_conf c;
    struct fy_hq_ops ops;
    void *arg;
    struct fy_sink *snk;
    struct fy_http_multi *multi;
    struct fy_hq_batch *open;     /* collecting, one per target */
    size_t n_open;
    struct fy_hq_batch *queue, *queue_tail; /* closed, waiting for a slot, FIFO */
    size_t pending;               /* accepted, not completed */
    size_t waiting;               /* of which in lanes */
    struct lane *lanes[LANE_BUCKETS];
    struct fy_hq_batch *settling; /* the batch done() is looking at */
    int given_back;               /* done() handed settling back to the queue */
    int stuck;                    /* a lane's next record could not be placed (ENOMEM) */
    int released;                 /* done() moved records out of lanes into open batches */
    size_t blocked;               /* lanes blocked after a RETRY */
};

/* ==== items and batches ==== */

static void item_free(struct fy_hq_item *it)
{
    free(it->body);
    free(it->key);
    free(it->attr);
    free(it->rec_type);
    free(it->event_type);
    memset(it, 0, sizeof(*it));
}

static void batch_free(struct fy_hq *q, struct fy_hq_batch *b)
{
    size_t i;

    if (b == NULL) {
        return;
    }
    for (i = 0; i < b->n; i++) {
        item_free(&b->items[i]);
    }
    free(b->items);
    if (b->tdata != NULL && q->ops.tdata_free != NULL) {
        q->ops.tdata_free(b->tdata);
    }
    free(b->target);
    curl_slist_free_all(b->headers);
    fy_buf_free(&b->req);
    fy_buf_free(&b->resp);
    free(b->cred);
    free(b);
}

/* A new empty batch for target (copied); tdata moves in. NULL on ENOMEM. */
static struct fy_hq_batch *batch_new(const char *target, size_t cap)
{
    struct fy_hq_batch *b = calloc(1, sizeof(*b));

    if (b == NULL) {
        return NULL;
    }
    b->target = strdup(target != NULL ? target : "");
    b->items = calloc(cap > 0 ? cap : 1, sizeof(*b->items));
    if (b->target == NULL || b->items == NULL) {
        free(b->target);
        free(b->items);
        free(b);
        return NULL;
    }
    b->cap = cap > 0 ? cap : 1;
    b->since = fy_clock_mono_ms();
    return b;
}

/* A batch for b's target (tdata copied) with room for cap items. */
static struct fy_hq_batch *batch_like(struct fy_hq *q, const struct fy_hq_batch *b, size_t cap)
{
    struct fy_hq_batch *c = batch_new(b->target, cap);

    if (c != NULL && b->tdata != NULL) {
        c->tdata = q->ops.tdata_copy != NULL ? q->ops.tdata_copy(b->tdata) : NULL;
        if (c->tdata == NULL) {
            batch_free(q, c);
            return NULL;
        }
    }
    return c;
}

static void push(struct fy_hq *q, struct fy_hq_batch *b, int front)
{
    if (front) {
        b->next = q->queue;
        q->queue = b;
        if (q->queue_tail == NULL) {
            q->queue_tail = b;
        }
        return;
    }
    b->next = NULL;
    if (q->queue_tail != NULL) {
        q->queue_tail->next = b;
    } else {
        q->queue = b;
    }
    q->queue_tail = b;
}

/* Unlink open batch b and queue it (an empty one is freed). */
static void close_one(struct fy_hq *q, struct fy_hq_batch *b)
{
    struct fy_hq_batch **pp = &q->open;

    while (*pp != NULL && *pp != b) {
        pp = &(*pp)->next;
    }
    if (*pp == b) {
        *pp = b->next;
        q->n_open--;
    }
    if (b->n > 0) {
        push(q, b, 0);
    } else {
        batch_free(q, b);
    }
}

static void close_open(struct fy_hq *q, int all)
{
    int64_t now = fy_clock_mono_ms();
    struct fy_hq_batch *b, *next;

    for (b = q->open; b != NULL; b = next) {
        next = b->next;
        if (all || now - b->since >= q->c.max_wait_ms) {
            close_one(q, b);
        }
    }
}

/* ==== lanes ==== */

static void wait_free(struct fy_hq *q, struct wait *w)
{
    item_free(&w->it);
    if (w->tdata != NULL && q->ops.tdata_free != NULL) {
        q->ops.tdata_free(w->tdata);
    }
    free(w->target);
    free(w);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

/* The lane of key, created when create is set (NULL on ENOMEM or when absent). */
static struct lane *lane_get(struct fy_hq *q, const char *key, int create)
{
    struct lane **pp = &q->lanes[hash(key) % LANE_BUCKETS], *l;

    for (l = *pp; l != NULL; l = l->next) {
        if (strcmp(l->key, key) == 0) {
            return l;
        }
    }
    if (!create || (l = calloc(1, sizeof(*l))) == NULL || (l->key = strdup(key)) == NULL) {
        free(l);
        return NULL;
    }
    l->next = *pp;
    *pp = l;
    return l;
}

static void lane_drop(struct fy_hq *q, struct lane *l)
{
    struct lane **pp = &q->lanes[hash(l->key) % LANE_BUCKETS];

    while (*pp != l) {
        pp = &(*pp)->next;
    }
    *pp = l->next;
    free(l->key);
    free(l->why);
    free(l);
}

/* ==== accepting records ==== */

/* Put item it (moved) into the open batch of target, opening one when needed; force skips
 * the buffering limit (for records accepted earlier). FY_OK or FY_EAGAIN (it untouched). */
static int place(struct fy_hq *q, const char *target, void **tdata, struct fy_hq_item *it,
                 int force, struct fy_hq_batch **where)
{
    struct fy_hq_batch *b;
    const char *t = target != NULL ? target : "";

    for (b = q->open; b != NULL; b = b->next) {
        if (strcmp(b->target, t) == 0) {
            break;
        }
    }
    if (b != NULL && (b->n >= q->c.max_records || b->bytes + it->size > q->c.max_bytes)) {
        close_one(q, b);
        b = NULL;
    }
    if (b == NULL) {
        if (!force && fy_http_multi_full(q->multi) && q->queue != NULL) {
            return FY_EAGAIN; /* every slot busy and a batch waiting: enough buffered */
        }
        if (q->n_open >= MAX_OPEN) {
            struct fy_hq_batch *last = q->open;
            while (last->next != NULL) {
                last = last->next;
            }
            close_one(q, last); /* many targets at once: send the oldest (the list's tail) */
        }
        if ((b = batch_new(t, q->c.max_records)) == NULL) {
            return FY_EAGAIN;
        }
        b->tdata = tdata != NULL ? *tdata : NULL;
        if (tdata != NULL) {
            *tdata = NULL;
        }
        b->next = q->open;
        q->open = b;
        q->n_open++;
    }
    b->items[b->n++] = *it;
    b->bytes += it->size;
    b->lane_fed |= force;
    memset(it, 0, sizeof(*it));
    if (where != NULL) {
        *where = b;
    }
    if (b->n >= q->c.max_records) {
        close_one(q, b);
    }
    return FY_OK;
}

/* A record of l's key waits: if its earlier record is still in an open batch, that batch
 * holds one record of every key that comes now and cannot take this one: send it now rather
 * than after the linger (with few devices the linger would set the pace). */
static void close_if_saturated(struct fy_hq *q, struct lane *l)
{
    struct fy_hq_batch *b;

    for (b = q->open; b != NULL; b = b->next) {
        if (b == l->in) {
            close_one(q, b);
            break;
        }
    }
    l->in = NULL;
}

int fy_hq_add(struct fy_hq *q, const char *target, void *tdata, const struct fy_record *rec,
              const char *key, const char *attr, size_t size, uint64_t ticket)
{
    struct fy_hq_item it = {0};
    struct lane *l = NULL;
    void *td = tdata;
    int rc;

    if (size == 0) {
        size = rec->body_len;
    }
    if (size > q->c.max_bytes) {
        return FY_ETOOBIG;
    }
    if (q->c.lanes && key != NULL) {
        if ((l = lane_get(q, key, 1)) == NULL) {
            return FY_EAGAIN;
        }
    }
    it.ticket = ticket;
    it.len = rec->body_len;
    it.size = size;
    it.body = malloc(rec->body_len + 1);
    it.key = key != NULL ? strdup(key) : NULL;
    it.attr = attr != NULL ? strdup(attr) : NULL;
    it.rec_type = strdup(rec->rec_type != NULL ? rec->rec_type : "");
    it.event_type = strdup(rec->event_type != NULL ? rec->event_type : "");
    if (it.body == NULL || (key != NULL && it.key == NULL) || (attr != NULL && it.attr == NULL) ||
        it.rec_type == NULL || it.event_type == NULL) {
        item_free(&it);
        return FY_EAGAIN;
    }
    memcpy(it.body, rec->body, rec->body_len);
    it.body[rec->body_len] = '\0';
    snprintf(it.id, sizeof(it.id), "%s", rec->id != NULL ? rec->id : "");
    if (l != NULL && l->blocked) {
        /* an earlier record of this key is with the core for a retry, which sends this one
         * again after it: sending it now would pass it */
        item_free(&it);
        fy_sink_complete(q->snk, ticket, FY_SINK_RETRY, l->why != NULL ? l->why : HELD_BACK);
        return FY_OK;
    }
    if (l != NULL && l->busy) {
        struct wait *w = calloc(1, sizeof(*w));
        close_if_saturated(q, l);
        if (w == NULL || (w->target = strdup(target != NULL ? target : "")) == NULL) {
            free(w);
            item_free(&it);
            return FY_EAGAIN;
        }
        w->it = it;
        w->tdata = tdata; /* kept: the batch this record goes into may be a new one */
        if (l->tail != NULL) {
            l->tail->next = w;
        } else {
            l->head = w;
        }
        l->tail = w;
        q->waiting++;
        q->pending++;
        return FY_OK;
    }
    rc = place(q, target, &td, &it, 0, l != NULL ? &l->in : NULL);
    if (rc != FY_OK) {
        item_free(&it);
        return rc;
    }
    if (td != NULL && q->ops.tdata_free != NULL) {
        q->ops.tdata_free(td); /* an open batch for target had its own */
    }
    if (l != NULL) {
        l->busy = 1;
    }
    q->pending++;
    return FY_OK;
}

/* The record of key became final: free its lane or move its next record into a batch. */
static void lane_release(struct fy_hq *q, const char *key)
{
    struct lane *l;
    struct wait *w;

    if (!q->c.lanes || key == NULL || (l = lane_get(q, key, 0)) == NULL) {
        return;
    }
    l->busy = 0;
    if ((w = l->head) == NULL) {
        lane_drop(q, l);
        return;
    }
    if (place(q, w->target, &w->tdata, &w->it, 1, &l->in) != FY_OK) {
        q->stuck = 1; /* out of memory: it stays first in its lane, tried again at poll */
        return;
    }
    q->released = 1;
    l->busy = 1;
    l->head = w->next;
    if (l->head == NULL) {
        l->tail = NULL;
    }
    q->waiting--;
    wait_free(q, w); /* its tdata, when an open batch for its target had its own */
}

/* The record of key went back to the core as RETRY: the core sends it again, and every later
 * record after it, so the later ones waiting in its lane go back unsent, and the lane stays
 * blocked until nothing is pending (the core then resends from the failed record on). */
static void lane_fail(struct fy_hq *q, const char *key, const char *reason)
{
    struct lane *l;
    struct wait *w;

    if (!q->c.lanes || key == NULL || (l = lane_get(q, key, 0)) == NULL) {
        return;
    }
    l->busy = 0;
    if (!l->blocked) {
        size_t n = strlen(HELD_BACK) + (reason != NULL ? strlen(reason) : 0) + 3;
        l->blocked = 1;
        q->blocked++;
        /* the earlier record's reason goes along: the operator sees why (auth, throttling) */
        if ((l->why = malloc(n)) != NULL) {
            snprintf(l->why, n, "%s: %s", HELD_BACK, reason != NULL ? reason : "");
        }
    }
    while ((w = l->head) != NULL) {
        l->head = w->next;
        fy_sink_complete(q->snk, w->it.ticket, FY_SINK_RETRY,
                         l->why != NULL ? l->why : HELD_BACK);
        q->pending--;
        q->waiting--;
        wait_free(q, w);
    }
    l->tail = NULL;
}

/* Nothing is pending: the core's retry starts from a clean slate, every lane opens again. */
static void lanes_unblock(struct fy_hq *q)
{
    size_t i;

    for (i = 0; q->blocked > 0 && i < LANE_BUCKETS; i++) {
        struct lane *l, *next;
        for (l = q->lanes[i]; l != NULL; l = next) {
            next = l->next;
            if (l->blocked && !l->busy && l->head == NULL) {
                lane_drop(q, l);
                q->blocked--;
            }
        }
    }
}

/* Lanes whose first record could not be placed (out of memory) get another chance. */
static void lanes_retry(struct fy_hq *q)
{
    size_t i;

    if (!q->stuck) {
        return;
    }
    q->stuck = 0;
    for (i = 0; q->waiting > 0 && i < LANE_BUCKETS; i++) {
        struct lane *l, *next;
        for (l = q->lanes[i]; l != NULL; l = next) {
            next = l->next;
            if (!l->busy && l->head != NULL) {
                l->busy = 1;
                lane_release(q, l->key);
            }
        }
    }
}

/* ==== completions ==== */

void fy_hq_complete(struct fy_hq *q, struct fy_hq_batch *b, size_t i, enum fy_sink_result res,
                    const char *reason)
{
    struct fy_hq_item *it = &b->items[i];

    if (it->body == NULL) {
        return; /* settled already (or moved out) */
    }
    fy_sink_complete(q->snk, it->ticket, res, reason);
    q->pending--;
    if (res == FY_SINK_RETRY) {
        lane_fail(q, it->key, reason);
    } else {
        lane_release(q, it->key);
    }
    item_free(it);
    if (q->pending == 0 && q->blocked > 0) {
        lanes_unblock(q);
    }
}

void fy_hq_complete_all(struct fy_hq *q, struct fy_hq_batch *b, enum fy_sink_result res,
                        const char *reason)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        fy_hq_complete(q, b, i, res, reason);
    }
}

void fy_hq_retry_item(struct fy_hq *q, struct fy_hq_batch *b, size_t i, int64_t delay_ms)
{
    struct fy_hq_batch *c;

    if (b->items[i].body == NULL) {
        return;
    }
    /* join a retry batch of the same target made in this done() call, if it has room */
    c = q->queue;
    if (c != NULL && c->not_before != 0 && c->n < q->c.max_records &&
        c->bytes + b->items[i].size <= q->c.max_bytes && strcmp(c->target, b->target) == 0 &&
        c->since == -1) {
        c->items[c->n++] = b->items[i];
        c->bytes += b->items[i].size;
        memset(&b->items[i], 0, sizeof(b->items[i]));
        return;
    }
    if ((c = batch_like(q, b, q->c.max_records)) == NULL) {
        fy_hq_complete(q, b, i, FY_SINK_RETRY, "out of memory while retrying a record");
        return;
    }
    c->since = -1; /* marks a retry batch of the current done() call */
    c->not_before = fy_clock_mono_ms() + (delay_ms > 0 ? delay_ms : 1);
    c->items[c->n++] = b->items[i];
    c->bytes += b->items[i].size;
    memset(&b->items[i], 0, sizeof(b->items[i]));
    push(q, c, 1);
}

void fy_hq_retry_all(struct fy_hq *q, struct fy_hq_batch *b, int64_t delay_ms)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        fy_hq_retry_item(q, b, i, delay_ms); /* the items after the first join its batch */
    }
}

void fy_hq_requeue(struct fy_hq *q, struct fy_hq_batch *b)
{
    if (b == q->settling) {
        q->given_back = 1;
    }
    fy_buf_free(&b->req);
    fy_buf_free(&b->resp);
    curl_slist_free_all(b->headers);
    b->headers = NULL;
    push(q, b, 1);
}

void fy_hq_split(struct fy_hq *q, struct fy_hq_batch *b, const char *reason)
{
    struct fy_hq_batch *a, *c;
    size_t half = b->n / 2, i;

    if (b->n <= 1) {
        fy_hq_complete_all(q, b, FY_SINK_REJECT, reason);
        return;
    }
    a = batch_like(q, b, q->c.max_records);
    c = batch_like(q, b, q->c.max_records);
    if (a == NULL || c == NULL) {
        /* out of memory: the core sends them again rather than lose them */
        batch_free(q, a);
        batch_free(q, c);
        fy_hq_complete_all(q, b, FY_SINK_RETRY, "out of memory while splitting a batch");
        return;
    }
    for (i = 0; i < b->n; i++) {
        struct fy_hq_batch *to = i < half ? a : c;
        if (b->items[i].body == NULL) {
            continue; /* settled already */
        }
        to->items[to->n++] = b->items[i];
        to->bytes += b->items[i].size;
        memset(&b->items[i], 0, sizeof(b->items[i]));
    }
    if (c->n > 0) {
        push(q, c, 1);
    } else {
        batch_free(q, c);
    }
    if (a->n > 0) {
        push(q, a, 1);
    } else {
        batch_free(q, a);
    }
}

/* ==== requests ==== */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct fy_hq_batch *b = arg;
    size_t len = size * n;
    size_t room = b->resp.len < b->resp.max ? b->resp.max - b->resp.len : 0;

    if (room > 0) {
        fy_buf_add(&b->resp, p, len < room ? len : room);
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct fy_hq_batch *b = arg;
    size_t len = size * n;

    fy_http_header_value(p, len, "retry-after", b->retry_after, sizeof(b->retry_after));
    return len;
}

/* Take the first queued batch that may start now, or NULL. */
static struct fy_hq_batch *next_ready(struct fy_hq *q, int64_t now)
{
    struct fy_hq_batch **pp = &q->queue, *prev = NULL;

    for (; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        struct fy_hq_batch *b = *pp;
        if (b->not_before <= now) {
            *pp = b->next;
            if (q->queue_tail == b) {
                q->queue_tail = prev;
            }
            b->next = NULL;
            return b;
        }
    }
    return NULL;
}

static int start_queued(struct fy_hq *q)
{
    int64_t now = fy_clock_mono_ms();
    struct fy_hq_batch *b;
    int started = 0;

    while (!fy_http_multi_full(q->multi) && (b = next_ready(q, now)) != NULL) {
        char reason[512] = "";
        CURL *e = NULL;
        int rc;
        size_t i;

        b->since = now;
        fy_buf_free(&b->req);
        fy_buf_free(&b->resp);
        fy_buf_init(&b->resp, q->c.resp_max);
        curl_slist_free_all(b->headers);
        b->headers = NULL;
        b->retry_after[0] = '\0';
        b->guard.why[0] = '\0';
        rc = q->ops.start(q->arg, b, &e, reason, sizeof(reason));
        if (rc == FY_OK) {
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
            curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
            curl_easy_setopt(e, CURLOPT_HEADERDATA, b);
            rc = fy_http_multi_add(q->multi, e, b);
            if (rc != FY_OK) {
                curl_easy_cleanup(e);
                snprintf(reason, sizeof(reason), "cannot start a request (curl multi)");
                rc = FY_ENOMEM;
            }
        } else if (e != NULL) {
            curl_easy_cleanup(e);
        }
        if (rc != FY_OK) {
            fy_hq_complete_all(q, b, rc == FY_EIO || rc == FY_ENOMEM ? FY_SINK_RETRY
                                                                    : FY_SINK_REJECT,
                               reason[0] != '\0' ? reason : "request could not be built");
            batch_free(q, b);
            continue;
        }
        for (i = 0; i < b->n; i++) {
            b->items[i].attempts++;
        }
        started++;
    }
    return started;
}

/* Records that left their lanes when a request finished waited already, and nothing else
 * releases the lanes of the records beside them: the batches they went into close now rather
 * than after the linger (which would otherwise set the pace of every device), unless a batch
 * ready to go waits for a slot already (then they keep filling meanwhile). */
static void close_lane_fed(struct fy_hq *q)
{
    int64_t now = fy_clock_mono_ms();
    struct fy_hq_batch *b, *next;

    for (b = q->queue; b != NULL; b = b->next) {
        if (b->not_before <= now && b->since != -1) {
            return;
        }
    }
    for (b = q->open; b != NULL; b = next) {
        next = b->next;
        if (b->lane_fed) {
            close_one(q, b);
        }
    }
}

static void finished(void *arg, void *user, CURL *e, CURLcode result, long status)
{
    struct fy_hq *q = arg;
    struct fy_hq_batch *b = user;
    size_t i;

    q->settling = b;
    q->given_back = 0;
    q->released = 0;
    q->ops.done(q->arg, b, e, result, status);
    q->settling = NULL;
    if (q->released) {
        close_lane_fed(q);
    }
    if (q->given_back) {
        return;
    }
    for (i = 0; i < b->n; i++) {
        fy_hq_complete(q, b, i, FY_SINK_RETRY, "request finished without an outcome");
    }
    /* retry batches made by this done() call are no longer joinable */
    for (struct fy_hq_batch *c = q->queue; c != NULL && c->since == -1; c = c->next) {
        c->since = 0;
    }
    batch_free(q, b);
}

static void cancel(void *arg, void *user)
{
    batch_free(arg, user);
}

struct fy_hq *fy_hq_create(const struct fy_hq_conf *c, const struct fy_hq_ops *ops, void *arg,
                           struct fy_sink *snk, struct fy_err *err)
{
    struct fy_hq *q = calloc(1, sizeof(*q));

    if (q == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    q->c = *c;
    if (q->c.max_records == 0) {
        q->c.max_records = 1;
    }
    if (q->c.resp_max == 0) {
        q->c.resp_max = 512;
    }
    q->ops = *ops;
    q->arg = arg;
    q->snk = snk;
    q->multi = fy_http_multi_create(c->parallel, err);
    if (q->multi == NULL) {
        free(q);
        return NULL;
    }
    return q;
}

void fy_hq_destroy(struct fy_hq *q)
{
    struct fy_hq_batch *b;
    size_t i;

    if (q == NULL) {
        return;
    }
    fy_http_multi_destroy(q->multi, cancel, q);
    while ((b = q->queue) != NULL) {
        q->queue = b->next;
        batch_free(q, b);
    }
    while ((b = q->open) != NULL) {
        q->open = b->next;
        batch_free(q, b);
    }
    for (i = 0; i < LANE_BUCKETS; i++) {
        while (q->lanes[i] != NULL) {
            struct lane *l = q->lanes[i];
            while (l->head != NULL) {
                struct wait *w = l->head;
                l->head = w->next;
                wait_free(q, w);
            }
            lane_drop(q, l);
        }
    }
    free(q);
}

void fy_hq_poll(struct fy_hq *q, int timeout_ms)
{
    int64_t soonest = 0;
    struct fy_hq_batch *b;

    lanes_retry(q);
    close_open(q, 0);
    start_queued(q);
    do {
        fy_http_multi_perform(q->multi, finished, q);
    } while (start_queued(q) > 0); /* slots freed by finished requests fill before waiting */
    /* the next deadline: a retry's not_before or an open batch's linger */
    for (b = q->queue; b != NULL; b = b->next) {
        if (b->not_before > 0 && (soonest == 0 || b->not_before < soonest)) {
            soonest = b->not_before;
        }
    }
    for (b = q->open; b != NULL; b = b->next) {
        if (soonest == 0 || b->since + q->c.max_wait_ms < soonest) {
            soonest = b->since + q->c.max_wait_ms;
        }
    }
    if (soonest > 0) {
        int64_t left = soonest - fy_clock_mono_ms();
        if (left < timeout_ms) {
            timeout_ms = left > 0 ? (int)left : 0;
        }
    }
    if (fy_http_multi_running(q->multi) > 0) {
        fy_http_multi_wait(q->multi, timeout_ms);
    } else if (q->pending > 0 && timeout_ms > 0) {
        /* nothing in flight, records waiting for a deadline: sleep until it, as a wait on
         * sockets would (callers such as the delivery worker pace themselves by poll) */
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int fy_hq_drain(struct fy_hq *q, int timeout_ms)
{
    int64_t end = fy_clock_deadline(timeout_ms);

    while (q->pending > 0 && fy_clock_mono_ms() < end) {
        close_open(q, 1);
        fy_hq_poll(q, 20);
        if (fy_http_multi_running(q->multi) == 0 && q->pending > 0) {
            struct timespec ts = {0, 2 * 1000 * 1000}; /* retry back-off or lanes: short nap */
            nanosleep(&ts, NULL);
        }
    }
    return q->pending == 0 ? FY_OK : FY_ETIMEOUT;
}

size_t fy_hq_pending(const struct fy_hq *q)
{
    return q->pending;
}

size_t fy_hq_running(const struct fy_hq *q)
{
    return fy_http_multi_running(q->multi);
}
