/* registry.c - the const table of sink plugins compiled into Ferry (STYLE C9 c). */
#include "sinks/sink.h"

#include <string.h>

extern const struct fy_sink_plugin fy_sink_kafka;
extern const struct fy_sink_plugin fy_sink_webhook;

static const struct fy_sink_plugin *const plugins[] = {
    &fy_sink_kafka,
    &fy_sink_webhook,
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
