/* test_redact.c - URL redaction: user-info and query values hidden, the rest kept. */
#include "core/redact.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <string.h>

int init_redact_tests(void);

static void test_redact(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"https://host/in?token=SECRET", "https://host/in?token=***"},
        {"https://host:8443/a/b", "https://host:8443/a/b"},
        {"https://u:SECRET@host/x", "https://***@host/x"},
        {"https://u@x:SE@CRET@host:1/x?a=1&b=SECRET#frag", "https://***@host:1/x?a=***&b=***"},
        {"wss://api.microshare.io/share/io.up?Authorization=Basic+SECRET&field=recType",
         "wss://api.microshare.io/share/io.up?Authorization=***&field=***"},
        {"https://host/?SECRET", "https://host/?***"},
        {"https://host/p#SECRET", "https://host/p"},
        {"tcp://user:SECRET@127.0.0.1:1883", "tcp://***@127.0.0.1:1883"},
        {"HTTP 500 from https://h/in?token=SECRET", "HTTP 500 from https://h/in?token=***"},
        {"", ""},
        {"HTTP 500 from https://h/in?t=SECRET (after 3 s), https://u:SECRET@g/?x=SECRET",
         "HTTP 500 from https://h/in?t=*** (after 3 s), https://***@g/?x=***"},
        {"see https://h/p#SECRET now", "see https://h/p now"},
    };
    char out[256], small[12];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FY_ASSERT_STR(fy_redact_url(cases[i].in, out, sizeof(out)), cases[i].out);
        FY_ASSERT(strstr(out, "SECRET") == NULL);
    }
    /* truncation keeps the NUL and never shows the secret's start */
    FY_ASSERT_STR(fy_redact_url("https://host/in?token=SECRET", small, sizeof(small)),
                  "https://hos");
}

int init_redact_tests(void)
{
    CU_pSuite s = CU_add_suite("redact", NULL, NULL);

    if (s == NULL || CU_add_test(s, "URLs", test_redact) == NULL) {
        return -1;
    }
    return 0;
}
