/* mqtt_sub.h - a libmosquitto subscriber for the tests of the mqtt sink: a persistent session
 * (fixed client id, clean session off, QoS 1) that keeps every message it receives, in
 * arrival order, as harness messages (value = payload) for fy_h_oracle_check. Header-only
 * (static functions) so that only the tests that need libmosquitto include it. */
#ifndef FY_TEST_MQTT_SUB_H
#define FY_TEST_MQTT_SUB_H

/* include tests/integration/harness.h first (struct fy_h_kmsg, fy_h_sh; it has no guard) */
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fy_t_sub {
    struct mosquitto *mosq;
    char filter[256];
    pthread_mutex_t mu;
    struct fy_h_kmsg *msgs;
    size_t n, cap;
    int subscribed;
};

static void fy_t_sub_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct fy_t_sub *s = obj;

    if (rc == 0) {
        mosquitto_subscribe(mosq, NULL, s->filter, 1);
    }
}

static void fy_t_sub_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n,
                                  const int *granted)
{
    struct fy_t_sub *s = obj;

    (void)mosq, (void)mid, (void)n, (void)granted;
    pthread_mutex_lock(&s->mu);
    s->subscribed = 1;
    pthread_mutex_unlock(&s->mu);
}

static void fy_t_sub_on_message(struct mosquitto *mosq, void *obj,
                                const struct mosquitto_message *msg)
{
    struct fy_t_sub *s = obj;
    struct fy_h_kmsg *m;

    (void)mosq;
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        m = realloc(s->msgs, cap * sizeof(*m));
        if (m == NULL) {
            pthread_mutex_unlock(&s->mu);
            return;
        }
        s->msgs = m;
        s->cap = cap;
    }
    m = &s->msgs[s->n++];
    memset(m, 0, sizeof(*m));
    m->key = strdup(msg->topic);
    m->value = malloc((size_t)msg->payloadlen + 1);
    if (m->value != NULL) {
        memcpy(m->value, msg->payload, (size_t)msg->payloadlen);
        m->value[msg->payloadlen] = '\0';
    }
    m->value_len = (size_t)msg->payloadlen;
    pthread_mutex_unlock(&s->mu);
}

/* Host and port of a tcp://host:port URL. */
static int fy_t_sub_hostport(const char *url, char *host, size_t size, int *port)
{
    const char *hp = strstr(url, "://"), *colon;

    hp = hp != NULL ? hp + 3 : url;
    colon = strrchr(hp, ':');
    if (colon == NULL || (size_t)(colon - hp) >= size) {
        return -1;
    }
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    *port = (int)strtol(colon + 1, NULL, 10); /* the URL comes from scripts/services */
    return 0;
}

/* Connect and subscribe to filter (QoS 1); waits up to 10 s for the SUBACK. 0 or -1. */
static int fy_t_sub_start(struct fy_t_sub *s, const char *url, const char *filter,
                          const char *client_id)
{
    char host[128];
    int port, i;

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->filter, sizeof(s->filter), "%s", filter);
    mosquitto_lib_init();
    if (fy_t_sub_hostport(url, host, sizeof(host), &port) != 0) {
        return -1;
    }
    s->mosq = mosquitto_new(client_id, false, s);
    if (s->mosq == NULL) {
        return -1;
    }
    mosquitto_int_option(s->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
    mosquitto_connect_callback_set(s->mosq, fy_t_sub_on_connect);
    mosquitto_subscribe_callback_set(s->mosq, fy_t_sub_on_subscribe);
    mosquitto_message_callback_set(s->mosq, fy_t_sub_on_message);
    mosquitto_reconnect_delay_set(s->mosq, 1, 2, false);
    if (mosquitto_connect(s->mosq, host, port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(s->mosq) != MOSQ_ERR_SUCCESS) {
        return -1;
    }
    for (i = 0; i < 100; i++) {
        int ok;
        pthread_mutex_lock(&s->mu);
        ok = s->subscribed;
        pthread_mutex_unlock(&s->mu);
        if (ok) {
            return 0;
        }
        fy_h_sh("sleep 0.1");
    }
    return -1;
}

/* Messages received so far. */
static size_t fy_t_sub_count(struct fy_t_sub *s)
{
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Wait until at least want messages arrived (or timeout_ms), then until quiet_ms pass without
 * a new one. Returns the count. */
static size_t fy_t_sub_wait(struct fy_t_sub *s, size_t want, int timeout_ms, int quiet_ms)
{
    size_t n = fy_t_sub_count(s), last = n;
    int waited = 0, quiet = 0;

    while (waited < timeout_ms && (n < want || quiet < quiet_ms)) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        waited += 100;
        n = fy_t_sub_count(s);
        quiet = n == last ? quiet + 100 : 0;
        last = n;
    }
    return n;
}

static void fy_t_sub_stop(struct fy_t_sub *s)
{
    if (s->mosq != NULL) {
        mosquitto_disconnect(s->mosq);
        mosquitto_loop_stop(s->mosq, false);
        mosquitto_destroy(s->mosq);
        s->mosq = NULL;
    }
    fy_h_kmsgs_free(s->msgs, s->n);
    s->msgs = NULL;
    s->n = s->cap = 0;
    pthread_mutex_destroy(&s->mu);
}

#endif
