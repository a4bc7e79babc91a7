/* kafka_conf.h - the Kafka sink's context, its option table, and the librdkafka configuration
 * built from it (Fluent Bit's out_kafka split: callbacks in kafka.c, configuration here). */
#ifndef FY_KAFKA_CONF_H
#define FY_KAFKA_CONF_H

#include "core/err.h"
#include "core/opts.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct fy_sink;

/* Words of the ENUM options, indexed by the int the host stores in the context. */
extern const char *const fy_kafka_conf_compression[];
extern const char *const fy_kafka_conf_protocols[];
extern const char *const fy_kafka_conf_mechanisms[];

enum { FY_KAFKA_PLAINTEXT = 0, FY_KAFKA_SSL, FY_KAFKA_SASL_PLAINTEXT, FY_KAFKA_SASL_SSL };

/* Size of the topic cache's bucket array, and the most topics it keeps (more distinct topics
 * still work: they are produced by name, without a cached handle). */
#define FY_KAFKA_TOPIC_BUCKETS 64
#define FY_KAFKA_TOPIC_MAX 1024

/* One cached topic handle (kafka.c), chained per bucket. */
struct fy_kafka_topic {
    struct fy_kafka_topic *next;
    rd_kafka_topic_t *rkt;
    char name[];
};

/* The sink instance's context. The host allocates it zeroed and fills the options from
 * fy_kafka_conf_opts before init; the host frees the option strings. */
struct fy_kafka {
    /* ==== options ==== */
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

    /* ==== state (kafka.c) ==== */
    struct fy_sink *snk;
    rd_kafka_t *rk;
    atomic_int fatal;          /* a fatal producer error was seen: rebuild on the next poll */
    size_t inflight;           /* produced, delivery report not yet served */
    struct fy_kafka_topic *topics[FY_KAFKA_TOPIC_BUCKETS];
    size_t n_topics;
    uint64_t delivered, retried, rejected, rebuilds;
    int64_t rebuild_at_ms;     /* earliest next attempt after a failed rebuild */
    int purged;                /* the current (fatal) producer was purged */
    int failing;               /* the last report failed: log the recovery on the next OK */
    int exiting;               /* exit began: reports are counted, no longer completed */
};

/* The option table ({0}-terminated), for the plugin record in kafka.c. */
extern const struct fy_opt fy_kafka_conf_opts[];

/* Cross-option checks the table cannot express (TLS files without TLS, SASL without
 * credentials, message_timeout_ms <= linger_ms). FY_ECONFIG with a reason. */
int fy_kafka_conf_check(const struct fy_kafka *k, struct fy_err *err);

/* Build a librdkafka producer configuration from k: the typed options, then the forced
 * reliability settings (enable.idempotence=true, acks=all), then every rdkafka.* pass-through.
 * Callbacks and the opaque are left to the caller. Returns a new conf (caller frees with
 * rd_kafka_conf_destroy, or hands it to rd_kafka_new), or NULL with err set; a bad
 * pass-through is reported as "FILE:LINE:COL: rdkafka.<name>: <librdkafka's reason>", with
 * the value masked when it is secret. */
rd_kafka_conf_t *fy_kafka_conf_build(const struct fy_kafka *k, struct fy_err *err);

/* Test accessor (kafka.c): the current producer of a kafka sink's context, e.g. for
 * rd_kafka_handle_mock_cluster(). Valid until the next poll (a fatal error rebuilds it). */
rd_kafka_t *fy_sink_kafka_handle(void *ctx);

/* Test accessor (kafka.c): the sink's counters of delivery reports served so far. */
void fy_sink_kafka_stats(void *ctx, uint64_t *delivered, uint64_t *retried, uint64_t *rejected,
                         uint64_t *rebuilds);

#endif
