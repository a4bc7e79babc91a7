/* journal.h - Ferry's durable queue: an append-only, segmented, CRC-framed log on disk with
 * one persisted cursor per reader (sink). Records are opaque bytes (see record.h).
 *
 * DESIGN: any number of threads append (group commit under one lock); each reader is used by
 * one thread (its sink worker). Segments are deleted when every open reader's committed
 * cursor has passed them. Sequence numbers start at 1 and never repeat within a journal dir. */
#ifndef FY_JOURNAL_H
#define FY_JOURNAL_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

enum fy_fsync {
    FY_FSYNC_INTERVAL = 0, /* default: written before ack (survives a crash of Ferry); fsync
                              every interval_ms (bounds loss on power failure) */
    FY_FSYNC_ALWAYS,       /* fsync before append returns (group commit) */
    FY_FSYNC_NEVER         /* written before ack; the OS decides when to flush */
};

struct fy_journal_opts {
    const char *dir;           /* created if missing */
    uint64_t segment_bytes;    /* roll to a new segment file past this size (default 64 MiB) */
    enum fy_fsync fsync;
    int fsync_interval_ms;     /* for FY_FSYNC_INTERVAL (default 100) */
    uint64_t max_bytes;        /* quota on segment bytes on disk; 0 = unlimited */
};

struct fy_journal;
struct fy_journal_reader;

struct fy_journal_stat {
    uint64_t first_seq;     /* oldest record still on disk (0 when empty) */
    uint64_t next_seq;      /* seq the next append gets */
    uint64_t bytes;         /* bytes in segment files */
    size_t segments;
    size_t quarantined;     /* *.corrupt segments found */
};

/* Open (creating or recovering) the journal in o->dir. Takes an exclusive lock on the
 * directory (<dir>/LOCK): a second process gets FY_EIO "in use". Recovery truncates a torn or corrupt
 * tail record (logged with offset and reason) and quarantines a corrupt segment in the middle
 * (renamed *.corrupt, loud error). Returns NULL with err set on failure; caller frees with
 * fy_journal_close(). */
struct fy_journal *fy_journal_open(const struct fy_journal_opts *o, struct fy_err *err);

/* Flush (fsync) and free. NULL-safe. Readers must be closed first. */
void fy_journal_close(struct fy_journal *j);

/* Largest record fy_journal_append takes. */
#define FY_JOURNAL_RECORD_MAX (64u << 20)

/* Append one record. On FY_OK the record is durable as the fsync policy promises and *seq
 * (may be NULL) is its sequence number. The three kinds of failure never share a code:
 * - this record only, nothing written, the journal is unchanged and takes the next record:
 *   FY_ETOOBIG (len > FY_JOURNAL_RECORD_MAX), FY_EINVAL (bad arguments);
 * - backpressure, nothing written: FY_EFULL (quota reached, or the disk is full); the caller
 *   retries later;
 * - storage: FY_EIO, a write or fsync failed; the journal is then failed and refuses every
 *   later append (fail-stop: restart recovers).
 * Thread-safe. */
int fy_journal_append(struct fy_journal *j, const void *data, size_t len, uint64_t *seq);

/* Current figures. Thread-safe. */
void fy_journal_stat(struct fy_journal *j, struct fy_journal_stat *st);

/* Open reader name (a sink name: [A-Za-z0-9_.-]+). Its committed cursor is loaded from disk;
 * a reader never seen before starts at the current end of the journal (new records only).
 * Caller closes with fy_journal_reader_close(). */
struct fy_journal_reader *fy_journal_reader_open(struct fy_journal *j, const char *name,
                                                 struct fy_err *err);
void fy_journal_reader_close(struct fy_journal_reader *rd);

/* Next record at the read position, waiting up to timeout_ms for one to be appended.
 * FY_OK: *seq, *data (caller frees with free()), *len set, read position advanced.
 * FY_EAGAIN: nothing within timeout. FY_ECORRUPT/FY_EIO: with a reason in err. */
int fy_journal_reader_next(struct fy_journal_reader *rd, uint64_t *seq, void **data,
                           size_t *len, int timeout_ms, struct fy_err *err);

/* Move the read position to seq (for replay after a failed delivery); seq must be >= the
 * committed cursor. */
int fy_journal_reader_seek(struct fy_journal_reader *rd, uint64_t seq);

/* Persist that every record with sequence < next_seq is done for this reader (atomically,
 * crash-safe: a torn write falls back to the older cursor). May delete segments that all
 * readers have passed. */
int fy_journal_reader_commit(struct fy_journal_reader *rd, uint64_t next_seq, struct fy_err *err);

/* Bytes of the segments this reader still needs (from the segment holding its committed
 * cursor to the end): its share of the disk, for per-sink quotas. */
uint64_t fy_journal_reader_lag_bytes(struct fy_journal_reader *rd);

/* Committed cursor (next seq to deliver). */
uint64_t fy_journal_reader_committed(const struct fy_journal_reader *rd);

/* Call cb for every record from from_seq (or the oldest on disk) to the current end, without
 * a cursor; cb returns non-zero to stop. data is valid during the call only. For offline
 * tools (dlq list, replay). */
int fy_journal_scan(struct fy_journal *j, uint64_t from_seq,
                    int (*cb)(void *arg, uint64_t seq, const void *data, size_t len), void *arg,
                    struct fy_err *err);

/* Call cb for every cursor file on disk (open readers or not) with its committed position. */
int fy_journal_cursors(struct fy_journal *j,
                       void (*cb)(void *arg, const char *name, uint64_t next_seq), void *arg);

#endif
