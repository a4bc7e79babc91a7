/* dedup.c - two generations of open-addressing sets of 16-byte ids: lookups check both,
 * inserts go to the current one; when it holds window/2 ids it becomes the previous one and
 * a fresh set starts. Memory is fixed at create time. */
#include "bridge/dedup.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct gen {
    unsigned char (*keys)[16]; /* all-zero = empty slot */
    size_t n;
};

struct fy_dedup {
    pthread_mutex_t mu;
    struct gen g[2];           /* g[cur] receives inserts */
    int cur;
    size_t per_gen;            /* ids per generation */
    size_t slots;              /* power of two >= 2 * per_gen */
};

static int parse(const char *id, unsigned char out[16])
{
    size_t i;

    for (i = 0; i < 16; i++) {
        unsigned v = 0;
        int k;
        for (k = 0; k < 2; k++) {
            char c = id[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= (unsigned)(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v |= (unsigned)(c - 'a' + 10);
            } else {
                return -1;
            }
        }
        out[i] = (unsigned char)v;
    }
    out[0] |= 1; /* never all-zero: zero marks an empty slot */
    return 0;
}

struct fy_dedup *fy_dedup_create(size_t window)
{
    struct fy_dedup *d = calloc(1, sizeof(*d));

    if (d == NULL || window < 2) {
        free(d);
        return NULL;
    }
    d->per_gen = window / 2;
    d->slots = 16;
    while (d->slots < 2 * d->per_gen) {
        d->slots *= 2;
    }
    d->g[0].keys = calloc(d->slots, 16);
    d->g[1].keys = calloc(d->slots, 16);
    if (d->g[0].keys == NULL || d->g[1].keys == NULL) {
        fy_dedup_destroy(d);
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

void fy_dedup_destroy(struct fy_dedup *d)
{
    if (d == NULL) {
        return;
    }
    free(d->g[0].keys);
    free(d->g[1].keys);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static size_t slot_of(const struct fy_dedup *d, const unsigned char k[16])
{
    uint64_t h;

    memcpy(&h, k + 4, sizeof(h)); /* the id is a SHA-256 prefix: already uniform */
    return (size_t)h & (d->slots - 1);
}

static int contains(const struct fy_dedup *d, const struct gen *g, const unsigned char k[16])
{
    size_t i = slot_of(d, k);
    static const unsigned char zero[16];

    for (;;) {
        if (memcmp(g->keys[i], k, 16) == 0) {
            return 1;
        }
        if (memcmp(g->keys[i], zero, 16) == 0) {
            return 0;
        }
        i = (i + 1) & (d->slots - 1);
    }
}

static void insert(struct fy_dedup *d, const unsigned char k[16])
{
    static const unsigned char zero[16];
    struct gen *g = &d->g[d->cur];
    size_t i;

    if (g->n >= d->per_gen) {
        /* rotate: the older generation is forgotten */
        d->cur ^= 1;
        g = &d->g[d->cur];
        memset(g->keys, 0, d->slots * 16);
        g->n = 0;
    }
    i = slot_of(d, k);
    while (memcmp(g->keys[i], zero, 16) != 0) {
        if (memcmp(g->keys[i], k, 16) == 0) {
            return;
        }
        i = (i + 1) & (d->slots - 1);
    }
    memcpy(g->keys[i], k, 16);
    g->n++;
}

int fy_dedup_check_add(struct fy_dedup *d, const char *id)
{
    unsigned char k[16];
    int seen;

    if (parse(id, k) != 0) {
        return 0;
    }
    pthread_mutex_lock(&d->mu);
    seen = contains(d, &d->g[0], k) || contains(d, &d->g[1], k);
    if (!seen) {
        insert(d, k);
    }
    pthread_mutex_unlock(&d->mu);
    return seen;
}

void fy_dedup_add(struct fy_dedup *d, const char *id)
{
    unsigned char k[16];

    if (parse(id, k) == 0) {
        pthread_mutex_lock(&d->mu);
        insert(d, k);
        pthread_mutex_unlock(&d->mu);
    }
}
