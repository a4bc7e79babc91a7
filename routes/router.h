/* router.h - the compiled routing table: topic -> matching routes, without scanning every
 * route per message (a trie over topic levels). */
#ifndef FY_ROUTER_H
#define FY_ROUTER_H

#include "core/err.h"
#include "core/template.h"

#include <stddef.h>

#define FY_ROUTER_MAX_CAPS 8

/* What the router needs of each route (borrowed during create). */
struct fy_router_entry {
    const char *filter;   /* MQTT topic filter ($share/<g>/ prefix ignored) */
    const char *source;   /* only messages from this source; NULL = any */
    int final;            /* stop matching further routes after this one */
};

struct fy_route_match {
    size_t route;                          /* index into the entries given to create */
    int n_caps;                            /* wildcard captures, in filter order */
    const char *cap[FY_ROUTER_MAX_CAPS];   /* point into the topic given to match */
    size_t cap_len[FY_ROUTER_MAX_CAPS];
};

struct fy_router;

/* Compile n entries. NULL + err (naming the route index and filter) on an invalid filter.
 * Caller frees with fy_router_destroy(). The router is immutable: match is thread-safe. */
struct fy_router *fy_router_create(const struct fy_router_entry *e, size_t n, struct fy_err *err);
void fy_router_destroy(struct fy_router *r);

/* Fill out[0..max) with matching routes in table order, stopping after a `final` route.
 * Returns the number written. topic is borrowed (captures point into it). */
size_t fy_router_match(const struct fy_router *r, const char *topic, const char *source,
                       struct fy_route_match *out, size_t max);

/* Expand a route's destination template (core/template.h syntax): vars are NULL-terminated
 * name/value pairs ({recType}, {deviceId}, ...), {1}..{8} the captures of m. FY_EINVAL on an
 * unknown variable or unclosed brace, FY_ENOTFOUND on an empty value or capture, FY_ETOOBIG
 * when out is too small. */
int fy_template_expand(const char *tpl, const char *const *vars, const struct fy_route_match *m,
                       char *out, size_t out_size, struct fy_err *err);

#endif
