/* bridge.h - the daemon: owns every instance (journal, sinks and their workers, pipeline,
 * sources) and their start/stop order. */
#ifndef FY_BRIDGE_H
#define FY_BRIDGE_H

#include "bridge/config.h"
#include "core/buf.h"
#include "core/err.h"

#include <signal.h>

/* Exit codes of `ferry run` (also documented in --help and README). */
enum fy_exit {
    FY_EXIT_OK = 0,       /* stopped by SIGTERM/SIGINT after flushing */
    FY_EXIT_FAILURE = 1,  /* runtime failure (journal write failed, ...) */
    FY_EXIT_CONFIG = 2,   /* configuration invalid */
    FY_EXIT_STARTUP = 3   /* could not start (journal, sink or source init) */
};

#ifndef FERRY_VERSION
#define FERRY_VERSION "0.1.0"
#endif

struct fy_bridge;

/* Takes ownership of cfg (freed by fy_bridge_destroy, also on error). Opens the journals and
 * creates sinks, workers, pipeline and sources, but starts nothing. NULL + err. */
struct fy_bridge *fy_bridge_create(struct fy_config *cfg, struct fy_err *err);

/* Start delivery workers, then sources. */
int fy_bridge_start(struct fy_bridge *b, struct fy_err *err);

/* Run until *stop becomes non-zero or a fatal error; then stop in order (sources, then sinks
 * with a drain budget). Returns an enum fy_exit code. */
int fy_bridge_run(struct fy_bridge *b, volatile sig_atomic_t *stop);

/* The admin endpoint's pages (bridge/admin): "/healthz", "/status" (JSON), "/metrics"
 * (Prometheus text format 0.0.4). Thread-safe. Returns the HTTP status. See docs/admin.md. */
int fy_bridge_render(void *bridge, const char *path, struct fy_buf *out, const char **ctype);

/* Port of the admin endpoint, 0 when it is off. */
int fy_bridge_admin_port(const struct fy_bridge *b);

/* NULL-safe; stops whatever is still running. */
void fy_bridge_destroy(struct fy_bridge *b);

#endif
