/* template.c - the one template engine; see template.h. */
#include "core/template.h"

#include <stdio.h>
#include <string.h>

/* Walk tpl: each literal byte goes to lit(), each {name} to var(). "{{" and "}}" are literal
 * braces. Shared by check and render, so both read the same syntax. */
struct walker {
    int (*lit)(void *arg, char c);
    int (*var)(void *arg, const char *name, size_t len);
    void *arg;
};

static int walk(const char *tpl, const struct walker *w, struct fy_err *err)
{
    const char *p = tpl;
    int rc;

    while (*p != '\0') {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            rc = w->lit(w->arg, p[0]);
            p += 2;
        } else if (p[0] == '{') {
            const char *e = strchr(p + 1, '}');
            if (e == NULL) {
                return fy_err_set(err, FY_EINVAL, "template '%s': unclosed '{' at byte %zu", tpl,
                                  (size_t)(p - tpl));
            }
            rc = w->var(w->arg, p + 1, (size_t)(e - p - 1));
            p = e + 1;
        } else {
            rc = w->lit(w->arg, *p);
            p++;
        }
        if (rc != FY_OK) {
            return rc; /* the callback filled err */
        }
    }
    return FY_OK;
}

static int capture_index(const char *name, size_t len)
{
    return len == 1 && name[0] >= '1' && name[0] <= '8' ? name[0] - '1' : -1;
}

/* ==== check ==== */

struct check {
    const char *tpl;
    const char *const *known;
    int captures;
    struct fy_err *err;
};

static int check_lit(void *arg, char c)
{
    (void)arg;
    (void)c;
    return FY_OK;
}

static int check_var(void *arg, const char *name, size_t len)
{
    struct check *c = arg;
    char expected[256];
    size_t i, n = 0;

    if (c->captures && capture_index(name, len) >= 0) {
        return FY_OK;
    }
    for (i = 0; c->known != NULL && c->known[i] != NULL; i++) {
        if (strlen(c->known[i]) == len && memcmp(c->known[i], name, len) == 0) {
            return FY_OK;
        }
    }
    expected[0] = '\0';
    for (i = 0; c->known != NULL && c->known[i] != NULL; i++) {
        const char *sep = i == 0 ? "" : (c->known[i + 1] == NULL && !c->captures) ? " or " : ", ";
        n += (size_t)snprintf(expected + n, n < sizeof(expected) ? sizeof(expected) - n : 0,
                              "%s%s", sep, c->known[i]);
    }
    if (c->captures && n < sizeof(expected)) {
        snprintf(expected + n, sizeof(expected) - n, "%s1..8", n > 0 ? " or " : "");
    }
    return fy_err_set(c->err, FY_EINVAL, "template '%s': unknown field '{%.*s}' (expected %s)",
                      c->tpl, (int)len, name, expected);
}

int fy_template_check(const char *tpl, const char *const *known, int captures, struct fy_err *err)
{
    struct check c = {tpl, known, captures, err};
    struct walker w = {check_lit, check_var, &c};

    if (tpl == NULL) {
        return fy_err_set(err, FY_EINVAL, "empty template");
    }
    return walk(tpl, &w, err);
}

/* ==== render ==== */

struct render {
    fy_template_lookup_fn lookup;
    void *arg;
    enum fy_template_escape esc;
    size_t start, max;
    struct fy_buf *out;
    struct fy_err *err;
};

static int put(struct render *r, const char *s, size_t n)
{
    if (r->out->len - r->start + n + 1 > r->max) {
        return fy_err_set(r->err, FY_ETOOBIG, "expanded template longer than %zu bytes",
                          r->max - 1);
    }
    if (fy_buf_add(r->out, s, n) != FY_OK) {
        return fy_err_set(r->err, FY_ETOOBIG, "expanded template too long");
    }
    return FY_OK;
}

static int render_lit(void *arg, char c)
{
    return put(arg, &c, 1);
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int render_var(void *arg, const char *name, size_t len)
{
    struct render *r = arg;
    const char *v = NULL;
    size_t vlen = 0, i;
    int rc;

    rc = r->lookup(r->arg, name, len, &v, &vlen);
    if (rc == FY_EINVAL) {
        return fy_err_set(r->err, FY_EINVAL, "template field {%.*s} is unknown", (int)len, name);
    }
    if (rc != FY_OK || v == NULL || vlen == 0) {
        return fy_err_set(r->err, FY_ENOTFOUND, "template field {%.*s} is missing or empty in "
                          "this message", (int)len, name);
    }
    if (r->esc == FY_TEMPLATE_RAW) {
        return put(r, v, vlen);
    }
    for (i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)v[i];
        char pct[4];
        if (r->esc == FY_TEMPLATE_URL && !unreserved(c)) {
            snprintf(pct, sizeof(pct), "%%%02X", c);
            rc = put(r, pct, 3);
        } else if (r->esc == FY_TEMPLATE_HEADER && (c < 0x20 || c == 0x7f)) {
            return fy_err_set(r->err, FY_EINVAL, "bad_header: field {%.*s} holds a control "
                              "character (CR/LF) and cannot go into a header", (int)len, name);
        } else {
            rc = put(r, &v[i], 1);
        }
        if (rc != FY_OK) {
            return rc;
        }
    }
    return FY_OK;
}

int fy_template_render(const char *tpl, fy_template_lookup_fn lookup, void *arg,
                       enum fy_template_escape esc, size_t max, struct fy_buf *out,
                       struct fy_err *err)
{
    struct render r = {lookup, arg, esc, out->len, max, out, err};
    struct walker w = {render_lit, render_var, &r};
    int rc;

    if (tpl == NULL || max == 0) {
        return fy_err_set(err, FY_EINVAL, "invalid argument");
    }
    rc = walk(tpl, &w, err);
    if (rc == FY_OK && out->data == NULL) {
        rc = fy_buf_add(out, "", 0); /* an empty expansion is still a string */
    }
    return rc;
}
