/* paho_guard.h - the process-wide side of Eclipse Paho C, owned here for every MQTT source.
 *
 * Paho C (MQTTAsync 1.3) has one receive thread for all clients of the process, and it calls
 * messageArrived with the library's global mutex held. A callback that waits for the journal
 * (backpressure, or a storage failure) therefore holds every other client's Paho calls too,
 * and returning from it sends the PUBACK of a message Ferry did not store.
 *
 * This module lets such a callback return safely: it learns each client's socket from Paho's
 * protocol trace ("<fd> <client id> -> CONNECT ...", traced only while some client is not yet
 * connected), and fy_paho_cut() shuts that socket down, so the PUBACK the return would send
 * can no longer reach the broker; the broker keeps the message unacknowledged and sends it
 * again to the next connection. A thread that needs Paho while a callback waits says so with
 * fy_paho_enter(); the waiting callback then cuts its connection and returns.
 * docs/reliability.md, "MQTT source: acknowledge after the journal write", has the rules. */
#ifndef FERRY_SOURCES_MQTT_PAHO_GUARD_H
#define FERRY_SOURCES_MQTT_PAHO_GUARD_H

#include <sys/socket.h>

/* One client's socket, as the trace reported it; embedded in the source instance. */
struct fy_paho_link {
    struct fy_paho_link *next;
    const char *client_id;        /* borrowed from the instance */
    int fd;                       /* -1: not known (not connected, or connection lost) */
    struct sockaddr_storage local, peer;
    socklen_t local_len, peer_len;
};

/* Track l (client_id must outlive it) from before its first connect until unregister. */
void fy_paho_register(struct fy_paho_link *l, const char *client_id);
void fy_paho_unregister(struct fy_paho_link *l);
/* Its connection was lost: the socket is unknown until the next CONNECT is traced. */
void fy_paho_lost(struct fy_paho_link *l);
/* Its CONNACK arrived: tracing stops once every tracked client knows its socket. */
void fy_paho_connected(struct fy_paho_link *l);

/* Shut down l's socket when it is still the connection its CONNECT went out on (same local
 * and peer address). 1 when done: nothing written afterwards reaches the broker. 0 when the
 * socket is not known, is another connection now, or shutdown failed. */
int fy_paho_cut(struct fy_paho_link *l);

/* A messageArrived callback starts (on = 1) or stops (on = 0) waiting for the journal. */
void fy_paho_blocking(int on);
/* Another thread needs Paho: 1 when a waiting callback should cut its connection and return. */
int fy_paho_wanted(void);
/* Before calling Paho from outside its callbacks: announce the need, and wait up to
 * timeout_ms for waiting callbacks to return. 1 when none waits (Paho can be called), 0 when
 * one still does (calling Paho would block until it returns). Always pair with
 * fy_paho_leave(). */
int fy_paho_enter(int timeout_ms);
void fy_paho_leave(void);

#endif
