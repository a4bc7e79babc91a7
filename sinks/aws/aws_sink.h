/* aws_sink.h - what the AWS sinks (sqs, kinesis) share: the endpoint, region and credential
 * options, one signed JSON-protocol request per batch on the HTTP request queue
 * (sinks/http_queue.h), the reading of a whole-request failure, and the retry of single
 * records that a batch answer refused.
 *
 * DESIGN: a sink's context starts with `struct fy_aws_sink aws;` and its option table with
 * FY_AWS_OPTS(its type), so the shared options fill this struct. fy_aws_sink_init() runs on
 * the main thread; everything else on the sink's worker thread. Credentials are fetched per
 * request from the chain in core/http/aws.h (cached there). */
#ifndef FY_SINK_AWS_H
#define FY_SINK_AWS_H

#include "core/err.h"
#include "core/http/aws.h"
#include "core/http/http.h"
#include "core/opts.h"
#include "sinks/aws/aws_body.h"
#include "sinks/http_queue.h"
#include "sinks/sink.h"

#include <stddef.h>
#include <stdint.h>

struct fy_aws_sink {
    /* options (FY_AWS_OPTS) */
    char *region, *endpoint;
    char *access_key_id, *secret_access_key, *session_token;
    char *profile, *credentials_file, *sts_endpoint;
    char *ca_file;
    int allow_private, allow_insecure;
    int64_t timeout_ms, connect_timeout_ms, parallel, batch_max_wait_ms, entry_retries;
    /* state */
    struct fy_sink *snk;
    const char *service;        /* "sqs", "kinesis": the SigV4 service name */
    const char *target;         /* X-Amz-Target value (service.Action) */
    const char *content_type;
    char url[512];              /* the endpoint requests go to */
    char url_shown[512];        /* the same, redacted for messages */
    struct fy_http_transport transport;
    struct fy_aws_auth *auth;
    struct fy_hq *q;
};

#define FY_AWS_OPTS(type, parallel_def)                                                         \
    FY_OPT_STR("region", NULL, 0, offsetof(type, aws.region),                                   \
               "AWS region (e.g. eu-west-1); default $AWS_REGION, then $AWS_DEFAULT_REGION"),   \
    FY_OPT_STR("endpoint", NULL, 0, offsetof(type, aws.endpoint),                               \
               "endpoint URL instead of https://<service>.<region>.amazonaws.com (VPC "        \
               "endpoints need allow_private_networks: true; LocalStack, moto)"),              \
    FY_OPT_STR("access_key_id", NULL, 0, offsetof(type, aws.access_key_id),                     \
               "access key id; default: $AWS_ACCESS_KEY_ID, the profile, web identity"),        \
    FY_OPT_STR("secret_access_key", NULL, FY_SECRET, offsetof(type, aws.secret_access_key),     \
               "secret access key (use ${file:...})"),                                          \
    FY_OPT_STR("session_token", NULL, FY_SECRET, offsetof(type, aws.session_token),             \
               "session token of temporary credentials"),                                       \
    FY_OPT_STR("profile", NULL, 0, offsetof(type, aws.profile),                                 \
               "profile of the shared credentials file; default $AWS_PROFILE, then default"),   \
    FY_OPT_STR("credentials_file", NULL, 0, offsetof(type, aws.credentials_file),               \
               "shared credentials file; default $AWS_SHARED_CREDENTIALS_FILE, then "           \
               "~/.aws/credentials"),                                                           \
    FY_OPT_STR("sts_endpoint", NULL, 0, offsetof(type, aws.sts_endpoint),                       \
               "STS endpoint for web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN)"),   \
    FY_OPT_STR("ca_file", NULL, 0, offsetof(type, aws.ca_file), "CA bundle"),                  \
    FY_OPT_BOOL("allow_private_networks", "false", offsetof(type, aws.allow_private),           \
                "allow an endpoint on loopback or private addresses (SSRF guard)"),             \
    FY_OPT_BOOL("allow_insecure", "false", offsetof(type, aws.allow_insecure),                  \
                "allow an http:// endpoint (local tests only)"),                                \
    FY_OPT_INT("timeout_ms", "30000", 100, 600000, offsetof(type, aws.timeout_ms),              \
               "whole request"),                                                                \
    FY_OPT_INT("connect_timeout_ms", "10000", 100, 600000,                                      \
               offsetof(type, aws.connect_timeout_ms), "connection set-up"),                    \
    FY_OPT_INT("parallel", parallel_def, 1, 64, offsetof(type, aws.parallel),                   \
               "requests in flight"),                                                           \
    FY_OPT_INT("batch_max_wait_ms", "50", 0, 60000, offsetof(type, aws.batch_max_wait_ms),      \
               "longest wait to fill a batch"),                                                 \
    FY_OPT_INT("entry_retries", "5", 0, 100, offsetof(type, aws.entry_retries),                 \
               "times the sink sends again, alone, a record the service refused inside a "      \
               "batch (throttled, internal error) before the core's retry policy takes over")

/* The shared checks (`ferry check` runs them): region present and well-formed, endpoint
 * https:// (http:// with allow_insecure), SSRF guard, credentials half-set. FY_ECONFIG. */
int fy_aws_sink_check(struct fy_aws_sink *a, const char *service, struct fy_err *err);

/* Check, create the credential chain and the request queue (qc: the sink's batch limits;
 * parallel, linger and resp_max are filled here). service: SigV4 service and endpoint
 * prefix; target: the X-Amz-Target header value. */
int fy_aws_sink_init(struct fy_aws_sink *a, struct fy_sink *snk, const char *service,
                     const char *target, const char *content_type, struct fy_hq_conf *qc,
                     const struct fy_hq_ops *ops, void *arg, struct fy_err *err);
void fy_aws_sink_exit(struct fy_aws_sink *a);
/* The plugin's poll, drain and exit for a context that starts with struct fy_aws_sink. */
void fy_aws_sink_poll(void *ctx, int timeout_ms);
int fy_aws_sink_drain(void *ctx, int timeout_ms);
void fy_aws_sink_exit_ctx(void *ctx);

/* In a sink's start: sign and set up the POST of b->req (filled by the sink) to the endpoint.
 * FY_OK, FY_EIO when no credentials (reason "auth: ..."), FY_ENOMEM. */
int fy_aws_sink_request(struct fy_aws_sink *a, struct fy_hq_batch *b, CURL **easy,
                        char *reason, size_t rsize);

/* In a sink's done, for an answer that is not a 2xx (or no answer): complete or keep every
 * record of b. parse reads the service's error body. Returns 1 when it settled b, 0 for a 2xx
 * answer the sink reads itself. */
int fy_aws_sink_failed(struct fy_aws_sink *a, struct fy_hq_batch *b, CURLcode result,
                       long status,
                       int (*parse)(const char *, size_t, int, struct fy_aws_result *,
                                    struct fy_err *));

typedef int (*fy_aws_error_parse_fn)(const char *, size_t, int, struct fy_aws_result *,
                                     struct fy_err *);
typedef int (*fy_aws_batch_result_fn)(const char *, size_t, size_t, struct fy_aws_result *,
                                      struct fy_err *);

/* A sink's whole done callback: a failed request through fy_aws_sink_failed (error_parse),
 * else the 2xx batch answer read by batch_result (action names it in the warning logged
 * when the answer is incomplete) and every record settled by fy_aws_sink_settle. */
void fy_aws_sink_done(struct fy_aws_sink *a, struct fy_hq_batch *b, CURLcode result,
                      long status, fy_aws_error_parse_fn error_parse,
                      fy_aws_batch_result_fn batch_result, const char *action);

/* In a sink's done, one record's outcome from a 2xx batch answer: OK and REJECT complete it;
 * RETRY sends it again alone (up to entry_retries, with back-off; its lane stays held), then
 * hands it to the core as RETRY. */
void fy_aws_sink_settle(struct fy_aws_sink *a, struct fy_hq_batch *b, size_t i,
                        const struct fy_aws_result *r);

/* A record rebuilt from a queue item (for the body builders). */
void fy_aws_item_record(const struct fy_hq_item *it, struct fy_record *rec);

#endif
