/* redact.c - see redact.h. */
#include "core/redact.h"

#include <string.h>

struct out {
    char *p;
    size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    size_t room = o->size - 1 - o->len;

    if (n > room) {
        n = room;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

char *fy_redact_url(const char *url, char *out, size_t size)
{
    struct out o = {out, size, 0};
    const char *p = url, *auth, *at, *end_auth, *q;

    if (size == 0) {
        return out;
    }
    out[0] = '\0';
    if (url == NULL) {
        return out;
    }
    auth = strstr(p, "://");
    if (auth != NULL) {
        auth += 3;
        put(&o, p, (size_t)(auth - p));
        end_auth = auth + strcspn(auth, "/?#");
        /* the last '@' before the path: user-info may itself hold '@' */
        at = NULL;
        for (q = auth; q < end_auth; q++) {
            if (*q == '@') {
                at = q;
            }
        }
        if (at != NULL) {
            put(&o, "***@", 4);
            auth = at + 1;
        }
        p = auth;
    }
    q = p + strcspn(p, "?# ");
    put(&o, p, (size_t)(q - p));
    p = q;
    if (*p == '?') {
        put(&o, "?", 1);
        p++;
    }
    while (*q == '?' && *p != '\0' && *p != '#' && *p != ' ') {
        size_t seg = strcspn(p, "&# ");
        const char *eq = memchr(p, '=', seg);
        if (eq != NULL) {
            put(&o, p, (size_t)(eq - p));
            put(&o, "=***", 4);
        } else if (seg > 0) {
            put(&o, "***", 3); /* a bare value (?SECRET) */
        }
        p += seg;
        if (*p == '&') {
            put(&o, "&", 1);
            p++;
        }
    }
    if (*p == '#') {
        p += strcspn(p, " "); /* a fragment is dropped */
    }
    if (*p == ' ') {
        /* the URL ended inside a sentence: the rest may name another URL */
        put(&o, " ", 1);
        fy_redact_url(p + 1, out + o.len, o.size - o.len);
    }
    return out;
}
