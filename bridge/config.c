/* config.c - the configuration model: top-level keys, journal, sources, sinks, routes;
 * everything checked without connecting. Plugin options are checked by each plugin's table. */
#include "bridge/config.h"

#include "bridge/core/log.h"
#include "bridge/core/opts.h"
#include "bridge/sources/source.h"
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
    const struct fy_node *journal, *sources, *sinks, *routes, *unmatched;
};

static const struct fy_opt top_opts[] = {
    FY_OPT_STR("instance", "ferry", 0, offsetof(struct top, instance), "instance name"),
    FY_OPT_ENUM("log_level", "info", level_words, offsetof(struct top, log_level), "log level"),
    FY_OPT_INT("max_payload", "262144", 1, 16777216, offsetof(struct top, max_payload),
               "largest accepted message in bytes"),
    FY_OPT_NODE("journal", 0, offsetof(struct top, journal), "journal settings"),
    FY_OPT_NODE("sources", FY_REQUIRED, offsetof(struct top, sources), "list of sources"),
    FY_OPT_NODE("sinks", FY_REQUIRED, offsetof(struct top, sinks), "list of sinks"),
    FY_OPT_NODE("routes", FY_REQUIRED, offsetof(struct top, routes), "the routing table"),
    FY_OPT_NODE("unmatched", 0, offsetof(struct top, unmatched), "catch-all sink"),
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

const char *const fy_config_sink_common_keys[] = {"name", "type", "retry", "max_lag_bytes", NULL};

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

/* Read name and type of a source/sink item and check its plugin options. */
static int load_instance(const struct fy_node *item, const char *what, int is_sink,
                         struct fy_instance_conf *ic, struct fy_err *err)
{
    const char *const *skip = fy_config_sink_common_keys;
    const struct fy_node *name, *type;

    if (item->type != FY_NODE_MAP) {
        return fy_conf_error(err, item, 0, "each %s must be a map with name and type", what);
    }
    name = fy_conf_get(item, "name");
    type = fy_conf_get(item, "type");
    if (name == NULL || name->type != FY_NODE_SCALAR) {
        return fy_conf_error(err, item, 0, "%s without a 'name' (expected name: <letters, "
                             "digits, _ . ->)", what);
    }
    if (!valid_name(name->value)) {
        return fy_conf_error(err, name, 0, "invalid %s name '%s' (expected letters, digits, "
                             "_ . -)", what, name->value);
    }
    if (type == NULL || type->type != FY_NODE_SCALAR) {
        return fy_conf_error(err, item, 0, "%s '%s' has no 'type'", what, name->value);
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
            return fy_conf_error(err, type, 0, "unknown sink type '%s'", type->value);
        }
        snk = fy_sink_create(p, name->value, item, skip, 1, NULL, NULL, err);
        if (snk == NULL) {
            return FY_ECONFIG;
        }
        fy_sink_destroy(snk);
    } else {
        const struct fy_source_plugin *p = fy_source_plugin_find(type->value);
        struct fy_source *src;
        if (p == NULL) {
            return fy_conf_error(err, type, 0, "unknown source type '%s'", type->value);
        }
        src = fy_source_create(p, name->value, item, skip, 1, NULL, NULL, err);
        if (src == NULL) {
            return FY_ECONFIG;
        }
        fy_source_destroy(src);
    }
    return FY_OK;
}

static int check_list(const struct fy_node *n, const char *key, struct fy_err *err)
{
    if (n->type != FY_NODE_SEQ) {
        return fy_conf_error(err, n, 0, "'%s' must be a list (- item)", key);
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
        int rc_;

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
            return fy_conf_error(err, t, 0, "route '%s' names unknown sink '%s'", rc->name,
                                 tg->sink);
        }
        if (tg->topic != NULL) {
            struct fy_err terr = {0};
            rc_ = fy_template_check(tg->topic, template_vars, &terr);
            if (rc_ != FY_OK) {
                return fy_conf_error(err, fy_conf_get(t, "topic"), 0, "%s", terr.msg);
            }
        }
    }
    if (rc->n_targets > FY_RECORD_MAX_DESTS) {
        return fy_conf_error(err, n, 0, "route '%s' has more than %d sinks", rc->name,
                             FY_RECORD_MAX_DESTS);
    }
    return FY_OK;
}

static int load_route(struct fy_config *cfg, const struct fy_node *item, size_t idx,
                      struct fy_err *err)
{
    struct fy_route_conf *rc = &cfg->routes[idx];
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
    if (rc->name == NULL || rc->match == NULL || rc->format == NULL || rc->rec_type == NULL ||
        rc->event_type == NULL) {
        rc_ = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < idx; i++) {
        if (strcmp(cfg->routes[i].name, rc->name) == 0) {
            fy_conf_error(err, fy_conf_get(item, "name"), 0, "duplicate route name '%s'",
                          rc->name);
            goto out;
        }
    }
    if (fy_topic_filter_check(rc->match, &terr) != FY_OK) {
        fy_conf_error(err, fy_conf_get(item, "match"), 0, "invalid topic filter: %s", terr.msg);
        goto out;
    }
    if (rc->source != NULL) {
        for (i = 0; i < cfg->n_sources; i++) {
            if (strcmp(cfg->sources[i].name, rc->source) == 0) {
                break;
            }
        }
        if (i == cfg->n_sources) {
            fy_conf_error(err, fy_conf_get(item, "source"), 0, "unknown source '%s'", rc->source);
            goto out;
        }
    }
    if (fy_codec_format_find(rc->format) == NULL) {
        char list[300];
        const struct fy_format_plugin *const *f = fy_codec_formats();
        size_t off = 0;
        list[0] = '\0';
        for (i = 0; f[i] != NULL; i++) {
            int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", f[i]->name);
            if (w < 0 || (size_t)w >= sizeof(list) - off) {
                break;
            }
            off += (size_t)w;
        }
        fy_conf_error(err, fy_conf_get(item, "format"), 0, "unknown format '%s' (expected one "
                      "of: %s)", rc->format, list);
        goto out;
    }
    {
        const struct fy_format_plugin *fp = fy_codec_format_find(rc->format);
        if (rc->format_opts != NULL && fp->create == NULL) {
            fy_conf_error(err, fy_conf_get(item, "format_options"), 1, "format '%s' takes no "
                          "format_options", rc->format);
            goto out;
        }
        if (fp->create != NULL) {
            void *ctx = fp->create(rc->format_opts, err);
            if (ctx == NULL) {
                goto out;
            }
            fp->destroy(ctx);
        }
    }
    if (rc->codec != NULL) {
        const struct fy_payload_plugin *p = fy_codec_payload_find(rc->codec);
        if (p == NULL) {
            fy_conf_error(err, fy_conf_get(item, "codec"), 0, "unknown codec '%s'", rc->codec);
            goto out;
        }
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
        if (strcmp(cfg->sinks[i].inst.name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int load(struct fy_config *cfg, struct fy_err *err)
{
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
        goto out;
    }
    cfg->instance = dup_str(t.instance);
    cfg->log_level = t.log_level;
    cfg->max_payload = t.max_payload;
    if (fy_opts_apply(journal_opts, t.journal, NULL, &j, err) != FY_OK) {
        fy_opts_free(journal_opts, &j);
        goto out;
    }
    cfg->journal.dir = dup_str(j.dir);
    cfg->journal.segment_bytes = (uint64_t)j.segment_bytes;
    cfg->journal.fsync = (enum fy_fsync)j.fsync;
    cfg->journal.fsync_interval_ms = (int)j.fsync_interval_ms;
    cfg->journal.max_bytes = (uint64_t)j.max_bytes;
    cfg->dedup_window = j.dedup_window;
    fy_opts_free(journal_opts, &j);
    if (cfg->instance == NULL || cfg->journal.dir == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }

    /* sources */
    if (check_list(t.sources, "sources", err) != FY_OK) {
        goto out;
    }
    cfg->sources = calloc(t.sources->n_children + 1, sizeof(*cfg->sources));
    for (n = t.sources->child; n != NULL; n = n->next) {
        if (load_instance(n, "source", 0, &cfg->sources[cfg->n_sources++], err) != FY_OK) {
            goto out;
        }
        for (i = 0; i + 1 < cfg->n_sources; i++) {
            if (strcmp(cfg->sources[i].name, cfg->sources[cfg->n_sources - 1].name) == 0) {
                fy_conf_error(err, fy_conf_get(n, "name"), 0, "duplicate source name '%s'",
                              cfg->sources[i].name);
                goto out;
            }
        }
    }

    /* sinks */
    if (check_list(t.sinks, "sinks", err) != FY_OK) {
        goto out;
    }
    cfg->sinks = calloc(t.sinks->n_children + 1, sizeof(*cfg->sinks));
    for (n = t.sinks->child; n != NULL; n = n->next) {
        struct fy_sink_conf *sc = &cfg->sinks[cfg->n_sinks++];
        if (load_instance(n, "sink", 1, &sc->inst, err) != FY_OK) {
            goto out;
        }
        for (i = 0; i + 1 < cfg->n_sinks; i++) {
            if (strcmp(cfg->sinks[i].inst.name, sc->inst.name) == 0) {
                fy_conf_error(err, fy_conf_get(n, "name"), 0, "duplicate sink name '%s'",
                              sc->inst.name);
                goto out;
            }
        }
        if (fy_opts_apply(retry_opts, fy_conf_get(n, "retry"), NULL, &sc->retry, err) != FY_OK) {
            goto out;
        }
        {
            static const struct fy_opt lag_opts[] = {
                FY_OPT_INT("max_lag_bytes", "0", 0, 1LL << 50, 0,
                           "journal bytes this sink may hold back, 0 = no per-sink limit"),
                {0},
            };
            const struct fy_node *lag = fy_conf_get(n, "max_lag_bytes");
            if (lag != NULL) {
                char wrap[160];
                struct fy_node *tmp;
                /* parse through the option table for the same suffix rules and errors */
                snprintf(wrap, sizeof(wrap), "max_lag_bytes: %s\n", lag->value ? lag->value : "");
                tmp = fy_conf_parse(wrap, strlen(wrap), cfg->path, err);
                if (tmp == NULL || fy_opts_apply(lag_opts, tmp, NULL, &sc->max_lag_bytes, err) !=
                                       FY_OK) {
                    fy_conf_free(tmp);
                    fy_conf_error(err, lag, 0, "max_lag_bytes: expected a size like 512M");
                    goto out;
                }
                fy_conf_free(tmp);
            }
        }
    }

    /* routes */
    if (check_list(t.routes, "routes", err) != FY_OK) {
        goto out;
    }
    cfg->routes = calloc(t.routes->n_children + 1, sizeof(*cfg->routes));
    for (n = t.routes->child; n != NULL; n = n->next) {
        if (load_route(cfg, n, cfg->n_routes++, err) != FY_OK) {
            goto out;
        }
    }

    /* catch-all */
    if (t.unmatched != NULL) {
        struct tconf tc = {0};
        if (fy_opts_apply(target_opts, t.unmatched, NULL, &tc, err) != FY_OK) {
            fy_opts_free(target_opts, &tc);
            goto out;
        }
        cfg->unmatched_sink = tc.sink;
        cfg->unmatched_topic = tc.topic;
        if (fy_config_sink_index(cfg, cfg->unmatched_sink) < 0) {
            fy_conf_error(err, fy_conf_get(t.unmatched, "sink"), 0, "unknown sink '%s'",
                          cfg->unmatched_sink);
            goto out;
        }
    }
    rc = FY_OK;
out:
    fy_opts_free(top_opts, &t);
    return rc;
}

struct fy_config *fy_config_load(const char *path, struct fy_err *err)
{
    struct fy_config *cfg = calloc(1, sizeof(*cfg));

    if (cfg == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    cfg->path = strdup(path);
    cfg->root = fy_conf_load(path, err);
    if (cfg->root == NULL || load(cfg, err) != FY_OK) {
        fy_config_free(cfg);
        return NULL;
    }
    return cfg;
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
    free(cfg->unmatched_topic);
    free(cfg->path);
    fy_conf_free(cfg->root);
    free(cfg);
}
