/* hostport.h - "host:port" as brokers and servers are written in configuration files, checked
 * before anything connects, so `ferry check` refuses what can never work (port 99999, an empty
 * host, "localhost:abc"). */
#ifndef FY_HOSTPORT_H
#define FY_HOSTPORT_H

#include "core/err.h"

#include <stddef.h>

/* Check s[0..len): a host name (letters, digits, '.', '-', '_'), an IPv4 address or a
 * bracketed IPv6 address "[::1]", then ":port" with port 1..65535. With port_optional, the
 * port may be left out. FY_OK, or FY_ECONFIG with "'<s>': what is wrong". */
int fy_hostport_check(const char *s, size_t len, int port_optional, struct fy_err *err);

#endif
