/* template.h - the one template engine: "lorawan.{recType}.{1}" in route destinations,
 * "https://api.example.com/{deviceId}/up" and header values in HTTP sinks.
 *
 * Syntax: {name} is replaced by the value of name; "{{" and "}}" are a literal '{' and '}'.
 * Names are looked up through a callback, so routes (captures {1}..{8}, envelope fields) and
 * sinks (fields of one record) bring their own variables. A value is escaped for where it
 * goes: raw (a Kafka topic), percent-encoded (a URL path or query), or refused when it holds a
 * control character (an HTTP header: no CR/LF header injection). */
#ifndef FY_TEMPLATE_H
#define FY_TEMPLATE_H

#include "core/buf.h"
#include "core/err.h"

#include <stddef.h>

enum fy_template_escape {
    FY_TEMPLATE_RAW = 0, /* values as they are */
    FY_TEMPLATE_URL,     /* values percent-encoded, all but RFC 3986 unreserved characters */
    FY_TEMPLATE_HEADER   /* values with a control character (CR, LF, ...) are refused */
};

/* Look up name (len bytes, not NUL-terminated). FY_OK with *val (borrowed, valid until the
 * render returns) and *val_len; FY_ENOTFOUND when the variable is known but has no value for
 * this message; FY_EINVAL when the name is unknown. */
typedef int (*fy_template_lookup_fn)(void *arg, const char *name, size_t len, const char **val,
                                     size_t *val_len);

/* Check tpl at configuration time: balanced braces, every {name} in known (NULL-terminated)
 * or, with captures set, one of {1}..{8}. FY_OK, or FY_EINVAL with "template '<tpl>': what is
 * wrong (expected ...)". */
int fy_template_check(const char *tpl, const char *const *known, int captures, struct fy_err *err);

/* Render tpl into out (appended, NUL-terminated, at most max bytes including the NUL; the
 * buffer's own maximum applies too). FY_OK; FY_EINVAL (unknown name, unclosed brace, a header
 * value with a control character: the reason starts "bad_header: "); FY_ENOTFOUND (a variable
 * with no value: "template field {x} is missing or empty in this message"); FY_ETOOBIG. */
int fy_template_render(const char *tpl, fy_template_lookup_fn lookup, void *arg,
                       enum fy_template_escape esc, size_t max, struct fy_buf *out,
                       struct fy_err *err);

#endif
