/* opts.c - fill a context struct from a YAML map through a declarative option table.
 *
 * INT values are decimal integers. For convenience an option whose name ends in "_bytes" (and
 * max_payload, max_record) also takes the suffixes k/K/KiB, M/MiB, G/GiB (x1024), and one whose name ends
 * in "_ms" takes ms, s, m, h. Nothing else: "10 MB", "1.5s" and "0x10" are errors. */
#include "core/opts.h"

#include "core/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *type_word(enum fy_node_type t)
{
    return t == FY_NODE_MAP ? "a map" : t == FY_NODE_SEQ ? "a list" : "a scalar";
}

/* The value as it may appear in an error: never a secret's. */
static const char *shown(const struct fy_node *n, const char *text)
{
    return n != NULL && n->secret ? "(secret, not shown)" : text;
}

static int is_prefix(const struct fy_opt *o)
{
    return o->type == FY_OPT_T_PREFIX;
}

static const struct fy_opt *find_opt(const struct fy_opt *tbl, const char *key, int *as_map)
{
    const struct fy_opt *o;
    size_t len;

    *as_map = 0;
    for (o = tbl; o->name != NULL; o++) {
        if (!is_prefix(o) && strcmp(o->name, key) == 0) {
            return o;
        }
    }
    for (o = tbl; o->name != NULL; o++) {
        if (!is_prefix(o)) {
            continue;
        }
        len = strlen(o->name);
        if (strncmp(o->name, key, len) == 0 && key[len] != '\0') {
            return o;
        }
        /* "rdkafka:" as a nested map for prefix "rdkafka." */
        if (len > 1 && o->name[len - 1] == '.' && strlen(key) == len - 1 &&
            strncmp(o->name, key, len - 1) == 0) {
            *as_map = 1;
            return o;
        }
    }
    return NULL;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    size_t i;

    for (i = 0; yes[i] != NULL; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Integers, with k/M/G (x1024) for *_bytes options, max_payload and max_record, ms/s/m/h for
 * *_ms. */
static int parse_int(const struct fy_opt *o, const char *s, int64_t *out)
{
    size_t nlen = strlen(o->name);
    int is_bytes = (nlen > 6 && strcmp(o->name + nlen - 6, "_bytes") == 0) ||
                   strcmp(o->name, "max_payload") == 0 || strcmp(o->name, "max_record") == 0;
    int is_ms = nlen > 3 && strcmp(o->name + nlen - 3, "_ms") == 0;
    char *end;
    long long v;
    int64_t mul = 1;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || errno != 0) {
        return -1;
    }
    if (*end != '\0') {
        if (is_bytes &&
            (strcmp(end, "k") == 0 || strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0)) {
            mul = 1024;
        } else if (is_bytes && (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0)) {
            mul = 1024 * 1024;
        } else if (is_bytes && (strcmp(end, "G") == 0 || strcmp(end, "GiB") == 0)) {
            mul = 1024LL * 1024 * 1024;
        } else if (is_ms && strcmp(end, "ms") == 0) {
            mul = 1;
        } else if (is_ms && strcmp(end, "s") == 0) {
            mul = 1000;
        } else if (is_ms && strcmp(end, "m") == 0) {
            mul = 60000;
        } else if (is_ms && strcmp(end, "h") == 0) {
            mul = 3600000;
        } else {
            return -1;
        }
    }
    if (v > INT64_MAX / mul || v < INT64_MIN / mul) {
        return -1;
    }
    *out = (int64_t)v * mul;
    return 0;
}

/* Append (key, n's value) to l; the same key given twice (as "p.k" and as "p: {k: }") is an
 * error at the second. */
static int kv_add(struct fy_kv_list *l, const char *prefix, const char *key,
                  const struct fy_node *n, struct fy_err *err)
{
    struct fy_kv *items;
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            return fy_conf_error(err, n, 0, "'%s%s' is given twice (first at %d:%d)", prefix, key,
                                 l->items[i].line, l->items[i].col);
        }
    }
    items = realloc(l->items, (l->n + 1) * sizeof(*items));

    if (items == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    l->items = items;
    items[l->n].key = strdup(key);
    items[l->n].value = strdup(n->value);
    items[l->n].line = n->line;
    items[l->n].col = n->col;
    items[l->n].file = n->file;
    items[l->n].secret = n->secret;
    if (items[l->n].key == NULL || items[l->n].value == NULL) {
        free(items[l->n].key);
        free(items[l->n].value);
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    l->n++;
    return FY_OK;
}

/* Set one option from node n (or from the default text when n is NULL). */
static int set_opt(const struct fy_opt *o, const struct fy_node *n, const char *text, void *ctx,
                   struct fy_err *err)
{
    char *field = (char *)ctx + o->offset;
    size_t i;

    if (n != NULL && o->type != FY_OPT_T_NODE && n->type != FY_NODE_SCALAR) {
        return fy_conf_error(err, n, 0, "'%s': expected %s, got %s", o->name,
                             o->type == FY_OPT_T_INT    ? "a number"
                             : o->type == FY_OPT_T_BOOL ? "a boolean"
                             : o->type == FY_OPT_T_ENUM ? "one word"
                                                        : "a string",
                             type_word(n->type));
    }
    switch (o->type) {
    case FY_OPT_T_STR: {
        char **dst = (char **)field;
        free(*dst);
        *dst = strdup(text);
        return *dst != NULL ? FY_OK : fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    case FY_OPT_T_INT: {
        int64_t v;
        if (parse_int(o, text, &v) != 0) {
            return n ? fy_conf_error(err, n, 0, "'%s': '%s' is not a valid integer%s", o->name,
                                     shown(n, text),
                                     strstr(o->name, "_bytes") ? " (suffixes: k, M, G)"
                                     : strstr(o->name, "_ms")  ? " (suffixes: ms, s, m, h)"
                                                               : "")
                     : fy_err_set(err, FY_EINVAL, "bad default for %s", o->name);
        }
        if ((o->min != 0 || o->max != 0) && (v < o->min || v > o->max)) {
            if (n != NULL && n->secret) {
                return fy_conf_error(err, n, 0, "'%s' is out of range (expected %lld..%lld)",
                                     o->name, (long long)o->min, (long long)o->max);
            }
            return fy_conf_error(err, n, 0, "'%s' is %lld, out of range (expected %lld..%lld)",
                                 o->name, (long long)v, (long long)o->min, (long long)o->max);
        }
        *(int64_t *)field = v;
        return FY_OK;
    }
    case FY_OPT_T_BOOL: {
        int v;
        if (parse_bool(text, &v) != 0) {
            return n ? fy_conf_error(err, n, 0, "'%s': '%s' is not a boolean (expected true or "
                                     "false)", o->name, shown(n, text))
                     : fy_err_set(err, FY_EINVAL, "bad default for %s", o->name);
        }
        *(int *)field = v;
        return FY_OK;
    }
    case FY_OPT_T_ENUM:
        for (i = 0; o->choices[i] != NULL; i++) {
            if (strcmp(o->choices[i], text) == 0) {
                *(int *)field = (int)i;
                return FY_OK;
            }
        }
        {
            char list[200];
            size_t off = 0;
            list[0] = '\0';
            for (i = 0; o->choices[i] != NULL && off < sizeof(list); i++) {
                int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
                                 o->choices[i]);
                if (w < 0 || (size_t)w >= sizeof(list) - off) {
                    break;
                }
                off += (size_t)w;
            }
            return n ? fy_conf_error(err, n, 0, "'%s': unknown value '%s' (expected one of: %s)",
                                     o->name, shown(n, text), list)
                     : fy_err_set(err, FY_EINVAL, "bad default for %s", o->name);
        }
    case FY_OPT_T_NODE:
        *(const struct fy_node **)field = n;
        return FY_OK;
    case FY_OPT_T_PREFIX:
        return FY_OK;
    }
    return FY_OK;
}

static void valid_list(const struct fy_opt *tbl, char *out, size_t size)
{
    const struct fy_opt *o;
    size_t off = 0;

    out[0] = '\0';
    for (o = tbl; o->name != NULL && off < size; o++) {
        int w = snprintf(out + off, size - off, "%s%s%s", off ? ", " : "", o->name,
                         is_prefix(o) ? "*" : "");
        if (w < 0 || (size_t)w >= size - off) {
            break;
        }
        off += (size_t)w;
    }
}

int fy_opts_apply(const struct fy_opt *tbl, const struct fy_node *map, const char *const *skip,
                  void *ctx, struct fy_err *err)
{
    const struct fy_opt *o;
    const struct fy_node *c;
    int rc;

    if (tbl == NULL || ctx == NULL) {
        return fy_err_set(err, FY_EINVAL, "invalid argument");
    }
    if (map != NULL && map->type != FY_NODE_MAP) {
        return fy_conf_error(err, map, 0, "expected a map of options, got %s",
                             type_word(map->type));
    }
    /* Every key given must be known. */
    for (c = map != NULL ? map->child : NULL; c != NULL; c = c->next) {
        int as_map = 0;
        size_t i;
        int skipped = 0;

        for (i = 0; skip != NULL && skip[i] != NULL; i++) {
            skipped |= strcmp(skip[i], c->key) == 0;
        }
        if (skipped) {
            continue;
        }
        o = find_opt(tbl, c->key, &as_map);
        if (o == NULL) {
            char list[400];
            valid_list(tbl, list, sizeof(list));
            return fy_conf_error(err, c, 1, "unknown option '%s' (valid: %s)", c->key, list);
        }
        if (is_prefix(o)) {
            struct fy_kv_list *l = (struct fy_kv_list *)((char *)ctx + o->offset);
            if (as_map) {
                const struct fy_node *k;
                if (c->type != FY_NODE_MAP) {
                    return fy_conf_error(err, c, 0, "'%s': expected a map of name: value, got %s",
                                         c->key, type_word(c->type));
                }
                for (k = c->child; k != NULL; k = k->next) {
                    if (k->type != FY_NODE_SCALAR) {
                        return fy_conf_error(err, k, 0, "'%s.%s': expected a scalar, got %s",
                                             c->key, k->key, type_word(k->type));
                    }
                    rc = kv_add(l, o->name, k->key, k, err);
                    if (rc != FY_OK) {
                        return rc;
                    }
                }
            } else {
                if (c->type != FY_NODE_SCALAR) {
                    return fy_conf_error(err, c, 0, "'%s': expected a scalar, got %s", c->key,
                                         type_word(c->type));
                }
                rc = kv_add(l, o->name, c->key + strlen(o->name), c, err);
                if (rc != FY_OK) {
                    return rc;
                }
            }
            continue;
        }
        rc = set_opt(o, c, c->value, ctx, err);
        if (rc != FY_OK) {
            return rc;
        }
    }
    /* Required options and defaults. */
    for (o = tbl; o->name != NULL; o++) {
        int as_map;
        if (is_prefix(o)) {
            continue;
        }
        for (c = map != NULL ? map->child : NULL; c != NULL; c = c->next) {
            if (find_opt(tbl, c->key, &as_map) == o) {
                break;
            }
        }
        if (c != NULL) {
            continue;
        }
        if (o->flags & FY_REQUIRED) {
            if (map == NULL) {
                return fy_err_set(err, FY_ECONFIG, "missing required option '%s' (%s)", o->name,
                                  o->desc ? o->desc : "");
            }
            return fy_conf_error(err, map, 1, "missing required option '%s' (%s)", o->name,
                                 o->desc ? o->desc : "");
        }
        if (o->def != NULL) {
            rc = set_opt(o, NULL, o->def, ctx, err);
            if (rc != FY_OK) {
                return rc;
            }
        }
    }
    return FY_OK;
}

void fy_opts_free(const struct fy_opt *tbl, void *ctx)
{
    const struct fy_opt *o;
    size_t i;

    if (tbl == NULL || ctx == NULL) {
        return;
    }
    for (o = tbl; o->name != NULL; o++) {
        char *field = (char *)ctx + o->offset;
        if (o->type == FY_OPT_T_STR) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (o->type == FY_OPT_T_PREFIX) {
            struct fy_kv_list *l = (struct fy_kv_list *)field;
            for (i = 0; i < l->n; i++) {
                free(l->items[i].key);
                free(l->items[i].value);
            }
            free(l->items);
            l->items = NULL;
            l->n = 0;
        }
    }
}
