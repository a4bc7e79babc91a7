/* http_queue.h - the request queue every batching HTTP sink shares: records collect into batches
 * (one open batch per target, closed by count, bytes or linger time), closed batches wait in
 * FIFO order for one of `parallel` request slots, and requests run on one curl multi handle.
 * The sink only builds a request for a batch (start) and reads its answer (done); the queue
 * owns batches, items, easy handles and the per-key lanes.
 *
 * DESIGN: one queue per sink instance, used only from the sink's worker thread (no locks).
 * Lanes (optional): at most one record per key is pending at any time; a later record of a
 * key waits in its lane until the earlier one is final (completed OK or REJECT, or handed
 * back to the core as RETRY). A batch therefore never holds two records of one key, and a
 * record that failed alone inside a batch can be sent again alone without passing a later
 * record of its device. A record handed back to the core as RETRY blocks its lane: the later
 * records of its key complete RETRY unsent (the core's retry sends them again after it) until
 * nothing is pending (docs/reliability.md "Per-device order in batching sinks"). A record
 * waiting in its lane keeps the sink's per-target data (tdata) it was added with, so the batch
 * it later opens has the target's rendered URL; batches that records left their lanes into
 * when a request finished close at once (they waited already). */
#ifndef FY_SINK_HTTP_QUEUE_H
#define FY_SINK_HTTP_QUEUE_H

#include "core/buf.h"
#include "core/err.h"
#include "core/http/ssrf.h"
#include "core/record.h"
#include "sinks/sink.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

struct fy_hq_item {
    uint64_t ticket;
    char *body;       /* copy of the envelope, NUL-terminated */
    size_t len;
    size_t size;      /* bytes this item counts against max_bytes (>= len) */
    char id[64];      /* envelope id */
    char *key;        /* lane key (devEUI, message group, partition key), or NULL */
    char *attr;       /* one sink-rendered string (partition key, group id...), or NULL */
    char *rec_type, *event_type;
    int attempts;     /* requests this item was part of */
};

struct fy_hq_batch {
    struct fy_hq_item *items;
    size_t n, cap, bytes;
    int64_t since;            /* monotonic ms the first item arrived */
    int64_t not_before;       /* monotonic ms; 0 = start when a slot is free */
    char *target;             /* batches only mix items of one target ("" = default) */
    void *tdata;              /* the sink's data for target (rendered URL...), or NULL */
    struct fy_buf req;        /* request body: the sink's to fill in start */
    struct fy_buf resp;       /* first resp_max bytes of the answer */
    struct curl_slist *headers; /* the sink's request headers (freed with the batch) */
    char retry_after[64];     /* the answer's Retry-After */
    struct fy_ssrf_note guard; /* the SSRF guard's reason when it refused the connection */
    char *cred;               /* the sink's credential for this attempt (OAuth token...) */
    int auth_retried;         /* the sink already sent this batch again after a 401 */
    int lane_fed;             /* the queue's: holds records that came out of a lane */
    struct fy_hq_batch *next;
};

struct fy_hq_ops {
    /* Build b's request: fill b->req and b->headers, create and set up *easy (URL, body,
     * headers, fy_http_setup with &b->guard); the queue adds the response callbacks.
     * FY_OK, else the batch completes at once: FY_EIO/FY_ENOMEM as RETRY, anything else as
     * REJECT, with reason. */
    int (*start)(void *arg, struct fy_hq_batch *b, CURL **easy, char *reason,
                 size_t reason_size);
    /* b's request finished (e still valid for curl_easy_getinfo). Settle every item with
     * fy_hq_complete / fy_hq_complete_all, or give b back with fy_hq_requeue / fy_hq_split /
     * fy_hq_retry_item; items left unsettled when done returns complete as RETRY. */
    void (*done)(void *arg, struct fy_hq_batch *b, CURL *e, CURLcode result, long status);
    void (*tdata_free)(void *tdata);             /* may be NULL when tdata is never set */
    void *(*tdata_copy)(const void *tdata);      /* for splits; NULL result = out of memory */
};

struct fy_hq_conf {
    size_t max_records;   /* per batch, >= 1 */
    size_t max_bytes;     /* per batch (sum of item sizes) */
    int64_t max_wait_ms;  /* linger: how long an open batch waits to fill */
    size_t parallel;      /* requests in flight, 1..1024 */
    size_t resp_max;      /* answer bytes kept (default 512) */
    int lanes;            /* one pending record per key (see DESIGN) */
};

struct fy_hq;

/* NULL + err on failure. snk receives the completions. */
struct fy_hq *fy_hq_create(const struct fy_hq_conf *c, const struct fy_hq_ops *ops, void *arg,
                           struct fy_sink *snk, struct fy_err *err);
/* Cancel every request and free every batch, without completions (the core sends again what
 * was not completed). NULL-safe. */
void fy_hq_destroy(struct fy_hq *q);

/* Accept rec for target (NULL = default). key: lane key (may be NULL); attr: one string the
 * sink keeps with the item (copied, may be NULL); size: bytes counted for the batch (0 = the
 * body length). tdata: the sink's data for a new target, owned by the queue on FY_OK (kept
 * while the record waits in its lane; freed when an open batch for target has its own). FY_OK: fy_sink_complete(ticket) follows exactly
 * once. FY_EAGAIN: enough is buffered, poll first (tdata stays the caller's). FY_ETOOBIG:
 * size alone is over max_bytes (the caller rejects the record). */
int fy_hq_add(struct fy_hq *q, const char *target, void *tdata, const struct fy_record *rec,
              const char *key, const char *attr, size_t size, uint64_t ticket);

/* Close lingering batches, start requests, serve I/O for up to timeout_ms. */
void fy_hq_poll(struct fy_hq *q, int timeout_ms);
/* Send everything now and wait up to timeout_ms. FY_OK or FY_ETIMEOUT. */
int fy_hq_drain(struct fy_hq *q, int timeout_ms);
/* Records accepted and not yet completed. */
size_t fy_hq_pending(const struct fy_hq *q);
size_t fy_hq_running(const struct fy_hq *q);

/* In done: settle item i of b (its lane moves on). reason may be NULL for OK. */
void fy_hq_complete(struct fy_hq *q, struct fy_hq_batch *b, size_t i, enum fy_sink_result res,
                    const char *reason);
void fy_hq_complete_all(struct fy_hq *q, struct fy_hq_batch *b, enum fy_sink_result res,
                        const char *reason);
/* In done: send item i again in a batch of its own target not before delay_ms from now, at
 * the front of the queue (its lane stays held, so a later record of its key cannot pass). */
void fy_hq_retry_item(struct fy_hq *q, struct fy_hq_batch *b, size_t i, int64_t delay_ms);
/* In done: send every unsettled item of b again, in one batch of b's target in b's order, not
 * before delay_ms from now, at the front of the queue (their lanes stay held): a failed
 * request alone goes again, nothing behind it. */
void fy_hq_retry_all(struct fy_hq *q, struct fy_hq_batch *b, int64_t delay_ms);
/* In done: send the whole of b again, first (e.g. after fetching a new token). */
void fy_hq_requeue(struct fy_hq *q, struct fy_hq_batch *b);
/* In done: send b again as two halves, first (e.g. after 413); a batch of one record is
 * rejected with reason. */
void fy_hq_split(struct fy_hq *q, struct fy_hq_batch *b, const char *reason);

#endif
