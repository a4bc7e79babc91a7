/* topic.c - MQTT topic names and filters: validation and reference matching (MQTT 4.7). */
#include "routes/topic.h"

#include <string.h>

#define TOPIC_MAX 65535

const char *fy_topic_unshare(const char *filter)
{
    const char *slash;

    if (strncmp(filter, "$share/", 7) != 0) {
        return filter;
    }
    slash = strchr(filter + 7, '/');
    return slash != NULL ? slash + 1 : filter + strlen(filter);
}

int fy_topic_filter_check(const char *filter, struct fy_err *err)
{
    const char *f;
    const char *p;
    size_t len;

    if (filter == NULL || *filter == '\0') {
        return fy_err_set(err, FY_EINVAL, "empty topic filter");
    }
    len = strlen(filter);
    if (len > TOPIC_MAX) {
        return fy_err_set(err, FY_EINVAL, "topic filter longer than %d bytes", TOPIC_MAX);
    }
    f = filter;
    if (strncmp(filter, "$share/", 7) == 0) {
        const char *g = filter + 7;
        const char *slash = strchr(g, '/');
        if (slash == NULL || slash == g) {
            return fy_err_set(err, FY_EINVAL, "'%s': $share/ needs a group name and a filter "
                              "($share/<group>/<filter>)", filter);
        }
        for (p = g; p < slash; p++) {
            if (*p == '+' || *p == '#') {
                return fy_err_set(err, FY_EINVAL, "'%s': the share group name may not contain "
                                  "wildcards", filter);
            }
        }
        f = slash + 1;
        if (*f == '\0') {
            return fy_err_set(err, FY_EINVAL, "'%s': missing filter after the share group",
                              filter);
        }
    }
    for (p = f; *p != '\0'; p++) {
        int level_start = p == f || p[-1] == '/';
        int level_end = p[1] == '\0' || p[1] == '/';
        if (*p == '+' && !(level_start && level_end)) {
            return fy_err_set(err, FY_EINVAL, "'%s': '+' must occupy a whole topic level "
                              "(at byte %zu)", filter, (size_t)(p - filter));
        }
        if (*p == '#') {
            if (!level_start || p[1] != '\0') {
                return fy_err_set(err, FY_EINVAL, "'%s': '#' must be the last level on its own "
                                  "(at byte %zu)", filter, (size_t)(p - filter));
            }
        }
    }
    return FY_OK;
}

int fy_topic_name_valid(const char *topic)
{
    if (topic == NULL || *topic == '\0' || strlen(topic) > TOPIC_MAX) {
        return 0;
    }
    return strpbrk(topic, "+#") == NULL;
}

int fy_topic_match(const char *filter, const char *topic)
{
    const char *f = fy_topic_unshare(filter);
    const char *t = topic;

    if (*t == '$' && (*f == '+' || *f == '#')) {
        return 0; /* MQTT 4.7.2: wildcards at the first level never match $-topics */
    }
    for (;;) {
        const char *fe = strchr(f, '/');
        const char *te = strchr(t, '/');
        size_t fl = fe ? (size_t)(fe - f) : strlen(f);
        size_t tl = te ? (size_t)(te - t) : strlen(t);

        if (fl == 1 && f[0] == '#') {
            return 1;
        }
        if (!(fl == 1 && f[0] == '+') && (fl != tl || memcmp(f, t, fl) != 0)) {
            return 0;
        }
        if (fe == NULL && te == NULL) {
            return 1;
        }
        if (fe == NULL) {
            return 0;
        }
        if (te == NULL) {
            /* "a/#" also matches "a": the rest of the filter must be exactly "#" */
            return strcmp(fe + 1, "#") == 0;
        }
        f = fe + 1;
        t = te + 1;
    }
}
