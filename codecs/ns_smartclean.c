/* ns_smartclean.c - SmartClean data push batches: a UTF-8 JSON array of JSON-serialized sensor
 * objects ["{\"t\":\"20220602120301\",\"DevType\":\"SMARTCLEAN#UM\",...}", ...], one record per
 * object (shared/seeds/smartclean-data-push.md). */
#include "codecs/codec.h"
#include "codecs/ns_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char FMT[] = "smartclean";

#define BATCH_MAX 10000

static int sc_decode_multi(const struct fy_msg *in, struct fy_uplink **out, size_t *n,
                           struct fy_err *err)
{
    static const char *const id_keys[] = {"DevId", "devId", "DeviceId", "deviceId", "id", NULL};
    const char *end = NULL;
    cJSON *arr, *it;
    struct fy_uplink *ups;
    size_t count, i = 0, k;

    *out = NULL;
    *n = 0;
    if (in->len == 0) {
        return fy_err_set(err, FY_EDECODE, "%s: empty message", FMT);
    }
    arr = cJSON_ParseWithLengthOpts(in->payload, in->len, &end, 0);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return fy_err_set(err, FY_EDECODE, "%s: expected a JSON array of JSON-serialized objects",
                          FMT);
    }
    count = (size_t)cJSON_GetArraySize(arr);
    if (count == 0 || count > BATCH_MAX) {
        cJSON_Delete(arr);
        return fy_err_set(err, FY_EDECODE, "%s: a batch holds 1..%d objects, got %zu", FMT,
                          BATCH_MAX, count);
    }
    ups = calloc(count, sizeof(*ups));
    if (ups == NULL) {
        cJSON_Delete(arr);
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    cJSON_ArrayForEach(it, arr)
    {
        struct fy_uplink *up = &ups[i];
        cJSON *obj;
        size_t len;

        fy_uplink_init(up);
        if (!cJSON_IsString(it)) {
            fy_err_set(err, FY_EDECODE, "%s: element %zu is not a string (expected a "
                       "JSON-serialized object)", FMT, i);
            goto fail;
        }
        obj = cJSON_Parse(it->valuestring);
        if (!cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            fy_err_set(err, FY_EDECODE, "%s: element %zu is not a serialized JSON object", FMT, i);
            goto fail;
        }
        snprintf(up->format, sizeof(up->format), "%s", FMT);
        snprintf(up->event, sizeof(up->event), "up");
        for (k = 0; id_keys[k] != NULL; k++) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, id_keys[k]);
            if (cJSON_IsString(id)) {
                snprintf(up->device_id, sizeof(up->device_id), "%.127s", id->valuestring);
                break;
            }
        }
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "t");
            if (cJSON_IsString(t)) {
                snprintf(up->received_at, sizeof(up->received_at), "%.47s", t->valuestring);
            }
        }
        up->ns_decoded = obj;
        len = strlen(it->valuestring);
        up->payload = malloc(len ? len : 1);
        if (up->payload == NULL) {
            fy_err_set(err, FY_ENOMEM, "out of memory");
            goto fail;
        }
        memcpy(up->payload, it->valuestring, len);
        up->payload_len = len;
        i++;
    }
    cJSON_Delete(arr);
    *out = ups;
    *n = count;
    return FY_OK;
fail:
    for (k = 0; k <= i && k < count; k++) {
        fy_uplink_clear(&ups[k]);
    }
    free(ups);
    cJSON_Delete(arr);
    return FY_EDECODE;
}

/* Single-record view (ferry decode of a batch of one): the first object. */
static int sc_decode(const struct fy_msg *in, struct fy_uplink *out, struct fy_err *err)
{
    struct fy_uplink *ups = NULL;
    size_t n = 0, i;
    int rc = sc_decode_multi(in, &ups, &n, err);

    if (rc != FY_OK) {
        return rc;
    }
    *out = ups[0];
    for (i = 1; i < n; i++) {
        fy_uplink_clear(&ups[i]);
    }
    free(ups);
    return FY_OK;
}

const struct fy_format_plugin fy_format_smartclean = {
    .abi = FY_PLUGIN_ABI,
    .name = "smartclean",
    .description = "SmartClean data push batch (JSON array of serialized objects), one record each",
    .decode = sc_decode,
    .decode_multi = sc_decode_multi,
};
