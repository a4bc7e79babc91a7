/* ns_chirpstack_v4.c - ChirpStack v4 JSON integration events
 * (application/{application id}/device/{devEUI}/event/{up|join|status|ack|txack|log|location}). */
#include "codecs/codec.h"
#include "codecs/ns_util.h"

#include <stdio.h>
#include <string.h>

static const char FMT[] = "chirpstack-v4";

static const char *const known_events[] = {"up",  "join", "status",   "ack",         "txack",
                                           "log", "location", "integration", NULL};

/* Last topic level when the topic has ChirpStack's event shape. */
static void event_from_topic(const char *topic, char *out, size_t size)
{
    const char *p = topic != NULL ? strstr(topic, "/event/") : NULL;
    size_t i;

    if (p == NULL || strncmp(topic, "application/", 12) != 0) {
        return;
    }
    p += 7;
    for (i = 0; known_events[i] != NULL; i++) {
        if (strcmp(p, known_events[i]) == 0) {
            snprintf(out, size, "%s", p);
            return;
        }
    }
}

static int decode_up(const cJSON *root, struct fy_uplink *up, struct fy_err *err)
{
    const cJSON *obj;
    cJSON *gws = NULL;
    int64_t v, sf = -1, bw = -1, freq = -1;
    int r;

    r = fy_ns_int(FMT, root, "fCnt", 0, 4294967295LL, &v, err);
    if (r < 0) {
        return FY_EDECODE;
    }
    up->f_cnt = r ? v : 0; /* protobuf JSON leaves zero values out */
    r = fy_ns_int(FMT, root, "fPort", 0, 255, &v, err);
    if (r < 0) {
        return FY_EDECODE;
    }
    up->f_port = r ? (int)v : 0;
    /* "data" is ChirpStack's field; relays such as TagoIO store the same bytes as "payload" */
    if (fy_ns_payload_b64(FMT, root, fy_ns_get(root, "data") != NULL ? "data" : "payload", up,
                          err) != FY_OK) {
        return FY_EDECODE;
    }
    obj = fy_ns_get(root, "object");
    if (cJSON_IsObject(obj) && (up->ns_decoded = cJSON_Duplicate(obj, 1)) == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory"); /* not an uplink without it */
    }
    if (fy_ns_int(FMT, root, "txInfo.frequency", 0, 10000000000LL, &freq, err) < 0 ||
        fy_ns_int(FMT, root, "txInfo.modulation.lora.spreadingFactor", 5, 12, &sf, err) < 0 ||
        fy_ns_int(FMT, root, "txInfo.modulation.lora.bandwidth", 0, 10000000, &bw, err) < 0) {
        return FY_EDECODE;
    }
    if (fy_ns_gateways(FMT, root, "rxInfo", "gatewayId", "rssi", "snr", &gws, err) != FY_OK) {
        return err->code;
    }
    return fy_ns_radio(up, (double)freq, (int)sf, (double)bw, gws) == FY_OK
               ? FY_OK
               : fy_err_set(err, FY_ENOMEM, "out of memory");
}

static int cs4_decode(const struct fy_msg *in, struct fy_uplink *up, struct fy_err *err)
{
    cJSON *root = fy_ns_parse(FMT, in, err);
    char eui[64];
    size_t i;
    int rc = FY_EDECODE;

    if (root == NULL) {
        return FY_EDECODE;
    }
    snprintf(up->format, sizeof(up->format), "%s", FMT);
    if (fy_ns_get(root, "deviceInfo") == NULL) {
        fy_err_set(err, FY_EDECODE, "%s: missing deviceInfo (not a ChirpStack v4 event)", FMT);
        goto out;
    }
    eui[0] = '\0';
    if (fy_ns_str(FMT, root, "deviceInfo.devEui", eui, sizeof(eui), err) < 0) {
        goto out;
    }
    if (eui[0] == '\0') {
        fy_err_set(err, FY_EDECODE, "%s: missing deviceInfo.devEui", FMT);
        goto out;
    }
    if (fy_ns_eui(FMT, "deviceInfo.devEui", eui, 0, up->dev_eui, err) != FY_OK) {
        goto out;
    }
    if (fy_ns_str(FMT, root, "deviceInfo.deviceName", up->device_id, sizeof(up->device_id),
                  err) < 0 ||
        fy_ns_str(FMT, root, "deviceInfo.applicationId", up->application_id,
                  sizeof(up->application_id), err) < 0 ||
        fy_ns_str(FMT, root, "deviceInfo.tenantId", up->tenant_id, sizeof(up->tenant_id),
                  err) < 0 ||
        fy_ns_str(FMT, root, "time", up->received_at, sizeof(up->received_at), err) < 0) {
        goto out;
    }
    eui[0] = '\0';
    if (fy_ns_str(FMT, root, "devAddr", eui, sizeof(eui), err) < 0) {
        goto out;
    }
    for (i = 0; eui[i] != '\0' && i < 8; i++) {
        up->dev_addr[i] = (char)(eui[i] >= 'A' && eui[i] <= 'F' ? eui[i] + 32 : eui[i]);
    }
    event_from_topic(in->topic, up->event, sizeof(up->event));
    if (up->event[0] == '\0') {
        /* Not on an event topic: an uplink carries fCnt or data. */
        snprintf(up->event, sizeof(up->event), "%s",
                 fy_ns_get(root, "fCnt") != NULL || fy_ns_get(root, "data") != NULL ? "up"
                                                                                      : "event");
    }
    if (strcmp(up->event, "up") == 0) {
        rc = decode_up(root, up, err);
    } else {
        cJSON *copy = cJSON_Duplicate(root, 1);
        if (copy == NULL) {
            rc = fy_err_set(err, FY_ENOMEM, "out of memory");
            goto out;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "deviceInfo");
        up->ns_decoded = copy;
        rc = FY_OK;
    }
out:
    cJSON_Delete(root);
    return rc;
}

const struct fy_format_plugin fy_format_chirpstack_v4 = {
    .abi = FY_PLUGIN_ABI,
    .name = "chirpstack-v4",
    .description = "ChirpStack v4 JSON events (up, join, status, ack, txack, log, location)",
    .decode = cs4_decode,
};
