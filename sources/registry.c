/* registry.c - the const table of source plugins compiled into Ferry (STYLE C9 c),
 * from the generated fy_plugins.h: the plugins whose FERRY_SOURCE_<NAME> option is ON. */
#include "sources/source.h"

#include "fy_plugins.h"

#include <string.h>

#define FY_PLUGIN_SINK(n)
#define FY_PLUGIN_CODEC(n)

#define FY_PLUGIN_SOURCE(n) extern const struct fy_source_plugin fy_source_##n;
FY_PLUGINS
#undef FY_PLUGIN_SOURCE

static const struct fy_source_plugin *const plugins[] = {
#define FY_PLUGIN_SOURCE(n) &fy_source_##n,
    FY_PLUGINS
#undef FY_PLUGIN_SOURCE
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
