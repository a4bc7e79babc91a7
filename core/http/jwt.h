/* jwt.h - JSON Web Token (RFC 7519, JWS compact form RFC 7515) verification with the
 * algorithm pinned per key: HS256 (shared secret), RS256 and ES256 (PEM public key), through
 * OpenSSL EVP. The token's own "alg" must equal the key's; "none" and any other value are
 * refused, so an RS256 public key can never be used as an HS256 secret (algorithm confusion). */
#ifndef FY_JWT_H
#define FY_JWT_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

enum fy_jwt_alg { FY_JWT_HS256 = 1, FY_JWT_RS256, FY_JWT_ES256 };

struct fy_jwt_key {
    enum fy_jwt_alg alg;
    uint8_t *secret;     /* HS256 */
    size_t secret_len;
    void *pkey;          /* EVP_PKEY *, RS256/ES256 */
};

/* What the claims must satisfy. iss/aud NULL: not checked. */
struct fy_jwt_check {
    const char *iss;
    const char *aud;
    int64_t leeway_s;    /* allowed clock skew for exp/nbf */
    int64_t now_s;       /* Unix seconds; 0 = time(NULL) */
};

/* "HS256", "RS256", "ES256" -> alg, or 0. */
enum fy_jwt_alg fy_jwt_alg_parse(const char *s);

/* HS256: material is the secret bytes; RS256/ES256: a PEM public key (an RSA key for RS256,
 * a P-256 key for ES256; anything else is refused). */
int fy_jwt_key_load(struct fy_jwt_key *k, enum fy_jwt_alg alg, const void *material,
                    size_t len, struct fy_err *err);
void fy_jwt_key_free(struct fy_jwt_key *k);   /* NULL-safe */

/* Verify tok (len bytes) against k and chk. FY_OK, or FY_EREJECT with the reason in err (no
 * token or key bytes in it). On FY_OK and sub != NULL, the "sub" claim (or "") is copied. */
int fy_jwt_verify(const struct fy_jwt_key *k, const char *tok, size_t len,
                  const struct fy_jwt_check *chk, char *sub, size_t sub_size,
                  struct fy_err *err);

#endif
