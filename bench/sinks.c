/* sinks.c - HTTP sink benchmark driver: records/s that one sink plugin (webhook, sqs, kinesis)
 * completes when driven directly through its contract (sinks/sink.h), as the delivery worker
 * drives it but without the journal; and, as the yardstick, a bare libcurl loop posting the
 * same SendMessageBatch / PutRecords bodies to the same AWS-compatible endpoint. Started by
 * bench/sinks.sh, which runs the receivers (bench_https_sink, moto) and prints the table.
 *
 * Records: --records real TTS v3 uplinks (uplink_gen.h, --devices devices, fCnt counting up)
 * through the tts-v3 format into envelopes (~500 bytes), built before the clock starts.
 *
 * Sink mode (--sink): the sink is made from "name: bench\ntype: <sink>\n" + --yaml and fed
 * like bridge/deliver.c feeds it: submit in ticket order until FY_EAGAIN or the plugin's
 * max_inflight records are outstanding, then poll(5), again. Timed from the first submit until
 * every record has completed, or until --seconds (then the records completed by then count,
 * the rest are drained untimed and the run is marked partial). Every record must complete
 * exactly once and OK: anything else (RETRY, REJECT, a second completion, a ticket never
 * submitted, a record never completed) is printed and the exit status is 1.
 *
 * Baseline mode (--baseline sqs|kinesis): the same records cut into bodies of --batch records
 * with the sinks' own body builders (sinks/aws/aws_body.h), built before the clock starts,
 * then POSTed with --parallel requests in flight on one curl multi handle, each new request
 * started as soon as an answer arrives. One fixed SigV4-shaped Authorization header (moto's
 * no-auth instance reads only the region from it): no signing, no record copies, no lanes.
 * Every answer must be 200 and confirm every entry (the sinks' answer parsers), else exit 1.
 *
 * --peer-pid PID: the receiver's process (moto, bench_https_sink); its CPU time over the timed
 * window (/proc/PID/stat) is reported per record and as a share of one core.
 *
 * $FERRY_BENCH_PERF_CTL: a perf control FIFO (perf record -D -1 --control fifo:PATH): "enable"
 * is written to it when the clock starts and "disable" when it stops, so a profile holds the
 * timed part only (not building the records).
 *
 * Output: one line "result key=value ..." (rate, cpu_us, peer_cpu_us, peer_busy, ...) on
 * stdout; failures on stderr.
 *
 * Usage: bench_sinks --sink webhook|sqs|kinesis --yaml 'OPTIONS' [--records N] [--seconds S]
 *        bench_sinks --baseline sqs|kinesis --endpoint URL --target QUEUE_URL|STREAM
 *                    [--batch B] [--parallel P] [--records N] [--seconds S]
 *        common: [--devices D] [--peer-pid PID] [--label TEXT] */
#include "bench/uplink_gen.h"
#include "bridge/envelope.h"
#include "codecs/codec.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/record.h"
#include "sinks/aws/aws_body.h"
#include "sinks/sink.h"

#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct opts {
    const char *sink, *yaml, *baseline, *endpoint, *target, *label;
    long records, seconds, devices, batch, parallel, peer_pid;
};

/* The records, built once. */
struct corpus {
    struct fy_record *rec;
    long n;
    size_t body_bytes;
};

/* Completions, per ticket. Only the sink's poll calls back here (same thread), but
 * fy_sink_complete may come from any thread by contract: keep it simple and locked. */
struct tally {
    long n;
    unsigned char *done;
    long completed, ok, retry, reject, dup, unknown;
    char first_bad[512];
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_self_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds (user + system) of process pid, -1 when it cannot be read. */
static double cpu_pid_s(long pid)
{
    char path[64], line[2048], *p, *save = NULL;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    int field;

    if (pid <= 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((f = fopen(path, "r")) == NULL) {
        return -1;
    }
    p = fgets(line, sizeof(line), f);
    fclose(f);
    if (p == NULL || (p = strrchr(line, ')')) == NULL) {
        return -1;
    }
    /* after "pid (comm)": field 3 is the state; utime and stime are fields 14 and 15 */
    for (field = 3, p = strtok_r(p + 1, " ", &save); p != NULL;
         p = strtok_r(NULL, " ", &save), field++) {
        if (field == 14) {
            ut = strtoull(p, NULL, 10);
        } else if (field == 15) {
            st = strtoull(p, NULL, 10);
            break;
        }
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* perf's control FIFO, when profiling (see the header). */
static void perf_ctl(const char *cmd)
{
    static FILE *f; /* kept open: perf reads commands until the process ends */
    const char *path = getenv("FERRY_BENCH_PERF_CTL");

    if (f == NULL && (path == NULL || *path == '\0' || (f = fopen(path, "w")) == NULL)) {
        return;
    }
    fprintf(f, "%s\n", cmd);
    fflush(f);
}

/* ==== the records ==== */

static int corpus_build(struct corpus *c, long n, long devices)
{
    const struct fy_format_plugin *fp = fy_codec_format_find("tts-v3");
    long i;

    memset(c, 0, sizeof(*c));
    c->rec = calloc((size_t)n, sizeof(*c->rec));
    if (fp == NULL || c->rec == NULL) {
        fprintf(stderr, "bench_sinks: no tts-v3 format or out of memory\n");
        return -1;
    }
    for (i = 0; i < n; i++) {
        char topic[128], body[2048];
        struct fy_err err = {0};
        struct fy_uplink up;
        struct fy_envelope env;
        struct fy_record *r = &c->rec[i];
        struct fy_msg msg;
        int len = gen_uplink(0, (unsigned)(i % devices), (uint32_t)(i / devices + 1), topic,
                             sizeof(topic), body, sizeof(body));

        msg = (struct fy_msg){"bench", topic, body, (size_t)len, 1, 0};
        fy_uplink_init(&up);
        memset(&env, 0, sizeof(env));
        if (fp->decode(&msg, &up, &err) != FY_OK ||
            fy_envelope_build(&env, &up, NULL, "io.bench.tts", "create", "bench", body,
                              (size_t)len, &err) != FY_OK) {
            fprintf(stderr, "bench_sinks: envelope %ld: %s\n", i, err.msg);
            fy_uplink_clear(&up);
            return -1;
        }
        r->id = strdup(env.id);
        r->key = strdup(env.key);
        r->rec_type = "io.bench.tts";
        r->event_type = "create";
        r->body = strndup(env.json, env.len);
        r->body_len = env.len;
        if (r->id == NULL || r->key == NULL || r->body == NULL) {
            fprintf(stderr, "bench_sinks: out of memory\n");
            return -1;
        }
        c->body_bytes += env.len;
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
        free((char *)c->rec[i].id);
        free((char *)c->rec[i].key);
        free((char *)c->rec[i].body);
    }
    free(c->rec);
}

/* ==== sink mode ==== */

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct tally *t = arg;

    if (ticket >= (uint64_t)t->n) {
        t->unknown++;
    } else if (t->done[ticket]++ > 0) {
        t->dup++;
    } else {
        t->completed++;
    }
    if (res == FY_SINK_OK) {
        t->ok++;
        return;
    }
    if (res == FY_SINK_RETRY) {
        t->retry++;
    } else {
        t->reject++;
    }
    if (t->first_bad[0] == '\0') {
        snprintf(t->first_bad, sizeof(t->first_bad), "ticket %" PRIu64 ": %s: %s", ticket,
                 res == FY_SINK_RETRY ? "RETRY" : "REJECT", reason != NULL ? reason : "");
    }
}

static int run_sink(const struct opts *o, const struct corpus *c)
{
    static const char *const skip[] = {"name", "type", NULL};
    const struct fy_sink_plugin *p = fy_sink_plugin_find(o->sink);
    struct fy_err err = {0};
    struct fy_node *root;
    struct fy_sink *snk;
    struct tally t = {0};
    struct fy_buf y;
    double t0, t1, c0, c1, p0, p1, deadline;
    long next = 0, at_deadline = -1, eagain = 0, missing = 0, i;
    size_t cap;
    int partial = 0, drained, rc = 0;

    if (p == NULL) {
        fprintf(stderr, "bench_sinks: no sink plugin '%s' in this build\n", o->sink);
        return 2;
    }
    fy_buf_init(&y, 1 << 20);
    if (fy_buf_printf(&y, "name: bench\ntype: %s\n%s\n", o->sink, o->yaml != NULL ? o->yaml : "")
        != FY_OK || (root = fy_conf_parse(y.data, y.len, "bench.yaml", &err)) == NULL) {
        fprintf(stderr, "bench_sinks: options: %s\n", err.msg);
        fy_buf_free(&y);
        return 2;
    }
    fy_buf_free(&y);
    t.n = c->n;
    t.done = calloc((size_t)c->n, 1);
    snk = t.done != NULL ? fy_sink_create(p, "bench", root, skip, 0, on_complete, &t, &err)
                         : NULL;
    if (snk == NULL) {
        fprintf(stderr, "bench_sinks: %s sink: %s\n", o->sink, err.msg);
        fy_conf_free(root);
        free(t.done);
        return 2;
    }
    cap = fy_sink_max_inflight(snk);
    perf_ctl("enable");
    c0 = cpu_self_s();
    p0 = cpu_pid_s(o->peer_pid);
    t0 = now_s();
    deadline = t0 + (double)o->seconds;
    while (t.completed < c->n) {
        double now = now_s();
        if (now >= deadline) {
            at_deadline = t.completed;
            partial = 1;
            break;
        }
        /* feed as bridge/deliver.c does: until full, at most max_inflight outstanding */
        while (next < c->n && (size_t)(next - t.completed) < cap) {
            int r = fy_sink_submit(snk, &c->rec[next], "", (uint64_t)next);
            if (r == FY_EAGAIN) {
                eagain++;
                break;
            }
            if (r != FY_OK) {
                fprintf(stderr, "bench_sinks: submit of record %ld: %d\n", next, r);
                rc = 1;
                break;
            }
            next++;
        }
        if (rc != 0) {
            break;
        }
        fy_sink_poll(snk, 5);
    }
    t1 = now_s();
    c1 = cpu_self_s();
    p1 = cpu_pid_s(o->peer_pid);
    perf_ctl("disable");
    /* untimed: what was accepted finishes (a partial run) */
    drained = fy_sink_drain(snk, 30000);
    for (i = 0; i < next; i++) {
        missing += t.done[i] == 0;
    }
    {
        long counted = partial ? at_deadline : t.completed;
        double secs = t1 - t0;
        printf("result mode=sink sink=%s label=%s records=%ld submitted=%ld completed=%ld ok=%ld "
               "retry=%ld reject=%ld dup=%ld unknown=%ld missing=%ld eagain=%ld partial=%d "
               "seconds=%.3f rate=%.1f cpu_us=%.2f peer_cpu_us=%.2f peer_busy=%.2f "
               "avg_bytes=%zu\n",
               o->sink, o->label != NULL ? o->label : o->sink, c->n, next, t.completed, t.ok,
               t.retry, t.reject, t.dup, t.unknown, missing, eagain, partial, secs,
               (double)counted / secs, counted > 0 ? (c1 - c0) * 1e6 / (double)counted : 0,
               counted > 0 && p0 >= 0 ? (p1 - p0) * 1e6 / (double)counted : -1,
               p0 >= 0 ? (p1 - p0) / secs : -1, c->body_bytes / (size_t)c->n);
    }
    if (t.ok != next || t.retry + t.reject + t.dup + t.unknown + missing > 0 ||
        drained != FY_OK) {
        fprintf(stderr, "bench_sinks: FAILED %s (%s): %ld submitted, %ld OK, %ld RETRY, %ld "
                "REJECT, %ld duplicate, %ld unknown, %ld never completed%s%s%s\n", o->sink,
                o->label != NULL ? o->label : "", next, t.ok, t.retry, t.reject, t.dup,
                t.unknown, missing, drained != FY_OK ? ", drain timed out" : "",
                t.first_bad[0] != '\0' ? "; first: " : "", t.first_bad);
        rc = 1;
    }
    fy_sink_destroy(snk);
    fy_conf_free(root);
    free(t.done);
    return rc;
}

/* ==== baseline mode ==== */

struct body {
    struct fy_buf req;
    long first, n;
};

struct slot {
    CURL *e;
    struct body *b;
    struct fy_buf resp;
};

/* What the answers assigned (Kinesis: "shard seq"), to count numbers given out twice. */
struct refs {
    char **v;
    long n, cap;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct fy_buf *b = arg;

    fy_buf_add(b, p, size * n);
    return size * n;
}

/* The bodies of the same records as the sinks send them, --batch records each. */
static struct body *bodies_build(const struct opts *o, const struct corpus *c, long *nb)
{
    long n = (c->n + o->batch - 1) / o->batch, i, j;
    struct body *bs = calloc((size_t)n, sizeof(*bs));
    struct fy_err err = {0};
    int sqs = strcmp(o->baseline, "sqs") == 0;

    if (bs == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        struct body *b = &bs[i];
        int rc;
        b->first = i * o->batch;
        b->n = c->n - b->first < o->batch ? c->n - b->first : o->batch;
        if (sqs) {
            fy_buf_init(&b->req, FY_SQS_REQUEST_MAX(FY_SQS_MAX_BYTES));
            rc = fy_sqs_batch_begin(&b->req, o->target, &err);
        } else {
            fy_buf_init(&b->req, FY_KINESIS_REQUEST_MAX);
            rc = fy_kinesis_batch_begin(&b->req, o->target, NULL, &err);
        }
        for (j = 0; rc == FY_OK && j < b->n; j++) {
            const struct fy_record *r = &c->rec[b->first + j];
            char id[16];
            snprintf(id, sizeof(id), "%ld", j);
            rc = sqs ? fy_sqs_batch_add(&b->req, id, r, NULL, NULL, &err)
                     : fy_kinesis_batch_add(&b->req, r, r->key, &err);
        }
        if (rc == FY_OK) {
            rc = sqs ? fy_sqs_batch_end(&b->req, &err) : fy_kinesis_batch_end(&b->req, &err);
        }
        if (rc != FY_OK) {
            fprintf(stderr, "bench_sinks: body %ld: %s\n", i, err.msg);
            return NULL;
        }
    }
    *nb = n;
    return bs;
}

/* 0 when the answer confirms every entry of b, else -1 with a message. */
static int answer_check(const struct opts *o, const struct slot *s, long status,
                        struct refs *refs)
{
    struct fy_aws_result *r = calloc((size_t)s->b->n, sizeof(*r));
    struct fy_err err = {0};
    const char *json = s->resp.data != NULL ? s->resp.data : "";
    long i, sent = 0;
    int rc;

    if (r == NULL) {
        return -1;
    }
    if (status != 200) {
        fprintf(stderr, "bench_sinks: baseline: HTTP %ld: %.300s\n", status, json);
        free(r);
        return -1;
    }
    rc = strcmp(o->baseline, "sqs") == 0
             ? fy_sqs_batch_result(json, s->resp.len, (size_t)s->b->n, r, &err)
             : fy_kinesis_batch_result(json, s->resp.len, (size_t)s->b->n, r, &err);
    for (i = 0; i < s->b->n; i++) {
        char ref[2 * FY_AWS_ID_MAX + 2];
        sent += r[i].state == FY_AWS_SENT;
        if (refs->n == refs->cap) {
            long cap = refs->cap > 0 ? refs->cap * 2 : 1024;
            char **v = realloc(refs->v, (size_t)cap * sizeof(*v));
            if (v == NULL) {
                continue;
            }
            refs->v = v;
            refs->cap = cap;
        }
        snprintf(ref, sizeof(ref), "%s %s", r[i].shard_id, r[i].ref);
        if ((refs->v[refs->n] = strdup(ref)) != NULL) {
            refs->n++;
        }
    }
    if (rc != FY_OK || sent != s->b->n) {
        fprintf(stderr, "bench_sinks: baseline: %ld of %ld entries confirmed: %s %s\n", sent,
                s->b->n, err.msg, s->b->n > 0 ? r[0].reason : "");
        free(r);
        return -1;
    }
    free(r);
    return 0;
}

static int run_baseline(const struct opts *o, const struct corpus *c)
{
    struct curl_slist *hdrs = NULL;
    struct slot *slots = calloc((size_t)o->parallel, sizeof(*slots));
    struct refs refs = {0};
    struct body *bs;
    CURLM *m = curl_multi_init();
    char line[300];
    const char *svc = strcmp(o->baseline, "sqs") == 0 ? "sqs" : "kinesis";
    double t0, t1, c0, c1, p0, p1, deadline;
    long nb = 0, next = 0, answered = 0, records = 0, running = 0, twice = 0, i;
    int rc = 0, partial = 0;

    if (slots == NULL || m == NULL || (bs = bodies_build(o, c, &nb)) == NULL) {
        return 2;
    }
    snprintf(line, sizeof(line), "X-Amz-Target: %s",
             strcmp(svc, "sqs") == 0 ? FY_SQS_TARGET : FY_KINESIS_TARGET);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof(line), "Content-Type: %s",
             strcmp(svc, "sqs") == 0 ? FY_SQS_CONTENT_TYPE : FY_KINESIS_CONTENT_TYPE);
    hdrs = curl_slist_append(hdrs, line);
    hdrs = curl_slist_append(hdrs, "X-Amz-Date: 20260101T000000Z");
    snprintf(line, sizeof(line), "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/"
             "eu-west-1/%s/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
             "x-amz-target, Signature=%064d", svc, 0);
    hdrs = curl_slist_append(hdrs, line);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, o->parallel);
    for (i = 0; i < o->parallel; i++) {
        slots[i].e = curl_easy_init();
        fy_buf_init(&slots[i].resp, 1 << 20);
        curl_easy_setopt(slots[i].e, CURLOPT_URL, o->endpoint);
        curl_easy_setopt(slots[i].e, CURLOPT_PROXY, "");
        curl_easy_setopt(slots[i].e, CURLOPT_POST, 1L);
        curl_easy_setopt(slots[i].e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(slots[i].e, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(slots[i].e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(slots[i].e, CURLOPT_WRITEDATA, &slots[i].resp);
        curl_easy_setopt(slots[i].e, CURLOPT_PRIVATE, (char *)&slots[i]);
        curl_easy_setopt(slots[i].e, CURLOPT_NOSIGNAL, 1L);
    }
    perf_ctl("enable");
    c0 = cpu_self_s();
    p0 = cpu_pid_s(o->peer_pid);
    t0 = now_s();
    deadline = t0 + (double)o->seconds;
    for (i = 0; i < o->parallel && next < nb; i++, next++, running++) {
        slots[i].b = &bs[next];
        curl_easy_setopt(slots[i].e, CURLOPT_POSTFIELDS, bs[next].req.data);
        curl_easy_setopt(slots[i].e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bs[next].req.len);
        curl_multi_add_handle(m, slots[i].e);
    }
    while (running > 0 && rc == 0) {
        CURLMsg *msg;
        int still, left;
        curl_multi_perform(m, &still);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            struct slot *s = NULL;
            long status = 0;
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK) {
                fprintf(stderr, "bench_sinks: baseline: %s\n",
                        curl_easy_strerror(msg->data.result));
                rc = 1;
            }
            curl_multi_remove_handle(m, s->e);
            running--;
            if (rc == 0 && answer_check(o, s, status, &refs) != 0) {
                rc = 1;
            }
            answered++;
            records += s->b->n;
            s->resp.len = 0;
            if (rc == 0 && next < nb && now_s() < deadline) {
                s->b = &bs[next++];
                curl_easy_setopt(s->e, CURLOPT_POSTFIELDS, s->b->req.data);
                curl_easy_setopt(s->e, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)s->b->req.len);
                curl_multi_add_handle(m, s->e);
                running++;
            }
        }
        if (running > 0) {
            curl_multi_poll(m, NULL, 0, 100, NULL);
        }
    }
    t1 = now_s();
    c1 = cpu_self_s();
    p1 = cpu_pid_s(o->peer_pid);
    perf_ctl("disable");
    partial = next < nb;
    /* moto's Kinesis shard numbers a record "last + 1" without a lock: two PutRecords served
     * at once can give two records one number, and the second overwrites the first */
    qsort(refs.v, (size_t)refs.n, sizeof(*refs.v), cmp_str);
    for (i = 1; i < refs.n; i++) {
        twice += strcmp(refs.v[i], refs.v[i - 1]) == 0;
    }
    for (i = 0; i < refs.n; i++) {
        free(refs.v[i]);
    }
    free(refs.v);
    printf("result mode=baseline sink=%s label=%s records=%ld submitted=%ld completed=%ld "
           "ok=%ld requests=%ld partial=%d seconds=%.3f rate=%.1f cpu_us=%.2f "
           "peer_cpu_us=%.2f peer_busy=%.2f batch=%ld parallel=%ld avg_body=%zu ids_twice=%ld\n",
           o->baseline, o->label != NULL ? o->label : o->baseline, c->n, records, records,
           rc == 0 ? records : 0, answered, partial, t1 - t0, (double)records / (t1 - t0),
           records > 0 ? (c1 - c0) * 1e6 / (double)records : 0,
           records > 0 && p0 >= 0 ? (p1 - p0) * 1e6 / (double)records : -1,
           p0 >= 0 ? (p1 - p0) / (t1 - t0) : -1, o->batch, o->parallel,
           nb > 0 ? bs[0].req.len : 0, twice);
    if (rc != 0) {
        fprintf(stderr, "bench_sinks: FAILED baseline %s after %ld answers\n", o->baseline,
                answered);
    }
    for (i = 0; i < o->parallel; i++) {
        curl_easy_cleanup(slots[i].e);
        fy_buf_free(&slots[i].resp);
    }
    for (i = 0; i < nb; i++) {
        fy_buf_free(&bs[i].req);
    }
    free(bs);
    free(slots);
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    return rc;
}

/* ==== main ==== */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: bench_sinks --sink webhook|sqs|kinesis --yaml 'OPTIONS' [--records N]\n"
            "                   [--seconds S]\n"
            "       bench_sinks --baseline sqs|kinesis --endpoint URL --target QUEUE_URL|STREAM\n"
            "                   [--batch B] [--parallel P] [--records N] [--seconds S]\n"
            "       common: [--devices D] [--peer-pid PID] [--label TEXT]\n"
            "OPTIONS: the sink's options as YAML lines (name and type are added).\n"
            "N records (default 20000), at most S seconds timed (default 60), D devices\n"
            "(default 50), B records per body (default 10 for sqs, 500 for kinesis), P requests\n"
            "in flight (default 8 for sqs, 4 for kinesis: the sinks' defaults).\n");
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
        {"sink", required_argument, NULL, 's'},     {"yaml", required_argument, NULL, 'y'},
        {"baseline", required_argument, NULL, 'B'}, {"endpoint", required_argument, NULL, 'e'},
        {"target", required_argument, NULL, 'T'},   {"batch", required_argument, NULL, 'b'},
        {"parallel", required_argument, NULL, 'p'}, {"records", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 't'},  {"devices", required_argument, NULL, 'd'},
        {"peer-pid", required_argument, NULL, 'P'}, {"label", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    struct opts o = {0};
    struct corpus corpus;
    int c, rc;

    o.records = 20000;
    o.seconds = 60;
    o.devices = 50;
    while ((c = getopt_long(argc, argv, "s:y:B:e:T:b:p:n:t:d:P:l:h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 's': o.sink = optarg; break;
        case 'y': o.yaml = optarg; break;
        case 'B': o.baseline = optarg; break;
        case 'e': o.endpoint = optarg; break;
        case 'T': o.target = optarg; break;
        case 'b': bad = parse_long(optarg, 1, 500, &o.batch); break;
        case 'p': bad = parse_long(optarg, 1, 64, &o.parallel); break;
        case 'n': bad = parse_long(optarg, 1, 10000000, &o.records); break;
        case 't': bad = parse_long(optarg, 1, 3600, &o.seconds); break;
        case 'd': bad = parse_long(optarg, 1, 1000000, &o.devices); break;
        case 'P': bad = parse_long(optarg, 1, 1L << 30, &o.peer_pid); break;
        case 'l': o.label = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "bench_sinks: bad value '%s' for --%c\n", optarg, c);
            return 2;
        }
    }
    if ((o.sink == NULL) == (o.baseline == NULL) ||
        (o.baseline != NULL && (o.endpoint == NULL || o.target == NULL ||
                                (strcmp(o.baseline, "sqs") != 0 &&
                                 strcmp(o.baseline, "kinesis") != 0)))) {
        usage(stderr);
        return 2;
    }
    if (o.baseline != NULL) {
        int sqs = strcmp(o.baseline, "sqs") == 0;
        o.batch = o.batch > 0 ? o.batch : sqs ? 10 : 500;
        o.parallel = o.parallel > 0 ? o.parallel : sqs ? 8 : 4;
        if (sqs && o.batch > FY_SQS_MAX_ENTRIES) {
            fprintf(stderr, "bench_sinks: --batch: SQS takes at most %d\n", FY_SQS_MAX_ENTRIES);
            return 2;
        }
    }
    fy_log_setup(FY_LOG_WARN, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (corpus_build(&corpus, o.records, o.devices) != 0) {
        return 1;
    }
    rc = o.sink != NULL ? run_sink(&o, &corpus) : run_baseline(&o, &corpus);
    corpus_free(&corpus);
    curl_global_cleanup();
    return rc;
}
