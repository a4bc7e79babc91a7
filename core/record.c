/* record.c - binary encoding of journal records: version byte, then length-prefixed
 * NUL-terminated strings, little-endian integers. The decoder is bounds-checked (fuzzed). */
#include "core/record.h"

#include <string.h>

#define RECORD_VERSION 1
#define STR_MAX (64u << 20)

static int put_u32(struct fy_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return fy_buf_add(b, x, 4);
}

static int put_str(struct fy_buf *b, const char *s, size_t len)
{
    int rc;

    if (len + 1 > STR_MAX) {
        return FY_ETOOBIG;
    }
    rc = put_u32(b, (uint32_t)len + 1);
    if (rc == FY_OK) {
        rc = fy_buf_add(b, s != NULL ? s : "", len);
    }
    return rc == FY_OK ? fy_buf_add(b, "", 1) : rc;
}

static size_t slen(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

int fy_record_encode(const struct fy_record *rec, struct fy_buf *out)
{
    unsigned char head[9];
    uint64_t t = (uint64_t)rec->created_ms;
    size_t i;
    int rc;

    if (rec->n_dests > FY_RECORD_MAX_DESTS) {
        return FY_EINVAL;
    }
    head[0] = RECORD_VERSION;
    for (i = 0; i < 8; i++) {
        head[1 + i] = (unsigned char)(t >> (8 * i));
    }
    rc = fy_buf_add(out, head, sizeof(head));
    if (rc == FY_OK) rc = put_str(out, rec->id, slen(rec->id));
    if (rc == FY_OK) rc = put_str(out, rec->key, slen(rec->key));
    if (rc == FY_OK) rc = put_str(out, rec->rec_type, slen(rec->rec_type));
    if (rc == FY_OK) rc = put_str(out, rec->event_type, slen(rec->event_type));
    if (rc == FY_OK) rc = put_str(out, rec->body, rec->body_len);
    if (rc == FY_OK) rc = put_u32(out, (uint32_t)rec->n_dests);
    for (i = 0; rc == FY_OK && i < rec->n_dests; i++) {
        rc = put_str(out, rec->dests[i].sink, slen(rec->dests[i].sink));
        if (rc == FY_OK) {
            rc = put_str(out, rec->dests[i].dest, slen(rec->dests[i].dest));
        }
    }
    return rc;
}

struct rd {
    const unsigned char *p;
    size_t left;
};

static int get_u32(struct rd *r, uint32_t *v)
{
    if (r->left < 4) {
        return -1;
    }
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    r->left -= 4;
    return 0;
}

static int get_str(struct rd *r, const char **s, size_t *len)
{
    uint32_t n;

    if (get_u32(r, &n) != 0 || n == 0 || n > r->left || r->p[n - 1] != '\0') {
        return -1;
    }
    /* names and ids are C strings: a NUL inside would make them differ from what was written
     * (the body, whose length is explicit, may hold any byte) */
    if (len == NULL && memchr(r->p, '\0', n - 1) != NULL) {
        return -1;
    }
    *s = (const char *)r->p;
    if (len != NULL) {
        *len = n - 1;
    }
    r->p += n;
    r->left -= n;
    return 0;
}

int fy_record_decode(const void *data, size_t len, struct fy_record *rec, struct fy_err *err)
{
    struct rd r = {data, len};
    uint64_t t = 0;
    uint32_t n;
    size_t i;

    memset(rec, 0, sizeof(*rec));
    if (data == NULL || len < 9) {
        return fy_err_set(err, FY_ECORRUPT, "record too short (%zu bytes)", len);
    }
    if (r.p[0] != RECORD_VERSION) {
        return fy_err_set(err, FY_ECORRUPT, "unsupported record version %u", r.p[0]);
    }
    for (i = 0; i < 8; i++) {
        t |= (uint64_t)r.p[1 + i] << (8 * i);
    }
    rec->created_ms = (int64_t)t;
    r.p += 9;
    r.left -= 9;
    if (get_str(&r, &rec->id, NULL) || get_str(&r, &rec->key, NULL) ||
        get_str(&r, &rec->rec_type, NULL) || get_str(&r, &rec->event_type, NULL) ||
        get_str(&r, &rec->body, &rec->body_len) || get_u32(&r, &n) ||
        n > FY_RECORD_MAX_DESTS) {
        memset(rec, 0, sizeof(*rec));
        return fy_err_set(err, FY_ECORRUPT, "record truncated or malformed");
    }
    rec->n_dests = n;
    for (i = 0; i < n; i++) {
        if (get_str(&r, &rec->dests[i].sink, NULL) || get_str(&r, &rec->dests[i].dest, NULL)) {
            memset(rec, 0, sizeof(*rec));
            return fy_err_set(err, FY_ECORRUPT, "record destinations truncated");
        }
    }
    if (r.left != 0) {
        memset(rec, 0, sizeof(*rec));
        return fy_err_set(err, FY_ECORRUPT, "%zu trailing bytes after the record", r.left);
    }
    return FY_OK;
}

const char *fy_record_dest_for(const struct fy_record *rec, const char *sink)
{
    size_t i;

    for (i = 0; i < rec->n_dests; i++) {
        if (strcmp(rec->dests[i].sink, sink) == 0) {
            return rec->dests[i].dest;
        }
    }
    return NULL;
}
