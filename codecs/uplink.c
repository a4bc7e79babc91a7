/* uplink.c - the normalized uplink: init, clear, JSON for the envelope's obj. */
#include "codecs/uplink.h"

#include "core/b64.h"

#include <stdlib.h>
#include <string.h>

void fy_uplink_init(struct fy_uplink *up)
{
    memset(up, 0, sizeof(*up));
    up->f_cnt = -1;
    up->f_port = -1;
}

void fy_uplink_clear(struct fy_uplink *up)
{
    free(up->payload);
    cJSON_Delete(up->radio);
    cJSON_Delete(up->ns_decoded);
    fy_uplink_init(up);
}

static int add_str(cJSON *o, const char *name, const char *v)
{
    return v[0] == '\0' || cJSON_AddStringToObject(o, name, v) != NULL;
}

cJSON *fy_uplink_to_json(const struct fy_uplink *up)
{
    cJSON *o = cJSON_CreateObject();
    int ok;

    if (o == NULL) {
        return NULL;
    }
    ok = add_str(o, "format", up->format) && add_str(o, "event", up->event) &&
         add_str(o, "devEUI", up->dev_eui) && add_str(o, "devAddr", up->dev_addr) &&
         add_str(o, "deviceId", up->device_id) &&
         add_str(o, "applicationId", up->application_id) &&
         add_str(o, "tenantId", up->tenant_id);
    if (ok && up->f_cnt >= 0) {
        ok = cJSON_AddNumberToObject(o, "fCnt", (double)up->f_cnt) != NULL;
    }
    if (ok && up->f_port >= 0) {
        ok = cJSON_AddNumberToObject(o, "fPort", up->f_port) != NULL;
    }
    if (ok && up->payload != NULL) {
        char *b64 = fy_b64_encode(up->payload, up->payload_len);
        char *hex = malloc(up->payload_len * 2 + 1);
        if (b64 == NULL || hex == NULL) {
            ok = 0;
        } else {
            fy_hex_encode(up->payload, up->payload_len, hex);
            ok = cJSON_AddStringToObject(o, "payload", b64) != NULL &&
                 cJSON_AddStringToObject(o, "payloadHex", hex) != NULL;
        }
        free(b64);
        free(hex);
    }
    ok = ok && add_str(o, "receivedAt", up->received_at);
    if (ok && up->radio != NULL) {
        cJSON *r = cJSON_Duplicate(up->radio, 1);
        ok = r != NULL && cJSON_AddItemToObject(o, "radio", r);
        if (!ok) {
            cJSON_Delete(r); /* not attached when its key could not be copied */
        }
    }
    if (ok && up->ns_decoded != NULL) {
        cJSON *d = cJSON_Duplicate(up->ns_decoded, 1);
        ok = d != NULL && cJSON_AddItemToObject(o, "nsDecoded", d);
        if (!ok) {
            cJSON_Delete(d); /* not attached when its key could not be copied */
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
