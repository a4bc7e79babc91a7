/* fuzz_cayenne.c - libFuzzer target: the Cayenne LPP decoder in both output shapes. */
#include "core/err.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fy_cayenne_decode(int style, const unsigned char *b, size_t n, cJSON **out,
                      struct fy_err *err);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fy_err err = {0};
    cJSON *out = NULL;

    if (fy_cayenne_decode(0, data, size, &out, &err) == FY_OK) {
        cJSON_Delete(out);
    }
    out = NULL;
    if (fy_cayenne_decode(1, data, size, &out, &err) == FY_OK) {
        cJSON_Delete(out);
    }
    return 0;
}
