/* buf.c - bounded growable byte buffer. */
#include "core/buf.h"

#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fy_buf_init(struct fy_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int grow(struct fy_buf *b, size_t need)
{
    size_t cap;
    char *p;

    if (need > b->max) {
        fy_buf_free(b);
        return FY_ETOOBIG;
    }
    if (need + 1 <= b->cap) {
        return FY_OK;
    }
    cap = b->cap ? b->cap : 64;
    while (cap < need + 1) {
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        fy_buf_free(b);
        return FY_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return FY_OK;
}

int fy_buf_add(struct fy_buf *b, const void *p, size_t n)
{
    int rc = grow(b, b->len + n);

    if (rc != FY_OK) {
        return rc;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return FY_OK;
}

int fy_buf_addstr(struct fy_buf *b, const char *s)
{
    return fy_buf_add(b, s, strlen(s));
}

int fy_buf_printf(struct fy_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    int rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return FY_EINVAL;
    }
    rc = grow(b, b->len + (size_t)n);
    if (rc != FY_OK) {
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return FY_OK;
}

void fy_buf_reset(struct fy_buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

void fy_buf_free(struct fy_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

char *fy_buf_steal(struct fy_buf *b, size_t *len)
{
    char *p = b->data;

    if (len != NULL) {
        *len = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
