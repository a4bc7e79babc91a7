/* fuzz_record.c - libFuzzer target: the journal record decoder (what recovery and sinks read
 * back from disk), with a re-encode round trip of whatever decodes. */
#include "core/record.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fy_record rec, again;
    struct fy_buf b;

    if (fy_record_decode(data, size, &rec, NULL) != FY_OK) {
        return 0;
    }
    fy_buf_init(&b, size + 64);
    if (fy_record_encode(&rec, &b) == FY_OK) {
        if (fy_record_decode(b.data, b.len, &again, NULL) != FY_OK || b.len != size ||
            memcmp(b.data, data, size) != 0) {
            abort(); /* decode(encode(x)) must be x */
        }
    }
    fy_buf_free(&b);
    return 0;
}
