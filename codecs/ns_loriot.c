/* ns_loriot.c - LORIOT application messages (`cmd: "rx"` uplinks, `gw` with gateway lists). */
#include "codecs/codec.h"
#include "codecs/ns_util.h"

#include "core/b64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char FMT[] = "loriot";

static int loriot_decode(const struct fy_msg *in, struct fy_uplink *up, struct fy_err *err)
{
    cJSON *root = fy_ns_parse(FMT, in, err);
    const cJSON *cmd, *data;
    cJSON *gws = NULL;
    char eui[64] = "";
    int64_t v, ts, freq = -1;
    int rc = FY_EDECODE, r;

    if (root == NULL) {
        return FY_EDECODE;
    }
    snprintf(up->format, sizeof(up->format), "%s", FMT);
    cmd = fy_ns_get(root, "cmd");
    if (!cJSON_IsString(cmd) || (strcmp(cmd->valuestring, "rx") != 0 &&
                                 strcmp(cmd->valuestring, "gw") != 0)) {
        fy_err_set(err, FY_EDECODE, "%s: cmd must be \"rx\" or \"gw\" (uplinks)", FMT);
        goto out;
    }
    snprintf(up->event, sizeof(up->event), "up");
    if (fy_ns_str(FMT, root, "EUI", eui, sizeof(eui), err) <= 0) {
        if (err->code != FY_EDECODE) {
            fy_err_set(err, FY_EDECODE, "%s: missing EUI", FMT);
        }
        goto out;
    }
    if (fy_ns_eui(FMT, "EUI", eui, 0, up->dev_eui, err) != FY_OK) {
        goto out;
    }
    if ((r = fy_ns_int(FMT, root, "fcnt", 0, 4294967295LL, &v, err)) < 0) {
        goto out;
    }
    up->f_cnt = r ? v : -1;
    if ((r = fy_ns_int(FMT, root, "port", 0, 255, &v, err)) < 0) {
        goto out;
    }
    up->f_port = r ? (int)v : -1;
    data = fy_ns_get(root, "data");
    if (cJSON_IsString(data)) {
        up->payload = fy_hex_decode(data->valuestring, strlen(data->valuestring),
                                    &up->payload_len);
        if (up->payload == NULL) {
            fy_err_set(err, FY_EDECODE, "%s: data is not hex", FMT);
            goto out;
        }
    } else if (data != NULL) {
        fy_err_set(err, FY_EDECODE, "%s: data must be a hex string", FMT);
        goto out;
    }
    if ((r = fy_ns_int(FMT, root, "ts", 0, INT64_MAX, &ts, err)) < 0 ||
        fy_ns_int(FMT, root, "freq", 0, 10000000000LL, &freq, err) < 0) {
        goto out;
    }
    if (r) {
        time_t t = (time_t)(ts / 1000);
        struct tm tm;
        size_t n;
        gmtime_r(&t, &tm);
        n = strftime(up->received_at, sizeof(up->received_at), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(up->received_at + n, sizeof(up->received_at) - n, ".%03dZ", (int)(ts % 1000));
    }
    if (fy_ns_gateways(FMT, root, "gws", "gweui", "rssi", "snr", &gws, err) != FY_OK) {
        goto out;
    }
    if (gws == NULL && fy_ns_get(root, "rssi") != NULL) {
        /* "rx" at basic verbosity: one unnamed gateway's signal at the top level */
        fy_ns_gateway(&gws, NULL, fy_ns_get(root, "rssi"), fy_ns_get(root, "snr"));
    }
    if (gws == NULL && fy_ns_get(root, "rssi") != NULL) {
        fy_ns_gateway(&gws, NULL, fy_ns_get(root, "rssi"), fy_ns_get(root, "snr"));
    }
    {
        const cJSON *dr = fy_ns_get(root, "dr"); /* "SF9 BW125 4/5" */
        int sf = -1;
        double bw = -1;
        if (cJSON_IsString(dr)) {
            fy_ns_datarate(dr->valuestring, &sf, &bw);
        }
        rc = fy_ns_radio(up, (double)freq, sf, bw, gws);
        if (rc != FY_OK) {
            fy_err_set(err, rc, "out of memory"); /* errors carry words */
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

const struct fy_format_plugin fy_format_loriot = {
    .abi = FY_PLUGIN_ABI,
    .name = "loriot",
    .description = "LORIOT application messages (cmd rx / gw)",
    .decode = loriot_decode,
};
