/* codec.h - contracts for network-format codecs (bytes -> normalized uplink) and device
 * payload codecs (uplink bytes -> decoded object). */
#ifndef FY_CODEC_H
#define FY_CODEC_H

#include "core/err.h"
#include "core/conf.h"
#include "core/plugin.h"
#include "codecs/uplink.h"

#include <cjson/cJSON.h>


/* A network format: parses what a network server publishes. Pure: no I/O, no globals, safe
 * to call concurrently. Fuzzed. */
struct fy_format_plugin {
    FY_PLUGIN_HEADER;        /* abi, name (value of `format:`), description, format_options */
    /* Parse in into out (initialized by the caller with fy_uplink_init). On error returns
     * FY_EDECODE (or FY_ETOOBIG) with a reason; out is then cleared by the caller. */
    int (*decode)(const struct fy_msg *in, struct fy_uplink *out, struct fy_err *err);
    /* Optional, for batch formats (one message, several records): used instead of decode.
     * On FY_OK *out is a malloc'ed array of *n uplinks (the caller clears each with
     * fy_uplink_clear and frees the array); each uplink's payload holds its element's bytes,
     * which its envelope id hashes. */
    int (*decode_multi)(const struct fy_msg *in, struct fy_uplink **out, size_t *n,
                        struct fy_err *err);
    /* Optional, for configurable formats: create a context from the route's format_options
     * (node may be NULL; NULL + err on bad options), decode with it (pure, thread-safe on one
     * ctx), destroy it. When create is set, the host calls decode_ctx instead of decode. */
    void *(*create)(const struct fy_node *opts, struct fy_err *err);
    int (*decode_ctx)(const void *ctx, const struct fy_msg *in, struct fy_uplink *out,
                      struct fy_err *err);
    void (*destroy)(void *ctx);
};

/* A device payload codec instance (the "unpacker"): decodes up->payload into an object. */
struct fy_payload_plugin {
    FY_PLUGIN_HEADER;        /* abi, name (value of `codec:`), description, codec_options */
    /* Create a context from the route's codec options (node may be NULL). NULL + err on error. */
    void *(*create)(const struct fy_node *opts, struct fy_err *err);
    /* Decode; *out receives a new object (caller frees with cJSON_Delete). FY_EDECODE with
     * the reason on failure (the record is dead-lettered). */
    int (*decode)(void *ctx, const struct fy_uplink *up, cJSON **out, struct fy_err *err);
    void (*destroy)(void *ctx);
};

/* Registries (const tables, C9 c). NULL when unknown. */
const struct fy_format_plugin *fy_codec_format_find(const char *name);
const struct fy_payload_plugin *fy_codec_payload_find(const char *name);
/* NULL-terminated lists, for --help and error messages. */
const struct fy_format_plugin *const *fy_codec_formats(void);
const struct fy_payload_plugin *const *fy_codec_payloads(void);
/* Release what codecs hold for the whole process (the JavaScript engine); once, at exit. */
void fy_codec_shutdown(void);

#endif
