/* ns_helium.c - Helium Console HTTP/MQTT integration uplinks. */
#include "codecs/codec.h"
#include "codecs/ns_util.h"

#include <ctype.h>
#include <stdio.h>
#include <time.h>

static const char FMT[] = "helium";

static int helium_decode(const struct fy_msg *in, struct fy_uplink *up, struct fy_err *err)
{
    cJSON *root = fy_ns_parse(FMT, in, err);
    const cJSON *hs;
    cJSON *gws = NULL;
    char eui[64] = "";
    int64_t v, ts;
    int rc = FY_EDECODE, r;
    size_t i;

    if (root == NULL) {
        return FY_EDECODE;
    }
    snprintf(up->format, sizeof(up->format), "%s", FMT);
    snprintf(up->event, sizeof(up->event), "up");
    if (fy_ns_str(FMT, root, "dev_eui", eui, sizeof(eui), err) <= 0) {
        if (err->code != FY_EDECODE) {
            fy_err_set(err, FY_EDECODE, "%s: missing dev_eui", FMT);
        }
        goto out;
    }
    if (fy_ns_eui(FMT, "dev_eui", eui, 0, up->dev_eui, err) != FY_OK ||
        fy_ns_str(FMT, root, "id", up->device_id, sizeof(up->device_id), err) < 0 ||
        fy_ns_str(FMT, root, "app_eui", up->application_id, sizeof(up->application_id), err) < 0 ||
        fy_ns_str(FMT, root, "devaddr", up->dev_addr, sizeof(up->dev_addr), err) < 0) {
        goto out;
    }
    for (i = 0; up->dev_addr[i] != '\0'; i++) { /* uplink.h: lowercase hex */
        up->dev_addr[i] = (char)tolower((unsigned char)up->dev_addr[i]);
    }
    if ((r = fy_ns_int(FMT, root, "fcnt", 0, 4294967295LL, &v, err)) < 0) {
        goto out;
    }
    up->f_cnt = r ? v : -1;
    if ((r = fy_ns_int(FMT, root, "port", 0, 255, &v, err)) < 0) {
        goto out;
    }
    up->f_port = r ? (int)v : -1;
    if (fy_ns_payload_b64(FMT, root, "payload", up, err) != FY_OK) {
        goto out;
    }
    if ((r = fy_ns_int(FMT, root, "reported_at", 0, INT64_MAX, &ts, err)) < 0) {
        goto out;
    }
    if (r) {
        time_t t = (time_t)(ts / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(up->received_at, sizeof(up->received_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (fy_ns_gateways(FMT, root, "hotspots", "name", "rssi", "snr", &gws, err) != FY_OK) {
        goto out;
    }
    hs = fy_ns_get(root, "hotspots");
    {
        const cJSON *f = cJSON_IsArray(hs) && hs->child ? fy_ns_get(hs->child, "frequency") : NULL;
        const cJSON *dr = cJSON_IsArray(hs) && hs->child ? fy_ns_get(hs->child, "spreading")
                                                          : NULL;
        int sf = -1;
        double bw = -1;
        if (cJSON_IsString(dr)) {
            fy_ns_datarate(dr->valuestring, &sf, &bw);
        }
        rc = fy_ns_radio(up, cJSON_IsNumber(f) ? f->valuedouble * 1e6 : -1, sf, bw, gws);
        if (rc != FY_OK) {
            fy_err_set(err, rc, "out of memory"); /* errors carry words */
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

const struct fy_format_plugin fy_format_helium = {
    .abi = FY_PLUGIN_ABI,
    .name = "helium",
    .description = "Helium Console integration uplinks",
    .decode = helium_decode,
};
