/* msg.h - struct fy_msg: the message every source hands to the pipeline, as routes and codecs
 * see it. Sources, routes and codecs all include this; it knows nothing of any protocol. */
#ifndef FY_MSG_H
#define FY_MSG_H

#include <stddef.h>
#include <stdint.h>

/* Borrowed from the source: valid during the call that receives it (fy_source_emit(), a
 * codec's decode). */
struct fy_msg {
    const char *source;   /* source instance name */
    const char *topic;    /* MQTT topic (or feed path) */
    const void *payload;
    size_t len;
    int qos;
    int64_t recv_ms;      /* when Ferry received it (Unix ms, wall clock: it goes into records) */
};

#endif
