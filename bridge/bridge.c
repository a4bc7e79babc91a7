/* bridge.c - the daemon's lifecycle: create and start in dependency order, periodic summary,
 * orderly stop (sources first, then sink workers drain), fail-stop on journal errors.
 *
 * DESIGN: the main thread runs fy_bridge_run and only watches flags and prints summaries.
 * Sources call into the pipeline on their own threads; each sink has a worker thread. */
#include "bridge/bridge.h"

#include "bridge/admin/admin.h"
#include "bridge/admin/render.h"
#include "core/clock.h"
#include "core/log.h"
#include "bridge/deadletter.h"
#include "bridge/deliver.h"
#include "bridge/pipeline.h"
#include "sources/source.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUMMARY_MS 30000
#define DRAIN_MS 10000
#define FAILED_DRAIN_MS 300 /* journal failed: exit within 1 s (docs/reliability.md, J6) */

struct fy_bridge {
    struct fy_config *cfg;
    struct fy_journal *journal;
    struct fy_journal *dlq;
    struct fy_deliver **workers;
    size_t n_workers;
    struct fy_pipeline *pipeline;
    struct fy_source **sources;
    size_t n_sources;
    struct fy_admin *admin;
    int64_t started_ms;
};

static const char *const TAG = "ferry";

struct fy_bridge *fy_bridge_create(struct fy_config *cfg, struct fy_err *err)
{
    static const char *const skip[] = {"name", "type", NULL};
    struct fy_journal_opts dq;
    struct fy_bridge *b;
    char dlq_dir[4096];
    size_t i;

    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        fy_config_free(cfg);
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    b->cfg = cfg;
    b->journal = fy_journal_open(&cfg->journal, err);
    if (b->journal == NULL) {
        fy_err_prefix(err, "journal %s: ", cfg->journal.dir);
        goto fail;
    }
    snprintf(dlq_dir, sizeof(dlq_dir), "%s/deadletter", cfg->journal.dir);
    dq = cfg->journal;
    dq.dir = dlq_dir;
    dq.max_bytes = 0;
    dq.segment_bytes = 16u << 20;
    b->dlq = fy_journal_open(&dq, err);
    if (b->dlq == NULL) {
        fy_err_prefix(err, "dead-letter journal %s: ", dlq_dir);
        goto fail;
    }
    b->workers = calloc(cfg->n_sinks ? cfg->n_sinks : 1, sizeof(*b->workers));
    b->sources = calloc(cfg->n_sources ? cfg->n_sources : 1, sizeof(*b->sources));
    if (b->workers == NULL || b->sources == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    for (i = 0; i < cfg->n_sinks; i++) {
        b->workers[i] = fy_deliver_create(&cfg->sinks[i], b->journal, b->dlq, err);
        if (b->workers[i] == NULL) {
            goto fail;
        }
        b->n_workers++;
    }
    b->pipeline = fy_pipeline_create(cfg, b->journal, b->dlq, err);
    if (b->pipeline == NULL) {
        goto fail;
    }
    for (i = 0; i < cfg->n_sources; i++) {
        const struct fy_instance_conf *sc = &cfg->sources[i];
        const struct fy_source_plugin *plugin = fy_source_plugin_find(sc->type);

        if (plugin == NULL) {
            fy_err_set(err, FY_ECONFIG, "source '%s': unknown type '%s'", sc->name, sc->type);
            goto fail;
        }
        b->sources[i] = fy_source_create(plugin, sc->name, sc->node, skip, 0, fy_pipeline_emit,
                                         b->pipeline, err);
        if (b->sources[i] == NULL) {
            goto fail;
        }
        b->n_sources++;
    }
    return b;
fail:
    fy_bridge_destroy(b);
    return NULL;
}

int fy_bridge_start(struct fy_bridge *b, struct fy_err *err)
{
    size_t i;

    b->started_ms = fy_clock_wall_ms();
    if (b->cfg->admin_listen != NULL) {
        b->admin = fy_admin_start(b->cfg->admin_listen, fy_bridge_render, b, err);
        if (b->admin == NULL) {
            return err->code;
        }
        fy_log_info(TAG, "admin endpoint on http://%s (/status, /metrics, /healthz)",
                    b->cfg->admin_listen);
    }
    for (i = 0; i < b->n_workers; i++) {
        if (fy_deliver_start(b->workers[i], err) != FY_OK) {
            return err->code;
        }
    }
    for (i = 0; i < b->n_sources; i++) {
        if (fy_source_start(b->sources[i], err) != FY_OK) {
            fy_err_prefix(err, "source '%s': ", fy_source_name(b->sources[i]));
            return err->code;
        }
    }
    fy_log_info(TAG, "running: %zu source(s), %zu route(s), %zu sink(s), journal %s (fsync %s)",
                b->n_sources, b->cfg->n_routes, b->n_workers, b->cfg->journal.dir,
                b->cfg->journal.fsync == FY_FSYNC_ALWAYS  ? "always"
                : b->cfg->journal.fsync == FY_FSYNC_NEVER ? "never"
                                                          : "interval");
    return FY_OK;
}

static void summary(struct fy_bridge *b, const char *when)
{
    struct fy_ingest_stats *s = fy_pipeline_stats(b->pipeline);
    char sinks[1024];
    size_t off = 0;
    size_t i;

    sinks[0] = '\0';
    for (i = 0; i < b->n_workers && off < sizeof(sinks); i++) {
        struct fy_sink_stats *ss = fy_deliver_stats(b->workers[i]);
        struct fy_health_info h;
        char health[64] = "";
        int w;

        fy_deliver_health(b->workers[i], &h);
        if (h.state != FY_HEALTH_HEALTHY) {
            snprintf(health, sizeof(health), ", %s after %d failure(s)",
                     fy_health_name(h.state), h.failures);
        }
        w = snprintf(sinks + off, sizeof(sinks) - off,
                     "; %s: %" PRIu64 " delivered, %" PRIu64 " retries, %" PRIu64
                     " dead, lag %" PRIu64 "%s",
                     fy_deliver_name(b->workers[i]), FY_STAT_GET(ss->delivered),
                     FY_STAT_GET(ss->retries), FY_STAT_GET(ss->rejected) + FY_STAT_GET(ss->expired),
                     fy_deliver_lag(b->workers[i]), health);
        if (w < 0) {
            break;
        }
        off += (size_t)w;
    }
    fy_log_info(TAG, "%s: %" PRIu64 " received, %" PRIu64 " records, %" PRIu64 " unmatched, %"
                PRIu64 " decode errors, %" PRIu64 " dead letters, %" PRIu64
                " duplicates dropped%s",
                when, FY_STAT_GET(s->received), FY_STAT_GET(s->records),
                FY_STAT_GET(s->unmatched), FY_STAT_GET(s->decode_errors),
                FY_STAT_GET(s->dead_letters), FY_STAT_GET(s->duplicates), sinks);
}

int fy_bridge_run(struct fy_bridge *b, volatile sig_atomic_t *stop)
{
    int64_t next_summary = fy_clock_deadline(SUMMARY_MS);
    uint64_t last_received = 0;
    int code = FY_EXIT_OK, drain_ms;
    size_t i;
    int held = 0;

    while (!*stop) {
        struct timespec ts = {0, 100 * 1000000L};
        int over = -1;

        nanosleep(&ts, NULL);
        for (i = 0; i < b->n_workers && over < 0; i++) {
            if (fy_deliver_over_quota(b->workers[i])) {
                over = (int)i;
            }
        }
        if ((over >= 0) != held) {
            held = over >= 0;
            fy_pipeline_hold(b->pipeline, held);
            if (held) {
                fy_log_warn(TAG, "sink '%s' holds more than its max_lag_bytes of the journal: "
                            "not acknowledging messages until it catches up",
                            fy_deliver_name(b->workers[over]));
            } else {
                fy_log_info(TAG, "every sink is within its journal quota: accepting messages");
            }
        }
        if (fy_pipeline_failed(b->pipeline)) {
            fy_log_error(TAG, "stopping: the journal failed (see above); restart to recover");
            code = FY_EXIT_FAILURE;
            break;
        }
        if (fy_clock_mono_ms() >= next_summary) {
            uint64_t r = FY_STAT_GET(fy_pipeline_stats(b->pipeline)->received);
            if (r != last_received) {
                summary(b, "summary");
                last_received = r;
            }
            next_summary = fy_clock_deadline(SUMMARY_MS);
        }
    }
    drain_ms = code == FY_EXIT_FAILURE ? FAILED_DRAIN_MS : DRAIN_MS;
    fy_log_info(TAG, "stopping: sources first, then sinks drain (up to %d ms)", drain_ms);
    fy_admin_stop(b->admin);
    b->admin = NULL;
    for (i = 0; i < b->n_sources; i++) {
        fy_source_stop(b->sources[i]);
    }
    for (i = 0; i < b->n_workers; i++) {
        fy_deliver_stop(b->workers[i], drain_ms);
    }
    summary(b, "final");
    return code;
}

void fy_bridge_destroy(struct fy_bridge *b)
{
    size_t i;

    if (b == NULL) {
        return;
    }
    fy_admin_stop(b->admin);
    for (i = 0; i < b->n_sources; i++) {
        fy_source_destroy(b->sources[i]);
    }
    for (i = 0; i < b->n_workers; i++) {
        fy_deliver_destroy(b->workers[i]);
    }
    fy_pipeline_destroy(b->pipeline);
    fy_journal_close(b->dlq);
    fy_journal_close(b->journal);
    free(b->sources);
    free(b->workers);
    fy_config_free(b->cfg);
    free(b);
}

/* ==== admin pages ==== */

int fy_bridge_admin_port(const struct fy_bridge *b)
{
    return b->admin != NULL ? fy_admin_port(b->admin) : 0;
}

int fy_bridge_render(void *bridge, const char *path, struct fy_buf *out, const char **ctype)
{
    struct fy_bridge *b = bridge;
    struct fy_admin_view v = {
        .instance = b->cfg->instance,
        .started_ms = b->started_ms,
        .cfg = b->cfg,
        .journal = b->journal,
        .pipeline = b->pipeline,
        .workers = b->workers,
        .n_workers = b->n_workers,
        .n_sources = b->n_sources,
    };

    return fy_admin_render(&v, path, out, ctype);
}
