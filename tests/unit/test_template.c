/* test_template.c - the one template engine (core/template.c): syntax, the three escapes, the
 * size limit, and the errors a route or an HTTP sink turns into a config error or a dead
 * letter. */
#include "core/template.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <string.h>

int init_template_tests(void);

/* name=value pairs; "empty" is known but has no value; anything else is unknown. */
static int lookup(void *arg, const char *name, size_t len, const char **val, size_t *val_len)
{
    const char *const *kv = arg;
    size_t i;

    for (i = 0; kv[i] != NULL; i += 2) {
        if (strlen(kv[i]) == len && memcmp(kv[i], name, len) == 0) {
            *val = kv[i + 1];
            *val_len = strlen(kv[i + 1]);
            return FY_OK;
        }
    }
    return len == 5 && memcmp(name, "empty", 5) == 0 ? FY_ENOTFOUND : FY_EINVAL;
}

static const char *const vars[] = {"deviceId", "dev 1/ü", "recType", "io.up",
                                   "crlf", "a\r\nX-Evil: 1", NULL};

static int render(const char *tpl, enum fy_template_escape esc, size_t max, char *out,
                  size_t size, struct fy_err *err)
{
    struct fy_buf b;
    int rc;

    fy_buf_init(&b, 1 << 16);
    rc = fy_template_render(tpl, lookup, (void *)vars, esc, max, &b, err);
    snprintf(out, size, "%s", rc == FY_OK && b.data != NULL ? b.data : "");
    fy_buf_free(&b);
    return rc;
}

static void test_render(void)
{
    struct fy_err err = {0};
    char out[256];

    FY_ASSERT_OK(render("t.{recType}.{{x}}", FY_TEMPLATE_RAW, 256, out, sizeof(out), &err), &err);
    FY_ASSERT_STR(out, "t.io.up.{x}");
    FY_ASSERT_OK(render("/d/{deviceId}?r={recType}", FY_TEMPLATE_URL, 256, out, sizeof(out),
                        &err), &err);
    FY_ASSERT_STR(out, "/d/dev%201%2F%C3%BC?r=io.up");
    FY_ASSERT_OK(render("", FY_TEMPLATE_RAW, 256, out, sizeof(out), &err), &err);
    FY_ASSERT_STR(out, "");
    /* a header value with CR/LF is refused, never emitted */
    FY_ASSERT_EQ(render("x {crlf}", FY_TEMPLATE_HEADER, 256, out, sizeof(out), &err), FY_EINVAL);
    FY_ASSERT(strncmp(err.msg, "bad_header: ", 12) == 0);
    FY_ASSERT_EQ(render("{crlf}", FY_TEMPLATE_URL, 256, out, sizeof(out), &err), FY_OK);
    FY_ASSERT_STR(out, "a%0D%0AX-Evil%3A%201");
    FY_ASSERT_EQ(render("{empty}", FY_TEMPLATE_RAW, 256, out, sizeof(out), &err), FY_ENOTFOUND);
    FY_ASSERT(strstr(err.msg, "{empty} is missing or empty") != NULL);
    FY_ASSERT_EQ(render("{nope}", FY_TEMPLATE_RAW, 256, out, sizeof(out), &err), FY_EINVAL);
    FY_ASSERT_EQ(render("{recType", FY_TEMPLATE_RAW, 256, out, sizeof(out), &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "unclosed '{' at byte 0") != NULL);
    /* max counts the NUL: "io.up" needs 6 */
    FY_ASSERT_EQ(render("{recType}", FY_TEMPLATE_RAW, 6, out, sizeof(out), &err), FY_OK);
    FY_ASSERT_EQ(render("{recType}", FY_TEMPLATE_RAW, 5, out, sizeof(out), &err), FY_ETOOBIG);
    FY_ASSERT_EQ(render("{deviceId}", FY_TEMPLATE_URL, 8, out, sizeof(out), &err), FY_ETOOBIG);
}

static void test_check(void)
{
    static const char *const known[] = {"recType", "deviceId", NULL};
    struct fy_err err = {0};

    FY_ASSERT_OK(fy_template_check("a.{recType}.{{}}.{8}", known, 1, &err), &err);
    FY_ASSERT_EQ(fy_template_check("a.{8}", known, 0, &err), FY_EINVAL);
    FY_ASSERT_STR(err.msg, "template 'a.{8}': unknown field '{8}' (expected recType or deviceId)");
    FY_ASSERT_EQ(fy_template_check("{x}", known, 1, &err), FY_EINVAL);
    FY_ASSERT_STR(err.msg, "template '{x}': unknown field '{x}' (expected recType, deviceId or "
                           "1..8)");
    FY_ASSERT_EQ(fy_template_check("a}{b", known, 1, &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_template_check(NULL, known, 1, &err), FY_EINVAL);
}

int init_template_tests(void)
{
    CU_pSuite s = CU_add_suite("template", NULL, NULL);

    if (s == NULL || CU_add_test(s, "render and escapes", test_render) == NULL ||
        CU_add_test(s, "check", test_check) == NULL) {
        return -1;
    }
    return 0;
}
