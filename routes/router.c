/* router.c - the routing table compiled into a trie over topic levels.
 *
 * Each trie node is one topic level; literal children are kept sorted for binary search, the
 * '+' child apart, and '#' filters are recorded on the node they hang from. A lookup walks
 * the topic's levels once (following literal and '+' children), so its cost depends on the
 * topic's depth and on how many filters overlap, not on the number of routes. */
#include "routes/router.h"

#include "routes/topic.h"

#include <stdlib.h>
#include <string.h>

/* Matches collected on the stack before the lookup falls back to the heap. */
#define COLLECT_STACK 64

struct tnode {
    char *level;
    struct tnode **kids;      /* literal children, sorted by level */
    size_t n_kids;
    struct tnode *plus;       /* '+' child */
    size_t *exact;            /* routes whose filter ends at this node */
    size_t n_exact;
    size_t *hash;             /* routes whose filter is "<this node>/#" */
    size_t n_hash;
};

struct fy_router {
    struct tnode root;
    size_t n;
    char **sources;           /* per route: source filter or NULL */
    int *final;
};

static void tnode_free(struct tnode *t)
{
    size_t i;

    for (i = 0; i < t->n_kids; i++) {
        tnode_free(t->kids[i]);
        free(t->kids[i]);
    }
    if (t->plus != NULL) {
        tnode_free(t->plus);
        free(t->plus);
    }
    free(t->kids);
    free(t->exact);
    free(t->hash);
    free(t->level);
}

void fy_router_destroy(struct fy_router *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    tnode_free(&r->root);
    for (i = 0; r->sources != NULL && i < r->n; i++) {
        free(r->sources[i]);
    }
    free(r->sources);
    free(r->final);
    free(r);
}

static int push(size_t **arr, size_t *n, size_t v)
{
    size_t *p = realloc(*arr, (*n + 1) * sizeof(**arr));

    if (p == NULL) {
        return -1;
    }
    p[(*n)++] = v;
    *arr = p;
    return 0;
}

/* Binary search for a literal child; *pos receives the insertion point. */
static struct tnode *find_kid(const struct tnode *t, const char *lvl, size_t len, size_t *pos)
{
    size_t lo = 0, hi = t->n_kids;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *k = t->kids[mid]->level;
        size_t kl = strlen(k);
        int c = memcmp(k, lvl, kl < len ? kl : len);
        if (c == 0) {
            c = kl < len ? -1 : kl > len ? 1 : 0;
        }
        if (c == 0) {
            *pos = mid;
            return t->kids[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return NULL;
}

static struct tnode *child_for(struct tnode *t, const char *lvl, size_t len)
{
    struct tnode *k;
    struct tnode **kids;
    size_t pos;

    if (len == 1 && lvl[0] == '+') {
        if (t->plus == NULL) {
            t->plus = calloc(1, sizeof(*t->plus));
        }
        return t->plus;
    }
    k = find_kid(t, lvl, len, &pos);
    if (k != NULL) {
        return k;
    }
    k = calloc(1, sizeof(*k));
    kids = realloc(t->kids, (t->n_kids + 1) * sizeof(*kids));
    if (k == NULL || kids == NULL) {
        free(k);
        if (kids != NULL) {
            t->kids = kids;
        }
        return NULL;
    }
    k->level = strndup(lvl, len);
    if (k->level == NULL) {
        free(k);
        t->kids = kids;
        return NULL;
    }
    memmove(kids + pos + 1, kids + pos, (t->n_kids - pos) * sizeof(*kids));
    kids[pos] = k;
    t->kids = kids;
    t->n_kids++;
    return k;
}

static int insert(struct fy_router *r, const char *filter, size_t idx)
{
    struct tnode *t = &r->root;
    const char *p = fy_topic_unshare(filter);

    for (;;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);

        if (len == 1 && p[0] == '#') {
            return push(&t->hash, &t->n_hash, idx);
        }
        t = child_for(t, p, len);
        if (t == NULL) {
            return -1;
        }
        if (e == NULL) {
            return push(&t->exact, &t->n_exact, idx);
        }
        p = e + 1;
    }
}

struct fy_router *fy_router_create(const struct fy_router_entry *e, size_t n, struct fy_err *err)
{
    struct fy_router *r = calloc(1, sizeof(*r));
    size_t i;

    if (r == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    r->n = n;
    r->sources = calloc(n ? n : 1, sizeof(*r->sources));
    r->final = calloc(n ? n : 1, sizeof(*r->final));
    if (r->sources == NULL || r->final == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    for (i = 0; i < n; i++) {
        if (fy_topic_filter_check(e[i].filter, err) != FY_OK) {
            fy_err_prefix(err, "route %zu: ", i + 1);
            goto fail;
        }
        if (e[i].source != NULL && (r->sources[i] = strdup(e[i].source)) == NULL) {
            fy_err_set(err, FY_ENOMEM, "out of memory");
            goto fail;
        }
        r->final[i] = e[i].final;
        if (insert(r, e[i].filter, i) != 0) {
            fy_err_set(err, FY_ENOMEM, "out of memory");
            goto fail;
        }
    }
    return r;
fail:
    fy_router_destroy(r);
    return NULL;
}

/* ==== lookup ==== */

struct walk {
    struct fy_route_match *found;  /* the stack buffer, or heap once it overflows */
    size_t n_found;
    size_t cap_found;
    int heap;                      /* found is malloc'ed */
    int oom;                       /* growing failed: the result is incomplete */
    const char *cap[FY_ROUTER_MAX_CAPS];
    size_t cap_len[FY_ROUTER_MAX_CAPS];
    int n_caps;                    /* captures recorded (at most FY_ROUTER_MAX_CAPS) */
};

/* Make room for one more match; the first overflow copies the stack buffer to the heap. */
static int grow(struct walk *w)
{
    struct fy_route_match *p;
    size_t cap;

    if (w->n_found < w->cap_found) {
        return 0;
    }
    cap = w->cap_found * 2;
    if (w->heap) {
        p = realloc(w->found, cap * sizeof(*p));
    } else {
        p = malloc(cap * sizeof(*p));
        if (p != NULL) {
            memcpy(p, w->found, w->n_found * sizeof(*p));
        }
    }
    if (p == NULL) {
        w->oom = 1;
        return -1;
    }
    w->found = p;
    w->cap_found = cap;
    w->heap = 1;
    return 0;
}

static void record(struct walk *w, const size_t *routes, size_t n, const char *rest,
                   size_t rest_len, int with_rest)
{
    size_t i;

    for (i = 0; i < n && grow(w) == 0; i++) {
        struct fy_route_match *m = &w->found[w->n_found++];
        int c;
        m->route = routes[i];
        m->n_caps = w->n_caps;
        for (c = 0; c < w->n_caps; c++) {
            m->cap[c] = w->cap[c];
            m->cap_len[c] = w->cap_len[c];
        }
        if (with_rest && m->n_caps < FY_ROUTER_MAX_CAPS) {
            m->cap[m->n_caps] = rest;
            m->cap_len[m->n_caps] = rest_len;
            m->n_caps++;
        }
    }
}

/* t has consumed the levels before p (p == NULL: the topic is exhausted). */
static void walk(const struct tnode *t, const char *p, int first, struct walk *w)
{
    const char *e;
    size_t len;
    size_t pos;
    const struct tnode *k;

    if (p == NULL) {
        record(w, t->exact, t->n_exact, NULL, 0, 0);
        record(w, t->hash, t->n_hash, "", 0, 1); /* "a/#" matches "a" */
        return;
    }
    if (!(first && *p == '$')) {
        record(w, t->hash, t->n_hash, p, strlen(p), 1);
    }
    e = strchr(p, '/');
    len = e ? (size_t)(e - p) : strlen(p);
    k = find_kid(t, p, len, &pos);
    if (k != NULL) {
        walk(k, e ? e + 1 : NULL, 0, w);
    }
    if (t->plus != NULL && !(first && *p == '$')) {
        /* A filter with more '+' levels than FY_ROUTER_MAX_CAPS still matches; only the
         * first FY_ROUTER_MAX_CAPS levels are captured. */
        int captured = w->n_caps < FY_ROUTER_MAX_CAPS;
        if (captured) {
            w->cap[w->n_caps] = p;
            w->cap_len[w->n_caps] = len;
            w->n_caps++;
        }
        walk(t->plus, e ? e + 1 : NULL, 0, w);
        if (captured) {
            w->n_caps--;
        }
    }
}

static int by_route(const void *a, const void *b)
{
    size_t x = ((const struct fy_route_match *)a)->route;
    size_t y = ((const struct fy_route_match *)b)->route;
    return (x > y) - (x < y);
}

size_t fy_router_match(const struct fy_router *r, const char *topic, const char *source,
                       struct fy_route_match *out, size_t max)
{
    struct fy_route_match stack[COLLECT_STACK];
    const struct fy_route_match *found;
    struct walk w;
    size_t i, n = 0;

    if (r == NULL || topic == NULL || *topic == '\0' || out == NULL || max == 0) {
        return 0;
    }
    memset(&w, 0, sizeof(w));
    w.found = stack;
    w.cap_found = COLLECT_STACK;
    walk(&r->root, topic, 1, &w);
    /* The walk visits the trie, not the table: put the matches back in table order. */
    qsort(w.found, w.n_found, sizeof(w.found[0]), by_route);
    found = w.found;
    if (w.oom) {
        /* Out of memory with more than COLLECT_STACK matches: a partial list would break
         * table order and `final`, so report no match (the caller counts it as unmatched). */
        w.n_found = 0;
    }
    for (i = 0; i < w.n_found && n < max; i++) {
        const char *want = r->sources[found[i].route];
        if (want != NULL && (source == NULL || strcmp(want, source) != 0)) {
            continue;
        }
        if (n > 0 && out[n - 1].route == found[i].route) {
            continue; /* the same filter reached twice cannot happen, but stay safe */
        }
        out[n++] = found[i];
        if (r->final[found[i].route]) {
            break;
        }
    }
    if (w.heap) {
        free(w.found);
    }
    return n;
}

/* ==== destinations: a route's topic template, expanded for one message ==== */

struct dest_vars {
    const char *const *vars;
    const struct fy_route_match *m;
};

static int dest_lookup(void *arg, const char *name, size_t len, const char **val,
                       size_t *val_len)
{
    const struct dest_vars *d = arg;
    size_t i;

    if (len == 1 && name[0] >= '1' && name[0] <= '8') {
        int ci = name[0] - '1';
        if (d->m == NULL || ci >= d->m->n_caps) {
            return FY_ENOTFOUND;
        }
        *val = d->m->cap[ci];
        *val_len = d->m->cap_len[ci];
        return FY_OK;
    }
    for (i = 0; d->vars != NULL && d->vars[i] != NULL; i += 2) {
        if (strlen(d->vars[i]) == len && memcmp(d->vars[i], name, len) == 0) {
            *val = d->vars[i + 1];
            *val_len = *val != NULL ? strlen(*val) : 0;
            return FY_OK;
        }
    }
    return FY_EINVAL;
}

int fy_template_expand(const char *tpl, const char *const *vars, const struct fy_route_match *m,
                       char *out, size_t out_size, struct fy_err *err)
{
    struct dest_vars d = {vars, m};
    struct fy_buf b;
    int rc;

    if (out == NULL || out_size == 0) {
        return fy_err_set(err, FY_EINVAL, "invalid argument");
    }
    out[0] = '\0';
    fy_buf_init(&b, out_size);
    rc = fy_template_render(tpl, dest_lookup, &d, FY_TEMPLATE_RAW, out_size, &b, err);
    if (rc == FY_OK) {
        memcpy(out, b.data, b.len + 1);
    }
    fy_buf_free(&b);
    return rc;
}
