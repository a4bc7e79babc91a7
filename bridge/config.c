/* config.c - the configuration model: top-level keys, journal, sources, sinks, routes;
 * everything checked without connecting. Plugin options are checked by each plugin's table. */
#include "bridge/config.h"

#include "core/log.h"
#include "core/opts.h"
#include "sources/source.h"
#include "codecs/codec.h"
#include "routes/router.h"
#include "routes/topic.h"
#include "sinks/sink.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const fsync_words[] = {"interval", "always", "never", NULL};
static const char *const level_words[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const event_words[] = {"create", "update", "delete", NULL};
static const char *const template_vars[] = {"recType", "deviceId", "devEUI", "applicationId",
                                            NULL};

/* Top-level scalars parsed through an option table into this struct. */
struct top {
    char *instance;
    int log_level;
    int64_t max_payload;
    int64_t max_record;
    const struct fy_node *journal, *sources, *sinks, *routes, *unmatched, *admin;
};

static const struct fy_opt top_opts[] = {
    FY_OPT_STR("instance", "ferry", 0, offsetof(struct top, instance), "instance name"),
    FY_OPT_ENUM("log_level", "info", level_words, offsetof(struct top, log_level), "log level"),
    FY_OPT_INT("max_payload", "262144", 1, 16777216, offsetof(struct top, max_payload),
               "largest accepted message in bytes"),
    FY_OPT_INT("max_record", "0", 0, 64LL << 20, offsetof(struct top, max_record),
               "largest journal record (envelope) in bytes; 0 = max_payload x 8 + 64k"),
    FY_OPT_NODE("journal", 0, offsetof(struct top, journal), "journal settings"),
    FY_OPT_NODE("sources", FY_REQUIRED, offsetof(struct top, sources), "list of sources"),
    FY_OPT_NODE("sinks", FY_REQUIRED, offsetof(struct top, sinks), "list of sinks"),
    FY_OPT_NODE("routes", FY_REQUIRED, offsetof(struct top, routes), "the routing table"),
    FY_OPT_NODE("unmatched", 0, offsetof(struct top, unmatched), "catch-all sink"),
    FY_OPT_NODE("admin", 0, offsetof(struct top, admin), "admin HTTP endpoint"),
    {0},
};

struct jconf {
    char *dir;
    int64_t segment_bytes;
    int fsync;
    int64_t fsync_interval_ms;
    int64_t max_bytes;
    int64_t dedup_window;
};

static const struct fy_opt journal_opts[] = {
    FY_OPT_STR("dir", "./ferry-data/journal", 0, offsetof(struct jconf, dir), "journal directory"),
    FY_OPT_INT("segment_bytes", "64M", 4096, 1LL << 40, offsetof(struct jconf, segment_bytes),
               "segment file size"),
    FY_OPT_ENUM("fsync", "interval", fsync_words, offsetof(struct jconf, fsync), "fsync policy"),
    FY_OPT_INT("fsync_interval_ms", "100", 1, 60000, offsetof(struct jconf, fsync_interval_ms),
               "fsync period for fsync: interval"),
    FY_OPT_INT("max_bytes", "0", 0, 1LL << 50, offsetof(struct jconf, max_bytes),
               "journal quota in bytes, 0 = unlimited"),
    FY_OPT_INT("dedup_window", "0", 0, 100000000, offsetof(struct jconf, dedup_window),
               "envelope ids remembered to drop redelivered duplicates, 0 = off"),
    {0},
};

static const struct fy_opt retry_opts[] = {
    FY_OPT_INT("max_attempts", "0", 0, 1000000000, offsetof(struct fy_retry_conf, max_attempts),
               "attempts before dead-lettering, 0 = unlimited"),
    FY_OPT_INT("max_age_ms", "0", 0, 1LL << 40, offsetof(struct fy_retry_conf, max_age_ms),
               "age before dead-lettering, 0 = unlimited"),
    FY_OPT_INT("backoff_base_ms", "100", 1, 3600000,
               offsetof(struct fy_retry_conf, backoff_base_ms), "first backoff ceiling"),
    FY_OPT_INT("backoff_max_ms", "30000", 1, 86400000,
               offsetof(struct fy_retry_conf, backoff_max_ms), "backoff cap"),
    {0},
};

static const struct fy_opt health_opts[] = {
    FY_OPT_INT("disable_after", "10", 0, 1000000000,
               offsetof(struct fy_health_conf, disable_after),
               "consecutive failed attempts before the sink is disabled and probed, 0 = never"),
    FY_OPT_INT("probe_interval_ms", "60000", 100, 86400000,
               offsetof(struct fy_health_conf, probe_interval_ms),
               "time between probes of a disabled sink"),
    {0},
};

struct aconf {
    char *listen;
};

static const struct fy_opt admin_opts[] = {
    FY_OPT_STR("listen", NULL, 0, offsetof(struct aconf, listen),
               "host:port of the admin HTTP endpoint (/status, /metrics, /healthz)"),
    {0},
};

struct rconf {
    char *name, *match, *source, *format, *codec, *rec_type;
    int event_type;
    int final;
    const struct fy_node *codec_opts, *sinks, *format_opts;
};

static const struct fy_opt route_opts[] = {
    FY_OPT_STR("name", NULL, 0, offsetof(struct rconf, name), "route name"),
    FY_OPT_STR("match", NULL, FY_REQUIRED, offsetof(struct rconf, match), "MQTT topic filter"),
    FY_OPT_STR("source", NULL, 0, offsetof(struct rconf, source), "only from this source"),
    FY_OPT_STR("format", NULL, FY_REQUIRED, offsetof(struct rconf, format), "network format"),
    FY_OPT_STR("codec", NULL, 0, offsetof(struct rconf, codec), "device payload codec"),
    FY_OPT_NODE("codec_options", 0, offsetof(struct rconf, codec_opts), "codec options"),
    FY_OPT_NODE("format_options", 0, offsetof(struct rconf, format_opts),
                "options of a configurable format (generic-json)"),
    FY_OPT_STR("recType", NULL, FY_REQUIRED, offsetof(struct rconf, rec_type), "envelope recType"),
    FY_OPT_ENUM("event_type", "create", event_words, offsetof(struct rconf, event_type),
                "envelope event_type"),
    FY_OPT_BOOL("final", "false", offsetof(struct rconf, final), "stop matching later routes"),
    FY_OPT_NODE("sinks", FY_REQUIRED, offsetof(struct rconf, sinks), "targets"),
    {0},
};

struct tconf {
    char *sink, *topic;
};

static const struct fy_opt target_opts[] = {
    FY_OPT_STR("sink", NULL, FY_REQUIRED, offsetof(struct tconf, sink), "sink name"),
    FY_OPT_STR("topic", NULL, 0, offsetof(struct tconf, topic), "destination template"),
    {0},
};

const char *const fy_config_sink_common_keys[] = {"name", "type", "retry", "health",
                                                  "max_lag_bytes", NULL};
static const char *const source_common_keys[] = {"name", "type", NULL};

/* Options every sink has, parsed by the core (the plugin's table skips them). */
struct sconf {
    const struct fy_node *retry, *health;
    int64_t max_lag_bytes;
};

static const struct fy_opt sink_common_opts[] = {
    FY_OPT_NODE("retry", 0, offsetof(struct sconf, retry), "retry policy"),
    FY_OPT_NODE("health", 0, offsetof(struct sconf, health), "endpoint health policy"),
    FY_OPT_INT("max_lag_bytes", "0", 0, 1LL << 50, offsetof(struct sconf, max_lag_bytes),
               "journal bytes this sink may hold back, 0 = no per-sink limit"),
    {0},
};

/* A scalar's text as it may appear in an error: never a secret's. */
static const char *shown(const struct fy_node *n)
{
    if (n == NULL || n->value == NULL) {
        return "";
    }
    return n->secret ? "(secret, not shown)" : n->value;
}

/* "unknown sink type 'x' (expected one of: ...)", saying which CMake option to build with when
 * x is a plugin this build left out. */
static int unknown_type(struct fy_err *err, const struct fy_node *n, enum fy_plugin_kind kind,
                        const char *expected)
{
    const char *opt = fy_plugin_left_out(kind, n != NULL ? n->value : NULL);

    if (opt != NULL) {
        return fy_conf_error(err, n, 0, "%s type '%s' is not in this build (rebuild with "
                             "-D%s=ON; this build has: %s)", fy_plugin_kind_name(kind),
                             shown(n), opt, expected[0] != '\0' ? expected : "none");
    }
    return fy_conf_error(err, n, 0, "unknown %s %s'%s' (expected one of: %s)",
                         fy_plugin_kind_name(kind), kind == FY_PLUGIN_CODEC ? "" : "type ",
                         shown(n), expected);
}

/* Names of items that failed to load may be NULL while `ferry check` goes on. */
static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void list_add(char *out, size_t size, size_t *off, const char *nm)
{
    int w;

    if (nm == NULL) {
        return;
    }
    if (*off == 0) {
        out[0] = '\0';
    }
    if (*off >= size) {
        return;
    }
    w = snprintf(out + *off, size - *off, "%s%s", *off ? ", " : "", nm);
    if (w > 0 && (size_t)w < size - *off) {
        *off += (size_t)w;
    }
}

static void sink_types(char *out, size_t size)
{
    const struct fy_sink_plugin *const *p = fy_sink_plugins();
    size_t off = 0;

    out[0] = '\0';
    for (; *p != NULL; p++) {
        list_add(out, size, &off, (*p)->name);
    }
}

static void source_types(char *out, size_t size)
{
    const struct fy_source_plugin *const *p = fy_source_plugins();
    size_t off = 0;

    out[0] = '\0';
    for (; *p != NULL; p++) {
        list_add(out, size, &off, (*p)->name);
    }
}

static int valid_name(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 100) {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-')) {
            return 0;
        }
    }
    return 1;
}

static char *dup_str(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* A plugin's message must not carry a secret either: any secret value (4 bytes or longer)
 * of n or below it that appears in err->msg is replaced by "(secret)". */
static void mask_secrets(struct fy_err *err, const struct fy_node *n)
{
    const struct fy_node *c;
    char *hit;
    size_t from;

    if (n->type == FY_NODE_SCALAR) {
        if (!n->secret || n->value == NULL || strlen(n->value) < 4) {
            return;
        }
        from = 0;
        while (from <= strlen(err->msg) && (hit = strstr(err->msg + from, n->value)) != NULL) {
            char msg[sizeof(err->msg)];
            size_t at = (size_t)(hit - err->msg);
            snprintf(msg, sizeof(msg), "%.*s(secret)%s", (int)at, err->msg,
                     hit + strlen(n->value));
            snprintf(err->msg, sizeof(err->msg), "%s", msg);
            from = at + strlen("(secret)"); /* the replacement may contain the value itself */
        }
        return;
    }
    for (c = n->child; c != NULL; c = c->next) {
        mask_secrets(err, c);
    }
}

/* Make a plugin's error start with FILE:LINE:COL like every other: "<what> 'name': " that the
 * host put in front goes after the position; a message without one gets the item's. */
static void plugin_error(struct fy_err *err, const struct fy_node *item, const char *what,
                         const char *name)
{
    char prefix[160], msg[sizeof(err->msg)];
    const struct fy_node *at, *k;
    const char *rest = err->msg;
    size_t plen, flen = strlen(item->file);
    int code = err->code != FY_OK ? err->code : FY_ECONFIG;

    if (code != FY_ECONFIG) {
        return;
    }
    snprintf(prefix, sizeof(prefix), "%s '%s': ", what, name);
    plen = strlen(prefix);
    if (strncmp(rest, prefix, plen) == 0) {
        rest += plen;
    }
    if (strncmp(rest, item->file, flen) == 0 && rest[flen] == ':') {
        const char *p = rest + flen + 1;
        size_t pos = strspn(p, "0123456789:");
        if (pos > 0 && p[pos] == ' ') {
            /* "FILE:L:C: reason" -> "FILE:L:C: <what> 'name': reason" */
            snprintf(msg, sizeof(msg), "%.*s %s%s", (int)(p + pos - rest), rest, prefix,
                     p + pos + 1);
            snprintf(err->msg, sizeof(err->msg), "%s", msg);
            mask_secrets(err, item);
            return;
        }
    }
    /* "url '...': expected ..." names its key first: point at that key's value */
    at = item;
    for (k = item->child; k != NULL; k = k->next) {
        size_t klen = strlen(k->key);
        if (strncmp(rest, k->key, klen) == 0 && (rest[klen] == ' ' || rest[klen] == ':')) {
            at = k;
            break;
        }
    }
    snprintf(msg, sizeof(msg), "%s", rest);
    fy_conf_error(err, at, 0, "%s%s", prefix, msg);
    mask_secrets(err, item);
}

/* Read name and type of a source/sink item and check its plugin options (check_only create,
 * then destroy). The plugin sees every key but the core's (skip). */
static int load_instance(const struct fy_node *item, const char *what, int is_sink,
                         struct fy_instance_conf *ic, struct fy_err *err)
{
    const char *const *skip = is_sink ? fy_config_sink_common_keys : source_common_keys;
    const struct fy_node *name, *type;
    char types[200];

    if (item->type != FY_NODE_MAP) {
        return fy_conf_error(err, item, 0, "each %s must be a map (expected name, type and "
                             "the type's options)", what);
    }
    name = fy_conf_get(item, "name");
    type = fy_conf_get(item, "type");
    if (is_sink) {
        sink_types(types, sizeof(types));
    } else {
        source_types(types, sizeof(types));
    }
    if (name == NULL) {
        return fy_conf_error(err, item, 0, "%s without a 'name' (expected name: <letters, "
                             "digits, _ . ->)", what);
    }
    if (name->type != FY_NODE_SCALAR || !valid_name(name->value)) {
        return fy_conf_error(err, name, 0, "invalid %s name '%s' (expected letters, digits, "
                             "_ . -, at most 100 characters)", what,
                             name->type == FY_NODE_SCALAR ? shown(name) : "");
    }
    if (type == NULL) {
        return fy_conf_error(err, item, 0, "%s '%s' has no 'type' (expected one of: %s)", what,
                             name->value, types);
    }
    if (type->type != FY_NODE_SCALAR) {
        return fy_conf_error(err, type, 0, "'type': expected a string, got a %s (one of: %s)",
                             type->type == FY_NODE_MAP ? "map" : "list", types);
    }
    ic->name = strdup(name->value);
    ic->type = strdup(type->value);
    ic->node = item;
    if (ic->name == NULL || ic->type == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    if (is_sink) {
        const struct fy_sink_plugin *p = fy_sink_plugin_find(type->value);
        struct fy_sink *snk;
        if (p == NULL) {
            return unknown_type(err, type, FY_PLUGIN_SINK, types);
        }
        snk = fy_sink_create(p, name->value, item, skip, 1, NULL, NULL, err);
        if (snk == NULL) {
            plugin_error(err, item, what, name->value);
            return err->code != FY_OK ? err->code : FY_ECONFIG;
        }
        fy_sink_destroy(snk);
    } else {
        const struct fy_source_plugin *p = fy_source_plugin_find(type->value);
        struct fy_source *src;
        if (p == NULL) {
            return unknown_type(err, type, FY_PLUGIN_SOURCE, types);
        }
        src = fy_source_create(p, name->value, item, skip, 1, NULL, NULL, err);
        if (src == NULL) {
            plugin_error(err, item, what, name->value);
            return err->code != FY_OK ? err->code : FY_ECONFIG;
        }
        fy_source_destroy(src);
    }
    return FY_OK;
}

/* The core's sink options (retry, max_lag_bytes) through their own table: every other key
 * of the item belongs to the plugin and is skipped here. */
static int load_sink_common(const struct fy_node *item, struct fy_sink_conf *sc,
                            struct fy_err *err)
{
    struct sconf c = {0};
    const char **skip;
    const struct fy_node *k;
    size_t n = 0;
    int rc;

    skip = calloc(item->n_children + 1, sizeof(*skip));
    if (skip == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    for (k = item->child; k != NULL; k = k->next) {
        if (strcmp(k->key, "retry") != 0 && strcmp(k->key, "health") != 0 &&
            strcmp(k->key, "max_lag_bytes") != 0) {
            skip[n++] = k->key;
        }
    }
    rc = fy_opts_apply(sink_common_opts, item, skip, &c, err);
    free(skip);
    if (rc != FY_OK) {
        return rc;
    }
    sc->max_lag_bytes = c.max_lag_bytes;
    if (fy_opts_apply(health_opts, c.health, NULL, &sc->health, err) != FY_OK) {
        return err->code;
    }
    return fy_opts_apply(retry_opts, c.retry, NULL, &sc->retry, err);
}

static int check_list(const struct fy_node *n, const char *key, struct fy_err *err)
{
    if (n->type != FY_NODE_SEQ) {
        return fy_conf_error(err, n, 0, "'%s' must be a list (- item)", key);
    }
    return FY_OK;
}

/* A destination template (the value of a `topic:` node): known variables, balanced braces. */
static int check_template(const struct fy_node *topic, struct fy_err *err)
{
    struct fy_err terr = {0};

    if (fy_template_check(topic->value, template_vars, 1, &terr) != FY_OK) {
        if (topic->secret) {
            return fy_conf_error(err, topic, 0, "bad topic template (secret, not shown; "
                                 "expected {recType}, {deviceId}, {devEUI}, {applicationId}, "
                                 "{1}..{8})");
        }
        return fy_conf_error(err, topic, 0, "bad topic %s", terr.msg);
    }
    return FY_OK;
}

static int load_targets(struct fy_config *cfg, struct fy_route_conf *rc, const struct fy_node *n,
                        struct fy_err *err)
{
    const struct fy_node *t;
    size_t i = 0;

    if (check_list(n, "sinks", err) != FY_OK) {
        return FY_ECONFIG;
    }
    if (n->n_children == 0) {
        return fy_conf_error(err, n, 1, "route '%s' has no sinks (expected at least one)",
                             rc->name);
    }
    rc->targets = calloc(n->n_children, sizeof(*rc->targets));
    if (rc->targets == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    for (t = n->child; t != NULL; t = t->next, i++) {
        struct fy_route_target *tg = &rc->targets[i];
        struct tconf tc = {0};

        rc->n_targets++;
        tg->node = t;
        if (t->type == FY_NODE_SCALAR) {
            tc.sink = dup_str(t->value);
        } else if (fy_opts_apply(target_opts, t, NULL, &tc, err) != FY_OK) {
            fy_opts_free(target_opts, &tc);
            return FY_ECONFIG;
        }
        tg->sink = tc.sink;
        tg->topic = tc.topic;
        if (tg->sink == NULL) {
            return fy_err_set(err, FY_ENOMEM, "out of memory");
        }
        if (fy_config_sink_index(cfg, tg->sink) < 0) {
            const struct fy_node *sn = t->type == FY_NODE_SCALAR ? t : fy_conf_get(t, "sink");
            return fy_conf_error(err, sn, 0, "route '%s' names unknown sink '%s' (expected "
                                 "the name of one of the sinks)", rc->name, shown(sn));
        }
        if (tg->topic != NULL && check_template(fy_conf_get(t, "topic"), err) != FY_OK) {
            return FY_ECONFIG;
        }
    }
    if (rc->n_targets > FY_RECORD_MAX_DESTS) {
        return fy_conf_error(err, n, 0, "route '%s' has more than %d sinks", rc->name,
                             FY_RECORD_MAX_DESTS);
    }
    return FY_OK;
}

/* A plugin's own error may lack a position ("needs 'script'"): put the key's in front. */
static void at_position(struct fy_err *err, const struct fy_node *item, const char *key)
{
    const struct fy_node *at = fy_conf_get(item, key);
    char msg[sizeof(err->msg)];
    int code = err->code != FY_OK ? err->code : FY_ECONFIG;

    if (at == NULL || strncmp(err->msg, at->file, strlen(at->file)) == 0) {
        return;
    }
    snprintf(msg, sizeof(msg), "%s", err->msg);
    fy_conf_error(err, at, 1, "%s: %s", key, msg);
    err->code = code == FY_ENOMEM ? FY_ENOMEM : FY_ECONFIG;
}

static int load_route(struct fy_config *cfg, const struct fy_node *item, size_t idx,
                      struct fy_err *err)
{
    struct fy_route_conf *rc = &cfg->routes[idx];
    const struct fy_format_plugin *fp;
    struct rconf r = {0};
    struct fy_err terr = {0};
    char defname[32];
    size_t i;
    int rc_ = FY_ECONFIG;

    rc->node = item;
    if (item->type != FY_NODE_MAP) {
        return fy_conf_error(err, item, 0, "each route must be a map (match, format, recType, "
                             "sinks)");
    }
    if (fy_opts_apply(route_opts, item, NULL, &r, err) != FY_OK) {
        goto out;
    }
    snprintf(defname, sizeof(defname), "route-%zu", idx + 1);
    rc->name = dup_str(r.name != NULL ? r.name : defname);
    rc->match = dup_str(r.match);
    rc->source = dup_str(r.source);
    rc->format = dup_str(r.format);
    rc->codec = dup_str(r.codec);
    rc->rec_type = dup_str(r.rec_type);
    rc->event_type = dup_str(event_words[r.event_type]);
    rc->final = r.final;
    rc->codec_opts = r.codec_opts;
    rc->format_opts = r.format_opts;
    /* source and codec are optional, but a copy that failed must not turn "only from ttn"
     * into "from any source" or drop the codec (battery row S4) */
    if (rc->name == NULL || rc->match == NULL || rc->format == NULL || rc->rec_type == NULL ||
        rc->event_type == NULL || (r.source != NULL && rc->source == NULL) ||
        (r.codec != NULL && rc->codec == NULL)) {
        rc_ = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < idx; i++) {
        if (same(cfg->routes[i].name, rc->name)) {
            fy_conf_error(err, fy_conf_get(item, "name"), 0, "duplicate route name '%s' (first "
                          "at %d:%d; expected unique names)", rc->name,
                          cfg->routes[i].node->line, cfg->routes[i].node->col);
            goto out;
        }
    }
    if (fy_topic_filter_check(rc->match, &terr) != FY_OK) {
        const struct fy_node *m = fy_conf_get(item, "match");
        fy_conf_error(err, m, 0, "invalid topic filter: %s (expected an MQTT filter such as "
                      "a/+/b or a/#)", m->secret ? "(secret, not shown)" : terr.msg);
        goto out;
    }
    if (rc->source != NULL) {
        char list[200];
        size_t off = 0;
        list[0] = '\0';
        for (i = 0; i < cfg->n_sources; i++) {
            if (same(cfg->sources[i].name, rc->source)) {
                break;
            }
            list_add(list, sizeof(list), &off, cfg->sources[i].name);
        }
        if (i == cfg->n_sources) {
            const struct fy_node *sn = fy_conf_get(item, "source");
            fy_conf_error(err, sn, 0, "route '%s' names unknown source '%s' (expected one of: "
                          "%s)", rc->name, shown(sn), list);
            goto out;
        }
    }
    fp = fy_codec_format_find(rc->format);
    if (fp == NULL) {
        char list[300];
        const struct fy_format_plugin *const *f = fy_codec_formats();
        size_t off = 0;
        list[0] = '\0';
        for (; *f != NULL; f++) {
            list_add(list, sizeof(list), &off, (*f)->name);
        }
        fy_conf_error(err, fy_conf_get(item, "format"), 0, "unknown format '%s' (expected one "
                      "of: %s)", shown(fy_conf_get(item, "format")), list);
        goto out;
    }
    if (fy_plugin_check(FY_PLUGIN_FORMAT, fp->abi, fp->name, &terr) != FY_OK) {
        fy_conf_error(err, fy_conf_get(item, "format"), 0, "%s", terr.msg);
        goto out;
    }
    if (rc->format_opts != NULL && fp->create == NULL) {
        fy_conf_error(err, fy_conf_get(item, "format_options"), 1, "format '%s' takes no "
                      "format_options (expected only with generic-json)", rc->format);
        goto out;
    }
    if (fp->create != NULL) {
        void *ctx = fp->create(rc->format_opts, err);
        if (ctx == NULL) {
            at_position(err, item, rc->format_opts != NULL ? "format_options" : "format");
            goto out;
        }
        fp->destroy(ctx);
    }
    if (rc->codec == NULL && rc->codec_opts != NULL) {
        fy_conf_error(err, fy_conf_get(item, "codec_options"), 1, "codec_options without a "
                      "codec (expected codec: NAME beside it)");
        goto out;
    }
    if (rc->codec != NULL) {
        const struct fy_payload_plugin *pp = fy_codec_payload_find(rc->codec);
        if (pp == NULL) {
            char list[300];
            const struct fy_payload_plugin *const *c = fy_codec_payloads();
            size_t off = 0;
            list[0] = '\0';
            for (; *c != NULL; c++) {
                list_add(list, sizeof(list), &off, (*c)->name);
            }
            unknown_type(err, fy_conf_get(item, "codec"), FY_PLUGIN_CODEC, list);
            goto out;
        }
        if (fy_plugin_check(FY_PLUGIN_CODEC, pp->abi, pp->name, &terr) != FY_OK) {
            fy_conf_error(err, fy_conf_get(item, "codec"), 0, "%s", terr.msg);
            goto out;
        }
        /* The codec is not built here: a JavaScript codec starts an engine whose process-wide
         * state needs fy_js_shutdown() before exit, which not every caller of
         * fy_config_load does. `ferry check` (main.c) and the pipeline build it and report
         * bad codec_options. */
    }
    rc_ = load_targets(cfg, rc, r.sinks, err);
out:
    fy_opts_free(route_opts, &r);
    return rc_;
}

int fy_config_sink_index(const struct fy_config *cfg, const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < cfg->n_sinks; i++) {
        if (same(cfg->sinks[i].inst.name, name)) {
            return (int)i;
        }
    }
    return -1;
}

/* With all set (`ferry check`), a mistake in one item is recorded and the next item is
 * checked: each source, sink, route and section reports its first error, so a file with five
 * independent mistakes shows five lines. Without it, the first error stops the load. */
static int keep_going(struct fy_errlist *all, struct fy_err *err)
{
    if (all == NULL || err->code == FY_ENOMEM) {
        return 0;
    }
    if (err->code == FY_OK) {
        fy_err_set(err, FY_ECONFIG, "invalid configuration");
    }
    fy_errlist_add(all, err);
    fy_err_clear(err);
    return 1;
}

static int load(struct fy_config *cfg, struct fy_err *err, struct fy_errlist *all)
{
    static const struct fy_node empty_list = {.type = FY_NODE_SEQ};
    struct top t = {0};
    struct jconf j = {0};
    const struct fy_node *n;
    size_t i;
    int rc = FY_ECONFIG;

    if (cfg->root->type != FY_NODE_MAP) {
        return fy_conf_error(err, cfg->root, 0, "the configuration must be a map (sources, "
                             "sinks, routes)");
    }
    if (fy_opts_apply(top_opts, cfg->root, NULL, &t, err) != FY_OK) {
        if (!keep_going(all, err)) {
            goto out;
        }
        /* the sections are still checked, each on its own */
        fy_opts_free(top_opts, &t);
        memset(&t, 0, sizeof(t));
        t.journal = fy_conf_get(cfg->root, "journal");
        t.sources = fy_conf_get(cfg->root, "sources");
        t.sinks = fy_conf_get(cfg->root, "sinks");
        t.routes = fy_conf_get(cfg->root, "routes");
        t.unmatched = fy_conf_get(cfg->root, "unmatched");
        t.admin = fy_conf_get(cfg->root, "admin");
        t.instance = strdup("ferry");
    }
    cfg->instance = dup_str(t.instance);
    cfg->log_level = t.log_level;
    cfg->max_payload = t.max_payload;
    cfg->max_record = t.max_record;
    if (fy_opts_apply(journal_opts, t.journal, NULL, &j, err) != FY_OK) {
        fy_opts_free(journal_opts, &j);
        if (!keep_going(all, err)) {
            goto out;
        }
        memset(&j, 0, sizeof(j));
        j.dir = strdup("?");
    }
    cfg->journal.dir = dup_str(j.dir);
    cfg->journal.segment_bytes = (uint64_t)j.segment_bytes;
    cfg->journal.fsync = (enum fy_fsync)j.fsync;
    cfg->journal.fsync_interval_ms = (int)j.fsync_interval_ms;
    cfg->journal.max_bytes = (uint64_t)j.max_bytes;
    cfg->dedup_window = j.dedup_window;
    fy_opts_free(journal_opts, &j);
    {
        struct aconf a = {0};
        if (fy_opts_apply(admin_opts, t.admin, NULL, &a, err) != FY_OK) {
            fy_opts_free(admin_opts, &a);
            if (!keep_going(all, err)) {
                goto out;
            }
            memset(&a, 0, sizeof(a));
        }
        if (a.listen != NULL && strrchr(a.listen, ':') == NULL) {
            fy_conf_error(err, fy_conf_get(t.admin, "listen"), 0, "admin.listen '%s': expected "
                          "host:port (e.g. 127.0.0.1:8081)", a.listen);
            fy_opts_free(admin_opts, &a);
            if (!keep_going(all, err)) {
                goto out;
            }
            memset(&a, 0, sizeof(a));
        }
        cfg->admin_listen = a.listen != NULL ? dup_str(a.listen) : NULL;
        if (a.listen != NULL && cfg->admin_listen == NULL) {
            /* not "no admin endpoint": the copy failed (battery row S4) */
            fy_opts_free(admin_opts, &a);
            rc = fy_err_set(err, FY_ENOMEM, "out of memory");
            goto out;
        }
        fy_opts_free(admin_opts, &a);
    }
    if (cfg->instance == NULL || cfg->journal.dir == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }

    /* sources */
    if (t.sources == NULL) {
        t.sources = &empty_list; /* missing: already reported with the top-level options */
    }
    if (check_list(t.sources, "sources", err) != FY_OK) {
        if (!keep_going(all, err)) {
            goto out;
        }
        t.sources = &empty_list;
    }
    cfg->sources = calloc(t.sources->n_children + 1, sizeof(*cfg->sources));
    if (cfg->sources == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    for (n = t.sources->child; n != NULL; n = n->next) {
        if (load_instance(n, "source", 0, &cfg->sources[cfg->n_sources++], err) != FY_OK) {
            if (!keep_going(all, err)) {
                goto out;
            }
            continue;
        }
        for (i = 0; i + 1 < cfg->n_sources; i++) {
            if (same(cfg->sources[i].name, cfg->sources[cfg->n_sources - 1].name)) {
                const struct fy_node *first = fy_conf_get(cfg->sources[i].node, "name");
                fy_conf_error(err, fy_conf_get(n, "name"), 0, "duplicate source name '%s' "
                              "(first at %d:%d; expected unique names)", cfg->sources[i].name,
                              first->line, first->col);
                if (!keep_going(all, err)) {
                    goto out;
                }
                break;
            }
        }
    }

    /* sinks */
    if (t.sinks == NULL) {
        t.sinks = &empty_list; /* missing: already reported with the top-level options */
    }
    if (check_list(t.sinks, "sinks", err) != FY_OK) {
        if (!keep_going(all, err)) {
            goto out;
        }
        t.sinks = &empty_list;
    }
    cfg->sinks = calloc(t.sinks->n_children + 1, sizeof(*cfg->sinks));
    if (cfg->sinks == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    for (n = t.sinks->child; n != NULL; n = n->next) {
        struct fy_sink_conf *sc = &cfg->sinks[cfg->n_sinks++];
        if (load_instance(n, "sink", 1, &sc->inst, err) != FY_OK) {
            if (!keep_going(all, err)) {
                goto out;
            }
            continue;
        }
        for (i = 0; i + 1 < cfg->n_sinks; i++) {
            if (same(cfg->sinks[i].inst.name, sc->inst.name)) {
                const struct fy_node *first = fy_conf_get(cfg->sinks[i].inst.node, "name");
                fy_conf_error(err, fy_conf_get(n, "name"), 0, "duplicate sink name '%s' "
                              "(first at %d:%d; expected unique names)", sc->inst.name,
                              first->line, first->col);
                if (!keep_going(all, err)) {
                    goto out;
                }
                break;
            }
        }
        if (load_sink_common(n, sc, err) != FY_OK && !keep_going(all, err)) {
            goto out;
        }
    }

    /* routes */
    if (t.routes == NULL) {
        t.routes = &empty_list; /* missing: already reported with the top-level options */
    }
    if (check_list(t.routes, "routes", err) != FY_OK) {
        if (!keep_going(all, err)) {
            goto out;
        }
        t.routes = &empty_list;
    }
    cfg->routes = calloc(t.routes->n_children + 1, sizeof(*cfg->routes));
    if (cfg->routes == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    for (n = t.routes->child; n != NULL; n = n->next) {
        if (load_route(cfg, n, cfg->n_routes++, err) != FY_OK && !keep_going(all, err)) {
            goto out;
        }
    }

    /* catch-all */
    while (t.unmatched != NULL) { /* once; break = this section is done */
        struct tconf tc = {0};
        if (fy_opts_apply(target_opts, t.unmatched, NULL, &tc, err) != FY_OK) {
            fy_opts_free(target_opts, &tc);
            if (!keep_going(all, err)) {
                goto out;
            }
            break;
        }
        cfg->unmatched_sink = tc.sink;
        cfg->unmatched_topic = tc.topic;
        if (fy_config_sink_index(cfg, cfg->unmatched_sink) < 0) {
            const struct fy_node *sn = fy_conf_get(t.unmatched, "sink");
            fy_conf_error(err, sn, 0, "unmatched: unknown sink '%s' (expected the name of one "
                          "of the sinks)", shown(sn));
            if (!keep_going(all, err)) {
                goto out;
            }
            break;
        }
        if (cfg->unmatched_topic != NULL &&
            check_template(fy_conf_get(t.unmatched, "topic"), err) != FY_OK &&
            !keep_going(all, err)) {
            goto out;
        }
        break;
    }
    if (all != NULL && all->n > 0) {
        fy_errlist_sort(all);
        *err = all->items[0];
        goto out;
    }
    rc = FY_OK;
out:
    fy_opts_free(top_opts, &t);
    if (rc != FY_OK && err->code != FY_OK) {
        rc = err->code;
    }
    return rc;
}

struct fy_config *fy_config_load(const char *path, struct fy_err *err)
{
    return fy_config_load_all(path, NULL, err);
}

struct fy_config *fy_config_load_all(const char *path, struct fy_errlist *all, struct fy_err *err)
{
    struct fy_err local = {0};
    struct fy_config *cfg;

    if (err == NULL) {
        err = &local;
    }
    fy_err_clear(err);
    if (path == NULL) {
        fy_err_set(err, FY_EINVAL, "no configuration file given");
        return NULL;
    }
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    cfg->path = strdup(path);
    if (cfg->path == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    cfg->root = fy_conf_load(path, err);
    if (cfg->root == NULL || load(cfg, err, all) != FY_OK) {
        goto fail;
    }
    return cfg;
fail:
    if (all != NULL && all->n > 0 && err->code == FY_ENOMEM) {
        /* Memory ran out after some mistakes were listed: say so in the list, or `ferry check`
         * shows a short list as if it were the whole (battery row S4). */
        fy_errlist_add(all, err);
    }
    fy_config_free(cfg);
    return NULL;
}

void fy_config_free(struct fy_config *cfg)
{
    size_t i, k;

    if (cfg == NULL) {
        return;
    }
    for (i = 0; cfg->sources != NULL && i < cfg->n_sources; i++) {
        free(cfg->sources[i].name);
        free(cfg->sources[i].type);
    }
    for (i = 0; cfg->sinks != NULL && i < cfg->n_sinks; i++) {
        free(cfg->sinks[i].inst.name);
        free(cfg->sinks[i].inst.type);
    }
    for (i = 0; cfg->routes != NULL && i < cfg->n_routes; i++) {
        struct fy_route_conf *rc = &cfg->routes[i];
        for (k = 0; rc->targets != NULL && k < rc->n_targets; k++) {
            free(rc->targets[k].sink);
            free(rc->targets[k].topic);
        }
        free(rc->targets);
        free(rc->name);
        free(rc->match);
        free(rc->source);
        free(rc->format);
        free(rc->codec);
        free(rc->rec_type);
        free(rc->event_type);
    }
    free(cfg->sources);
    free(cfg->sinks);
    free(cfg->routes);
    free(cfg->instance);
    free((char *)cfg->journal.dir);
    free(cfg->unmatched_sink);
    free(cfg->admin_listen);
    free(cfg->unmatched_topic);
    free(cfg->path);
    fy_conf_free(cfg->root);
    free(cfg);
}
