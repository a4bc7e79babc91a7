/* oauth.h - OAuth2 access tokens for the webhook sink: client credentials (RFC 6749 4.4) and
 * refresh tokens (RFC 6749 6) with rotation persisted to a state file.
 *
 * DESIGN: one token source per sink, used only from the sink's worker thread (no locks). The
 * token is fetched lazily and synchronously (a curl easy request with the sink's TLS options
 * and the SSRF guard) when a request needs one and the cached one is missing or close to
 * expiry: refreshed when less than min(30 s, lifetime / 10) remains. A 401 from the endpoint
 * invalidates the token that was used. A rotated refresh token is written to the state file
 * (temp file, fsync, rename, fsync of the directory, mode 0600) before the new access token
 * is used, so a restart never holds a refresh token the server has already consumed. Tokens
 * and secrets never reach a log line or an error message. */
#ifndef FY_OAUTH_H
#define FY_OAUTH_H

#include "core/err.h"

#include <stdint.h>

enum fy_oauth_grant { FY_OAUTH_CLIENT_CREDENTIALS, FY_OAUTH_REFRESH_TOKEN };

struct fy_oauth_conf {
    enum fy_oauth_grant grant;
    const char *token_url;
    const char *client_id;
    const char *client_secret;  /* may be NULL for a public client (refresh token grant) */
    int client_auth_post;       /* 0: HTTP Basic (client_secret_basic), 1: in the body */
    const char *scope, *audience;
    const char *refresh_token;  /* initial refresh token (refresh grant) */
    const char *state_file;     /* where rotated refresh tokens are kept (refresh grant) */
    /* transport, as the sink's requests */
    const char *ca_file, *cert_file, *key_file;
    int64_t timeout_ms, connect_timeout_ms;
    int allow_private;          /* SSRF guard off */
    const char *tag;            /* log tag of the sink */
};

struct fy_oauth;

/* Copies what it needs of c. Reads the state file when there is one (its refresh token wins
 * over the configured one). NULL + err on a bad state file. */
struct fy_oauth *fy_oauth_create(const struct fy_oauth_conf *c, struct fy_err *err);
void fy_oauth_destroy(struct fy_oauth *o);

/* A valid access token (borrowed until the next call), fetching one when needed; *fresh is set
 * to 1 when it was fetched by this call. FY_OK, or FY_EIO with a reason that names the token
 * endpoint and its answer (never a secret): the caller retries later. */
int fy_oauth_token(struct fy_oauth *o, const char **token, int *fresh, struct fy_err *err);

/* The endpoint refused token (401): forget it if it is still the cached one. */
void fy_oauth_invalidate(struct fy_oauth *o, const char *token);

/* Tokens fetched so far (for tests and logs). */
uint64_t fy_oauth_fetches(const struct fy_oauth *o);

#endif
