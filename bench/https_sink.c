/* https_sink.c - an HTTPS webhook receiver for bench_webhook: accepts POSTs over TLS
 * (libmicrohttpd with GnuTLS), counts the records in each body, optionally waits a fixed time
 * per request to model a remote endpoint's round trip, answers 200, and prints totals at exit.
 *
 * DESIGN: libmicrohttpd runs one thread per connection (so requests on parallel connections
 * overlap, delay included) plus its listening thread. Each request's body is collected into a
 * buffer of at most MAX_BODY bytes (larger: 413), then scanned once at the end: a body that
 * starts with '[' holds one record per top-level element (json_array, smartclean), any other
 * one record per top-level value (ndjson lines, single). The "id" member of each record object
 * is hashed into a set so duplicates (redeliveries) can be reported. Counters and the set live
 * in struct sink_state under one mutex; the main thread only waits for SIGINT/SIGTERM.
 *
 * Endpoints: POST any path (the records; ?delay_ms=N overrides --delay-ms for that request),
 * GET /stats (one line of counters since the last reset), GET /reset (zero them).
 *
 * Usage: bench_https_sink --cert C --key K [--port P] [--delay-ms D]
 * Prints "listening on port P" once ready (P is chosen by the OS when --port is 0). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (64u << 20)

static volatile sig_atomic_t stop_flag;

/* Set of 64-bit id hashes (open addressing, 0 = empty slot). */
struct idset {
    uint64_t *slots;
    size_t cap, n;
};

struct sink_state {
    int delay_ms;
    struct MHD_Response *ok;          /* shared empty 200 */
    struct MHD_Response *too_big;     /* shared 413 */
    pthread_mutex_t mu;               /* guards everything below */
    uint64_t requests, records, unique, noid, bytes;
    uint64_t inflight, inflight_sum;  /* requests being answered; sum of inflight at arrivals */
    uint64_t all_requests, all_records; /* not reset: the totals printed at exit */
    struct idset ids;
};

/* One request's body being received. */
struct req {
    char *data;
    size_t len, cap;
    int too_big;
};

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h != 0 ? h : 1;
}

/* Insert h; returns 1 when it was new, 0 when already present, -1 out of memory. */
static int idset_add(struct idset *s, uint64_t h)
{
    size_t i;

    if (s->n * 2 >= s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 4096;
        uint64_t *ns = calloc(ncap, sizeof(*ns));
        if (ns == NULL) {
            return -1;
        }
        for (i = 0; i < s->cap; i++) {
            if (s->slots[i] != 0) {
                size_t k = (size_t)(s->slots[i] & (ncap - 1));
                while (ns[k] != 0) {
                    k = (k + 1) & (ncap - 1);
                }
                ns[k] = s->slots[i];
            }
        }
        free(s->slots);
        s->slots = ns;
        s->cap = ncap;
    }
    for (i = (size_t)(h & (s->cap - 1)); s->slots[i] != 0; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == h) {
            return 0;
        }
    }
    s->slots[i] = h;
    s->n++;
    return 1;
}

/* Count the records in body p (n bytes) and collect the hashes of their "id" members into
 * ids (room for as many as records; *n_ids set). One pass; strings and escapes are honoured,
 * the JSON is otherwise trusted (the sender is Ferry). */
static size_t scan_body(const char *p, size_t n, uint64_t *ids, size_t max_ids, size_t *n_ids)
{
    size_t i = 0, count = 0, str_start = 0;
    int depth = 0, rec_depth, in_str = 0, esc = 0, str_is_key = 0, want_id = 0;
    char last = 0; /* last significant character outside strings */

    *n_ids = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) {
        i++;
    }
    rec_depth = i < n && p[i] == '[' ? 1 : 0;
    for (; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (esc) {
                esc = 0;
            } else if (c == '\\') {
                esc = 1;
            } else if (c == '"') {
                in_str = 0;
                if (depth == rec_depth + 1 && str_is_key) {
                    want_id = i - str_start == 2 && p[str_start] == 'i' && p[str_start + 1] == 'd';
                } else if (depth == rec_depth + 1 && want_id && last == ':') {
                    if (*n_ids < max_ids) {
                        ids[(*n_ids)++] = hash_bytes(p + str_start, i - str_start);
                    }
                    want_id = 0;
                }
                last = '"';
            }
            continue;
        }
        switch (c) {
        case '"':
            if (depth == rec_depth) {
                count++; /* a record that is a string (smartclean) */
            }
            in_str = 1;
            str_start = i + 1;
            str_is_key = last == '{' || last == ',';
            break;
        case '{':
        case '[':
            if (depth == rec_depth && c == '{') {
                count++;
            }
            depth++;
            last = c;
            break;
        case '}':
        case ']':
            depth--;
            last = c;
            break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            break;
        default:
            last = c;
            if (c != ':' && c != ',') {
                want_id = 0; /* "id" with a non-string value */
            }
            break;
        }
    }
    return count;
}

static void account(struct sink_state *st, const struct req *r)
{
    uint64_t *ids = NULL;
    size_t n_ids = 0, count, i;
    size_t max_ids = r->len / 8 + 1;

    ids = malloc(max_ids * sizeof(*ids));
    count = scan_body(r->data, r->len, ids, ids != NULL ? max_ids : 0, &n_ids);
    pthread_mutex_lock(&st->mu);
    st->requests++;
    st->all_requests++;
    st->records += count;
    st->all_records += count;
    st->bytes += r->len;
    st->noid += count > n_ids ? count - n_ids : 0;
    for (i = 0; i < n_ids; i++) {
        if (idset_add(&st->ids, ids[i]) == 1) {
            st->unique++;
        }
    }
    pthread_mutex_unlock(&st->mu);
    free(ids);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                                MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static uint64_t cpu_ms(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static enum MHD_Result handle_get(struct sink_state *st, struct MHD_Connection *conn,
                                  const char *url)
{
    char line[400];

    pthread_mutex_lock(&st->mu);
    if (strcmp(url, "/reset") == 0) {
        st->requests = st->records = st->unique = st->noid = st->bytes = 0;
        st->inflight_sum = 0;
        free(st->ids.slots);
        memset(&st->ids, 0, sizeof(st->ids));
        snprintf(line, sizeof(line), "reset\n");
    } else if (strcmp(url, "/stats") == 0) {
        snprintf(line, sizeof(line),
                 "requests=%" PRIu64 " records=%" PRIu64 " unique=%" PRIu64 " noid=%" PRIu64
                 " bytes=%" PRIu64 " cpu_ms=%" PRIu64 " inflight_sum=%" PRIu64 "\n",
                 st->requests, st->records, st->unique, st->noid, st->bytes, cpu_ms(),
                 st->inflight_sum);
    } else {
        pthread_mutex_unlock(&st->mu);
        return send_text(conn, MHD_HTTP_NOT_FOUND, "GET /stats or /reset\n");
    }
    pthread_mutex_unlock(&st->mu);
    return send_text(conn, MHD_HTTP_OK, line);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct sink_state *st = cls;
    struct req *r = *con_cls;
    int delay;

    (void)version;
    if (strcmp(method, "GET") == 0) {
        return handle_get(st, conn, url);
    }
    if (strcmp(method, "POST") != 0) {
        return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n");
    }
    if (r == NULL) { /* first call: headers only */
        r = calloc(1, sizeof(*r));
        if (r == NULL) {
            return MHD_NO;
        }
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (r->len + n > MAX_BODY) {
            r->too_big = 1;
        } else {
            if (r->len + n > r->cap) {
                size_t ncap = r->cap ? r->cap : 65536;
                char *nd;
                while (ncap < r->len + n) {
                    ncap *= 2;
                }
                nd = realloc(r->data, ncap);
                if (nd == NULL) {
                    return MHD_NO;
                }
                r->data = nd;
                r->cap = ncap;
            }
            memcpy(r->data + r->len, upload_data, n);
            r->len += n;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* body complete */
    if (r->too_big) {
        return MHD_queue_response(conn, 413 /* Content Too Large */, st->too_big);
    }
    account(st, r);
    pthread_mutex_lock(&st->mu);
    st->inflight++;
    st->inflight_sum += st->inflight; /* sum / requests = mean concurrency seen by a request */
    pthread_mutex_unlock(&st->mu);
    delay = st->delay_ms;
    {
        const char *d = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "delay_ms");
        char *end;
        long v;
        if (d != NULL && (v = strtol(d, &end, 10)) >= 0 && *end == '\0' && v <= 60000) {
            delay = (int)v;
        }
    }
    if (delay > 0) {
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    pthread_mutex_lock(&st->mu);
    st->inflight--;
    pthread_mutex_unlock(&st->mu);
    return MHD_queue_response(conn, MHD_HTTP_OK, st->ok);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (r != NULL) {
        free(r->data);
        free(r);
        *con_cls = NULL;
    }
}

/* Read a whole PEM file (NUL-terminated); caller frees. NULL on error. */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1 << 20) ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "https_sink: cannot read %s: %s\n", path, strerror(errno));
        free(buf);
        if (f != NULL) {
            fclose(f);
        }
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: bench_https_sink --cert CERT.pem --key KEY.pem [--port P] "
                 "[--delay-ms D]\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"cert", required_argument, NULL, 'c'},     {"key", required_argument, NULL, 'k'},
        {"port", required_argument, NULL, 'p'},     {"delay-ms", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    struct sink_state st;
    struct MHD_Daemon *daemon;
    const union MHD_DaemonInfo *info;
    struct sigaction sa;
    const char *cert_path = NULL, *key_path = NULL;
    char *cert, *key, *end;
    long port = 0;
    int c;

    memset(&st, 0, sizeof(st));
    while ((c = getopt_long(argc, argv, "c:k:p:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': cert_path = optarg; break;
        case 'k': key_path = optarg; break;
        case 'p':
            port = strtol(optarg, &end, 10);
            if (*end != '\0' || port < 0 || port > 65535) {
                fprintf(stderr, "https_sink: bad --port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'd':
            st.delay_ms = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || st.delay_ms < 0 || st.delay_ms > 60000) {
                fprintf(stderr, "https_sink: bad --delay-ms '%s' (0..60000)\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (cert_path == NULL || key_path == NULL) {
        usage(stderr);
        return 2;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        fprintf(stderr, "https_sink: this libmicrohttpd has no TLS support\n");
        return 1;
    }
    cert = read_pem(cert_path);
    key = read_pem(key_path);
    if (cert == NULL || key == NULL) {
        return 1;
    }
    pthread_mutex_init(&st.mu, NULL);
    st.ok = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    st.too_big = MHD_create_response_from_buffer(strlen("body too large\n"),
                                                 (void *)"body too large\n",
                                                 MHD_RESPMEM_PERSISTENT);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                  MHD_USE_TLS | MHD_USE_ERROR_LOG,
                              (uint16_t)port, NULL, NULL, on_request, &st,
                              MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, &st,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
                              MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "https_sink: cannot start the HTTPS server on port %ld\n", port);
        return 1;
    }
    info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on port %u\n", info != NULL ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);
    while (!stop_flag) {
        pause();
    }
    MHD_stop_daemon(daemon);
    printf("https_sink: %" PRIu64 " requests, %" PRIu64 " records in total\n", st.all_requests,
           st.all_records);
    MHD_destroy_response(st.ok);
    MHD_destroy_response(st.too_big);
    free(st.ids.slots);
    pthread_mutex_destroy(&st.mu);
    free(cert);
    free(key);
    return 0;
}
