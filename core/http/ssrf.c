/* ssrf.c - the SSRF guard (see ssrf.h). */
#include "core/http/ssrf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 1 when the IPv4 address a (host order) is not public unicast. */
static int v4_internal(uint32_t a)
{
    return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xa9fe ||
           (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 || (a >> 22) == (100u << 2 | 1) ||
           (a >> 28) >= 0xe;
}

/* 1 when addr is not a public unicast address: loopback, RFC 1918, link-local (cloud
 * metadata 169.254.169.254), CGNAT, "this network", multicast, reserved, IPv6 ULA/link-local,
 * and IPv4-mapped forms of those.
 * Every field is read with memcpy: the caller's object is a sockaddr_in or sockaddr_in6 (or
 * curl's storage), and reading it through another struct type let GCC -O2 reorder the reads
 * (strict aliasing: ::ffff:8.8.8.8 came out internal in RelWithDebInfo builds). */
int fy_ssrf_addr_internal(const struct sockaddr *sa)
{
    const unsigned char *raw = (const unsigned char *)sa;
    sa_family_t family;

    memcpy(&family, raw + offsetof(struct sockaddr, sa_family), sizeof(family));
    if (family == AF_INET) {
        uint32_t a;
        memcpy(&a, raw + offsetof(struct sockaddr_in, sin_addr), sizeof(a));
        return v4_internal(ntohl(a));
    }
    if (family == AF_INET6) {
        struct in6_addr a6;
        const uint8_t *b = a6.s6_addr;
        memcpy(&a6, raw + offsetof(struct sockaddr_in6, sin6_addr), sizeof(a6));
        if (IN6_IS_ADDR_V4MAPPED(&a6) || IN6_IS_ADDR_V4COMPAT(&a6)) {
            uint32_t a;
            memcpy(&a, b + 12, sizeof(a));
            return v4_internal(ntohl(a));
        }
        return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6) ||
               (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
    }
    return 1;
}

/* CURLOPT_OPENSOCKETFUNCTION: checked for every connection curl opens, after DNS, so a name
 * that resolves (or re-resolves) to an internal address is refused too. */
curl_socket_t fy_ssrf_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct fy_ssrf_note *note = arg;
    char ip[INET6_ADDRSTRLEN] = "?";

    (void)purpose;
    if (fy_ssrf_addr_internal(&a->addr)) {
        const void *raw = a->family == AF_INET6
                              ? (const void *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr
                              : (const void *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr;
        inet_ntop(a->family, raw, ip, sizeof(ip));
        snprintf(note->why, sizeof(note->why), "refused to connect to %s: an internal address "
                 "(set allow_private_networks: true to allow)", ip);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* 1 when the URL's host (len bytes, with an optional :port) is an IP literal of an internal
 * address: caught by `ferry check` rather than at the first request. Names (localhost too)
 * are checked at connection time, after DNS. */
int fy_ssrf_host_internal(const char *host, size_t len)
{
    char h[256];
    const char *colon;
    struct sockaddr_in6 a6 = {0};
    struct sockaddr_in a4 = {0};

    if (len >= sizeof(h)) {
        return 0;
    }
    memcpy(h, host, len);
    h[len] = '\0';
    if (h[0] == '[') {
        char *e = strchr(h, ']');
        if (e == NULL) {
            return 0;
        }
        *e = '\0';
        a6.sin6_family = AF_INET6;
        return inet_pton(AF_INET6, h + 1, &a6.sin6_addr) == 1 &&
               fy_ssrf_addr_internal((const struct sockaddr *)(const void *)&a6);
    }
    if ((colon = strchr(h, ':')) != NULL) {
        h[colon - h] = '\0';
    }
    a4.sin_family = AF_INET;
    return inet_pton(AF_INET, h, &a4.sin_addr) == 1 &&
           fy_ssrf_addr_internal((const struct sockaddr *)(const void *)&a4);
}

