/* payload_cayenne.c - the `cayenne-lpp` payload codec: Cayenne Low Power Payload, every
 * standard and extended (IPSO) type, any number of channels, in The Things Stack's output
 * shape (`temperature_3: 27.2`, default) or ChirpStack's (`temperatureSensor: {"3": 27.2}`). */
#include "core/opts.h"
#include "codecs/codec.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_SCALAR, K_XYZ, K_GPS, K_COLOUR };

struct lpp_type {
    unsigned char type;
    unsigned char size;
    enum kind kind;
    int is_signed;
    double div;
    const char *tts;   /* The Things Stack key prefix */
    const char *cs;    /* ChirpStack object key */
};

static const struct lpp_type types[] = {
    {0, 1, K_SCALAR, 0, 1, "digital_in", "digitalInput"},
    {1, 1, K_SCALAR, 0, 1, "digital_out", "digitalOutput"},
    {2, 2, K_SCALAR, 1, 100, "analog_in", "analogInput"},
    {3, 2, K_SCALAR, 1, 100, "analog_out", "analogOutput"},
    {100, 4, K_SCALAR, 0, 1, "generic", "genericSensor"},
    {101, 2, K_SCALAR, 0, 1, "luminosity", "illuminanceSensor"},
    {102, 1, K_SCALAR, 0, 1, "presence", "presenceSensor"},
    {103, 2, K_SCALAR, 1, 10, "temperature", "temperatureSensor"},
    {104, 1, K_SCALAR, 0, 2, "relative_humidity", "humiditySensor"},
    {113, 6, K_XYZ, 1, 1000, "accelerometer", "accelerometer"},
    {115, 2, K_SCALAR, 0, 10, "barometric_pressure", "barometer"},
    {116, 2, K_SCALAR, 0, 100, "voltage", "voltage"},
    {117, 2, K_SCALAR, 0, 1000, "current", "current"},
    {118, 4, K_SCALAR, 0, 1, "frequency", "frequency"},
    {120, 1, K_SCALAR, 0, 1, "percentage", "percentage"},
    {121, 2, K_SCALAR, 1, 1, "altitude", "altitude"},
    {125, 2, K_SCALAR, 0, 1, "concentration", "concentration"},
    {128, 2, K_SCALAR, 0, 1, "power", "power"},
    {130, 4, K_SCALAR, 0, 1000, "distance", "distance"},
    {131, 4, K_SCALAR, 0, 1000, "energy", "energy"},
    {132, 2, K_SCALAR, 0, 1, "direction", "direction"},
    {133, 4, K_SCALAR, 0, 1, "unix_time", "unix_time"},
    {134, 6, K_XYZ, 1, 100, "gyrometer", "gyrometer"},
    {135, 3, K_COLOUR, 0, 1, "colour", "color"},
    {136, 9, K_GPS, 1, 1, "gps", "gpsLocation"},
    {142, 1, K_SCALAR, 0, 1, "switch", "switch"},
};

static const char *const style_words[] = {"tts", "chirpstack", NULL};

struct lpp_ctx {
    int style;
};

static const struct fy_opt lpp_opts[] = {
    FY_OPT_ENUM("style", "tts", style_words, offsetof(struct lpp_ctx, style),
                "output shape: tts (temperature_3) or chirpstack (temperatureSensor: {3: ..})"),
    {0},
};

static const struct lpp_type *find(unsigned char t)
{
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (types[i].type == t) {
            return &types[i];
        }
    }
    return NULL;
}

/* Big-endian integer of n bytes, sign-extended when asked. */
static double be(const unsigned char *p, size_t n, int is_signed)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    if (is_signed && n < 8 && (v >> (8 * n - 1)) & 1) {
        return (double)((int64_t)v - ((int64_t)1 << (8 * n)));
    }
    return (double)v;
}

/* Round to the type's precision so 27.2 prints as 27.2, not 27.200000000000003. */
static double scaled(double raw, double div)
{
    double v = raw / div;
    double p = div >= 1000 ? 1e3 : div >= 100 ? 1e2 : div >= 10 ? 1e1 : div >= 2 ? 1e1 : 1;

    return round(v * p) / p;
}

/* An object of three numbers; NULL when memory runs out (nothing half-built is returned). */
static cJSON *triple(const char *k1, double v1, const char *k2, double v2, const char *k3,
                     double v3)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || cJSON_AddNumberToObject(o, k1, v1) == NULL ||
        cJSON_AddNumberToObject(o, k2, v2) == NULL || cJSON_AddNumberToObject(o, k3, v3) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *value_of(const struct lpp_type *t, const unsigned char *p)
{
    switch (t->kind) {
    case K_SCALAR:
        return cJSON_CreateNumber(scaled(be(p, t->size, t->is_signed), t->div));
    case K_XYZ:
        return triple("x", scaled(be(p, 2, 1), t->div), "y", scaled(be(p + 2, 2, 1), t->div),
                      "z", scaled(be(p + 4, 2, 1), t->div));
    case K_GPS:
        return triple("latitude", round(be(p, 3, 1)) / 10000.0, "longitude",
                      round(be(p + 3, 3, 1)) / 10000.0, "altitude", round(be(p + 6, 3, 1)) / 100.0);
    case K_COLOUR:
        return triple("r", p[0], "g", p[1], "b", p[2]);
    }
    return NULL;
}

int fy_cayenne_decode(int style, const unsigned char *b, size_t n, cJSON **out,
                      struct fy_err *err);

/* Decode n bytes; exposed for tests and fuzzing. */
int fy_cayenne_decode(int style, const unsigned char *b, size_t n, cJSON **out,
                      struct fy_err *err)
{
    cJSON *root = cJSON_CreateObject();
    size_t off = 0;

    if (root == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    while (off < n) {
        const struct lpp_type *t;
        unsigned ch;
        char key[64];
        cJSON *v;

        if (n - off < 2) {
            cJSON_Delete(root);
            return fy_err_set(err, FY_EDECODE, "cayenne-lpp: truncated channel header at byte %zu",
                              off);
        }
        ch = b[off];
        t = find(b[off + 1]);
        if (t == NULL) {
            cJSON_Delete(root);
            return fy_err_set(err, FY_EDECODE, "cayenne-lpp: unknown type %u at byte %zu",
                              b[off + 1], off + 1);
        }
        if (n - off - 2 < t->size) {
            cJSON_Delete(root);
            return fy_err_set(err, FY_EDECODE, "cayenne-lpp: %s on channel %u needs %u bytes at "
                              "byte %zu, %zu left", t->tts, ch, t->size, off + 2, n - off - 2);
        }
        v = value_of(t, b + off + 2);
        if (v == NULL) {
            cJSON_Delete(root);
            return fy_err_set(err, FY_ENOMEM, "out of memory");
        }
        {
            /* A value that cannot be added (its key is copied) fails the decode: an object
             * missing a reading would look like a good one. */
            cJSON *parent = root;
            if (style == 0) {
                snprintf(key, sizeof(key), "%s_%u", t->tts, ch);
            } else {
                parent = cJSON_GetObjectItemCaseSensitive(root, t->cs);
                if (parent == NULL) {
                    parent = cJSON_AddObjectToObject(root, t->cs);
                }
                snprintf(key, sizeof(key), "%u", ch);
            }
            if (parent != NULL) {
                cJSON_DeleteItemFromObjectCaseSensitive(parent, key); /* last value wins */
            }
            if (parent == NULL || !cJSON_AddItemToObject(parent, key, v)) {
                cJSON_Delete(v);
                cJSON_Delete(root);
                return fy_err_set(err, FY_ENOMEM, "out of memory");
            }
        }
        off += 2 + t->size;
    }
    *out = root;
    return FY_OK;
}

static void *lpp_create(const struct fy_node *opts, struct fy_err *err)
{
    struct lpp_ctx *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    if (fy_opts_apply(lpp_opts, opts, NULL, c, err) != FY_OK) {
        free(c);
        return NULL;
    }
    return c;
}

static int lpp_decode(void *ctx, const struct fy_uplink *up, cJSON **out, struct fy_err *err)
{
    const struct lpp_ctx *c = ctx;

    return fy_cayenne_decode(c->style, up->payload, up->payload_len, out, err);
}

static void lpp_destroy(void *ctx)
{
    free(ctx);
}

const struct fy_payload_plugin fy_payload_cayenne = {
    .abi = FY_PLUGIN_ABI,
    .name = "cayenne-lpp",
    .description = "Cayenne Low Power Payload (all standard and extended types)",
    .opts = lpp_opts,
    .create = lpp_create,
    .decode = lpp_decode,
    .destroy = lpp_destroy,
};

/* ==== raw ==== */

static void *raw_create(const struct fy_node *opts, struct fy_err *err)
{
    if (opts != NULL && opts->n_children > 0) {
        fy_conf_error(err, opts, 0, "the raw codec takes no options");
        return NULL;
    }
    return (void *)1;
}

static int raw_decode(void *ctx, const struct fy_uplink *up, cJSON **out, struct fy_err *err)
{
    static const char hexd[] = "0123456789abcdef";
    char *hex = malloc(up->payload_len * 2 + 1);
    size_t i;

    (void)ctx;
    if (hex == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    for (i = 0; i < up->payload_len; i++) {
        hex[2 * i] = hexd[up->payload[i] >> 4];
        hex[2 * i + 1] = hexd[up->payload[i] & 15];
    }
    hex[2 * up->payload_len] = '\0';
    *out = cJSON_CreateObject();
    if (*out == NULL || cJSON_AddStringToObject(*out, "hex", hex) == NULL ||
        cJSON_AddNumberToObject(*out, "length", (double)up->payload_len) == NULL) {
        free(hex);
        cJSON_Delete(*out);
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    free(hex);
    return FY_OK;
}

static void raw_destroy(void *ctx)
{
    (void)ctx;
}

const struct fy_payload_plugin fy_payload_raw = {
    .abi = FY_PLUGIN_ABI,
    .name = "raw",
    .description = "the payload bytes as hex (packed records)",
    .create = raw_create,
    .decode = raw_decode,
    .destroy = raw_destroy,
};
