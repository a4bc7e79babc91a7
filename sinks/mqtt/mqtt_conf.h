/* mqtt_conf.h - the MQTT sink's context, its option table and the checks of the options
 * (callbacks in mqtt.c, configuration in mqtt_conf.c: the split of the Kafka sink). */
#ifndef FY_MQTT_SINK_CONF_H
#define FY_MQTT_SINK_CONF_H

#include "core/err.h"
#include "core/opts.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct fy_sink;
struct mosquitto;

/* Words of the protocol ENUM, indexed by the int the host stores. */
extern const char *const fy_mqttsink_protocols[];
enum { FY_MQTTSINK_V5 = 0, FY_MQTTSINK_V311 };

/* MQTT packet identifiers are 16 bits: a table indexed by mid maps a PUBACK to its record. */
#define FY_MQTTSINK_MIDS 65536

/* One record handed to libmosquitto, in submit order (a ring of max_inflight entries). */
struct fy_mqttsink_slot {
    uint64_t ticket;
    int64_t sent_ms;   /* when it was published (for ack_timeout_ms) */
    int mid;
    int done;          /* completed (acknowledged, timed out or rejected); popped in order */
};

/* An acknowledgement seen on libmosquitto's thread, queued for the poll thread. */
struct fy_mqttsink_ack {
    int mid;
    int reason_code; /* MQTT 5 PUBACK reason code (0 for 3.1.1 and QoS 0) */
};

/* The sink instance's context. The host allocates it zeroed and fills the options from
 * fy_mqttsink_conf_opts before init; the host frees the option strings. */
struct fy_mqttsink {
    /* ==== options ==== */
    char *url;
    char *topic;
    int64_t qos;
    int retain;
    char *client_id;
    char *username;
    char *password;
    int protocol;
    int64_t session_expiry_s;
    int64_t keepalive_s;
    int64_t reconnect_min_s;
    int64_t reconnect_max_s;
    int64_t max_inflight;
    int64_t ack_timeout_ms;
    char *tls_ca_file;
    char *tls_cert_file;
    char *tls_key_file;
    char *tls_key_password;
    int tls_verify;

    /* ==== parsed from url (mqtt_conf.c) ==== */
    char host[256];
    int port;
    int tls;

    /* ==== state (mqtt.c) ==== */
    struct fy_sink *snk;
    struct mosquitto *mosq;
    char *client_id_buf;       /* the default client id, when the option is not set */
    pthread_t net;             /* the network thread: connect, loop, reconnect with backoff */
    int net_started;
    atomic_int stop;
    atomic_int connected;      /* CONNACK accepted, no disconnect since */
    atomic_llong down_since_ms; /* monotonic time the connection was lost (or init) */
    /* acks from the network thread, served by poll (lock: mu) */
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* signalled when an ack is queued */
    int mu_init;
    struct fy_mqttsink_ack *acks;
    size_t n_acks, cap_acks;
    char last_error[256];      /* why the last connection attempt or connection failed (mu) */
    /* owned by the worker thread (submit, poll, drain) */
    struct fy_mqttsink_slot *ring;
    size_t ring_head, ring_len; /* oldest entry, entries (done or not) */
    size_t outstanding;        /* entries not done */
    int32_t *mid_slot;         /* mid -> ring index, -1 when none */
    uint64_t delivered, retried, rejected;
    atomic_ullong connects;    /* CONNACKs accepted (network thread) */
    int failing;
    int exiting;
};

/* The option table ({0}-terminated), for the plugin record in mqtt.c. */
extern const struct fy_opt fy_mqttsink_conf_opts[];

/* Parse url into m->host/port/tls and check what the table cannot express (TLS files
 * without TLS, a certificate without its key, the topic template, reconnect bounds).
 * FY_ECONFIG with a reason. */
int fy_mqttsink_conf_check(struct fy_mqttsink *m, struct fy_err *err);

/* Test accessor (mqtt.c): counters of the outcomes served so far, and how many times the sink
 * connected. */
void fy_sink_mqtt_stats(void *ctx, uint64_t *delivered, uint64_t *retried, uint64_t *rejected,
                        uint64_t *connects);

#endif
