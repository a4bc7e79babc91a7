/* ns_thingpark.c - Actility ThingPark uplinks ({"DevEUI_uplink": {...}}) and join requests. */
#include "codecs/codec.h"
#include "codecs/ns_util.h"

#include "core/b64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char FMT[] = "thingpark";

static int thingpark_decode(const struct fy_msg *in, struct fy_uplink *up, struct fy_err *err)
{
    cJSON *root = fy_ns_parse(FMT, in, err);
    const cJSON *u, *hex;
    cJSON *gws = NULL;
    char eui[64] = "";
    int64_t v;
    int rc = FY_EDECODE, r;

    if (root == NULL) {
        return FY_EDECODE;
    }
    snprintf(up->format, sizeof(up->format), "%s", FMT);
    u = fy_ns_get(root, "DevEUI_uplink");
    if (u == NULL && fy_ns_get(root, "DevEUI") != NULL) {
        u = root; /* relays (e.g. TagoIO) forward the inner document without the wrapper */
    }
    if (!cJSON_IsObject(u)) {
        fy_err_set(err, FY_EDECODE, "%s: expected a DevEUI_uplink object", FMT);
        goto out;
    }
    if (fy_ns_str(FMT, u, "DevEUI", eui, sizeof(eui), err) <= 0) {
        if (err->code != FY_EDECODE) {
            fy_err_set(err, FY_EDECODE, "%s: missing DevEUI_uplink.DevEUI", FMT);
        }
        goto out;
    }
    if (fy_ns_eui(FMT, "DevEUI", eui, 0, up->dev_eui, err) != FY_OK ||
        fy_ns_str(FMT, u, "Time", up->received_at, sizeof(up->received_at), err) < 0 ||
        fy_ns_str(FMT, u, "DevAddr", up->dev_addr, sizeof(up->dev_addr), err) < 0) {
        goto out;
    }
    for (r = 0; up->dev_addr[r] != '\0'; r++) {
        if (up->dev_addr[r] >= 'A' && up->dev_addr[r] <= 'F') {
            up->dev_addr[r] = (char)(up->dev_addr[r] + 32);
        }
    }
    /* MType 0 with a rawJoinRequest is a join request */
    snprintf(up->event, sizeof(up->event), "%s",
             fy_ns_get(u, "rawJoinRequest") != NULL ? "join" : "up");
    if ((r = fy_ns_int(FMT, u, "FCntUp", 0, 4294967295LL, &v, err)) < 0) {
        goto out;
    }
    up->f_cnt = r ? v : -1;
    if ((r = fy_ns_int(FMT, u, "FPort", 0, 255, &v, err)) < 0) {
        goto out;
    }
    up->f_port = r ? (int)v : -1;
    hex = fy_ns_get(u, "payload_hex");
    if (cJSON_IsString(hex)) {
        up->payload = fy_hex_decode(hex->valuestring, strlen(hex->valuestring), &up->payload_len);
        if (up->payload == NULL) {
            fy_err_set(err, FY_EDECODE, "%s: payload_hex is not hex", FMT);
            goto out;
        }
    }
    if (fy_ns_gateways(FMT, u, "Lrrs.Lrr", "Lrrid", "LrrRSSI", "LrrSNR", &gws, err) != FY_OK) {
        goto out;
    }
    {
        const cJSON *sf = fy_ns_get(u, "SpFact");
        if (sf == NULL) {
            sf = fy_ns_get(u, "Spfact");
        }
        rc = fy_ns_radio(up, -1, cJSON_IsNumber(sf) ? sf->valueint : -1, -1, gws);
        if (rc != FY_OK) {
            fy_err_set(err, rc, "out of memory"); /* errors carry words */
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

const struct fy_format_plugin fy_format_thingpark = {
    .abi = FY_PLUGIN_ABI,
    .name = "thingpark",
    .description = "Actility ThingPark DevEUI_uplink messages",
    .decode = thingpark_decode,
};
