/* pipeline.c - the ingest path: route, decode, wrap, journal; see pipeline.h. */
#include "bridge/pipeline.h"

#include "core/b64.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/record.h"
#include "bridge/deadletter.h"
#include "bridge/dedup.h"
#include "bridge/envelope.h"
#include "codecs/codec.h"
#include "routes/router.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MATCHES 16
#define SEEN_SLOTS 4096 /* unmatched topics remembered for "log once per topic" */
#define DEST_MAX 512
#define RECORD_SLACK 65536u /* id, key, types and destinations around the envelope */

struct route {
    const struct fy_route_conf *conf;               /* borrowed */
    const struct fy_format_plugin *format;
    void *format_ctx;                               /* configurable formats */
    const struct fy_payload_plugin *codec;          /* NULL = none */
    void *codec_ctx;
};

struct fy_pipeline {
    const struct fy_config *cfg;
    struct fy_journal *j;
    struct fy_journal *dlq;
    struct fy_router *router;
    struct route *routes;
    size_t n_routes;
    struct fy_ingest_stats stats;
    size_t body_max;                                /* largest envelope in one record */
    atomic_int failed;
    atomic_int full;
    atomic_int nomem;                               /* out of memory: logged once */
    atomic_int held;                                /* a sink is over its own quota */

    struct fy_dedup *dedup;                         /* NULL when dedup_window is 0 */
    pthread_mutex_t seen_mu;                        /* guards seen[] */
    uint64_t seen[SEEN_SLOTS];
    size_t n_seen;
};

static const char *const TAG = "pipeline";

static int dedup_scan_cb(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct fy_record rec;

    (void)seq;
    if (fy_record_decode(data, len, &rec, NULL) == FY_OK) {
        fy_dedup_add(arg, rec.id);
    }
    return 0;
}

/* Create the dedup window and refill it from the newest journal records, so duplicates of
 * records journaled before a restart are still recognised (as far as the journal still holds
 * them). */
static int load_dedup(struct fy_pipeline *p, struct fy_err *err)
{
    struct fy_journal_stat st;
    uint64_t from;

    p->dedup = fy_dedup_create((size_t)p->cfg->dedup_window);
    if (p->dedup == NULL) {
        return fy_err_set(err, FY_ENOMEM, "journal.dedup_window: out of memory");
    }
    fy_journal_stat(p->j, &st);
    from = st.next_seq > (uint64_t)p->cfg->dedup_window / 2
               ? st.next_seq - (uint64_t)p->cfg->dedup_window / 2
               : 0;
    return fy_journal_scan(p->j, from, dedup_scan_cb, p->dedup, err);
}

/* The record limit: max_record, or by default max_payload x 8 + 64 KiB (a codec's output may
 * be bigger than its input), leaving room for the record's other fields in the journal. */
static size_t body_max(const struct fy_config *cfg)
{
    uint64_t m = cfg->max_record > 0 ? (uint64_t)cfg->max_record
                                     : (uint64_t)cfg->max_payload * 8 + RECORD_SLACK;

    return m < FY_JOURNAL_RECORD_MAX - RECORD_SLACK ? (size_t)m
                                                    : (size_t)(FY_JOURNAL_RECORD_MAX - RECORD_SLACK);
}

struct fy_pipeline *fy_pipeline_create(const struct fy_config *cfg, struct fy_journal *j,
                                       struct fy_journal *dlq, struct fy_err *err)
{
    struct fy_router_entry *ents = NULL;
    struct fy_pipeline *p;
    size_t i;

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    p->cfg = cfg;
    p->body_max = body_max(cfg);
    p->j = j;
    p->dlq = dlq;
    pthread_mutex_init(&p->seen_mu, NULL);
    p->n_routes = cfg->n_routes;
    p->routes = calloc(cfg->n_routes ? cfg->n_routes : 1, sizeof(*p->routes));
    ents = calloc(cfg->n_routes ? cfg->n_routes : 1, sizeof(*ents));
    if (p->routes == NULL || ents == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    for (i = 0; i < cfg->n_routes; i++) {
        const struct fy_route_conf *rc = &cfg->routes[i];
        struct route *rt = &p->routes[i];

        rt->conf = rc;
        rt->format = fy_codec_format_find(rc->format);
        if (rt->format == NULL) {
            fy_err_set(err, FY_ECONFIG, "route '%s': unknown format '%s'", rc->name, rc->format);
            goto fail;
        }
        if (rt->format->create != NULL) {
            rt->format_ctx = rt->format->create(rc->format_opts, err);
            if (rt->format_ctx == NULL) {
                fy_err_prefix(err, "route '%s': format '%s': ", rc->name, rc->format);
                goto fail;
            }
        }
        if (rc->codec != NULL) {
            rt->codec = fy_codec_payload_find(rc->codec);
            if (rt->codec == NULL) {
                fy_err_set(err, FY_ECONFIG, "route '%s': unknown codec '%s'", rc->name, rc->codec);
                goto fail;
            }
            rt->codec_ctx = rt->codec->create(rc->codec_opts, err);
            if (rt->codec_ctx == NULL) {
                fy_err_prefix(err, "route '%s': codec '%s': ", rc->name, rc->codec);
                goto fail;
            }
        }
        ents[i].filter = rc->match;
        ents[i].source = rc->source;
        ents[i].final = rc->final;
    }
    p->router = fy_router_create(ents, cfg->n_routes, err);
    if (p->router == NULL) {
        goto fail;
    }
    free(ents);
    ents = NULL;
    if (cfg->dedup_window > 0 && load_dedup(p, err) != FY_OK) {
        goto fail;
    }
    return p;
fail:
    free(ents);
    fy_pipeline_destroy(p);
    return NULL;
}

void fy_pipeline_destroy(struct fy_pipeline *p)
{
    size_t i;

    if (p == NULL) {
        return;
    }
    fy_dedup_destroy(p->dedup);
    for (i = 0; p->routes != NULL && i < p->n_routes; i++) {
        if (p->routes[i].codec_ctx != NULL) {
            p->routes[i].codec->destroy(p->routes[i].codec_ctx);
        }
        if (p->routes[i].format_ctx != NULL) {
            p->routes[i].format->destroy(p->routes[i].format_ctx);
        }
    }
    free(p->routes);
    fy_router_destroy(p->router);
    pthread_mutex_destroy(&p->seen_mu);
    free(p);
}

struct fy_ingest_stats *fy_pipeline_stats(struct fy_pipeline *p)
{
    return &p->stats;
}

int fy_pipeline_failed(struct fy_pipeline *p)
{
    return atomic_load(&p->failed);
}

void fy_pipeline_hold(struct fy_pipeline *p, int paused)
{
    atomic_store(&p->held, paused);
}

int fy_pipeline_full(struct fy_pipeline *p)
{
    return atomic_load(&p->full);
}

/* ==== helpers ==== */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s != '\0') {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

/* 1 the first time a topic is seen unmatched (remembered up to SEEN_SLOTS topics; after that
 * every 10,000th unmatched message is logged). */
static int first_unmatched(struct fy_pipeline *p, const char *topic)
{
    uint64_t h = fnv1a(topic);
    size_t i = (size_t)(h % SEEN_SLOTS);
    size_t probes;
    int first = 0;

    pthread_mutex_lock(&p->seen_mu);
    for (probes = 0; probes < SEEN_SLOTS; probes++, i = (i + 1) % SEEN_SLOTS) {
        if (p->seen[i] == h) {
            break;
        }
        if (p->seen[i] == 0) {
            if (p->n_seen < SEEN_SLOTS / 2) {
                p->seen[i] = h;
                p->n_seen++;
                first = 1;
            } else {
                first = FY_STAT_GET(p->stats.unmatched) % 10000 == 0;
            }
            break;
        }
    }
    pthread_mutex_unlock(&p->seen_mu);
    return first;
}

/* Map a journal or dead-letter append result to what the source must do (pipeline.h):
 * FY_OK stored (acknowledge); FY_EFULL backpressure (quota or disk full: wait, retry);
 * FY_EAGAIN out of memory (retry the message); FY_EIO the journal's storage failed (stop
 * acknowledging; the bridge exits). Per-record refusals (FY_ETOOBIG, FY_EINVAL) never get
 * here: journal_record makes them dead letters. */
static int append_result(struct fy_pipeline *p, int rc, const struct fy_err *err)
{
    if (rc == FY_OK) {
        if (atomic_exchange(&p->full, 0)) {
            fy_log_info(TAG, "journal has room again: accepting messages");
        }
        atomic_store(&p->nomem, 0);
        return FY_OK;
    }
    if (rc == FY_EFULL) {
        FY_STAT_INC(p->stats.journal_full);
        if (!atomic_exchange(&p->full, 1)) {
            fy_log_warn(TAG, "journal full: not acknowledging messages until sinks catch up (%s)",
                        err->msg);
        }
        return FY_EFULL;
    }
    if (rc == FY_ENOMEM || rc == FY_EAGAIN) {
        if (!atomic_exchange(&p->nomem, 1)) {
            fy_log_warn(TAG, "out of memory: not acknowledging, retrying the message (%s)",
                        err->msg);
        }
        return FY_EAGAIN;
    }
    if (!atomic_exchange(&p->failed, 1)) {
        fy_log_error(TAG, "journal storage failed, refusing all messages (restart recovers): %s",
                     err->msg);
    }
    return FY_EIO;
}

static int dead_letter(struct fy_pipeline *p, const char *stage, const char *reason,
                       const char *route, const struct fy_source *src, const struct fy_msg *msg)
{
    struct fy_dlq_entry de = {0};
    struct fy_err err = {0};
    int rc;

    de.stage = stage;
    de.reason = reason;
    de.route = route;
    de.source = src != NULL ? fy_source_name(src) : msg->source;
    de.topic = msg->topic;
    de.raw = msg->payload;
    de.raw_len = msg->len;
    de.first_attempt_ms = msg->recv_ms;
    de.last_attempt_ms = msg->recv_ms;
    de.attempts = 1;
    rc = fy_dlq_append(p->dlq, &de, &err);
    if (rc == FY_OK) {
        FY_STAT_INC(p->stats.dead_letters);
    }
    return append_result(p, rc, &err);
}

/* A reason (into reason) when rec can never be journaled, whatever is retried: an envelope
 * over the record limit (envelopes are always UTF-8: fy_envelope_build repairs them). FY_OK
 * when it can. */
static int record_problem(const struct fy_pipeline *p, const struct fy_record *rec, char *reason,
                          size_t size)
{
    if (rec->body_len > p->body_max) {
        snprintf(reason, size, "envelope of %zu bytes is over the record limit of %zu bytes "
                 "(max_record)", rec->body_len, p->body_max);
        return FY_ETOOBIG;
    }
    return FY_OK;
}

/* Dead-letter msg (stage "encode") because of record_problem's reason or a refused encoding. */
static int record_dead_letter(struct fy_pipeline *p, const char *reason, const char *route,
                              const struct fy_source *src, const struct fy_msg *msg)
{
    fy_log_warn(TAG, "route '%s': message on '%s' dead-lettered: %s", route ? route : "(none)",
                msg->topic, reason);
    return dead_letter(p, "encode", reason, route, src, msg);
}

/* Encode and append rec (already checked with record_problem). A refusal of this record alone
 * (too big to encode, refused by the journal for its size) is the message's dead letter;
 * only a storage failure of the journal stops acknowledgements (append_result). */
static int journal_record(struct fy_pipeline *p, const struct fy_record *rec, const char *route,
                          const struct fy_source *src, const struct fy_msg *msg)
{
    struct fy_buf b;
    struct fy_err err = {0};
    char reason[300];
    int rc;

    fy_buf_init(&b, p->body_max + RECORD_SLACK);
    rc = fy_record_encode(rec, &b);
    if (rc == FY_OK) {
        rc = fy_journal_append(p->j, b.data, b.len, NULL);
        if (rc == FY_ETOOBIG || rc == FY_EINVAL) {
            snprintf(reason, sizeof(reason), "the journal refused a record of %zu bytes: %s",
                     b.len, fy_strerror(rc));
            fy_buf_free(&b);
            return record_dead_letter(p, reason, route, src, msg);
        }
        fy_err_set(&err, rc, "%s", fy_strerror(rc));
    } else if (rc == FY_ENOMEM) {
        fy_err_set(&err, rc, "record encoding: %s", fy_strerror(rc));
    } else {
        snprintf(reason, sizeof(reason), "record encoding failed (envelope %zu bytes, limit %zu): "
                 "%s", rec->body_len, p->body_max, fy_strerror(rc));
        fy_buf_free(&b);
        return record_dead_letter(p, reason, route, src, msg);
    }
    if (rc == FY_OK) {
        FY_STAT_INC(p->stats.records);
    }
    fy_buf_free(&b);
    return append_result(p, rc, &err);
}

/* Build the record for one route and append it. Decode failures are dead-lettered. */
/* Payload codec, envelope, destinations, journal for one decoded uplink (cleared here). raw is
 * what the envelope id hashes when the uplink has no frame counter. */
static int deliver_uplink(struct fy_pipeline *p, struct route *rt, const struct fy_route_match *m,
                          struct fy_source *src, const struct fy_msg *msg, struct fy_uplink *upp,
                          const void *raw, size_t raw_len)
{
    const struct fy_route_conf *rc = rt->conf;
    char dests[FY_RECORD_MAX_DESTS][DEST_MAX];
    struct fy_uplink up = *upp; /* takes ownership */
    struct fy_envelope env = {0};
    struct fy_record rec = {0};
    struct fy_err err = {0};
    char reason[400];
    cJSON *obj = NULL;
    size_t i;
    int rc_;

    fy_uplink_init(upp);
    if (rt->codec != NULL) {
        if (rt->codec->decode(rt->codec_ctx, &up, &obj, &err) != FY_OK) {
            FY_STAT_INC(p->stats.decode_errors);
            snprintf(reason, sizeof(reason), "codec %s: %s", rc->codec, err.msg);
            fy_log_warn(TAG, "route '%s': device %s dead-lettered: %s", rc->name,
                        up.device_id[0] ? up.device_id : up.dev_eui, reason);
            fy_uplink_clear(&up);
            return dead_letter(p, "decode", reason, rc->name, src, msg);
        }
        /* The decoded object goes into obj alongside the uplink it came from. */
        {
            cJSON *wrap = fy_uplink_to_json(&up);
            if (wrap == NULL) {
                cJSON_Delete(obj);
                fy_uplink_clear(&up);
                return FY_EAGAIN;
            }
            cJSON_AddItemToObject(wrap, "decoded", obj);
            obj = wrap;
        }
    }
    rc_ = fy_envelope_build(&env, &up, obj, rc->rec_type, rc->event_type,
                            src != NULL ? fy_source_name(src) : msg->source, raw, raw_len, &err);
    obj = NULL; /* owned by the envelope builder now */
    if (rc_ == FY_ENOMEM) {
        fy_uplink_clear(&up);
        return FY_EAGAIN; /* not this message's fault: retry it */
    }
    if (rc_ != FY_OK) {
        FY_STAT_INC(p->stats.decode_errors);
        fy_uplink_clear(&up);
        return dead_letter(p, "decode", err.msg, rc->name, src, msg);
    }

    {
        const char *vars[] = {"recType",  rc->rec_type,     "deviceId", up.device_id,
                              "devEUI",   up.dev_eui,       "applicationId", up.application_id,
                              NULL};
        rec.n_dests = rc->n_targets < FY_RECORD_MAX_DESTS ? rc->n_targets : FY_RECORD_MAX_DESTS;
        for (i = 0; i < rec.n_dests; i++) {
            const struct fy_route_target *t = &rc->targets[i];
            dests[i][0] = '\0';
            if (t->topic != NULL &&
                fy_template_expand(t->topic, vars, m, dests[i], DEST_MAX, &err) != FY_OK) {
                snprintf(reason, sizeof(reason), "sink %s: destination template: %s", t->sink,
                         err.msg);
                fy_envelope_clear(&env);
                fy_uplink_clear(&up);
                return dead_letter(p, "decode", reason, rc->name, src, msg);
            }
            rec.dests[i].sink = t->sink;
            rec.dests[i].dest = dests[i];
        }
    }
    rec.id = env.id;
    rec.key = env.key;
    rec.rec_type = rc->rec_type;
    rec.event_type = rc->event_type != NULL ? rc->event_type : "create";
    rec.body = env.json;
    rec.body_len = env.len;
    rec.created_ms = msg->recv_ms;
    /* checked before dedup: a record that can never be stored must not enter the window */
    if (record_problem(p, &rec, reason, sizeof(reason)) != FY_OK) {
        fy_envelope_clear(&env);
        fy_uplink_clear(&up);
        return record_dead_letter(p, reason, rc->name, src, msg);
    }
    if (p->dedup != NULL && fy_dedup_check_add(p->dedup, env.id)) {
        FY_STAT_INC(p->stats.duplicates);
        fy_envelope_clear(&env);
        fy_uplink_clear(&up);
        return FY_OK; /* already journaled: acknowledge without a second record */
    }
    rc_ = journal_record(p, &rec, rc->name, src, msg);
    fy_envelope_clear(&env);
    fy_uplink_clear(&up);
    return rc_;
}

/* Decode msg with the route's format (one uplink, or several for batch formats) and deliver
 * each. Decode failures are dead-lettered. */
static int run_route(struct fy_pipeline *p, struct route *rt, const struct fy_route_match *m,
                     struct fy_source *src, const struct fy_msg *msg)
{
    const struct fy_route_conf *rc = rt->conf;
    struct fy_uplink up, *many = NULL;
    struct fy_err err = {0};
    char reason[400];
    size_t n = 0, i;
    int rc_ = FY_OK;

    fy_uplink_init(&up);
    if (rt->format->decode_multi != NULL
            ? rt->format->decode_multi(msg, &many, &n, &err) != FY_OK
        : rt->format_ctx != NULL ? rt->format->decode_ctx(rt->format_ctx, msg, &up, &err) != FY_OK
                                 : rt->format->decode(msg, &up, &err) != FY_OK) {
        FY_STAT_INC(p->stats.decode_errors);
        snprintf(reason, sizeof(reason), "format %s: %s", rc->format, err.msg);
        fy_log_warn(TAG, "route '%s': message on '%s' dead-lettered: %s", rc->name, msg->topic,
                    reason);
        fy_uplink_clear(&up);
        return dead_letter(p, "decode", reason, rc->name, src, msg);
    }
    if (rt->format->decode_multi == NULL) {
        return deliver_uplink(p, rt, m, src, msg, &up, msg->payload, msg->len);
    }
    /* a batch: each element is its own record (its id hashes the element's bytes) */
    for (i = 0; i < n; i++) {
        if (rc_ == FY_OK) {
            rc_ = deliver_uplink(p, rt, m, src, msg, &many[i], many[i].payload,
                                 many[i].payload_len);
        }
        fy_uplink_clear(&many[i]);
    }
    free(many);
    return rc_;
}

/* A message no route matched: count it, log once per topic, send it to the catch-all sink. */
static int unmatched(struct fy_pipeline *p, struct fy_source *src, const struct fy_msg *msg)
{
    const struct fy_config *cfg = p->cfg;
    struct fy_uplink up;
    struct fy_envelope env = {0};
    struct fy_record rec = {0};
    struct fy_err err = {0};
    char reason[300];
    cJSON *obj;
    int rc;

    FY_STAT_INC(p->stats.unmatched);
    if (first_unmatched(p, msg->topic)) {
        fy_log_warn(TAG, "no route matches topic '%s' (from %s)%s", msg->topic,
                    src != NULL ? fy_source_name(src) : "?",
                    cfg->unmatched_sink ? ": sent to the unmatched sink" : ": dropped");
    }
    if (cfg->unmatched_sink == NULL) {
        return FY_OK;
    }
    obj = cJSON_CreateObject();
    if (obj == NULL || cJSON_AddStringToObject(obj, "topic", msg->topic) == NULL) {
        cJSON_Delete(obj);
        return FY_EAGAIN;
    }
    {
        cJSON *payload = cJSON_ParseWithLength(msg->payload, msg->len);
        if (payload == NULL) {
            /* not JSON: keep the bytes as hex */
            char *h = malloc(msg->len * 2 + 1);
            if (h == NULL) {
                cJSON_Delete(obj);
                return FY_EAGAIN;
            }
            fy_hex_encode(msg->payload, msg->len, h);
            cJSON_AddStringToObject(obj, "payloadHex", h);
            free(h);
        } else {
            cJSON_AddItemToObject(obj, "payload", payload);
        }
    }
    fy_uplink_init(&up);
    rc = fy_envelope_build(&env, &up, obj, "ferry.unmatched", "create",
                           src != NULL ? fy_source_name(src) : msg->source, msg->payload,
                           msg->len, &err);
    if (rc == FY_ENOMEM) {
        return FY_EAGAIN;
    }
    if (rc != FY_OK) {
        return dead_letter(p, "decode", err.msg, NULL, src, msg);
    }
    rec.id = env.id;
    rec.key = env.key;
    rec.rec_type = "ferry.unmatched";
    rec.event_type = "create";
    rec.body = env.json;
    rec.body_len = env.len;
    rec.created_ms = msg->recv_ms;
    rec.n_dests = 1;
    rec.dests[0].sink = cfg->unmatched_sink;
    rec.dests[0].dest = cfg->unmatched_topic != NULL ? cfg->unmatched_topic : "";
    if (record_problem(p, &rec, reason, sizeof(reason)) != FY_OK) {
        fy_envelope_clear(&env);
        return record_dead_letter(p, reason, NULL, src, msg);
    }
    rc = journal_record(p, &rec, NULL, src, msg);
    fy_envelope_clear(&env);
    return rc;
}

int fy_pipeline_emit(void *arg, struct fy_source *src, const struct fy_msg *msg)
{
    struct fy_pipeline *p = arg;
    struct fy_route_match m[MAX_MATCHES];
    char reason[200];
    size_t n;
    size_t i;
    int rc;

    if (atomic_load(&p->failed)) {
        return FY_EIO; /* the journal's storage failed: nothing more is acknowledged */
    }
    if (atomic_load(&p->held)) {
        return FY_EFULL; /* a sink is over its quota: do not acknowledge yet */
    }
    FY_STAT_INC(p->stats.received);
    if (msg->len > (size_t)p->cfg->max_payload) {
        FY_STAT_INC(p->stats.too_big);
        snprintf(reason, sizeof(reason), "payload of %zu bytes is over max_payload %" PRId64,
                 msg->len, p->cfg->max_payload);
        fy_log_warn(TAG, "message on '%s' dead-lettered: %s", msg->topic, reason);
        return dead_letter(p, "ingest", reason, NULL, src, msg);
    }
    n = fy_router_match(p->router, msg->topic, src != NULL ? fy_source_name(src) : msg->source,
                        m, MAX_MATCHES);
    if (n == 0) {
        return unmatched(p, src, msg);
    }
    FY_STAT_INC(p->stats.routed);
    for (i = 0; i < n; i++) {
        rc = run_route(p, &p->routes[m[i].route], &m[i], src, msg);
        if (rc != FY_OK) {
            return rc;
        }
    }
    return FY_OK;
}
