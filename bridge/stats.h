/* stats.h - the bridge's counters: lock-free, updated on hot paths, read for logs and status. */
#ifndef FY_STATS_H
#define FY_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* Pipeline (ingest) counters. */
struct fy_ingest_stats {
    atomic_uint_fast64_t received;      /* messages handed over by sources */
    atomic_uint_fast64_t routed;        /* messages that matched at least one route */
    atomic_uint_fast64_t unmatched;     /* messages no route matched */
    atomic_uint_fast64_t records;       /* records appended to the journal */
    atomic_uint_fast64_t decode_errors; /* format/codec failures (dead-lettered) */
    atomic_uint_fast64_t too_big;       /* payloads over max_payload (dead-lettered) */
    atomic_uint_fast64_t dead_letters;  /* records written to the dead-letter journal */
    atomic_uint_fast64_t journal_full;  /* appends refused for quota (backpressure episodes) */
    atomic_uint_fast64_t duplicates;    /* records dropped by the dedup window */
};

/* Per-sink delivery counters. */
struct fy_sink_stats {
    atomic_uint_fast64_t delivered;     /* completions OK */
    atomic_uint_fast64_t retries;       /* RETRY outcomes (each replay round counts once) */
    atomic_uint_fast64_t rejected;      /* REJECT outcomes -> dead letters */
    atomic_uint_fast64_t expired;       /* given up after max attempts / max age */
    atomic_uint_fast64_t replayed;      /* records resubmitted after a failure (possible duplicates) */
    atomic_uint_fast64_t not_resent;    /* records a replay skipped: the sink had taken them */
    atomic_uint_fast64_t committed_seq; /* journal cursor */
};

#define FY_STAT_INC(field) atomic_fetch_add_explicit(&(field), 1, memory_order_relaxed)
#define FY_STAT_ADD(field, n) atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)
#define FY_STAT_GET(field) ((uint64_t)atomic_load_explicit(&(field), memory_order_relaxed))

#endif
