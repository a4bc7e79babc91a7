/* mqtt.c - the MQTT sink: each record's envelope published to an MQTT broker (QoS 0 or 1, topic
 * from a template), a record is OK only once the broker acknowledged it (PUBACK for QoS 1).
 *
 * DESIGN: libmosquitto, not Paho. Paho C runs every client of the process on one receive
 * thread under one global mutex, and the MQTT source blocks inside that thread while the
 * journal is full (docs/reliability.md, "MQTT source", point 7). A sink on the same Paho could
 * then not complete the very records whose completion frees the journal: a deadlock.
 * libmosquitto keeps all state per client (struct mosquitto) and locks per client.
 *
 * Threads. init and exit run on the main thread; submit, poll and drain on the sink's worker.
 * One network thread per instance (net_main, our own loop around mosquitto_loop rather than
 * mosquitto_loop_start, whose thread ends for good on an auth, TLS or protocol error) connects,
 * serves the socket and reconnects with doubling backoff (reconnect_min_s..reconnect_max_s).
 * libmosquitto's callbacks run on that thread and touch only atomics and the ack queue under
 * mu: on_publish queues (mid, reason code), and poll, on the worker, maps mid -> ticket and
 * completes. The worker alone owns the ring of records in flight and the mid table, so a
 * PUBACK that arrives before mosquitto_publish_v5 has returned its mid is still matched.
 *
 * Reliability. The journal is the buffer: at most max_inflight records sit in libmosquitto
 * (submit answers FY_EAGAIN beyond that). The session is persistent (clean session off, a
 * fixed client id, MQTT 5 session expiry session_expiry_s), so after a reconnect libmosquitto
 * resends the unacknowledged QoS 1 PUBLISHes, in their order, with DUP set. Every accepted
 * record gets exactly one completion: OK on its PUBACK (reason code < 0x80); REJECT for what no
 * retry can fix (a topic that renders empty, holds '+' or '#', or is over 65535 bytes; a packet
 * over the broker's maximum; PUBACK 0x90 topic name invalid, 0x99 payload format invalid);
 * RETRY for everything else, and for a record without its acknowledgement after ack_timeout_ms
 * (e.g. while the broker is down). While disconnected, submit waits (FY_EAGAIN) up to
 * ack_timeout_ms from the loss of the connection, then answers RETRY at once, so the core sees
 * the outage and keeps the records in the journal: nothing is dropped. A record completed as
 * RETRY may still be resent by libmosquitto after a reconnect: a duplicate with the same
 * envelope id, never a loss.
 *
 * Order. On one connection MQTT delivers the messages of one topic and QoS in order, also with
 * many in flight; after a reconnect libmosquitto resends in order. A RETRY makes the core wait
 * for all outstanding records and replay from its cursor, which keeps per-device order (with
 * duplicates). */
#include "sinks/mqtt/mqtt_conf.h"
#include "sinks/sink.h"

#include "core/clock.h"
#include "core/log.h"
#include "sinks/record_template.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MQTT_TOPIC_MAX 65535 /* a UTF-8 string in MQTT has a 16-bit length */
#define EXIT_JOIN_MS 3000    /* the network thread stops within a loop pass (100 ms) */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    if (ms > 0) {
        nanosleep(&ts, NULL);
    }
}

static const char *tag(const struct fy_mqttsink *m)
{
    return m->snk != NULL ? fy_sink_tag(m->snk) : "sink:mqtt";
}

static void set_error(struct fy_mqttsink *m, const char *what, int rc)
{
    pthread_mutex_lock(&m->mu);
    if (rc == MOSQ_ERR_ERRNO) {
        snprintf(m->last_error, sizeof(m->last_error), "%s: %s", what, strerror(errno));
    } else {
        snprintf(m->last_error, sizeof(m->last_error), "%s: %s", what, mosquitto_strerror(rc));
    }
    pthread_mutex_unlock(&m->mu);
}

/* ==== libmosquitto callbacks (network thread) ==== */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct fy_mqttsink *m = obj;

    (void)mosq, (void)props;
    if (rc != 0) {
        pthread_mutex_lock(&m->mu);
        snprintf(m->last_error, sizeof(m->last_error), "broker refused the connection: %s",
                 m->protocol == FY_MQTTSINK_V5 ? mosquitto_reason_string(rc)
                                               : mosquitto_connack_string(rc));
        pthread_mutex_unlock(&m->mu);
        return;
    }
    atomic_fetch_add(&m->connects, 1);
    atomic_store(&m->connected, 1);
    fy_log_info(tag(m), "connected to %s:%d (session %s)", m->host, m->port,
                (flags & 1) ? "resumed" : "new");
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    struct fy_mqttsink *m = obj;

    (void)mosq, (void)props;
    if (atomic_exchange(&m->connected, 0)) {
        atomic_store(&m->down_since_ms, fy_clock_mono_ms());
        if (!atomic_load(&m->stop)) {
            set_error(m, "connection lost", rc == 0 ? MOSQ_ERR_CONN_LOST : rc);
            fy_log_warn(tag(m), "connection to %s:%d lost (%s); reconnecting", m->host, m->port,
                        mosquitto_strerror(rc));
        }
    }
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason_code,
                       const mosquitto_property *props)
{
    struct fy_mqttsink *m = obj;
    struct fy_mqttsink_ack *a;

    (void)mosq, (void)props;
    pthread_mutex_lock(&m->mu);
    if (m->n_acks == m->cap_acks) {
        size_t cap = m->cap_acks ? m->cap_acks * 2 : 256;
        a = realloc(m->acks, cap * sizeof(*a));
        if (a == NULL) {
            /* the record then times out as RETRY: a duplicate, never a loss */
            pthread_mutex_unlock(&m->mu);
            return;
        }
        m->acks = a;
        m->cap_acks = cap;
    }
    m->acks[m->n_acks].mid = mid;
    m->acks[m->n_acks].reason_code = reason_code;
    m->n_acks++;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* ==== the network thread ==== */

/* Sleep up to ms, in short steps, unless stop is set. */
static void nap_unless_stop(struct fy_mqttsink *m, int64_t ms)
{
    while (ms > 0 && !atomic_load(&m->stop)) {
        int step = ms > 100 ? 100 : (int)ms;
        nap_ms(step);
        ms -= step;
    }
}

static void *net_main(void *arg)
{
    struct fy_mqttsink *m = arg;
    mosquitto_property *props = NULL;
    int64_t delay_s = m->reconnect_min_s;
    int need_connect = 1, warned = 0, rc;

    if (m->protocol == FY_MQTTSINK_V5) {
        mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     (uint32_t)m->session_expiry_s);
    }
    while (!atomic_load(&m->stop)) {
        if (need_connect) {
            rc = mosquitto_connect_bind_v5(m->mosq, m->host, m->port, (int)m->keepalive_s, NULL,
                                           props);
            if (rc != MOSQ_ERR_SUCCESS) {
                set_error(m, "connect", rc);
                if (!warned) {
                    pthread_mutex_lock(&m->mu);
                    fy_log_warn(tag(m), "cannot connect to %s:%d (retrying every %lld..%lld s): "
                                "%s", m->host, m->port, (long long)m->reconnect_min_s,
                                (long long)m->reconnect_max_s, m->last_error);
                    pthread_mutex_unlock(&m->mu);
                    warned = 1;
                }
                nap_unless_stop(m, delay_s * 1000);
                delay_s = delay_s * 2 > m->reconnect_max_s ? m->reconnect_max_s : delay_s * 2;
                continue;
            }
            need_connect = 0;
        }
        rc = mosquitto_loop(m->mosq, 100, 1);
        if (rc == MOSQ_ERR_SUCCESS) {
            if (atomic_load(&m->connected)) {
                delay_s = m->reconnect_min_s;
                warned = 0;
            }
            continue;
        }
        /* lost, refused (CONNACK) or a protocol error: start over after the backoff */
        if (atomic_exchange(&m->connected, 0)) {
            atomic_store(&m->down_since_ms, fy_clock_mono_ms());
            set_error(m, "connection lost", rc);
        }
        if (!warned && !atomic_load(&m->stop)) {
            pthread_mutex_lock(&m->mu);
            fy_log_warn(tag(m), "no connection to %s:%d (reconnecting in %lld s): %s", m->host,
                        m->port, (long long)delay_s, m->last_error);
            pthread_mutex_unlock(&m->mu);
            warned = 1;
        }
        nap_unless_stop(m, delay_s * 1000);
        delay_s = delay_s * 2 > m->reconnect_max_s ? m->reconnect_max_s : delay_s * 2;
        need_connect = 1;
    }
    mosquitto_property_free_all(&props);
    return NULL;
}

/* ==== plugin callbacks ==== */

static int key_password(char *buf, int size, int rwflag, void *userdata)
{
    const struct fy_mqttsink *m = userdata;
    size_t n = m->tls_key_password != NULL ? strlen(m->tls_key_password) : 0;

    (void)rwflag;
    if (size <= 0 || n >= (size_t)size) {
        return 0;
    }
    memcpy(buf, m->tls_key_password, n + 1);
    return (int)n;
}

static int mqtt_check(void *ctx, struct fy_err *err)
{
    return fy_mqttsink_conf_check(ctx, err);
}

/* Apply the options to a new libmosquitto client. */
static int client_setup(struct fy_mqttsink *m, const char *client_id, struct fy_err *err)
{
    int rc;

    m->mosq = mosquitto_new(client_id, false, m); /* clean session off: the session persists */
    if (m->mosq == NULL) {
        return fy_err_set(err, FY_ENOMEM, "cannot create the MQTT client: %s", strerror(errno));
    }
    mosquitto_threaded_set(m->mosq, true);
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         m->protocol == FY_MQTTSINK_V5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_int_option(m->mosq, MOSQ_OPT_SEND_MAXIMUM, (int)m->max_inflight);
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(m->mosq, on_publish);
    if (m->username != NULL) {
        rc = mosquitto_username_pw_set(m->mosq, m->username, m->password);
        if (rc != MOSQ_ERR_SUCCESS) {
            return fy_err_set(err, FY_ECONFIG, "username: %s", mosquitto_strerror(rc));
        }
    }
    if (m->tls) {
        if (m->tls_ca_file == NULL) {
            mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
        }
        rc = mosquitto_tls_set(m->mosq, m->tls_ca_file, m->tls_ca_file == NULL ? "/etc/ssl/certs"
                                                                              : NULL,
                               m->tls_cert_file, m->tls_key_file,
                               m->tls_key_password != NULL ? key_password : NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            return fy_err_set(err, FY_ECONFIG, "TLS files (tls_ca_file, tls_cert_file, "
                              "tls_key_file): %s", rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                                                        : mosquitto_strerror(rc));
        }
        mosquitto_tls_opts_set(m->mosq, m->tls_verify ? 1 : 0, NULL, NULL);
        mosquitto_tls_insecure_set(m->mosq, !m->tls_verify);
    }
    return FY_OK;
}

static int mqtt_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    struct fy_mqttsink *m = ctx;
    const char *client_id = m->client_id;
    size_t i, n;

    m->snk = snk;
    if (fy_mqttsink_conf_check(m, err) != FY_OK) {
        return err->code;
    }
    pthread_once(&lib_once, lib_init);
    if (client_id == NULL) {
        n = strlen(fy_sink_name(snk)) + sizeof("ferry-sink-");
        m->client_id_buf = malloc(n);
        if (m->client_id_buf == NULL) {
            return fy_err_set(err, FY_ENOMEM, "out of memory");
        }
        snprintf(m->client_id_buf, n, "ferry-sink-%s", fy_sink_name(snk));
        client_id = m->client_id_buf;
    }
    pthread_mutex_init(&m->mu, NULL);
    fy_clock_cond_init(&m->cv);
    m->mu_init = 1;
    m->ring = calloc((size_t)m->max_inflight, sizeof(*m->ring));
    m->mid_slot = malloc(FY_MQTTSINK_MIDS * sizeof(*m->mid_slot));
    if (m->ring == NULL || m->mid_slot == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    for (i = 0; i < FY_MQTTSINK_MIDS; i++) {
        m->mid_slot[i] = -1;
    }
    if (client_setup(m, client_id, err) != FY_OK) {
        return err->code;
    }
    atomic_store(&m->down_since_ms, fy_clock_mono_ms());
    snprintf(m->last_error, sizeof(m->last_error), "not connected yet");
    if (pthread_create(&m->net, NULL, net_main, m) != 0) {
        return fy_err_set(err, FY_ENOMEM, "cannot start the network thread");
    }
    m->net_started = 1;
    fy_log_info(tag(m), "publishing to %s:%d%s as '%s' (MQTT %s, QoS %lld%s, at most %lld in "
                "flight)", m->host, m->port, m->tls ? " (TLS)" : "", client_id,
                fy_mqttsink_protocols[m->protocol], (long long)m->qos,
                m->retain ? ", retained" : "", (long long)m->max_inflight);
    return FY_OK;
}

/* Complete the ring entry at idx (once), counting the outcome. */
static void finish(struct fy_mqttsink *m, size_t idx, enum fy_sink_result res, const char *reason)
{
    struct fy_mqttsink_slot *s = &m->ring[idx];

    s->done = 1;
    if (s->mid >= 0 && m->mid_slot[s->mid] == (int32_t)idx) {
        m->mid_slot[s->mid] = -1;
    }
    m->outstanding--;
    if (res == FY_SINK_OK) {
        m->delivered++;
        if (m->failing) {
            fy_log_info(tag(m), "deliveries succeed again");
            m->failing = 0;
        }
    } else if (res == FY_SINK_REJECT) {
        m->rejected++;
    } else {
        m->retried++;
        if (!m->failing) {
            fy_log_warn(tag(m), "delivery failed (records will be retried): %s", reason);
            m->failing = 1;
        }
    }
    if (!m->exiting) {
        fy_sink_complete(m->snk, s->ticket, res, reason);
    }
}

/* Complete a record that never reached libmosquitto, within submit. */
static int finish_now(struct fy_mqttsink *m, uint64_t ticket, enum fy_sink_result res,
                      const char *reason)
{
    if (res == FY_SINK_REJECT) {
        m->rejected++;
    } else {
        m->retried++;
    }
    fy_sink_complete(m->snk, ticket, res, reason);
    return FY_OK;
}

/* The topic for rec: the route's destination, else the topic template. NULL + reason when
 * the record cannot be addressed. *owned is set when the result is to be freed. */
static const char *topic_for(struct fy_mqttsink *m, const struct fy_record *rec,
                             const char *dest, char **owned, char *reason, size_t size)
{
    struct fy_err err = {0};
    const char *t = dest;
    size_t n;

    *owned = NULL;
    if (t == NULL || t[0] == '\0') {
        if (fy_sink_tmpl_render(m->topic, rec, FY_TEMPLATE_RAW, MQTT_TOPIC_MAX, owned, &err) !=
            FY_OK) {
            snprintf(reason, size, "topic: %s", err.msg);
            return NULL;
        }
        t = *owned;
    }
    n = strlen(t);
    if (n == 0) {
        snprintf(reason, size, "topic is empty for this record");
    } else if (n > MQTT_TOPIC_MAX) {
        snprintf(reason, size, "topic is %zu bytes, over MQTT's 65535", n);
    } else if (strpbrk(t, "+#") != NULL) {
        snprintf(reason, size, "topic '%.200s' holds a wildcard ('+' or '#')", t);
    } else if (mosquitto_validate_utf8(t, (int)n) != MOSQ_ERR_SUCCESS) {
        snprintf(reason, size, "topic '%.200s' is not valid UTF-8", t);
    } else {
        return t;
    }
    free(*owned);
    *owned = NULL;
    return NULL;
}

/* MQTT 5 publish properties: content type and the envelope's recType and id. */
static mosquitto_property *publish_props(const struct fy_mqttsink *m, const struct fy_record *rec)
{
    mosquitto_property *p = NULL;

    if (m->protocol != FY_MQTTSINK_V5) {
        return NULL;
    }
    mosquitto_property_add_string(&p, MQTT_PROP_CONTENT_TYPE, "application/json");
    if (rec->rec_type != NULL) {
        mosquitto_property_add_string_pair(&p, MQTT_PROP_USER_PROPERTY, "recType",
                                           rec->rec_type);
    }
    if (rec->id != NULL) {
        mosquitto_property_add_string_pair(&p, MQTT_PROP_USER_PROPERTY, "id", rec->id);
    }
    return p;
}

static int mqtt_submit(void *ctx, const struct fy_record *rec, const char *dest, uint64_t ticket)
{
    struct fy_mqttsink *m = ctx;
    size_t cap = (size_t)m->max_inflight, idx;
    mosquitto_property *props;
    char reason[400], *owned;
    const char *topic;
    int mid = -1, rc;
    int64_t down_ms;

    if (m->exiting || m->ring_len >= cap) {
        return FY_EAGAIN;
    }
    topic = topic_for(m, rec, dest, &owned, reason, sizeof(reason));
    if (topic == NULL) {
        return finish_now(m, ticket, FY_SINK_REJECT, reason);
    }
    if (!atomic_load(&m->connected)) {
        down_ms = fy_clock_mono_ms() - atomic_load(&m->down_since_ms);
        free(owned);
        if (down_ms < m->ack_timeout_ms) {
            return FY_EAGAIN; /* a short outage or the first connect: wait a little */
        }
        pthread_mutex_lock(&m->mu);
        snprintf(reason, sizeof(reason), "not connected to %s:%d for %lld ms: %s", m->host,
                 m->port, (long long)down_ms, m->last_error);
        pthread_mutex_unlock(&m->mu);
        return finish_now(m, ticket, FY_SINK_RETRY, reason);
    }
    if (rec->body_len > MQTT_MAX_PAYLOAD) {
        free(owned);
        return finish_now(m, ticket, FY_SINK_REJECT, "envelope over MQTT's maximum payload");
    }
    props = publish_props(m, rec);
    rc = mosquitto_publish_v5(m->mosq, &mid, topic, (int)rec->body_len, rec->body, (int)m->qos,
                              m->retain != 0, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS && mid < 0) {
        /* refused before a packet id was given: nothing was queued */
        snprintf(reason, sizeof(reason), "MQTT publish to '%.200s': %s", topic,
                 mosquitto_strerror(rc));
        free(owned);
        switch (rc) {
        case MOSQ_ERR_NOMEM:
            return FY_EAGAIN;
        case MOSQ_ERR_INVAL:
        case MOSQ_ERR_MALFORMED_UTF8:
        case MOSQ_ERR_PAYLOAD_SIZE:
        case MOSQ_ERR_OVERSIZE_PACKET:
        case MOSQ_ERR_QOS_NOT_SUPPORTED:
        case MOSQ_ERR_NOT_SUPPORTED:
            return finish_now(m, ticket, FY_SINK_REJECT, reason);
        default:
            return finish_now(m, ticket, FY_SINK_RETRY, reason);
        }
    }
    free(owned);
    /* Queued in libmosquitto with a packet id (a lost connection just now leaves it queued
     * for the resend after the reconnect): its PUBACK, or ack_timeout_ms, completes it. */
    idx = (m->ring_head + m->ring_len) % cap;
    m->ring[idx].ticket = ticket;
    m->ring[idx].sent_ms = fy_clock_mono_ms();
    m->ring[idx].mid = mid & 0xffff;
    m->ring[idx].done = 0;
    m->mid_slot[mid & 0xffff] = (int32_t)idx;
    m->ring_len++;
    m->outstanding++;
    return FY_OK;
}

/* A PUBACK reason code as the core's outcome (MQTT 5; 3.1.1 and QoS 0 give 0). */
static enum fy_sink_result classify(int rc)
{
    if (rc < 0x80) {
        return FY_SINK_OK; /* 0x00 success, 0x10 no matching subscribers */
    }
    if (rc == MQTT_RC_TOPIC_NAME_INVALID || rc == MQTT_RC_PAYLOAD_FORMAT_INVALID) {
        return FY_SINK_REJECT;
    }
    return FY_SINK_RETRY; /* not authorized (an operator fixes ACLs), quota exceeded, ... */
}

static void serve_acks(struct fy_mqttsink *m, int timeout_ms)
{
    struct fy_mqttsink_ack *acks;
    size_t n, i;
    char reason[200];

    pthread_mutex_lock(&m->mu);
    if (m->n_acks == 0 && timeout_ms > 0) {
        struct timespec until = fy_clock_abstime(timeout_ms);
        pthread_cond_timedwait(&m->cv, &m->mu, &until);
    }
    acks = m->acks;
    n = m->n_acks;
    m->acks = NULL;
    m->n_acks = m->cap_acks = 0;
    pthread_mutex_unlock(&m->mu);
    for (i = 0; i < n; i++) {
        int32_t idx = m->mid_slot[acks[i].mid & 0xffff];
        enum fy_sink_result res = classify(acks[i].reason_code);
        if (idx < 0 || m->ring[idx].done) {
            continue; /* already completed as RETRY (timed out), resent after a reconnect */
        }
        snprintf(reason, sizeof(reason), "MQTT PUBACK 0x%02x: %s", acks[i].reason_code,
                 mosquitto_reason_string(acks[i].reason_code));
        finish(m, (size_t)idx, res, res == FY_SINK_OK ? NULL : reason);
    }
    free(acks);
}

/* Records without their acknowledgement after ack_timeout_ms are RETRY (oldest first: the
 * ring is in publish order), then finished entries leave the ring. */
static void expire(struct fy_mqttsink *m)
{
    size_t cap = (size_t)m->max_inflight, k, idx;
    int64_t now = fy_clock_mono_ms();
    char reason[400];

    for (k = 0; k < m->ring_len; k++) {
        idx = (m->ring_head + k) % cap;
        if (m->ring[idx].done) {
            continue;
        }
        if (now - m->ring[idx].sent_ms < m->ack_timeout_ms) {
            break;
        }
        pthread_mutex_lock(&m->mu);
        snprintf(reason, sizeof(reason), "no acknowledgement from %s:%d within %lld ms (%s)",
                 m->host, m->port, (long long)m->ack_timeout_ms,
                 atomic_load(&m->connected) ? "connected" : m->last_error);
        pthread_mutex_unlock(&m->mu);
        finish(m, idx, FY_SINK_RETRY, reason);
    }
    while (m->ring_len > 0 && m->ring[m->ring_head].done) {
        m->ring_head = (m->ring_head + 1) % cap;
        m->ring_len--;
    }
}

static void mqtt_poll(void *ctx, int timeout_ms)
{
    struct fy_mqttsink *m = ctx;

    serve_acks(m, timeout_ms);
    expire(m);
}

static int mqtt_drain(void *ctx, int timeout_ms)
{
    struct fy_mqttsink *m = ctx;
    int64_t deadline = fy_clock_mono_ms() + timeout_ms;

    while (m->outstanding > 0) {
        int64_t left = deadline - fy_clock_mono_ms();
        if (left <= 0) {
            return FY_ETIMEOUT;
        }
        mqtt_poll(m, left < 100 ? (int)left : 100);
    }
    expire(m);
    return FY_OK;
}

static void mqtt_exit(void *ctx)
{
    struct fy_mqttsink *m = ctx;
    struct timespec until;

    m->exiting = 1; /* the core has drained: what is still out gets no completion (the
                       journal cursor has not passed it, so it goes again after a restart) */
    if (m->net_started) {
        atomic_store(&m->stop, 1);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += EXIT_JOIN_MS / 1000;
        if (pthread_timedjoin_np(m->net, NULL, &until) != 0) {
            /* stuck in a blocking connect (a black-holed broker): cancel it there */
            pthread_cancel(m->net);
            pthread_join(m->net, NULL);
        }
        m->net_started = 0;
    }
    if (m->mosq != NULL) {
        mosquitto_threaded_set(m->mosq, false);
        if (atomic_load(&m->connected)) {
            mosquitto_disconnect(m->mosq); /* the session (and what is unacknowledged) stays */
        }
        mosquitto_destroy(m->mosq);
        m->mosq = NULL;
    }
    if (m->snk != NULL) {
        fy_log_info(tag(m), "client closed: %llu delivered, %llu retried, %llu rejected, %llu "
                    "connects, %zu unacknowledged at exit", (unsigned long long)m->delivered,
                    (unsigned long long)m->retried, (unsigned long long)m->rejected,
                    (unsigned long long)atomic_load(&m->connects), m->outstanding);
    }
    if (m->mu_init) {
        pthread_mutex_destroy(&m->mu);
        pthread_cond_destroy(&m->cv);
        m->mu_init = 0;
    }
    free(m->acks);
    free(m->ring);
    free(m->mid_slot);
    free(m->client_id_buf);
    m->acks = NULL;
    m->ring = NULL;
    m->mid_slot = NULL;
    m->client_id_buf = NULL;
}

/* ==== test accessor (mqtt_conf.h) ==== */

void fy_sink_mqtt_stats(void *ctx, uint64_t *delivered, uint64_t *retried, uint64_t *rejected,
                        uint64_t *connects)
{
    const struct fy_mqttsink *m = ctx;

    *delivered = m->delivered;
    *retried = m->retried;
    *rejected = m->rejected;
    *connects = atomic_load(&m->connects);
}

const struct fy_sink_plugin fy_sink_mqtt = {
    .abi = FY_SINK_ABI,
    .name = "mqtt",
    .description = "MQTT publisher (libmosquitto): QoS 1, OK on PUBACK, persistent session",
    .opts = fy_mqttsink_conf_opts,
    .ctx_size = sizeof(struct fy_mqttsink),
    .init = mqtt_init,
    .submit = mqtt_submit,
    .poll = mqtt_poll,
    .drain = mqtt_drain,
    .exit = mqtt_exit,
    .max_inflight = 10000,
    .check = mqtt_check,
};
