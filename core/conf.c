/* conf.c - YAML (libyaml event parser) into a tree of nodes with file:line:col, with
 * ${ENV} and ${file:PATH} substitution in scalars. */
#include "core/conf.h"

#include "core/buf.h"
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define CONF_MAX_BYTES (16u << 20)
#define SCALAR_MAX (1u << 20)
#define DEPTH_MAX 64

int fy_conf_error(struct fy_err *err, const struct fy_node *at, int use_key, const char *fmt, ...)
{
    char msg[220];
    va_list ap;
    int line = 0, col = 0;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (at != NULL) {
        line = use_key && at->key != NULL ? at->key_line : at->line;
        col = use_key && at->key != NULL ? at->key_col : at->col;
    }
    return fy_err_set(err, FY_ECONFIG, "%s:%d:%d: %s", at && at->file ? at->file : "?", line, col,
                      msg);
}

static void node_free(struct fy_node *n)
{
    while (n != NULL) {
        struct fy_node *next = n->next;
        node_free(n->child);
        free(n->key);
        free(n->value);
        free(n);
        n = next;
    }
}

void fy_conf_free(struct fy_node *root)
{
    char *file;

    if (root == NULL) {
        return;
    }
    file = (char *)root->file;
    node_free(root);
    free(file);
}

const struct fy_node *fy_conf_get(const struct fy_node *map, const char *key)
{
    const struct fy_node *c;

    if (map == NULL || map->type != FY_NODE_MAP || key == NULL) {
        return NULL;
    }
    for (c = map->child; c != NULL; c = c->next) {
        if (c->key != NULL && strcmp(c->key, key) == 0) {
            return c;
        }
    }
    return NULL;
}

/* Read a secret file (trailing newlines trimmed, at most SCALAR_MAX bytes); warns when its
 * mode is wider than 0600. where is "FILE:LINE:COL: 'key': " for errors. */
static char *read_secret(const char *path, const char *where, struct fy_err *err)
{
    struct stat st;
    FILE *f;
    char *buf;
    size_t n;

    f = fopen(path, "rb");
    if (f == NULL) {
        fy_err_set(err, FY_ECONFIG, "%scannot read secret file %s: %s", where, path,
                   strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0177) != 0) {
        fy_log_warn("config", "secret file %s has mode %03o, wider than 0600 (chmod 600 it)",
                    path, (unsigned)(st.st_mode & 0777));
    }
    buf = malloc(SCALAR_MAX + 2);
    if (buf == NULL) {
        fclose(f);
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    n = fread(buf, 1, SCALAR_MAX + 1, f);
    fclose(f);
    if (n > SCALAR_MAX) {
        free(buf);
        fy_err_set(err, FY_ECONFIG, "%ssecret file %s is larger than %u bytes", where, path,
                   SCALAR_MAX);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    buf[n] = '\0';
    return buf;
}

/* Expand ${NAME}, ${file:PATH} and $${ (literal "${") in s. Returns a new string or NULL with
 * err set; errors name the key (the nearest enclosing one for list items) but never a value.
 * *secret is set when anything was substituted. */
static char *substitute(const char *s, const char *key, const char *file, int line, int col,
                        int *secret, struct fy_err *err)
{
    char where[300];
    struct fy_buf b;
    const char *p = s;

    if (key != NULL) {
        snprintf(where, sizeof(where), "%s:%d:%d: '%.100s': ", file, line, col, key);
    } else {
        snprintf(where, sizeof(where), "%s:%d:%d: ", file, line, col);
    }
    fy_buf_init(&b, SCALAR_MAX);
    if (fy_buf_add(&b, "", 0) != FY_OK) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    while (*p != '\0') {
        const char *end;
        char name[256];
        size_t len;
        int rc;

        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            rc = fy_buf_add(&b, "${", 2);
            p += 3;
        } else if (p[0] == '$' && p[1] == '{') {
            end = strchr(p + 2, '}');
            len = end != NULL ? (size_t)(end - (p + 2)) : 0;
            if (end == NULL || len == 0 || len >= sizeof(name)) {
                fy_buf_free(&b);
                fy_err_set(err, FY_ECONFIG, "%sunterminated or empty ${...} (expected ${NAME}, "
                           "${file:PATH}, or $${ for a literal ${)", where);
                return NULL;
            }
            memcpy(name, p + 2, len);
            name[len] = '\0';
            if (strncmp(name, "file:", 5) == 0) {
                char *v = read_secret(name + 5, where, err);
                if (v == NULL) {
                    fy_buf_free(&b);
                    return NULL;
                }
                rc = fy_buf_addstr(&b, v);
                free(v);
            } else {
                const char *v = getenv(name);
                if (v == NULL) {
                    fy_buf_free(&b);
                    fy_err_set(err, FY_ECONFIG, "%senvironment variable %s is not set (set it, or "
                               "write $${ for a literal ${)", where, name);
                    return NULL;
                }
                if (strchr(v, '\n') != NULL || strchr(v, '\r') != NULL) {
                    fy_buf_free(&b);
                    fy_err_set(err, FY_ECONFIG, "%senvironment variable %s contains a newline "
                               "(expected one line; value not shown)", where, name);
                    return NULL;
                }
                rc = fy_buf_addstr(&b, v);
            }
            *secret = 1;
            p = end + 1;
        } else {
            rc = fy_buf_add(&b, p, 1);
            p++;
        }
        if (rc != FY_OK) {
            fy_err_set(err, rc == FY_ENOMEM ? FY_ENOMEM : FY_ECONFIG,
                       "%svalue longer than %u bytes after substitution", where, SCALAR_MAX);
            return NULL;
        }
    }
    return fy_buf_steal(&b, NULL);
}

struct parser {
    yaml_parser_t yp;
    const char *file;
    struct fy_err *err;
    int depth;
};

/* "FILE:LINE:COL: <libyaml problem> (<context> at LINE:COL)" at the problem's position. */
static int yaml_fail(struct parser *ps)
{
    const yaml_parser_t *yp = &ps->yp;
    const char *problem = yp->problem != NULL ? yp->problem : "invalid YAML";

    if (yp->error == YAML_MEMORY_ERROR) {
        return fy_err_set(ps->err, FY_ENOMEM, "%s: out of memory while parsing", ps->file);
    }
    if (yp->context != NULL) {
        return fy_err_set(ps->err, FY_ECONFIG, "%s:%zu:%zu: %s (%s at %zu:%zu; YAML syntax)",
                          ps->file, yp->problem_mark.line + 1, yp->problem_mark.column + 1,
                          problem, yp->context, yp->context_mark.line + 1,
                          yp->context_mark.column + 1);
    }
    return fy_err_set(ps->err, FY_ECONFIG, "%s:%zu:%zu: %s (YAML syntax)", ps->file,
                      yp->problem_mark.line + 1, yp->problem_mark.column + 1, problem);
}

static struct fy_node *new_node(struct parser *ps, enum fy_node_type t, const yaml_mark_t *m)
{
    struct fy_node *n = calloc(1, sizeof(*n));

    if (n == NULL) {
        fy_err_set(ps->err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    n->type = t;
    n->file = ps->file;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

static struct fy_node *parse_node(struct parser *ps, yaml_event_t *ev, const char *key);

/* Children of a sequence or mapping until its end event; own_key is the parent's key (list
 * items are reported under it). */
static int parse_children(struct parser *ps, struct fy_node *parent, const char *own_key)
{
    struct fy_node **tail = &parent->child;

    for (;;) {
        yaml_event_t ev;
        struct fy_node *child;
        char *key = NULL;
        int kl = 0, kc = 0;

        if (!yaml_parser_parse(&ps->yp, &ev)) {
            return yaml_fail(ps);
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return FY_OK;
        }
        if (parent->type == FY_NODE_MAP) {
            const struct fy_node *dup;
            if (ev.type != YAML_SCALAR_EVENT) {
                int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
                yaml_event_delete(&ev);
                return fy_err_set(ps->err, FY_ECONFIG, "%s:%d:%d: a map key must be a plain "
                                  "string", ps->file, line, col);
            }
            key = strdup((const char *)ev.data.scalar.value);
            kl = (int)ev.start_mark.line + 1;
            kc = (int)ev.start_mark.column + 1;
            yaml_event_delete(&ev);
            if (key == NULL) {
                return fy_err_set(ps->err, FY_ENOMEM, "out of memory");
            }
            dup = fy_conf_get(parent, key);
            if (dup != NULL) {
                int rc = fy_err_set(ps->err, FY_ECONFIG, "%s:%d:%d: duplicate key '%s' (first "
                                    "at %d:%d)", ps->file, kl, kc, key, dup->key_line,
                                    dup->key_col);
                free(key);
                return rc;
            }
            if (!yaml_parser_parse(&ps->yp, &ev)) {
                free(key);
                return yaml_fail(ps);
            }
        }
        /* list items are reported under the key of their list */
        child = parse_node(ps, &ev, key != NULL ? key : own_key);
        yaml_event_delete(&ev);
        if (child == NULL) {
            free(key);
            return ps->err->code;
        }
        child->key = key;
        child->key_line = kl;
        child->key_col = kc;
        *tail = child;
        tail = &child->next;
        parent->n_children++;
    }
}

/* Build a node from ev (not deleted here); key names it in substitution errors. */
static struct fy_node *parse_node(struct parser *ps, yaml_event_t *ev, const char *key)
{
    struct fy_node *n;

    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = new_node(ps, FY_NODE_SCALAR, &ev->start_mark);
        if (n == NULL) {
            return NULL;
        }
        n->value = substitute((const char *)ev->data.scalar.value, key, ps->file, n->line,
                              n->col, &n->secret, ps->err);
        if (n->value == NULL) {
            free(n);
            return NULL;
        }
        return n;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (++ps->depth > DEPTH_MAX) {
            fy_err_set(ps->err, FY_ECONFIG, "%s:%zu:%zu: nested deeper than %d levels", ps->file,
                       ev->start_mark.line + 1, ev->start_mark.column + 1, DEPTH_MAX);
            return NULL;
        }
        n = new_node(ps, ev->type == YAML_SEQUENCE_START_EVENT ? FY_NODE_SEQ : FY_NODE_MAP,
                     &ev->start_mark);
        if (n == NULL) {
            return NULL;
        }
        if (parse_children(ps, n, key) != FY_OK) {
            node_free(n);
            return NULL;
        }
        ps->depth--;
        return n;
    case YAML_ALIAS_EVENT:
        fy_err_set(ps->err, FY_ECONFIG, "%s:%zu:%zu: YAML alias '*%s' is not supported "
                   "(expected the value written out; anchors and aliases are not expanded)",
                   ps->file, ev->start_mark.line + 1, ev->start_mark.column + 1,
                   (const char *)ev->data.alias.anchor);
        return NULL;
    default:
        fy_err_set(ps->err, FY_ECONFIG, "%s:%zu:%zu: unexpected YAML event", ps->file,
                   ev->start_mark.line + 1, ev->start_mark.column + 1);
        return NULL;
    }
}

struct fy_node *fy_conf_parse(const char *text, size_t len, const char *name, struct fy_err *err)
{
    struct parser ps;
    struct fy_err local = {0};
    struct fy_node *root = NULL;
    char *file;
    yaml_event_t ev;
    int done = 0;

    if (err == NULL) {
        err = &local; /* the parser reads err->code back */
    }
    if (text == NULL) {
        fy_err_set(err, FY_EINVAL, "no text to parse");
        return NULL;
    }
    file = strdup(name != NULL ? name : "<config>");
    if (file == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    memset(&ps, 0, sizeof(ps));
    ps.file = file;
    ps.err = err;
    if (!yaml_parser_initialize(&ps.yp)) {
        free(file);
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&ps.yp, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&ps.yp, &ev)) {
            yaml_fail(&ps);
            goto fail;
        }
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (root != NULL) {
                fy_err_set(err, FY_ECONFIG, "%s:%zu:%zu: only one YAML document is allowed",
                           file, ev.start_mark.line + 1, ev.start_mark.column + 1);
                yaml_event_delete(&ev);
                goto fail;
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            root = parse_node(&ps, &ev, NULL);
            if (root == NULL) {
                yaml_event_delete(&ev);
                goto fail;
            }
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&ps.yp);
    if (root == NULL) {
        /* An empty file is an empty map. */
        yaml_mark_t m = {0, 0, 0};
        root = new_node(&ps, FY_NODE_MAP, &m);
        if (root == NULL) {
            free(file);
            return NULL;
        }
    }
    return root; /* root->file owns the name (freed by fy_conf_free) */
fail:
    yaml_parser_delete(&ps.yp);
    node_free(root);
    free(file);
    return NULL;
}

struct fy_node *fy_conf_load(const char *path, struct fy_err *err)
{
    struct fy_node *root;
    struct stat st;
    FILE *f;
    char *text;
    size_t n;

    if (path == NULL) {
        fy_err_set(err, FY_EINVAL, "no configuration file given");
        return NULL;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        fy_err_set(err, FY_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || (size_t)st.st_size > CONF_MAX_BYTES) {
        fclose(f);
        fy_err_set(err, FY_ECONFIG, "%s: larger than %u bytes", path, CONF_MAX_BYTES);
        return NULL;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL) {
        fclose(f);
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    n = fread(text, 1, (size_t)st.st_size, f);
    fclose(f);
    text[n] = '\0';
    root = fy_conf_parse(text, n, path, err);
    free(text);
    return root;
}
