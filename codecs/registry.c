/* registry.c - the const tables of network formats and payload codecs (STYLE C9 c). Codecs
 * with their own CMake option (FERRY_CODEC_<NAME>) come from the generated fy_plugins.h. */
#include "codecs/codec.h"

#include "fy_plugins.h" /* generated: FY_PLUGIN_<KIND>(name) per compiled-in plugin */

#include <string.h>

#ifdef FERRY_HAVE_CODEC_JAVASCRIPT
#include "codecs/js/js_engine.h"
#endif

#define FY_PLUGIN_SOURCE(n)
#define FY_PLUGIN_SINK(n)

extern const struct fy_format_plugin fy_format_tts_v3;
extern const struct fy_format_plugin fy_format_chirpstack_v4;
extern const struct fy_format_plugin fy_format_chirpstack_v3;
extern const struct fy_format_plugin fy_format_helium;
extern const struct fy_format_plugin fy_format_loriot;
extern const struct fy_format_plugin fy_format_thingpark;
extern const struct fy_format_plugin fy_format_smartclean;
extern const struct fy_format_plugin fy_format_generic_json;
#define FY_PLUGIN_CODEC(n) extern const struct fy_payload_plugin fy_payload_##n;
FY_PLUGINS
#undef FY_PLUGIN_CODEC
extern const struct fy_payload_plugin fy_payload_cayenne;
extern const struct fy_payload_plugin fy_payload_raw;

static const struct fy_format_plugin *const formats[] = {
    &fy_format_tts_v3,
    &fy_format_chirpstack_v4,
    &fy_format_chirpstack_v3,
    &fy_format_helium,
    &fy_format_loriot,
    &fy_format_thingpark,
    &fy_format_smartclean,
    &fy_format_generic_json,
    NULL,
};

static const struct fy_payload_plugin *const payloads[] = {
#define FY_PLUGIN_CODEC(n) &fy_payload_##n,
    FY_PLUGINS
#undef FY_PLUGIN_CODEC
    &fy_payload_cayenne,
    &fy_payload_raw,
    NULL,
};

const struct fy_format_plugin *fy_codec_format_find(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && formats[i] != NULL; i++) {
        if (strcmp(formats[i]->name, name) == 0) {
            return formats[i];
        }
    }
    return NULL;
}

const struct fy_payload_plugin *fy_codec_payload_find(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && payloads[i] != NULL; i++) {
        if (strcmp(payloads[i]->name, name) == 0) {
            return payloads[i];
        }
    }
    return NULL;
}

const struct fy_format_plugin *const *fy_codec_formats(void)
{
    return formats;
}

const struct fy_payload_plugin *const *fy_codec_payloads(void)
{
    return payloads;
}

void fy_codec_shutdown(void)
{
#ifdef FERRY_HAVE_CODEC_JAVASCRIPT
    fy_js_shutdown();
#endif
}
