/* webhook.c - webhook sink benchmark: messages/s that a delivery worker (bridge/deliver.c)
 * moves from a journal to a local HTTPS endpoint (bench_https_sink) through the webhook sink,
 * with batching off and on and with 1 or 8 requests in flight, at a receiver delay of 0 ms and
 * of --delay-ms (a remote endpoint's round trip). Started by bench/webhook.sh, which makes the
 * certificate and runs the receiver.
 *
 * One run of a variant: a fresh journal is filled with n records (real TTS v3 uplinks from
 * uplink_gen.h through the tts-v3 format into envelopes, as the pipeline writes them; not
 * timed), then the worker is started and timed until its `delivered` counter reaches n (the
 * cursor commit, which lags by up to 100 ms, is then awaited but not timed). Variants are
 * interleaved within each round, the start rotating per round; each is run --rounds times.
 * Reported: the median msg/s, the median of the per-round ratios to variant (a) at the same
 * delay, CPU time per message on each side (the sender's without this driver's watching
 * thread), and the receiver's record count and duplicates.
 *
 * DESIGN: single-threaded driver; the worker runs on its own thread (deliver.h) and is only
 * observed through its atomic counters. The receiver's counters are read over HTTPS (GET
 * /reset before and /stats after each run).
 *
 * Usage: bench_webhook --url https://127.0.0.1:PORT --ca CERT.pem [--n N] [--n-single M]
 *        [--rounds R] [--delay-ms D] [--dir DIR] [--fsync interval|never|always] [--timeout S] */
#include "bench/uplink_gen.h"
#include "bridge/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/record.h"
#include "bridge/deliver.h"
#include "bridge/envelope.h"
#include "codecs/codec.h"

#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#define MAX_ROUNDS 15
#define N_VARIANTS 8

struct variant {
    const char *label;   /* (a)..(d) */
    const char *what;
    int batch;           /* 0: format single; 1: json_array, batch_max_records 100 */
    int parallel;
    int delay_ms;
    double rate[MAX_ROUNDS];
    double ratio[MAX_ROUNDS];
    double snd_us[MAX_ROUNDS], rcv_us[MAX_ROUNDS];
    double conc[MAX_ROUNDS];  /* mean requests in progress at the receiver, seen by arrivals */
    uint64_t requests, received, unique, runs_ok;
    long n;
    char key[16];        /* for --only: "a0", "d2" */
    int enabled;
};

struct opts {
    const char *url, *ca, *dir, *fsync;
    const char *only;    /* comma-separated variant keys ("a0,d2"), NULL = all */
    long n, n_single;
    int rounds, delay_ms, timeout_s;
};

/* Encoded journal records, built once. */
struct corpus {
    char **data;
    size_t *len;
    long n;
    size_t body_bytes;
};

struct recv_stats {
    uint64_t requests, records, unique, noid, bytes, cpu_ms, inflight_sum;
};

static double now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* CPU seconds used by the process (RUSAGE_SELF) or by the calling thread (RUSAGE_THREAD). */
static double cpu_s(int who)
{
    struct rusage ru;

    getrusage(who, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* ==== the records ==== */

/* Build n envelopes from TTS v3 uplinks (50 devices, fCnt counting up), each encoded as the
 * pipeline journals it, for sink "hook". 0 or -1 with a message on stderr. */
static int corpus_build(struct corpus *c, long n)
{
    const struct fy_format_plugin *fp = fy_codec_format_find("tts-v3");
    long i;

    memset(c, 0, sizeof(*c));
    c->data = calloc((size_t)n, sizeof(char *));
    c->len = calloc((size_t)n, sizeof(size_t));
    if (fp == NULL || c->data == NULL || c->len == NULL) {
        fprintf(stderr, "bench_webhook: no tts-v3 format or out of memory\n");
        return -1;
    }
    for (i = 0; i < n; i++) {
        char topic[128], body[2048];
        struct fy_err err = {0};
        struct fy_uplink up;
        struct fy_envelope env;
        struct fy_record rec = {0};
        struct fy_buf b;
        struct fy_msg msg;
        int len = gen_uplink(0, (unsigned)(i % 50), (uint32_t)(i / 50 + 1), topic, sizeof(topic),
                             body, sizeof(body));

        msg = (struct fy_msg){"bench", topic, body, (size_t)len, 1, 0};
        fy_uplink_init(&up);
        memset(&env, 0, sizeof(env));
        if (fp->decode(&msg, &up, &err) != FY_OK ||
            fy_envelope_build(&env, &up, NULL, "io.bench.tts", "create", "bench", body,
                              (size_t)len, &err) != FY_OK) {
            fprintf(stderr, "bench_webhook: envelope %ld: %s\n", i, err.msg);
            fy_uplink_clear(&up);
            return -1;
        }
        rec.id = env.id;
        rec.key = env.key;
        rec.rec_type = "io.bench.tts";
        rec.event_type = "create";
        rec.body = env.json;
        rec.body_len = env.len;
        rec.created_ms = 0;
        rec.n_dests = 1;
        rec.dests[0].sink = "hook";
        rec.dests[0].dest = "";
        fy_buf_init(&b, 1 << 20);
        if (fy_record_encode(&rec, &b) != FY_OK) {
            fprintf(stderr, "bench_webhook: cannot encode record %ld\n", i);
            fy_envelope_clear(&env);
            fy_uplink_clear(&up);
            return -1;
        }
        c->body_bytes += env.len;
        c->data[i] = fy_buf_steal(&b, &c->len[i]);
        c->n = i + 1;
        fy_envelope_clear(&env);
        fy_uplink_clear(&up);
    }
    return 0;
}

static void corpus_free(struct corpus *c)
{
    long i;

    for (i = 0; i < c->n; i++) {
        free(c->data[i]);
    }
    free(c->data);
    free(c->len);
}

/* ==== the receiver's counters ==== */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct fy_buf *b = arg;

    fy_buf_add(b, p, size * n);
    return size * n;
}

/* GET base+path; fills st when path is /stats. 0 on success. */
static int recv_get(const struct opts *o, const char *path, struct recv_stats *st)
{
    CURL *h = curl_easy_init();
    struct fy_buf b;
    char url[600];
    long status = 0;
    CURLcode rc;
    int ok = -1;

    if (h == NULL) {
        return -1;
    }
    fy_buf_init(&b, 4096);
    snprintf(url, sizeof(url), "%s%s", o->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, o->ca);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "bench_webhook: GET %s: %s (HTTP %ld)\n", url, curl_easy_strerror(rc),
                status);
    } else if (st == NULL) {
        ok = 0;
    } else if (b.data != NULL &&
               sscanf(b.data,
                      "requests=%" SCNu64 " records=%" SCNu64 " unique=%" SCNu64
                      " noid=%" SCNu64 " bytes=%" SCNu64 " cpu_ms=%" SCNu64
                      " inflight_sum=%" SCNu64,
                      &st->requests, &st->records, &st->unique, &st->noid, &st->bytes,
                      &st->cpu_ms, &st->inflight_sum) == 7) {
        ok = 0;
    }
    fy_buf_free(&b);
    curl_easy_cleanup(h);
    return ok;
}

/* ==== one run ==== */

static int write_config(const struct opts *o, const struct variant *v, const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        fprintf(stderr, "bench_webhook: cannot write %s\n", path);
        return -1;
    }
    fprintf(f,
            "instance: bench\n"
            "journal: {dir: %s/journal, fsync: %s}\n"
            "sources: []\n"
            "sinks:\n"
            "  - name: hook\n"
            "    type: webhook\n"
            "    url: \"%s/in?delay_ms=%d\"\n"
            "    ca_file: \"%s\"\n"
            "    allow_private_networks: true\n"
            "    format: %s\n"
            "    batch_max_records: %d\n"
            "    parallel: %d\n"
            "routes: []\n",
            o->dir, o->fsync, o->url, v->delay_ms, o->ca, v->batch ? "json_array" : "single",
            v->batch ? 100 : 1, v->parallel);
    fclose(f);
    return 0;
}

/* Run variant v once over the first v->n records of c; stores round r's figures. 0 on
 * success (every record delivered and received). */
static int run_once(const struct opts *o, struct variant *v, int r, const struct corpus *c)
{
    char path[512], cmd[600];
    struct fy_err err = {0};
    struct fy_config *cfg = NULL;
    struct fy_journal *j = NULL, *dlq = NULL;
    struct fy_journal_opts jo;
    struct fy_deliver *d = NULL;
    struct fy_sink_stats *ss;
    struct recv_stats before = {0}, after = {0};
    double t0, t1, c0, c1, m0, m1, deadline;
    uint64_t first = 1;
    long i;
    int rc = -1;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s/journal' '%s/dlq'", o->dir, o->dir);
    snprintf(path, sizeof(path), "%s/ferry.yaml", o->dir);
    if (system(cmd) != 0 || write_config(o, v, path) != 0) {
        return -1;
    }
    cfg = fy_config_load(path, &err);
    if (cfg == NULL) {
        fprintf(stderr, "bench_webhook: %s\n", err.msg);
        return -1;
    }
    j = fy_journal_open(&cfg->journal, &err);
    jo = cfg->journal;
    snprintf(path, sizeof(path), "%s/dlq", o->dir);
    jo.dir = path;
    dlq = j != NULL ? fy_journal_open(&jo, &err) : NULL;
    /* a new reader starts at the end of the journal: create the worker before the records */
    d = dlq != NULL ? fy_deliver_create(&cfg->sinks[0], j, dlq, &err) : NULL;
    if (d == NULL) {
        fprintf(stderr, "bench_webhook: %s\n", err.msg);
        goto out;
    }
    for (i = 0; i < v->n; i++) {
        uint64_t seq;
        if (fy_journal_append(j, c->data[i], c->len[i], &seq) != FY_OK) {
            fprintf(stderr, "bench_webhook: journal append failed\n");
            goto out;
        }
        if (i == 0) {
            first = seq;
        }
    }
    if (recv_get(o, "/reset", NULL) != 0 || recv_get(o, "/stats", &before) != 0) {
        goto out;
    }
    ss = fy_deliver_stats(d);
    c0 = cpu_s(RUSAGE_SELF);
    m0 = cpu_s(RUSAGE_THREAD); /* this thread only watches: its share is not the sender's */
    t0 = now_s();
    if (fy_deliver_start(d, &err) != FY_OK) {
        fprintf(stderr, "bench_webhook: %s\n", err.msg);
        goto out;
    }
    deadline = t0 + o->timeout_s;
    while (FY_STAT_GET(ss->delivered) < (uint64_t)v->n && now_s() < deadline) {
        sleep_ms(1);
    }
    t1 = now_s();
    c1 = cpu_s(RUSAGE_SELF);
    m1 = cpu_s(RUSAGE_THREAD);
    /* not timed: the cursor has to pass every record too */
    while (FY_STAT_GET(ss->committed_seq) < first + (uint64_t)v->n && now_s() < deadline + 5) {
        sleep_ms(5);
    }
    if (FY_STAT_GET(ss->delivered) < (uint64_t)v->n ||
        FY_STAT_GET(ss->committed_seq) < first + (uint64_t)v->n) {
        struct fy_health_info h;
        fy_deliver_health(d, &h);
        fprintf(stderr, "bench_webhook: %s %s delay %d: only %" PRIu64 " of %ld delivered, "
                "cursor %" PRIu64 " within %d s (health %s: %s)\n", v->label, v->what,
                v->delay_ms, FY_STAT_GET(ss->delivered), v->n, FY_STAT_GET(ss->committed_seq),
                o->timeout_s, fy_health_name(h.state), h.last_error);
        goto out;
    }
    fy_deliver_stop(d, 2000);
    if (recv_get(o, "/stats", &after) != 0) {
        goto out;
    }
    v->rate[r] = (double)v->n / (t1 - t0);
    v->snd_us[r] = ((c1 - c0) - (m1 - m0)) * 1e6 / (double)v->n;
    v->rcv_us[r] = (double)(after.cpu_ms - before.cpu_ms) * 1e3 / (double)v->n;
    v->conc[r] = after.requests > 0 ? (double)after.inflight_sum / (double)after.requests : 0;
    v->requests += after.requests;
    v->received += after.records;
    v->unique += after.unique;
    if (after.records < (uint64_t)v->n || after.unique < (uint64_t)v->n) {
        fprintf(stderr, "bench_webhook: %s %s delay %d: the receiver counted %" PRIu64
                " records (%" PRIu64 " distinct ids) of %ld\n", v->label, v->what, v->delay_ms,
                after.records, after.unique, v->n);
        goto out;
    }
    v->runs_ok++;
    rc = 0;
out:
    fy_deliver_destroy(d);
    fy_journal_close(dlq);
    fy_journal_close(j);
    fy_config_free(cfg);
    return rc;
}

/* ==== report ==== */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[MAX_ROUNDS];

    memcpy(s, v, (size_t)n * sizeof(*s));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: bench_webhook --url https://127.0.0.1:PORT --ca CERT.pem [--n N]\n"
            "       [--n-single M] [--rounds R] [--delay-ms D] [--dir DIR]\n"
            "       [--fsync interval|never|always] [--timeout S] [--only a0,d2,...]\n"
            "N records per batched run (default 100000), M per unbatched run (default 4000),\n"
            "R rounds (default 3), D the receiver's delay for the second half (default 2 ms).\n"
            "--only runs some variants: letter (a-d) and receiver delay, e.g. a0 or b2.\n");
}

/* 1 when key is one of the comma-separated words of list. */
static int key_listed(const char *list, const char *key)
{
    size_t kl = strlen(key);
    const char *p = list;

    while (*p != '\0') {
        size_t wl = strcspn(p, ",");
        if (wl == kl && strncmp(p, key, kl) == 0) {
            return 1;
        }
        p += wl + (p[wl] == ',');
    }
    return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},      {"ca", required_argument, NULL, 'c'},
        {"n", required_argument, NULL, 'n'},        {"n-single", required_argument, NULL, 'm'},
        {"rounds", required_argument, NULL, 'r'},   {"delay-ms", required_argument, NULL, 'D'},
        {"dir", required_argument, NULL, 'd'},      {"fsync", required_argument, NULL, 'f'},
        {"timeout", required_argument, NULL, 't'},  {"only", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    struct opts o = {NULL, NULL, "/tmp/ferry-bench-webhook", "interval", NULL, 100000, 4000, 3, 2,
                     120};
    struct variant vs[N_VARIANTS];
    struct corpus corpus;
    double t_start;
    long v;
    int c, r, i, failures = 0;

    while ((c = getopt_long(argc, argv, "u:c:n:m:r:D:d:f:t:o:h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'u': o.url = optarg; break;
        case 'c': o.ca = optarg; break;
        case 'n': bad = parse_long(optarg, 100, 10000000, &o.n); break;
        case 'm': bad = parse_long(optarg, 10, 10000000, &o.n_single); break;
        case 'r': bad = parse_long(optarg, 1, MAX_ROUNDS, &v); o.rounds = (int)v; break;
        case 'D': bad = parse_long(optarg, 1, 10000, &v); o.delay_ms = (int)v; break;
        case 'd': o.dir = optarg; break;
        case 'f': o.fsync = optarg; break;
        case 't': bad = parse_long(optarg, 1, 3600, &v); o.timeout_s = (int)v; break;
        case 'o': o.only = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "bench_webhook: bad value '%s' for --%c\n", optarg, c);
            return 2;
        }
    }
    if (o.url == NULL || o.ca == NULL) {
        usage(stderr);
        return 2;
    }
    fy_log_setup(FY_LOG_ERROR, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (corpus_build(&corpus, o.n > o.n_single ? o.n : o.n_single) != 0) {
        return 1;
    }
    printf("records: %ld TTS v3 envelopes, %zu bytes on average; receiver delay 0 and %d ms; "
           "%d rounds; journal fsync %s\n", corpus.n, corpus.body_bytes / (size_t)corpus.n,
           o.delay_ms, o.rounds, o.fsync);
    for (i = 0; i < N_VARIANTS; i++) {
        static const char *const labels[] = {"(a)", "(b)", "(c)", "(d)"};
        static const char *const whats[] = {"batching off, parallel 1", "batching off, parallel 8",
                                            "batching on (100), parallel 1",
                                            "batching on (100), parallel 8"};
        memset(&vs[i], 0, sizeof(vs[i]));
        vs[i].label = labels[i % 4];
        vs[i].what = whats[i % 4];
        vs[i].batch = (i % 4) >= 2;
        vs[i].parallel = (i % 2) ? 8 : 1;
        vs[i].delay_ms = i < 4 ? 0 : o.delay_ms;
        vs[i].n = vs[i].batch ? o.n : o.n_single;
        snprintf(vs[i].key, sizeof(vs[i].key), "%c%d", 'a' + i % 4, vs[i].delay_ms);
        vs[i].enabled = o.only == NULL || key_listed(o.only, vs[i].key);
    }
    t_start = now_s();
    for (r = 0; r < o.rounds; r++) {
        for (i = 0; i < N_VARIANTS; i++) {
            struct variant *x = &vs[(i + r * 3) % N_VARIANTS]; /* rotate the order per round */
            if (!x->enabled) {
                continue;
            }
            if (run_once(&o, x, r, &corpus) != 0) {
                failures++;
            }
            fprintf(stderr, "round %d %s %-30s delay %d ms: %8.0f msg/s\n", r + 1, x->label,
                    x->what, x->delay_ms, x->rate[r]);
        }
        for (i = 0; i < N_VARIANTS; i++) {
            const struct variant *a = &vs[i < 4 ? 0 : 4];
            vs[i].ratio[r] = a->rate[r] > 0 ? vs[i].rate[r] / a->rate[r] : 0;
        }
    }
    printf("\n| variant | receiver delay | records per run | msg/s (median) | min - max | "
           "ratio vs (a) | requests per run | requests in progress | sender CPU us/msg | "
           "receiver CPU us/msg |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (i = 0; i < N_VARIANTS; i++) {
        struct variant *x = &vs[i];
        double lo = x->rate[0], hi = x->rate[0];
        char ratio[32];
        if (!x->enabled) {
            continue;
        }
        for (r = 1; r < o.rounds; r++) {
            lo = x->rate[r] < lo ? x->rate[r] : lo;
            hi = x->rate[r] > hi ? x->rate[r] : hi;
        }
        if (vs[i < 4 ? 0 : 4].enabled) {
            snprintf(ratio, sizeof(ratio), "%.2f", median(x->ratio, o.rounds));
        } else {
            snprintf(ratio, sizeof(ratio), "-"); /* (a) was not run (--only) */
        }
        printf("| %s %s | %d ms | %ld | %.0f | %.0f - %.0f | %s | %" PRIu64
               " | %.1f | %.0f | %.0f |\n",
               x->label, x->what, x->delay_ms, x->n, median(x->rate, o.rounds), lo, hi,
               ratio, x->requests / (uint64_t)o.rounds,
               median(x->conc, o.rounds), median(x->snd_us, o.rounds),
               median(x->rcv_us, o.rounds));
    }
    {
        uint64_t sent = 0, received = 0, unique = 0;
        for (i = 0; i < N_VARIANTS; i++) {
            sent += vs[i].enabled ? (uint64_t)vs[i].n * (uint64_t)o.rounds : 0;
            received += vs[i].received;
            unique += vs[i].unique;
        }
        printf("\nreceiver: %" PRIu64 " records received for %" PRIu64 " sent (%" PRIu64
               " distinct, %" PRIu64 " duplicates); %d failed run(s); %.0f s in all\n",
               received, sent, unique, received - unique, failures, now_s() - t_start);
    }
    corpus_free(&corpus);
    curl_global_cleanup();
    return failures == 0 ? 0 : 1;
}
