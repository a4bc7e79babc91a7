/* jwt.c - JWS compact verification with a pinned algorithm (see jwt.h).
 *
 * DESIGN: the header is decoded and its "alg" compared with the key's before any signature
 * work; the signature is checked before any claim is trusted. HS256 compares with
 * CRYPTO_memcmp (constant time). ES256 signatures are raw R||S (64 bytes) and are turned into
 * DER for EVP. Error texts never contain token or key bytes. */
#include "core/http/jwt.h"

#include "core/b64.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOKEN 8192

enum fy_jwt_alg fy_jwt_alg_parse(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    if (strcmp(s, "HS256") == 0) {
        return FY_JWT_HS256;
    }
    if (strcmp(s, "RS256") == 0) {
        return FY_JWT_RS256;
    }
    if (strcmp(s, "ES256") == 0) {
        return FY_JWT_ES256;
    }
    return 0;
}

static const char *alg_name(enum fy_jwt_alg a)
{
    return a == FY_JWT_HS256 ? "HS256" : a == FY_JWT_RS256 ? "RS256" : "ES256";
}

int fy_jwt_key_load(struct fy_jwt_key *k, enum fy_jwt_alg alg, const void *material,
                    size_t len, struct fy_err *err)
{
    BIO *bio;
    EVP_PKEY *pk;

    memset(k, 0, sizeof(*k));
    k->alg = alg;
    if (alg == FY_JWT_HS256) {
        if (len < 32) {
            return fy_err_set(err, FY_ECONFIG, "HS256 secret is %zu bytes; at least 32 needed",
                              len);
        }
        k->secret = malloc(len);
        if (k->secret == NULL) {
            return fy_err_set(err, FY_ENOMEM, "out of memory");
        }
        memcpy(k->secret, material, len);
        k->secret_len = len;
        return FY_OK;
    }
    if (alg != FY_JWT_RS256 && alg != FY_JWT_ES256) {
        return fy_err_set(err, FY_ECONFIG, "unsupported JWT algorithm");
    }
    bio = BIO_new_mem_buf(material, (int)len);
    if (bio == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pk == NULL) {
        return fy_err_set(err, FY_ECONFIG, "%s key: not a PEM public key", alg_name(alg));
    }
    if (alg == FY_JWT_RS256 && (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
                                EVP_PKEY_get_bits(pk) < 2048)) {
        EVP_PKEY_free(pk);
        return fy_err_set(err, FY_ECONFIG, "RS256 key: an RSA public key of 2048 bits or "
                          "more is needed");
    }
    if (alg == FY_JWT_ES256) {
        char curve[64] = "";
        size_t cl = 0;
        if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
            !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, curve,
                                            sizeof(curve), &cl) ||
            strcmp(curve, "prime256v1") != 0) {
            EVP_PKEY_free(pk);
            return fy_err_set(err, FY_ECONFIG, "ES256 key: a P-256 EC public key is needed");
        }
    }
    k->pkey = pk;
    return FY_OK;
}

void fy_jwt_key_free(struct fy_jwt_key *k)
{
    if (k == NULL) {
        return;
    }
    if (k->secret != NULL) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

/* Base64url without padding only (RFC 7515 section 2). */
static uint8_t *b64url(const char *s, size_t n, size_t *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '+' || s[i] == '/' || s[i] == '=') {
            return NULL;
        }
    }
    return fy_b64_decode(s, n, out);
}

static int verify_sig(const struct fy_jwt_key *k, const char *input, size_t in_len,
                      const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *md;
    int ok = 0;
    uint8_t *der = NULL;
    int der_len = 0;

    if (k->alg == FY_JWT_HS256) {
        uint8_t mac[EVP_MAX_MD_SIZE];
        unsigned ml = 0;
        if (HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const uint8_t *)input, in_len,
                 mac, &ml) == NULL) {
            return 0;
        }
        return sig_len == ml && CRYPTO_memcmp(mac, sig, ml) == 0;
    }
    if (k->alg == FY_JWT_ES256) {
        ECDSA_SIG *es;
        BIGNUM *r, *s;
        if (sig_len != 64) {
            return 0;
        }
        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig, 32, NULL);
        s = BN_bin2bn(sig + 32, 32, NULL);
        if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            return 0;
        }
        der_len = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (der_len <= 0) {
            return 0;
        }
        sig = der;
        sig_len = (size_t)der_len;
    }
    md = EVP_MD_CTX_new();
    if (md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1) {
        ok = EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)input, in_len) == 1;
    }
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

static int aud_matches(const cJSON *aud, const char *want)
{
    const cJSON *a;

    if (cJSON_IsString(aud)) {
        return strcmp(aud->valuestring, want) == 0;
    }
    if (cJSON_IsArray(aud)) {
        cJSON_ArrayForEach(a, aud) {
            if (cJSON_IsString(a) && strcmp(a->valuestring, want) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static int check_claims(const cJSON *c, const struct fy_jwt_check *chk, struct fy_err *err)
{
    int64_t now = chk->now_s != 0 ? chk->now_s : (int64_t)time(NULL);
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(c, "nbf");
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(c, "iss");
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(c, "aud");

    if (exp != NULL && !cJSON_IsNumber(exp)) {
        return fy_err_set(err, FY_EREJECT, "token 'exp' is not a number");
    }
    if (exp != NULL && (double)now > exp->valuedouble + (double)chk->leeway_s) {
        return fy_err_set(err, FY_EREJECT, "token expired");
    }
    if (nbf != NULL && (!cJSON_IsNumber(nbf) ||
                        (double)now + (double)chk->leeway_s < nbf->valuedouble)) {
        return fy_err_set(err, FY_EREJECT, "token not valid yet (nbf)");
    }
    if (chk->iss != NULL && (!cJSON_IsString(iss) || strcmp(iss->valuestring, chk->iss) != 0)) {
        return fy_err_set(err, FY_EREJECT, "token issuer does not match");
    }
    if (chk->aud != NULL && !aud_matches(aud, chk->aud)) {
        return fy_err_set(err, FY_EREJECT, "token audience does not match");
    }
    return FY_OK;
}

int fy_jwt_verify(const struct fy_jwt_key *k, const char *tok, size_t len,
                  const struct fy_jwt_check *chk, char *sub, size_t sub_size,
                  struct fy_err *err)
{
    const char *d1, *d2;
    uint8_t *hdr_raw = NULL, *pl_raw = NULL, *sig = NULL;
    size_t hn = 0, pn = 0, sn = 0;
    cJSON *hdr = NULL, *pl = NULL;
    const cJSON *alg, *s;
    int rc = FY_EREJECT;

    if (len == 0 || len > MAX_TOKEN) {
        return fy_err_set(err, FY_EREJECT, "token missing or too long");
    }
    d1 = memchr(tok, '.', len);
    d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL) {
        return fy_err_set(err, FY_EREJECT, "token is not a compact JWS (three parts)");
    }
    hdr_raw = b64url(tok, (size_t)(d1 - tok), &hn);
    if (hdr_raw == NULL || (hdr = cJSON_ParseWithLength((const char *)hdr_raw, hn)) == NULL ||
        !cJSON_IsObject(hdr)) {
        fy_err_set(err, FY_EREJECT, "token header is not base64url JSON");
        goto out;
    }
    alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    if (!cJSON_IsString(alg) || fy_jwt_alg_parse(alg->valuestring) != k->alg) {
        fy_err_set(err, FY_EREJECT, "token algorithm is not the key's %s", alg_name(k->alg));
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(hdr, "crit") != NULL) {
        fy_err_set(err, FY_EREJECT, "token has 'crit' header parameters (not supported)");
        goto out;
    }
    sig = b64url(d2 + 1, len - (size_t)(d2 + 1 - tok), &sn);
    if (sig == NULL || sn == 0) {
        fy_err_set(err, FY_EREJECT, "token signature is not base64url");
        goto out;
    }
    if (!verify_sig(k, tok, (size_t)(d2 - tok), sig, sn)) {
        fy_err_set(err, FY_EREJECT, "token signature does not verify");
        goto out;
    }
    pl_raw = b64url(d1 + 1, (size_t)(d2 - d1 - 1), &pn);
    if (pl_raw == NULL || (pl = cJSON_ParseWithLength((const char *)pl_raw, pn)) == NULL ||
        !cJSON_IsObject(pl)) {
        fy_err_set(err, FY_EREJECT, "token claims are not a JSON object");
        goto out;
    }
    rc = check_claims(pl, chk, err);
    if (rc == FY_OK && sub != NULL && sub_size > 0) {
        s = cJSON_GetObjectItemCaseSensitive(pl, "sub");
        snprintf(sub, sub_size, "%s", cJSON_IsString(s) ? s->valuestring : "");
    }
out:
    cJSON_Delete(hdr);
    cJSON_Delete(pl);
    free(hdr_raw);
    free(pl_raw);
    free(sig);
    return rc;
}
