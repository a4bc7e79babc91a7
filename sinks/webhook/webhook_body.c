/* webhook_body.c - what the webhook sink sends: the URL and header values of each record
 * (templates over envelope fields, core/template.h), the request body in the configured
 * format, and the Standard Webhooks signature over it. */
#include "sinks/webhook/webhook.h"

#include "core/b64.h"
#include "core/clock.h"
#include "sinks/record_template.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Render the URL and header values of rec. */
int fy_webhook_render(const struct webhook *w, const struct fy_record *rec,
                      struct wh_target **tp, char **keyp, struct fy_err *err)
{
    cJSON *env = cJSON_ParseWithLength(rec->body, rec->body_len);
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(env, "obj");
    struct wh_target *t = calloc(1, sizeof(*t));
    struct fy_buf u, key;
    size_t i;
    int rc;

    *tp = NULL;
    *keyp = NULL;
    fy_buf_init(&u, 8192);
    fy_buf_init(&key, 16384);
    rc = t != NULL ? fy_sink_tmpl_expand(w->url, rec, obj, FY_TEMPLATE_URL, &u, err)
                   : fy_err_set(err, FY_ENOMEM, "out of memory");
    if (rc == FY_OK) {
        t->nh = w->headers.n;
        t->hv = calloc(w->headers.n + 1, sizeof(char *));
        if (t->hv == NULL) {
            rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        }
    }
    if (rc == FY_OK) {
        fy_buf_add(&key, u.data, u.len - 1);
    }
    for (i = 0; rc == FY_OK && i < w->headers.n; i++) {
        struct fy_buf v;
        fy_buf_init(&v, 1024);
        rc = fy_sink_tmpl_expand(w->headers.items[i].value, rec, obj, FY_TEMPLATE_HEADER, &v,
                                 err);
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
        *keyp = strdup(key.data);
        if (t->url == NULL || *keyp == NULL) {
            rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        }
    } else if (rc == FY_OK) {
        rc = fy_err_set(err, FY_EINVAL, "url or headers too long after expansion");
    }
    fy_buf_free(&u);
    fy_buf_free(&key);
    cJSON_Delete(env);
    if (rc != FY_OK) {
        fy_webhook_target_free(t);
        free(*keyp);
        *keyp = NULL;
        return rc;
    }
    *tp = t;
    return FY_OK;
}

void fy_webhook_target_free(void *p)
{
    struct wh_target *t = p;
    size_t i;

    if (t == NULL) {
        return;
    }
    for (i = 0; t->hv != NULL && i < t->nh; i++) {
        free(t->hv[i]);
    }
    free(t->hv);
    free(t->url);
    free(t);
}

void *fy_webhook_target_copy(const void *p)
{
    const struct wh_target *from = p;
    struct wh_target *to = calloc(1, sizeof(*to));
    size_t i;

    if (to == NULL) {
        return NULL;
    }
    to->nh = from->nh;
    to->url = strdup(from->url);
    to->hv = calloc(from->nh + 1, sizeof(char *));
    if (to->url == NULL || to->hv == NULL) {
        fy_webhook_target_free(to);
        return NULL;
    }
    for (i = 0; i < from->nh; i++) {
        if ((to->hv[i] = strdup(from->hv[i])) == NULL) {
            fy_webhook_target_free(to);
            return NULL;
        }
    }
    return to;
}

int fy_webhook_body(const struct webhook *w, struct fy_hq_batch *b)
{
    size_t i;
    int rc = FY_OK;

    fy_buf_init(&b->req, (size_t)w->batch_max_bytes * 2 + 1024);
    if (w->format == WH_F_ARRAY || w->format == WH_F_SMARTCLEAN) {
        rc = fy_buf_add(&b->req, "[", 1);
    }
    for (i = 0; rc == FY_OK && i < b->n; i++) {
        const struct fy_hq_item *it = &b->items[i];
        if (i > 0 && (w->format == WH_F_ARRAY || w->format == WH_F_SMARTCLEAN)) {
            rc = fy_buf_add(&b->req, ",", 1);
        }
        if (rc == FY_OK && w->format == WH_F_SMARTCLEAN) {
            /* each envelope as a JSON string (SmartClean's "JSON-serialized objects") */
            cJSON *s = cJSON_CreateString(it->body);
            char *q = s ? cJSON_PrintUnformatted(s) : NULL;
            rc = q ? fy_buf_addstr(&b->req, q) : FY_ENOMEM;
            free(q);
            cJSON_Delete(s);
        } else if (rc == FY_OK) {
            rc = fy_buf_add(&b->req, it->body, it->len);
            if (rc == FY_OK && w->format == WH_F_NDJSON) {
                rc = fy_buf_add(&b->req, "\n", 1);
            }
        }
    }
    if (rc == FY_OK && (w->format == WH_F_ARRAY || w->format == WH_F_SMARTCLEAN)) {
        rc = fy_buf_add(&b->req, "]", 1);
    }
    return rc;
}

/* Standard Webhooks: webhook-id (stable across retries), webhook-timestamp (this attempt),
 * webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>". */
struct curl_slist *fy_webhook_sign(const struct webhook *w, const struct fy_hq_batch *b,
                                   struct curl_slist *h)
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

