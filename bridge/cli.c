/* cli.c - offline subcommands: dlq list|show|replay, journal stat, decode. They open the
 * journal directly, so the daemon must be stopped (the journal's directory lock says so). */
#include "bridge/cli.h"
#include "core/clock.h"

#include "bridge/config.h"
#include "core/b64.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/log.h"
#include "core/opts_doc.h"
#include "core/plugin.h"
#include "core/record.h"
#include "bridge/deadletter.h"
#include "bridge/envelope.h"
#include "bridge/journal/journal.h"
#include "bridge/pipeline.h"
#include "codecs/codec.h"
#include "sinks/sink.h"
#include "sources/source.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== shared ==== */

/* The configuration for an offline command (quiet logs); NULL after printing why. */
static struct fy_config *load_config(const char *path)
{
    struct fy_err err = {0};
    struct fy_config *cfg;

    if (path == NULL) {
        fprintf(stderr, "ferry: missing -c FILE\n");
        return NULL;
    }
    cfg = fy_config_load(path, &err);
    if (cfg == NULL) {
        fprintf(stderr, "ferry: %s\n", err.msg);
        return NULL;
    }
    fy_log_setup(FY_LOG_WARN, NULL);
    return cfg;
}

static struct fy_journal *open_dlq(const struct fy_config *cfg, struct fy_err *err)
{
    static char dir[4200];
    struct fy_journal_opts o = cfg->journal;

    snprintf(dir, sizeof(dir), "%s/deadletter", cfg->journal.dir);
    o.dir = dir;
    o.max_bytes = 0;
    o.segment_bytes = 16u << 20;
    return fy_journal_open(&o, err);
}

/* Parse "2026-11-24T10:00:00Z", "2026-11-24" or a Unix time into Unix ms; -1 if invalid. */
static int64_t parse_since(const char *s)
{
    struct tm tm;
    char *end;
    long long v = strtoll(s, &end, 10);

    if (*end == '\0') {
        return v * 1000;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (end == NULL) {
        return -1;
    }
    return (int64_t)timegm(&tm) * 1000;
}

/* ==== dlq ==== */

struct dlq_args {
    const char *sink;
    int64_t since_ms;
    uint64_t want_id;
    int count;
    int replayed;
    int dry_run;
    struct fy_journal *main_journal;
    int failed;
};

static int64_t entry_time(const cJSON *e)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "dead_at");
    return cJSON_IsString(t) ? parse_since(t->valuestring) : 0;
}

static int dlq_matches(const struct dlq_args *a, const cJSON *e)
{
    const cJSON *sink = cJSON_GetObjectItemCaseSensitive(e, "sink");

    if (a->sink != NULL && (!cJSON_IsString(sink) || strcmp(sink->valuestring, a->sink) != 0)) {
        return 0;
    }
    return a->since_ms <= 0 || entry_time(e) >= a->since_ms;
}

static int list_cb(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct dlq_args *a = arg;
    cJSON *e = cJSON_ParseWithLength(data, len);
    const char *s;

    if (e == NULL) {
        printf("%-8" PRIu64 " (unreadable entry)\n", seq);
        return 0;
    }
    if (dlq_matches(a, e)) {
        const cJSON *sink = cJSON_GetObjectItemCaseSensitive(e, "sink");
        const cJSON *route = cJSON_GetObjectItemCaseSensitive(e, "route");
        s = cJSON_IsString(sink) ? sink->valuestring
            : cJSON_IsString(route) ? route->valuestring : "-";
        printf("%-8" PRIu64 " %-24s %-9s %-16s %.100s\n", seq,
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "dead_at")),
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "stage")), s,
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "reason")));
        a->count++;
    }
    cJSON_Delete(e);
    return 0;
}

static int show_cb(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct dlq_args *a = arg;
    cJSON *e;
    const cJSON *rb;
    char *text;

    if (seq != a->want_id) {
        return 0;
    }
    e = cJSON_ParseWithLength(data, len);
    if (e == NULL) {
        printf("entry %" PRIu64 " is unreadable\n", seq);
        a->count++;
        return 1;
    }
    /* Show the dead-lettered envelope itself, not only its base64. */
    rb = cJSON_GetObjectItemCaseSensitive(e, "record_base64");
    if (cJSON_IsString(rb)) {
        size_t n = 0;
        uint8_t *raw = fy_b64_decode(rb->valuestring, strlen(rb->valuestring), &n);
        struct fy_record rec;
        if (raw != NULL && fy_record_decode(raw, n, &rec, NULL) == FY_OK) {
            cJSON *env = cJSON_ParseWithLength(rec.body, rec.body_len);
            if (env != NULL) {
                cJSON_AddItemToObject(e, "envelope", env);
            }
        }
        free(raw);
    }
    text = cJSON_Print(e);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(e);
    a->count++;
    return 1;
}

static int replay_cb(void *arg, uint64_t seq, const void *data, size_t len)
{
    struct dlq_args *a = arg;
    cJSON *e = cJSON_ParseWithLength(data, len);
    const cJSON *rb, *sink;
    struct fy_record rec, out;
    struct fy_buf b;
    uint8_t *raw = NULL;
    size_t n = 0;
    const char *dest;

    if (e == NULL || !dlq_matches(a, e)) {
        cJSON_Delete(e);
        return 0;
    }
    rb = cJSON_GetObjectItemCaseSensitive(e, "record_base64");
    sink = cJSON_GetObjectItemCaseSensitive(e, "sink");
    if (!cJSON_IsString(rb) || !cJSON_IsString(sink)) {
        /* ingest/decode dead letters hold the raw message, not a record */
        printf("%-8" PRIu64 " skipped: %s-stage dead letter (fix the route and republish the "
               "message; payload in 'ferry dlq show %" PRIu64 "')\n", seq,
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "stage")), seq);
        cJSON_Delete(e);
        return 0;
    }
    raw = fy_b64_decode(rb->valuestring, strlen(rb->valuestring), &n);
    if (raw == NULL || fy_record_decode(raw, n, &rec, NULL) != FY_OK) {
        printf("%-8" PRIu64 " skipped: unreadable record\n", seq);
        free(raw);
        cJSON_Delete(e);
        return 0;
    }
    /* Replay to the sink that dead-lettered it, only. */
    dest = fy_record_dest_for(&rec, sink->valuestring);
    out = rec;
    out.n_dests = 1;
    out.dests[0].sink = sink->valuestring;
    out.dests[0].dest = dest != NULL ? dest : "";
    if (!a->dry_run) {
        int rc;
        fy_buf_init(&b, n + 4096);
        rc = fy_record_encode(&out, &b);
        if (rc == FY_OK) {
            rc = fy_journal_append(a->main_journal, b.data, b.len, NULL);
        }
        fy_buf_free(&b);
        if (rc != FY_OK) {
            fprintf(stderr, "ferry: replay of %" PRIu64 " failed: %s\n", seq, fy_strerror(rc));
            a->failed = 1;
            free(raw);
            cJSON_Delete(e);
            return 1;
        }
    }
    printf("%-8" PRIu64 " %s %s -> %s\n", seq, a->dry_run ? "would replay" : "replayed", rec.id,
           sink->valuestring);
    a->replayed++;
    free(raw);
    cJSON_Delete(e);
    return 0;
}

static void dlq_usage(FILE *out)
{
    fprintf(out,
            "Usage: ferry dlq list   -c FILE [--sink S] [--since TIME]\n"
            "       ferry dlq show   -c FILE ID\n"
            "       ferry dlq replay -c FILE [--sink S] [--since TIME] [--dry-run]\n"
            "\n"
            "Dead letters are records Ferry could not decode or a sink rejected (or gave up on\n"
            "after retry.max_attempts / max_age_ms). They are kept in <journal.dir>/deadletter.\n"
            "replay appends the dead-lettered record again to the journal for the sink that\n"
            "rejected it; the sink delivers it at the next 'ferry run' (consumers can drop a\n"
            "duplicate by envelope id). Stop the daemon first: these commands open the journal.\n"
            "TIME is 2026-11-24, 2026-11-24T10:00:00 (UTC) or Unix seconds.\n");
}

int fy_cli_dlq(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"sink", required_argument, NULL, 's'},
        {"since", required_argument, NULL, 't'},  {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    struct dlq_args a;
    struct fy_err err = {0};
    struct fy_config *cfg = NULL;
    struct fy_journal *dlq = NULL;
    const char *path = NULL, *verb;
    int c, rc = 0;

    memset(&a, 0, sizeof(a));
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        dlq_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    verb = argv[1];
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "c:s:t:nh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 's':
            a.sink = optarg;
            break;
        case 't':
            a.since_ms = parse_since(optarg);
            if (a.since_ms < 0) {
                fprintf(stderr, "ferry: --since '%s': expected 2026-11-24[T10:00:00] or Unix "
                                "seconds\n", optarg);
                return 2;
            }
            break;
        case 'n':
            a.dry_run = 1;
            break;
        case 'h':
            dlq_usage(stdout);
            return 0;
        default:
            dlq_usage(stderr);
            return 2;
        }
    }
    cfg = load_config(path);
    if (cfg == NULL) {
        return 2;
    }
    dlq = open_dlq(cfg, &err);
    if (dlq == NULL) {
        fprintf(stderr, "ferry: dead-letter journal: %s\n", err.msg);
        fy_config_free(cfg);
        return 1;
    }
    if (strcmp(verb, "list") == 0) {
        printf("%-8s %-24s %-9s %-16s %s\n", "ID", "DEAD AT", "STAGE", "SINK/ROUTE", "REASON");
        rc = fy_journal_scan(dlq, 0, list_cb, &a, &err);
        printf("%d dead letter(s)\n", a.count);
    } else if (strcmp(verb, "show") == 0) {
        char *end;
        if (optind + 1 >= argc) {
            fprintf(stderr, "ferry: dlq show needs an ID (from dlq list)\n");
            rc = 2;
        } else {
            a.want_id = strtoull(argv[optind + 1], &end, 10);
            rc = fy_journal_scan(dlq, a.want_id, show_cb, &a, &err);
            if (rc == FY_OK && a.count == 0) {
                fprintf(stderr, "ferry: no dead letter %s\n", argv[optind + 1]);
                rc = 1;
            }
        }
    } else if (strcmp(verb, "replay") == 0) {
        a.main_journal = a.dry_run ? NULL : fy_journal_open(&cfg->journal, &err);
        if (!a.dry_run && a.main_journal == NULL) {
            fprintf(stderr, "ferry: journal: %s\n", err.msg);
            rc = 1;
        } else {
            rc = fy_journal_scan(dlq, 0, replay_cb, &a, &err);
            printf("%d record(s) %s\n", a.replayed, a.dry_run ? "would be replayed" : "replayed");
            rc = rc != FY_OK || a.failed ? 1 : 0;
        }
        fy_journal_close(a.main_journal);
    } else {
        fprintf(stderr, "ferry: unknown dlq command '%s'\n", verb);
        dlq_usage(stderr);
        rc = 2;
    }
    if (rc != 0 && rc != 2 && err.msg[0] != '\0') {
        fprintf(stderr, "ferry: %s\n", err.msg);
    }
    fy_journal_close(dlq);
    fy_config_free(cfg);
    return rc == FY_OK ? 0 : rc;
}

/* ==== journal stat ==== */

struct stat_args {
    uint64_t next_seq;
};

static void cursor_cb(void *arg, const char *name, uint64_t next)
{
    const struct stat_args *a = arg;

    printf("  sink %-20s cursor %-12" PRIu64 " lag %" PRIu64 " record(s)\n", name, next,
           a->next_seq > next ? a->next_seq - next : 0);
}

static int count_cb(void *arg, uint64_t seq, const void *data, size_t len)
{
    (void)seq;
    (void)data;
    (void)len;
    (*(uint64_t *)arg)++;
    return 0;
}

int fy_cli_journal(int argc, char **argv)
{
    struct fy_err err = {0};
    struct fy_config *cfg;
    struct fy_journal *j, *dlq;
    struct fy_journal_stat st;
    struct stat_args a;
    uint64_t dead = 0;
    const char *path = NULL;
    int i;

    if (argc < 2 || strcmp(argv[1], "stat") != 0) {
        fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "Usage: ferry journal stat -c FILE\n\n"
                "Segments, bytes, each sink's cursor and lag, and the dead-letter count.\n"
                "Opens the journal: stop the daemon first.\n");
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    for (i = 2; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            path = argv[i + 1];
        }
    }
    cfg = load_config(path);
    if (cfg == NULL) {
        return 2;
    }
    j = fy_journal_open(&cfg->journal, &err);
    if (j == NULL) {
        fprintf(stderr, "ferry: journal: %s\n", err.msg);
        fy_config_free(cfg);
        return 1;
    }
    fy_journal_stat(j, &st);
    printf("journal %s\n", cfg->journal.dir);
    printf("  segments %zu, %" PRIu64 " bytes, records %" PRIu64 "..%" PRIu64
           ", quarantined segments %zu\n",
           st.segments, st.bytes, st.first_seq, st.next_seq ? st.next_seq - 1 : 0,
           st.quarantined);
    a.next_seq = st.next_seq;
    fy_journal_cursors(j, cursor_cb, &a);
    dlq = open_dlq(cfg, &err);
    if (dlq != NULL) {
        fy_journal_scan(dlq, 0, count_cb, &dead, &err);
        printf("  dead letters %" PRIu64 " (ferry dlq list -c %s)\n", dead, path);
        fy_journal_close(dlq);
    }
    fy_journal_close(j);
    fy_config_free(cfg);
    return 0;
}

/* ==== decode ==== */

static void decode_usage(FILE *out)
{
    const struct fy_format_plugin *const *f = fy_codec_formats();
    const struct fy_payload_plugin *const *p = fy_codec_payloads();
    size_t i;

    fprintf(out,
            "Usage: ferry decode --format F [--codec C --script FILE] [--topic T] [--fport N]\n"
            "                    (--hex H | --base64 B | --file FILE)\n"
            "       ferry decode -c CONFIG --route NAME [--topic T] (--hex|--base64|--file)\n"
            "\n"
            "Runs a network format (and a payload codec) on one message and prints the\n"
            "envelope Ferry would deliver, or the error. --file is the message as published\n"
            "(JSON); --hex/--base64 give bytes: with a format they are the whole message, with\n"
            "only a codec they are the device payload (FRMPayload).\n\nFormats:");
    for (i = 0; f[i] != NULL; i++) {
        fprintf(out, " %s", f[i]->name);
    }
    fprintf(out, "\nCodecs:");
    for (i = 0; p[i] != NULL; i++) {
        fprintf(out, " %s", p[i]->name);
    }
    fprintf(out, "\n");
}

int fy_cli_decode(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"route", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'}, {"codec", required_argument, NULL, 'C'},
        {"script", required_argument, NULL, 's'}, {"topic", required_argument, NULL, 't'},
        {"fport", required_argument, NULL, 'p'},  {"hex", required_argument, NULL, 'x'},
        {"base64", required_argument, NULL, 'b'}, {"file", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *config = NULL, *route = NULL, *format = NULL, *codec = NULL, *script = NULL;
    const char *topic = "", *hex = NULL, *b64 = NULL, *file = NULL, *rec_type = "ferry.decode";
    const struct fy_node *codec_opts = NULL, *format_opts = NULL;
    struct fy_config *cfg = NULL;
    struct fy_node *script_node = NULL;
    struct fy_uplink up;
    struct fy_envelope env = {0};
    struct fy_err err = {0};
    struct fy_msg msg;
    uint8_t *bytes = NULL;
    size_t n = 0;
    int fport = 1, c, rc = 1;
    cJSON *obj = NULL;
    void *cctx = NULL;
    const struct fy_payload_plugin *pp = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:r:f:C:s:t:p:x:b:F:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'r': route = optarg; break;
        case 'f': format = optarg; break;
        case 'C': codec = optarg; break;
        case 's': script = optarg; break;
        case 't': topic = optarg; break;
        case 'p': fport = (int)strtol(optarg, NULL, 10); break;
        case 'x': hex = optarg; break;
        case 'b': b64 = optarg; break;
        case 'F': file = optarg; break;
        case 'h': decode_usage(stdout); return 0;
        default: decode_usage(stderr); return 2;
        }
    }
    if ((hex != NULL) + (b64 != NULL) + (file != NULL) != 1) {
        fprintf(stderr, "ferry: give exactly one of --hex, --base64, --file\n");
        return 2;
    }
    fy_log_setup(FY_LOG_WARN, NULL);
    if (config != NULL) {
        size_t i;
        cfg = fy_config_load(config, &err);
        if (cfg == NULL) {
            fprintf(stderr, "ferry: %s\n", err.msg);
            return 2;
        }
        for (i = 0; route != NULL && i < cfg->n_routes; i++) {
            if (strcmp(cfg->routes[i].name, route) == 0) {
                format = cfg->routes[i].format;
                codec = cfg->routes[i].codec;
                codec_opts = cfg->routes[i].codec_opts;
                format_opts = cfg->routes[i].format_opts;
                rec_type = cfg->routes[i].rec_type;
                break;
            }
        }
        if (route == NULL || i == cfg->n_routes) {
            fprintf(stderr, "ferry: no route named '%s' in %s\n", route ? route : "", config);
            fy_config_free(cfg);
            return 2;
        }
    }
    if (hex != NULL) {
        bytes = fy_hex_decode(hex, strlen(hex), &n);
    } else if (b64 != NULL) {
        bytes = fy_b64_decode(b64, strlen(b64), &n);
    } else {
        bytes = (uint8_t *)fy_file_read(file, 16u << 20, &n, &err);
    }
    if (bytes == NULL) {
        fprintf(stderr, "ferry: cannot read the input: %s\n",
                hex ? "not hex" : b64 ? "not base64" : err.msg);
        goto out;
    }
    if (codec != NULL) {
        pp = fy_codec_payload_find(codec);
        if (pp == NULL) {
            fprintf(stderr, "ferry: unknown codec '%s'\n", codec);
            goto out;
        }
        if (codec_opts == NULL && script != NULL) {
            char yaml[4200];
            snprintf(yaml, sizeof(yaml), "script: \"%s\"\n", script);
            script_node = fy_conf_parse(yaml, strlen(yaml), "--script", &err);
            codec_opts = script_node;
        }
        cctx = pp->create(codec_opts, &err);
        if (cctx == NULL) {
            fprintf(stderr, "ferry: codec %s: %s\n", codec, err.msg);
            goto out;
        }
    }
    fy_uplink_init(&up);
    msg.source = "decode";
    msg.topic = topic;
    msg.payload = bytes;
    msg.len = n;
    msg.qos = 1;
    msg.recv_ms = fy_clock_wall_ms();
    if (format != NULL) {
        const struct fy_format_plugin *fp = fy_codec_format_find(format);
        if (fp == NULL) {
            fprintf(stderr, "ferry: unknown format '%s'\n", format);
            goto out_up;
        }
        if (fp->create != NULL) {
            void *fctx = fp->create(format_opts, &err);
            int frc = fctx != NULL ? fp->decode_ctx(fctx, &msg, &up, &err) : FY_ECONFIG;
            if (fctx != NULL) {
                fp->destroy(fctx);
            }
            if (frc != FY_OK) {
                fprintf(stderr, "ferry: %s\n", err.msg);
                goto out_up;
            }
        } else if (fp->decode(&msg, &up, &err) != FY_OK) {
            fprintf(stderr, "ferry: %s\n", err.msg);
            goto out_up;
        }
    } else if (pp != NULL) {
        /* bytes alone: the device payload */
        up.payload = bytes;
        up.payload_len = n;
        up.f_port = fport;
        bytes = NULL;
        snprintf(up.event, sizeof(up.event), "up");
    } else {
        fprintf(stderr, "ferry: give --format, --codec or -c CONFIG --route NAME\n");
        goto out_up;
    }
    if (pp != NULL) {
        cJSON *decoded = NULL;
        if (pp->decode(cctx, &up, &decoded, &err) != FY_OK) {
            fprintf(stderr, "ferry: codec %s: %s\n", codec, err.msg);
            goto out_up;
        }
        obj = fy_uplink_to_json(&up);
        cJSON_AddItemToObject(obj, "decoded", decoded);
    }
    if (fy_envelope_build(&env, &up, obj, rec_type, "create", "decode", msg.payload, msg.len,
                          &err) != FY_OK) {
        fprintf(stderr, "ferry: %s\n", err.msg);
        goto out_up;
    }
    {
        cJSON *pretty = cJSON_Parse(env.json);
        char *text = cJSON_Print(pretty);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(pretty);
    }
    fy_envelope_clear(&env);
    rc = 0;
out_up:
    fy_uplink_clear(&up);
out:
    if (cctx != NULL) {
        pp->destroy(cctx);
    }
    fy_conf_free(script_node);
    free(bytes);
    fy_config_free(cfg);
    fy_codec_shutdown();
    return rc;
}

/* ==== status ==== */

static void status_usage(FILE *out)
{
    fprintf(out,
            "Usage: ferry status [-c FILE | --admin HOST:PORT] [--json]\n"
            "\n"
            "Asks a running Ferry for its state through the admin endpoint (admin.listen in\n"
            "the configuration, or --admin) and prints sources, sinks with their health\n"
            "(healthy, failing, disabled), failures, lag and counters, and the journal.\n"
            "  --json   print the /status document as it is\n"
            "Exit status: 0 every sink healthy, 1 some sink failing or disabled (or the journal\n"
            "failed), 2 usage or configuration error, 3 Ferry cannot be reached.\n");
}

static size_t status_body(char *p, size_t size, size_t n, void *arg)
{
    return fy_buf_add(arg, p, size * n) == FY_OK ? size * n : 0;
}

/* GET http://admin/status into out. 0, or -1 after printing why. */
static int status_fetch(const char *admin, struct fy_buf *out)
{
    char url[300];
    long code = 0;
    CURLcode cc;
    CURL *e = curl_easy_init();

    if (e == NULL) {
        return -1;
    }
    snprintf(url, sizeof(url), "http://%s/status", admin);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, status_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    cc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    if (cc != CURLE_OK || code != 200) {
        fprintf(stderr, "ferry: cannot reach Ferry's admin endpoint at %s: %s (is it running, "
                "with admin.listen set to this address?)\n", url,
                cc != CURLE_OK ? curl_easy_strerror(cc) : "unexpected HTTP status");
        return -1;
    }
    return 0;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
    return v != NULL ? v : "";
}

/* 1 when the journal works and every sink is healthy. */
static int status_ok(const cJSON *st)
{
    const cJSON *it;

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "journal_failed"))) {
        return 0;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "sinks"))
    {
        if (strcmp(str(it, "health"), "healthy") != 0) {
            return 0;
        }
    }
    return 1;
}

/* Print the status document for a person; returns the exit code (0 healthy, 1 not). */
static int status_print(const cJSON *st)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(st, "journal");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(st, "ingest");
    const cJSON *it;
    int bad = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "journal_failed"));

    printf("ferry %s, instance '%s', up %.0f s (since %s)\n", str(st, "version"),
           str(st, "instance"), num(st, "uptime_s"), str(st, "started"));
    printf("journal %s: %.0f bytes in %.0f segment(s), records %.0f..%.0f%s\n", str(j, "dir"),
           num(j, "bytes"), num(j, "segments"), num(j, "first_seq"), num(j, "next_seq"),
           bad ? "  FAILED (see the log; restart to recover)" : "");
    printf("ingest: %.0f received, %.0f records, %.0f unmatched, %.0f decode errors, %.0f dead "
           "letters\n", num(in, "received"), num(in, "records"), num(in, "unmatched"),
           num(in, "decode_errors"), num(in, "dead_letters"));
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "sources"))
    {
        printf("source %s (%s)\n", str(it, "name"), str(it, "type"));
    }
    printf("\n%-20s %-9s %-9s %8s %10s %12s %8s\n", "SINK", "TYPE", "HEALTH", "FAILURES", "LAG",
           "DELIVERED", "DEAD");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "sinks"))
    {
        printf("%-20s %-9s %-9s %8.0f %10.0f %12.0f %8.0f\n", str(it, "name"), str(it, "type"),
               str(it, "health"), num(it, "failures"), num(it, "lag_records"),
               num(it, "delivered"), num(it, "rejected") + num(it, "expired"));
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "sinks"))
    {
        if (strcmp(str(it, "health"), "healthy") != 0) {
            printf("\n%s is %s since %s after %.0f failed attempt(s); next attempt %s\n  last "
                   "error: %s\n", str(it, "name"), str(it, "health"), str(it, "health_since"),
                   num(it, "failures"),
                   cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "next_attempt"))
                       ? str(it, "next_attempt")
                       : "-",
                   str(it, "last_error"));
        }
    }
    return status_ok(st) ? 0 : 1;
}

int fy_cli_status(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"admin", required_argument, NULL, 'a'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *path = NULL, *admin = NULL;
    struct fy_config *cfg = NULL;
    struct fy_buf body;
    int c, json = 0, rc;
    cJSON *st;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:a:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'a':
            admin = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            status_usage(stdout);
            return 0;
        default:
            status_usage(stderr);
            return 2;
        }
    }
    if (admin == NULL) {
        if (path == NULL) {
            status_usage(stderr);
            return 2;
        }
        cfg = load_config(path);
        if (cfg == NULL) {
            return 2;
        }
        if (cfg->admin_listen == NULL) {
            fprintf(stderr, "ferry: %s has no admin.listen: set admin: {listen: "
                    "127.0.0.1:8081} and restart Ferry, or pass --admin HOST:PORT\n", path);
            fy_config_free(cfg);
            return 2;
        }
        admin = cfg->admin_listen;
    }
    fy_buf_init(&body, 16u << 20);
    if (status_fetch(admin, &body) != 0) {
        fy_buf_free(&body);
        fy_config_free(cfg);
        return 3;
    }
    st = cJSON_ParseWithLength(body.data, body.len);
    if (st == NULL) {
        fprintf(stderr, "ferry: %s/status did not answer JSON\n", admin);
        rc = 3;
    } else if (json) {
        fwrite(body.data, 1, body.len, stdout);
        rc = status_ok(st) ? 0 : 1;
    } else {
        rc = status_print(st);
    }
    cJSON_Delete(st);
    fy_buf_free(&body);
    fy_config_free(cfg);
    return rc;
}

/* ==== plugins, help ==== */

/* One compiled-in plugin, whatever its kind. */
struct plugin_row {
    enum fy_plugin_kind kind;
    const char *name, *description;
    const struct fy_opt *opts;
};

/* Every plugin compiled in, in kind order; returns the count (at most max). */
static size_t all_plugins(struct plugin_row *rows, size_t max)
{
    const struct fy_source_plugin *const *src = fy_source_plugins();
    const struct fy_format_plugin *const *fmt = fy_codec_formats();
    const struct fy_payload_plugin *const *cod = fy_codec_payloads();
    const struct fy_sink_plugin *const *snk = fy_sink_plugins();
    size_t n = 0;

#define ROW(K, P)                                                                               \
    if (n < max) {                                                                              \
        rows[n++] = (struct plugin_row){K, (P)->name, (P)->description, (P)->opts};             \
    }
    for (; *src != NULL; src++) {
        ROW(FY_PLUGIN_SOURCE, *src)
    }
    for (; *fmt != NULL; fmt++) {
        ROW(FY_PLUGIN_FORMAT, *fmt)
    }
    for (; *cod != NULL; cod++) {
        ROW(FY_PLUGIN_CODEC, *cod)
    }
    for (; *snk != NULL; snk++) {
        ROW(FY_PLUGIN_SINK, *snk)
    }
#undef ROW
    return n;
}

int fy_cli_plugins(int argc, char **argv)
{
    struct plugin_row rows[64];
    size_t n = all_plugins(rows, 64), i;
    int json = argc > 1 && strcmp(argv[1], "--json") == 0;

    if (argc > 1 && !json) {
        fprintf(stderr, "Usage: ferry plugins [--json]\n\nList the sources, network formats, "
                        "payload codecs and sinks compiled into this Ferry.\n");
        return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 0 : 2;
    }
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        char *txt;
        for (i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "kind", fy_plugin_kind_name(rows[i].kind));
            cJSON_AddStringToObject(o, "name", rows[i].name);
            cJSON_AddStringToObject(o, "description", rows[i].description);
            cJSON_AddNumberToObject(o, "abi", FY_PLUGIN_ABI);
            cJSON_AddItemToArray(arr, o);
        }
        txt = cJSON_Print(arr);
        printf("%s\n", txt != NULL ? txt : "[]");
        free(txt);
        cJSON_Delete(arr);
        return 0;
    }
    for (i = 0; i < n; i++) {
        printf("%-7s %-15s %s\n", fy_plugin_kind_name(rows[i].kind), rows[i].name,
               rows[i].description);
    }
    printf("\nOptions of one: ferry help KIND NAME (e.g. ferry help sink webhook)\n");
    return 0;
}

int fy_cli_help(int argc, char **argv)
{
    struct plugin_row rows[64];
    size_t n = all_plugins(rows, 64), i;
    enum fy_opts_doc_format fmt = FY_OPTS_DOC_TEXT;

    if (argc > 3 && strcmp(argv[3], "--markdown") == 0) {
        fmt = FY_OPTS_DOC_MARKDOWN;
    } else if (argc > 3 && strcmp(argv[3], "--json") == 0) {
        fmt = FY_OPTS_DOC_JSON;
    }
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "Usage: ferry help KIND NAME [--markdown|--json]\n\nEvery option of "
                        "one plugin: type, default, unit, range, flags and what it does.\n"
                        "KIND is source, format, codec or sink; 'ferry plugins' lists them.\n");
        return 2;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(fy_plugin_kind_name(rows[i].kind), argv[1]) == 0 &&
            strcmp(rows[i].name, argv[2]) == 0) {
            if (fmt == FY_OPTS_DOC_TEXT) {
                printf("%s %s: %s\n\nOptions:\n", argv[1], rows[i].name, rows[i].description);
            }
            fy_opts_doc(rows[i].opts, fmt, stdout);
            return 0;
        }
    }
    fprintf(stderr, "ferry: no %s plugin '%s' in this build (see 'ferry plugins')\n", argv[1],
            argv[2]);
    return 2;
}
