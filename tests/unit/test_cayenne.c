/* test_cayenne.c - Cayenne LPP against the published vectors (tests/fixtures/cayenne): the
 * LPP specification's examples, The Things Stack's test (its output shape) and ChirpStack's
 * test (its shape, 26 types incl. the extended IPSO ones); truncated and unknown input. */
#include "core/b64.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_cayenne_tests(void);
int fy_cayenne_decode(int style, const unsigned char *b, size_t n, cJSON **out,
                      struct fy_err *err);

/* Deep equality, numbers within 1e-5 (The Things Stack's own test tolerance). */
static int same(const cJSON *a, const cJSON *b)
{
    const cJSON *x;

    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        return fabs(a->valuedouble - b->valuedouble) <= 1e-5;
    }
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) {
            return 0;
        }
        cJSON_ArrayForEach(x, a)
        {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (y == NULL || !same(x, y)) {
                return 0;
            }
        }
        return 1;
    }
    return cJSON_Compare(a, b, 1);
}

static void test_vectors(void)
{
    FILE *f = fopen(FERRY_FIXTURES "/cayenne/cayenne-lpp.jsonl", "r");
    char line[8192];
    int n = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        cJSON *v = cJSON_Parse(line);
        const char *id = cJSON_GetObjectItem(v, "id")->valuestring;
        const char *hex = cJSON_GetObjectItem(v, "bytes_hex")->valuestring;
        cJSON *exp = cJSON_GetObjectItem(v, "expected");
        int style = strncmp(id, "chirpstack", 10) == 0 ? 1 : 0;
        struct fy_err err = {0};
        size_t len = 0;
        uint8_t *b = fy_hex_decode(hex, strlen(hex), &len);
        cJSON *got = NULL, *want;

        if (cJSON_IsArray(exp)) {
            /* the specification's channel/type list, in The Things Stack's key shape */
            const cJSON *e;
            want = cJSON_CreateObject();
            cJSON_ArrayForEach(e, exp)
            {
                char key[64];
                snprintf(key, sizeof(key), "%s_%d",
                         cJSON_GetObjectItem(e, "name")->valuestring,
                         cJSON_GetObjectItem(e, "channel")->valueint);
                cJSON_AddItemToObject(want, key,
                                      cJSON_Duplicate(cJSON_GetObjectItem(e, "value"), 1));
            }
        } else {
            want = cJSON_Duplicate(exp, 1);
        }
        FY_ASSERT_OK(fy_cayenne_decode(style, b, len, &got, &err), &err);
        if (got == NULL || !same(got, want)) {
            char *g = got ? cJSON_PrintUnformatted(got) : NULL;
            fprintf(stderr, "\n%s: got %s\n", id, g ? g : "(null)");
            free(g);
        }
        CU_ASSERT_TRUE(got != NULL && same(got, want));
        cJSON_Delete(got);
        cJSON_Delete(want);
        cJSON_Delete(v);
        free(b);
        n++;
    }
    fclose(f);
    FY_ASSERT_EQ(n, 6);
}

static void test_bad(void)
{
    static const unsigned char trunc[] = {0x03, 0x67, 0x01};       /* temperature needs 2 bytes */
    static const unsigned char unknown[] = {0x03, 0x67, 0x01, 0x10, 0x05, 0x99, 0x00};
    static const unsigned char header[] = {0x03};
    struct fy_err err = {0};
    cJSON *out = NULL;

    FY_ASSERT_EQ(fy_cayenne_decode(0, trunc, sizeof(trunc), &out, &err), FY_EDECODE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs 2 bytes at byte 2"));
    FY_ASSERT_EQ(fy_cayenne_decode(0, unknown, sizeof(unknown), &out, &err), FY_EDECODE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown type 153 at byte 5"));
    FY_ASSERT_EQ(fy_cayenne_decode(0, header, sizeof(header), &out, &err), FY_EDECODE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "truncated channel header"));
    /* empty payload: empty object */
    FY_ASSERT_OK(fy_cayenne_decode(0, NULL, 0, &out, &err), &err);
    FY_ASSERT_EQ(cJSON_GetArraySize(out), 0);
    cJSON_Delete(out);
}

int init_cayenne_tests(void)
{
    CU_pSuite s = CU_add_suite("cayenne", NULL, NULL);

    if (s == NULL || CU_add_test(s, "published vectors", test_vectors) == NULL ||
        CU_add_test(s, "bad input", test_bad) == NULL) {
        return -1;
    }
    return 0;
}
