/* dedup.h - a bounded window of recently journaled envelope ids, to drop the duplicates that
 * MQTT redelivery (and a second network-server feed) cause before they reach the journal. */
#ifndef FY_DEDUP_H
#define FY_DEDUP_H

#include <stddef.h>

struct fy_dedup;

/* Remember about the last `window` ids (between window/2 and window: two generations of
 * window/2 each). NULL on ENOMEM. Caller frees with fy_dedup_destroy(). */
struct fy_dedup *fy_dedup_create(size_t window);
void fy_dedup_destroy(struct fy_dedup *d);

/* 1 if id (32 hex digits) is in the window; otherwise adds it and returns 0. Thread-safe. */
int fy_dedup_check_add(struct fy_dedup *d, const char *id);

/* Add without checking (rebuilding the window from the journal at start). */
void fy_dedup_add(struct fy_dedup *d, const char *id);

#endif
