/* test_plugin.c - the one plugin contract: a plugin built for another ABI is refused with a
 * reason, by sinks, sources and the codec checks alike; every compiled-in plugin has the ABI. */
#include "codecs/codec.h"
#include "core/plugin.h"
#include "sinks/sink.h"
#include "sources/source.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <string.h>

int init_plugin_tests(void);

static void test_wrong_abi(void)
{
    static const struct fy_sink_plugin sink = {.abi = FY_PLUGIN_ABI + 1, .name = "future"};
    static const struct fy_source_plugin source = {.abi = FY_PLUGIN_ABI + 1, .name = "future"};
    struct fy_err err = {0};

    CU_ASSERT_PTR_NULL(fy_sink_create(&sink, "s", NULL, NULL, 1, NULL, NULL, &err));
    FY_ASSERT(strstr(err.msg, "sink 'future' was built for plugin ABI 2, this Ferry has 1") !=
              NULL);
    fy_err_clear(&err);
    CU_ASSERT_PTR_NULL(fy_source_create(&source, "s", NULL, NULL, 1, NULL, NULL, &err));
    FY_ASSERT(strstr(err.msg, "source 'future' was built for plugin ABI 2") != NULL);
    FY_ASSERT_EQ(fy_plugin_check(FY_PLUGIN_CODEC, 0, "old", &err), FY_EINVAL);
    FY_ASSERT(strstr(err.msg, "codec 'old'") != NULL);
    FY_ASSERT_EQ(fy_plugin_check(FY_PLUGIN_FORMAT, FY_PLUGIN_ABI, "ok", &err), FY_OK);
}

static void test_registries(void)
{
    const struct fy_sink_plugin *const *snk;
    const struct fy_source_plugin *const *src;
    const struct fy_format_plugin *const *fmt;
    const struct fy_payload_plugin *const *cod;
    struct fy_err err = {0};

    for (snk = fy_sink_plugins(); *snk != NULL; snk++) {
        FY_ASSERT_OK(fy_plugin_check(FY_PLUGIN_SINK, (*snk)->abi, (*snk)->name, &err), &err);
        FY_ASSERT((*snk)->opts != NULL && (*snk)->description != NULL);
    }
    for (src = fy_source_plugins(); *src != NULL; src++) {
        FY_ASSERT_OK(fy_plugin_check(FY_PLUGIN_SOURCE, (*src)->abi, (*src)->name, &err), &err);
        FY_ASSERT((*src)->opts != NULL);
    }
    for (fmt = fy_codec_formats(); *fmt != NULL; fmt++) {
        FY_ASSERT_OK(fy_plugin_check(FY_PLUGIN_FORMAT, (*fmt)->abi, (*fmt)->name, &err), &err);
        /* a configurable format documents its format_options */
        FY_ASSERT((*fmt)->create == NULL || (*fmt)->opts != NULL);
    }
    for (cod = fy_codec_payloads(); *cod != NULL; cod++) {
        FY_ASSERT_OK(fy_plugin_check(FY_PLUGIN_CODEC, (*cod)->abi, (*cod)->name, &err), &err);
    }
}

int init_plugin_tests(void)
{
    CU_pSuite s = CU_add_suite("plugin", NULL, NULL);

    if (s == NULL || CU_add_test(s, "wrong ABI refused with a reason", test_wrong_abi) == NULL ||
        CU_add_test(s, "every registered plugin", test_registries) == NULL) {
        return -1;
    }
    return 0;
}
