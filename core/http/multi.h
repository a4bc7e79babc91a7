/* multi.h - the curl multi driver: up to `parallel` requests in flight, completions handed
 * back one by one.
 *
 * DESIGN: one driver per sink instance, used only from the sink's worker thread (no locks):
 * fy_http_multi_perform runs the transfers and calls done on that same thread. The driver
 * owns the easy handles it is given and cleans each up once its transfer is finished (after
 * done returns) or cancelled. */
#ifndef FY_HTTP_MULTI_H
#define FY_HTTP_MULTI_H

#include "core/err.h"

#include <curl/curl.h>
#include <stddef.h>

struct fy_http_multi;

/* A transfer finished: user as given to fy_http_multi_add, curl's result, the HTTP status
 * (0 without a response). e is still valid for curl_easy_getinfo, and cleaned up after
 * done returns; its slot is already free, so done may add a new request. */
typedef void (*fy_http_multi_done_fn)(void *arg, void *user, CURL *e, CURLcode result,
                                      long status);
/* A transfer was cancelled by fy_http_multi_destroy: free user. */
typedef void (*fy_http_multi_cancel_fn)(void *arg, void *user);

/* parallel: 1..1024 requests at once (and connections per host). Caller frees with
 * fy_http_multi_destroy. NULL + err on failure. */
struct fy_http_multi *fy_http_multi_create(size_t parallel, struct fy_err *err);
/* Cancel every running transfer (cancel(arg, user) for each, may be NULL), free m.
 * NULL-safe. */
void fy_http_multi_destroy(struct fy_http_multi *m, fy_http_multi_cancel_fn cancel, void *arg);

/* Start e. Takes ownership of e on FY_OK only; FY_EAGAIN when all slots are busy. */
int fy_http_multi_add(struct fy_http_multi *m, CURL *e, void *user);
/* Requests in flight, and whether a new one would be refused. */
size_t fy_http_multi_running(const struct fy_http_multi *m);
int fy_http_multi_full(const struct fy_http_multi *m);

/* Move transfers forward without blocking and report the finished ones to done(arg, ...). */
void fy_http_multi_perform(struct fy_http_multi *m, fy_http_multi_done_fn done, void *arg);
/* Wait up to timeout_ms (at least 1) for socket activity when requests are in flight. */
void fy_http_multi_wait(struct fy_http_multi *m, int timeout_ms);

#endif
