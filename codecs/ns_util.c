/* ns_util.c - shared helpers of the network-format parsers. */
#include "codecs/ns_util.h"

#include "core/b64.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

cJSON *fy_ns_parse(const char *fmt, const struct fy_msg *in, struct fy_err *err)
{
    const char *end = NULL;
    cJSON *root;

    if (in == NULL || in->payload == NULL || in->len == 0) {
        fy_err_set(err, FY_EDECODE, "%s: empty message", fmt);
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(in->payload, in->len, &end, 0);
    if (root == NULL) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at != NULL && at >= (const char *)in->payload &&
                             at <= (const char *)in->payload + in->len
                         ? (size_t)(at - (const char *)in->payload)
                         : 0;
        fy_err_set(err, FY_EDECODE, "%s: not valid JSON (error near byte %zu of %zu)", fmt, off,
                   in->len);
        return NULL;
    }
    while (end != NULL && end < (const char *)in->payload + in->len &&
           isspace((unsigned char)*end)) {
        end++;
    }
    if (end != NULL && end < (const char *)in->payload + in->len) {
        cJSON_Delete(root);
        fy_err_set(err, FY_EDECODE, "%s: trailing data after the JSON value at byte %zu", fmt,
                   (size_t)(end - (const char *)in->payload));
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fy_err_set(err, FY_EDECODE, "%s: expected a JSON object", fmt);
        return NULL;
    }
    return root;
}

const cJSON *fy_ns_get(const cJSON *obj, const char *path)
{
    char part[64];
    const char *p = path;

    while (obj != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof(part)) {
            return NULL;
        }
        memcpy(part, p, len);
        part[len] = '\0';
        obj = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, part) : NULL;
        p += len + (dot ? 1 : 0);
    }
    return obj;
}

int fy_ns_str(const char *fmt, const cJSON *obj, const char *path, char *buf, size_t size,
              struct fy_err *err)
{
    const cJSON *v = fy_ns_get(obj, path);
    size_t len;

    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (!cJSON_IsString(v)) {
        fy_err_set(err, FY_EDECODE, "%s: %s must be a string", fmt, path);
        return -1;
    }
    len = strlen(v->valuestring);
    if (len >= size) {
        fy_err_set(err, FY_EDECODE, "%s: %s is longer than %zu bytes", fmt, path, size - 1);
        return -1;
    }
    memcpy(buf, v->valuestring, len + 1);
    return 1;
}

int fy_ns_eui(const char *fmt, const char *field, const char *s, int b64_ok, char out[17],
              struct fy_err *err)
{
    size_t len = strlen(s);
    size_t i;

    if (len == 16) {
        for (i = 0; i < 16; i++) {
            if (!isxdigit((unsigned char)s[i])) {
                break;
            }
            out[i] = (char)tolower((unsigned char)s[i]);
        }
        if (i == 16) {
            out[16] = '\0';
            return FY_OK;
        }
    }
    if (b64_ok && len == 12) {
        size_t n = 0;
        uint8_t *b = fy_b64_decode(s, len, &n);
        if (b != NULL && n == 8) {
            fy_hex_encode(b, 8, out);
            free(b);
            return FY_OK;
        }
        free(b);
    }
    return fy_err_set(err, FY_EDECODE, "%s: %s '%.40s' is not an EUI (expected 16 hex digits)",
                      fmt, field, s);
}

int fy_ns_int(const char *fmt, const cJSON *obj, const char *path, int64_t min, int64_t max,
              int64_t *out, struct fy_err *err)
{
    const cJSON *v = fy_ns_get(obj, path);
    double d;

    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (cJSON_IsString(v)) {
        char *end;
        d = strtod(v->valuestring, &end);
        if (end == v->valuestring || *end != '\0') {
            fy_err_set(err, FY_EDECODE, "%s: %s must be a number", fmt, path);
            return -1;
        }
    } else if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else {
        fy_err_set(err, FY_EDECODE, "%s: %s must be a number", fmt, path);
        return -1;
    }
    if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d) {
        fy_err_set(err, FY_EDECODE, "%s: %s is out of range (expected an integer %lld..%lld)",
                   fmt, path, (long long)min, (long long)max);
        return -1;
    }
    *out = (int64_t)d;
    return 1;
}

int fy_ns_payload_b64(const char *fmt, const cJSON *obj, const char *path, struct fy_uplink *up,
                      struct fy_err *err)
{
    const cJSON *v = fy_ns_get(obj, path);
    size_t n = 0;

    if (v == NULL || cJSON_IsNull(v)) {
        return FY_OK;
    }
    if (!cJSON_IsString(v)) {
        return fy_err_set(err, FY_EDECODE, "%s: %s must be a base64 string", fmt, path);
    }
    up->payload = fy_b64_decode(v->valuestring, strlen(v->valuestring), &n);
    if (up->payload == NULL) {
        return fy_err_set(err, FY_EDECODE, "%s: %s is not valid base64", fmt, path);
    }
    up->payload_len = n;
    return FY_OK;
}

int fy_ns_gateway(cJSON **gws, const char *id, const cJSON *rssi, const cJSON *snr)
{
    cJSON *g;

    if (*gws == NULL && (*gws = cJSON_CreateArray()) == NULL) {
        return FY_ENOMEM;
    }
    g = cJSON_CreateObject();
    /* Every add is checked: a gateway missing its rssi would look like a good one. */
    if (g == NULL || (id != NULL && cJSON_AddStringToObject(g, "id", id) == NULL) ||
        (cJSON_IsNumber(rssi) && cJSON_AddNumberToObject(g, "rssi", rssi->valuedouble) == NULL) ||
        (cJSON_IsNumber(snr) && cJSON_AddNumberToObject(g, "snr", snr->valuedouble) == NULL) ||
        !cJSON_AddItemToArray(*gws, g)) {
        cJSON_Delete(g);
        return FY_ENOMEM;
    }
    return FY_OK;
}

int fy_ns_gateways(const char *fmt, const cJSON *obj, const char *list_path, const char *id_path,
                   const char *rssi_path, const char *snr_path, cJSON **gws, struct fy_err *err)
{
    const cJSON *list = fy_ns_get(obj, list_path);
    const cJSON *g;

    *gws = NULL;
    if (list == NULL || cJSON_IsNull(list)) {
        return FY_OK;
    }
    if (!cJSON_IsArray(list)) {
        return fy_err_set(err, FY_EDECODE, "%s: %s must be a list", fmt, list_path);
    }
    cJSON_ArrayForEach(g, list)
    {
        const cJSON *id = fy_ns_get(g, id_path);
        if (fy_ns_gateway(gws, cJSON_IsString(id) ? id->valuestring : NULL,
                          fy_ns_get(g, rssi_path), fy_ns_get(g, snr_path)) != FY_OK) {
            cJSON_Delete(*gws);
            *gws = NULL;
            return fy_err_set(err, FY_ENOMEM, "out of memory");
        }
    }
    return FY_OK;
}

int fy_ns_radio(struct fy_uplink *up, double freq, int sf, double bw, cJSON *gateways)
{
    cJSON *r = cJSON_CreateObject();

    if (r == NULL || (freq > 0 && cJSON_AddNumberToObject(r, "frequency", freq) == NULL) ||
        (sf > 0 && cJSON_AddNumberToObject(r, "sf", sf) == NULL) ||
        (bw > 0 && cJSON_AddNumberToObject(r, "bw", bw) == NULL)) {
        cJSON_Delete(r);
        cJSON_Delete(gateways);
        return FY_ENOMEM;
    }
    if (gateways != NULL && !cJSON_AddItemToObject(r, "gateways", gateways)) {
        cJSON_Delete(r);
        cJSON_Delete(gateways); /* not attached: its key could not be copied */
        return FY_ENOMEM;
    }
    cJSON_Delete(up->radio);
    up->radio = r;
    if (r->child == NULL) { /* nothing known: no radio object at all, not an empty one */
        cJSON_Delete(r);
        up->radio = NULL;
    }
    return FY_OK;
}

void fy_ns_datarate(const char *s, int *sf, double *bw)
{
    const char *p;

    for (p = s; p != NULL && *p != '\0'; p++) {
        if ((p[0] == 'S' || p[0] == 's') && (p[1] == 'F' || p[1] == 'f') && isdigit((unsigned char)p[2])) {
            long v = strtol(p + 2, NULL, 10);
            *sf = v >= 5 && v <= 12 ? (int)v : *sf;
        } else if ((p[0] == 'B' || p[0] == 'b') && (p[1] == 'W' || p[1] == 'w') &&
                   isdigit((unsigned char)p[2])) {
            long v = strtol(p + 2, NULL, 10); /* kHz */
            *bw = v > 0 && v <= 1625 ? (double)v * 1000.0 : *bw;
        }
    }
}
