/* utf8.h - UTF-8 validation and repair (RFC 3629): every envelope Ferry writes is valid UTF-8
 * JSON (RFC 8259), whatever bytes a network server or a device put into a string. */
#ifndef FY_UTF8_H
#define FY_UTF8_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* 1 when s[0..len) is well-formed UTF-8: no overlong forms, no surrogates (U+D800..DFFF), no
 * code point above U+10FFFF, no truncated sequence. */
int fy_utf8_valid(const char *s, size_t len);

/* A copy of the NUL-terminated s with each ill-formed sequence replaced by U+FFFD (the
 * "maximal subpart" practice of Unicode 15 section 3.9). Caller frees with free(); NULL on
 * ENOMEM. */
char *fy_utf8_repair(const char *s);

/* Cut a truncated sequence off the end of s (after a byte-limited copy). */
void fy_utf8_truncate(char *s);

/* Repair every string value and object key of the tree in place. Returns the number of
 * strings that were changed; -1 on ENOMEM (the tree is then partly repaired). */
long fy_utf8_repair_json(cJSON *node);

#endif
