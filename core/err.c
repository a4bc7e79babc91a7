/* err.c - error words and the fy_err carrier. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[FY_ERC_MAX] = {
    [FY_OK] = "success",
    [FY_ENOMEM] = "out of memory",
    [FY_EINVAL] = "invalid argument",
    [FY_ECONFIG] = "configuration error",
    [FY_EDECODE] = "decode error",
    [FY_EAGAIN] = "temporarily unavailable",
    [FY_EIO] = "I/O error",
    [FY_ETIMEOUT] = "timed out",
    [FY_ETOOBIG] = "too big",
    [FY_ENOTFOUND] = "not found",
    [FY_ECORRUPT] = "corrupt data",
    [FY_EFULL] = "full",
    [FY_ECLOSED] = "closed",
    [FY_EREJECT] = "rejected",
};

const char *fy_strerror(int rc)
{
    if (rc < 0 || rc >= FY_ERC_MAX || words[rc] == NULL) {
        return "unknown error";
    }
    return words[rc];
}

int fy_err_set(struct fy_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void fy_err_prefix(struct fy_err *err, const char *fmt, ...)
{
    char pre[128];
    size_t plen, mlen;
    va_list ap;
    int n;

    if (err == NULL) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    if (n <= 0) {
        return;
    }
    plen = strlen(pre);
    mlen = strnlen(err->msg, sizeof(err->msg) - 1);
    if (plen + mlen > sizeof(err->msg) - 1) {
        mlen = sizeof(err->msg) - 1 - plen; /* keep the prefix, cut the tail of the reason */
    }
    memmove(err->msg + plen, err->msg, mlen);
    memcpy(err->msg, pre, plen);
    err->msg[plen + mlen] = '\0';
}

void fy_err_clear(struct fy_err *err)
{
    if (err != NULL) {
        err->code = FY_OK;
        err->msg[0] = '\0';
    }
}

void fy_errlist_add(struct fy_errlist *l, const struct fy_err *err)
{
    if (l->n > 0 && strcmp(l->items[l->n - 1].msg, err->msg) == 0) {
        return;
    }
    if (l->n >= FY_ERRLIST_MAX) {
        l->dropped++;
        return;
    }
    l->items[l->n++] = *err;
}

/* Line and column of "FILE:LINE:COL: ..." as one sortable number; 0 without a position. */
static long long position(const char *msg)
{
    const char *p = strstr(msg, ": ");
    long line = 0, col = 0;
    const char *c;

    if (p == NULL) {
        return 0;
    }
    /* walk back over ":LINE:COL" */
    c = p;
    while (c > msg && c[-1] >= '0' && c[-1] <= '9') {
        c--;
    }
    if (c == p || c == msg || c[-1] != ':') {
        return 0;
    }
    col = strtol(c, NULL, 10);
    c--;
    while (c > msg && c[-1] >= '0' && c[-1] <= '9') {
        c--;
    }
    if (c == msg || c[-1] != ':') {
        return 0;
    }
    line = strtol(c, NULL, 10);
    return (long long)line * 100000 + col;
}

void fy_errlist_sort(struct fy_errlist *l)
{
    size_t i, j;

    for (i = 1; i < l->n; i++) { /* insertion sort: at most 20, and stable */
        struct fy_err e = l->items[i];
        long long pe = position(e.msg);
        for (j = i; j > 0 && position(l->items[j - 1].msg) > pe; j--) {
            l->items[j] = l->items[j - 1];
        }
        l->items[j] = e;
    }
}
