/* buf.h - a growable byte buffer with a hard maximum (curl's dynbuf shape, STYLE C8). */
#ifndef FY_BUF_H
#define FY_BUF_H

#include <stddef.h>

struct fy_buf {
    char *data;   /* always NUL-terminated when non-NULL; owned */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated */
    size_t max;   /* hard limit on len; going over is FY_ETOOBIG and the buffer frees itself */
};

/* Start empty with a maximum size; allocates nothing yet. */
void fy_buf_init(struct fy_buf *b, size_t max);
/* Append n bytes. FY_ETOOBIG or FY_ENOMEM on failure, after which the buffer is freed (empty). */
int fy_buf_add(struct fy_buf *b, const void *p, size_t n);
int fy_buf_addstr(struct fy_buf *b, const char *s);
int fy_buf_printf(struct fy_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empty without freeing. */
void fy_buf_reset(struct fy_buf *b);
/* Free the memory; the buffer may be reused after fy_buf_init. */
void fy_buf_free(struct fy_buf *b);
/* Take ownership of the data (caller frees with free()); the buffer is left empty. */
char *fy_buf_steal(struct fy_buf *b, size_t *len);

#endif
