/* deliver.h - one delivery worker per sink: reads the sink's records from the journal, submits
 * them, and owns the retry policy (backoff with jitter, Retry-After, max attempts and age),
 * dead-lettering and the sink's journal cursor (STYLE C5: sinks classify, the core decides).
 *
 * DESIGN: each worker is one thread that alone calls the sink's submit/poll/drain and its
 * journal reader. Completions arrive through fy_sink_complete (from the sink, on this thread or
 * any other) into a mutex-protected array indexed by ticket. The cursor only advances over the
 * contiguous prefix of records whose outcome is final (OK, or REJECT after the dead letter is
 * durable). On a RETRY the worker stops feeding, waits for everything in flight, backs off,
 * and replays from the first unfinished record: per-device order holds, the cost is counted
 * duplicates (docs/reliability.md, "Kafka sink", rule 4). */
#ifndef FY_DELIVER_H
#define FY_DELIVER_H

#include "bridge/config.h"
#include "core/err.h"
#include "bridge/journal/journal.h"
#include "bridge/stats.h"
#include "sinks/sink.h"

struct fy_deliver;

/* Create the worker for sink conf sc: creates the sink instance (plugin init), opens the
 * journal reader named after the sink. dlq: dead-letter journal (borrowed). NULL + err. */
struct fy_deliver *fy_deliver_create(const struct fy_sink_conf *sc, struct fy_journal *j,
                                     struct fy_journal *dlq, struct fy_err *err);
/* Start the thread. */
int fy_deliver_start(struct fy_deliver *d, struct fy_err *err);
/* Stop feeding, wait up to drain_ms for in-flight records, commit the cursor, join the thread.
 * Records not confirmed stay in the journal for the next start. */
void fy_deliver_stop(struct fy_deliver *d, int drain_ms);
/* Stops if running, destroys the sink, closes the reader. NULL-safe. */
void fy_deliver_destroy(struct fy_deliver *d);

struct fy_sink_stats *fy_deliver_stats(struct fy_deliver *d);
const char *fy_deliver_name(const struct fy_deliver *d);
/* Journal records this sink still has to deliver (next_seq - committed), approximate. */
uint64_t fy_deliver_lag(struct fy_deliver *d);

/* Endpoint health, as The Things Stack shows for its webhooks. healthy: the last attempt
 * succeeded (or none failed yet); failing: the oldest record failed 1..disable_after-1 times in a
 * row and is being retried with backoff; disabled: disable_after failures in a row, so nothing
 * is sent but one probe (the oldest record alone) every probe_interval_ms; the first success
 * makes it healthy again and delivery resumes at full speed. Records wait in the journal in
 * every state. */
enum fy_health { FY_HEALTH_HEALTHY = 0, FY_HEALTH_FAILING, FY_HEALTH_DISABLED };

struct fy_health_info {
    enum fy_health state;
    int64_t since_ms;          /* wall clock (ms) when the state was entered; 0 = since start */
    int failures;              /* consecutive failed attempts of the oldest record */
    int64_t next_attempt_ms;   /* wall clock of the next retry or probe; 0 = none planned */
    char last_error[256];      /* reason of the last failure ("" if none) */
};

const char *fy_health_name(enum fy_health h);
/* A consistent snapshot of d's health (any thread). */
void fy_deliver_health(struct fy_deliver *d, struct fy_health_info *out);
/* The sink's type ("kafka", "webhook"...). */
const char *fy_deliver_type(const struct fy_deliver *d);

/* 1 while the sink holds back more journal bytes than its max_lag_bytes. */
int fy_deliver_over_quota(struct fy_deliver *d);

/* Backoff before attempt n (1 = first retry): full jitter, random in [0, min(max, base*2^(n-1))],
 * never below base/2 so a flapping remote is not hammered; r is a random 32-bit value. Exposed for tests. */
int64_t fy_deliver_backoff_ms(const struct fy_retry_conf *rc, int attempt, uint32_t r);

/* Parse "retry_after_ms=<n>" out of a sink's reason string; -1 if absent. */
int64_t fy_deliver_retry_after(const char *reason);


#endif
