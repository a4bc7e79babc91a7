/* redact.h - URLs as Ferry shows them: in logs, /status, `ferry status`, `ferry check` and dead
 * letters. A URL may carry a secret in its user-info (https://user:pass@host/) or its query
 * (https://host/in?token=SECRET, Microshare's ?Authorization=Basic+...): both are hidden,
 * scheme, host, port and path are kept so a person can still tell which endpoint it is. */
#ifndef FY_REDACT_H
#define FY_REDACT_H

#include <stddef.h>

/* Write url into out (always NUL-terminated, truncated to size) with the user-info replaced by
 * "***@" and every query value replaced by "***" (keys kept: "?token=***&a=***"); a fragment
 * is dropped. Text that is not a URL is copied with any "?query" redacted all the same.
 * Returns out. */
char *fy_redact_url(const char *url, char *out, size_t size);

#endif
