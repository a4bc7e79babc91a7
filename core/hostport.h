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

struct sockaddr_storage;

/* Parse a listen address, "a.b.c.d:port", "localhost:port" or "[v6]:port" (numeric only: a
 * listener never resolves names), into ss. 0, or -1 when it is not one. With loopback
 * non-NULL, *loopback says whether the address is 127.0.0.0/8 or ::1. */
int fy_hostport_listen(const char *s, struct sockaddr_storage *ss, int *loopback);

#endif
