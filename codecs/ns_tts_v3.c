/* ns_tts_v3.c - The Things Stack v3 MQTT messages (v3/{app}@{tenant}/devices/{dev}/{event}). */
#include "codecs/codec.h"
#include "codecs/ns_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char FMT[] = "tts-v3";

/* The event objects a TTS message carries, and the event name Ferry gives each. */
static const struct {
    const char *field;
    const char *event;
} events[] = {
    {"uplink_message", "up"},           {"join_accept", "join"},
    {"location_solved", "location"},    {"downlink_ack", "down_ack"},
    {"downlink_nack", "down_nack"},     {"downlink_sent", "down_sent"},
    {"downlink_failed", "down_failed"}, {"downlink_queued", "down_queued"},
    {"service_data", "service"},
};

/* "v3/app1@tenant/devices/dev1/up" -> tenant */
static void tenant_from_topic(const char *topic, char *out, size_t size)
{
    const char *at, *slash;

    if (topic == NULL || strncmp(topic, "v3/", 3) != 0) {
        return;
    }
    slash = strchr(topic + 3, '/');
    at = strchr(topic + 3, '@');
    if (at != NULL && slash != NULL && at < slash && (size_t)(slash - at - 1) < size) {
        memcpy(out, at + 1, (size_t)(slash - at - 1));
        out[slash - at - 1] = '\0';
    }
}

static int decode_uplink(const cJSON *um, struct fy_uplink *up, struct fy_err *err)
{
    const cJSON *dp;
    cJSON *gws = NULL;
    int64_t v, sf = -1, bw = -1, freq = -1;
    int r;

    r = fy_ns_int(FMT, um, "f_port", 0, 255, &v, err);
    if (r < 0) {
        return FY_EDECODE;
    }
    up->f_port = r ? (int)v : -1;
    r = fy_ns_int(FMT, um, "f_cnt", 0, 4294967295LL, &v, err);
    if (r < 0) {
        return FY_EDECODE;
    }
    up->f_cnt = r ? v : 0; /* TTS leaves f_cnt out when it is 0 */
    if (fy_ns_payload_b64(FMT, um, "frm_payload", up, err) != FY_OK) {
        return FY_EDECODE;
    }
    if (fy_ns_str(FMT, um, "received_at", up->received_at, sizeof(up->received_at), err) < 0) {
        return FY_EDECODE;
    }
    dp = fy_ns_get(um, "decoded_payload");
    if (cJSON_IsObject(dp) && (up->ns_decoded = cJSON_Duplicate(dp, 1)) == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory"); /* not an uplink without it */
    }
    if (fy_ns_int(FMT, um, "settings.frequency", 0, 10000000000LL, &freq, err) < 0 ||
        fy_ns_int(FMT, um, "settings.data_rate.lora.spreading_factor", 5, 12, &sf, err) < 0 ||
        fy_ns_int(FMT, um, "settings.data_rate.lora.bandwidth", 0, 10000000, &bw, err) < 0) {
        return FY_EDECODE;
    }
    if (fy_ns_gateways(FMT, um, "rx_metadata", "gateway_ids.gateway_id", "rssi", "snr", &gws,
                       err) != FY_OK) {
        return err->code;
    }
    return fy_ns_radio(up, (double)freq, (int)sf, (double)bw, gws) == FY_OK
               ? FY_OK
               : fy_err_set(err, FY_ENOMEM, "out of memory");
}

static int tts_decode(const struct fy_msg *in, struct fy_uplink *up, struct fy_err *err)
{
    cJSON *root = fy_ns_parse(FMT, in, err);
    const cJSON *ev = NULL;
    char eui[64];
    size_t i;
    int rc = FY_EDECODE;

    if (root == NULL) {
        return FY_EDECODE;
    }
    snprintf(up->format, sizeof(up->format), "%s", FMT);
    if (fy_ns_str(FMT, root, "end_device_ids.device_id", up->device_id, sizeof(up->device_id),
                  err) <= 0) {
        if (err->code != FY_EDECODE) {
            fy_err_set(err, FY_EDECODE, "%s: missing end_device_ids.device_id", FMT);
        }
        goto out;
    }
    if (fy_ns_str(FMT, root, "end_device_ids.application_ids.application_id", up->application_id,
                  sizeof(up->application_id), err) <= 0) {
        if (err->code != FY_EDECODE) {
            fy_err_set(err, FY_EDECODE, "%s: missing end_device_ids.application_ids."
                       "application_id", FMT);
        }
        goto out;
    }
    eui[0] = '\0';
    if (fy_ns_str(FMT, root, "end_device_ids.dev_eui", eui, sizeof(eui), err) < 0) {
        goto out;
    }
    if (eui[0] != '\0' &&
        fy_ns_eui(FMT, "end_device_ids.dev_eui", eui, 0, up->dev_eui, err) != FY_OK) {
        goto out;
    }
    eui[0] = '\0';
    if (fy_ns_str(FMT, root, "end_device_ids.dev_addr", eui, sizeof(eui), err) < 0) {
        goto out;
    }
    for (i = 0; eui[i] != '\0' && i < 8; i++) {
        up->dev_addr[i] = (char)(eui[i] >= 'A' && eui[i] <= 'F' ? eui[i] + 32 : eui[i]);
    }
    tenant_from_topic(in->topic, up->tenant_id, sizeof(up->tenant_id));
    if (fy_ns_str(FMT, root, "received_at", up->received_at, sizeof(up->received_at), err) < 0) {
        goto out;
    }
    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        ev = fy_ns_get(root, events[i].field);
        if (ev != NULL) {
            snprintf(up->event, sizeof(up->event), "%s", events[i].event);
            break;
        }
    }
    if (ev == NULL) {
        fy_err_set(err, FY_EDECODE, "%s: no event object (expected uplink_message, join_accept, "
                   "location_solved or downlink_*)", FMT);
        goto out;
    }
    if (!cJSON_IsObject(ev)) {
        fy_err_set(err, FY_EDECODE, "%s: %s must be an object", FMT, events[i].field);
        goto out;
    }
    if (strcmp(up->event, "up") == 0) {
        rc = decode_uplink(ev, up, err);
    } else {
        /* Other events keep their object as the NS-provided detail. */
        up->ns_decoded = cJSON_Duplicate(ev, 1);
        rc = up->ns_decoded != NULL ? FY_OK : fy_err_set(err, FY_ENOMEM, "out of memory");
    }
out:
    cJSON_Delete(root);
    return rc;
}

const struct fy_format_plugin fy_format_tts_v3 = {
    .abi = FY_PLUGIN_ABI,
    .name = "tts-v3",
    .description = "The Things Stack v3 MQTT messages (up, join, location, downlink events)",
    .decode = tts_decode,
};
