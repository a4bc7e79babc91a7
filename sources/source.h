/* source.h - the contract every source implements (MQTT, ...), and the source instance.
 *
 * DESIGN: a source runs its own threads (Paho's). For every message it calls
 * fy_source_emit(); only when that returns FY_OK is the message durably journaled (or
 * durably dead-lettered) and may be acknowledged to the remote (MQTT PUBACK: return 1 from
 * Paho's message callback). FY_EFULL/FY_EAGAIN mean "not stored yet, do not ack": the source
 * pauses and retries the same message. FY_EIO means the journal's storage failed: never ack;
 * the bridge stops (see pipeline.h). Any other code is treated like FY_EIO. */
#ifndef FY_SOURCE_H
#define FY_SOURCE_H

#include "core/conf.h"
#include "core/err.h"
#include "core/opts.h"
#include "core/plugin.h"
#include "core/msg.h"

#include <stddef.h>

#define FY_SOURCE_ABI FY_PLUGIN_ABI /* the one ABI version of core/plugin.h */

struct fy_source;

/* Where messages go (the pipeline). Returns FY_OK once durably stored. May block while the
 * journal applies backpressure. */
typedef int (*fy_source_emit_fn)(void *arg, struct fy_source *src, const struct fy_msg *msg);

struct fy_source_plugin {
    FY_PLUGIN_HEADER;         /* abi, name (value of `type:`), description, opts */
    size_t ctx_size;
    int (*init)(struct fy_source *src, void *ctx, struct fy_err *err);
    /* Connect and subscribe; reconnects by itself afterwards. */
    int (*start)(void *ctx, struct fy_err *err);
    void (*pause)(void *ctx);   /* stop taking messages (journal full) */
    void (*resume)(void *ctx);
    void (*stop)(void *ctx);    /* disconnect; no emit after return */
    void (*exit)(void *ctx);
    /* Optional: 1 while connected and subscribed. */
    int (*connected)(void *ctx);
    /* Optional: validate options beyond the table without connecting (`ferry check`), and
     * free what check allocated. */
    int (*check)(void *ctx, struct fy_err *err);
    void (*check_free)(void *ctx);
};

struct fy_source *fy_source_create(const struct fy_source_plugin *plugin, const char *name,
                                   const struct fy_node *conf, const char *const *skip,
                                   int check_only, fy_source_emit_fn emit, void *arg,
                                   struct fy_err *err);
void fy_source_destroy(struct fy_source *src);   /* stops if running; NULL-safe */

int fy_source_start(struct fy_source *src, struct fy_err *err);
void fy_source_stop(struct fy_source *src);
void fy_source_pause(struct fy_source *src);
void fy_source_resume(struct fy_source *src);
int fy_source_connected(struct fy_source *src);

/* Called by plugins for each message. */
int fy_source_emit(struct fy_source *src, const struct fy_msg *msg);

const char *fy_source_name(const struct fy_source *src);
const char *fy_source_tag(const struct fy_source *src);   /* "source:mqtt:<name>" */

const struct fy_source_plugin *fy_source_plugin_find(const char *type);
const struct fy_source_plugin *const *fy_source_plugins(void);

#endif
