/* config.h - Ferry's configuration file (YAML): sources, sinks, routes, journal. Loading
 * validates everything that can be checked without connecting (`ferry check`). See
 * docs/config.md for every key. */
#ifndef FY_CONFIG_H
#define FY_CONFIG_H

#include "core/conf.h"
#include "core/err.h"
#include "bridge/journal/journal.h"

#include <stddef.h>
#include <stdint.h>

/* A source or sink instance: name, plugin type and its map node (plugin options are parsed
 * by the plugin's option table; fy_config_load already validated them). */
struct fy_instance_conf {
    char *name;
    char *type;
    const struct fy_node *node;   /* the instance's map; borrowed from config->root */
};

/* Retry policy of a sink (common options under `retry:`; core-owned, STYLE C5). */
struct fy_retry_conf {
    int64_t max_attempts;     /* 0 = unlimited (default) */
    int64_t max_age_ms;       /* 0 = unlimited (default) */
    int64_t backoff_base_ms;  /* default 100 */
    int64_t backoff_max_ms;   /* default 30000 */
};

/* Endpoint health of a sink (common options under `health:`; core-owned). After
 * disable_after consecutive failed attempts the sink is `disabled`: nothing is sent except one
 * probe (the oldest record) every probe_interval_ms until one succeeds. Records wait in the
 * journal meanwhile; nothing is dropped. */
struct fy_health_conf {
    int64_t disable_after;      /* default 10; 0 = never disable */
    int64_t probe_interval_ms;  /* default 60000 */
};

struct fy_sink_conf {
    struct fy_instance_conf inst;
    struct fy_retry_conf retry;
    struct fy_health_conf health;
    int64_t max_lag_bytes;    /* per-sink journal quota; 0 = only the global one */
};

/* One target of a route: a sink and the destination within it. */
struct fy_route_target {
    char *sink;      /* sink instance name (validated to exist) */
    char *topic;     /* destination template (Kafka topic...), NULL = sink default */
    const struct fy_node *node;
};

struct fy_route_conf {
    char *name;           /* default "route-<n>" (1-based) */
    char *match;          /* MQTT topic filter */
    char *source;         /* NULL = any source */
    char *format;         /* network format (validated against the codec registry) */
    const struct fy_node *format_opts;  /* format_options (configurable formats), or NULL */
    char *codec;          /* device payload codec, NULL = none */
    const struct fy_node *codec_opts;
    char *rec_type;       /* envelope recType */
    char *event_type;     /* default "create" */
    int final;            /* stop matching later routes */
    struct fy_route_target *targets;
    size_t n_targets;
    const struct fy_node *node;
};

struct fy_config {
    struct fy_node *root;          /* owned: the parsed file */
    char *path;
    char *instance;                /* Ferry instance name (envelope source, logs); default "ferry" */
    int log_level;                 /* enum fy_log_level */
    struct fy_journal_opts journal;  /* dir default "./ferry-data/journal" */
    int64_t max_payload;           /* bytes; default 262144 */
    int64_t max_record;            /* envelope bytes per record; 0 = max_payload * 8 + 64 KiB */
    int64_t dedup_window;          /* ids remembered to drop redelivered duplicates; 0 = off */
    struct fy_instance_conf *sources;
    size_t n_sources;
    struct fy_sink_conf *sinks;
    size_t n_sinks;
    struct fy_route_conf *routes;
    size_t n_routes;
    char *admin_listen;            /* admin HTTP endpoint "host:port" (status, metrics), NULL = off */
    char *unmatched_sink;          /* catch-all sink for messages no route matches, or NULL */
    char *unmatched_topic;
};

/* Load and fully validate path. NULL + err "FILE:LINE:COL: what is wrong (what was expected)"
 * on the first error. Caller frees with fy_config_free(). */
struct fy_config *fy_config_load(const char *path, struct fy_err *err);

/* As fy_config_load, but with all set every independent mistake is collected (up to
 * FY_ERRLIST_MAX, sorted by position; err holds the first), for `ferry check`. When memory
 * runs out after some were collected, the list ends with that FY_ENOMEM error. */
struct fy_config *fy_config_load_all(const char *path, struct fy_errlist *all, struct fy_err *err);
void fy_config_free(struct fy_config *cfg);

/* Keys every sink instance has that the core, not the plugin, parses (NULL-terminated). */
extern const char *const fy_config_sink_common_keys[];

/* Index of sink name, or -1. */
int fy_config_sink_index(const struct fy_config *cfg, const char *name);

#endif
