/* webhook.c - the webhook sink: batches of envelopes POSTed to a customer's HTTPS endpoint with
 * libcurl's multi interface; Basic, static-header and Standard Webhooks (HMAC-SHA256) signing;
 * JSON array, NDJSON, SmartClean or one-envelope bodies; outcomes classified per batch.
 *
 * DESIGN: every call (submit, poll, drain) comes from the sink's worker thread, which also
 * drives curl_multi; completions are reported from poll. A batch closes at batch_max_records,
 * batch_max_bytes or batch_max_wait_ms; at most `parallel` requests are in flight. 413 splits a
 * batch in halves down to one record, which is then rejected. */
#include "sinks/sink.h"

#include "core/b64.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/http/http.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/template.h"
#include "core/http/oauth.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

static const char *const format_words[] = {"json_array", "ndjson", "smartclean", "single", NULL};
static const char *const compression_words[] = {"none", "gzip", NULL};
static const char *const auth_words[] = {"none", "basic", "oauth2_client_credentials",
                                         "oauth2_refresh_token", NULL};
static const char *const client_auth_words[] = {"basic", "post", NULL};

enum { A_NONE, A_BASIC, A_OAUTH_CC, A_OAUTH_REFRESH };

enum { F_ARRAY, F_NDJSON, F_SMARTCLEAN, F_SINGLE };

struct item {
    uint64_t ticket;
    char *body;
    size_t len;
    char id[64];
};

struct batch {
    struct item *items;
    size_t n, bytes;
    int64_t since;           /* when the first record arrived (open batches) */
    char *url;               /* rendered URL, NULL = the sink's url */
    char **hv;               /* rendered header values (parallel to w->headers), or NULL */
    size_t nh;               /* entries in hv */
    char *target;            /* url and header values joined: batches only mix equal targets */
    struct fy_ssrf_note guard; /* why the SSRF guard refused an address, "" if it did not */
    CURL *easy;
    struct curl_slist *headers;
    struct fy_buf req;       /* request body */
    struct fy_buf resp;      /* first bytes of the response */
    char retry_after[64];
    char *token;             /* OAuth2 access token this attempt used (for a 401), or NULL */
    int auth_retried;        /* a 401 already made us fetch a new token for this batch */
    struct batch *next;
};

struct webhook {
    /* options */
    char *url;
    int format;
    int64_t batch_max_records, batch_max_bytes, batch_max_wait_ms;
    int64_t timeout_ms, connect_timeout_ms, parallel;
    int allow_insecure;
    char *ca_file, *cert_file, *key_file;
    int auth;
    char *username, *password;
    char *signing_secret;
    char *token_url, *client_id, *client_secret, *scope, *audience, *refresh_token;
    char *state_file;
    int client_auth;
    struct fy_kv_list headers;
    int compression;
    int allow_private;
    struct fy_kv_list resolve;
    /* state */
    struct fy_sink *snk;
    CURLM *multi;
    struct curl_slist *resolve_list;
    struct fy_http_transport transport; /* borrowed pointers into the options above */
    char url_shown[512];                /* url with user-info and query values hidden */  /* CURLOPT_RESOLVE entries "host:port:address" */
    int templated;             /* url or a header uses {fields} of the envelope */
    struct batch *open;        /* collecting, one per target (list through next) */
    size_t n_open;
    struct batch *queue;       /* closed, waiting for a request slot (FIFO) */
    struct batch *queue_tail;
    struct batch *inflight;    /* requests running (list through next) */
    size_t running;
    unsigned char key[256];
    size_t key_len;
    struct fy_oauth *oauth;    /* OAuth2 token source, or NULL */
    char token_error[512];     /* why the last token fetch failed */
};

static const struct fy_opt webhook_opts[] = {
    FY_OPT_STR("url", NULL, FY_REQUIRED, offsetof(struct webhook, url), "https:// endpoint"),
    FY_OPT_ENUM("format", "json_array", format_words, offsetof(struct webhook, format),
                "json_array, ndjson, smartclean (array of serialized envelopes) or single"),
    FY_OPT_INT("batch_max_records", "100", 1, 100000, offsetof(struct webhook, batch_max_records),
               "records per request"),
    FY_OPT_INT("batch_max_bytes", "1M", 1024, 1LL << 30, offsetof(struct webhook, batch_max_bytes),
               "bytes per request"),
    FY_OPT_INT("batch_max_wait_ms", "1000", 0, 3600000,
               offsetof(struct webhook, batch_max_wait_ms), "longest wait to fill a batch"),
    FY_OPT_INT("timeout_ms", "30000", 100, 600000, offsetof(struct webhook, timeout_ms),
               "whole request"),
    FY_OPT_INT("connect_timeout_ms", "10000", 100, 600000,
               offsetof(struct webhook, connect_timeout_ms), "connection set-up"),
    FY_OPT_INT("parallel", "4", 1, 64, offsetof(struct webhook, parallel),
               "requests in flight to this endpoint"),
    FY_OPT_BOOL("allow_insecure", "false", offsetof(struct webhook, allow_insecure),
                "allow http:// (local use only)"),
    FY_OPT_STR("ca_file", NULL, 0, offsetof(struct webhook, ca_file), "CA bundle"),
    FY_OPT_STR("cert_file", NULL, 0, offsetof(struct webhook, cert_file), "client certificate"),
    FY_OPT_STR("key_file", NULL, 0, offsetof(struct webhook, key_file), "client key"),
    FY_OPT_ENUM("auth", "none", auth_words, offsetof(struct webhook, auth),
                "none, basic, oauth2_client_credentials or oauth2_refresh_token"),
    FY_OPT_STR("token_url", NULL, 0, offsetof(struct webhook, token_url),
               "OAuth2 token endpoint (https://)"),
    FY_OPT_STR("client_id", NULL, 0, offsetof(struct webhook, client_id), "OAuth2 client id"),
    FY_OPT_STR("client_secret", NULL, FY_SECRET, offsetof(struct webhook, client_secret),
               "OAuth2 client secret"),
    FY_OPT_ENUM("client_auth", "basic", client_auth_words, offsetof(struct webhook, client_auth),
                "how the client authenticates to the token endpoint: basic (HTTP Basic, "
                "client_secret_basic) or post (in the form, client_secret_post)"),
    FY_OPT_STR("scope", NULL, 0, offsetof(struct webhook, scope), "OAuth2 scope"),
    FY_OPT_STR("audience", NULL, 0, offsetof(struct webhook, audience),
               "OAuth2 audience (Auth0, Okta...)"),
    FY_OPT_STR("refresh_token", NULL, FY_SECRET, offsetof(struct webhook, refresh_token),
               "initial OAuth2 refresh token (auth: oauth2_refresh_token)"),
    FY_OPT_STR("oauth_state_file", NULL, 0, offsetof(struct webhook, state_file),
               "file that keeps the rotated refresh token across restarts"),
    FY_OPT_STR("username", NULL, 0, offsetof(struct webhook, username), "Basic user"),
    FY_OPT_STR("password", NULL, FY_SECRET, offsetof(struct webhook, password), "Basic password"),
    FY_OPT_STR("signing_secret", NULL, FY_SECRET, offsetof(struct webhook, signing_secret),
               "Standard Webhooks secret (whsec_<base64> or raw)"),
    FY_OPT_PREFIX("headers.", offsetof(struct webhook, headers),
                  "request headers (Authorization: Bearer ..., API keys); values may use "
                  "{recType}, {deviceId}, {devEUI}, {applicationId}, {tenantId}"),
    FY_OPT_ENUM("compression", "none", compression_words, offsetof(struct webhook, compression),
                "request body compression: none or gzip (Content-Encoding: gzip)"),
    FY_OPT_BOOL("allow_private_networks", "false", offsetof(struct webhook, allow_private),
                "allow connections to loopback, private, link-local and other internal "
                "addresses (refused by default: SSRF guard)"),
    FY_OPT_PREFIX("resolve.", offsetof(struct webhook, resolve),
                  "resolve.<host>:<port>: <address>: fixed addresses instead of DNS (like curl "
                  "--resolve); still subject to the SSRF guard"),
    {0},
};

/* ==== templates: {field} of the envelope in the URL's path/query and in header values ==== */

static const char *const tmpl_vars[] = {"recType", "deviceId", "devEUI", "applicationId",
                                        "tenantId", NULL};

/* Check tpl's {names} with the one template engine (core/template.h); FY_OK or FY_ECONFIG with
 * what is wrong. The message names the template through shown (secrets redacted). */
static int tmpl_check(const char *what, const char *tpl, const char *shown, struct fy_err *err)
{
    struct fy_err terr = {0};
    const char *why;

    if (fy_template_check(tpl, tmpl_vars, 0, &terr) == FY_OK) {
        return FY_OK;
    }
    why = strstr(terr.msg, "': ");
    why = why != NULL ? why + 3 : terr.msg; /* drop "template '<tpl>': ", it may hold a secret */
    return fy_err_set(err, FY_ECONFIG, "%s '%s': %s", what, shown, why);
}

struct tmpl_ctx {
    const struct fy_record *rec;
    const cJSON *obj;
};

/* Value of template field name (len bytes) for one record. */
static int tmpl_lookup(void *arg, const char *name, size_t len, const char **val, size_t *val_len)
{
    const struct tmpl_ctx *c = arg;
    const cJSON *v;
    char key[32];
    size_t i;

    for (i = 0; tmpl_vars[i] != NULL; i++) {
        if (strlen(tmpl_vars[i]) == len && memcmp(tmpl_vars[i], name, len) == 0) {
            break;
        }
    }
    if (tmpl_vars[i] == NULL) {
        return FY_EINVAL;
    }
    if (len == 7 && memcmp(name, "recType", 7) == 0) {
        *val = c->rec->rec_type;
    } else {
        snprintf(key, sizeof(key), "%.*s", (int)len, name);
        v = cJSON_GetObjectItemCaseSensitive(c->obj, key);
        *val = cJSON_IsString(v) ? v->valuestring : NULL;
    }
    *val_len = *val != NULL ? strlen(*val) : 0;
    return FY_OK;
}

/* Expand tpl for rec into out, NUL included in out->len. In a URL (url_escape) values are
 * percent-encoded; in a header a value with a control character is refused ("bad_header").
 * FY_OK, or FY_EINVAL with the reason in err (the record is then rejected). */
static int tmpl_expand(const char *tpl, const struct fy_record *rec, const cJSON *obj,
                       int url_escape, struct fy_buf *out, struct fy_err *err)
{
    struct tmpl_ctx c = {rec, obj};
    int rc = fy_template_render(tpl, tmpl_lookup, &c,
                                url_escape ? FY_TEMPLATE_URL : FY_TEMPLATE_HEADER, out->max, out,
                                err);

    if (rc == FY_ENOTFOUND || rc == FY_ETOOBIG) {
        rc = FY_EINVAL; /* this record cannot be addressed: reject it */
    }
    return rc == FY_OK ? fy_buf_add(out, "", 1) : rc; /* NUL */
}

static int webhook_check(void *ctx, struct fy_err *err)
{
    struct webhook *w = ctx;
    size_t i;

    fy_redact_url(w->url, w->url_shown, sizeof(w->url_shown));
    if (strncmp(w->url, "https://", 8) != 0 &&
        !(w->allow_insecure && strncmp(w->url, "http://", 7) == 0)) {
        return fy_err_set(err, FY_ECONFIG, "url '%s': https:// required (http:// only with "
                          "allow_insecure: true)", w->url_shown);
    }
    {
        const char *host = strstr(w->url, "://");
        size_t hl;
        host = host != NULL ? host + 3 : w->url;
        hl = strcspn(host, "/?#");
        if (memchr(host, '{', hl) != NULL) {
            return fy_err_set(err, FY_ECONFIG, "url '%s': templates may only be used in the "
                              "path and query; the host must be literal", w->url_shown);
        }
        if (tmpl_check("url", w->url, w->url_shown, err) != FY_OK) {
            return FY_ECONFIG;
        }
        if (!w->allow_private && (fy_ssrf_host_internal(host, hl) ||
                                  fy_http_url_internal(w->url) == 1)) {
            return fy_err_set(err, FY_ECONFIG, "url '%s': the host is a loopback or private "
                              "address, refused by the SSRF guard (expected a public host, or "
                              "allow_private_networks: true)", w->url_shown);
        }
    }
    for (i = 0; i < w->resolve.n; i++) {
        const char *k = w->resolve.items[i].key, *c = strrchr(k, ':');
        unsigned char a[16];
        if (c == NULL || c == k || strspn(c + 1, "0123456789") != strlen(c + 1) || c[1] == '\0' ||
            (inet_pton(AF_INET, w->resolve.items[i].value, a) != 1 &&
             inet_pton(AF_INET6, w->resolve.items[i].value, a) != 1)) {
            return fy_err_set(err, FY_ECONFIG, "line %d: resolve.%s: %s: expected "
                              "resolve.<host>:<port>: <IPv4 or IPv6 address>",
                              w->resolve.items[i].line, k, w->resolve.items[i].value);
        }
    }
    if (w->auth == A_OAUTH_CC || w->auth == A_OAUTH_REFRESH) {
        const char *want = w->auth == A_OAUTH_CC ? "token_url, client_id and client_secret"
                                                 : "token_url, client_id, refresh_token and "
                                                   "oauth_state_file";
        if (w->token_url == NULL || w->client_id == NULL ||
            (w->auth == A_OAUTH_CC && w->client_secret == NULL) ||
            (w->auth == A_OAUTH_REFRESH && (w->state_file == NULL ||
                                            (w->refresh_token == NULL &&
                                             access(w->state_file, F_OK) != 0)))) {
            return fy_err_set(err, FY_ECONFIG, "auth: %s needs %s", auth_words[w->auth], want);
        }
        if (strncmp(w->token_url, "https://", 8) != 0 &&
            !(w->allow_insecure && strncmp(w->token_url, "http://", 7) == 0)) {
            return fy_err_set(err, FY_ECONFIG, "token_url '%s': https:// required (http:// only "
                              "with allow_insecure: true)", w->token_url);
        }
    } else if (w->token_url != NULL || w->client_id != NULL || w->client_secret != NULL ||
               w->refresh_token != NULL || w->state_file != NULL) {
        return fy_err_set(err, FY_ECONFIG, "token_url, client_id, client_secret, "
                          "refresh_token and oauth_state_file are only used with auth: "
                          "oauth2_client_credentials or oauth2_refresh_token (auth is %s)",
                          auth_words[w->auth]);
    }
    if (w->auth == 1 && (w->username == NULL || w->password == NULL)) {
        return fy_err_set(err, FY_ECONFIG, "auth: basic needs username and password");
    }
    for (i = 0; i < w->headers.n; i++) {
        if (strpbrk(w->headers.items[i].value, "\r\n") != NULL ||
            strpbrk(w->headers.items[i].key, "\r\n: ") != NULL) {
            return fy_err_set(err, FY_ECONFIG, "line %d: header '%s' contains CR/LF or ':'",
                              w->headers.items[i].line, w->headers.items[i].key);
        }
        if (tmpl_check(w->headers.items[i].key, w->headers.items[i].value, "(value not shown)",
                       err) != FY_OK) {
            fy_err_prefix(err, "line %d: header ", w->headers.items[i].line);
            return FY_ECONFIG;
        }
    }
    return FY_OK;
}

static int webhook_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    struct webhook *w = ctx;

    w->snk = snk;
    if (webhook_check(w, err) != FY_OK) {
        return FY_ECONFIG;
    }
    if (w->signing_secret != NULL) {
        const char *s = w->signing_secret;
        size_t n = 0;
        uint8_t *k = NULL;
        if (strncmp(s, "whsec_", 6) == 0) {
            k = fy_b64_decode(s + 6, strlen(s + 6), &n);
        }
        if (k != NULL && n <= sizeof(w->key)) {
            memcpy(w->key, k, n);
            w->key_len = n;
        } else {
            w->key_len = strlen(s) < sizeof(w->key) ? strlen(s) : sizeof(w->key);
            memcpy(w->key, s, w->key_len);
        }
        free(k);
        if (w->key_len < 24) {
            fy_log_warn(fy_sink_tag(snk), "signing_secret is shorter than 24 bytes");
        }
    }
    {
        size_t i;
        for (i = 0; i < w->resolve.n; i++) {
            char e[600];
            snprintf(e, sizeof(e), "%s:%s", w->resolve.items[i].key,
                     w->resolve.items[i].value);
            w->resolve_list = curl_slist_append(w->resolve_list, e);
        }
    }
    if (w->auth == A_OAUTH_CC || w->auth == A_OAUTH_REFRESH) {
        struct fy_oauth_conf oc = {0};
        oc.grant = w->auth == A_OAUTH_CC ? FY_OAUTH_CLIENT_CREDENTIALS : FY_OAUTH_REFRESH_TOKEN;
        oc.token_url = w->token_url;
        oc.client_id = w->client_id;
        oc.client_secret = w->client_secret;
        oc.client_auth_post = w->client_auth == 1;
        oc.scope = w->scope;
        oc.audience = w->audience;
        oc.refresh_token = w->refresh_token;
        oc.state_file = w->state_file;
        oc.ca_file = w->ca_file;
        oc.cert_file = w->cert_file;
        oc.key_file = w->key_file;
        oc.timeout_ms = w->timeout_ms;
        oc.connect_timeout_ms = w->connect_timeout_ms;
        oc.allow_private = w->allow_private;
        oc.tag = fy_sink_tag(snk);
        w->oauth = fy_oauth_create(&oc, err);
        if (w->oauth == NULL) {
            return err->code;
        }
    }
    w->templated = strchr(w->url, '{') != NULL;
    {
        size_t i;
        for (i = 0; i < w->headers.n; i++) {
            w->templated |= strchr(w->headers.items[i].value, '{') != NULL;
        }
    }
    w->transport = (struct fy_http_transport){
        .ca_file = w->ca_file, .cert_file = w->cert_file, .key_file = w->key_file,
        .timeout_ms = w->timeout_ms, .connect_timeout_ms = w->connect_timeout_ms,
        .allow_private = w->allow_private, .resolve = w->resolve_list,
        .user_agent = "ferry-webhook/0.1"};
    w->multi = curl_multi_init(); /* curl_global_init() ran once in main() */
    if (w->multi == NULL) {
        return fy_err_set(err, FY_ENOMEM, "cannot create a curl multi handle");
    }
    curl_multi_setopt(w->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)w->parallel);
    return FY_OK;
}

/* Free the rendered target of b. */
static void target_free(struct batch *b)
{
    size_t i;

    for (i = 0; b->hv != NULL && i < b->nh; i++) {
        free(b->hv[i]);
    }
    free(b->hv);
    free(b->url);
    free(b->target);
    b->hv = NULL;
    b->url = NULL;
    b->target = NULL;
}

/* Copy from's rendered target into to (for split); FY_OK or FY_ENOMEM. */
static int target_copy(struct batch *to, const struct batch *from)
{
    size_t i, nh = from->nh;

    if (from->target == NULL) {
        return FY_OK;
    }
    to->nh = nh;
    to->target = strdup(from->target);
    to->url = from->url != NULL ? strdup(from->url) : NULL;
    to->hv = calloc(nh + 1, sizeof(char *));
    if (to->target == NULL || (from->url != NULL && to->url == NULL) || to->hv == NULL) {
        return FY_ENOMEM;
    }
    for (i = 0; i < nh; i++) {
        if ((to->hv[i] = strdup(from->hv[i])) == NULL) {
            return FY_ENOMEM;
        }
    }
    return FY_OK;
}

static void batch_free(struct batch *b)
{
    size_t i;

    if (b == NULL) {
        return;
    }
    target_free(b);
    for (i = 0; i < b->n; i++) {
        free(b->items[i].body);
    }
    free(b->items);
    curl_slist_free_all(b->headers);
    fy_buf_free(&b->req);
    fy_buf_free(&b->resp);
    free(b->token);
    free(b);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct batch *b = arg;
    size_t len = size * n;
    size_t room = b->resp.len < 512 ? 512 - b->resp.len : 0;

    fy_buf_add(&b->resp, p, len < room ? len : room);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct batch *b = arg;
    size_t len = size * n;

    fy_http_header_value(p, len, "retry-after", b->retry_after, sizeof(b->retry_after));
    return len;
}

static int build_body(struct webhook *w, struct batch *b)
{
    size_t i;
    int rc = FY_OK;

    fy_buf_init(&b->req, (size_t)w->batch_max_bytes * 2 + 1024);
    if (w->format == F_ARRAY || w->format == F_SMARTCLEAN) {
        rc = fy_buf_add(&b->req, "[", 1);
    }
    for (i = 0; rc == FY_OK && i < b->n; i++) {
        const struct item *it = &b->items[i];
        if (i > 0 && (w->format == F_ARRAY || w->format == F_SMARTCLEAN)) {
            rc = fy_buf_add(&b->req, ",", 1);
        }
        if (rc == FY_OK && w->format == F_SMARTCLEAN) {
            /* each envelope as a JSON string (SmartClean's "JSON-serialized objects") */
            cJSON *s = cJSON_CreateString(it->body);
            char *q = s ? cJSON_PrintUnformatted(s) : NULL;
            rc = q ? fy_buf_addstr(&b->req, q) : FY_ENOMEM;
            free(q);
            cJSON_Delete(s);
        } else if (rc == FY_OK) {
            rc = fy_buf_add(&b->req, it->body, it->len);
            if (rc == FY_OK && w->format == F_NDJSON) {
                rc = fy_buf_add(&b->req, "\n", 1);
            }
        }
    }
    if (rc == FY_OK && (w->format == F_ARRAY || w->format == F_SMARTCLEAN)) {
        rc = fy_buf_add(&b->req, "]", 1);
    }
    return rc;
}

/* Standard Webhooks: webhook-id (stable across retries), webhook-timestamp (this attempt),
 * webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>". */
static struct curl_slist *sign(struct webhook *w, struct batch *b, struct curl_slist *h)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char line[256], ts[32];
    char *sig;
    struct fy_buf msg;

    snprintf(ts, sizeof(ts), "%lld", (long long)(fy_clock_wall_ms() / 1000));
    fy_buf_init(&msg, b->req.len + 256);
    fy_buf_printf(&msg, "%s.%s.", b->items[0].id, ts);
    fy_buf_add(&msg, b->req.data, b->req.len);
    HMAC(EVP_sha256(), w->key, (int)w->key_len, (const unsigned char *)msg.data, msg.len, mac,
         &mac_len);
    fy_buf_free(&msg);
    sig = fy_b64_encode(mac, mac_len);
    snprintf(line, sizeof(line), "webhook-id: %s", b->items[0].id);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %s", ts);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "webhook-signature: v1,%s", sig ? sig : "");
    h = curl_slist_append(h, line);
    free(sig);
    return h;
}

/* Replace b->req by its gzip encoding (RFC 1952). */
static int start(struct webhook *w, struct batch *b)
{
    static const char *const ctypes[] = {"application/json", "application/x-ndjson",
                                         "application/json", "application/json"};
    char line[1200];
    size_t i;

    fy_buf_free(&b->req);
    fy_buf_free(&b->resp);
    fy_buf_init(&b->resp, 1024);
    b->retry_after[0] = '\0';
    if (build_body(w, b) != FY_OK) {
        return FY_ETOOBIG;
    }
    curl_slist_free_all(b->headers);
    b->headers = NULL;
    snprintf(line, sizeof(line), "Content-Type: %s; charset=utf-8", ctypes[w->format]);
    b->headers = curl_slist_append(b->headers, line);
    for (i = 0; i < w->headers.n; i++) {
        snprintf(line, sizeof(line), "%s: %s", w->headers.items[i].key,
                 b->hv != NULL ? b->hv[i] : w->headers.items[i].value);
        b->headers = curl_slist_append(b->headers, line);
    }
    if (w->oauth != NULL) {
        const char *tok;
        struct fy_err err = {0};
        int fresh = 0;
        char *h;
        if (fy_oauth_token(w->oauth, &tok, &fresh, &err) != FY_OK) {
            snprintf(w->token_error, sizeof(w->token_error), "no OAuth2 access token: %s",
                     err.msg);
            fy_log_error(fy_sink_tag(w->snk), "%s", w->token_error);
            return FY_EIO;
        }
        free(b->token);
        b->token = strdup(tok);
        h = malloc(strlen(tok) + 32);
        if (b->token == NULL || h == NULL) {
            free(h);
            return FY_ENOMEM;
        }
        snprintf(h, strlen(tok) + 32, "Authorization: Bearer %s", tok);
        b->headers = curl_slist_append(b->headers, h);
        memset(h, 0, strlen(h));
        free(h);
    }
    if (w->key_len > 0) {
        b->headers = sign(w, b, b->headers); /* over the body before compression */
    }
    if (w->compression == 1) {
        if (fy_http_gzip(&b->req) != FY_OK) {
            return FY_ENOMEM;
        }
        b->headers = curl_slist_append(b->headers, "Content-Encoding: gzip");
    }
    b->easy = curl_easy_init();
    if (b->easy == NULL) {
        return FY_ENOMEM;
    }
    b->guard.why[0] = '\0';
    curl_easy_setopt(b->easy, CURLOPT_URL, b->url != NULL ? b->url : w->url);
    fy_http_setup(b->easy, &w->transport, &b->guard);
    curl_easy_setopt(b->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(b->easy, CURLOPT_POSTFIELDS, b->req.data);
    curl_easy_setopt(b->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->req.len);
    curl_easy_setopt(b->easy, CURLOPT_HTTPHEADER, b->headers);
    curl_easy_setopt(b->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(b->easy, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(b->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(b->easy, CURLOPT_HEADERDATA, b);
    curl_easy_setopt(b->easy, CURLOPT_PRIVATE, b);
    if (w->auth == 1) {
        curl_easy_setopt(b->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(b->easy, CURLOPT_USERNAME, w->username);
        curl_easy_setopt(b->easy, CURLOPT_PASSWORD, w->password);
    }
    curl_multi_add_handle(w->multi, b->easy);
    b->next = w->inflight;
    w->inflight = b;
    w->running++;
    return FY_OK;
}

static void complete_all(struct webhook *w, struct batch *b, enum fy_sink_result res,
                         const char *reason)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        fy_sink_complete(w->snk, b->items[i].ticket, res, reason);
    }
}

/* Queue b at the back (or the front, for the halves of a split batch). O(1): with one record
 * per request the queue holds up to max_inflight batches. */
static void enqueue(struct webhook *w, struct batch *b, int front)
{
    if (front) {
        b->next = w->queue;
        w->queue = b;
        if (w->queue_tail == NULL) {
            w->queue_tail = b;
        }
        return;
    }
    b->next = NULL;
    if (w->queue_tail != NULL) {
        w->queue_tail->next = b;
    } else {
        w->queue = b;
    }
    w->queue_tail = b;
}

static struct batch *dequeue(struct webhook *w)
{
    struct batch *b = w->queue;

    if (b != NULL) {
        w->queue = b->next;
        if (w->queue == NULL) {
            w->queue_tail = NULL;
        }
        b->next = NULL;
    }
    return b;
}

/* Start queued batches while request slots are free. Returns how many started. */
static int start_queued(struct webhook *w)
{
    int started = 0;

    while (w->queue != NULL && w->running < (size_t)w->parallel) {
        struct batch *b = dequeue(w);
        int rc = start(w, b);
        if (rc == FY_EIO || rc == FY_ENOMEM) {
            /* no token (or no memory): nothing was sent; the core retries the records */
            complete_all(w, b, FY_SINK_RETRY, rc == FY_EIO ? w->token_error : "out of memory");
            batch_free(b);
        } else if (rc != FY_OK) {
            complete_all(w, b, FY_SINK_REJECT, "request body too large");
            batch_free(b);
        } else {
            started++;
        }
    }
    return started;
}

/* Close open batch b (unlink it from the open list and queue it). */
static void close_one(struct webhook *w, struct batch *b)
{
    struct batch **pp = &w->open;

    while (*pp != NULL && *pp != b) {
        pp = &(*pp)->next;
    }
    if (*pp == b) {
        *pp = b->next;
        w->n_open--;
    }
    if (b->n > 0) {
        enqueue(w, b, 0);
    } else {
        batch_free(b);
    }
}

/* Close open batches: every one (all), else those past batch_max_wait_ms. */
static void close_open(struct webhook *w, int all)
{
    int64_t now = fy_clock_mono_ms();
    struct batch *b = w->open, *next;

    for (; b != NULL; b = next) {
        next = b->next;
        if (all || now - b->since >= w->batch_max_wait_ms) {
            close_one(w, b);
        }
    }
}

/* 413: split in halves (front of the queue, order kept); one record left: reject it. */
static void split(struct webhook *w, struct batch *b, const char *reason)
{
    struct batch *a, *c;
    size_t half = b->n / 2;

    if (b->n <= 1) {
        complete_all(w, b, FY_SINK_REJECT, reason);
        batch_free(b);
        return;
    }
    a = calloc(1, sizeof(*a));
    c = calloc(1, sizeof(*c));
    if (a == NULL || c == NULL || target_copy(a, b) != FY_OK || target_copy(c, b) != FY_OK ||
        (a->items = malloc(half * sizeof(*a->items))) == NULL ||
        (c->items = malloc((b->n - half) * sizeof(*c->items))) == NULL) {
        /* out of memory: send it again whole (the core retries) rather than lose it */
        batch_free(a);
        batch_free(c);
        complete_all(w, b, FY_SINK_RETRY, "out of memory while splitting a batch after 413");
        batch_free(b);
        return;
    }
    memcpy(a->items, b->items, half * sizeof(*a->items));
    memcpy(c->items, b->items + half, (b->n - half) * sizeof(*c->items));
    a->n = half;
    c->n = b->n - half;
    b->n = 0; /* items moved */
    batch_free(b);
    enqueue(w, c, 1);
    enqueue(w, a, 1);
}

static void finished(struct webhook *w, CURLMsg *m)
{
    struct batch *b = NULL;
    long status = 0;
    char reason[800];
    CURLcode result = m->data.result; /* m is freed by curl_multi_remove_handle */
    char where[512]; /* the URL as shown: user-info and query values hidden */

    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&b);
    fy_redact_url(b->url != NULL ? b->url : w->url, where, sizeof(where));
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(w->multi, m->easy_handle);
    curl_easy_cleanup(m->easy_handle);
    b->easy = NULL;
    w->running--;
    {
        struct batch **pp = &w->inflight;
        while (*pp != NULL && *pp != b) {
            pp = &(*pp)->next;
        }
        if (*pp == b) {
            *pp = b->next;
        }
        b->next = NULL;
    }
    if (result != CURLE_OK && b->guard.why[0] != '\0') {
        snprintf(reason, sizeof(reason), "ssrf_blocked: %s: %s",
                 where, b->guard.why);
        fy_log_error(fy_sink_tag(w->snk), "SSRF guard: %s", reason);
        complete_all(w, b, FY_SINK_REJECT, reason);
    } else if (result != CURLE_OK) {
        snprintf(reason, sizeof(reason), "%s from %s", curl_easy_strerror(result),
                 where);
        complete_all(w, b, FY_SINK_RETRY, reason);
    } else if (status >= 200 && status < 300) {
        complete_all(w, b, FY_SINK_OK, NULL);
    } else if (status == 401 && w->oauth != NULL && !b->auth_retried) {
        /* the token expired early or was revoked: fetch a new one and send again, once */
        fy_log_warn(fy_sink_tag(w->snk), "HTTP 401 from %s: fetching a new OAuth2 access "
                    "token and sending the batch again", where);
        fy_oauth_invalidate(w->oauth, b->token);
        b->auth_retried = 1;
        enqueue(w, b, 1);
        return;
    } else if (status == 401 && w->oauth != NULL) {
        fy_oauth_invalidate(w->oauth, b->token);
        snprintf(reason, sizeof(reason), "HTTP 401 from %s with a newly fetched OAuth2 token: "
                 "the endpoint refuses this client's tokens (check client_id, scope, "
                 "audience): %.*s", where, (int)b->resp.len,
                 b->resp.data ? b->resp.data : "");
        complete_all(w, b, FY_SINK_RETRY, reason);
    } else if (status == 413) {
        snprintf(reason, sizeof(reason), "HTTP 413 from %s: a single record is too large",
                 where);
        split(w, b, reason);
        return;
    } else {
        int64_t ra = fy_http_retry_after_ms(b->retry_after, fy_clock_wall_ms());
        int retry = status == 408 || status == 429 || status >= 500;
        snprintf(reason, sizeof(reason), "%sHTTP %ld from %s%s: %.*s",
                 ra >= 0 && retry ? "" : "", status, where,
                 status >= 300 && status < 400 ? " (redirect not followed)" : "",
                 (int)b->resp.len, b->resp.data ? b->resp.data : "");
        if (status == 410) {
            /* Gone: Standard Webhooks says disable the endpoint; the core keeps the records
             * and probes, so nothing is lost if the customer brings it back */
            char with[900];
            snprintf(with, sizeof(with), "%s%s", FY_SINK_REASON_DISABLE, reason);
            complete_all(w, b, FY_SINK_RETRY, with);
        } else if (retry && ra >= 0) {
            char with[900];
            snprintf(with, sizeof(with), "retry_after_ms=%lld; %s", (long long)ra, reason);
            complete_all(w, b, FY_SINK_RETRY, with);
        } else {
            complete_all(w, b, retry ? FY_SINK_RETRY : FY_SINK_REJECT, reason);
        }
    }
    batch_free(b);
}

/* Render the URL and header values of rec into t (t->url, t->hv, t->target). FY_OK, or
 * FY_EINVAL with the reason in err (the record cannot be addressed: reject it). */
static int render_target(struct webhook *w, const struct fy_record *rec, struct batch *t,
                         struct fy_err *err)
{
    cJSON *env = cJSON_ParseWithLength(rec->body, rec->body_len);
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(env, "obj");
    struct fy_buf u, key;
    size_t i;
    int rc;

    fy_buf_init(&u, 8192);
    fy_buf_init(&key, 16384);
    rc = tmpl_expand(w->url, rec, obj, 1, &u, err);
    t->nh = w->headers.n;
    t->hv = calloc(w->headers.n + 1, sizeof(char *));
    if (rc == FY_OK && t->hv == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    if (rc == FY_OK) {
        fy_buf_add(&key, u.data, u.len - 1);
    }
    for (i = 0; rc == FY_OK && i < w->headers.n; i++) {
        struct fy_buf v;
        fy_buf_init(&v, 1024);
        rc = tmpl_expand(w->headers.items[i].value, rec, obj, 0, &v, err);
        if (rc != FY_OK) {
            fy_err_prefix(err, "header %s: ", w->headers.items[i].key);
            fy_buf_free(&v);
            break;
        }
        fy_buf_add(&key, "\n", 1);
        fy_buf_add(&key, v.data, v.len - 1);
        t->hv[i] = strdup(v.data);
        fy_buf_free(&v);
        if (t->hv[i] == NULL) {
            rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        }
    }
    if (rc == FY_OK && fy_buf_add(&key, "", 1) == FY_OK) {
        t->url = strdup(u.data);
        t->target = strdup(key.data);
        if (t->url == NULL || t->target == NULL) {
            rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        }
    } else if (rc == FY_OK) {
        rc = fy_err_set(err, FY_EINVAL, "url or headers too long after expansion");
    }
    fy_buf_free(&u);
    fy_buf_free(&key);
    cJSON_Delete(env);
    if (rc != FY_OK) {
        target_free(t);
    }
    return rc;
}

/* The open batch for target (NULL = the untemplated one), or a new one; NULL when full. */
static struct batch *open_for(struct webhook *w, struct batch *target)
{
    struct batch *b;

    for (b = w->open; b != NULL; b = b->next) {
        if (target->target == NULL || strcmp(b->target, target->target) == 0) {
            target_free(target);
            return b;
        }
    }
    if (w->running >= (size_t)w->parallel && w->queue != NULL) {
        return NULL; /* requests in flight and a batch waiting: enough buffered */
    }
    if (w->n_open >= 64) {
        for (b = w->open; b->next != NULL; b = b->next) {
        }
        close_one(w, b); /* many targets at once: send the oldest (the list's tail) */
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL || (b->items = calloc((size_t)w->batch_max_records, sizeof(struct item))) ==
                         NULL) {
        free(b);
        return NULL;
    }
    b->url = target->url;
    b->hv = target->hv;
    b->nh = target->nh;
    b->target = target->target;
    memset(target, 0, sizeof(*target));
    b->since = fy_clock_mono_ms();
    b->next = w->open;
    w->open = b;
    w->n_open++;
    return b;
}

static int webhook_submit(void *ctx, const struct fy_record *rec, const char *dest,
                          uint64_t ticket)
{
    struct webhook *w = ctx;
    struct batch t = {0};
    struct batch *b;
    struct item *it;

    (void)dest;
    if (w->templated) {
        struct fy_err err = {0};
        if (render_target(w, rec, &t, &err) != FY_OK) {
            if (err.code == FY_ENOMEM) {
                return FY_EAGAIN;
            }
            fy_sink_complete(w->snk, ticket, FY_SINK_REJECT, err.msg);
            return FY_OK;
        }
    }
    b = open_for(w, &t);
    if (b == NULL) {
        target_free(&t);
        return FY_EAGAIN;
    }
    if (b->n > 0 && b->bytes + rec->body_len > (size_t)w->batch_max_bytes) {
        close_one(w, b);
        return FY_EAGAIN;
    }
    it = &b->items[b->n];
    it->ticket = ticket;
    it->body = malloc(rec->body_len + 1);
    if (it->body == NULL) {
        return FY_EAGAIN;
    }
    memcpy(it->body, rec->body, rec->body_len);
    it->body[rec->body_len] = '\0';
    it->len = rec->body_len;
    snprintf(it->id, sizeof(it->id), "%s", rec->id);
    b->n++;
    b->bytes += rec->body_len;
    if (w->format == F_SINGLE || b->n >= (size_t)w->batch_max_records) {
        close_one(w, b);
    }
    return FY_OK;
}

static void webhook_poll(void *ctx, int timeout_ms)
{
    struct webhook *w = ctx;
    CURLMsg *m;
    int still = 0, left = 0;

    close_open(w, 0);
    start_queued(w);
    do {
        curl_multi_perform(w->multi, &still);
        while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
            if (m->msg == CURLMSG_DONE) {
                finished(w, m);
            }
        }
        /* slots freed by finished requests are refilled before waiting */
    } while (start_queued(w) > 0);
    if (w->running > 0) {
        curl_multi_poll(w->multi, NULL, 0, timeout_ms > 0 ? timeout_ms : 1, NULL);
    }
}

static int webhook_drain(void *ctx, int timeout_ms)
{
    struct webhook *w = ctx;
    int64_t end = fy_clock_deadline(timeout_ms);

    close_open(w, 1);
    while ((w->running > 0 || w->queue != NULL) && fy_clock_mono_ms() < end) {
        webhook_poll(w, 20);
    }
    return w->running == 0 && w->queue == NULL ? FY_OK : FY_ETIMEOUT;
}

static void webhook_exit(void *ctx)
{
    struct webhook *w = ctx;
    CURLMsg *m;
    int left;

    while (w->queue != NULL) {
        batch_free(dequeue(w));
    }
    while (w->open != NULL) {
        struct batch *b = w->open;
        w->open = b->next;
        batch_free(b);
    }
    w->n_open = 0;
    while (w->inflight != NULL) {
        struct batch *b = w->inflight;
        w->inflight = b->next;
        curl_multi_remove_handle(w->multi, b->easy);
        curl_easy_cleanup(b->easy);
        b->easy = NULL;
        batch_free(b);
    }
    if (w->multi != NULL) {
        while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
        }
        curl_multi_cleanup(w->multi);
        w->multi = NULL;
    }
    curl_slist_free_all(w->resolve_list);
    w->resolve_list = NULL;
    fy_oauth_destroy(w->oauth);
    w->oauth = NULL;
    memset(w->key, 0, sizeof(w->key));
}

const struct fy_sink_plugin fy_sink_webhook = {
    .abi = FY_SINK_ABI,
    .name = "webhook",
    .description = "HTTPS POST of envelope batches (libcurl), Basic/headers/HMAC signing",
    .opts = webhook_opts,
    .ctx_size = sizeof(struct webhook),
    .init = webhook_init,
    .submit = webhook_submit,
    .poll = webhook_poll,
    .drain = webhook_drain,
    .exit = webhook_exit,
    .max_inflight = 2000,
    .check = webhook_check,
};
