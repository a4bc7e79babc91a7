/* test_ssrf.c - the webhook SSRF guard's address classification, every range of
 * docs/reliability.md's list and the public addresses just outside each, without sending anything
 * (the guard in action, at connect time, is tested in 30-sink-webhook against loopback). */
#include "core/http/ssrf.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

int init_ssrf_tests(void);

static int internal(const char *ip)
{
    struct sockaddr_in a4 = {0};
    struct sockaddr_in6 a6 = {0};

    if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        return fy_ssrf_addr_internal((struct sockaddr *)&a4);
    }
    if (inet_pton(AF_INET6, ip, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        return fy_ssrf_addr_internal((struct sockaddr *)&a6);
    }
    return -1;
}

static void test_ranges(void)
{
    static const char *const inside[] = {
        "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255",
        "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255", "169.254.169.254",
        "169.254.0.1", "100.64.0.1", "100.127.255.255", "224.0.0.1", "239.255.255.250",
        "240.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1",
        "febf::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
        "::ffff:7f00:1", NULL};
    static const char *const outside[] = {
        "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.1", "172.15.255.255", "172.32.0.1",
        "192.167.255.255", "192.169.0.1", "169.253.255.255", "169.255.0.1", "100.63.255.255",
        "100.128.0.1", "126.255.255.255", "128.0.0.1", "223.255.255.255", "2001:4860:4860::8888",
        "2a00:1450::1", "fec0::1", "::ffff:8.8.8.8", NULL};
    size_t i;

    for (i = 0; inside[i] != NULL; i++) {
        if (internal(inside[i]) != 1) {
            fprintf(stderr, "\n%s should be internal\n", inside[i]);
        }
        FY_ASSERT_EQ(internal(inside[i]), 1);
    }
    for (i = 0; outside[i] != NULL; i++) {
        if (internal(outside[i]) != 0) {
            fprintf(stderr, "\n%s should be public\n", outside[i]);
        }
        FY_ASSERT_EQ(internal(outside[i]), 0);
    }
}

static void test_literal_hosts(void)
{
    static const char *const yes[] = {"127.0.0.1", "127.0.0.1:8443", "[::1]", "[::1]:443",
                                      "10.1.2.3:80", "[::ffff:127.0.0.1]:1", NULL};
    static const char *const no[] = {"example.com", "example.com:443", "localhost", "8.8.8.8",
                                     "[2001:db8::1", "0177.0.0.1", NULL};
    size_t i;

    for (i = 0; yes[i] != NULL; i++) {
        FY_ASSERT_EQ(fy_ssrf_host_internal(yes[i], strlen(yes[i])), 1);
    }
    /* names and forms inet_pton does not read are left to the connect-time check */
    for (i = 0; no[i] != NULL; i++) {
        FY_ASSERT_EQ(fy_ssrf_host_internal(no[i], strlen(no[i])), 0);
    }
}

int init_ssrf_tests(void)
{
    CU_pSuite s = CU_add_suite("ssrf", NULL, NULL);

    if (s == NULL || CU_add_test(s, "internal and public ranges", test_ranges) == NULL ||
        CU_add_test(s, "IP literals in a URL's host", test_literal_hosts) == NULL) {
        return -1;
    }
    return 0;
}
