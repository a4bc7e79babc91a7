/* bridge.c - the daemon's lifecycle: create and start in dependency order, periodic summary,
 * orderly stop (sources first, then sink workers drain), fail-stop on journal errors.
 *
 * DESIGN: the main thread runs fy_bridge_run and only watches flags and prints summaries.
 * Sources call into the pipeline on their own threads; each sink has a worker thread. */
#include "bridge/bridge.h"

#include "bridge/admin/admin.h"
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

    b->started_ms = fy_now_ms();
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
    int code = FY_EXIT_OK;
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
    fy_log_info(TAG, "stopping: sources first, then sinks drain (up to %d ms)", DRAIN_MS);
    fy_admin_stop(b->admin);
    b->admin = NULL;
    for (i = 0; i < b->n_sources; i++) {
        fy_source_stop(b->sources[i]);
    }
    for (i = 0; i < b->n_workers; i++) {
        fy_deliver_stop(b->workers[i], DRAIN_MS);
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

static char *iso_time(char *out, size_t size, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    cJSON_AddNumberToObject(o, k, (double)v);
}

static int render_status(struct fy_bridge *b, struct fy_buf *out)
{
    struct fy_ingest_stats *s = fy_pipeline_stats(b->pipeline);
    struct fy_journal_stat js;
    cJSON *root = cJSON_CreateObject(), *j, *in, *arr;
    char ts[40], *txt;
    size_t i;
    int rc;

    fy_journal_stat(b->journal, &js);
    cJSON_AddStringToObject(root, "instance", b->cfg->instance);
    cJSON_AddStringToObject(root, "version", FERRY_VERSION);
    cJSON_AddStringToObject(root, "started", iso_time(ts, sizeof(ts), b->started_ms));
    add_u64(root, "uptime_s", (uint64_t)((fy_now_ms() - b->started_ms) / 1000));
    cJSON_AddBoolToObject(root, "journal_failed", fy_pipeline_failed(b->pipeline));
    j = cJSON_AddObjectToObject(root, "journal");
    cJSON_AddStringToObject(j, "dir", b->cfg->journal.dir);
    add_u64(j, "bytes", js.bytes);
    add_u64(j, "first_seq", js.first_seq);
    add_u64(j, "next_seq", js.next_seq);
    add_u64(j, "segments", js.segments);
    add_u64(j, "quarantined", js.quarantined);
    in = cJSON_AddObjectToObject(root, "ingest");
    add_u64(in, "received", FY_STAT_GET(s->received));
    add_u64(in, "routed", FY_STAT_GET(s->routed));
    add_u64(in, "unmatched", FY_STAT_GET(s->unmatched));
    add_u64(in, "records", FY_STAT_GET(s->records));
    add_u64(in, "decode_errors", FY_STAT_GET(s->decode_errors));
    add_u64(in, "too_big", FY_STAT_GET(s->too_big));
    add_u64(in, "dead_letters", FY_STAT_GET(s->dead_letters));
    add_u64(in, "journal_full", FY_STAT_GET(s->journal_full));
    add_u64(in, "duplicates", FY_STAT_GET(s->duplicates));
    arr = cJSON_AddArrayToObject(root, "sources");
    for (i = 0; i < b->n_sources; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", b->cfg->sources[i].name);
        cJSON_AddStringToObject(o, "type", b->cfg->sources[i].type);
        cJSON_AddItemToArray(arr, o);
    }
    arr = cJSON_AddArrayToObject(root, "sinks");
    for (i = 0; i < b->n_workers; i++) {
        struct fy_deliver *d = b->workers[i];
        struct fy_sink_stats *ss = fy_deliver_stats(d);
        struct fy_health_info h;
        cJSON *o = cJSON_CreateObject();

        fy_deliver_health(d, &h);
        cJSON_AddStringToObject(o, "name", fy_deliver_name(d));
        cJSON_AddStringToObject(o, "type", fy_deliver_type(d));
        cJSON_AddStringToObject(o, "health", fy_health_name(h.state));
        cJSON_AddStringToObject(o, "health_since", iso_time(ts, sizeof(ts), h.since_ms));
        cJSON_AddNumberToObject(o, "failures", h.failures);
        if (h.state != FY_HEALTH_HEALTHY && h.next_attempt_ms > 0) {
            cJSON_AddStringToObject(o, "next_attempt",
                                    iso_time(ts, sizeof(ts), h.next_attempt_ms));
        } else {
            cJSON_AddNullToObject(o, "next_attempt");
        }
        cJSON_AddStringToObject(o, "last_error", h.last_error);
        add_u64(o, "delivered", FY_STAT_GET(ss->delivered));
        add_u64(o, "retries", FY_STAT_GET(ss->retries));
        add_u64(o, "rejected", FY_STAT_GET(ss->rejected));
        add_u64(o, "expired", FY_STAT_GET(ss->expired));
        add_u64(o, "replayed", FY_STAT_GET(ss->replayed));
        add_u64(o, "lag_records", fy_deliver_lag(d));
        cJSON_AddItemToArray(arr, o);
    }
    txt = cJSON_Print(root);
    cJSON_Delete(root);
    rc = txt != NULL ? fy_buf_addstr(out, txt) : FY_ENOMEM;
    if (rc == FY_OK) {
        rc = fy_buf_add(out, "\n", 1);
    }
    free(txt);
    return rc == FY_OK ? 200 : 500;
}

/* A label value in the Prometheus text format: \ " and newline escaped. */
static void label(struct fy_buf *out, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"') {
            fy_buf_printf(out, "\\%c", *v);
        } else if (*v == '\n') {
            fy_buf_addstr(out, "\\n");
        } else {
            fy_buf_add(out, v, 1);
        }
    }
}

static void metric_head(struct fy_buf *out, const char *name, const char *type,
                        const char *help)
{
    fy_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per sink of metric name. */
static void per_sink(struct fy_bridge *b, struct fy_buf *out, const char *name,
                     const char *type, const char *help, int what)
{
    size_t i;

    metric_head(out, name, type, help);
    for (i = 0; i < b->n_workers; i++) {
        struct fy_deliver *d = b->workers[i];
        struct fy_sink_stats *ss = fy_deliver_stats(d);
        struct fy_health_info h;
        uint64_t v;

        fy_deliver_health(d, &h);
        v = what == 0   ? FY_STAT_GET(ss->delivered)
            : what == 1 ? FY_STAT_GET(ss->retries)
            : what == 2 ? FY_STAT_GET(ss->rejected)
            : what == 3 ? FY_STAT_GET(ss->expired)
            : what == 4 ? FY_STAT_GET(ss->replayed)
            : what == 5 ? fy_deliver_lag(d)
                        : (uint64_t)h.failures;
        fy_buf_printf(out, "%s{sink=\"", name);
        label(out, fy_deliver_name(d));
        fy_buf_addstr(out, "\",type=\"");
        label(out, fy_deliver_type(d));
        fy_buf_printf(out, "\"} %" PRIu64 "\n", v);
    }
}

static int render_metrics(struct fy_bridge *b, struct fy_buf *out)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } ingest[] = {
        {"ferry_ingest_received_total", "Messages handed over by sources.",
         offsetof(struct fy_ingest_stats, received)},
        {"ferry_ingest_routed_total", "Messages that matched at least one route.",
         offsetof(struct fy_ingest_stats, routed)},
        {"ferry_ingest_unmatched_total", "Messages no route matched.",
         offsetof(struct fy_ingest_stats, unmatched)},
        {"ferry_ingest_records_total", "Records appended to the journal.",
         offsetof(struct fy_ingest_stats, records)},
        {"ferry_ingest_decode_errors_total", "Format or codec failures (dead-lettered).",
         offsetof(struct fy_ingest_stats, decode_errors)},
        {"ferry_ingest_too_big_total", "Payloads over max_payload (dead-lettered).",
         offsetof(struct fy_ingest_stats, too_big)},
        {"ferry_ingest_dead_letters_total", "Records written to the dead-letter journal.",
         offsetof(struct fy_ingest_stats, dead_letters)},
        {"ferry_ingest_journal_full_total", "Appends refused by the journal quota.",
         offsetof(struct fy_ingest_stats, journal_full)},
        {"ferry_ingest_duplicates_total", "Records dropped by the dedup window.",
         offsetof(struct fy_ingest_stats, duplicates)},
    };
    static const char *const states[] = {"healthy", "failing", "disabled"};
    struct fy_ingest_stats *s = fy_pipeline_stats(b->pipeline);
    struct fy_journal_stat js;
    size_t i, k;

    metric_head(out, "ferry_up", "gauge", "1 while Ferry runs.");
    fy_buf_printf(out, "ferry_up 1\n");
    metric_head(out, "ferry_uptime_seconds", "gauge", "Seconds since start.");
    fy_buf_printf(out, "ferry_uptime_seconds %" PRId64 "\n",
                  (fy_now_ms() - b->started_ms) / 1000);
    for (i = 0; i < sizeof(ingest) / sizeof(ingest[0]); i++) {
        metric_head(out, ingest[i].name, "counter", ingest[i].help);
        fy_buf_printf(out, "%s %" PRIu64 "\n", ingest[i].name,
                      FY_STAT_GET(*(atomic_uint_fast64_t *)((char *)s + ingest[i].off)));
    }
    fy_journal_stat(b->journal, &js);
    metric_head(out, "ferry_journal_bytes", "gauge", "Bytes in journal segment files.");
    fy_buf_printf(out, "ferry_journal_bytes %" PRIu64 "\n", js.bytes);
    metric_head(out, "ferry_journal_segments", "gauge", "Journal segment files.");
    fy_buf_printf(out, "ferry_journal_segments %zu\n", js.segments);
    metric_head(out, "ferry_journal_failed", "gauge",
                "1 when a journal write or fsync failed (Ferry stops).");
    fy_buf_printf(out, "ferry_journal_failed %d\n", fy_pipeline_failed(b->pipeline) ? 1 : 0);
    per_sink(b, out, "ferry_sink_delivered_total", "counter", "Records delivered.", 0);
    per_sink(b, out, "ferry_sink_retries_total", "counter", "Retry rounds.", 1);
    per_sink(b, out, "ferry_sink_rejected_total", "counter", "Records rejected (dead letters).",
             2);
    per_sink(b, out, "ferry_sink_expired_total", "counter",
             "Records given up after max_attempts or max_age_ms.", 3);
    per_sink(b, out, "ferry_sink_replayed_total", "counter",
             "Records sent again after a failure (possible duplicates).", 4);
    per_sink(b, out, "ferry_sink_lag_records", "gauge", "Journal records not yet delivered.", 5);
    per_sink(b, out, "ferry_sink_consecutive_failures", "gauge",
             "Failed attempts in a row of the oldest record.", 6);
    metric_head(out, "ferry_sink_health", "gauge",
                "1 for the sink's current health state (healthy, failing, disabled).");
    for (i = 0; i < b->n_workers; i++) {
        struct fy_health_info h;
        fy_deliver_health(b->workers[i], &h);
        for (k = 0; k < 3; k++) {
            fy_buf_addstr(out, "ferry_sink_health{sink=\"");
            label(out, fy_deliver_name(b->workers[i]));
            fy_buf_addstr(out, "\",type=\"");
            label(out, fy_deliver_type(b->workers[i]));
            fy_buf_printf(out, "\",state=\"%s\"} %d\n", states[k], (size_t)h.state == k);
        }
    }
    return out->data != NULL ? 200 : 500;
}

int fy_bridge_render(void *bridge, const char *path, struct fy_buf *out, const char **ctype)
{
    struct fy_bridge *b = bridge;

    if (strcmp(path, "/healthz") == 0) {
        int failed = fy_pipeline_failed(b->pipeline);
        fy_buf_addstr(out, failed ? "journal failed\n" : "ok\n");
        return failed ? 503 : 200;
    }
    if (strcmp(path, "/status") == 0) {
        *ctype = "application/json";
        return render_status(b, out);
    }
    if (strcmp(path, "/metrics") == 0) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        return render_metrics(b, out);
    }
    fy_buf_addstr(out, "not found: try /status, /metrics or /healthz\n");
    return 404;
}
