/* plugin.c - see plugin.h. */
#include "core/plugin.h"

#include <stddef.h>

const char *fy_plugin_kind_name(enum fy_plugin_kind kind)
{
    static const char *const names[] = {"source", "format", "codec", "sink"};

    return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "plugin";
}

int fy_plugin_check(enum fy_plugin_kind kind, int abi, const char *name, struct fy_err *err)
{
    if (name == NULL) {
        return fy_err_set(err, FY_EINVAL, "%s plugin without a name", fy_plugin_kind_name(kind));
    }
    if (abi != FY_PLUGIN_ABI) {
        return fy_err_set(err, FY_EINVAL, "%s '%s' was built for plugin ABI %d, this Ferry has "
                          "%d: rebuild it", fy_plugin_kind_name(kind), name, abi, FY_PLUGIN_ABI);
    }
    return FY_OK;
}
