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
    const char *stage;       /* "ingest" (too big), "decode" (format/codec), "encode" (record
                              * cannot be stored: over max_record, not UTF-8), "delivery" */
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

/* A dead letter is at most this big as JSON; a bigger one is stored truncated: stage, reason,
 * names, attempts, "truncated": true, payload_bytes / record_bytes and the first
 * FY_DLQ_HEAD_BYTES of each (payload_head_base64, record_head_base64). */
#define FY_DLQ_MAX_BYTES (16u << 20)
#define FY_DLQ_HEAD_BYTES 4096u

/* Append e to the dead-letter journal as one JSON object (see docs/delivery.md), truncated
 * when it would be over FY_DLQ_MAX_BYTES, so no entry is ever refused for its size. On FY_OK
 * it is as durable as the journal's fsync policy promises. Errors: FY_ENOMEM (try again),
 * FY_EFULL (the dead-letter journal is full: backpressure), FY_EIO (its storage failed). */
int fy_dlq_append(struct fy_journal *dlq, const struct fy_dlq_entry *e, struct fy_err *err);


#endif
