/* sink.h - the contract every sink implements, and the sink instance the core drives.
 *
 * DESIGN: one worker thread per sink instance (bridge/journal/deliver.c) calls submit, poll
 * and drain; init and exit run on the main thread. A sink only classifies outcomes (OK /
 * RETRY / REJECT); retry, backoff and dead-lettering are the core's policy (STYLE C5).
 * fy_sink_complete() may be called from any thread (e.g. inside rd_kafka_poll on the worker). */
#ifndef FY_SINK_H
#define FY_SINK_H

#include "core/conf.h"
#include "core/err.h"
#include "core/opts.h"
#include "core/plugin.h"
#include "core/record.h"

#include <stddef.h>
#include <stdint.h>

#define FY_SINK_ABI FY_PLUGIN_ABI /* the one ABI version of core/plugin.h */

enum fy_sink_result {
    FY_SINK_OK = 0, /* remote accepted; the journal cursor may advance */
    FY_SINK_RETRY,  /* transient (timeout, 5xx, queue full); keep, back off */
    FY_SINK_REJECT  /* permanent (4xx, too large); dead-letter with reason */
};

struct fy_sink; /* instance: owned by the bridge, opaque to plugins */

struct fy_sink_plugin {
    FY_PLUGIN_HEADER;        /* abi, name (value of `type:`), description, opts */
    size_t ctx_size;         /* the host allocates ctx (zeroed) and fills opts into it */
    /* Connect/prepare. May not block for long: connection problems surface as RETRY later. */
    int (*init)(struct fy_sink *snk, void *ctx, struct fy_err *err);
    /* Start delivering rec to dest ("" = the sink's default destination). Borrows rec until
     * return (copy what you keep). FY_OK: accepted, fy_sink_complete(ticket) will follow
     * exactly once. FY_EAGAIN: full now, call poll and try again (no completion follows). */
    int (*submit)(void *ctx, const struct fy_record *rec, const char *dest, uint64_t ticket);
    /* Serve I/O and callbacks for up to timeout_ms. */
    void (*poll)(void *ctx, int timeout_ms);
    /* Wait up to timeout_ms for every accepted record to complete. FY_OK or FY_ETIMEOUT. */
    int (*drain)(void *ctx, int timeout_ms);
    /* Free what ctx owns (not ctx itself, nor the option strings: the host frees those). */
    void (*exit)(void *ctx);
    /* Optional: max records in flight (0 = host default 10000). */
    size_t max_inflight;
    /* Optional: validate options beyond the table without connecting (`ferry check`). */
    int (*check)(void *ctx, struct fy_err *err);
};

/* Conventions in a RETRY reason, read by the core's policy:
 * - "retry_after_ms=<n>; " anywhere: wait at least n ms (the remote's Retry-After);
 * - FY_SINK_REASON_DISABLE at the start: the remote asked to stop (HTTP 410 Gone): the sink is
 *   disabled at once and probed, records stay in the journal. */
#define FY_SINK_REASON_DISABLE "disable_endpoint; "

/* Called by a plugin when a submitted record is finished. reason (may be NULL for OK) is
 * copied. Thread-safe. */
typedef void (*fy_sink_complete_fn)(void *arg, uint64_t ticket, enum fy_sink_result res,
                                    const char *reason);

/* Create an instance of plugin named name from its config map node (options checked against
 * plugin->opts; keys in skip, e.g. "name", "type", "retry", are left to the caller) and call
 * init. With check_only set, stops after validating options (for `ferry check`). Completions
 * go to cb(arg, ...). NULL + err ("FILE:LINE:COL: ...") on failure; caller frees with
 * fy_sink_destroy(). */
struct fy_sink *fy_sink_create(const struct fy_sink_plugin *plugin, const char *name,
                               const struct fy_node *conf, const char *const *skip,
                               int check_only, fy_sink_complete_fn cb, void *arg,
                               struct fy_err *err);
/* Calls plugin exit, frees options and ctx. NULL-safe. */
void fy_sink_destroy(struct fy_sink *snk);

void fy_sink_complete(struct fy_sink *snk, uint64_t ticket, enum fy_sink_result res,
                      const char *reason);

int fy_sink_submit(struct fy_sink *snk, const struct fy_record *rec, const char *dest,
                   uint64_t ticket);
void fy_sink_poll(struct fy_sink *snk, int timeout_ms);
int fy_sink_drain(struct fy_sink *snk, int timeout_ms);

const char *fy_sink_name(const struct fy_sink *snk);
/* "sink:<type>:<name>", for log lines. */
const char *fy_sink_tag(const struct fy_sink *snk);
const struct fy_sink_plugin *fy_sink_plugin_of(const struct fy_sink *snk);
size_t fy_sink_max_inflight(const struct fy_sink *snk);
/* The plugin's context (for a plugin's own test accessors). */
void *fy_sink_ctx(struct fy_sink *snk);

/* Registry (const table). NULL when unknown. */
const struct fy_sink_plugin *fy_sink_plugin_find(const char *type);
const struct fy_sink_plugin *const *fy_sink_plugins(void);

#endif
