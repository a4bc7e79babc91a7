/* aws.h - AWS credentials for the SQS and Kinesis sinks: the credential chain (the sink's
 * config, the environment, the shared credentials file, web identity through STS) and a cache
 * that renews temporary credentials before they expire. Requests are then signed with
 * fy_http_sigv4() (http.h); nothing here does any cryptography.
 *
 * DESIGN: one resolver per sink instance. fy_aws_auth_create() runs on the main thread and
 * picks the source, the first complete one of: config (key id and secret) -> environment
 * (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN]) -> the profile's section of
 * the shared credentials file -> web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 * [+ AWS_ROLE_SESSION_NAME]). Config, environment and profile credentials are read once and do
 * not expire. Web identity credentials are fetched lazily, at the first fy_aws_auth_get(),
 * with an unsigned STS AssumeRoleWithWebIdentity request (a synchronous curl easy request on
 * the sink's transport, under the SSRF guard), and fetched again when less than 5 minutes of
 * their lifetime remain; the token file is read again for every request, as EKS rotates it.
 * fy_aws_auth_get() and fy_aws_auth_describe() may be called from any thread: one mutex per
 * resolver covers the cache, and is held across the STS request (callers that need
 * credentials at that moment would wait for them anyway). Secrets, session tokens and the
 * web identity token never reach a log line or an error message, and are wiped before their
 * memory is freed. */
#ifndef FY_AWS_H
#define FY_AWS_H

#include "core/err.h"
#include "core/http/http.h"

#include <stdint.h>

/* Renew temporary credentials when less than this is left of their lifetime. */
#define FY_AWS_RENEW_BEFORE_MS (5 * 60 * 1000)

/* One set of credentials, as fy_http_sigv4() takes them. */
struct fy_aws_creds {
    char key_id[128];
    char secret[256];
    char token[2048];        /* session token, "" when none */
    int64_t expires_wall_ms; /* Unix ms (wall clock) when they expire; 0 = they do not */
    char source[32];         /* "config", "env", "profile:<name>" or "web-identity" */
};

/* Look up an environment variable; NULL when unset. The returned string must stay valid until
 * fy_aws_auth_create() returns (getenv()'s own contract, without a setenv() meanwhile). */
typedef const char *(*fy_aws_getenv_fn)(const char *name, void *arg);

/* What the resolver is created from. Every field may be NULL / 0; strings are copied. */
struct fy_aws_auth_conf {
    /* from the sink's own config: used when both key_id and secret are set */
    const char *key_id, *secret, *session_token;
    const char *profile;          /* NULL: $AWS_PROFILE, then "default" */
    const char *credentials_file; /* NULL: $AWS_SHARED_CREDENTIALS_FILE, then
                                   * $HOME/.aws/credentials ("~/" is expanded) */
    const char *region;           /* NULL: $AWS_REGION, then $AWS_DEFAULT_REGION */
    const char *sts_endpoint;     /* NULL: https://sts.<region>.amazonaws.com */
    /* transport of the STS request (borrowed: must outlive the resolver); NULL: system CAs,
     * 10 s time-out, SSRF guard on */
    const struct fy_http_transport *transport;
    fy_aws_getenv_fn getenv_fn;   /* NULL: getenv() */
    void *getenv_arg;
    const char *tag;              /* log tag of the sink; NULL: "aws" */
};

struct fy_aws_auth;

/* Pick the credential source for c (see DESIGN) and read the static ones. NULL + err:
 * FY_EINVAL when c is NULL; FY_ECONFIG (the config error code, `ferry` exits 2) when no
 * source is complete, the config has a key id without a secret or the reverse, a profile
 * asked for explicitly (c->profile or $AWS_PROFILE) is not in the credentials file, the
 * profile's section lacks a key, the file cannot be read, or web identity has no region for
 * its STS endpoint: the message names what was looked at and what was missing, and the file
 * path and profile; FY_ENOMEM. A credentials file that does not exist is not an error. Caller
 * frees with fy_aws_auth_destroy(). */
struct fy_aws_auth *fy_aws_auth_create(const struct fy_aws_auth_conf *c, struct fy_err *err);

/* Wipe the cached credentials and free a. NULL-safe. */
void fy_aws_auth_destroy(struct fy_aws_auth *a);

/* Copy valid credentials into *out (the caller wipes them with fy_aws_creds_clear() when
 * done), fetching web identity credentials when there are none yet or less than
 * FY_AWS_RENEW_BEFORE_MS of their lifetime remains. A failed early renewal keeps serving the
 * credentials in hand while they are valid (logged, retried at most every 10 s). Thread-safe.
 * FY_OK; FY_EINVAL for NULL arguments; FY_EAGAIN (retryable: the caller backs off and calls
 * again) when STS could not be reached or refused, with the HTTP status and STS's error Code
 * ("HTTP 403 InvalidIdentityToken: ...") in the message, or the token file could not be read;
 * FY_ETOOBIG when STS answers with a field longer than struct fy_aws_creds holds. out is
 * cleared on error. */
int fy_aws_auth_get(struct fy_aws_auth *a, struct fy_aws_creds *out, struct fy_err *err);

/* One line for logs, into out (always NUL-terminated): "credentials from profile:default
 * (key AKIA...WXYZ)" with only the key id's 4-letter type prefix and its last 4 characters;
 * web identity adds the role, the session name and the expiry. Thread-safe. Returns out. */
char *fy_aws_auth_describe(struct fy_aws_auth *a, char *out, size_t size);

/* STS requests sent so far (for tests and logs). Thread-safe. */
uint64_t fy_aws_auth_fetches(struct fy_aws_auth *a);

/* Wipe c (the compiler may not drop it as a dead store). NULL-safe. */
void fy_aws_creds_clear(struct fy_aws_creds *c);

/* The key id as logs may show it: "AKIA...WXYZ" (type prefix and last 4), "..." + last 4
 * when it has no such prefix, "(none)" when empty. Returns out. */
char *fy_aws_key_hint(const char *key_id, char *out, size_t size);

#endif
