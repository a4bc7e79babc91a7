/* webhook.c - the webhook sink: batches of envelopes POSTed to a customer's HTTPS endpoint;
 * Basic, OAuth2, static-header and Standard Webhooks (HMAC-SHA256) authentication; JSON array,
 * NDJSON, SmartClean or one-envelope bodies; outcomes classified per batch.
 *
 * DESIGN: every call (submit, poll, drain) comes from the sink's worker thread. Batching,
 * request slots and the curl multi handle are the shared HTTP request queue's
 * (sinks/http_queue.h); this file builds one request per batch (start) and maps its answer
 * onto the batch's records (done). A batch closes at batch_max_records, batch_max_bytes or
 * batch_max_wait_ms; at most `parallel` requests are in flight. 413 splits a batch in halves
 * down to one record, which is then rejected. Options and templates: webhook_conf.c and
 * webhook_body.c.
 *
 * Order and retries: with `order: per_device` the queue keeps one lane per device key
 * (record key: devEUI, else applicationId/deviceId), so a device has one record pending at a
 * time and its later records wait. A request that failed after reaching the endpoint (5xx,
 * 408, 429, a time-out or a broken connection) goes again by itself from the queue, after a
 * back-off and at least its Retry-After, up to request_retries times, its records' lanes held
 * meanwhile: nothing that was accepted is sent again, and the duplicates are the records of
 * requests whose outcome was unknown (a time-out). Only then do the records go back to the
 * core as RETRY, whose go-back-N resends from the oldest unfinished record (the lanes hold
 * back the later ones of those devices: docs/reliability.md "Per-device order in batching
 * sinks"). A request that never reached the endpoint (refused, DNS, TLS) goes to the core at
 * once: the endpoint is down, which is the core's health to track. */
#include "sinks/webhook/webhook.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/redact.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_BASE_MS 100        /* back-off of request_retries: 100 ms, 200 ms, ... */
#define RETRY_MAX_MS 5000        /* ... at most 5 s (full jitter above half of it) */
#define RETRY_AFTER_MAX_MS 60000 /* a longer Retry-After is waited for by the core */

static int start(void *arg, struct fy_hq_batch *b, CURL **easy, char *reason, size_t rsize)
{
    static const char *const ctypes[] = {"application/json", "application/x-ndjson",
                                         "application/json", "application/json"};
    struct webhook *w = arg;
    const struct wh_target *t = b->tdata;
    char line[1200];
    size_t i;
    CURL *e;

    fy_buf_init(&b->req, (size_t)w->batch_max_bytes * 2 + 1024);
    if (fy_webhook_body(w, b) != FY_OK) {
        snprintf(reason, rsize, "request body too large");
        return FY_ETOOBIG;
    }
    snprintf(line, sizeof(line), "Content-Type: %s; charset=utf-8", ctypes[w->format]);
    b->headers = curl_slist_append(b->headers, line);
    /* no "Expect: 100-continue" round trip before each body over 1 KiB (curl waits up to 1 s
     * for a server that does not answer it) */
    b->headers = curl_slist_append(b->headers, "Expect:");
    for (i = 0; i < w->headers.n; i++) {
        snprintf(line, sizeof(line), "%s: %s", w->headers.items[i].key,
                 t != NULL ? t->hv[i] : w->headers.items[i].value);
        b->headers = curl_slist_append(b->headers, line);
    }
    if (w->oauth != NULL) {
        const char *tok;
        struct fy_err err = {0};
        int fresh = 0;
        char *h;
        if (fy_oauth_token(w->oauth, &tok, &fresh, &err) != FY_OK) {
            snprintf(w->token_error, sizeof(w->token_error), "no OAuth2 access token: %s",
                     err.msg);
            fy_log_error(fy_sink_tag(w->snk), "%s", w->token_error);
            snprintf(reason, rsize, "%s", w->token_error);
            return FY_EIO; /* nothing was sent; the core retries the records */
        }
        free(b->cred);
        b->cred = strdup(tok);
        h = malloc(strlen(tok) + 32);
        if (b->cred == NULL || h == NULL) {
            free(h);
            snprintf(reason, rsize, "out of memory");
            return FY_ENOMEM;
        }
        snprintf(h, strlen(tok) + 32, "Authorization: Bearer %s", tok);
        b->headers = curl_slist_append(b->headers, h);
        memset(h, 0, strlen(h));
        free(h);
    }
    if (w->key_len > 0) {
        b->headers = fy_webhook_sign(w, b, b->headers); /* over the body before compression */
    }
    if (w->compression == WH_GZIP) {
        if (fy_http_gzip(&b->req) != FY_OK) {
            snprintf(reason, rsize, "out of memory");
            return FY_ENOMEM;
        }
        b->headers = curl_slist_append(b->headers, "Content-Encoding: gzip");
    }
    if ((e = curl_easy_init()) == NULL) {
        snprintf(reason, rsize, "out of memory");
        return FY_ENOMEM;
    }
    *easy = e;
    curl_easy_setopt(e, CURLOPT_URL, t != NULL ? t->url : w->url);
    fy_http_setup(e, &w->transport, &b->guard);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->req.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->req.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers);
    if (w->auth == WH_AUTH_BASIC) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, w->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, w->password);
    }
    return FY_OK;
}

/* The request reached the endpoint: an answer came, or curl sent at least its headers before
 * the failure (a time-out or reset then leaves its outcome unknown). */
static int reached(CURL *e, CURLcode result)
{
    long sent = 0;

    if (result == CURLE_OK) {
        return 1;
    }
    return curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent > 0;
}

/* b failed after reaching the endpoint: send it again by itself from the queue after a
 * capped exponential back-off with full jitter (never below half the step, and at least ra,
 * the answer's Retry-After, when >= 0) while request_retries allow. 1 when b went back to the
 * queue, 0 when its records are for the core. */
static int retry_in_queue(struct webhook *w, struct fy_hq_batch *b, int64_t ra,
                          const char *reason)
{
    int64_t step = RETRY_BASE_MS, delay;
    int attempts = 0, i;
    uint32_t x = w->rng != 0 ? w->rng : 2463534242u;
    size_t k;

    for (k = 0; k < b->n; k++) {
        if (b->items[k].body != NULL && b->items[k].attempts > attempts) {
            attempts = b->items[k].attempts;
        }
    }
    if (attempts == 0 || attempts > w->request_retries || ra > RETRY_AFTER_MAX_MS) {
        return 0;
    }
    for (i = 1; i < attempts && step < RETRY_MAX_MS; i++) {
        step *= 2;
    }
    step = step < RETRY_MAX_MS ? step : RETRY_MAX_MS;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    w->rng = x;
    delay = step / 2 + (int64_t)(x % (uint32_t)(step - step / 2 + 1));
    if (ra > delay) {
        delay = ra;
    }
    fy_log_info(fy_sink_tag(w->snk), "%s: sending these %zu record(s) again in %lld ms "
                "(attempt %d of %lld)", reason, b->n, (long long)delay, attempts + 1,
                (long long)w->request_retries + 1);
    fy_hq_retry_all(w->q, b, delay);
    return 1;
}

/* A request finished: map the answer onto the batch's records. */
static void done(void *arg, struct fy_hq_batch *b, CURL *e, CURLcode result, long status)
{
    struct webhook *w = arg;
    const struct wh_target *t = b->tdata;
    char reason[800], with[900];
    char where[512]; /* the URL as shown: user-info and query values hidden */
    const char *body = b->resp.data != NULL ? b->resp.data : "";
    int blen = (int)b->resp.len;
    enum fy_http_class cls;

    fy_redact_url(t != NULL ? t->url : w->url, where, sizeof(where));
    cls = fy_http_classify(result, status, b->guard.why[0] != '\0');
    if (cls == FY_HTTP_BLOCKED) {
        snprintf(reason, sizeof(reason), "ssrf_blocked: %s: %s", where, b->guard.why);
        fy_log_error(fy_sink_tag(w->snk), "SSRF guard: %s", reason);
        fy_hq_complete_all(w->q, b, FY_SINK_REJECT, reason);
    } else if (result != CURLE_OK) {
        snprintf(reason, sizeof(reason), "%s from %s", curl_easy_strerror(result), where);
        if (!reached(e, result) || !retry_in_queue(w, b, -1, reason)) {
            fy_hq_complete_all(w->q, b, FY_SINK_RETRY, reason);
        }
    } else if (cls == FY_HTTP_OK) {
        fy_hq_complete_all(w->q, b, FY_SINK_OK, NULL);
    } else if (status == 401 && w->oauth != NULL && !b->auth_retried) {
        /* the token expired early or was revoked: fetch a new one and send again, once */
        fy_log_warn(fy_sink_tag(w->snk), "HTTP 401 from %s: fetching a new OAuth2 access "
                    "token and sending the batch again", where);
        fy_oauth_invalidate(w->oauth, b->cred);
        b->auth_retried = 1;
        fy_hq_requeue(w->q, b);
    } else if (status == 401 && w->oauth != NULL) {
        fy_oauth_invalidate(w->oauth, b->cred);
        snprintf(reason, sizeof(reason), "HTTP 401 from %s with a newly fetched OAuth2 token: "
                 "the endpoint refuses this client's tokens (check client_id, scope, "
                 "audience): %.*s", where, blen, body);
        fy_hq_complete_all(w->q, b, FY_SINK_RETRY, reason);
    } else if (cls == FY_HTTP_TOO_LARGE) {
        snprintf(reason, sizeof(reason), "HTTP 413 from %s: a single record is too large",
                 where);
        fy_hq_split(w->q, b, reason);
    } else {
        int64_t ra = fy_http_retry_after_ms(b->retry_after, fy_clock_wall_ms());
        snprintf(reason, sizeof(reason), "HTTP %ld from %s%s: %.*s", status, where,
                 status >= 300 && status < 400 ? " (redirect not followed)" : "", blen, body);
        if (cls == FY_HTTP_DISABLE) {
            /* Gone: Standard Webhooks says disable the endpoint; the core keeps the records
             * and probes, so nothing is lost if the customer brings it back */
            snprintf(with, sizeof(with), "%s%s", FY_SINK_REASON_DISABLE, reason);
            fy_hq_complete_all(w->q, b, FY_SINK_RETRY, with);
        } else if (cls == FY_HTTP_RETRY && retry_in_queue(w, b, ra, reason)) {
            /* sent again by itself: the records' lanes stay held */
        } else if (cls == FY_HTTP_RETRY && ra >= 0) {
            snprintf(with, sizeof(with), "retry_after_ms=%lld; %s", (long long)ra, reason);
            fy_hq_complete_all(w->q, b, FY_SINK_RETRY, with);
        } else {
            fy_hq_complete_all(w->q, b, cls == FY_HTTP_RETRY ? FY_SINK_RETRY : FY_SINK_REJECT,
                               reason);
        }
    }
}

static int webhook_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    static const struct fy_hq_ops ops = {
        .start = start,
        .done = done,
        .tdata_free = fy_webhook_target_free,
        .tdata_copy = fy_webhook_target_copy,
    };
    struct webhook *w = ctx;
    struct fy_hq_conf qc = {0};

    w->snk = snk;
    if (fy_webhook_setup(w, err) != FY_OK) {
        return err->code;
    }
    qc.max_records = w->format == WH_F_SINGLE ? 1 : (size_t)w->batch_max_records;
    qc.max_bytes = (size_t)w->batch_max_bytes;
    qc.max_wait_ms = w->batch_max_wait_ms;
    qc.parallel = (size_t)w->parallel;
    qc.lanes = w->order == WH_ORDER_PER_DEVICE;
    w->rng = (uint32_t)fy_clock_mono_ms() ^ (uint32_t)(uintptr_t)w;
    w->q = fy_hq_create(&qc, &ops, w, snk, err);
    return w->q != NULL ? FY_OK : err->code;
}

static int webhook_submit(void *ctx, const struct fy_record *rec, const char *dest,
                          uint64_t ticket)
{
    struct webhook *w = ctx;
    struct wh_target *t = NULL;
    char *key = NULL;
    int rc;

    (void)dest;
    if (w->templated) {
        struct fy_err err = {0};
        if (fy_webhook_render(w, rec, &t, &key, &err) != FY_OK) {
            if (err.code == FY_ENOMEM) {
                return FY_EAGAIN;
            }
            fy_sink_complete(w->snk, ticket, FY_SINK_REJECT, err.msg);
            return FY_OK;
        }
    }
    /* a record over batch_max_bytes still goes, alone (the endpoint answers 413 if it must) */
    /* the lane key: the device (records without one have no lane) */
    rc = fy_hq_add(w->q, key, t, rec,
                   rec->key != NULL && *rec->key != '\0' ? rec->key : NULL, NULL,
                   rec->body_len < (size_t)w->batch_max_bytes ? rec->body_len
                                                              : (size_t)w->batch_max_bytes,
                   ticket);
    free(key);
    if (rc != FY_OK) {
        fy_webhook_target_free(t);
        return FY_EAGAIN;
    }
    return FY_OK;
}

static void webhook_poll(void *ctx, int timeout_ms)
{
    struct webhook *w = ctx;

    fy_hq_poll(w->q, timeout_ms);
}

static int webhook_drain(void *ctx, int timeout_ms)
{
    struct webhook *w = ctx;

    return fy_hq_drain(w->q, timeout_ms);
}

static void webhook_exit(void *ctx)
{
    struct webhook *w = ctx;

    fy_hq_destroy(w->q);
    w->q = NULL;
    curl_slist_free_all(w->resolve_list);
    w->resolve_list = NULL;
    fy_oauth_destroy(w->oauth);
    w->oauth = NULL;
    memset(w->key, 0, sizeof(w->key));
}

const struct fy_sink_plugin fy_sink_webhook = {
    .abi = FY_SINK_ABI,
    .name = "webhook",
    .description = "HTTPS POST of envelope batches (libcurl), Basic/headers/HMAC signing",
    .opts = fy_webhook_opts,
    .ctx_size = sizeof(struct webhook),
    .init = webhook_init,
    .submit = webhook_submit,
    .poll = webhook_poll,
    .drain = webhook_drain,
    .exit = webhook_exit,
    .max_inflight = 2000,
    .check = fy_webhook_check,
};
