/* webhook_conf.c - the webhook sink's options, their checks (`ferry check` runs the same) and
 * the set-up they lead to: signing key, resolve pins, OAuth2 token source, transport. */
#include "sinks/webhook/webhook.h"

#include "core/b64.h"
#include "core/http/ssrf.h"
#include "core/log.h"
#include "core/redact.h"
#include "sinks/record_template.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const format_words[] = {"json_array", "ndjson", "smartclean", "single", NULL};
static const char *const compression_words[] = {"none", "gzip", NULL};
static const char *const auth_words[] = {"none", "basic", "oauth2_client_credentials",
                                         "oauth2_refresh_token", NULL};
static const char *const client_auth_words[] = {"basic", "post", NULL};
static const char *const order_words[] = {"per_device", "none", NULL};

const struct fy_opt fy_webhook_opts[] = {
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
    FY_OPT_ENUM("order", "per_device", order_words, offsetof(struct webhook, order),
                "per_device: a device's later record is never sent while an earlier one is "
                "unaccepted (one pending record per device key in the sink); none: full "
                "batches, no order promise"),
    FY_OPT_INT("request_retries", "5", 0, 100, offsetof(struct webhook, request_retries),
               "times the sink sends a request that failed after reaching the endpoint "
               "(5xx, 408, 429, time-out) again by itself, with back-off, before the core's "
               "retry policy takes over"),
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

int fy_webhook_check(void *ctx, struct fy_err *err)
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
        if (fy_sink_tmpl_check("url", w->url, w->url_shown, err) != FY_OK) {
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
    if (w->auth == WH_AUTH_OAUTH_CC || w->auth == WH_AUTH_OAUTH_REFRESH) {
        const char *want = w->auth == WH_AUTH_OAUTH_CC ? "token_url, client_id and client_secret"
                                                 : "token_url, client_id, refresh_token and "
                                                   "oauth_state_file";
        if (w->token_url == NULL || w->client_id == NULL ||
            (w->auth == WH_AUTH_OAUTH_CC && w->client_secret == NULL) ||
            (w->auth == WH_AUTH_OAUTH_REFRESH && (w->state_file == NULL ||
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
    if (w->auth == WH_AUTH_BASIC && (w->username == NULL || w->password == NULL)) {
        return fy_err_set(err, FY_ECONFIG, "auth: basic needs username and password");
    }
    for (i = 0; i < w->headers.n; i++) {
        if (strpbrk(w->headers.items[i].value, "\r\n") != NULL ||
            strpbrk(w->headers.items[i].key, "\r\n: ") != NULL) {
            return fy_err_set(err, FY_ECONFIG, "line %d: header '%s' contains CR/LF or ':'",
                              w->headers.items[i].line, w->headers.items[i].key);
        }
        if (fy_sink_tmpl_check(w->headers.items[i].key, w->headers.items[i].value,
                               "(value not shown)", err) != FY_OK) {
            fy_err_prefix(err, "line %d: header ", w->headers.items[i].line);
            return FY_ECONFIG;
        }
    }
    return FY_OK;
}

int fy_webhook_setup(struct webhook *w, struct fy_err *err)
{
    struct fy_sink *snk = w->snk;

    if (fy_webhook_check(w, err) != FY_OK) {
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
    if (w->auth == WH_AUTH_OAUTH_CC || w->auth == WH_AUTH_OAUTH_REFRESH) {
        struct fy_oauth_conf oc = {0};
        oc.grant = w->auth == WH_AUTH_OAUTH_CC ? FY_OAUTH_CLIENT_CREDENTIALS : FY_OAUTH_REFRESH_TOKEN;
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
    return FY_OK;
}
