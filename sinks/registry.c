/* registry.c - the const table of sink plugins compiled into Ferry (STYLE C9 c),
 * from the generated fy_plugins.h: the plugins whose FERRY_SINK_<NAME> option is ON. */
#include "sinks/sink.h"

#include "fy_plugins.h"

#include <string.h>

#define FY_PLUGIN_SOURCE(n)
#define FY_PLUGIN_CODEC(n)

#define FY_PLUGIN_SINK(n) extern const struct fy_sink_plugin fy_sink_##n;
FY_PLUGINS
#undef FY_PLUGIN_SINK

static const struct fy_sink_plugin *const plugins[] = {
#define FY_PLUGIN_SINK(n) &fy_sink_##n,
    FY_PLUGINS
#undef FY_PLUGIN_SINK
    NULL,
};

const struct fy_sink_plugin *fy_sink_plugin_find(const char *type)
{
    size_t i;

    for (i = 0; type != NULL && plugins[i] != NULL; i++) {
        if (strcmp(plugins[i]->name, type) == 0) {
            return plugins[i];
        }
    }
    return NULL;
}

const struct fy_sink_plugin *const *fy_sink_plugins(void)
{
    return plugins;
}
