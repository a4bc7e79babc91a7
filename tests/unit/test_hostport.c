/* test_hostport.c - host:port as configuration files write it. */
#include "core/hostport.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <string.h>

int init_hostport_tests(void);

static void test_hostport(void)
{
    static const struct {
        const char *s;
        int port_optional, ok;
    } cases[] = {
        {"localhost:9092", 0, 1}, {"127.0.0.1:1", 0, 1},  {"[::1]:65535", 0, 1},
        {"a-b_c.d:1883", 0, 1},   {"host", 1, 1},         {"host", 0, 0},
        {"host:99999", 1, 0},     {"host:0", 1, 0},       {"host:65536", 1, 0},
        {"host:abc", 1, 0},       {":9092", 1, 0},        {"", 1, 0},
        {"[]:1", 1, 0},           {"[::1", 1, 0},         {"[::1]x", 1, 0},
        {"a b:1", 1, 0},          {"host:", 1, 0},        {"host:1883/x", 1, 0},
        {"host:000001883", 1, 0},
    };
    struct fy_err err = {0};
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = fy_hostport_check(cases[i].s, strlen(cases[i].s), cases[i].port_optional, &err);
        if ((rc == FY_OK) != cases[i].ok) {
            fprintf(stderr, "\n'%s': rc %d (%s)\n", cases[i].s, rc, err.msg);
        }
        FY_ASSERT_EQ(rc == FY_OK, cases[i].ok);
        FY_ASSERT(rc == FY_OK || err.code == FY_ECONFIG);
    }
}

int init_hostport_tests(void)
{
    CU_pSuite s = CU_add_suite("hostport", NULL, NULL);

    if (s == NULL || CU_add_test(s, "host:port", test_hostport) == NULL) {
        return -1;
    }
    return 0;
}
