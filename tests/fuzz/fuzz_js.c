/* fuzz_js.c - libFuzzer target: the C <-> JavaScript bridge (bytes in, the decoder's result
 * back as JSON and parsed) with arbitrary payloads and ports through a real decoder; the engine
 * is created once per process. */
#include "core/file.h"
#include "codecs/js/js_engine.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char SCRIPT[] =
    "function decodeUplink(input) {\n"
    "  var b = input.bytes, out = {n: b.length, port: input.fPort, sum: 0, s: ''};\n"
    "  for (var i = 0; i < b.length; i++) { out.sum += b[i]; out.s += String.fromCharCode(b[i]); }\n"
    "  if (input.fPort === 13) throw new Error('port 13');\n"
    "  if (input.fPort === 14) return { errors: ['bad ' + out.s] };\n"
    "  if (input.fPort === 15) return null;\n"
    "  return { data: out, warnings: [] };\n"
    "}\n";

static struct fy_js *js;

/* Runs before the leak check (atexit is last-in, first-out). */
static void cleanup(void)
{
    fy_js_destroy(js);
    js = NULL;
    fy_js_shutdown();
}

/* The engine lives for the whole run: create it before fuzzing starts, so its memory is not
 * taken for a leak of the first input. Also called by the corpus replay. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct fy_err err = {0};

    (void)argc;
    (void)argv;
    if (js == NULL) {
        js = fy_js_create(SCRIPT, sizeof(SCRIPT) - 1, "fuzz.js", 1000, 64u << 20, &err);
        if (js == NULL) {
            abort();
        }
        atexit(cleanup);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fy_err err = {0};
    char *out = NULL;

    if (js == NULL) {
        LLVMFuzzerInitialize(NULL, NULL);
    }
    if (size < 1) {
        return 0;
    }
    if (fy_js_decode(js, data + 1, size - 1, data[0] % 20, "2026-11-24T10:00:00Z", &out,
                     &err) == FY_OK) {
        cJSON *j = cJSON_Parse(out);
        if (j == NULL) {
            abort(); /* the bridge must hand back valid JSON */
        }
        cJSON_Delete(j);
        free(out);
    }
    return 0;
}
