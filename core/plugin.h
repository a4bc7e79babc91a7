/* plugin.h - the one plugin contract: every source, network format, payload codec and sink
 * begins with the same fields, so the registries check one ABI version and the CLI
 * (`ferry plugins`, `ferry help KIND NAME`) and the docs read every plugin the same way.
 *
 * A plugin struct (struct fy_sink_plugin, fy_source_plugin, fy_format_plugin,
 * fy_payload_plugin) starts with FY_PLUGIN_HEADER's fields, in that order, then adds the
 * callbacks of its kind (sinks/sink.h, sources/source.h, codecs/codec.h). */
#ifndef FY_PLUGIN_H
#define FY_PLUGIN_H

#include "core/err.h"
#include "core/opts.h"

/* Bump when a plugin struct changes shape; a plugin built for another version is refused at
 * registration with a reason. */
#define FY_PLUGIN_ABI 1

enum fy_plugin_kind {
    FY_PLUGIN_SOURCE = 0, /* `type:` of a source */
    FY_PLUGIN_FORMAT,     /* `format:` of a route: a network server's message format */
    FY_PLUGIN_CODEC,      /* `codec:` of a route: a device payload decoder */
    FY_PLUGIN_SINK        /* `type:` of a sink */
};

/* The fields every plugin struct starts with. */
#define FY_PLUGIN_HEADER                                                                        \
    int abi;                  /* FY_PLUGIN_ABI */                                               \
    const char *name;         /* the word used in configuration files */                        \
    const char *description;  /* one line, for `ferry plugins` */                               \
    const struct fy_opt *opts /* options, {0}-terminated; NULL = none (docs and `ferry help`) */

/* "source", "format", "codec", "sink". */
const char *fy_plugin_kind_name(enum fy_plugin_kind kind);
/* FY_OK, or FY_EINVAL when a plugin (its abi and name fields) was built for another ABI
 * ("sink 'x' was built for plugin ABI 2, this Ferry has 1: rebuild it"). Every registry and
 * instance constructor calls it. */
int fy_plugin_check(enum fy_plugin_kind kind, int abi, const char *name, struct fy_err *err);
/* The CMake option that left plugin name of kind out of this build ("FERRY_SINK_KAFKA"), or
 * NULL when no such plugin exists: for "unknown type" errors that tell what to rebuild with. */
const char *fy_plugin_left_out(enum fy_plugin_kind kind, const char *name);

/* What every instance of every plugin kind holds (sources/source.c and sinks/sink.c embed it):
 * its configured name, its log tag ("sink:kafka:out") and its context, ctx_size bytes with
 * the plugin's options applied. */
struct fy_plugin_inst {
    char *name;
    char tag[160];
    void *ctx;
    const struct fy_opt *opts;
};

/* Check the plugin's ABI, then fill in: name, tag, a zeroed ctx of ctx_size bytes and the
 * options from conf (keys in skip are the caller's). FY_OK, or an error in err with nothing
 * left to free. */
int fy_plugin_inst_init(struct fy_plugin_inst *in, enum fy_plugin_kind kind, int abi,
                        const char *plugin_name, const struct fy_opt *opts, size_t ctx_size,
                        const char *name, const struct fy_node *conf, const char *const *skip,
                        struct fy_err *err);
/* Free what fy_plugin_inst_init made (the options' strings, ctx, name). NULL-safe. */
void fy_plugin_inst_free(struct fy_plugin_inst *in);

#endif
