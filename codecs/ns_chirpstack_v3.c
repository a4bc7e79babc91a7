/* ns_chirpstack_v3.c - ChirpStack v3 application-server events (JSON or protobuf-JSON
 * marshaler: devEUI hex or base64). */
#include "codecs/codec.h"
#include "codecs/ns_util.h"

#include <stdio.h>
#include <string.h>

static const char FMT[] = "chirpstack-v3";

static int cs3_decode(const struct fy_msg *in, struct fy_uplink *up, struct fy_err *err)
{
    cJSON *root = fy_ns_parse(FMT, in, err);
    const cJSON *obj, *app;
    cJSON *gws = NULL;
    char eui[64] = "";
    int64_t v, freq = -1;
    int rc = FY_EDECODE, r;

    if (root == NULL) {
        return FY_EDECODE;
    }
    snprintf(up->format, sizeof(up->format), "%s", FMT);
    if (fy_ns_str(FMT, root, "devEUI", eui, sizeof(eui), err) <= 0) {
        if (err->code != FY_EDECODE) {
            fy_err_set(err, FY_EDECODE, "%s: missing devEUI", FMT);
        }
        goto out;
    }
    if (fy_ns_eui(FMT, "devEUI", eui, 1, up->dev_eui, err) != FY_OK ||
        fy_ns_str(FMT, root, "deviceName", up->device_id, sizeof(up->device_id), err) < 0) {
        goto out;
    }
    app = fy_ns_get(root, "applicationID");
    if (cJSON_IsString(app)) {
        snprintf(up->application_id, sizeof(up->application_id), "%.127s", app->valuestring);
    } else if (cJSON_IsNumber(app)) {
        snprintf(up->application_id, sizeof(up->application_id), "%d", app->valueint);
    }
    /* events: up carries fCnt/data; status carries margin/batteryLevel */
    if (fy_ns_get(root, "fCnt") == NULL && fy_ns_get(root, "data") == NULL) {
        snprintf(up->event, sizeof(up->event), "%s",
                 fy_ns_get(root, "batteryLevel") != NULL ? "status" : "event");
        up->ns_decoded = cJSON_Duplicate(root, 1);
        rc = up->ns_decoded != NULL ? FY_OK : fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(up->event, sizeof(up->event), "up");
    if ((r = fy_ns_int(FMT, root, "fCnt", 0, 4294967295LL, &v, err)) < 0) {
        goto out;
    }
    up->f_cnt = r ? v : 0;
    if ((r = fy_ns_int(FMT, root, "fPort", 0, 255, &v, err)) < 0) {
        goto out;
    }
    up->f_port = r ? (int)v : 0;
    {
        const cJSON *d = fy_ns_get(root, "data");
        /* the documentation's sample elides the payload as "..." */
        if (cJSON_IsString(d) && strcmp(d->valuestring, "...") != 0 &&
            fy_ns_payload_b64(FMT, root, "data", up, err) != FY_OK) {
            goto out;
        }
    }
    obj = fy_ns_get(root, "object");
    if (cJSON_IsObject(obj) && (up->ns_decoded = cJSON_Duplicate(obj, 1)) == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory"); /* not an uplink without it */
        goto out;
    }
    if (fy_ns_int(FMT, root, "txInfo.frequency", 0, 10000000000LL, &freq, err) < 0) {
        goto out;
    }
    if (fy_ns_str(FMT, fy_ns_get(root, "rxInfo") ? fy_ns_get(root, "rxInfo")->child : NULL,
                  "time", up->received_at, sizeof(up->received_at), err) < 0 ||
        fy_ns_gateways(FMT, root, "rxInfo", "gatewayID", "rssi", "loRaSNR", &gws, err) != FY_OK) {
        goto out;
    }
    rc = fy_ns_radio(up, (double)freq, -1, -1, gws); /* takes gws */
    gws = NULL;
    if (rc != FY_OK) {
        fy_err_set(err, rc, "out of memory");
    }
out:
    cJSON_Delete(gws);
    cJSON_Delete(root);
    return rc;
}

const struct fy_format_plugin fy_format_chirpstack_v3 = {
    .abi = FY_PLUGIN_ABI,
    .name = "chirpstack-v3",
    .description = "ChirpStack v3 application-server events (JSON and protobuf-JSON)",
    .decode = cs3_decode,
};
