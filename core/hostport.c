/* hostport.c - see hostport.h. */
#include "core/hostport.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int fy_hostport_check(const char *s, size_t len, int port_optional, struct fy_err *err)
{
    const char *end = s + len, *p = s, *host_end;
    long port = 0;
    size_t digits = 0;

    if (*p == '[') {
        host_end = memchr(p, ']', len);
        if (host_end == NULL || host_end == p + 1) {
            return fy_err_set(err, FY_ECONFIG, "'%.*s': an IPv6 address goes in [brackets]",
                              (int)len, s);
        }
        for (p++; p < host_end; p++) {
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.') {
                return fy_err_set(err, FY_ECONFIG, "'%.*s': '%c' in an IPv6 address", (int)len,
                                  s, *p);
            }
        }
        p = host_end + 1;
    } else {
        for (; p < end && *p != ':'; p++) {
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_') {
                return fy_err_set(err, FY_ECONFIG, "'%.*s': '%c' cannot be in a host name "
                                  "(expected host:port)", (int)len, s, *p);
            }
        }
        if (p == s) {
            return fy_err_set(err, FY_ECONFIG, "'%.*s': the host is empty (expected host:port)",
                              (int)len, s);
        }
    }
    if (p == end) {
        return port_optional ? FY_OK
                             : fy_err_set(err, FY_ECONFIG, "'%.*s': no port (expected "
                                          "host:port)", (int)len, s);
    }
    if (*p != ':') {
        return fy_err_set(err, FY_ECONFIG, "'%.*s': expected ':port' after the host", (int)len,
                          s);
    }
    for (p++; p < end; p++, digits++) {
        if (!isdigit((unsigned char)*p) || digits >= 5) {
            return fy_err_set(err, FY_ECONFIG, "'%.*s': the port must be a number from 1 to "
                              "65535", (int)len, s);
        }
        port = port * 10 + (*p - '0');
    }
    if (digits == 0 || port < 1 || port > 65535) {
        return fy_err_set(err, FY_ECONFIG, "'%.*s': the port must be a number from 1 to 65535",
                          (int)len, s);
    }
    return FY_OK;
}

int fy_hostport_listen(const char *s, struct sockaddr_storage *ss, int *loopback)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    char *end;
    long port;
    int lo;

    memset(ss, 0, sizeof(*ss));
    if (colon == NULL || (size_t)(colon - s) >= sizeof(host) || colon == s) {
        return -1;
    }
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 0 || port > 65535) {
        return -1;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        host[strlen(host) - 1] = '\0';
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
            return -1;
        }
        lo = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (strcmp(host, "localhost") == 0) {
            snprintf(host, sizeof(host), "127.0.0.1");
        }
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            return -1;
        }
        lo = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    if (loopback != NULL) {
        *loopback = lo;
    }
    return 0;
}
