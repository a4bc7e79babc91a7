/* err.c - error words and the fy_err carrier. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
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
