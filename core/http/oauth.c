/* oauth.c - OAuth2 access tokens for the webhook sink (see oauth.h). */
#include "core/http/oauth.h"

#include "core/buf.h"
#include "core/file.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/http/ssrf.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RESPONSE_MAX (64 * 1024)

struct fy_oauth {
    struct fy_oauth_conf c;   /* strings below are owned copies */
    char *refresh;            /* current refresh token (refresh grant) */
    char *access;             /* cached access token, NULL when none */
    int64_t expires_ms;       /* when the cached token expires (wall clock) */
    int64_t renew_ms;         /* when to fetch a new one (before expiry) */
    uint64_t fetches;
    char token_url_shown[512]; /* token_url with user-info and query values hidden */
};

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* Overwrite a secret before freeing it. */
static void free_secret(char *s)
{
    if (s != NULL) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

/* ==== state file ==== */

/* Write the refresh token to the state file atomically and durably, mode 0600. */
static int persist(struct fy_oauth *o, const char *refresh, struct fy_err *err)
{
    char tmp[4200], dir[4200];
    cJSON *st = cJSON_CreateObject();
    char *txt;
    size_t len;
    int fd, dfd, rc = FY_OK;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(st, "refresh_token", refresh);
    cJSON_AddStringToObject(st, "updated_at", ts);
    txt = cJSON_Print(st);
    cJSON_Delete(st);
    if (txt == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    len = strlen(txt);
    snprintf(tmp, sizeof(tmp), "%s.tmp", o->c.state_file);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = fy_err_set(err, FY_EIO, "state file %s: %s", tmp, strerror(errno));
    } else {
        if (write(fd, txt, len) != (ssize_t)len || fsync(fd) != 0) {
            rc = fy_err_set(err, FY_EIO, "state file %s: %s", tmp, strerror(errno));
        }
        if (close(fd) != 0 && rc == FY_OK) {
            rc = fy_err_set(err, FY_EIO, "state file %s: %s", tmp, strerror(errno));
        }
    }
    if (rc == FY_OK && rename(tmp, o->c.state_file) != 0) {
        rc = fy_err_set(err, FY_EIO, "state file %s: rename: %s", o->c.state_file,
                        strerror(errno));
    }
    if (rc == FY_OK) {
        snprintf(dir, sizeof(dir), "%s", o->c.state_file);
        dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0) {
            rc = fy_err_set(err, FY_EIO, "state file directory %s: %s", dir, strerror(errno));
        }
        if (dfd >= 0) {
            close(dfd);
        }
    } else {
        unlink(tmp);
    }
    memset(txt, 0, len);
    free(txt);
    return rc;
}

/* Load the refresh token from the state file if it exists. FY_OK (found or absent). */
static int load_state(struct fy_oauth *o, struct fy_err *err)
{
    struct stat sb;
    struct fy_err rerr = {0};
    size_t len = 0;
    char *txt;
    cJSON *st;
    const cJSON *rt;

    if (stat(o->c.state_file, &sb) != 0) {
        if (errno == ENOENT) {
            return FY_OK;
        }
        return fy_err_set(err, FY_ECONFIG, "oauth_state_file %s: %s", o->c.state_file,
                          strerror(errno));
    }
    if ((sb.st_mode & 077) != 0) {
        fy_log_warn(o->c.tag, "oauth_state_file %s is readable by others (mode %03o): it "
                    "holds a refresh token; chmod 600 it", o->c.state_file,
                    (unsigned)(sb.st_mode & 0777));
    }
    txt = fy_file_read(o->c.state_file, RESPONSE_MAX, &len, &rerr);
    if (txt == NULL) {
        return fy_err_set(err, FY_ECONFIG, "oauth_state_file: %s", rerr.msg);
    }
    st = cJSON_ParseWithLength(txt, len);
    memset(txt, 0, len);
    free(txt);
    rt = cJSON_GetObjectItemCaseSensitive(st, "refresh_token");
    if (!cJSON_IsString(rt) || rt->valuestring[0] == '\0') {
        cJSON_Delete(st);
        return fy_err_set(err, FY_ECONFIG, "oauth_state_file %s: not a Ferry OAuth state "
                          "file (expected a JSON object with \"refresh_token\")",
                          o->c.state_file);
    }
    free_secret(o->refresh);
    o->refresh = strdup(rt->valuestring);
    memset(rt->valuestring, 0, strlen(rt->valuestring));
    cJSON_Delete(st);
    fy_log_info(o->c.tag, "using the refresh token kept in %s", o->c.state_file);
    return o->refresh != NULL ? FY_OK : fy_err_set(err, FY_ENOMEM, "out of memory");
}

/* ==== create / destroy ==== */

struct fy_oauth *fy_oauth_create(const struct fy_oauth_conf *c, struct fy_err *err)
{
    struct fy_oauth *o = calloc(1, sizeof(*o));

    if (o == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    o->c = *c;
    o->c.token_url = dup_or_null(c->token_url);
    fy_redact_url(c->token_url, o->token_url_shown, sizeof(o->token_url_shown));
    o->c.client_id = dup_or_null(c->client_id);
    o->c.client_secret = dup_or_null(c->client_secret);
    o->c.scope = dup_or_null(c->scope);
    o->c.audience = dup_or_null(c->audience);
    o->c.refresh_token = NULL;
    o->c.state_file = dup_or_null(c->state_file);
    o->c.ca_file = dup_or_null(c->ca_file);
    o->c.cert_file = dup_or_null(c->cert_file);
    o->c.key_file = dup_or_null(c->key_file);
    o->c.tag = dup_or_null(c->tag != NULL ? c->tag : "oauth");
    o->refresh = dup_or_null(c->refresh_token);
    if (c->grant == FY_OAUTH_REFRESH_TOKEN && c->state_file != NULL &&
        load_state(o, err) != FY_OK) {
        fy_oauth_destroy(o);
        return NULL;
    }
    return o;
}

void fy_oauth_destroy(struct fy_oauth *o)
{
    if (o == NULL) {
        return;
    }
    free((char *)o->c.token_url);
    free((char *)o->c.client_id);
    free_secret((char *)o->c.client_secret);
    free((char *)o->c.scope);
    free((char *)o->c.audience);
    free((char *)o->c.state_file);
    free((char *)o->c.ca_file);
    free((char *)o->c.cert_file);
    free((char *)o->c.key_file);
    free((char *)o->c.tag);
    free_secret(o->refresh);
    free_secret(o->access);
    free(o);
}

uint64_t fy_oauth_fetches(const struct fy_oauth *o)
{
    return o->fetches;
}

void fy_oauth_invalidate(struct fy_oauth *o, const char *token)
{
    if (o->access != NULL && token != NULL && strcmp(o->access, token) == 0) {
        free_secret(o->access);
        o->access = NULL;
    }
}

/* ==== the token request ==== */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct fy_buf *b = arg;

    return fy_buf_add(b, p, size * n) == FY_OK ? size * n : 0;
}

/* Append "&name=value" (value form-encoded) to form. */
static void form_add(CURL *e, struct fy_buf *form, const char *name, const char *value)
{
    char *v;

    if (value == NULL) {
        return;
    }
    v = curl_easy_escape(e, value, 0);
    fy_buf_printf(form, "%s%s=%s", form->len > 0 ? "&" : "", name, v != NULL ? v : "");
    if (v != NULL) {
        memset(v, 0, strlen(v));
    }
    curl_free(v);
}

/* The reason for a refused token request: HTTP status and the OAuth error fields, which are
 * codes and descriptions, not secrets. */
static int refused(struct fy_oauth *o, long status, const struct fy_buf *resp,
                   struct fy_err *err)
{
    cJSON *j = resp->data != NULL ? cJSON_ParseWithLength(resp->data, resp->len) : NULL;
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error"));
    const char *desc =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error_description"));
    int rc;

    rc = fy_err_set(err, FY_EIO, "token endpoint %s: HTTP %ld%s%s%s%.200s%s", o->token_url_shown,
                    status, code ? ": " : "", code ? code : "", desc ? " (" : "",
                    desc ? desc : "", desc ? ")" : "");
    cJSON_Delete(j);
    return rc;
}

static int fetch(struct fy_oauth *o, struct fy_err *err)
{
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    struct fy_ssrf_note guard = {{0}};
    struct fy_buf form, resp;
    long status = 0;
    CURLcode cc;
    cJSON *j = NULL;
    const cJSON *at, *tt, *ei, *rt;
    int64_t life_ms = 3600000, now;
    int rc = FY_OK;

    if (e == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    fy_buf_init(&form, 16384);
    fy_buf_init(&resp, RESPONSE_MAX);
    if (o->c.grant == FY_OAUTH_CLIENT_CREDENTIALS) {
        form_add(e, &form, "grant_type", "client_credentials");
    } else {
        form_add(e, &form, "grant_type", "refresh_token");
        form_add(e, &form, "refresh_token", o->refresh);
    }
    form_add(e, &form, "scope", o->c.scope);
    form_add(e, &form, "audience", o->c.audience);
    if (o->c.client_auth_post || o->c.client_secret == NULL) {
        form_add(e, &form, "client_id", o->c.client_id);
        form_add(e, &form, "client_secret", o->c.client_secret);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, o->c.client_id);
        curl_easy_setopt(e, CURLOPT_PASSWORD, o->c.client_secret);
    }
    h = curl_slist_append(h, "Accept: application/json");
    curl_easy_setopt(e, CURLOPT_URL, o->c.token_url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, form.data != NULL ? form.data : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)form.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->c.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->c.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ferry-webhook/0.1");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
    if (o->c.ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, o->c.ca_file);
    }
    if (o->c.cert_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, o->c.cert_file);
    }
    if (o->c.key_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, o->c.key_file);
    }
    if (!o->c.allow_private) {
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, fy_ssrf_open_socket);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &guard);
    }
    cc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    if (form.data != NULL) {
        memset(form.data, 0, form.len);
    }
    fy_buf_free(&form);
    o->fetches++;

    if (cc != CURLE_OK) {
        rc = fy_err_set(err, FY_EIO, "token endpoint %s: %s", o->token_url_shown,
                        guard.why[0] != '\0' ? guard.why : curl_easy_strerror(cc));
        goto out;
    }
    if (status < 200 || status >= 300) {
        rc = refused(o, status, &resp, err);
        goto out;
    }
    j = cJSON_ParseWithLength(resp.data != NULL ? resp.data : "", resp.len);
    at = cJSON_GetObjectItemCaseSensitive(j, "access_token");
    tt = cJSON_GetObjectItemCaseSensitive(j, "token_type");
    ei = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
    rt = cJSON_GetObjectItemCaseSensitive(j, "refresh_token");
    if (!cJSON_IsString(at) || at->valuestring[0] == '\0') {
        rc = fy_err_set(err, FY_EIO, "token endpoint %s: HTTP %ld without an access_token "
                        "(expected a JSON token response, RFC 6749 5.1)", o->token_url_shown,
                        status);
        goto out;
    }
    if (cJSON_IsString(tt) && strcasecmp(tt->valuestring, "bearer") != 0) {
        rc = fy_err_set(err, FY_EIO, "token endpoint %s: token_type '%.40s' is not supported "
                        "(expected Bearer)", o->token_url_shown, tt->valuestring);
        goto out;
    }
    if (cJSON_IsNumber(ei) && ei->valuedouble > 0) {
        life_ms = (int64_t)(ei->valuedouble * 1000);
    } else if (cJSON_IsString(ei) && atoll(ei->valuestring) > 0) {
        life_ms = atoll(ei->valuestring) * 1000;
    }
    if (cJSON_IsString(rt) && rt->valuestring[0] != '\0' &&
        (o->refresh == NULL || strcmp(rt->valuestring, o->refresh) != 0)) {
        /* rotation: keep the new refresh token durably before using anything it paid for */
        struct fy_err perr = {0};
        if (o->c.state_file != NULL && persist(o, rt->valuestring, &perr) != FY_OK) {
            fy_log_error(o->c.tag, "the rotated refresh token could not be saved (%s): Ferry "
                         "keeps it in memory, but after a restart it would start with a token "
                         "the server has already used", perr.msg);
        }
        free_secret(o->refresh);
        o->refresh = strdup(rt->valuestring);
    }
    free_secret(o->access);
    o->access = strdup(at->valuestring);
    if (o->access == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    now = fy_clock_wall_ms();
    o->expires_ms = now + life_ms;
    o->renew_ms = o->expires_ms - (life_ms / 10 < 30000 ? life_ms / 10 : 30000);
    fy_log_info(o->c.tag, "OAuth2 access token fetched from %s, valid %lld s",
                o->token_url_shown, (long long)(life_ms / 1000));
out:
    if (j != NULL) {
        /* wipe the tokens in the parsed copy and in the response */
        cJSON *it;
        cJSON_ArrayForEach(it, j)
        {
            if (cJSON_IsString(it)) {
                memset(it->valuestring, 0, strlen(it->valuestring));
            }
        }
        cJSON_Delete(j);
    }
    if (resp.data != NULL) {
        memset(resp.data, 0, resp.len);
    }
    fy_buf_free(&resp);
    return rc;
}

int fy_oauth_token(struct fy_oauth *o, const char **token, int *fresh, struct fy_err *err)
{
    *fresh = 0;
    if (o->access == NULL || fy_clock_wall_ms() >= o->renew_ms) {
        if (fetch(o, err) != FY_OK) {
            /* a token that is still valid keeps serving while the refresh fails */
            if (o->access != NULL && fy_clock_wall_ms() < o->expires_ms) {
                fy_log_warn(o->c.tag, "early token refresh failed, the current one is valid "
                            "for %lld s more: %s", (long long)((o->expires_ms - fy_clock_wall_ms()) / 1000),
                            err->msg);
                *token = o->access;
                return FY_OK;
            }
            return err->code;
        }
        *fresh = 1;
    }
    *token = o->access;
    return FY_OK;
}
