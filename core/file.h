/* file.h - read a whole file into memory, with a size limit. */
#ifndef FY_FILE_H
#define FY_FILE_H

#include "core/err.h"

#include <stddef.h>

/* Read path into a new NUL-terminated buffer (caller frees with free()); *len (may be NULL)
 * gets the byte count. NULL + err (FY_EIO with the errno text, FY_ETOOBIG past max bytes). */
char *fy_file_read(const char *path, size_t max, size_t *len, struct fy_err *err);

#endif
