/* ssrf.h - the webhook sink's SSRF guard: no connection to loopback, private, link-local or
 * other internal addresses unless the sink allows private networks.
 *
 * DESIGN: libcurl calls fy_ssrf_open_socket (CURLOPT_OPENSOCKETFUNCTION) for every connection
 * it opens, after name resolution, so a public name that resolves (or re-resolves) to an
 * internal address is refused too; `ferry check` refuses internal IP literals up front with
 * fy_ssrf_host_internal. Used for webhook requests and OAuth2 token requests. */
#ifndef FY_SSRF_H
#define FY_SSRF_H

#include <curl/curl.h>
#include <stddef.h>
#include <sys/socket.h>

/* CURLOPT_OPENSOCKETDATA: why a connection was refused ("" when none was). */
struct fy_ssrf_note {
    char why[200];
};

/* 1 when sa is not a public unicast address. */
int fy_ssrf_addr_internal(const struct sockaddr *sa);
/* 1 when host (len bytes of a URL's authority, optional :port, [v6]) is an internal IP
 * literal. Names return 0: they are checked after DNS. */
int fy_ssrf_host_internal(const char *host, size_t len);
/* CURLOPT_OPENSOCKETFUNCTION; arg is a struct fy_ssrf_note. */
curl_socket_t fy_ssrf_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a);

#endif
