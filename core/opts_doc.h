/* opts_doc.h - an option table as a person reads it: `ferry help KIND NAME` (text), the tables
 * in docs/ (Markdown, generated and checked against the binary in CI), `--json`. The table is
 * the single source of truth for the validator, the help text and the docs. */
#ifndef FY_OPTS_DOC_H
#define FY_OPTS_DOC_H

#include "core/opts.h"

#include <stdio.h>

enum fy_opts_doc_format { FY_OPTS_DOC_TEXT = 0, FY_OPTS_DOC_MARKDOWN, FY_OPTS_DOC_JSON };

/* Write every option of tbl (may be NULL: "no options") to out. */
void fy_opts_doc(const struct fy_opt *tbl, enum fy_opts_doc_format fmt, FILE *out);

/* "string", "integer", "boolean", "one of", "map or list", "map". */
const char *fy_opts_doc_type(const struct fy_opt *o);
/* The unit its name says ("ms" for *_ms, "bytes" for *_bytes, ...), "" when none. */
const char *fy_opts_doc_unit(const struct fy_opt *o);

#endif
