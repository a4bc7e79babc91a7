/* paho_guard.c - which socket each Paho client uses, and who waits for Paho's lock.
 *
 * DESIGN: the state here describes one library that every MQTT source instance of the process
 * shares (its receive thread, its global mutex, its trace settings), so it is shared too and
 * owned by this file alone: instances register a link and only call the functions below.
 * Lock order: Paho's log mutex (held while it calls trace_line) before g.mu; nothing here
 * calls into Paho while holding g.mu except MQTTAsync_setTraceLevel, which takes no lock. */
#include "sources/mqtt/paho_guard.h"

#include "core/clock.h"
#include "core/log.h"

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CONNECT_MARK " -> CONNECT version "

static struct {
    pthread_mutex_t mu;
    struct fy_paho_link *links; /* registered instances */
    int hooked;                 /* trace callback installed */
    int tracing;                /* the trace level set last is PROTOCOL */
} g = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static atomic_int g_blocking; /* messageArrived callbacks waiting for the journal */
static atomic_int g_wanted;   /* threads inside fy_paho_enter/leave */

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Record the socket of a CONNECT line: "<date> <time> <fd> <client id> -> CONNECT ...". The
 * line is traced right after Paho wrote the packet, so fd is that client's connected socket. */
static void trace_connect(const char *line)
{
    const char *mark = strstr(line, CONNECT_MARK), *id;
    struct fy_paho_link *l;
    int fd = -1, pos = 0;
    size_t n;

    if (mark == NULL || sscanf(line, "%*s %*s %d %n", &fd, &pos) != 1 || pos <= 0 ||
        line + pos > mark) {
        return;
    }
    id = line + pos;
    n = (size_t)(mark - id);
    pthread_mutex_lock(&g.mu);
    for (l = g.links; l != NULL; l = l->next) {
        if (strlen(l->client_id) == n && memcmp(l->client_id, id, n) == 0) {
            l->local_len = sizeof(l->local);
            l->peer_len = sizeof(l->peer);
            if (getsockname(fd, (struct sockaddr *)&l->local, &l->local_len) == 0 &&
                getpeername(fd, (struct sockaddr *)&l->peer, &l->peer_len) == 0) {
                l->fd = fd;
            } else {
                l->fd = -1;
            }
            break;
        }
    }
    pthread_mutex_unlock(&g.mu);
}

static void trace_line(enum MQTTASYNC_TRACE_LEVELS level, char *message)
{
    if (message == NULL) {
        return;
    }
    if (level == MQTTASYNC_TRACE_PROTOCOL) {
        trace_connect(message);
    } else if (level >= MQTTASYNC_TRACE_ERROR) {
        fy_log_debug("paho", "%s", message);
    }
}

/* With g.mu held: trace the protocol only while some client's socket is unknown. Paho's
 * default level (TRACE_MINIMUM) formats a line for every packet; ERROR formats almost none. */
static void retrace_locked(void)
{
    struct fy_paho_link *l;
    int need = 0;

    if (!g.hooked) {
        MQTTAsync_setTraceCallback(trace_line);
        g.hooked = 1;
        g.tracing = -1;
    }
    for (l = g.links; l != NULL && !need; l = l->next) {
        need = l->fd < 0;
    }
    if (need != g.tracing) {
        MQTTAsync_setTraceLevel(need ? MQTTASYNC_TRACE_PROTOCOL : MQTTASYNC_TRACE_ERROR);
        g.tracing = need;
    }
}

void fy_paho_register(struct fy_paho_link *l, const char *client_id)
{
    l->client_id = client_id;
    l->fd = -1;
    pthread_mutex_lock(&g.mu);
    l->next = g.links;
    g.links = l;
    retrace_locked();
    pthread_mutex_unlock(&g.mu);
}

void fy_paho_unregister(struct fy_paho_link *l)
{
    struct fy_paho_link **p;

    pthread_mutex_lock(&g.mu);
    for (p = &g.links; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }
    l->next = NULL;
    retrace_locked();
    pthread_mutex_unlock(&g.mu);
}

void fy_paho_lost(struct fy_paho_link *l)
{
    pthread_mutex_lock(&g.mu);
    l->fd = -1;
    retrace_locked();
    pthread_mutex_unlock(&g.mu);
}

void fy_paho_connected(struct fy_paho_link *l)
{
    (void)l;
    pthread_mutex_lock(&g.mu);
    retrace_locked();
    pthread_mutex_unlock(&g.mu);
}

static int same_addr(const struct sockaddr_storage *a, socklen_t alen,
                     const struct sockaddr_storage *b, socklen_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

int fy_paho_cut(struct fy_paho_link *l)
{
    struct sockaddr_storage local, peer;
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    int ok = 0;

    pthread_mutex_lock(&g.mu);
    /* Paho closes a socket only under its global mutex, which the calling callback holds, so
     * l->fd cannot be closed and reused between this check and the shutdown. The address
     * check guards against a number recorded for an earlier connection. */
    if (l->fd >= 0 && getsockname(l->fd, (struct sockaddr *)&local, &local_len) == 0 &&
        getpeername(l->fd, (struct sockaddr *)&peer, &peer_len) == 0 &&
        same_addr(&local, local_len, &l->local, l->local_len) &&
        same_addr(&peer, peer_len, &l->peer, l->peer_len)) {
        ok = shutdown(l->fd, SHUT_RDWR) == 0;
    }
    l->fd = -1;
    retrace_locked();
    pthread_mutex_unlock(&g.mu);
    return ok;
}

void fy_paho_blocking(int on)
{
    atomic_fetch_add(&g_blocking, on ? 1 : -1);
}

int fy_paho_wanted(void)
{
    return atomic_load(&g_wanted) > 0;
}

int fy_paho_enter(int timeout_ms)
{
    long long deadline = fy_clock_mono_ms() + timeout_ms;

    atomic_fetch_add(&g_wanted, 1);
    while (atomic_load(&g_blocking) > 0 && fy_clock_mono_ms() < deadline) {
        nap_ms(10);
    }
    return atomic_load(&g_blocking) == 0;
}

void fy_paho_leave(void)
{
    atomic_fetch_sub(&g_wanted, 1);
}
