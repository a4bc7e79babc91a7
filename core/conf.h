/* conf.h - a YAML file read into a tree of nodes that remember file:line:col (libyaml). */
#ifndef FY_CONF_H
#define FY_CONF_H

#include "core/err.h"

#include <stddef.h>

enum fy_node_type { FY_NODE_SCALAR, FY_NODE_MAP, FY_NODE_SEQ };

/* One node of the tree. Map entries are the children of a MAP node, each carrying its key.
 * Everything is owned by the root and freed by fy_conf_free(). */
struct fy_node {
    enum fy_node_type type;
    const char *file;       /* file name as given to the loader (shared, owned by the root) */
    int line, col;          /* 1-based position of the value */
    char *key;              /* key when this node is a map value, else NULL */
    int key_line, key_col;  /* position of the key */
    char *value;            /* scalar text after ${ENV} substitution, else NULL */
    int secret;             /* 1 if any part came from ${ENV} or a file: never log the value */
    struct fy_node *child;  /* first child (MAP/SEQ) */
    struct fy_node *next;   /* next sibling */
    size_t n_children;
};

/* Read and parse a YAML file. ${NAME} in scalars is replaced by the environment variable
 * (unset or containing a newline is an error naming the key and file:line). Returns the root
 * (caller frees with fy_conf_free) or NULL with err set to "FILE:LINE:COL: reason". */
struct fy_node *fy_conf_load(const char *path, struct fy_err *err);

/* Same from memory; name is used in messages. */
struct fy_node *fy_conf_parse(const char *text, size_t len, const char *name, struct fy_err *err);

/* NULL-safe. */
void fy_conf_free(struct fy_node *root);

/* Child of a MAP by key, or NULL. */
const struct fy_node *fy_conf_get(const struct fy_node *map, const char *key);

/* Set err to FY_ECONFIG with "FILE:LINE:COL: <formatted reason>" at node at (key position
 * when at is a map value and use_key is set). Returns FY_ECONFIG. */
int fy_conf_error(struct fy_err *err, const struct fy_node *at, int use_key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
