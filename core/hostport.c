/* hostport.c - see hostport.h. */
#include "core/hostport.h"

#include <ctype.h>
#include <string.h>

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
