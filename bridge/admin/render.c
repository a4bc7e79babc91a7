/* render.c - the admin endpoint's pages: /healthz, /status (JSON) and /metrics (Prometheus
 * text format 0.0.4), rendered from a read-only view of the running bridge (docs/admin.md). */
#include "bridge/admin/render.h"

#include "bridge/bridge.h"
#include "bridge/deliver.h"
#include "bridge/pipeline.h"
#include "core/clock.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static int render_status(const struct fy_admin_view *b, struct fy_buf *out)
{
    struct fy_ingest_stats *s = fy_pipeline_stats(b->pipeline);
    struct fy_journal_stat js;
    cJSON *root = cJSON_CreateObject(), *j, *in, *arr;
    char ts[40], *txt;
    size_t i;
    int rc;

    fy_journal_stat(b->journal, &js);
    cJSON_AddStringToObject(root, "instance", b->instance);
    cJSON_AddStringToObject(root, "version", FERRY_VERSION);
    cJSON_AddStringToObject(root, "started", iso_time(ts, sizeof(ts), b->started_ms));
    add_u64(root, "uptime_s", (uint64_t)((fy_clock_wall_ms() - b->started_ms) / 1000));
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
        add_u64(o, "not_resent", FY_STAT_GET(ss->not_resent));
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
static void per_sink(const struct fy_admin_view *b, struct fy_buf *out, const char *name,
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
            : what == 7 ? FY_STAT_GET(ss->not_resent)
                        : (uint64_t)h.failures;
        fy_buf_printf(out, "%s{sink=\"", name);
        label(out, fy_deliver_name(d));
        fy_buf_addstr(out, "\",type=\"");
        label(out, fy_deliver_type(d));
        fy_buf_printf(out, "\"} %" PRIu64 "\n", v);
    }
}

static int render_metrics(const struct fy_admin_view *b, struct fy_buf *out)
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
                  (fy_clock_wall_ms() - b->started_ms) / 1000);
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
    per_sink(b, out, "ferry_sink_not_resent_total", "counter",
             "Records a replay after a failure did not send again: the sink had taken them.", 7);
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

int fy_admin_render(const struct fy_admin_view *b, const char *path, struct fy_buf *out,
                    const char **ctype)
{

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
