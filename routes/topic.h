/* topic.h - MQTT topic names and filters (MQTT 3.1.1 section 4.7 / MQTT 5 section 4.7). */
#ifndef FY_TOPIC_H
#define FY_TOPIC_H

#include "core/err.h"

/* FY_OK when filter is a valid subscription filter ('+' whole level, '#' last level, not
 * empty, no NUL, <= 65535 bytes; "$share/<group>/<filter>" accepted with a valid group).
 * Otherwise FY_EINVAL with the reason. */
int fy_topic_filter_check(const char *filter, struct fy_err *err);

/* 1 if topic is a valid topic name (no wildcards, not empty). */
int fy_topic_name_valid(const char *topic);

/* 1 if topic matches filter. Wildcards at the first level do not match topics starting with
 * '$' (MQTT 4.7.2). A "$share/<group>/" prefix on filter is ignored. Reference matcher:
 * the router compiles filters into a trie instead of calling this per route. */
int fy_topic_match(const char *filter, const char *topic);

/* Strip "$share/<group>/" from a filter; returns a pointer into filter. */
const char *fy_topic_unshare(const char *filter);

#endif
