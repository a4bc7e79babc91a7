/* record.h - the unit stored in the journal and handed to sinks: an envelope plus routing
 * metadata (key, headers, one destination per target sink), with a compact binary encoding. */
#ifndef FY_RECORD_H
#define FY_RECORD_H

#include "core/buf.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define FY_RECORD_MAX_DESTS 16

struct fy_record_dest {
    const char *sink; /* sink instance name */
    const char *dest; /* destination within the sink (Kafka topic, ...); "" = sink default */
};

/* A decoded view. All pointers borrow from whoever built it (the pipeline's strings, or the
 * bytes given to fy_record_decode) and are valid as long as that storage. */
struct fy_record {
    const char *id;         /* envelope id (stable across redelivery) */
    const char *key;        /* partition key: devEUI, or device id */
    const char *rec_type;   /* envelope recType */
    const char *event_type; /* envelope event_type */
    const char *body;       /* envelope JSON, not NUL-terminated when decoded */
    size_t body_len;
    int64_t created_ms;     /* when Ferry accepted it (Unix ms) */
    size_t n_dests;
    struct fy_record_dest dests[FY_RECORD_MAX_DESTS];
};

/* Append the binary encoding of rec to out. FY_ETOOBIG/FY_ENOMEM from the buffer. */
int fy_record_encode(const struct fy_record *rec, struct fy_buf *out);

/* Decode data into rec; rec's strings point into data, which must outlive rec, and are
 * NUL-terminated (the encoding stores the NUL). FY_ECORRUPT with a reason on bad input. */
int fy_record_decode(const void *data, size_t len, struct fy_record *rec, struct fy_err *err);

/* Destination for sink name, or NULL when the record is not for that sink. */
const char *fy_record_dest_for(const struct fy_record *rec, const char *sink);

#endif
