/* fuzz_formats.c - libFuzzer target: every network-format parser on arbitrary bytes (the
 * first byte picks the format, so one corpus covers all of them). */
#include "codecs/codec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct fy_format_plugin *const *f = fy_codec_formats();
    size_t n = 0, pick;
    struct fy_uplink up;
    struct fy_err err = {0};
    struct fy_msg msg;

    if (size < 1) {
        return 0;
    }
    while (f[n] != NULL) {
        n++;
    }
    pick = data[0] % n;
    msg.source = "fuzz";
    msg.topic = "application/x/device/0101010101010101/event/up";
    msg.payload = data + 1;
    msg.len = size - 1;
    msg.qos = 1;
    msg.recv_ms = 0;
    if (f[pick]->decode_multi != NULL) {
        struct fy_uplink *many = NULL;
        size_t n_up = 0, k;
        if (f[pick]->decode_multi(&msg, &many, &n_up, &err) == FY_OK) {
            for (k = 0; k < n_up; k++) {
                fy_uplink_clear(&many[k]);
            }
            free(many);
        }
    }
    fy_uplink_init(&up);
    if (f[pick]->decode(&msg, &up, &err) == FY_OK) {
        cJSON *j = fy_uplink_to_json(&up);
        cJSON_Delete(j);
    }
    fy_uplink_clear(&up);
    return 0;
}
