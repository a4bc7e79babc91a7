/* test_jwt.c - JWS verification with the RFC 7515 appendix A vectors (A.1 HS256, A.2 RS256,
 * A.3 ES256), plus tampered, expired, not-yet-valid, "alg: none", wrong-key and HS/RS
 * algorithm confusion (the RS256 public key PEM used as an HS256 secret). */
#include "core/b64.h"
#include "core/http/jwt.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_jwt_tests(void);

#define PAYLOAD "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
#define EXP 1300819380

static const char a1_key_b64[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
static const char a1_tok[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." PAYLOAD
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char a2_tok[] =
    "eyJhbGciOiJSUzI1NiJ9." PAYLOAD
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W"
    "2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkS"
    "jtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnv"
    "Wh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
static const char a3_tok[] =
    "eyJhbGciOiJFUzI1NiJ9." PAYLOAD
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/* The JWKs of A.2 and A.3 as PEM public keys. */
static const char rsa_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAofgWCuLjybRlzo0tZWJj\n"
    "NiuSfb4p4fAkd/wWJcyQoTbji9k0l8W26mPddxHmfHQp+Vaw+4qPCJrcS2mJPMEz\n"
    "P1Pt0Bm4d4QlL+yRT+SFd2lZS+pCgNMsD1W/YpRPEwOWvG6b32690r2jZ47soMZo\n"
    "9wGzjb/7OMg0LOL+bSf63kpaSHSXndS5z5rexMdbBYUsLA9e+KXBdQOS+UTo7WTB\n"
    "EMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6/I5IhlJH7aGhyxX\n"
    "FvUK+DWNmoudF8NAco9/h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXp\n"
    "oQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
static const char ec_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n"
    "6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n"
    "-----END PUBLIC KEY-----\n";

static int verify(const struct fy_jwt_key *k, const char *tok, int64_t now, struct fy_err *err)
{
    struct fy_jwt_check chk = {NULL, NULL, 60, now};

    return fy_jwt_verify(k, tok, strlen(tok), &chk, NULL, 0, err);
}

static void load_hs(struct fy_jwt_key *k)
{
    size_t n = 0;
    uint8_t *raw = fy_b64_decode(a1_key_b64, strlen(a1_key_b64), &n);
    struct fy_err err = {0};

    FY_ASSERT(raw != NULL);
    FY_ASSERT_EQ(fy_jwt_key_load(k, FY_JWT_HS256, raw, n, &err), FY_OK);
    free(raw);
}

static void test_vectors(void)
{
    struct fy_jwt_key hs, rs, es;
    struct fy_err err = {0};

    load_hs(&hs);
    FY_ASSERT_EQ(fy_jwt_key_load(&rs, FY_JWT_RS256, rsa_pem, strlen(rsa_pem), &err), FY_OK);
    FY_ASSERT_EQ(fy_jwt_key_load(&es, FY_JWT_ES256, ec_pem, strlen(ec_pem), &err), FY_OK);
    FY_ASSERT_EQ(verify(&hs, a1_tok, EXP - 10, &err), FY_OK);
    FY_ASSERT_EQ(verify(&rs, a2_tok, EXP - 10, &err), FY_OK);
    FY_ASSERT_EQ(verify(&es, a3_tok, EXP - 10, &err), FY_OK);
    /* within the leeway, then past it */
    FY_ASSERT_EQ(verify(&hs, a1_tok, EXP + 59, &err), FY_OK);
    FY_ASSERT_EQ(verify(&hs, a1_tok, EXP + 61, &err), FY_EREJECT);
    FY_ASSERT(strstr(err.msg, "expired") != NULL);
    FY_ASSERT_EQ(verify(&rs, a2_tok, EXP + 61, &err), FY_EREJECT);
    /* a key of the wrong algorithm refuses the token before any signature work */
    FY_ASSERT_EQ(verify(&hs, a2_tok, EXP - 10, &err), FY_EREJECT);
    FY_ASSERT(strstr(err.msg, "algorithm") != NULL);
    FY_ASSERT_EQ(verify(&rs, a3_tok, EXP - 10, &err), FY_EREJECT);
    FY_ASSERT_EQ(verify(&es, a1_tok, EXP - 10, &err), FY_EREJECT);
    fy_jwt_key_free(&hs);
    fy_jwt_key_free(&rs);
    fy_jwt_key_free(&es);
}

static void test_tampered(void)
{
    struct fy_jwt_key hs, rs, es;
    struct fy_err err = {0};
    char t[1024];
    char *p;

    load_hs(&hs);
    FY_ASSERT_EQ(fy_jwt_key_load(&rs, FY_JWT_RS256, rsa_pem, strlen(rsa_pem), &err), FY_OK);
    FY_ASSERT_EQ(fy_jwt_key_load(&es, FY_JWT_ES256, ec_pem, strlen(ec_pem), &err), FY_OK);
    /* one payload character changed */
    snprintf(t, sizeof(t), "%s", a1_tok);
    p = strchr(t, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    FY_ASSERT_EQ(verify(&hs, t, EXP - 10, &err), FY_EREJECT);
    snprintf(t, sizeof(t), "%s", a2_tok);
    p = strchr(t, '.') + 5;
    *p = *p == 'A' ? 'B' : 'A';
    FY_ASSERT_EQ(verify(&rs, t, EXP - 10, &err), FY_EREJECT);
    snprintf(t, sizeof(t), "%s", a3_tok);
    t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A'; /* signature */
    FY_ASSERT_EQ(verify(&es, t, EXP - 10, &err), FY_EREJECT);
    /* alg none, with and without a signature part */
    FY_ASSERT_EQ(verify(&hs, "eyJhbGciOiJub25lIn0." PAYLOAD ".", EXP - 10, &err), FY_EREJECT);
    FY_ASSERT_EQ(verify(&hs, "eyJhbGciOiJub25lIn0." PAYLOAD ".AAAA", EXP - 10, &err),
                 FY_EREJECT);
    /* garbage */
    FY_ASSERT_EQ(verify(&hs, "a.b", EXP - 10, &err), FY_EREJECT);
    FY_ASSERT_EQ(verify(&hs, "", EXP - 10, &err), FY_EREJECT);
    FY_ASSERT_EQ(verify(&hs, "a.b.c.d", EXP - 10, &err), FY_EREJECT);
    fy_jwt_key_free(&hs);
    fy_jwt_key_free(&rs);
    fy_jwt_key_free(&es);
}

/* base64url without padding of n bytes into out */
static void b64url(const uint8_t *p, size_t n, char *out)
{
    char *s = fy_b64_encode(p, n);
    size_t i, j = 0;

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] != '=') {
            out[j++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
        }
    }
    out[j] = '\0';
    free(s);
}

/* HS256 token signed with the RS256 key's PEM text as the HMAC secret: the classic confusion
 * attack. The RS256 key must refuse it (algorithm pinned), and so must an HS256 key. */
static void test_confusion(void)
{
    struct fy_jwt_key rs, hs;
    struct fy_err err = {0};
    const char *input = "eyJhbGciOiJIUzI1NiJ9." PAYLOAD;
    uint8_t mac[32];
    unsigned ml = 0;
    char sig[64], tok[1024];

    HMAC(EVP_sha256(), rsa_pem, (int)strlen(rsa_pem), (const uint8_t *)input, strlen(input),
         mac, &ml);
    b64url(mac, ml, sig);
    snprintf(tok, sizeof(tok), "%s.%s", input, sig);
    FY_ASSERT_EQ(fy_jwt_key_load(&rs, FY_JWT_RS256, rsa_pem, strlen(rsa_pem), &err), FY_OK);
    FY_ASSERT_EQ(verify(&rs, tok, EXP - 10, &err), FY_EREJECT);
    FY_ASSERT(strstr(err.msg, "algorithm") != NULL);
    /* a wrong HS256 secret */
    load_hs(&hs);
    FY_ASSERT_EQ(verify(&hs, tok, EXP - 10, &err), FY_EREJECT);
    FY_ASSERT(strstr(err.msg, "signature") != NULL);
    FY_ASSERT(strstr(err.msg, sig) == NULL);
    fy_jwt_key_free(&rs);
    fy_jwt_key_free(&hs);
    /* key loading refuses a short secret and the wrong key type */
    FY_ASSERT_EQ(fy_jwt_key_load(&hs, FY_JWT_HS256, "short", 5, &err), FY_ECONFIG);
    FY_ASSERT_EQ(fy_jwt_key_load(&rs, FY_JWT_RS256, ec_pem, strlen(ec_pem), &err), FY_ECONFIG);
    FY_ASSERT_EQ(fy_jwt_key_load(&rs, FY_JWT_ES256, rsa_pem, strlen(rsa_pem), &err), FY_ECONFIG);
}

static void test_claims(void)
{
    struct fy_jwt_key hs;
    struct fy_err err = {0};
    struct fy_jwt_check chk = {"joe", NULL, 60, EXP - 10};
    char sub[32];

    load_hs(&hs);
    FY_ASSERT_EQ(fy_jwt_verify(&hs, a1_tok, strlen(a1_tok), &chk, sub, sizeof(sub), &err), FY_OK);
    chk.iss = "mallory";
    FY_ASSERT_EQ(fy_jwt_verify(&hs, a1_tok, strlen(a1_tok), &chk, NULL, 0, &err), FY_EREJECT);
    chk.iss = NULL;
    chk.aud = "ferry"; /* the vector has no aud */
    FY_ASSERT_EQ(fy_jwt_verify(&hs, a1_tok, strlen(a1_tok), &chk, NULL, 0, &err), FY_EREJECT);
    fy_jwt_key_free(&hs);
}

int init_jwt_tests(void)
{
    CU_pSuite s = CU_add_suite("jwt", NULL, NULL);

    if (s == NULL || CU_add_test(s, "rfc7515 vectors", test_vectors) == NULL ||
        CU_add_test(s, "tampered and none", test_tampered) == NULL ||
        CU_add_test(s, "algorithm confusion", test_confusion) == NULL ||
        CU_add_test(s, "iss and aud", test_claims) == NULL) {
        return -1;
    }
    return 0;
}
