/* template.c - destination templates: "lorawan.{recType}.{1}" expanded per message. */
#include "routes/router.h"

#include <string.h>

/* Walk tpl; for each {name} call the resolver. Shared by check and expand. */
static int scan(const char *tpl, struct fy_err *err,
                int (*var)(void *arg, const char *name, size_t len), int (*lit)(void *arg, char c),
                void *arg)
{
    const char *p = tpl;

    while (*p != '\0') {
        if (p[0] == '{' && p[1] == '{') {
            if (lit(arg, '{') != 0) {
                return fy_err_set(err, FY_ETOOBIG, "expanded template too long");
            }
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            if (lit(arg, '}') != 0) {
                return fy_err_set(err, FY_ETOOBIG, "expanded template too long");
            }
            p += 2;
        } else if (*p == '{') {
            const char *e = strchr(p + 1, '}');
            int rc;
            if (e == NULL) {
                return fy_err_set(err, FY_EINVAL, "template '%s': unclosed '{' at byte %zu", tpl,
                                  (size_t)(p - tpl));
            }
            rc = var(arg, p + 1, (size_t)(e - p - 1));
            if (rc == FY_EINVAL) {
                return fy_err_set(err, FY_EINVAL, "template '%s': unknown variable '{%.*s}' "
                                  "(expected recType, deviceId, devEUI, applicationId or 1..8)",
                                  tpl, (int)(e - p - 1), p + 1);
            }
            if (rc != FY_OK) {
                return fy_err_set(err, rc, "template '%s': {%.*s} %s", tpl, (int)(e - p - 1),
                                  p + 1, rc == FY_ETOOBIG ? "too long" : "is empty");
            }
            p = e + 1;
        } else {
            if (lit(arg, *p) != 0) {
                return fy_err_set(err, FY_ETOOBIG, "expanded template too long");
            }
            p++;
        }
    }
    return FY_OK;
}

static int cap_index(const char *name, size_t len)
{
    if (len == 1 && name[0] >= '1' && name[0] <= '8') {
        return name[0] - '1';
    }
    return -1;
}

struct check_ctx {
    const char *const *known;
};

static int check_var(void *arg, const char *name, size_t len)
{
    const struct check_ctx *c = arg;
    size_t i;

    if (cap_index(name, len) >= 0) {
        return FY_OK;
    }
    for (i = 0; c->known != NULL && c->known[i] != NULL; i++) {
        if (strlen(c->known[i]) == len && memcmp(c->known[i], name, len) == 0) {
            return FY_OK;
        }
    }
    return FY_EINVAL;
}

static int check_lit(void *arg, char ch)
{
    (void)arg;
    (void)ch;
    return 0;
}

int fy_template_check(const char *tpl, const char *const *known_vars, struct fy_err *err)
{
    struct check_ctx c = {known_vars};

    if (tpl == NULL) {
        return fy_err_set(err, FY_EINVAL, "empty template");
    }
    return scan(tpl, err, check_var, check_lit, &c);
}

struct exp_ctx {
    const char *const *vars;
    const struct fy_route_match *m;
    char *out;
    size_t size;
    size_t len;
};

static int put(struct exp_ctx *x, const char *s, size_t n)
{
    if (x->len + n + 1 > x->size) {
        return FY_ETOOBIG;
    }
    memcpy(x->out + x->len, s, n);
    x->len += n;
    x->out[x->len] = '\0';
    return FY_OK;
}

static int exp_var(void *arg, const char *name, size_t len)
{
    struct exp_ctx *x = arg;
    int ci = cap_index(name, len);
    size_t i;

    if (ci >= 0) {
        if (x->m == NULL || ci >= x->m->n_caps || x->m->cap_len[ci] == 0) {
            return FY_ENOTFOUND;
        }
        return put(x, x->m->cap[ci], x->m->cap_len[ci]);
    }
    for (i = 0; x->vars != NULL && x->vars[i] != NULL; i += 2) {
        if (strlen(x->vars[i]) == len && memcmp(x->vars[i], name, len) == 0) {
            const char *v = x->vars[i + 1];
            if (v == NULL || *v == '\0') {
                return FY_ENOTFOUND;
            }
            return put(x, v, strlen(v));
        }
    }
    return FY_EINVAL;
}

static int exp_lit(void *arg, char ch)
{
    return put(arg, &ch, 1) == FY_OK ? 0 : -1;
}

int fy_template_expand(const char *tpl, const char *const *vars, const struct fy_route_match *m,
                       char *out, size_t out_size, struct fy_err *err)
{
    struct exp_ctx x = {vars, m, out, out_size, 0};

    if (tpl == NULL || out == NULL || out_size == 0) {
        return fy_err_set(err, FY_EINVAL, "invalid argument");
    }
    out[0] = '\0';
    return scan(tpl, err, exp_var, exp_lit, &x);
}
