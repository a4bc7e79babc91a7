/* utf8.c - see utf8.h. */
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed sequence at s (n bytes left), 0 when ill-formed. For an
 * ill-formed one, *bad is the length of its maximal subpart (at least 1), which one U+FFFD
 * replaces. */
static size_t seq_len(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need, i;

    *bad = 1;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80; /* no overlong */
        hi = c == 0xF4 ? 0x8F : 0xBF; /* not above U+10FFFF */
    } else {
        return 0; /* 80..C1, F5..FF never start a sequence */
    }
    for (i = 1; i <= need; i++) {
        unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xBF;
        if (i >= n || s[i] < lo_i || s[i] > hi_i) {
            *bad = i;
            return 0;
        }
    }
    return need + 1;
}

int fy_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, bad, k;

    while (i < len) {
        k = seq_len(p + i, len - i, &bad);
        if (k == 0) {
            return 0;
        }
        i += k;
    }
    return 1;
}

char *fy_utf8_repair(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, o = 0, bad, k;
    char *out = malloc(len * 3 + 1); /* each bad byte becomes at most 3 bytes */

    if (out == NULL) {
        return NULL;
    }
    while (i < len) {
        k = seq_len(p + i, len - i, &bad);
        if (k > 0) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    out[o] = '\0';
    return out;
}

/* Repair *s (allocated by cJSON) in place; 1 when it changed, 0 when it was fine, -1 ENOMEM. */
static int repair_field(char **s)
{
    char *fixed, *copy;
    size_t n;

    if (*s == NULL || fy_utf8_valid(*s, strlen(*s))) {
        return 0;
    }
    fixed = fy_utf8_repair(*s);
    if (fixed == NULL) {
        return -1;
    }
    n = strlen(fixed) + 1;
    copy = cJSON_malloc(n); /* the tree frees it with cJSON's allocator */
    if (copy == NULL) {
        free(fixed);
        return -1;
    }
    memcpy(copy, fixed, n);
    free(fixed);
    cJSON_free(*s);
    *s = copy;
    return 1;
}

long fy_utf8_repair_json(cJSON *node)
{
    long changed = 0;
    int r;

    for (; node != NULL; node = node->next) {
        if ((node->type & cJSON_StringIsConst) == 0) {
            if ((r = repair_field(&node->string)) < 0) {
                return -1;
            }
            changed += r;
        }
        if (cJSON_IsString(node) || cJSON_IsRaw(node)) {
            if ((r = repair_field(&node->valuestring)) < 0) {
                return -1;
            }
            changed += r;
        }
        if (node->child != NULL) {
            long c = fy_utf8_repair_json(node->child);
            if (c < 0) {
                return -1;
            }
            changed += c;
        }
    }
    return changed;
}

void fy_utf8_truncate(char *s)
{
    size_t len = strlen(s), start = len, bad;
    int back;

    for (back = 0; back < 4 && start > 0; back++) {
        start--;
        if (((unsigned char)s[start] & 0xC0) != 0x80) {
            break; /* the lead byte of the last sequence (or an ASCII byte) */
        }
    }
    if (seq_len((const unsigned char *)s + start, len - start, &bad) != len - start) {
        s[start] = '\0';
    }
}
