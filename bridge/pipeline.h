/* pipeline.h - source message -> router -> format -> payload codec -> envelope -> journal.
 *
 * DESIGN: fy_pipeline_emit runs on the calling source's thread (Paho's callback thread), may
 * run on several threads at once, and returns FY_OK only when every record the message
 * produced is in the journal (or the message is durably dead-lettered). Routes, codecs and the
 * router are immutable after create; counters are atomics. */
#ifndef FY_PIPELINE_H
#define FY_PIPELINE_H

#include "bridge/config.h"
#include "core/err.h"
#include "bridge/journal/journal.h"
#include "sources/source.h"
#include "bridge/stats.h"

struct fy_pipeline;

/* Compile routes and codecs from cfg (borrowed: must outlive the pipeline). j and dlq are
 * borrowed. NULL + err on failure. */
struct fy_pipeline *fy_pipeline_create(const struct fy_config *cfg, struct fy_journal *j,
                                       struct fy_journal *dlq, struct fy_err *err);
void fy_pipeline_destroy(struct fy_pipeline *p);

/* fy_source_emit_fn: arg is the pipeline. Returns exactly one of:
 * FY_OK: every record is journaled, or the message is durably dead-lettered with a reason
 *   (too big, undecodable, a codec's huge or non-UTF-8 output, a template that cannot expand,
 *   a record the journal refuses for its size): acknowledge it;
 * FY_EFULL: backpressure, the journal (or a sink's share of it) is full: do not ack, retry;
 * FY_EAGAIN: out of memory for now: do not ack, retry;
 * FY_EIO: the journal's storage failed (write, fsync): do not ack; the bridge stops.
 * A per-record error code (FY_ETOOBIG, FY_EDECODE, ...) is never returned. */
int fy_pipeline_emit(void *arg, struct fy_source *src, const struct fy_msg *msg);

struct fy_ingest_stats *fy_pipeline_stats(struct fy_pipeline *p);

/* 1 once the journal's storage failed (fail-stop: the daemon must exit non-zero). */
int fy_pipeline_failed(struct fy_pipeline *p);

/* Refuse (paused = 1) or accept again (0) new messages, e.g. while a sink is over its own
 * journal quota; refused messages are not acknowledged (FY_EFULL). Thread-safe. */
void fy_pipeline_hold(struct fy_pipeline *p, int paused);

/* 1 while appends are refused for quota (backpressure on). */
int fy_pipeline_full(struct fy_pipeline *p);

#endif
