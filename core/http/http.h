/* http.h - what every HTTP-speaking plugin needs besides its own request body: one easy handle
 * set up the same safe way, one classification of an answer, Retry-After, gzip bodies and AWS
 * SigV4. The webhook sink uses it today; cloud-queue sinks build on the same calls
 * (docs/http.md). curl_global_init() is the caller's: once, in main(), before any thread. */
#ifndef FY_HTTP_H
#define FY_HTTP_H

#include "core/buf.h"
#include "core/err.h"
#include "core/http/ssrf.h"

#include <curl/curl.h>
#include <stdint.h>

/* Transport settings of one endpoint (borrowed; valid while handles set up with it live). */
struct fy_http_transport {
    const char *ca_file, *cert_file, *key_file; /* NULL = system CAs / no client certificate */
    int64_t timeout_ms, connect_timeout_ms;
    int allow_private;                /* 0: the SSRF guard refuses internal addresses */
    struct curl_slist *resolve;       /* CURLOPT_RESOLVE pins, or NULL */
    const char *user_agent;
};

/* Set up easy for a request under t: TLS verification always on (peer and host), no proxy
 * from the environment, no redirects followed, HTTP/2 over TLS when offered, time limits, no
 * signals, and the SSRF guard at connect time writing its reason into note (when
 * !t->allow_private). FY_OK or FY_EINVAL. */
int fy_http_setup(CURL *easy, const struct fy_http_transport *t, struct fy_ssrf_note *note);

/* 1 when url's host (parsed by curl_url(), so user-info, ports, IPv6 brackets and
 * IPv4-mapped forms are read as curl reads them) is an internal IP literal; 0 for a public
 * literal or a name (names are checked after DNS); -1 when url cannot be parsed. */
int fy_http_url_internal(const char *url);

/* What an answer means for the record(s) it carried. The sink maps these onto its result
 * (OK / RETRY / REJECT, docs/reliability.md "HTTP sinks"). */
enum fy_http_class {
    FY_HTTP_OK = 0,    /* 2xx */
    FY_HTTP_RETRY,     /* transport error, time-out, 408, 429, 5xx */
    FY_HTTP_REJECT,    /* other 3xx/4xx: permanent; redirects are never followed */
    FY_HTTP_DISABLE,   /* 410 Gone: stop sending to this endpoint, keep the records */
    FY_HTTP_TOO_LARGE, /* 413: split the batch */
    FY_HTTP_BLOCKED    /* the SSRF guard refused the connection */
};

/* Classify a finished request: result from CURLMsg, status from CURLINFO_RESPONSE_CODE,
 * blocked when the SSRF note holds a reason. */
enum fy_http_class fy_http_classify(CURLcode result, long status, int blocked);

/* Retry-After (delta-seconds or an HTTP-date, RFC 9110 10.2.3) in ms from now_wall_ms, capped
 * at 1 h; -1 when v is NULL, empty or invalid. */
int64_t fy_http_retry_after_ms(const char *v, int64_t now_wall_ms);

/* The value of header name in one header line from CURLOPT_HEADERFUNCTION (line, len bytes,
 * not NUL-terminated), without leading blanks and the CR LF, into out; 1 when it was that
 * header. */
int fy_http_header_value(const char *line, size_t len, const char *name, char *out,
                         size_t out_size);

/* Replace body with its gzip encoding (Content-Encoding: gzip). FY_OK or FY_ENOMEM (body
 * unchanged). */
int fy_http_gzip(struct fy_buf *body);

/* Sign requests on easy with AWS Signature Version 4 (CURLOPT_AWS_SIGV4): provider
 * "aws:amz:<region>:<service>" (e.g. "aws:amz:eu-west-1:sqs"), the access key id and secret as
 * user and password, and the session token header when set. Headers are appended to *headers
 * (the caller frees the list after the request). FY_OK or FY_EINVAL. */
int fy_http_sigv4(CURL *easy, const char *region, const char *service, const char *key_id,
                  const char *secret, const char *session_token, struct curl_slist **headers);

#endif
