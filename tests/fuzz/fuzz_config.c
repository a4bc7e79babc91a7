/* fuzz_config.c - libFuzzer target: the YAML loader (node tree, positions, ${...} handling). */
#include "core/conf.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fy_err err = {0};
    struct fy_node *root = fy_conf_parse((const char *)data, size, "fuzz.yaml", &err);

    fy_conf_free(root);
    return 0;
}
