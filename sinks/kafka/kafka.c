/* kafka.c - the Kafka sink: an idempotent librdkafka producer (acks=all); key = device, headers
 * recType / event_type / id, and the outcome of every record taken from its delivery report.
 *
 * DESIGN: init and exit run on the main thread; submit, poll and drain on the sink's worker.
 * Delivery reports and the error callback are served inside rd_kafka_poll()/rd_kafka_flush()
 * on the worker, so the counters and the topic cache need no lock. Only the log callback runs
 * on librdkafka's own threads; it reads nothing but the constant instance tag.
 *
 * The journal is the buffer (docs/reliability.md, "Kafka sink"): at most max_inflight records sit in librdkafka
 * (submit answers FY_EAGAIN beyond that, and on QUEUE_FULL). Every accepted record gets
 * exactly one completion: OK, REJECT for what no retry can fix (too large, invalid), RETRY for
 * everything else (timeouts, NOT_PERSISTED / POSSIBLY_PERSISTED, broker down, purged). The core
 * stops feeding on a RETRY, waits for every outstanding report and replays from its cursor,
 * which keeps per-key order; the price is duplicates carrying the same envelope id.
 *
 * A fatal producer error (idempotence sequence/epoch trouble, reported by error_cb with
 * RD_KAFKA_RESP_ERR__FATAL) marks the context. The next poll purges everything queued or in
 * flight (their reports complete as RETRY), flushes until no report is outstanding, destroys
 * the producer and builds a new one: a new producer id, so the replay starts a clean session. */
#include "sinks/kafka/kafka_conf.h"
#include "sinks/sink.h"

#include "core/clock.h"
#include "core/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REBUILD_EVERY_MS 1000 /* retry a failed producer rebuild at most this often */
#define EXIT_FLUSH_MS 2000    /* last chance for in-flight records at exit */

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    if (ms > 0) {
        nanosleep(&ts, NULL);
    }
}

/* ==== librdkafka callbacks ==== */

/* librdkafka's syslog levels onto ours, with the instance tag (runs on librdkafka threads). */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct fy_kafka *k = rd_kafka_opaque(rk);
    enum fy_log_level l = level <= 3 ? FY_LOG_ERROR
                        : level == 4 ? FY_LOG_WARN
                        : level <= 6 ? FY_LOG_INFO
                                     : FY_LOG_DEBUG;
    const char *tag = k != NULL && k->snk != NULL ? fy_sink_tag(k->snk) : "sink:kafka";

    if (l == FY_LOG_ERROR && strcmp(fac, "FAIL") == 0) {
        l = FY_LOG_WARN; /* a broker connection failed: expected during outages, retried */
    }
    if (l >= FY_LOG_DEBUG && fy_log_level_get() < FY_LOG_DEBUG) {
        return;
    }
    fy_log(l, tag, "librdkafka %s: %s", fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct fy_kafka *k = opaque;
    char why[512];

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, why, sizeof(why));
        fy_log_error(fy_sink_tag(k->snk), "fatal producer error, in-flight records will be "
                     "retried from the journal on a new producer: %s", why);
        atomic_store(&k->fatal, 1);
        return;
    }
    /* Transport errors are expected during outages and the log callback already has the
     * connection failure; delivery reports carry the outcome. */
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        fy_log_warn(fy_sink_tag(k->snk), "%s: %s", rd_kafka_err2name(err), reason);
    } else {
        fy_log_error(fy_sink_tag(k->snk), "%s: %s", rd_kafka_err2name(err), reason);
    }
}

/* A delivery error as the core's outcome (STYLE C5: the sink classifies, the core decides).
 * REJECT only when the same record can never succeed; an authorization failure is RETRY:
 * an operator fixes ACLs, and until then records wait in the journal, in order, instead of
 * the whole stream being dead-lettered in seconds. */
static enum fy_sink_result classify(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return FY_SINK_OK;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
        return FY_SINK_REJECT;
    default:
        return FY_SINK_RETRY;
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct fy_kafka *k = opaque;
    uint64_t ticket = (uint64_t)(uintptr_t)m->_private;
    enum fy_sink_result res = classify(m->err);
    char reason[300];

    (void)rk;
    k->inflight--;
    if (res == FY_SINK_OK) {
        k->delivered++;
        if (k->failing) {
            fy_log_info(fy_sink_tag(k->snk), "deliveries succeed again");
            k->failing = 0;
        }
        if (!k->exiting) {
            fy_sink_complete(k->snk, ticket, FY_SINK_OK, NULL);
        }
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        atomic_store(&k->fatal, 1);
    }
    snprintf(reason, sizeof(reason), "Kafka %s: %s", rd_kafka_err2name(m->err),
             rd_kafka_err2str(m->err));
    if (res == FY_SINK_REJECT) {
        k->rejected++;
    } else {
        k->retried++;
        if (!k->failing) {
            fy_log_warn(fy_sink_tag(k->snk), "delivery failed (records will be retried): %s",
                        reason);
            k->failing = 1;
        }
    }
    if (!k->exiting) {
        fy_sink_complete(k->snk, ticket, res, reason);
    }
}

/* ==== topic handles: a small chained hash, destroyed with the producer ==== */

static size_t topic_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h % FY_KAFKA_TOPIC_BUCKETS;
}

/* Kafka's rule for topic names: 1..249 of [a-zA-Z0-9._-]. */
static int topic_name_ok(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++, n++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-')) {
            return 0;
        }
    }
    return n >= 1 && n <= 249;
}

/* The cached handle for name, creating it; NULL when the cache is full or librdkafka refused
 * (the caller then produces by name). */
static rd_kafka_topic_t *topic_get(struct fy_kafka *k, const char *name)
{
    size_t b = topic_hash(name), len = strlen(name);
    struct fy_kafka_topic *t;

    for (t = k->topics[b]; t != NULL; t = t->next) {
        if (strcmp(t->name, name) == 0) {
            return t->rkt;
        }
    }
    if (k->n_topics >= FY_KAFKA_TOPIC_MAX) {
        return NULL;
    }
    t = malloc(sizeof(*t) + len + 1);
    if (t == NULL) {
        return NULL;
    }
    memcpy(t->name, name, len + 1);
    t->rkt = rd_kafka_topic_new(k->rk, name, NULL);
    if (t->rkt == NULL) {
        free(t);
        return NULL;
    }
    t->next = k->topics[b];
    k->topics[b] = t;
    k->n_topics++;
    return t->rkt;
}

static void topics_clear(struct fy_kafka *k)
{
    struct fy_kafka_topic *t, *next;
    size_t b;

    for (b = 0; b < FY_KAFKA_TOPIC_BUCKETS; b++) {
        for (t = k->topics[b]; t != NULL; t = next) {
            next = t->next;
            rd_kafka_topic_destroy(t->rkt);
            free(t);
        }
        k->topics[b] = NULL;
    }
    k->n_topics = 0;
}

/* ==== producer life cycle ==== */

static rd_kafka_t *producer_new(struct fy_kafka *k, struct fy_err *err)
{
    rd_kafka_conf_t *c = fy_kafka_conf_build(k, err);
    char errstr[512];
    rd_kafka_t *rk;

    if (c == NULL) {
        return NULL;
    }
    rd_kafka_conf_set_opaque(c, k);
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_error_cb(c, on_error);
    rd_kafka_conf_set_log_cb(c, on_log);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof(errstr));
    if (rk == NULL) {
        rd_kafka_conf_destroy(c); /* rd_kafka_new only takes ownership on success */
        fy_err_set(err, FY_ECONFIG, "cannot create the Kafka producer: %s", errstr);
        return NULL;
    }
    c = NULL; /* now owned by rk */
    return rk;
}

static void producer_destroy(struct fy_kafka *k)
{
    topics_clear(k); /* topic handles hold a reference on rk: release them first */
    if (k->rk != NULL) {
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
    }
}

/* After a fatal error: purge, serve every outstanding report (as RETRY), then replace the
 * producer. Spread over polls: returns with fatal still set while reports are outstanding or
 * while a new producer cannot be built (tried again every REBUILD_EVERY_MS). */
static void rebuild(struct fy_kafka *k, int timeout_ms)
{
    struct fy_err err = {0};

    if (k->rk != NULL) {
        if (!k->purged) {
            rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            k->purged = 1;
        }
        rd_kafka_flush(k->rk, timeout_ms > 100 ? timeout_ms : 100);
        if (k->inflight > 0) {
            return;
        }
        producer_destroy(k);
    }
    if (fy_clock_mono_ms() < k->rebuild_at_ms) {
        nap_ms(timeout_ms);
        return;
    }
    k->rk = producer_new(k, &err);
    if (k->rk == NULL) {
        k->rebuild_at_ms = fy_clock_mono_ms() + REBUILD_EVERY_MS;
        fy_log_error(fy_sink_tag(k->snk), "cannot rebuild the producer (trying again in %d ms): "
                     "%s", REBUILD_EVERY_MS, err.msg);
        return;
    }
    k->purged = 0;
    k->rebuilds++;
    atomic_store(&k->fatal, 0);
    fy_log_info(fy_sink_tag(k->snk), "new producer after a fatal error (rebuild %llu)",
                (unsigned long long)k->rebuilds);
}

/* ==== plugin callbacks ==== */

static int kafka_check(void *ctx, struct fy_err *err)
{
    rd_kafka_conf_t *c = fy_kafka_conf_build(ctx, err);

    if (c == NULL) {
        return err != NULL ? err->code : FY_ECONFIG;
    }
    rd_kafka_conf_destroy(c);
    return FY_OK;
}

static int kafka_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    struct fy_kafka *k = ctx;

    k->snk = snk;
    k->rk = producer_new(k, err);
    if (k->rk == NULL) {
        return err->code;
    }
    fy_log_info(fy_sink_tag(snk), "producer to %s (idempotent, acks=all, compression %s, "
                "at most %lld in flight, message timeout %lld ms)", k->brokers,
                fy_kafka_conf_compression[k->compression], (long long)k->max_inflight,
                (long long)k->message_timeout_ms);
    return FY_OK;
}

/* Complete at once (the record is accepted and finished within submit). */
static int finish_now(struct fy_kafka *k, uint64_t ticket, enum fy_sink_result res,
                      const char *reason)
{
    if (res == FY_SINK_REJECT) {
        k->rejected++;
    } else {
        k->retried++;
    }
    fy_sink_complete(k->snk, ticket, res, reason);
    return FY_OK;
}

static int kafka_submit(void *ctx, const struct fy_record *rec, const char *dest, uint64_t ticket)
{
    struct fy_kafka *k = ctx;
    const char *topic = dest != NULL && dest[0] != '\0' ? dest : k->topic;
    rd_kafka_topic_t *rkt;
    rd_kafka_headers_t *h;
    rd_kafka_resp_err_t e;
    size_t keylen = rec->key != NULL ? strlen(rec->key) : 0;
    char reason[300];

    if (k->rk == NULL || atomic_load(&k->fatal) || k->inflight >= (size_t)k->max_inflight) {
        return FY_EAGAIN;
    }
    if (!topic_name_ok(topic)) {
        snprintf(reason, sizeof(reason), "invalid Kafka topic name '%.200s' (1..249 of "
                 "a-z A-Z 0-9 . _ -)", topic);
        return finish_now(k, ticket, FY_SINK_REJECT, reason);
    }
    rkt = topic_get(k, topic);
    h = rd_kafka_headers_new(3);
    if (h == NULL) {
        return FY_EAGAIN;
    }
    if (rec->rec_type != NULL) {
        rd_kafka_header_add(h, "recType", -1, rec->rec_type, -1);
    }
    if (rec->event_type != NULL) {
        rd_kafka_header_add(h, "event_type", -1, rec->event_type, -1);
    }
    if (rec->id != NULL) {
        rd_kafka_header_add(h, "id", -1, rec->id, -1);
    }
    /* RD_KAFKA_MSG_F_COPY: rec is borrowed until return. On success h belongs to the message. */
    if (rkt != NULL) {
        e = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(rkt),
                              RD_KAFKA_V_KEY(rec->key, keylen),
                              RD_KAFKA_V_VALUE((void *)rec->body, rec->body_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)ticket), RD_KAFKA_V_END);
    } else {
        e = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_KEY(rec->key, keylen),
                              RD_KAFKA_V_VALUE((void *)rec->body, rec->body_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)ticket), RD_KAFKA_V_END);
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        k->inflight++;
        return FY_OK;
    }
    rd_kafka_headers_destroy(h); /* not taken on failure */
    switch (e) {
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return FY_EAGAIN;
    case RD_KAFKA_RESP_ERR__FATAL:
        atomic_store(&k->fatal, 1); /* the next poll rebuilds; then this record goes again */
        return FY_EAGAIN;
    default:
        snprintf(reason, sizeof(reason), "Kafka %s: %s", rd_kafka_err2name(e),
                 rd_kafka_err2str(e));
        return finish_now(k, ticket, classify(e), reason);
    }
}

static void kafka_poll(void *ctx, int timeout_ms)
{
    struct fy_kafka *k = ctx;

    if (atomic_load(&k->fatal)) {
        rebuild(k, timeout_ms);
        return;
    }
    rd_kafka_poll(k->rk, timeout_ms);
    if (atomic_load(&k->fatal)) {
        rebuild(k, 0); /* the error callback just ran: start purging now */
    }
}

static int kafka_drain(void *ctx, int timeout_ms)
{
    struct fy_kafka *k = ctx;
    int64_t deadline = fy_clock_mono_ms() + timeout_ms;

    while (k->inflight > 0 || atomic_load(&k->fatal)) {
        int64_t left = deadline - fy_clock_mono_ms();
        if (left <= 0) {
            return FY_ETIMEOUT;
        }
        kafka_poll(k, left < 100 ? (int)left : 100);
    }
    return FY_OK;
}

static void kafka_exit(void *ctx)
{
    struct fy_kafka *k = ctx;
    size_t left;

    if (k->rk != NULL) {
        /* The core has drained; what is still out gets no completion (the journal cursor has
         * not passed it, so it is delivered again after the restart). */
        k->exiting = 1;
        rd_kafka_flush(k->rk, EXIT_FLUSH_MS);
    }
    left = k->inflight;
    producer_destroy(k);
    fy_log_info(fy_sink_tag(k->snk), "producer closed: %llu delivered, %llu retried, %llu "
                "rejected, %llu rebuilds, %zu unreported at exit",
                (unsigned long long)k->delivered, (unsigned long long)k->retried,
                (unsigned long long)k->rejected, (unsigned long long)k->rebuilds, left);
}

/* ==== test accessors (kafka_conf.h) ==== */

rd_kafka_t *fy_sink_kafka_handle(void *ctx)
{
    return ((struct fy_kafka *)ctx)->rk;
}

void fy_sink_kafka_stats(void *ctx, uint64_t *delivered, uint64_t *retried, uint64_t *rejected,
                         uint64_t *rebuilds)
{
    const struct fy_kafka *k = ctx;

    *delivered = k->delivered;
    *retried = k->retried;
    *rejected = k->rejected;
    *rebuilds = k->rebuilds;
}

const struct fy_sink_plugin fy_sink_kafka = {
    .abi = FY_SINK_ABI,
    .name = "kafka",
    .description = "Apache Kafka producer (librdkafka): idempotent, acks=all, key = device",
    .opts = fy_kafka_conf_opts,
    .ctx_size = sizeof(struct fy_kafka),
    .init = kafka_init,
    .submit = kafka_submit,
    .poll = kafka_poll,
    .drain = kafka_drain,
    .exit = kafka_exit,
    .max_inflight = 10000,
    .check = kafka_check,
};
