/* payload_js.c - the `javascript` payload codec: runs a TTN/ChirpStack device decoder
 * (decodeUplink(input) -> {data, warnings, errors}) in an embedded engine, one per route. */
#include "core/file.h"
#include "core/log.h"
#include "core/opts.h"
#include "codecs/codec.h"
#include "codecs/js/js_engine.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRIPT_MAX (4u << 20)

struct js_opts {
    char *script;        /* path of the decoder file */
    int64_t timeout_ms;
    int64_t heap_mb;
};

struct js_codec {
    struct js_opts o;
    struct fy_js *js;
    char tag[300];
    atomic_uint_fast64_t calls, errors, timeouts;
};

static const struct fy_opt js_opts_tbl[] = {
    FY_OPT_STR("script", NULL, FY_REQUIRED, offsetof(struct js_opts, script),
               "path of the JavaScript decoder (defines decodeUplink(input))"),
    FY_OPT_INT("timeout_ms", "100", 1, 10000, offsetof(struct js_opts, timeout_ms),
               "time limit per decode call"),
    FY_OPT_INT("heap_mb", "32", 1, 1024, offsetof(struct js_opts, heap_mb),
               "heap limit of the codec's engine"),
    {0},
};

static void js_destroy(void *ctx)
{
    struct js_codec *c = ctx;

    if (c == NULL) {
        return;
    }
    if (c->js != NULL) {
        fy_log_info(c->tag, "%llu decode calls, %llu errors, %llu time-outs",
                    (unsigned long long)atomic_load(&c->calls),
                    (unsigned long long)atomic_load(&c->errors),
                    (unsigned long long)atomic_load(&c->timeouts));
    }
    fy_js_destroy(c->js);
    fy_opts_free(js_opts_tbl, &c->o);
    free(c);
}

static void *js_create(const struct fy_node *opts, struct fy_err *err)
{
    struct js_codec *c = calloc(1, sizeof(*c));
    char *src = NULL;
    size_t len = 0;

    if (c == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    if (opts == NULL) {
        fy_err_set(err, FY_ECONFIG, "the javascript codec needs codec_options with 'script'");
        goto fail;
    }
    if (fy_opts_apply(js_opts_tbl, opts, NULL, &c->o, err) != FY_OK) {
        goto fail;
    }
    snprintf(c->tag, sizeof(c->tag), "codec:javascript:%s", c->o.script);
    src = fy_file_read(c->o.script, SCRIPT_MAX, &len, err);
    if (src == NULL) {
        goto fail;
    }
    c->js = fy_js_create(src, len, c->o.script, (int)c->o.timeout_ms,
                         (size_t)c->o.heap_mb << 20, err);
    free(src);
    if (c->js == NULL) {
        goto fail;
    }
    return c;
fail:
    js_destroy(c);
    return NULL;
}

/* Join the strings of a JSON array into buf ("a; b"). */
static void join(const cJSON *arr, char *buf, size_t size)
{
    const cJSON *it;
    size_t off = 0;

    buf[0] = '\0';
    cJSON_ArrayForEach(it, arr)
    {
        int w = snprintf(buf + off, size - off, "%s%s", off ? "; " : "",
                         cJSON_IsString(it) ? it->valuestring : "(non-string error)");
        if (w < 0 || (size_t)w >= size - off) {
            break;
        }
        off += (size_t)w;
    }
}

static int js_decode(void *ctx, const struct fy_uplink *up, cJSON **out, struct fy_err *err)
{
    struct js_codec *c = ctx;
    char *json = NULL;
    cJSON *res;
    cJSON *errors;
    cJSON *data;
    int rc;

    atomic_fetch_add(&c->calls, 1);
    rc = fy_js_decode(c->js, up->payload, up->payload_len, up->f_port < 0 ? 0 : up->f_port,
                      up->received_at[0] ? up->received_at : NULL, &json, err);
    if (rc != FY_OK) {
        atomic_fetch_add(&c->errors, 1);
        if (rc == FY_ETIMEOUT) {
            atomic_fetch_add(&c->timeouts, 1);
        }
        return rc;
    }
    res = cJSON_Parse(json);
    free(json);
    if (res == NULL) {
        atomic_fetch_add(&c->errors, 1);
        return fy_err_set(err, FY_EDECODE, "decoder result is not JSON");
    }
    errors = cJSON_GetObjectItemCaseSensitive(res, "errors");
    if (cJSON_IsArray(errors) && cJSON_GetArraySize(errors) > 0) {
        char msg[200];
        join(errors, msg, sizeof(msg));
        cJSON_Delete(res);
        atomic_fetch_add(&c->errors, 1);
        return fy_err_set(err, FY_EDECODE, "decoder errors: %s", msg);
    }
    data = cJSON_DetachItemFromObjectCaseSensitive(res, "data");
    cJSON_Delete(res);
    *out = data != NULL ? data : cJSON_CreateObject();
    return *out != NULL ? FY_OK : fy_err_set(err, FY_ENOMEM, "out of memory");
}

const struct fy_payload_plugin fy_payload_javascript = {
    .abi = FY_PLUGIN_ABI,
    .name = "javascript",
    .description = "TTN/ChirpStack JavaScript decoder (decodeUplink) in SpiderMonkey",
    .opts = js_opts_tbl,
    .create = js_create,
    .decode = js_decode,
    .destroy = js_destroy,
};
