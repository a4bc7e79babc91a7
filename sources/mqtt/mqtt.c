/* mqtt.c - the MQTT source (Eclipse Paho MQTTAsync): subscribes, hands each message to the
 * pipeline and acknowledges it only after the pipeline has journaled it.
 *
 * DESIGN: Paho runs its own threads; messageArrived runs on Paho's receive thread and calls
 * fy_source_emit(), which returns only once the records are in the journal; returning 1 then
 * lets Paho send the PUBACK. We never return 0 (docs/reliability.md, "MQTT source": that
 * does not withhold the PUBACK in Paho C). Backpressure (journal full) blocks inside the callback, retrying every
 * 50 ms: the broker stops after its in-flight window. Subscriptions are (re)made on every
 * connect, since Paho does not resubscribe after an automatic reconnect. The initial connect
 * is retried by a small connector thread until it succeeds; afterwards Paho reconnects. */
#include "sources/source.h"
#include "sources/mqtt/paho_guard.h"

#include "core/clock.h"
#include "core/hostport.h"
#include "core/log.h"
#include "core/redact.h"
#include "routes/topic.h"

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define MAX_TOPICS 64

static const char *const protocol_words[] = {"5", "3.1.1", NULL};

struct mqtt_ctx {
    /* options */
    char *url;
    char url_shown[512]; /* url with user-info and query values hidden, for logs */
    char *client_id;
    char *username;
    char *password;
    int protocol;                  /* 0 = MQTT 5, 1 = 3.1.1 */
    int clean_session;
    int64_t session_expiry_s;
    int64_t keepalive_s;
    int64_t reconnect_min_s;
    int64_t reconnect_max_s;
    int64_t max_inflight;
    const struct fy_node *topics_node;
    const struct fy_node *tls_node;
    /* parsed */
    char *filters[MAX_TOPICS];
    int qos[MAX_TOPICS];
    int n_topics;
    char *ca_file, *cert_file, *key_file, *key_password;
    int verify;
    /* state */
    struct fy_source *src;
    MQTTAsync client;
    pthread_t connector;
    int connector_running;
    atomic_int stopping;
    atomic_int paused;
    atomic_int connected;          /* connected and subscribed */
    atomic_int ever_connected;
    atomic_int in_callback_blocked;
    int abandoned;                 /* a callback still holds Paho: never call Paho again */
    int registered;                /* link is in paho_guard */
    struct fy_paho_link link;      /* this client's socket, for fy_paho_cut */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int connect_done;              /* result of the last connect attempt arrived */
    int connect_ok;
};

static const struct fy_opt mqtt_opts[] = {
    FY_OPT_STR("url", NULL, FY_REQUIRED, offsetof(struct mqtt_ctx, url),
               "broker URL: tcp://, ssl://, mqtts://, ws://, wss://"),
    FY_OPT_STR("client_id", NULL, 0, offsetof(struct mqtt_ctx, client_id),
               "fixed client id (default ferry-<source name>)"),
    FY_OPT_STR("username", NULL, 0, offsetof(struct mqtt_ctx, username), "user name"),
    FY_OPT_STR("password", NULL, FY_SECRET, offsetof(struct mqtt_ctx, password), "password"),
    FY_OPT_ENUM("protocol", "5", protocol_words, offsetof(struct mqtt_ctx, protocol),
                "MQTT version"),
    FY_OPT_BOOL("clean_session", "false", offsetof(struct mqtt_ctx, clean_session),
                "start without the broker-side session (loses queued messages)"),
    FY_OPT_INT("session_expiry_s", "3600", 0, 4294967295LL,
               offsetof(struct mqtt_ctx, session_expiry_s), "MQTT 5 session expiry"),
    FY_OPT_INT("keepalive_s", "60", 5, 65535, offsetof(struct mqtt_ctx, keepalive_s),
               "keep-alive interval"),
    FY_OPT_INT("reconnect_min_s", "1", 1, 3600, offsetof(struct mqtt_ctx, reconnect_min_s),
               "first reconnect delay"),
    FY_OPT_INT("reconnect_max_s", "30", 1, 3600, offsetof(struct mqtt_ctx, reconnect_max_s),
               "longest reconnect delay"),
    FY_OPT_INT("max_inflight", "20", 1, 65535, offsetof(struct mqtt_ctx, max_inflight),
               "MQTT 5 receive maximum: unacknowledged messages the broker may send"),
    FY_OPT_NODE("topics", FY_REQUIRED, offsetof(struct mqtt_ctx, topics_node),
                "filters to subscribe: a list of strings or {filter, qos}"),
    FY_OPT_NODE("tls", 0, offsetof(struct mqtt_ctx, tls_node),
                "ca_file, cert_file, key_file, key_password, verify"),
    {0},
};

struct tls_opts {
    char *ca_file, *cert_file, *key_file, *key_password;
    int verify;
};

static const struct fy_opt tls_opts_tbl[] = {
    FY_OPT_STR("ca_file", NULL, 0, offsetof(struct tls_opts, ca_file), "CA bundle"),
    FY_OPT_STR("cert_file", NULL, 0, offsetof(struct tls_opts, cert_file), "client certificate"),
    FY_OPT_STR("key_file", NULL, 0, offsetof(struct tls_opts, key_file), "client key"),
    FY_OPT_STR("key_password", NULL, FY_SECRET, offsetof(struct tls_opts, key_password),
               "client key password"),
    FY_OPT_BOOL("verify", "true", offsetof(struct tls_opts, verify),
                "verify the broker certificate and host name"),
    {0},
};

struct topic_opts {
    char *filter;
    int64_t qos;
};

static const struct fy_opt topic_opts_tbl[] = {
    FY_OPT_STR("filter", NULL, FY_REQUIRED, offsetof(struct topic_opts, filter), "topic filter"),
    FY_OPT_INT("qos", "1", 0, 2, offsetof(struct topic_opts, qos), "subscription QoS"),
    {0},
};

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ==== options beyond the table ==== */

static int parse_topics(struct mqtt_ctx *m, struct fy_err *err)
{
    const struct fy_node *t;
    struct fy_err ferr = {0};

    if (m->topics_node->type != FY_NODE_SEQ || m->topics_node->n_children == 0) {
        return fy_conf_error(err, m->topics_node, 0, "'topics' must be a non-empty list of "
                             "filters (strings or {filter, qos})");
    }
    for (t = m->topics_node->child; t != NULL; t = t->next) {
        struct topic_opts to = {0};
        if (m->n_topics == MAX_TOPICS) {
            return fy_conf_error(err, t, 0, "more than %d topics", MAX_TOPICS);
        }
        if (t->type == FY_NODE_SCALAR) {
            to.filter = strdup(t->value);
            to.qos = 1;
        } else if (fy_opts_apply(topic_opts_tbl, t, NULL, &to, err) != FY_OK) {
            fy_opts_free(topic_opts_tbl, &to);
            return FY_ECONFIG;
        }
        if (to.filter == NULL) {
            return fy_err_set(err, FY_ENOMEM, "out of memory");
        }
        m->filters[m->n_topics] = to.filter;
        m->qos[m->n_topics] = (int)to.qos;
        m->n_topics++;
        if (fy_topic_filter_check(to.filter, &ferr) != FY_OK) {
            return fy_conf_error(err, t, 0, "invalid topic filter: %s", ferr.msg);
        }
        if (strncmp(to.filter, "$share/", 7) == 0 && m->protocol != 0) {
            return fy_conf_error(err, t, 0, "shared subscription '%s' needs protocol: 5",
                                 to.filter);
        }
    }
    return FY_OK;
}

static int check_url(struct mqtt_ctx *m, struct fy_err *err)
{
    static const char *const schemes[] = {"tcp://", "mqtt://", "ssl://", "mqtts://", "ws://",
                                          "wss://", NULL};
    const char *auth;
    size_t i;

    for (i = 0; schemes[i] != NULL; i++) {
        if (strncmp(m->url, schemes[i], strlen(schemes[i])) == 0) {
            size_t n, k;
            auth = m->url + strlen(schemes[i]);
            n = strcspn(auth, "/?"); /* host:port, up to a websocket path */
            for (k = n; k > 0; k--) {
                if (auth[k - 1] == '@') { /* user-info: never checked, never shown */
                    auth += k;
                    n -= k;
                    break;
                }
            }
            if (fy_hostport_check(auth, n, 1, err) != FY_OK) {
                fy_err_prefix(err, "url: ");
                return err->code;
            }
            return FY_OK;
        }
    }
    return fy_err_set(err, FY_ECONFIG, "url '%s': expected tcp://, mqtt://, ssl://, mqtts://, "
                      "ws:// or wss:// followed by host:port", m->url_shown);
}

static int is_tls(const char *url)
{
    return strncmp(url, "ssl://", 6) == 0 || strncmp(url, "mqtts://", 8) == 0 ||
           strncmp(url, "wss://", 6) == 0;
}

/* ==== Paho callbacks ==== */

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *message)
{
    struct mqtt_ctx *m = context;
    struct fy_msg msg;
    char *t = topic;
    int rc;
    int warned = 0;

    if (topic_len > 0) {
        t = strndup(topic, (size_t)topic_len); /* topic may contain NULs when len is given */
    }
    msg.source = fy_source_name(m->src);
    msg.topic = t != NULL ? t : "";
    msg.payload = message->payload;
    msg.len = message->payloadlen > 0 ? (size_t)message->payloadlen : 0;
    msg.qos = message->qos;
    msg.recv_ms = fy_clock_wall_ms();
    for (;;) {
        while (atomic_load(&m->paused) && !atomic_load(&m->stopping)) {
            nap_ms(50);
        }
        rc = fy_source_emit(m->src, &msg);
        if (rc == FY_OK) {
            break; /* journaled, or durably dead-lettered */
        }
        /* Not stored: do not ack. Wait here; the broker stops at its in-flight window.
         * FY_EFULL/FY_EAGAIN: backpressure, retried. Anything else (FY_EIO, the journal's
         * storage failed): never acknowledged; the bridge is stopping. */
        if (!warned) {
            atomic_store(&m->in_callback_blocked, 1);
            fy_paho_blocking(1);
            if (rc == FY_EFULL || rc == FY_EAGAIN) {
                fy_log_warn(fy_source_tag(m->src), "message on '%s' waits for journal space; "
                            "not acknowledging until it is stored", msg.topic);
            } else {
                fy_log_error(fy_source_tag(m->src), "message on '%s' not stored (%s); not "
                             "acknowledging it", msg.topic, fy_strerror(rc));
            }
            warned = 1;
        }
        nap_ms(50);
        if (atomic_load(&m->stopping) || fy_paho_wanted()) {
            /* Stopping, or another thread needs Paho's lock, which this callback holds. Cut
             * the connection first: the PUBACK that returning sends can then never reach the
             * broker, which keeps the message and sends it to the next connection. */
            if (fy_paho_cut(&m->link)) {
                fy_log_warn(fy_source_tag(m->src), "message on '%s' not stored; connection "
                            "closed without acknowledging it (the broker sends it again)",
                            msg.topic);
                break;
            }
            if (atomic_load(&m->stopping)) {
                /* The socket is not known (docs/reliability.md, "MQTT source"): returning
                 * would ack an unstored message. Park; the process exits and the broker
                 * redelivers it to the next session. */
                for (;;) {
                    nap_ms(1000);
                }
            }
        }
    }
    if (warned) {
        fy_paho_blocking(0);
    }
    atomic_store(&m->in_callback_blocked, 0);
    if (t != topic) {
        free(t);
    }
    MQTTAsync_freeMessage(&message);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connection_lost(void *context, char *cause)
{
    struct mqtt_ctx *m = context;

    atomic_store(&m->connected, 0);
    fy_paho_lost(&m->link);
    if (!atomic_load(&m->stopping)) {
        fy_log_warn(fy_source_tag(m->src), "connection to %s lost (%s); reconnecting", m->url_shown,
                    cause != NULL ? cause : "no reason given");
    }
}

static void on_subscribe(void *context, MQTTAsync_successData *resp)
{
    struct mqtt_ctx *m = context;
    int i, bad = 0;

    for (i = 0; i < m->n_topics; i++) {
        int granted = m->n_topics == 1 ? resp->alt.qos
                                       : (resp->alt.qosList ? resp->alt.qosList[i] : m->qos[i]);
        if (granted == 0x80) {
            fy_log_error(fy_source_tag(m->src), "broker refused the subscription to '%s'",
                         m->filters[i]);
            bad = 1;
        } else if (granted < m->qos[i]) {
            fy_log_warn(fy_source_tag(m->src), "'%s' granted at QoS %d (asked %d)", m->filters[i],
                        granted, m->qos[i]);
        }
    }
    if (!bad) {
        atomic_store(&m->connected, 1);
        fy_log_info(fy_source_tag(m->src), "subscribed to %d filter(s)", m->n_topics);
    }
}

static void on_subscribe5(void *context, MQTTAsync_successData5 *resp)
{
    struct mqtt_ctx *m = context;
    int i, bad = 0;

    for (i = 0; i < m->n_topics; i++) {
        /* Paho fills alt.sub only for several topics; one topic's result is reasonCode */
        int rc = m->n_topics > 1 && resp->alt.sub.reasonCodeCount > i &&
                         resp->alt.sub.reasonCodes != NULL
                     ? (int)resp->alt.sub.reasonCodes[i]
                     : (int)resp->reasonCode;
        if (rc >= 0x80) {
            fy_log_error(fy_source_tag(m->src), "broker refused the subscription to '%s': %s",
                         m->filters[i], MQTTReasonCode_toString((enum MQTTReasonCodes)rc));
            bad = 1;
        }
    }
    if (!bad) {
        atomic_store(&m->connected, 1);
        fy_log_info(fy_source_tag(m->src), "subscribed to %d filter(s)", m->n_topics);
    }
}

static void on_subscribe_failure(void *context, MQTTAsync_failureData *resp)
{
    struct mqtt_ctx *m = context;

    if (atomic_load(&m->stopping)) {
        return; /* a subscribe still pending when stop disconnects is cancelled, not refused */
    }
    fy_log_error(fy_source_tag(m->src), "subscribe failed: %s (rc %d)",
                 resp && resp->message ? resp->message : "no reason", resp ? resp->code : 0);
}

static void on_subscribe_failure5(void *context, MQTTAsync_failureData5 *resp)
{
    struct mqtt_ctx *m = context;

    if (atomic_load(&m->stopping)) {
        return; /* a subscribe still pending when stop disconnects is cancelled, not refused */
    }
    /* A failure of Paho's own (the request cancelled or never sent) has reasonCode 0, which
     * would print as "SUCCESS": say Paho's code then. */
    fy_log_error(fy_source_tag(m->src), "subscribe failed: %s (rc %d)",
                 resp == NULL ? "no reason"
                 : resp->reasonCode != MQTTREASONCODE_SUCCESS
                     ? MQTTReasonCode_toString(resp->reasonCode)
                     : resp->message != NULL ? resp->message : MQTTAsync_strerror(resp->code),
                 resp ? resp->code : 0);
}

static void subscribe_all(struct mqtt_ctx *m)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc;

    ro.context = m;
    if (m->protocol == 0) {
        ro.onSuccess5 = on_subscribe5;
        ro.onFailure5 = on_subscribe_failure5;
    } else {
        ro.onSuccess = on_subscribe;
        ro.onFailure = on_subscribe_failure;
    }
    rc = MQTTAsync_subscribeMany(m->client, m->n_topics, m->filters, m->qos, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        fy_log_error(fy_source_tag(m->src), "subscribe request failed: %s",
                     MQTTAsync_strerror(rc));
    }
}

/* Paho calls this after every successful connect, including automatic reconnects. */
static void on_connected(void *context, char *cause)
{
    struct mqtt_ctx *m = context;

    atomic_store(&m->ever_connected, 1);
    fy_paho_connected(&m->link);
    (void)cause;
    fy_log_info(fy_source_tag(m->src), "connected to %s", m->url_shown);
    subscribe_all(m);
}

static void connect_result(struct mqtt_ctx *m, int ok, const char *why, int code)
{
    if (!ok && !atomic_load(&m->stopping)) {
        fy_log_warn(fy_source_tag(m->src), "cannot connect to %s: %s (%d)", m->url_shown,
                    why ? why : "no reason given", code);
    }
    pthread_mutex_lock(&m->mu);
    m->connect_done = 1;
    m->connect_ok = ok;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static void on_connect_ok(void *context, MQTTAsync_successData *resp)
{
    (void)resp;
    connect_result(context, 1, NULL, 0);
}

static void on_connect_ok5(void *context, MQTTAsync_successData5 *resp)
{
    (void)resp;
    connect_result(context, 1, NULL, 0);
}

static void on_connect_fail(void *context, MQTTAsync_failureData *resp)
{
    connect_result(context, 0, resp && resp->message ? resp->message : MQTTAsync_strerror(
                                   resp ? resp->code : MQTTASYNC_FAILURE),
                   resp ? resp->code : 0);
}

static void on_connect_fail5(void *context, MQTTAsync_failureData5 *resp)
{
    connect_result(context, 0,
                   resp && resp->message ? resp->message
                                         : MQTTReasonCode_toString(resp ? resp->reasonCode
                                                                        : MQTTREASONCODE_UNSPECIFIED_ERROR),
                   resp ? resp->code : 0);
}

/* ==== connect ==== */

static int connect_once(struct mqtt_ctx *m)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions co5 = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_connectOptions *c = m->protocol == 0 ? &co5 : &co;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    MQTTProperties props = MQTTProperties_initializer;
    MQTTProperty p;
    int rc;

    c->keepAliveInterval = (int)m->keepalive_s;
    c->automaticReconnect = 1;
    c->minRetryInterval = (int)m->reconnect_min_s;
    c->maxRetryInterval = (int)m->reconnect_max_s;
    c->username = m->username;
    c->password = m->password;
    c->context = m;
    if (m->protocol == 0) {
        c->cleanstart = m->clean_session;
        p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
        p.value.integer4 = (unsigned int)m->session_expiry_s;
        MQTTProperties_add(&props, &p);
        p.identifier = MQTTPROPERTY_CODE_RECEIVE_MAXIMUM;
        p.value.integer2 = (unsigned short)m->max_inflight;
        MQTTProperties_add(&props, &p);
        c->connectProperties = &props;
        c->onSuccess5 = on_connect_ok5;
        c->onFailure5 = on_connect_fail5;
    } else {
        c->cleansession = m->clean_session;
        c->MQTTVersion = MQTTVERSION_3_1_1;
        c->onSuccess = on_connect_ok;
        c->onFailure = on_connect_fail;
    }
    if (is_tls(m->url)) {
        ssl.trustStore = m->ca_file;
        ssl.keyStore = m->cert_file;
        ssl.privateKey = m->key_file;
        ssl.privateKeyPassword = m->key_password;
        ssl.enableServerCertAuth = m->verify; /* Paho's defaults are off: set them explicitly */
        ssl.verify = m->verify;
        c->ssl = &ssl;
    }
    pthread_mutex_lock(&m->mu);
    m->connect_done = 0;
    pthread_mutex_unlock(&m->mu);
    if (fy_paho_enter(1000)) {
        rc = MQTTAsync_connect(m->client, c);
    } else {
        rc = MQTTASYNC_FAILURE; /* another source's callback holds Paho: try again later */
    }
    fy_paho_leave();
    MQTTProperties_free(&props);
    if (rc != MQTTASYNC_SUCCESS) {
        fy_log_warn(fy_source_tag(m->src), "connect request failed: %s", MQTTAsync_strerror(rc));
        return 0;
    }
    pthread_mutex_lock(&m->mu);
    while (!m->connect_done && !atomic_load(&m->stopping)) {
        pthread_cond_wait(&m->cv, &m->mu);
    }
    rc = m->connect_ok;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* Retry the first connection with backoff; Paho handles reconnects after that. */
static void *connector(void *arg)
{
    struct mqtt_ctx *m = arg;
    int delay = (int)m->reconnect_min_s * 1000;

    while (!atomic_load(&m->stopping) && !connect_once(m)) {
        int waited = 0;
        while (waited < delay && !atomic_load(&m->stopping)) {
            nap_ms(100);
            waited += 100;
        }
        delay = delay * 2 > m->reconnect_max_s * 1000 ? (int)m->reconnect_max_s * 1000
                                                        : delay * 2;
    }
    return NULL;
}

/* ==== plugin callbacks ==== */

/* Everything about the options that can be checked without connecting. */
static int mqtt_check(void *ctx, struct fy_err *err)
{
    struct mqtt_ctx *m = ctx;

    fy_redact_url(m->url, m->url_shown, sizeof(m->url_shown));
    if (check_url(m, err) != FY_OK || parse_topics(m, err) != FY_OK) {
        return FY_ECONFIG;
    }
    m->verify = 1;
    if (m->tls_node != NULL) {
        struct tls_opts t = {0};
        if (fy_opts_apply(tls_opts_tbl, m->tls_node, NULL, &t, err) != FY_OK) {
            fy_opts_free(tls_opts_tbl, &t);
            return FY_ECONFIG;
        }
        m->ca_file = t.ca_file;
        m->cert_file = t.cert_file;
        m->key_file = t.key_file;
        m->key_password = t.key_password;
        m->verify = t.verify;
    }
    return FY_OK;
}

static void free_parsed(struct mqtt_ctx *m)
{
    int i;

    for (i = 0; i < m->n_topics; i++) {
        free(m->filters[i]);
        m->filters[i] = NULL;
    }
    m->n_topics = 0;
    free(m->ca_file);
    free(m->cert_file);
    free(m->key_file);
    free(m->key_password);
    m->ca_file = m->cert_file = m->key_file = m->key_password = NULL;
}

static int mqtt_init(struct fy_source *src, void *ctx, struct fy_err *err)
{
    struct mqtt_ctx *m = ctx;
    MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
    char id[256];
    int rc;

    m->src = src;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    if (mqtt_check(m, err) != FY_OK) {
        free_parsed(m);
        return FY_ECONFIG;
    }
    if (m->client_id == NULL) {
        snprintf(id, sizeof(id), "ferry-%s", fy_source_name(src));
        m->client_id = strdup(id);
    }
    cro.MQTTVersion = m->protocol == 0 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    if (!fy_paho_enter(3000)) {
        fy_paho_leave();
        free_parsed(m);
        return fy_err_set(err, FY_EAGAIN, "cannot create the MQTT client for %s: another MQTT "
                          "source's message is waiting for the journal and holds the MQTT "
                          "library", m->url_shown);
    }
    rc = MQTTAsync_createWithOptions(&m->client, m->url, m->client_id, MQTTCLIENT_PERSISTENCE_NONE,
                                     NULL, &cro);
    if (rc == MQTTASYNC_SUCCESS) {
        MQTTAsync_setCallbacks(m->client, m, on_connection_lost, on_message, NULL);
        MQTTAsync_setConnected(m->client, m, on_connected);
    }
    fy_paho_leave();
    if (rc != MQTTASYNC_SUCCESS) {
        m->client = NULL;
        free_parsed(m);
        return fy_err_set(err, FY_ECONFIG, "cannot create the MQTT client for %s: %s", m->url_shown,
                          MQTTAsync_strerror(rc));
    }
    fy_paho_register(&m->link, m->client_id);
    m->registered = 1;
    return FY_OK;
}

static int mqtt_start(void *ctx, struct fy_err *err)
{
    struct mqtt_ctx *m = ctx;

    atomic_store(&m->stopping, 0);
    if (pthread_create(&m->connector, NULL, connector, m) != 0) {
        return fy_err_set(err, FY_EIO, "cannot start the connector thread");
    }
    m->connector_running = 1;
    return FY_OK;
}

static void mqtt_pause(void *ctx)
{
    atomic_store(&((struct mqtt_ctx *)ctx)->paused, 1);
}

static void mqtt_resume(void *ctx)
{
    atomic_store(&((struct mqtt_ctx *)ctx)->paused, 0);
}

static void mqtt_stop(void *ctx)
{
    struct mqtt_ctx *m = ctx;
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

    atomic_store(&m->stopping, 1);
    pthread_mutex_lock(&m->mu);
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (m->connector_running) {
        pthread_join(m->connector, NULL);
        m->connector_running = 0;
    }
    /* A callback waiting for the journal (this instance's, or another's: Paho has one lock)
     * sees stopping or fy_paho_enter and cuts its connection before it returns. */
    if (!fy_paho_enter(3000)) {
        fy_paho_leave();
        m->abandoned = 1;
        fy_log_warn(fy_source_tag(m->src), "a message is still waiting for journal space; it "
                    "stays unacknowledged and the broker will redeliver it");
        return;
    }
    if (m->client != NULL) {
        /* also when not connected: it ends Paho's automatic reconnect (after a cut, say) */
        d.timeout = 2000;
        MQTTAsync_disconnect(m->client, &d);
        {
            int i;
            for (i = 0; i < 40 && MQTTAsync_isConnected(m->client); i++) {
                nap_ms(50);
            }
        }
    }
    fy_paho_leave();
    atomic_store(&m->connected, 0);
}

static void mqtt_exit(void *ctx)
{
    struct mqtt_ctx *m = ctx;

    if (m->client != NULL && !m->abandoned) {
        if (fy_paho_enter(3000)) {
            MQTTAsync_destroy(&m->client);
        } else {
            m->abandoned = 1; /* see mqtt_stop */
        }
        fy_paho_leave();
    }
    if (m->registered) {
        fy_paho_unregister(&m->link);
        m->registered = 0;
    }
    free_parsed(m);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
}

static void free_parsed_cb(void *ctx)
{
    free_parsed(ctx);
}

static int mqtt_connected(void *ctx)
{
    return atomic_load(&((struct mqtt_ctx *)ctx)->connected);
}

const struct fy_source_plugin fy_source_mqtt = {
    .abi = FY_SOURCE_ABI,
    .name = "mqtt",
    .description = "MQTT subscriber (Eclipse Paho, MQTT 3.1.1 and 5), acks after the journal",
    .opts = mqtt_opts,
    .ctx_size = sizeof(struct mqtt_ctx),
    .init = mqtt_init,
    .start = mqtt_start,
    .pause = mqtt_pause,
    .resume = mqtt_resume,
    .stop = mqtt_stop,
    .exit = mqtt_exit,
    .connected = mqtt_connected,
    .check = mqtt_check,
    .check_free = free_parsed_cb,
};
