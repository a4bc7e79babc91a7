/* webhook.h - the webhook sink's private parts, shared by its three files:
 *   webhook_conf.c  options, `ferry check` validation, set-up (signing key, OAuth2, pins)
 *   webhook_body.c  URL/header templates per record, request bodies, Standard Webhooks signing
 *   webhook.c       the sink: records into the shared HTTP request queue, answers to outcomes
 */
#ifndef FY_SINK_WEBHOOK_H
#define FY_SINK_WEBHOOK_H

#include "core/buf.h"
#include "core/err.h"
#include "core/http/http.h"
#include "core/http/oauth.h"
#include "core/opts.h"
#include "core/record.h"
#include "sinks/http_queue.h"
#include "sinks/sink.h"

#include <stddef.h>
#include <stdint.h>

enum { WH_AUTH_NONE, WH_AUTH_BASIC, WH_AUTH_OAUTH_CC, WH_AUTH_OAUTH_REFRESH };
enum { WH_F_ARRAY, WH_F_NDJSON, WH_F_SMARTCLEAN, WH_F_SINGLE };
enum { WH_GZIP_NONE, WH_GZIP };
enum { WH_ORDER_PER_DEVICE, WH_ORDER_NONE };

/* The rendered URL and header values of one record (templated sinks only): the queue's
 * per-target data. */
struct wh_target {
    char *url;  /* rendered URL */
    char **hv;  /* rendered header values, parallel to webhook.headers */
    size_t nh;
};

struct webhook {
    /* options (webhook_conf.c's table fills them) */
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
    int order;                          /* WH_ORDER_*: lanes per device key or none */
    int64_t request_retries;            /* a failed request sent again from the queue */
    int allow_private;
    struct fy_kv_list resolve;
    /* state */
    struct fy_sink *snk;
    struct fy_hq *q;
    struct curl_slist *resolve_list;    /* CURLOPT_RESOLVE entries "host:port:address" */
    struct fy_http_transport transport; /* borrowed pointers into the options above */
    char url_shown[512];                /* url with user-info and query values hidden */
    int templated;                      /* url or a header uses {fields} of the envelope */
    unsigned char key[256];             /* signing key */
    size_t key_len;
    struct fy_oauth *oauth;             /* OAuth2 token source, or NULL */
    char token_error[512];              /* why the last token fetch failed */
    uint32_t rng;                       /* back-off jitter of request_retries */
};

extern const struct fy_opt fy_webhook_opts[];

/* webhook_conf.c */
int fy_webhook_check(void *ctx, struct fy_err *err);
/* Check, then set up signing key, resolve pins, OAuth2 and the transport. */
int fy_webhook_setup(struct webhook *w, struct fy_err *err);

/* webhook_body.c */
/* Render rec's URL and header values: *t (caller frees with fy_webhook_target_free) and the
 * target key (malloc'ed) batches are grouped by. FY_OK, FY_EINVAL (reject the record, reason
 * in err) or FY_ENOMEM. */
int fy_webhook_render(const struct webhook *w, const struct fy_record *rec,
                      struct wh_target **t, char **key, struct fy_err *err);
void fy_webhook_target_free(void *t);
void *fy_webhook_target_copy(const void *t);
/* The request body of b in w's format into b->req. FY_OK or FY_ETOOBIG/FY_ENOMEM. */
int fy_webhook_body(const struct webhook *w, struct fy_hq_batch *b);
/* Standard Webhooks headers over b->req appended to h. */
struct curl_slist *fy_webhook_sign(const struct webhook *w, const struct fy_hq_batch *b,
                                   struct curl_slist *h);

#endif
