/* deadletter.h - dead-letter records: what could not be decoded or delivered, with the reason,
 * kept in their own journal (<journal dir>/deadletter) for `ferry dlq list|show|replay`. */
#ifndef FY_DEADLETTER_H
#define FY_DEADLETTER_H

#include "core/err.h"
#include "bridge/journal/journal.h"

#include <stddef.h>
#include <stdint.h>

/* One dead letter. Every pointer is borrowed and may be NULL when not applicable. */
struct fy_dlq_entry {
    const char *stage;       /* "ingest" (too big), "decode" (format/codec), "delivery" */
    const char *reason;      /* why, as a person reads it */
    const char *sink;        /* delivery: the sink that rejected it */
    const char *source;      /* ingest/decode: source instance */
    const char *route;       /* decode: the route whose format/codec failed */
    const char *topic;       /* ingest/decode: the message topic */
    const void *raw;         /* ingest/decode: the message payload (stored base64) */
    size_t raw_len;
    const void *record;      /* delivery: the encoded fy_record (stored base64) */
    size_t record_len;
    int status;              /* protocol status when known (HTTP), else 0 */
    int attempts;
    int64_t first_attempt_ms;
    int64_t last_attempt_ms;
};

/* Append e to the dead-letter journal as one JSON object (see docs/delivery.md). On FY_OK it
 * is as durable as the journal's fsync policy promises. */
int fy_dlq_append(struct fy_journal *dlq, const struct fy_dlq_entry *e, struct fy_err *err);

/* Current time in Unix ms (wall clock). */
int64_t fy_now_ms(void);

#endif
