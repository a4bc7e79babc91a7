/* http.c - the http source: a REST ingest API (Amperity streaming-ingest contract, plus the
 * Microshare-style /share/<recType>) on libmicrohttpd.
 *
 * DESIGN: one instance is one MHD listener, thread per connection, so a request that waits
 * for journal space blocks only its own connection. A request is answered only after every
 * record it carries went through fy_source_emit(): 202 when all returned FY_OK (journaled),
 * 503 when the journal stayed full for emit_wait_ms or failed (FY_EIO; the bridge stops).
 * Records already journaled before a 503 stay journaled: a client retry may repeat them
 * (docs/sources/http.md, "Acknowledgement"). Every refusal is a small JSON body
 * {"error": "...", "offset"|"line": N}; credentials never appear in a log line or body. */
#include "sources/source.h"

#include "core/clock.h"
#include "core/conf.h"
#include "core/hostport.h"
#include "core/http/jwt.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_STREAMS 64
#define N_BUCKETS 256

static const char *const xml_words[] = {"reject", "string", NULL};
static const char *const kind_words[] = {"stream", "share", NULL};

struct stream {
    char *id;
    int kind;            /* 0 stream (/stream/v0/data/<id>), 1 share (/share/<id>) */
    int xml;             /* 0 reject (415), 1 string (one record, not parsed) */
    char *api_key;
    char *jwt_alg;
    char *jwt_key;       /* HS256 secret, or RS256/ES256 PEM public key (use ${file:...}) */
    char *jwt_iss;
    char *jwt_aud;
    int64_t jwt_leeway_s;
    int64_t rate_per_s;  /* 0: the source's */
    int64_t rate_burst;
    /* parsed */
    struct fy_jwt_key key;
    int has_key;
    char topic[300];
};

static const struct fy_opt stream_opts[] = {
    FY_OPT_STR("id", NULL, FY_REQUIRED, offsetof(struct stream, id),
               "stream id (URL path segment): letters, digits, '-', '_', '.'"),
    FY_OPT_ENUM("kind", "stream", kind_words, offsetof(struct stream, kind),
                "stream: POST /stream/v0/data/<id>; share: POST /share/<id>"),
    FY_OPT_ENUM("xml", "reject", xml_words, offsetof(struct stream, xml),
                "application/xml bodies: reject (415) or string (one record, not parsed)"),
    FY_OPT_STR("api_key", NULL, FY_SECRET, offsetof(struct stream, api_key),
               "static API key (Authorization: Bearer <key> or X-API-Key)"),
    FY_OPT_STR("jwt_alg", NULL, 0, offsetof(struct stream, jwt_alg),
               "JWT algorithm pinned for this key: HS256, RS256, ES256"),
    FY_OPT_STR("jwt_key", NULL, FY_SECRET, offsetof(struct stream, jwt_key),
               "HS256 secret or RS256/ES256 PEM public key (${file:...})"),
    FY_OPT_STR("jwt_iss", NULL, 0, offsetof(struct stream, jwt_iss), "required issuer"),
    FY_OPT_STR("jwt_aud", NULL, 0, offsetof(struct stream, jwt_aud), "required audience"),
    FY_OPT_INT("jwt_leeway_s", "60", 0, 3600, offsetof(struct stream, jwt_leeway_s),
               "allowed clock skew for exp/nbf"),
    FY_OPT_INT("rate_per_s", "0", 0, 1000000, offsetof(struct stream, rate_per_s),
               "this stream's requests per second per credential (0: the source's)"),
    FY_OPT_INT("rate_burst", "0", 0, 1000000, offsetof(struct stream, rate_burst),
               "this stream's token bucket size (0: the source's)"),
    {0},
};

struct bucket {
    uint64_t who;        /* hash of the credential */
    double tokens;
    int64_t last_ms;
};

struct http_ctx {
    /* options */
    const struct fy_node *listen_node;
    char *tls_cert;
    char *tls_key;
    int64_t max_body;
    int64_t max_header;
    int64_t max_connections;
    int64_t max_per_ip;
    int64_t request_timeout_s;
    int64_t emit_wait_ms;
    int64_t rate_per_s;
    int64_t rate_burst;
    const struct fy_node *streams_node;
    /* parsed */
    struct sockaddr_storage addr;
    struct stream streams[MAX_STREAMS];
    int n_streams;
    char *cert_pem, *key_pem;
    /* state */
    struct fy_source *src;
    struct MHD_Daemon *mhd;
    atomic_int stopping;
    atomic_int paused;
    pthread_mutex_t mu;  /* buckets */
    struct bucket buckets[N_BUCKETS];
};

static const struct fy_opt http_opts[] = {
    FY_OPT_NODE("listen", FY_REQUIRED, offsetof(struct http_ctx, listen_node),
                "numeric host:port to listen on (127.0.0.1:8080, [::1]:8080); plain HTTP only "
                "on loopback"),
    FY_OPT_STR("tls_cert", NULL, 0, offsetof(struct http_ctx, tls_cert),
               "PEM certificate file (HTTPS; required off loopback)"),
    FY_OPT_STR("tls_key", NULL, 0, offsetof(struct http_ctx, tls_key), "PEM private key file"),
    FY_OPT_INT("max_body", "260096", 1, 64LL * 1024 * 1024, offsetof(struct http_ctx, max_body),
               "largest request body in bytes (413 above; 254 KiB default)"),
    FY_OPT_INT("max_header", "16384", 4096, 1048576, offsetof(struct http_ctx, max_header),
               "memory per connection for the request line and headers"),
    FY_OPT_INT("max_connections", "256", 1, 65536, offsetof(struct http_ctx, max_connections),
               "open connections in total"),
    FY_OPT_INT("max_per_ip", "32", 1, 65536, offsetof(struct http_ctx, max_per_ip),
               "open connections per client IP"),
    FY_OPT_INT("request_timeout_s", "30", 1, 3600, offsetof(struct http_ctx, request_timeout_s),
               "idle seconds before a connection is closed (slowloris)"),
    FY_OPT_INT("emit_wait_ms", "2000", 0, 60000, offsetof(struct http_ctx, emit_wait_ms),
               "how long a request waits for journal space before 503"),
    FY_OPT_INT("rate_per_s", "100", 1, 1000000, offsetof(struct http_ctx, rate_per_s),
               "requests per second per credential (token bucket refill)"),
    FY_OPT_INT("rate_burst", "200", 1, 1000000, offsetof(struct http_ctx, rate_burst),
               "token bucket size per credential (429 with Retry-After when empty)"),
    FY_OPT_NODE("streams", FY_REQUIRED, offsetof(struct http_ctx, streams_node),
                "list of {id, kind, xml, api_key, jwt_alg, jwt_key, jwt_iss, jwt_aud, "
                "jwt_leeway_s}"),
    {0},
};

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ==== options beyond the table ==== */

static int id_ok(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            return 0;
        }
    }
    return i > 0 && i < 256;
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long sz;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && sz < 1048576 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)sz + 1)) != NULL) {
        if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
            free(buf);
            buf = NULL;
        } else {
            buf[sz] = '\0';
            *n = (size_t)sz;
        }
    }
    fclose(f);
    return buf;
}

static void free_parsed(struct http_ctx *h)
{
    int i;

    for (i = 0; i < h->n_streams; i++) {
        fy_jwt_key_free(&h->streams[i].key);
        fy_opts_free(stream_opts, &h->streams[i]);
        memset(&h->streams[i], 0, sizeof(h->streams[i]));
    }
    h->n_streams = 0;
    if (h->key_pem != NULL) {
        OPENSSL_cleanse(h->key_pem, strlen(h->key_pem));
    }
    free(h->key_pem);
    free(h->cert_pem);
    h->key_pem = h->cert_pem = NULL;
}

static int parse_stream(struct http_ctx *h, const struct fy_node *t, struct fy_err *err)
{
    struct stream *s = &h->streams[h->n_streams];
    struct fy_err kerr = {0};
    int i;

    if (fy_opts_apply(stream_opts, t, NULL, s, err) != FY_OK) {
        h->n_streams++; /* freed by free_parsed */
        return FY_ECONFIG;
    }
    h->n_streams++;
    if (!id_ok(s->id)) {
        return fy_conf_error(err, t, 0, "stream id '%s': use letters, digits, '-', '_', '.'",
                             s->id);
    }
    for (i = 0; i < h->n_streams - 1; i++) {
        if (h->streams[i].kind == s->kind && strcmp(h->streams[i].id, s->id) == 0) {
            return fy_conf_error(err, t, 0, "stream id '%s' given twice", s->id);
        }
    }
    snprintf(s->topic, sizeof(s->topic), "%s/%s", s->kind == 0 ? "rest" : "share", s->id);
    if ((s->jwt_alg == NULL) != (s->jwt_key == NULL)) {
        return fy_conf_error(err, t, 0, "stream '%s': jwt_alg and jwt_key go together", s->id);
    }
    if (s->jwt_alg != NULL) {
        enum fy_jwt_alg a = fy_jwt_alg_parse(s->jwt_alg);
        if (a == 0) {
            return fy_conf_error(err, t, 0, "stream '%s': jwt_alg '%s': use HS256, RS256 or "
                                 "ES256 (none is never accepted)", s->id, s->jwt_alg);
        }
        if (fy_jwt_key_load(&s->key, a, s->jwt_key, strlen(s->jwt_key), &kerr) != FY_OK) {
            return fy_conf_error(err, t, 0, "stream '%s': jwt_key: %s", s->id, kerr.msg);
        }
        s->has_key = 1;
    }
    if (s->api_key == NULL && !s->has_key) {
        return fy_conf_error(err, t, 0, "stream '%s': give api_key or jwt_alg + jwt_key "
                             "(unauthenticated streams are not supported)", s->id);
    }
    if (s->api_key != NULL && strlen(s->api_key) < 16) {
        return fy_conf_error(err, t, 0, "stream '%s': api_key shorter than 16 characters",
                             s->id);
    }
    return FY_OK;
}

static int http_check(void *ctx, struct fy_err *err)
{
    struct http_ctx *h = ctx;
    const struct fy_node *t;
    int loopback = 0;
    size_t n = 0;

    if (h->listen_node->type != FY_NODE_SCALAR ||
        fy_hostport_listen(h->listen_node->value, &h->addr, &loopback) != 0) {
        return fy_conf_error(err, h->listen_node, 0, "listen: expected a numeric host:port "
                             "(127.0.0.1:8080, [::1]:8080)");
    }
    if ((h->tls_cert == NULL) != (h->tls_key == NULL)) {
        return fy_conf_error(err, h->listen_node, 0, "tls_cert and tls_key go together");
    }
    if (!loopback && h->tls_cert == NULL) {
        return fy_conf_error(err, h->listen_node, 0, "listen %s is not a loopback address: "
                             "plain HTTP would carry credentials in clear; set tls_cert and "
                             "tls_key", h->listen_node->value);
    }
    if (h->tls_cert != NULL) {
        h->cert_pem = read_file(h->tls_cert, &n);
        h->key_pem = read_file(h->tls_key, &n);
        if (h->cert_pem == NULL || h->key_pem == NULL) {
            return fy_conf_error(err, h->listen_node, 0, "cannot read tls_cert or tls_key");
        }
    }
    if (h->streams_node->type != FY_NODE_SEQ || h->streams_node->n_children == 0) {
        return fy_conf_error(err, h->streams_node, 0, "'streams' must be a non-empty list");
    }
    for (t = h->streams_node->child; t != NULL; t = t->next) {
        if (h->n_streams == MAX_STREAMS) {
            return fy_conf_error(err, t, 0, "more than %d streams", MAX_STREAMS);
        }
        if (parse_stream(h, t, err) != FY_OK) {
            return FY_ECONFIG;
        }
    }
    return FY_OK;
}

/* ==== requests ==== */

struct req {
    char *body;
    size_t len;
    int too_big;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *json,
                             int retry_after)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    char ra[16];

    r = MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after > 0) {
        snprintf(ra, sizeof(ra), "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_err(struct MHD_Connection *c, unsigned status, const char *msg,
                                 const char *where, long n, int retry_after)
{
    char buf[512];
    cJSON *o = cJSON_CreateObject();
    char *s;
    enum MHD_Result ret;

    cJSON_AddStringToObject(o, "error", msg);
    if (where != NULL) {
        cJSON_AddNumberToObject(o, where, (double)n);
    }
    s = cJSON_PrintUnformatted(o);
    snprintf(buf, sizeof(buf), "%s", s != NULL ? s : "{\"error\":\"out of memory\"}");
    cJSON_free(s);
    cJSON_Delete(o);
    ret = reply(c, status, buf, retry_after);
    return ret;
}

static uint64_t hash(const char *s)
{
    uint64_t x = 1469598103934665603ULL;

    while (*s != '\0') {
        x = (x ^ (uint8_t)*s++) * 1099511628211ULL;
    }
    return x;
}

/* Token bucket per credential. 0 when allowed, else the seconds to wait. */
static int rate_take(struct http_ctx *h, const struct stream *s, const char *cred)
{
    uint64_t who = hash(cred) ^ hash(s->topic);
    double rate = (double)(s->rate_per_s > 0 ? s->rate_per_s : h->rate_per_s);
    double burst = (double)(s->rate_burst > 0 ? s->rate_burst : h->rate_burst);
    struct bucket *b = &h->buckets[who % N_BUCKETS];
    int64_t now = fy_clock_mono_ms();
    int wait = 0;

    pthread_mutex_lock(&h->mu);
    if (b->who != who || b->last_ms == 0) {
        b->who = who;
        b->tokens = burst;
        b->last_ms = now;
    }
    b->tokens += (double)(now - b->last_ms) * rate / 1000.0;
    if (b->tokens > burst) {
        b->tokens = burst;
    }
    b->last_ms = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        wait = (int)((1.0 - b->tokens) / rate) + 1;
    }
    pthread_mutex_unlock(&h->mu);
    return wait;
}

static int cred_ok(const struct stream *s, const char *cred, struct fy_err *err)
{
    size_t n = strlen(cred);

    if (s->api_key != NULL && strlen(s->api_key) == n &&
        CRYPTO_memcmp(s->api_key, cred, n) == 0) {
        return 1;
    }
    if (s->has_key) {
        struct fy_jwt_check chk = {s->jwt_iss, s->jwt_aud, s->jwt_leeway_s, 0};
        return fy_jwt_verify(&s->key, cred, n, &chk, NULL, 0, err) == FY_OK;
    }
    fy_err_set(err, FY_EREJECT, "credential not accepted");
    return 0;
}

/* Store one record; FY_OK, or the code that ends the request. */
static int emit_one(struct http_ctx *h, const struct stream *s, const char *p, size_t n)
{
    struct fy_msg m;
    int64_t deadline = fy_clock_mono_ms() + h->emit_wait_ms;
    int rc;

    m.source = fy_source_name(h->src);
    m.topic = s->topic;
    m.payload = p;
    m.len = n;
    m.qos = 1;
    m.recv_ms = fy_clock_wall_ms();
    for (;;) {
        if (atomic_load(&h->stopping)) {
            return FY_ECLOSED;
        }
        if (!atomic_load(&h->paused)) {
            rc = fy_source_emit(h->src, &m);
            if (rc == FY_OK) {
                return FY_OK;
            }
            if (rc != FY_EFULL && rc != FY_EAGAIN) {
                fy_log_error(fy_source_tag(h->src), "record for '%s' not stored (%s); "
                             "answering 503", s->topic, fy_strerror(rc));
                return FY_EIO;
            }
        }
        if (fy_clock_mono_ms() >= deadline) {
            return FY_EFULL;
        }
        nap_ms(20);
    }
}

/* Parse the body into records and emit them; answers the request. */
static enum MHD_Result ingest(struct http_ctx *h, struct MHD_Connection *c,
                              const struct stream *s, const char *ctype, struct req *q)
{
    char ct[128];
    size_t i;
    int count = 0, rc = FY_OK;
    char ok[64];

    snprintf(ct, sizeof(ct), "%s", ctype != NULL ? ctype : "");
    ct[strcspn(ct, "; ")] = '\0';
    if (strcasecmp(ct, "application/xml") == 0 || strcasecmp(ct, "text/xml") == 0) {
        if (s->xml == 0) {
            return reply_err(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "XML is not accepted on this "
                             "stream (xml: reject)", NULL, 0, 0);
        }
        rc = emit_one(h, s, q->body, q->len);
        count = rc == FY_OK ? 1 : 0;
    } else if (strcasecmp(ct, "application/x-ndjson") == 0) {
        size_t start = 0;
        long line = 0;
        /* validate every line before storing any, so a 400 stores nothing */
        for (i = 0; i <= q->len; i++) {
            if (i == q->len || q->body[i] == '\n') {
                size_t n = i - start;
                cJSON *v;
                line++;
                if (n > 0 && q->body[start + n - 1] == '\r') {
                    n--;
                }
                if (n > 0) {
                    v = cJSON_ParseWithLength(q->body + start, n);
                    if (v == NULL || !cJSON_IsObject(v)) {
                        cJSON_Delete(v);
                        return reply_err(c, MHD_HTTP_BAD_REQUEST, "NDJSON line is not a JSON "
                                         "object", "line", line, 0);
                    }
                    cJSON_Delete(v);
                }
                start = i + 1;
            }
        }
        start = 0;
        for (i = 0; i <= q->len && rc == FY_OK; i++) {
            if (i == q->len || q->body[i] == '\n') {
                size_t n = i - start;
                if (n > 0 && q->body[start + n - 1] == '\r') {
                    n--;
                }
                if (n > 0) {
                    rc = emit_one(h, s, q->body + start, n);
                    count += rc == FY_OK;
                }
                start = i + 1;
            }
        }
    } else if (strcasecmp(ct, "application/json") == 0) {
        const char *end = NULL;
        cJSON *v = cJSON_ParseWithLengthOpts(q->body, q->len, &end, 0);
        const cJSON *e;
        if (v == NULL) {
            long off = end != NULL ? (long)(end - q->body) : 0;
            const char *ep = cJSON_GetErrorPtr();
            if (end == NULL && ep != NULL && ep >= q->body && ep <= q->body + q->len) {
                off = (long)(ep - q->body);
            }
            return reply_err(c, MHD_HTTP_BAD_REQUEST, "malformed JSON", "offset", off, 0);
        }
        if (cJSON_IsObject(v)) {
            rc = emit_one(h, s, q->body, q->len);
            count = rc == FY_OK;
        } else if (cJSON_IsArray(v)) {
            cJSON_ArrayForEach(e, v) {
                if (!cJSON_IsObject(e)) {
                    cJSON_Delete(v);
                    return reply_err(c, MHD_HTTP_BAD_REQUEST, "array element is not a JSON "
                                     "object", "index", count, 0);
                }
                count++;
            }
            count = 0;
            cJSON_ArrayForEach(e, v) {
                char *txt = cJSON_PrintUnformatted(e);
                if (txt == NULL) {
                    rc = FY_ENOMEM;
                    break;
                }
                rc = emit_one(h, s, txt, strlen(txt));
                cJSON_free(txt);
                if (rc != FY_OK) {
                    break;
                }
                count++;
            }
        } else {
            cJSON_Delete(v);
            return reply_err(c, MHD_HTTP_BAD_REQUEST, "body must be a JSON object or array",
                             "offset", 0, 0);
        }
        cJSON_Delete(v);
    } else {
        return reply_err(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be "
                         "application/json, application/x-ndjson or application/xml", NULL, 0,
                         0);
    }
    if (rc != FY_OK) {
        return reply_err(c, MHD_HTTP_SERVICE_UNAVAILABLE, rc == FY_EFULL ? "journal full, "
                         "retry later" : "not stored, retry later", "stored", count, 1);
    }
    snprintf(ok, sizeof(ok), "{\"accepted\":%d}", count);
    return reply(c, MHD_HTTP_ACCEPTED, ok, 0);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct http_ctx *h = cls;
    struct req *q = *con_cls;
    const char *auth, *id = NULL, *clen;
    const struct stream *s = NULL;
    char cred[8192];
    struct fy_err err = {0};
    int kind = -1, i, allowed = 0, other = 0, wait;
    enum MHD_Result ret;

    (void)version;
    if (q == NULL) {
        if (strcmp(method, "POST") != 0) {
            return reply_err(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only POST", NULL, 0, 0);
        }
        clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (clen != NULL && strtoll(clen, NULL, 10) > h->max_body) {
            return reply_err(c, MHD_HTTP_CONTENT_TOO_LARGE, "body over max_body", "limit",
                             (long)h->max_body, 0);
        }
        q = calloc(1, sizeof(*q));
        if (q == NULL) {
            return MHD_NO;
        }
        *con_cls = q;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!q->too_big && q->len + *upload_size > (size_t)h->max_body) {
            q->too_big = 1;
            free(q->body);
            q->body = NULL;
            q->len = 0;
        }
        if (!q->too_big) {
            char *nb = realloc(q->body, q->len + *upload_size + 1);
            if (nb == NULL) {
                return MHD_NO;
            }
            q->body = nb;
            memcpy(q->body + q->len, upload, *upload_size);
            q->len += *upload_size;
            q->body[q->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->too_big) {
        return reply_err(c, MHD_HTTP_CONTENT_TOO_LARGE, "body over max_body", "limit",
                         (long)h->max_body, 0);
    }
    if (strncmp(url, "/stream/v0/data/", 16) == 0) {
        kind = 0;
        id = url + 16;
    } else if (strncmp(url, "/share/", 7) == 0) {
        kind = 1;
        id = url + 7;
    } else {
        return reply_err(c, MHD_HTTP_NOT_FOUND, "use POST /stream/v0/data/<stream-id> or "
                         "/share/<recType>", NULL, 0, 0);
    }
    auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
        snprintf(cred, sizeof(cred), "%s", auth + 7);
    } else if ((auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key")) != NULL) {
        snprintf(cred, sizeof(cred), "%s", auth);
    } else {
        return reply_err(c, MHD_HTTP_UNAUTHORIZED, "missing credentials (Authorization: "
                         "Bearer)", NULL, 0, 0);
    }
    for (i = 0; i < h->n_streams; i++) {
        if (h->streams[i].kind == kind && strcmp(h->streams[i].id, id) == 0) {
            s = &h->streams[i];
        }
    }
    if (s != NULL) {
        allowed = cred_ok(s, cred, &err);
    }
    if (!allowed) {
        struct fy_err oerr = {0};
        for (i = 0; i < h->n_streams && !other; i++) {
            other = &h->streams[i] != s && cred_ok(&h->streams[i], cred, &oerr);
        }
        OPENSSL_cleanse(cred, sizeof(cred));
        if (other) {
            return reply_err(c, MHD_HTTP_FORBIDDEN, "credentials valid but not for this "
                             "stream", NULL, 0, 0);
        }
        fy_log_debug(fy_source_tag(h->src), "401 on '%s': %s", url,
                     s != NULL ? err.msg : "unknown stream");
        return reply_err(c, MHD_HTTP_UNAUTHORIZED, s != NULL && err.msg[0] != '\0' ? err.msg :
                         "credentials not accepted", NULL, 0, 0);
    }
    wait = rate_take(h, s, cred);
    OPENSSL_cleanse(cred, sizeof(cred));
    if (wait > 0) {
        return reply_err(c, MHD_HTTP_TOO_MANY_REQUESTS, "rate limit", NULL, 0, wait);
    }
    ret = ingest(h, c, s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"), q);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct req *q = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (q != NULL) {
        free(q->body);
        free(q);
        *con_cls = NULL;
    }
}

/* ==== plugin callbacks ==== */

static int http_init(struct fy_source *src, void *ctx, struct fy_err *err)
{
    struct http_ctx *h = ctx;

    h->src = src;
    pthread_mutex_init(&h->mu, NULL);
    if (http_check(h, err) != FY_OK) {
        free_parsed(h);
        return FY_ECONFIG;
    }
    return FY_OK;
}

static int http_start(void *ctx, struct fy_err *err)
{
    struct http_ctx *h = ctx;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;

    atomic_store(&h->stopping, 0);
    if (h->addr.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    if (h->cert_pem != NULL) {
        flags |= MHD_USE_TLS;
        h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR,
                                  (struct sockaddr *)&h->addr, MHD_OPTION_NOTIFY_COMPLETED,
                                  completed, h, MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned)h->max_connections,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)h->max_per_ip,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)h->request_timeout_s,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)h->max_header,
                                  MHD_OPTION_HTTPS_MEM_CERT, h->cert_pem,
                                  MHD_OPTION_HTTPS_MEM_KEY, h->key_pem, MHD_OPTION_END);
    } else {
        h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR,
                                  (struct sockaddr *)&h->addr, MHD_OPTION_NOTIFY_COMPLETED,
                                  completed, h, MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned)h->max_connections,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)h->max_per_ip,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)h->request_timeout_s,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)h->max_header,
                                  MHD_OPTION_END);
    }
    if (h->mhd == NULL) {
        return fy_err_set(err, FY_EIO, "listen %s: cannot listen (address in use, or the TLS "
                          "key and certificate do not load)", h->listen_node->value);
    }
    fy_log_info(fy_source_tag(h->src), "listening on %s (%s)", h->listen_node->value,
                h->cert_pem != NULL ? "https" : "http, loopback");
    return FY_OK;
}

static void http_pause(void *ctx)
{
    atomic_store(&((struct http_ctx *)ctx)->paused, 1);
}

static void http_resume(void *ctx)
{
    atomic_store(&((struct http_ctx *)ctx)->paused, 0);
}

static void http_stop(void *ctx)
{
    struct http_ctx *h = ctx;

    atomic_store(&h->stopping, 1); /* waiting requests answer 503 and return */
    if (h->mhd != NULL) {
        MHD_stop_daemon(h->mhd);   /* joins the connection threads: no emit after this */
        h->mhd = NULL;
    }
}

static void http_exit(void *ctx)
{
    struct http_ctx *h = ctx;

    http_stop(h);
    free_parsed(h);
    pthread_mutex_destroy(&h->mu);
}

static void free_parsed_cb(void *ctx)
{
    free_parsed(ctx);
}

static int http_connected(void *ctx)
{
    return ((struct http_ctx *)ctx)->mhd != NULL;
}

const struct fy_source_plugin fy_source_http = {
    .abi = FY_SOURCE_ABI,
    .name = "http",
    .description = "REST ingest API (POST /stream/v0/data/<id>, /share/<recType>), 202 after "
                   "the journal",
    .opts = http_opts,
    .ctx_size = sizeof(struct http_ctx),
    .init = http_init,
    .start = http_start,
    .pause = http_pause,
    .resume = http_resume,
    .stop = http_stop,
    .exit = http_exit,
    .connected = http_connected,
    .check = http_check,
    .check_free = free_parsed_cb,
};
