/* kafka.c - the Kafka sink: an idempotent librdkafka producer (acks=all), key = device,
 * headers recType / event_type / id, outcome of every record from its delivery report.
 *
 * DESIGN: all calls come from the sink's worker thread; delivery reports run inside
 * rd_kafka_poll() on that thread and call fy_sink_complete(). librdkafka's own threads only
 * call the log and error callbacks, which log. The journal is the buffer (RELIABILITY.md): at
 * most max_inflight records sit in librdkafka; a failed report means RETRY and the core
 * replays from the journal cursor, which keeps per-key order. A fatal producer error (e.g.
 * out-of-order sequence) purges what is in flight (all complete as RETRY) and the producer is
 * rebuilt on the next poll. */
#include "sinks/sink.h"

#include "bridge/core/log.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const compression_words[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
static const char *const protocol_words[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl",
                                             NULL};
static const char *const mechanism_words[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", NULL};

struct kafka_ctx {
    /* options (filled by the host from the table below) */
    char *brokers;
    char *topic;
    char *client_id;
    int compression;
    int64_t linger_ms;
    int64_t message_timeout_ms;
    int64_t max_inflight;
    int security_protocol;
    int sasl_mechanism;
    char *sasl_username;
    char *sasl_password;
    char *ssl_ca_location;
    char *ssl_certificate_location;
    char *ssl_key_location;
    char *ssl_key_password;
    struct fy_kv_list rdkafka;
    /* state */
    struct fy_sink *snk;
    rd_kafka_t *rk;
    atomic_int fatal;          /* set by the error callback (librdkafka thread) */
    size_t inflight;
    uint64_t delivered, failed;
};

static const struct fy_opt kafka_opts[] = {
    FY_OPT_STR("brokers", NULL, FY_REQUIRED, offsetof(struct kafka_ctx, brokers),
               "bootstrap servers host:port,..."),
    FY_OPT_STR("topic", "ferry-uplinks", 0, offsetof(struct kafka_ctx, topic),
               "topic when the route gives none"),
    FY_OPT_STR("client_id", "ferry", 0, offsetof(struct kafka_ctx, client_id), "client.id"),
    FY_OPT_ENUM("compression", "lz4", compression_words, offsetof(struct kafka_ctx, compression),
                "compression codec"),
    FY_OPT_INT("linger_ms", "5", 0, 60000, offsetof(struct kafka_ctx, linger_ms),
               "batching delay"),
    FY_OPT_INT("message_timeout_ms", "300000", 1000, 86400000,
               offsetof(struct kafka_ctx, message_timeout_ms),
               "how long librdkafka retries one record before reporting it failed"),
    FY_OPT_INT("max_inflight", "10000", 1, 1000000, offsetof(struct kafka_ctx, max_inflight),
               "records handed to librdkafka and not yet reported"),
    FY_OPT_ENUM("security_protocol", "plaintext", protocol_words,
                offsetof(struct kafka_ctx, security_protocol), "security.protocol"),
    FY_OPT_ENUM("sasl_mechanism", "PLAIN", mechanism_words,
                offsetof(struct kafka_ctx, sasl_mechanism), "sasl.mechanism"),
    FY_OPT_STR("sasl_username", NULL, 0, offsetof(struct kafka_ctx, sasl_username),
               "sasl.username"),
    FY_OPT_STR("sasl_password", NULL, FY_SECRET, offsetof(struct kafka_ctx, sasl_password),
               "sasl.password"),
    FY_OPT_STR("ssl_ca_location", NULL, 0, offsetof(struct kafka_ctx, ssl_ca_location),
               "CA bundle"),
    FY_OPT_STR("ssl_certificate_location", NULL, 0,
               offsetof(struct kafka_ctx, ssl_certificate_location), "client certificate"),
    FY_OPT_STR("ssl_key_location", NULL, 0, offsetof(struct kafka_ctx, ssl_key_location),
               "client key"),
    FY_OPT_STR("ssl_key_password", NULL, FY_SECRET, offsetof(struct kafka_ctx, ssl_key_password),
               "client key password"),
    FY_OPT_PREFIX("rdkafka.", offsetof(struct kafka_ctx, rdkafka),
                  "any librdkafka producer property"),
    {0},
};

/* ==== callbacks ==== */

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct kafka_ctx *k = rd_kafka_opaque(rk);
    enum fy_log_level l = level <= 3 ? FY_LOG_ERROR : level <= 4 ? FY_LOG_WARN
                        : level <= 6 ? FY_LOG_INFO : FY_LOG_DEBUG;

    fy_log(l, k != NULL ? fy_sink_tag(k->snk) : "sink:kafka", "librdkafka %s: %s", fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka_ctx *k = opaque;
    char why[512];

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, why, sizeof(why));
        fy_log_error(fy_sink_tag(k->snk), "fatal producer error, rebuilding the producer: %s",
                     why);
        atomic_store(&k->fatal, 1);
        return;
    }
    /* Transport errors are expected during outages; delivery reports carry the outcome. */
    fy_log_warn(fy_sink_tag(k->snk), "%s: %s", rd_kafka_err2name(err), reason);
}

/* Map a delivery error to the core's outcome. */
static enum fy_sink_result classify(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return FY_SINK_OK;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return FY_SINK_REJECT;
    default:
        return FY_SINK_RETRY; /* timeouts, (possibly) not persisted, broker down, purged */
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka_ctx *k = opaque;
    uint64_t ticket = (uint64_t)(uintptr_t)m->_private;
    enum fy_sink_result res = classify(m->err);
    char reason[300];

    (void)rk;
    k->inflight--;
    if (res == FY_SINK_OK) {
        k->delivered++;
        fy_sink_complete(k->snk, ticket, FY_SINK_OK, NULL);
        return;
    }
    k->failed++;
    snprintf(reason, sizeof(reason), "Kafka %s: %s", rd_kafka_err2name(m->err),
             rd_kafka_err2str(m->err));
    fy_sink_complete(k->snk, ticket, res, reason);
}

/* ==== producer ==== */

static int set(rd_kafka_conf_t *c, const char *name, const char *value, struct fy_err *err)
{
    char errstr[512];

    if (value == NULL) {
        return FY_OK;
    }
    if (rd_kafka_conf_set(c, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        return fy_err_set(err, FY_ECONFIG, "%s: %s", name, errstr);
    }
    return FY_OK;
}

/* Build the librdkafka configuration; NULL + err naming the bad property. */
static rd_kafka_conf_t *conf_new(struct kafka_ctx *k, struct fy_err *err)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char num[32], errstr[512];
    size_t i;
    int rc = FY_OK;

    rd_kafka_conf_set_opaque(c, k);
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_error_cb(c, on_error);
    rd_kafka_conf_set_log_cb(c, on_log);
    rc |= set(c, "bootstrap.servers", k->brokers, err);
    rc |= set(c, "client.id", k->client_id, err);
    rc |= set(c, "enable.idempotence", "true", err);
    rc |= set(c, "acks", "all", err);
    rc |= set(c, "compression.codec", compression_words[k->compression], err);
    snprintf(num, sizeof(num), "%lld", (long long)k->linger_ms);
    rc |= set(c, "linger.ms", num, err);
    snprintf(num, sizeof(num), "%lld", (long long)k->message_timeout_ms);
    rc |= set(c, "message.timeout.ms", num, err);
    snprintf(num, sizeof(num), "%lld", (long long)k->max_inflight + 1000);
    rc |= set(c, "queue.buffering.max.messages", num, err);
    rc |= set(c, "security.protocol", protocol_words[k->security_protocol], err);
    if (k->security_protocol >= 2) {
        rc |= set(c, "sasl.mechanism", mechanism_words[k->sasl_mechanism], err);
        rc |= set(c, "sasl.username", k->sasl_username, err);
        rc |= set(c, "sasl.password", k->sasl_password, err);
    }
    rc |= set(c, "ssl.ca.location", k->ssl_ca_location, err);
    rc |= set(c, "ssl.certificate.location", k->ssl_certificate_location, err);
    rc |= set(c, "ssl.key.location", k->ssl_key_location, err);
    rc |= set(c, "ssl.key.password", k->ssl_key_password, err);
    if (rc != FY_OK) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    for (i = 0; i < k->rdkafka.n; i++) {
        const struct fy_kv *kv = &k->rdkafka.items[i];
        if (rd_kafka_conf_set(c, kv->key, kv->value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            fy_err_set(err, FY_ECONFIG, "line %d:%d: rdkafka.%s: %s", kv->line, kv->col, kv->key,
                       errstr);
            rd_kafka_conf_destroy(c);
            return NULL;
        }
    }
    return c;
}

static rd_kafka_t *producer_new(struct kafka_ctx *k, struct fy_err *err)
{
    rd_kafka_conf_t *c = conf_new(k, err);
    char errstr[512];
    rd_kafka_t *rk;

    if (c == NULL) {
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof(errstr));
    if (rk == NULL) {
        rd_kafka_conf_destroy(c);
        fy_err_set(err, FY_ECONFIG, "cannot create the Kafka producer: %s", errstr);
        return NULL;
    }
    /* c now belongs to rk */
    return rk;
}

static int kafka_check(void *ctx, struct fy_err *err)
{
    rd_kafka_conf_t *c = conf_new(ctx, err);

    if (c == NULL) {
        return FY_ECONFIG;
    }
    rd_kafka_conf_destroy(c);
    return FY_OK;
}

static int kafka_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    struct kafka_ctx *k = ctx;

    k->snk = snk;
    k->rk = producer_new(k, err);
    if (k->rk == NULL) {
        return err->code;
    }
    fy_log_info(fy_sink_tag(snk), "producer to %s (idempotent, acks=all, %s)", k->brokers,
                compression_words[k->compression]);
    return FY_OK;
}

static int kafka_submit(void *ctx, const struct fy_record *rec, const char *dest, uint64_t ticket)
{
    struct kafka_ctx *k = ctx;
    rd_kafka_headers_t *h;
    rd_kafka_resp_err_t e;

    if (k->inflight >= (size_t)k->max_inflight || atomic_load(&k->fatal)) {
        return FY_EAGAIN;
    }
    h = rd_kafka_headers_new(3);
    rd_kafka_header_add(h, "recType", -1, rec->rec_type, -1);
    rd_kafka_header_add(h, "event_type", -1, rec->event_type, -1);
    rd_kafka_header_add(h, "id", -1, rec->id, -1);
    e = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(dest != NULL && *dest ? dest : k->topic),
                          RD_KAFKA_V_KEY(rec->key, strlen(rec->key)),
                          RD_KAFKA_V_VALUE((void *)rec->body, rec->body_len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                          RD_KAFKA_V_OPAQUE((void *)(uintptr_t)ticket), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(h);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            return FY_EAGAIN;
        }
        if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || e == RD_KAFKA_RESP_ERR__INVALID_ARG) {
            char reason[300];
            snprintf(reason, sizeof(reason), "Kafka %s: %s", rd_kafka_err2name(e),
                     rd_kafka_err2str(e));
            k->failed++;
            fy_sink_complete(k->snk, ticket, FY_SINK_REJECT, reason);
            return FY_OK;
        }
        return FY_EAGAIN;
    }
    k->inflight++;
    return FY_OK;
}

static void kafka_poll(void *ctx, int timeout_ms)
{
    struct kafka_ctx *k = ctx;
    struct fy_err err = {0};

    rd_kafka_poll(k->rk, timeout_ms);
    if (atomic_load(&k->fatal)) {
        /* Fail everything in flight (reports arrive as RETRY), then start a new producer. */
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        while (k->inflight > 0) {
            rd_kafka_poll(k->rk, 100);
        }
        rd_kafka_destroy(k->rk);
        k->rk = producer_new(k, &err);
        if (k->rk == NULL) {
            fy_log_error(fy_sink_tag(k->snk), "cannot rebuild the producer: %s", err.msg);
            return; /* fatal stays set: submit refuses, we try again next poll */
        }
        atomic_store(&k->fatal, 0);
    }
}

static int kafka_drain(void *ctx, int timeout_ms)
{
    struct kafka_ctx *k = ctx;

    return rd_kafka_flush(k->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? FY_OK
                                                                           : FY_ETIMEOUT;
}

static void kafka_exit(void *ctx)
{
    struct kafka_ctx *k = ctx;

    if (k->rk != NULL) {
        rd_kafka_flush(k->rk, 1000);
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
    }
    fy_log_info(fy_sink_tag(k->snk), "producer closed: %llu delivered, %llu failed reports",
                (unsigned long long)k->delivered, (unsigned long long)k->failed);
}

/* Test accessor: the producer of a kafka sink's context (rd_kafka_handle_mock_cluster). */
rd_kafka_t *fy_sink_kafka_handle(void *ctx);

rd_kafka_t *fy_sink_kafka_handle(void *ctx)
{
    return ((struct kafka_ctx *)ctx)->rk;
}

const struct fy_sink_plugin fy_sink_kafka = {
    .abi = FY_SINK_ABI,
    .name = "kafka",
    .description = "Apache Kafka producer (librdkafka): idempotent, acks=all, key = device",
    .opts = kafka_opts,
    .ctx_size = sizeof(struct kafka_ctx),
    .init = kafka_init,
    .submit = kafka_submit,
    .poll = kafka_poll,
    .drain = kafka_drain,
    .exit = kafka_exit,
    .max_inflight = 10000,
    .check = kafka_check,
};
