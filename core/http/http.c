/* http.c - see http.h. */
#include "core/http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

int fy_http_setup(CURL *easy, const struct fy_http_transport *t, struct fy_ssrf_note *note)
{
    if (easy == NULL || t == NULL) {
        return FY_EINVAL;
    }
    curl_easy_setopt(easy, CURLOPT_PROXY, ""); /* no proxy from the environment */
    if (t->resolve != NULL) {
        curl_easy_setopt(easy, CURLOPT_RESOLVE, t->resolve);
    }
    if (!t->allow_private && note != NULL) {
        note->why[0] = '\0';
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, fy_ssrf_open_socket);
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, note);
    }
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)t->connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L); /* never follow redirects */
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (t->user_agent != NULL) {
        curl_easy_setopt(easy, CURLOPT_USERAGENT, t->user_agent);
    }
    if (t->ca_file != NULL) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, t->ca_file);
    }
    if (t->cert_file != NULL) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, t->cert_file);
    }
    if (t->key_file != NULL) {
        curl_easy_setopt(easy, CURLOPT_SSLKEY, t->key_file);
    }
    return FY_OK;
}

int fy_http_url_internal(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    int rc = -1;

    if (u == NULL) {
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host != NULL) {
        rc = fy_ssrf_host_internal(host, strlen(host));
    }
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

enum fy_http_class fy_http_classify(CURLcode result, long status, int blocked)
{
    if (result != CURLE_OK) {
        return blocked ? FY_HTTP_BLOCKED : FY_HTTP_RETRY;
    }
    if (status >= 200 && status < 300) {
        return FY_HTTP_OK;
    }
    if (status == 410) {
        return FY_HTTP_DISABLE;
    }
    if (status == 413) {
        return FY_HTTP_TOO_LARGE;
    }
    if (status == 408 || status == 429 || status >= 500) {
        return FY_HTTP_RETRY;
    }
    return FY_HTTP_REJECT;
}

int64_t fy_http_retry_after_ms(const char *v, int64_t now_wall_ms)
{
    char *end;
    long long s;
    time_t t;

    if (v == NULL || *v == '\0') {
        return -1;
    }
    s = strtoll(v, &end, 10);
    if (end != v && *end == '\0' && s >= 0) {
        return s > 3600 ? 3600000 : s * 1000;
    }
    if (end != v) {
        return -1; /* "12abc", "-5" */
    }
    t = curl_getdate(v, NULL);
    if (t < 0) {
        return -1;
    }
    s = (long long)t * 1000 - now_wall_ms;
    return s < 0 ? 0 : s > 3600000 ? 3600000 : s;
}

int fy_http_header_value(const char *line, size_t len, const char *name, char *out,
                         size_t out_size)
{
    size_t n = strlen(name), k;

    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0) {
        return 0;
    }
    for (k = n + 1; k < len && (line[k] == ' ' || line[k] == '\t'); k++) {
    }
    snprintf(out, out_size, "%.*s", (int)(len - k), line + k);
    out[strcspn(out, "\r\n")] = '\0';
    return 1;
}

int fy_http_gzip(struct fy_buf *body)
{
    z_stream z;
    struct fy_buf out;
    int zrc;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return FY_ENOMEM;
    }
    fy_buf_init(&out, body->len + body->len / 8 + 1024);
    if (fy_buf_add(&out, NULL, 0) != FY_OK) {
        deflateEnd(&z);
        return FY_ENOMEM;
    }
    z.next_in = (Bytef *)body->data;
    z.avail_in = (uInt)body->len;
    do {
        unsigned char chunk[16384];
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        zrc = deflate(&z, Z_FINISH);
        if (zrc == Z_STREAM_ERROR ||
            fy_buf_add(&out, chunk, sizeof(chunk) - z.avail_out) != FY_OK) {
            deflateEnd(&z);
            fy_buf_free(&out);
            return FY_ENOMEM;
        }
    } while (zrc != Z_STREAM_END);
    deflateEnd(&z);
    fy_buf_free(body);
    *body = out;
    return FY_OK;
}

int fy_http_sigv4(CURL *easy, const char *region, const char *service, const char *key_id,
                  const char *secret, const char *session_token, struct curl_slist **headers)
{
    char provider[160];

    if (easy == NULL || region == NULL || service == NULL || key_id == NULL || secret == NULL ||
        *region == '\0' || *service == '\0') {
        return FY_EINVAL;
    }
    snprintf(provider, sizeof(provider), "aws:amz:%s:%s", region, service);
    if (curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, provider) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_USERNAME, key_id) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_PASSWORD, secret) != CURLE_OK) {
        return FY_EINVAL;
    }
    if (session_token != NULL && *session_token != '\0') {
        size_t n = strlen(session_token) + 32;
        char *h = malloc(n);
        struct curl_slist *l;
        if (h == NULL) {
            return FY_ENOMEM;
        }
        snprintf(h, n, "x-amz-security-token: %s", session_token);
        l = curl_slist_append(*headers, h);
        memset(h, 0, n);
        free(h);
        if (l == NULL) {
            return FY_ENOMEM;
        }
        *headers = l;
    }
    return FY_OK;
}
