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

#endif
