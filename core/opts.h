/* opts.h - declarative option tables (Fluent Bit's config map shape, STYLE C11). */
#ifndef FY_OPTS_H
#define FY_OPTS_H

#include "core/conf.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

enum fy_opt_type {
    FY_OPT_T_STR,      /* char * (strdup'ed; freed by fy_opts_free) */
    FY_OPT_T_INT,      /* int64_t, bounded by min..max */
    FY_OPT_T_BOOL,     /* int 0/1; accepts true/false/yes/no/on/off */
    FY_OPT_T_ENUM,     /* int index into choices[] */
    FY_OPT_T_NODE,     /* const struct fy_node * borrowed from the tree (map/seq/scalar) */
    FY_OPT_T_PREFIX,   /* struct fy_kv_list: every key "<name>something" -> ("something", value) */
};

#define FY_REQUIRED 0x1 /* must be present */
#define FY_SECRET 0x2   /* never print the value */

struct fy_opt {
    enum fy_opt_type type;
    const char *name;            /* key in the YAML map; for PREFIX the prefix incl. '.' */
    const char *def;             /* default as text, or NULL */
    int flags;
    int64_t min, max;            /* INT bounds */
    const char *const *choices;  /* ENUM words, NULL-terminated */
    size_t offset;               /* offsetof() into the context struct */
    const char *desc;            /* one line for docs and error messages */
};

struct fy_kv {
    char *key;
    char *value;
    int line, col;      /* position of the value */
    const char *file;   /* config file name, borrowed from the conf tree (valid as long as it) */
    int secret;         /* the value came from ${ENV} or a file: never print it */
};

struct fy_kv_list {
    struct fy_kv *items;
    size_t n;
};

#define FY_OPT_STR(name, def, flags, off, desc) {FY_OPT_T_STR, name, def, flags, 0, 0, NULL, off, desc}
#define FY_OPT_INT(name, def, min, max, off, desc)                                              \
    {FY_OPT_T_INT, name, def, 0, min, max, NULL, off, desc}
#define FY_OPT_BOOL(name, def, off, desc) {FY_OPT_T_BOOL, name, def, 0, 0, 0, NULL, off, desc}
#define FY_OPT_ENUM(name, def, choices, off, desc)                                              \
    {FY_OPT_T_ENUM, name, def, 0, 0, 0, choices, off, desc}
#define FY_OPT_NODE(name, flags, off, desc) {FY_OPT_T_NODE, name, NULL, flags, 0, 0, NULL, off, desc}
#define FY_OPT_PREFIX(prefix, off, desc) {FY_OPT_T_PREFIX, prefix, NULL, 0, 0, 0, NULL, off, desc}

/* Fill ctx from map using tbl ({0}-terminated by name == NULL). Keys listed in skip
 * (NULL-terminated, may be NULL) are allowed and ignored (e.g. "name", "type" handled by the
 * caller). Unknown keys, wrong types, out-of-range values and missing required options fail
 * with FY_ECONFIG and "FILE:LINE:COL: what is wrong (what was expected)"; an unknown key
 * lists the valid ones. Defaults are applied for absent options. On error ctx may be partly
 * filled: call fy_opts_free anyway. */
int fy_opts_apply(const struct fy_opt *tbl, const struct fy_node *map, const char *const *skip,
                  void *ctx, struct fy_err *err);

/* Free what fy_opts_apply allocated in ctx (strings, kv lists). NULL-safe per field. */
void fy_opts_free(const struct fy_opt *tbl, void *ctx);

#endif
