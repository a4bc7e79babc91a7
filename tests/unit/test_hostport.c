/* test_hostport.c - host:port as configuration files write it. */
#include "core/hostport.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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

/* listen addresses: numeric only, the loopback flag the http source's plain-HTTP rule uses */
static void test_listen(void)
{
    struct sockaddr_storage ss;
    int lo = -1;

    CU_ASSERT_EQUAL(fy_hostport_listen("127.0.0.1:8080", &ss, &lo), 0);
    CU_ASSERT_EQUAL(ss.ss_family, AF_INET);
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
    CU_ASSERT_EQUAL(lo, 1);
    CU_ASSERT_EQUAL(fy_hostport_listen("127.9.9.9:1", &ss, &lo), 0);
    CU_ASSERT_EQUAL(lo, 1);
    CU_ASSERT_EQUAL(fy_hostport_listen("localhost:0", &ss, &lo), 0);
    CU_ASSERT_EQUAL(lo, 1);
    CU_ASSERT_EQUAL(fy_hostport_listen("0.0.0.0:80", &ss, &lo), 0);
    CU_ASSERT_EQUAL(lo, 0);
    CU_ASSERT_EQUAL(fy_hostport_listen("[::1]:9000", &ss, &lo), 0);
    CU_ASSERT_EQUAL(ss.ss_family, AF_INET6);
    CU_ASSERT_EQUAL(lo, 1);
    CU_ASSERT_EQUAL(fy_hostport_listen("[::]:9000", &ss, NULL), 0);
    CU_ASSERT_EQUAL(fy_hostport_listen("[::]:9000", &ss, &lo), 0);
    CU_ASSERT_EQUAL(lo, 0);
    CU_ASSERT_EQUAL(fy_hostport_listen("example.com:80", &ss, &lo), -1);
    CU_ASSERT_EQUAL(fy_hostport_listen("127.0.0.1", &ss, &lo), -1);
    CU_ASSERT_EQUAL(fy_hostport_listen(":80", &ss, &lo), -1);
    CU_ASSERT_EQUAL(fy_hostport_listen("127.0.0.1:65536", &ss, &lo), -1);
    CU_ASSERT_EQUAL(fy_hostport_listen("127.0.0.1:80x", &ss, &lo), -1);
    CU_ASSERT_EQUAL(fy_hostport_listen("[::1:80", &ss, &lo), -1);
}

int init_hostport_tests(void)
{
    CU_pSuite s = CU_add_suite("hostport", NULL, NULL);

    if (s == NULL || CU_add_test(s, "host:port", test_hostport) == NULL ||
        CU_add_test(s, "listen addresses", test_listen) == NULL) {
        return -1;
    }
    return 0;
}
