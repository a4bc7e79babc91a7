/* err.h - Ferry's one error enum, its words, and an error carrier with a reason. */
#ifndef FY_ERR_H
#define FY_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. 0 is success. Add new codes last; never renumber (they reach logs and tests). */
enum fy_rc {
    FY_OK = 0,
    FY_ENOMEM,    /* allocation failed */
    FY_EINVAL,    /* invalid argument at an API edge */
    FY_ECONFIG,   /* configuration error (message carries file:line:col) */
    FY_EDECODE,   /* input could not be decoded (bad JSON, wrong format) */
    FY_EAGAIN,    /* temporarily full or unavailable; try again later */
    FY_EIO,       /* I/O error (errno text in the message) */
    FY_ETIMEOUT,  /* timed out */
    FY_ETOOBIG,   /* over a configured size limit */
    FY_ENOTFOUND, /* no such item */
    FY_ECORRUPT,  /* on-disk data failed a check (CRC, framing) */
    FY_EFULL,     /* quota reached (journal full) */
    FY_ECLOSED,   /* object is shutting down */
    FY_EREJECT,   /* permanently rejected by a remote */
    FY_ERC_MAX
};

/* Return the constant words for rc ("out of memory", ...); never NULL. */
const char *fy_strerror(int rc);

/* An error code plus a reason a person can read (RK errstr, 256 bytes like CURL_ERROR_SIZE). */
struct fy_err {
    int code;
    char msg[256];
};

/* Set err (may be NULL) to code and a printf-style reason; returns code, so callers can
 * `return fy_err_set(err, FY_EINVAL, "...")`. */
int fy_err_set(struct fy_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix err->msg with a printf-style context ("sink 'main': "); keeps the code. */
void fy_err_prefix(struct fy_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reset to FY_OK and empty message. */
void fy_err_clear(struct fy_err *err);

/* Several errors found in one pass (`ferry check` reports every mistake of a file at once). */
#define FY_ERRLIST_MAX 20
struct fy_errlist {
    struct fy_err items[FY_ERRLIST_MAX];
    size_t n;         /* kept in items */
    size_t dropped;   /* found beyond FY_ERRLIST_MAX */
};

/* Append a copy of err (an identical message twice in a row is kept once). */
void fy_errlist_add(struct fy_errlist *l, const struct fy_err *err);
/* Order by the "FILE:LINE:COL: " position each message starts with (messages without one
 * keep their place at the front); stable. */
void fy_errlist_sort(struct fy_errlist *l);

#ifdef __cplusplus
}
#endif

#endif
