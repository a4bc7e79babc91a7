/* test_http_queue.c - the shared HTTP request queue (sinks/http_queue.c) against a real HTTP
 * server on 127.0.0.1: batches closed by count, bytes and linger; request slots; per-key
 * lanes under partial failures; 413 splits; 500s; drain; destroy; fy_hq_add's codes.
 *
 * DESIGN: the queue is driven through a tiny sink plugin defined here (submit = fy_hq_add),
 * created with fy_sink_create, so completions arrive through the real fy_sink_complete. The
 * queue, its start/done callbacks and the completions all run on the test's thread. The
 * server is libmicrohttpd with one thread per connection (so delayed answers overlap, as a
 * real endpoint's do); it records every request under srv.mu and answers from a script, then
 * a size rule (413), then a first-sight failure rule ("fail:i,j"), else its default.
 *
 * A request body is the batch's item bodies joined by '\n'; an item body is
 * {"key":"k<key>","seq":<seq>} and its ticket is seq + 1. */
#include "sinks/http_queue.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/http/http.h"
#include "sinks/sink.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int init_http_queue_tests(void);

#define MAX_REQS 512
#define MAX_SEQ 256      /* seq 0..MAX_SEQ-1; tickets 1..MAX_SEQ */
#define MAX_LINES 64

/* ==== the server ==== */

struct answer {
    int status;
    int delay_ms;
    char body[128];
};

struct req {
    char *body;          /* as received, NUL-terminated */
    size_t lines;
    int status;          /* what the server answered */
    int64_t at;          /* monotonic ms the whole request had arrived */
};

struct srv {
    struct MHD_Daemon *mhd;
    int port;
    pthread_mutex_t mu;          /* guards everything below */
    struct answer script[16];    /* answers for the next requests, in order */
    size_t n_script, next_script;
    struct answer dflt;          /* 200 "ok" unless a test says otherwise */
    size_t max_lines;            /* > 0: 413 for a request of more lines */
    int fail_mod, fail_rem;      /* fail_mod > 0: items with seq % mod == rem fail when new */
    unsigned seen[MAX_SEQ];      /* times each seq arrived */
    struct req reqs[MAX_REQS];
    size_t n_reqs;
    int active, max_active;      /* requests being answered now, and the most at once */
};

/* key and seq of the item at line (up to '\n' or the end); 0 when it is not one. */
static int item_parse(const char *line, int *key, int *seq)
{
    return sscanf(line, "{\"key\":\"k%d\",\"seq\":%d}", key, seq) == 2 && *seq >= 0 &&
           *seq < MAX_SEQ;
}

/* The items of body into keys/seqs (up to MAX_LINES); the number of lines. */
static size_t body_items(const char *body, int *keys, int *seqs)
{
    const char *p = body;
    size_t n = 0;

    while (p != NULL && *p != '\0') {
        int k = -1, s = -1;
        if (n < MAX_LINES && item_parse(p, &k, &s)) {
            keys[n] = k;
            seqs[n] = s;
        } else if (n < MAX_LINES) {
            keys[n] = -1;
            seqs[n] = -1;
        }
        n++;
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return n;
}

/* Under s->mu: the answer to body. */
static struct answer decide(struct srv *s, const char *body, size_t lines)
{
    struct answer a = s->dflt;
    int keys[MAX_LINES], seqs[MAX_LINES];
    size_t n, i, len;

    if (s->next_script < s->n_script) {
        return s->script[s->next_script++];
    }
    if (s->max_lines > 0 && lines > s->max_lines) {
        a.status = 413;
        snprintf(a.body, sizeof(a.body), "%zu records: at most %zu", lines, s->max_lines);
        return a;
    }
    n = body_items(body, keys, seqs);
    len = (size_t)snprintf(a.body, sizeof(a.body), "fail:");
    for (i = 0; i < n && i < MAX_LINES; i++) {
        if (seqs[i] < 0) {
            continue;
        }
        if (s->fail_mod > 0 && seqs[i] % s->fail_mod == s->fail_rem && s->seen[seqs[i]] == 0 &&
            len + 8 < sizeof(a.body)) {
            len += (size_t)snprintf(a.body + len, sizeof(a.body) - len, "%s%zu",
                                    a.body[len - 1] == ':' ? "" : ",", i);
        }
        s->seen[seqs[i]]++;
    }
    if (a.body[len - 1] != ':') {
        a.status = 200; /* a partial failure, as SQS or Kinesis answer one */
    } else {
        a = s->dflt;
    }
    return a;
}

static enum MHD_Result srv_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    struct srv *s = cls;
    struct fy_buf *body = *state;
    struct MHD_Response *resp;
    struct answer a;
    enum MHD_Result rc;
    size_t lines = 1;
    const char *p;

    (void)url;
    (void)method;
    (void)version;
    if (body == NULL) {
        if ((body = calloc(1, sizeof(*body))) == NULL) {
            return MHD_NO;
        }
        fy_buf_init(body, 1 << 20);
        *state = body;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        fy_buf_add(body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (fy_buf_add(body, "", 0) != FY_OK) {
        return MHD_NO;
    }
    for (p = body->data; (p = strchr(p, '\n')) != NULL; p++) {
        lines++;
    }
    pthread_mutex_lock(&s->mu);
    a = decide(s, body->data, lines);
    if (s->n_reqs < MAX_REQS) {
        struct req *r = &s->reqs[s->n_reqs++];
        r->body = strdup(body->data);
        r->lines = lines;
        r->status = a.status;
        r->at = fy_clock_mono_ms();
    }
    s->active++;
    if (s->active > s->max_active) {
        s->max_active = s->active;
    }
    pthread_mutex_unlock(&s->mu);
    if (a.delay_ms > 0) {
        struct timespec ts = {a.delay_ms / 1000, (long)(a.delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&s->mu);
    s->active--; /* before the answer leaves: the client cannot start the next one earlier */
    pthread_mutex_unlock(&s->mu);
    resp = MHD_create_response_from_buffer(strlen(a.body), a.body, MHD_RESPMEM_MUST_COPY);
    rc = MHD_queue_response(conn, (unsigned)a.status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void srv_done(void *cls, struct MHD_Connection *conn, void **state,
                     enum MHD_RequestTerminationCode why)
{
    struct fy_buf *body = *state;

    (void)cls;
    (void)conn;
    (void)why;
    if (body != NULL) {
        fy_buf_free(body);
        free(body);
        *state = NULL;
    }
}

static int srv_start(struct srv *s)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    pthread_mutex_init(&s->mu, NULL);
    s->dflt.status = 200;
    snprintf(s->dflt.body, sizeof(s->dflt.body), "ok");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                              0, NULL, NULL, srv_answer, s, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, srv_done, s,
                              MHD_OPTION_END);
    if (s->mhd == NULL) {
        return -1;
    }
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL) {
        return -1;
    }
    s->port = info->port;
    return 0;
}

static void srv_stop(struct srv *s)
{
    size_t i;

    if (s->mhd != NULL) {
        MHD_stop_daemon(s->mhd);
    }
    for (i = 0; i < s->n_reqs; i++) {
        free(s->reqs[i].body);
    }
    pthread_mutex_destroy(&s->mu);
}

/* ==== the test sink: the queue's user ==== */

struct hq_test {
    struct srv srv;
    struct fy_sink *snk;
    struct fy_hq *q;
    struct fy_http_transport tp;
    char url[64];
    int64_t retry_delay_ms;  /* for the items a "fail:" answer names (default 10) */
    /* completions by ticket */
    unsigned ok[MAX_SEQ + 1], retry[MAX_SEQ + 1], reject[MAX_SEQ + 1];
    char reason[MAX_SEQ + 1][200];
    size_t completions, bad_tickets;
    /* requests as the queue started them */
    size_t starts;
    size_t start_n[MAX_REQS];
    int64_t start_at[MAX_REQS];
};

struct tsink {
    struct fy_hq *q; /* set by the test after fy_sink_create */
};

static int tsink_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    (void)snk;
    (void)ctx;
    (void)err;
    return FY_OK;
}

static int tsink_submit(void *ctx, const struct fy_record *rec, const char *dest,
                        uint64_t ticket)
{
    struct tsink *t = ctx;

    (void)dest;
    return fy_hq_add(t->q, NULL, NULL, rec, rec->key, NULL, 0, ticket);
}

static void tsink_poll(void *ctx, int timeout_ms)
{
    struct tsink *t = ctx;

    fy_hq_poll(t->q, timeout_ms);
}

static int tsink_drain(void *ctx, int timeout_ms)
{
    struct tsink *t = ctx;

    return fy_hq_drain(t->q, timeout_ms);
}

static void tsink_exit(void *ctx)
{
    struct tsink *t = ctx;

    fy_hq_destroy(t->q);
    t->q = NULL;
}

static const struct fy_sink_plugin tsink_plugin = {
    .abi = FY_SINK_ABI,
    .name = "hqtest",
    .description = "records POSTed through the shared HTTP queue (test only)",
    .opts = NULL,
    .ctx_size = sizeof(struct tsink),
    .init = tsink_init,
    .submit = tsink_submit,
    .poll = tsink_poll,
    .drain = tsink_drain,
    .exit = tsink_exit,
};

static int hq_start(void *arg, struct fy_hq_batch *b, CURL **easy, char *reason, size_t rsize)
{
    struct hq_test *h = arg;
    CURL *e;
    size_t i;

    fy_buf_init(&b->req, 1 << 20);
    for (i = 0; i < b->n; i++) {
        if ((i > 0 && fy_buf_add(&b->req, "\n", 1) != FY_OK) ||
            fy_buf_add(&b->req, b->items[i].body, b->items[i].len) != FY_OK) {
            snprintf(reason, rsize, "request body too large");
            return FY_ETOOBIG;
        }
    }
    b->headers = curl_slist_append(b->headers, "Content-Type: application/x-ndjson");
    b->headers = curl_slist_append(b->headers, "Expect:");
    if ((e = curl_easy_init()) == NULL) {
        snprintf(reason, rsize, "out of memory");
        return FY_ENOMEM;
    }
    *easy = e;
    curl_easy_setopt(e, CURLOPT_URL, h->url);
    if (fy_http_setup(e, &h->tp, &b->guard) != FY_OK) {
        snprintf(reason, rsize, "fy_http_setup failed");
        return FY_EINVAL;
    }
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->req.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->req.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers);
    if (h->starts < MAX_REQS) {
        h->start_n[h->starts] = b->n;
        h->start_at[h->starts] = fy_clock_mono_ms();
    }
    h->starts++;
    return FY_OK;
}

static void hq_done(void *arg, struct fy_hq_batch *b, CURL *e, CURLcode result, long status)
{
    struct hq_test *h = arg;
    const char *body = b->resp.data != NULL ? b->resp.data : "";
    char reason[256];

    (void)e;
    if (result != CURLE_OK) {
        snprintf(reason, sizeof(reason), "%s", curl_easy_strerror(result));
        fy_hq_complete_all(h->q, b, FY_SINK_RETRY, reason);
    } else if (strncmp(body, "fail:", 5) == 0) {
        const char *p = body + 5;
        char *end;
        for (;;) {
            long i = strtol(p, &end, 10);
            if (end == p) {
                break;
            }
            if (i >= 0 && (size_t)i < b->n) {
                fy_hq_retry_item(h->q, b, (size_t)i, h->retry_delay_ms);
            }
            p = *end == ',' ? end + 1 : end;
        }
        fy_hq_complete_all(h->q, b, FY_SINK_OK, NULL); /* the retried ones have moved out */
    } else if (status >= 200 && status < 300) {
        fy_hq_complete_all(h->q, b, FY_SINK_OK, NULL);
    } else if (status == 413) {
        snprintf(reason, sizeof(reason), "HTTP 413 from %s: %s", h->url, body);
        fy_hq_split(h->q, b, reason);
    } else if (status >= 500) {
        snprintf(reason, sizeof(reason), "HTTP %ld from %s: %s", status, h->url, body);
        fy_hq_complete_all(h->q, b, FY_SINK_RETRY, reason);
    } else {
        snprintf(reason, sizeof(reason), "HTTP %ld from %s: %s", status, h->url, body);
        fy_hq_complete_all(h->q, b, FY_SINK_REJECT, reason);
    }
}

static const struct fy_hq_ops hq_ops = {
    .start = hq_start,
    .done = hq_done,
};

static void on_complete(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct hq_test *h = arg;

    h->completions++;
    if (ticket == 0 || ticket > MAX_SEQ) {
        h->bad_tickets++;
        return;
    }
    if (res == FY_SINK_OK) {
        h->ok[ticket]++;
    } else if (res == FY_SINK_RETRY) {
        h->retry[ticket]++;
    } else {
        h->reject[ticket]++;
    }
    snprintf(h->reason[ticket], sizeof(h->reason[ticket]), "%s", reason != NULL ? reason : "");
}

static struct hq_test *setup(const struct fy_hq_conf *c)
{
    struct hq_test *h = calloc(1, sizeof(*h));
    struct fy_err err = {0};
    struct tsink *t;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(srv_start(&h->srv), 0);
    snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%d/in", h->srv.port);
    h->tp.allow_private = 1;
    h->tp.timeout_ms = 10000;
    h->tp.connect_timeout_ms = 2000;
    h->retry_delay_ms = 10;
    h->snk = fy_sink_create(&tsink_plugin, "t", NULL, NULL, 0, on_complete, h, &err);
    FY_ASSERT_MSG(h->snk != NULL, err.msg);
    t = fy_sink_ctx(h->snk);
    t->q = fy_hq_create(c, &hq_ops, h, h->snk, &err);
    FY_ASSERT_MSG(t->q != NULL, err.msg);
    h->q = t->q;
    return h;
}

static void teardown(struct hq_test *h)
{
    fy_sink_destroy(h->snk);
    srv_stop(&h->srv);
    free(h);
}

/* Submit the record (key, seq) once through the sink; its rc. */
static int add(struct hq_test *h, int key, int seq)
{
    char body[64], k[16], id[32];
    struct fy_record rec = {0};

    snprintf(body, sizeof(body), "{\"key\":\"k%d\",\"seq\":%03d}", key, seq);
    snprintf(k, sizeof(k), "k%d", key);
    snprintf(id, sizeof(id), "id-%03d", seq);
    rec.id = id;
    rec.key = k;
    rec.rec_type = "uplink";
    rec.event_type = "up";
    rec.body = body;
    rec.body_len = strlen(body);
    return fy_sink_submit(h->snk, &rec, "", (uint64_t)seq + 1);
}

/* Submit, polling while the queue says FY_EAGAIN (as the core does), for up to 5 s. */
static void submit(struct hq_test *h, int key, int seq)
{
    int64_t end = fy_clock_deadline(5000);
    int rc;

    while ((rc = add(h, key, seq)) == FY_EAGAIN && fy_clock_mono_ms() < end) {
        fy_sink_poll(h->snk, 5);
    }
    FY_ASSERT_EQ(rc, FY_OK);
}

/* Poll until n completions arrived, for up to timeout_ms; 1 when they did. */
static int wait_completions(struct hq_test *h, size_t n, int timeout_ms)
{
    int64_t end = fy_clock_deadline(timeout_ms);

    while (h->completions < n && fy_clock_mono_ms() < end) {
        fy_sink_poll(h->snk, 10);
    }
    return h->completions >= n;
}

/* Every ticket of seq 0..n-1 completed exactly once OK, nothing else. */
static void assert_all_ok_once(const struct hq_test *h, int n)
{
    int seq, bad = 0;

    for (seq = 0; seq < n; seq++) {
        if (h->ok[seq + 1] != 1 || h->retry[seq + 1] != 0 || h->reject[seq + 1] != 0) {
            fprintf(stderr, "\nseq %d: ok %u retry %u reject %u (%s)\n", seq, h->ok[seq + 1],
                    h->retry[seq + 1], h->reject[seq + 1], h->reason[seq + 1]);
            bad++;
        }
    }
    FY_ASSERT_EQ(bad, 0);
    FY_ASSERT_EQ(h->completions, n);
    FY_ASSERT_EQ(h->bad_tickets, 0);
}

/* The seqs of request r, as a string "0,1,2" (for readable asserts). */
static const char *req_seqs(const struct req *r, char *out, size_t size)
{
    int keys[MAX_LINES], seqs[MAX_LINES];
    size_t n = body_items(r->body, keys, seqs), i, len = 0;

    out[0] = '\0';
    for (i = 0; i < n && i < MAX_LINES && len < size; i++) {
        len += (size_t)snprintf(out + len, size - len, "%s%d", i > 0 ? "," : "", seqs[i]);
    }
    return out;
}

/* ==== 1. batching ==== */

static void test_batch_count(void)
{
    struct fy_hq_conf c = {.max_records = 5, .max_bytes = 1 << 20, .max_wait_ms = 100,
                           .parallel = 1};
    struct hq_test *h = setup(&c);
    int64_t t_last = 0;
    char s[256];
    int seq;

    for (seq = 0; seq < 12; seq++) {
        if (seq == 10) {
            t_last = fy_clock_mono_ms(); /* the third batch opens here */
        }
        submit(h, seq % 3, seq);
    }
    FY_ASSERT_EQ(fy_hq_pending(h->q), 12);
    FY_ASSERT(wait_completions(h, 12, 5000));
    assert_all_ok_once(h, 12);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 3);
    if (h->srv.n_reqs == 3) {
        FY_ASSERT_EQ(h->srv.reqs[0].lines, 5);
        FY_ASSERT_EQ(h->srv.reqs[1].lines, 5);
        FY_ASSERT_EQ(h->srv.reqs[2].lines, 2);
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[0], s, sizeof(s)), "0,1,2,3,4");
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[1], s, sizeof(s)), "5,6,7,8,9");
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[2], s, sizeof(s)), "10,11");
        /* the full ones went at once, the last one only after its linger */
        FY_ASSERT(h->srv.reqs[1].at - t_last < 100);
        FY_ASSERT(h->srv.reqs[2].at - t_last >= 100);
        FY_ASSERT(h->srv.reqs[2].at - t_last < 100 + 500);
    }
    pthread_mutex_unlock(&h->srv.mu);
    FY_ASSERT_EQ(fy_hq_pending(h->q), 0);
    teardown(h);
}

static void test_batch_bytes(void)
{
    /* every item body is 22 bytes: {"key":"k0","seq":000}; three fit exactly */
    struct fy_hq_conf c = {.max_records = 100, .max_bytes = 3 * 22, .max_wait_ms = 20,
                           .parallel = 1};
    struct hq_test *h = setup(&c);
    char s[256];
    size_t i;
    int seq;

    for (seq = 0; seq < 7; seq++) {
        submit(h, 0, seq);
    }
    FY_ASSERT(wait_completions(h, 7, 5000));
    assert_all_ok_once(h, 7);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 3);
    if (h->srv.n_reqs == 3) {
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[0], s, sizeof(s)), "0,1,2");
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[1], s, sizeof(s)), "3,4,5");
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[2], s, sizeof(s)), "6");
    }
    for (i = 0; i < h->srv.n_reqs; i++) {
        /* the item bytes (without the '\n' joins) stay within max_bytes */
        FY_ASSERT(strlen(h->srv.reqs[i].body) - (h->srv.reqs[i].lines - 1) <= 3 * 22);
    }
    pthread_mutex_unlock(&h->srv.mu);
    teardown(h);
}

static void test_linger(void)
{
    struct fy_hq_conf c = {.max_records = 10, .max_bytes = 1 << 20, .max_wait_ms = 200,
                           .parallel = 1};
    struct hq_test *h = setup(&c);
    int64_t t0 = fy_clock_mono_ms();

    submit(h, 0, 0);
    FY_ASSERT(wait_completions(h, 1, 5000));
    assert_all_ok_once(h, 1);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 1);
    if (h->srv.n_reqs == 1) {
        int64_t after = h->srv.reqs[0].at - t0;
        if (after < 200 || after >= 700) {
            fprintf(stderr, "\nlone record arrived %lld ms after submit\n", (long long)after);
        }
        FY_ASSERT(after >= 200);
        FY_ASSERT(after < 200 + 500);
        FY_ASSERT(h->start_at[0] - t0 >= 200);
    }
    pthread_mutex_unlock(&h->srv.mu);
    teardown(h);
}

/* Nothing in flight but a batch lingering or a retry waiting: poll waits (the core's worker
 * paces itself by it) and wakes for the deadline instead of sleeping through it. */
static void test_poll_waits(void)
{
    struct fy_hq_conf c = {.max_records = 10, .max_bytes = 1 << 20, .max_wait_ms = 150,
                           .parallel = 1};
    struct hq_test *h = setup(&c);
    int64_t t0 = fy_clock_mono_ms(), took, gap = 0;
    unsigned polls = 0;

    h->retry_delay_ms = 300;
    h->srv.script[0].status = 200;
    snprintf(h->srv.script[0].body, sizeof(h->srv.script[0].body), "fail:0");
    h->srv.n_script = 1;
    submit(h, 0, 0);
    fy_sink_poll(h->snk, 50);
    took = fy_clock_mono_ms() - t0;
    if (took < 40) {
        fprintf(stderr, "\npoll(50) with a lingering batch returned after %lld ms\n",
                (long long)took);
    }
    FY_ASSERT(took >= 40);
    FY_ASSERT_EQ(h->starts, 0);
    while (h->completions < 1 && fy_clock_mono_ms() - t0 < 5000) {
        fy_sink_poll(h->snk, 1000);
        polls++;
    }
    FY_ASSERT_EQ(h->ok[1], 1);
    /* linger (150 ms) and the retry's delay (300 ms): a handful of polls, not a spin */
    if (polls >= 50) {
        fprintf(stderr, "\n%u polls of up to 1 s in %lld ms\n", polls,
                (long long)(fy_clock_mono_ms() - t0));
    }
    FY_ASSERT(polls < 50);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 2);
    if (h->srv.n_reqs == 2) {
        gap = h->srv.reqs[1].at - h->srv.reqs[0].at;
        FY_ASSERT(h->srv.reqs[0].at - t0 >= 150);
        FY_ASSERT(h->srv.reqs[0].at - t0 < 150 + 200); /* woke for the linger, not after 1 s */
    }
    pthread_mutex_unlock(&h->srv.mu);
    FY_ASSERT(gap >= 300);
    FY_ASSERT(gap < 300 + 200);                         /* woke for the retry, not after 1 s */
    teardown(h);
}

/* ==== 2. request slots ==== */

static void test_parallel(void)
{
    struct fy_hq_conf c = {.max_records = 1, .max_bytes = 1 << 20, .max_wait_ms = 10,
                           .parallel = 2};
    struct hq_test *h = setup(&c);
    size_t running_max = 0;
    int64_t t0, elapsed;
    int seq;

    h->srv.dflt.delay_ms = 200;
    for (seq = 0; seq < 4; seq++) {
        submit(h, seq, seq);
    }
    t0 = fy_clock_mono_ms();
    while (h->completions < 4 && fy_clock_mono_ms() - t0 < 5000) {
        fy_sink_poll(h->snk, 10);
        if (fy_hq_running(h->q) > running_max) {
            running_max = fy_hq_running(h->q);
        }
    }
    elapsed = fy_clock_mono_ms() - t0;
    assert_all_ok_once(h, 4);
    FY_ASSERT_EQ(running_max, 2);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 4);
    FY_ASSERT_EQ(h->srv.max_active, 2); /* two at once, never three */
    pthread_mutex_unlock(&h->srv.mu);
    if (elapsed < 400 || elapsed >= 800) {
        fprintf(stderr, "\n4 batches of 200 ms over 2 slots took %lld ms\n", (long long)elapsed);
    }
    FY_ASSERT(elapsed >= 400);
    FY_ASSERT(elapsed < 800); /* one slot would have taken 800 ms */
    teardown(h);
}

/* ==== 3. lanes ==== */

struct lane_stats {
    size_t lines;          /* records the server received, repeats included */
    size_t dup_requests;   /* requests holding two records of one key */
    size_t out_of_order;   /* records older than one the server had seen of that key */
    size_t repeats;        /* second (or later) arrivals of a record */
    size_t mixed_retries;  /* requests holding both repeats and first arrivals */
};

/* 50 records over 5 keys, interleaved (seq i has key i % 5); the server fails seq % 7 == 3
 * the first time it sees one. */
static void lanes_run(int lanes, struct hq_test **out, struct lane_stats *st)
{
    struct fy_hq_conf c = {.max_records = 10, .max_bytes = 1 << 20, .max_wait_ms = 20,
                           .parallel = 2, .lanes = lanes};
    struct hq_test *h = setup(&c);
    unsigned seen[MAX_SEQ] = {0};
    int last[5] = {-1, -1, -1, -1, -1};
    size_t r, i;
    int seq;

    h->srv.fail_mod = 7;
    h->srv.fail_rem = 3;
    for (seq = 0; seq < 50; seq++) {
        submit(h, seq % 5, seq);
    }
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 10000), FY_OK);
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&h->srv.mu);
    for (r = 0; r < h->srv.n_reqs; r++) {
        int keys[MAX_LINES], seqs[MAX_LINES], per_key[5] = {0};
        size_t n = body_items(h->srv.reqs[r].body, keys, seqs), rep = 0;
        int dup = 0;
        for (i = 0; i < n && i < MAX_LINES; i++) {
            FY_ASSERT(keys[i] >= 0 && keys[i] < 5 && seqs[i] >= 0);
            if (keys[i] < 0 || keys[i] >= 5 || seqs[i] < 0) {
                continue;
            }
            if (++per_key[keys[i]] > 1) {
                dup = 1;
            }
            if (seqs[i] < last[keys[i]]) {
                st->out_of_order++;
            }
            if (seqs[i] > last[keys[i]]) {
                last[keys[i]] = seqs[i];
            }
            if (seen[seqs[i]]++ > 0) {
                rep++;
            }
        }
        st->lines += n;
        st->dup_requests += (size_t)dup;
        st->repeats += rep;
        st->mixed_retries += rep > 0 && rep < n;
    }
    pthread_mutex_unlock(&h->srv.mu);
    *out = h;
}

static void test_lanes(void)
{
    struct lane_stats st;
    struct hq_test *h;

    lanes_run(1, &h, &st);
    assert_all_ok_once(h, 50);
    /* seqs 3, 10, 17, 24, 31, 38 and 45 fail once each and are sent again */
    FY_ASSERT_EQ(st.repeats, 7);
    FY_ASSERT_EQ(st.lines, 57);
    FY_ASSERT_EQ(st.dup_requests, 0);
    FY_ASSERT_EQ(st.out_of_order, 0);
    FY_ASSERT_EQ(st.mixed_retries, 0); /* a retried record goes without the rest of its batch */
    FY_ASSERT_EQ(fy_hq_pending(h->q), 0);
    teardown(h);

    /* the same run without lanes: the checks above can tell the difference */
    lanes_run(0, &h, &st);
    assert_all_ok_once(h, 50);
    FY_ASSERT_EQ(st.repeats, 7);
    FY_ASSERT(st.dup_requests > 0);
    FY_ASSERT(st.out_of_order > 0); /* seq 3 sent again after seq 8 of its key */
    teardown(h);
}

/* A 500 hands the whole batch back as RETRY. The core sends those records again, and every
 * later one after them: so the record waiting in k0's lane goes back too, unsent (sending it
 * now would put it before k0's failed record), and k0's lane opens again once nothing is
 * pending. */
static void test_retry_500(void)
{
    struct fy_hq_conf c = {.max_records = 5, .max_bytes = 1 << 20, .max_wait_ms = 10,
                           .parallel = 1, .lanes = 1};
    struct hq_test *h = setup(&c);
    char s[256];

    h->srv.script[0].status = 500;
    snprintf(h->srv.script[0].body, sizeof(h->srv.script[0].body), "try later");
    h->srv.n_script = 1;
    submit(h, 0, 0);
    submit(h, 0, 1); /* waits in k0's lane */
    submit(h, 1, 2);
    FY_ASSERT_EQ(fy_hq_pending(h->q), 3);
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 5000), FY_OK);
    FY_ASSERT_EQ(h->completions, 3);
    FY_ASSERT_EQ(h->retry[1], 1);
    FY_ASSERT_EQ(h->retry[2], 1);
    FY_ASSERT_EQ(h->ok[3], 1); /* k1's record went in the next request */
    FY_ASSERT_EQ(h->ok[1] + h->ok[2] + h->reject[1] + h->reject[2] + h->reject[3], 0);
    FY_ASSERT(strstr(h->reason[1], "HTTP 500") != NULL);
    FY_ASSERT(strstr(h->reason[1], "try later") != NULL);
    FY_ASSERT(strstr(h->reason[2], "held back") != NULL);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 2); /* k0's second record closed the batch holding "0" */
    if (h->srv.n_reqs == 2) {
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[0], s, sizeof(s)), "0");
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[1], s, sizeof(s)), "2");
    }
    pthread_mutex_unlock(&h->srv.mu);
    /* nothing pending: k0's lane is open again, its next record is sent */
    submit(h, 0, 3);
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 5000), FY_OK);
    FY_ASSERT_EQ(h->ok[4], 1);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 3);
    pthread_mutex_unlock(&h->srv.mu);
    teardown(h);
}

/* ==== 4. 413 ==== */

static void test_split_413(void)
{
    struct fy_hq_conf c = {.max_records = 8, .max_bytes = 1 << 20, .max_wait_ms = 10,
                           .parallel = 1};
    struct hq_test *h = setup(&c);
    char s[256], all[256] = "";
    size_t r, accepted = 0, len = 0;
    int seq;

    h->srv.max_lines = 2;
    for (seq = 0; seq < 8; seq++) {
        submit(h, seq, seq);
    }
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 5000), FY_OK);
    assert_all_ok_once(h, 8);
    pthread_mutex_lock(&h->srv.mu);
    /* 8 -> 4 + 4 -> 2 + 2 + 2 + 2: 8 (413), 4 (413), 2, 2, 4 (413), 2, 2 */
    FY_ASSERT_EQ(h->srv.n_reqs, 7);
    for (r = 0; r < h->srv.n_reqs; r++) {
        const struct req *rq = &h->srv.reqs[r];
        FY_ASSERT_EQ(rq->status, rq->lines > 2 ? 413 : 200);
        if (rq->status == 200) {
            FY_ASSERT(rq->lines <= 2);
            accepted++;
            len += (size_t)snprintf(all + len, sizeof(all) - len, "%s%s", len > 0 ? "," : "",
                                    req_seqs(rq, s, sizeof(s)));
        }
    }
    pthread_mutex_unlock(&h->srv.mu);
    FY_ASSERT_EQ(accepted, 4);
    FY_ASSERT_STR(all, "0,1,2,3,4,5,6,7"); /* the halves keep the batch's order */

    /* a single record answered 413 is rejected with the reason */
    pthread_mutex_lock(&h->srv.mu);
    h->srv.max_lines = 0;
    h->srv.script[0].status = 413;
    snprintf(h->srv.script[0].body, sizeof(h->srv.script[0].body), "payload too large");
    h->srv.n_script = 1;
    h->srv.next_script = 0;
    pthread_mutex_unlock(&h->srv.mu);
    submit(h, 0, 20);
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 5000), FY_OK);
    FY_ASSERT_EQ(h->completions, 9);
    FY_ASSERT_EQ(h->reject[21], 1);
    FY_ASSERT_EQ(h->ok[21] + h->retry[21], 0);
    FY_ASSERT(strstr(h->reason[21], "HTTP 413") != NULL);
    FY_ASSERT(strstr(h->reason[21], "payload too large") != NULL);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 8); /* sent once, not split further */
    pthread_mutex_unlock(&h->srv.mu);
    teardown(h);
}

/* ==== 5. drain and destroy ==== */

static void test_drain(void)
{
    struct fy_hq_conf c = {.max_records = 10, .max_bytes = 1 << 20, .max_wait_ms = 60000,
                           .parallel = 1, .lanes = 1};
    struct hq_test *h = setup(&c);
    int64_t t0;
    size_t r;
    int seq;

    /* one record of k0 in the open batch, nine waiting in its lane; linger is a minute. The
     * second record of k0 closes the batch holding the first (it cannot grow by k0 any
     * more), so k1's record opens the next batch */
    h->srv.dflt.delay_ms = 20;
    for (seq = 0; seq < 10; seq++) {
        submit(h, 0, seq);
    }
    submit(h, 1, 10);
    FY_ASSERT_EQ(fy_hq_pending(h->q), 11);
    t0 = fy_clock_mono_ms();
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 5000), FY_OK);
    FY_ASSERT(fy_clock_mono_ms() - t0 < 5000);
    FY_ASSERT_EQ(fy_hq_pending(h->q), 0);
    assert_all_ok_once(h, 11);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 11); /* "0", then k1's "10" (closed by the drain), then k0's */
    for (r = 0; r < h->srv.n_reqs && r < 11; r++) {
        char s[64], want[64];
        if (r == 0) {
            snprintf(want, sizeof(want), "0");
        } else if (r == 1) {
            snprintf(want, sizeof(want), "10");
        } else {
            snprintf(want, sizeof(want), "%zu", r - 1);
        }
        FY_ASSERT_STR(req_seqs(&h->srv.reqs[r], s, sizeof(s)), want);
    }
    pthread_mutex_unlock(&h->srv.mu);

    /* out of time: FY_ETIMEOUT and the record still pending; a longer drain finishes it */
    h->srv.dflt.delay_ms = 300;
    submit(h, 0, 11);
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 50), FY_ETIMEOUT);
    FY_ASSERT_EQ(fy_hq_pending(h->q), 1);
    FY_ASSERT_EQ(h->completions, 11);
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 5000), FY_OK);
    FY_ASSERT_EQ(h->ok[12], 1);
    FY_ASSERT_EQ(h->completions, 12);
    teardown(h);
}

static void test_destroy(void)
{
    struct fy_hq_conf c = {.max_records = 3, .max_bytes = 1 << 20, .max_wait_ms = 60000,
                           .parallel = 1, .lanes = 1};
    struct hq_test *h = setup(&c);
    int64_t end;

    h->srv.dflt.delay_ms = 400;
    submit(h, 0, 0);
    submit(h, 1, 1);
    submit(h, 2, 2); /* full: closed */
    end = fy_clock_deadline(5000);
    while (fy_hq_running(h->q) == 0 && fy_clock_mono_ms() < end) {
        fy_sink_poll(h->snk, 5);
    }
    FY_ASSERT_EQ(fy_hq_running(h->q), 1); /* in flight for 400 ms */
    FY_ASSERT_EQ(add(h, 3, 3), FY_OK);
    FY_ASSERT_EQ(add(h, 0, 4), FY_OK);    /* waits in k0's lane */
    FY_ASSERT_EQ(add(h, 4, 5), FY_OK);
    FY_ASSERT_EQ(add(h, 5, 6), FY_OK);    /* full: queued behind the running one */
    FY_ASSERT_EQ(fy_hq_pending(h->q), 7);
    FY_ASSERT_EQ(h->completions, 0);
    fy_sink_destroy(h->snk);              /* running, queued and lane-waiting records */
    h->snk = NULL;
    FY_ASSERT_EQ(h->completions, 0);      /* the core sends them again; no completion */
    teardown(h);

    /* an open batch only */
    h = setup(&c);
    submit(h, 0, 0);
    submit(h, 1, 1);
    fy_sink_poll(h->snk, 1);
    FY_ASSERT_EQ(fy_hq_pending(h->q), 2);
    FY_ASSERT_EQ(fy_hq_running(h->q), 0);
    fy_sink_destroy(h->snk);
    h->snk = NULL;
    FY_ASSERT_EQ(h->completions, 0);
    pthread_mutex_lock(&h->srv.mu);
    FY_ASSERT_EQ(h->srv.n_reqs, 0);
    pthread_mutex_unlock(&h->srv.mu);
    teardown(h);
}

/* ==== 6. fy_hq_add's codes ==== */

static void test_add_codes(void)
{
    struct fy_hq_conf c = {.max_records = 1, .max_bytes = 64, .max_wait_ms = 10,
                           .parallel = 1};
    struct hq_test *h = setup(&c);
    struct fy_record rec = {0};
    char big[80];
    int64_t end;

    memset(big, 'x', sizeof(big));
    rec.id = "id";
    rec.body = big;
    rec.body_len = 65;
    FY_ASSERT_EQ(fy_hq_add(h->q, NULL, NULL, &rec, NULL, NULL, 0, 100), FY_ETOOBIG);
    rec.body_len = 10;
    FY_ASSERT_EQ(fy_hq_add(h->q, NULL, NULL, &rec, NULL, NULL, 65, 100), FY_ETOOBIG);
    FY_ASSERT_EQ(fy_hq_pending(h->q), 0);
    rec.body_len = 64; /* exactly max_bytes fits */
    FY_ASSERT_EQ(fy_hq_add(h->q, NULL, NULL, &rec, NULL, NULL, 0, 1), FY_OK);

    h->srv.dflt.delay_ms = 300;
    end = fy_clock_deadline(5000);
    while (fy_hq_running(h->q) == 0 && fy_clock_mono_ms() < end) {
        fy_sink_poll(h->snk, 5);
    }
    FY_ASSERT_EQ(fy_hq_running(h->q), 1);
    FY_ASSERT_EQ(add(h, 0, 1), FY_OK);     /* every slot busy, nothing waiting yet: queued */
    FY_ASSERT_EQ(add(h, 0, 2), FY_EAGAIN); /* every slot busy and a batch waiting */
    FY_ASSERT_EQ(fy_hq_pending(h->q), 2);
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 5000), FY_OK);
    FY_ASSERT_EQ(h->completions, 2);       /* none for the refused ones */
    FY_ASSERT_EQ(h->ok[1], 1);
    FY_ASSERT_EQ(h->ok[2], 1);
    FY_ASSERT_EQ(h->ok[3], 0);
    FY_ASSERT_EQ(h->ok[100] + h->retry[100] + h->reject[100], 0);
    FY_ASSERT_EQ(add(h, 0, 2), FY_OK);     /* room again */
    FY_ASSERT_EQ(fy_sink_drain(h->snk, 5000), FY_OK);
    FY_ASSERT_EQ(h->ok[3], 1);
    FY_ASSERT_EQ(h->completions, 3);
    teardown(h);
}

int init_http_queue_tests(void)
{
    CU_pSuite s = CU_add_suite("http_queue", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "batches close at max_records, then linger", test_batch_count) == NULL ||
        CU_add_test(s, "batches close at max_bytes", test_batch_bytes) == NULL ||
        CU_add_test(s, "a lone record goes after max_wait_ms", test_linger) == NULL ||
        CU_add_test(s, "poll waits for linger and retry deadlines", test_poll_waits) == NULL ||
        CU_add_test(s, "at most `parallel` requests at once", test_parallel) == NULL ||
        CU_add_test(s, "lanes: one record per key, in order, under partial failures",
                    test_lanes) == NULL ||
        CU_add_test(s, "500: every record RETRY, later ones of its key held back", test_retry_500) == NULL ||
        CU_add_test(s, "413 splits down to one record, then REJECT", test_split_413) == NULL ||
        CU_add_test(s, "drain sends everything, lanes included", test_drain) == NULL ||
        CU_add_test(s, "destroy: no completion, no leak", test_destroy) == NULL ||
        CU_add_test(s, "fy_hq_add: FY_ETOOBIG and FY_EAGAIN", test_add_codes) == NULL) {
        return -1;
    }
    return 0;
}
