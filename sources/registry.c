/* registry.c - the const table of source plugins compiled into Ferry (STYLE C9 c). */
#include "sources/source.h"

#include <string.h>

extern const struct fy_source_plugin fy_source_mqtt;

static const struct fy_source_plugin *const plugins[] = {
    &fy_source_mqtt,
    NULL,
};

const struct fy_source_plugin *fy_source_plugin_find(const char *type)
{
    size_t i;

    for (i = 0; type != NULL && plugins[i] != NULL; i++) {
        if (strcmp(plugins[i]->name, type) == 0) {
            return plugins[i];
        }
    }
    return NULL;
}

const struct fy_source_plugin *const *fy_source_plugins(void)
{
    return plugins;
}
