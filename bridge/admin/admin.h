/* admin.h - the admin HTTP endpoint (libmicrohttpd): GET only, plain HTTP, meant for
 * loopback. It serves what a render callback produces; it knows nothing of the bridge.
 *
 * DESIGN: one libmicrohttpd daemon with its own polling thread. Each GET calls
 * render(arg, path, out, &content_type) on that thread, which returns the HTTP status; the
 * callback must be thread-safe (the bridge reads atomic counters and locked snapshots). */
#ifndef FY_ADMIN_H
#define FY_ADMIN_H

#include "core/buf.h"
#include "core/err.h"

/* Fill out for path ("/status", ...); set *ctype; return the HTTP status (404 unknown). */
typedef int (*fy_admin_render_fn)(void *arg, const char *path, struct fy_buf *out,
                                  const char **ctype);

struct fy_admin;

/* Listen on "host:port" ("127.0.0.1:8081", "[::1]:8081"; a numeric address, port 0 = any).
 * NULL + err (FY_ECONFIG for a bad address, FY_EIO when it cannot bind). */
struct fy_admin *fy_admin_start(const char *listen, fy_admin_render_fn render, void *arg,
                                struct fy_err *err);
/* The port actually bound (useful with port 0). */
int fy_admin_port(const struct fy_admin *a);
/* Stop serving and free. NULL-safe. */
void fy_admin_stop(struct fy_admin *a);

#endif
