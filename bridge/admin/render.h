/* render.h - the admin endpoint's pages, rendered from a view of the running bridge. */
#ifndef FY_ADMIN_RENDER_H
#define FY_ADMIN_RENDER_H

#include "bridge/config.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

struct fy_journal;
struct fy_pipeline;
struct fy_deliver;

/* What the pages read. Everything is borrowed from the bridge, which owns it; the counters
 * read through it are atomics or guarded by their owner's lock, so rendering is thread-safe
 * while the bridge runs. */
struct fy_admin_view {
    const char *instance;
    int64_t started_ms;                  /* wall clock */
    const struct fy_config *cfg;         /* sources' names and types, journal dir */
    struct fy_journal *journal;
    struct fy_pipeline *pipeline;
    struct fy_deliver *const *workers;   /* one per sink */
    size_t n_workers;
    size_t n_sources;
};

/* "/healthz", "/status", "/metrics"; anything else is 404. Sets *ctype for JSON and
 * Prometheus pages. Returns the HTTP status. */
int fy_admin_render(const struct fy_admin_view *b, const char *path, struct fy_buf *out,
                    const char **ctype);

#endif
