/* ns_generic.c - `generic-json`: any JSON uplink, with the field paths given per route in
 * format_options (dotted paths), for platforms without a dedicated format. */
#include "core/b64.h"
#include "core/opts.h"
#include "codecs/codec.h"
#include "codecs/ns_util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char FMT[] = "generic-json";
static const char *const encodings[] = {"auto", "base64", "hex", NULL};

struct generic {
    char *dev_eui, *device_id, *application_id, *f_cnt, *f_port, *payload, *received_at;
    int encoding;
};

static const struct fy_opt generic_opts[] = {
    FY_OPT_STR("dev_eui", "devEUI", 0, offsetof(struct generic, dev_eui), "path of the devEUI"),
    FY_OPT_STR("device_id", "deviceId", 0, offsetof(struct generic, device_id),
               "path of the device id"),
    FY_OPT_STR("application_id", "applicationId", 0, offsetof(struct generic, application_id),
               "path of the application id"),
    FY_OPT_STR("f_cnt", "fCnt", 0, offsetof(struct generic, f_cnt), "path of the frame counter"),
    FY_OPT_STR("f_port", "fPort", 0, offsetof(struct generic, f_port), "path of the port"),
    FY_OPT_STR("payload", "payload", 0, offsetof(struct generic, payload), "path of the bytes"),
    FY_OPT_STR("received_at", "receivedAt", 0, offsetof(struct generic, received_at),
               "path of the time"),
    FY_OPT_ENUM("payload_encoding", "auto", encodings, offsetof(struct generic, encoding),
                "auto (hex if it looks like hex, else base64), base64 or hex"),
    {0},
};

static void *generic_create(const struct fy_node *opts, struct fy_err *err)
{
    struct generic *g = calloc(1, sizeof(*g));

    if (g == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    if (fy_opts_apply(generic_opts, opts, NULL, g, err) != FY_OK) {
        fy_opts_free(generic_opts, g);
        free(g);
        return NULL;
    }
    return g;
}

static void generic_destroy(void *ctx)
{
    fy_opts_free(generic_opts, ctx);
    free(ctx);
}

static int is_hex(const char *s)
{
    size_t n = strlen(s), i;

    if (n % 2 != 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

static int generic_decode_ctx(const void *ctx, const struct fy_msg *in, struct fy_uplink *up,
                              struct fy_err *err)
{
    const struct generic *g = ctx;
    cJSON *root = fy_ns_parse(FMT, in, err);
    const cJSON *pl;
    char eui[64] = "";
    int64_t v;
    int r, rc = FY_EDECODE;

    if (root == NULL) {
        return FY_EDECODE;
    }
    snprintf(up->format, sizeof(up->format), "%s", FMT);
    snprintf(up->event, sizeof(up->event), "up");
    if (fy_ns_str(FMT, root, g->dev_eui, eui, sizeof(eui), err) < 0 ||
        (eui[0] != '\0' && fy_ns_eui(FMT, g->dev_eui, eui, 0, up->dev_eui, err) != FY_OK) ||
        fy_ns_str(FMT, root, g->device_id, up->device_id, sizeof(up->device_id), err) < 0 ||
        fy_ns_str(FMT, root, g->application_id, up->application_id, sizeof(up->application_id),
                  err) < 0 ||
        fy_ns_str(FMT, root, g->received_at, up->received_at, sizeof(up->received_at), err) <
            0) {
        goto out;
    }
    if (up->dev_eui[0] == '\0' && up->device_id[0] == '\0') {
        fy_err_set(err, FY_EDECODE, "%s: neither %s nor %s is present (set format_options)", FMT,
                   g->dev_eui, g->device_id);
        goto out;
    }
    if ((r = fy_ns_int(FMT, root, g->f_cnt, 0, 4294967295LL, &v, err)) < 0) {
        goto out;
    }
    up->f_cnt = r ? v : -1;
    if ((r = fy_ns_int(FMT, root, g->f_port, 0, 255, &v, err)) < 0) {
        goto out;
    }
    up->f_port = r ? (int)v : -1;
    pl = fy_ns_get(root, g->payload);
    if (cJSON_IsString(pl)) {
        const char *s = pl->valuestring;
        int hex = g->encoding == 2 || (g->encoding == 0 && is_hex(s) && strlen(s) > 0);
        up->payload = hex ? fy_hex_decode(s, strlen(s), &up->payload_len)
                          : fy_b64_decode(s, strlen(s), &up->payload_len);
        if (up->payload == NULL) {
            fy_err_set(err, FY_EDECODE, "%s: %s is not %s", FMT, g->payload,
                       hex ? "hex" : "base64");
            goto out;
        }
    } else if (pl != NULL && !cJSON_IsNull(pl)) {
        fy_err_set(err, FY_EDECODE, "%s: %s must be a string", FMT, g->payload);
        goto out;
    }
    rc = FY_OK;
out:
    cJSON_Delete(root);
    return rc;
}

/* Without options: the default paths. */
static int generic_decode(const struct fy_msg *in, struct fy_uplink *up, struct fy_err *err)
{
    struct generic *g = generic_create(NULL, err);
    int rc;

    if (g == NULL) {
        return FY_ENOMEM;
    }
    rc = generic_decode_ctx(g, in, up, err);
    generic_destroy(g);
    return rc;
}

const struct fy_format_plugin fy_format_generic_json = {
    .abi = FY_PLUGIN_ABI,
    .name = "generic-json",
    .description = "any JSON uplink, field paths from format_options",
    .opts = generic_opts,
    .decode = generic_decode,
    .create = generic_create,
    .decode_ctx = generic_decode_ctx,
    .destroy = generic_destroy,
};
