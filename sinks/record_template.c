/* record_template.c - templates over one record's envelope fields (see record_template.h). */
#include "sinks/record_template.h"

#include "core/template.h"

#include <stdio.h>
#include <string.h>

static const char *const tmpl_vars[] = {"recType", "deviceId", "devEUI", "applicationId",
                                        "tenantId", NULL};

int fy_sink_tmpl_check(const char *what, const char *tpl, const char *shown, struct fy_err *err)
{
    struct fy_err terr = {0};
    const char *why;

    if (fy_template_check(tpl, tmpl_vars, 0, &terr) == FY_OK) {
        return FY_OK;
    }
    why = strstr(terr.msg, "': ");
    why = why != NULL ? why + 3 : terr.msg; /* drop "template '<tpl>': ", it may hold a secret */
    return fy_err_set(err, FY_ECONFIG, "%s '%s': %s", what, shown, why);
}

struct tmpl_ctx {
    const struct fy_record *rec;
    const cJSON *obj;
};

/* Value of template field name (len bytes) for one record. */
static int tmpl_lookup(void *arg, const char *name, size_t len, const char **val, size_t *val_len)
{
    const struct tmpl_ctx *c = arg;
    const cJSON *v;
    char key[32];
    size_t i;

    for (i = 0; tmpl_vars[i] != NULL; i++) {
        if (strlen(tmpl_vars[i]) == len && memcmp(tmpl_vars[i], name, len) == 0) {
            break;
        }
    }
    if (tmpl_vars[i] == NULL) {
        return FY_EINVAL;
    }
    if (len == 7 && memcmp(name, "recType", 7) == 0) {
        *val = c->rec->rec_type;
    } else {
        snprintf(key, sizeof(key), "%.*s", (int)len, name);
        v = cJSON_GetObjectItemCaseSensitive(c->obj, key);
        *val = cJSON_IsString(v) ? v->valuestring : NULL;
    }
    *val_len = *val != NULL ? strlen(*val) : 0;
    return FY_OK;
}

int fy_sink_tmpl_expand(const char *tpl, const struct fy_record *rec, const cJSON *obj,
                        enum fy_template_escape escape, struct fy_buf *out, struct fy_err *err)
{
    struct tmpl_ctx c = {rec, obj};
    int rc = fy_template_render(tpl, tmpl_lookup, &c, escape, out->max, out, err);

    if (rc == FY_ENOTFOUND || rc == FY_ETOOBIG) {
        rc = FY_EINVAL; /* this record cannot be addressed: reject it */
    }
    return rc == FY_OK ? fy_buf_add(out, "", 1) : rc; /* NUL */
}


int fy_sink_tmpl_render(const char *tpl, const struct fy_record *rec,
                        enum fy_template_escape escape, size_t max, char **out,
                        struct fy_err *err)
{
    cJSON *env = cJSON_ParseWithLength(rec->body, rec->body_len);
    struct fy_buf b;
    int rc;

    fy_buf_init(&b, max + 1);
    rc = fy_sink_tmpl_expand(tpl, rec, cJSON_GetObjectItemCaseSensitive(env, "obj"), escape, &b,
                             err);
    cJSON_Delete(env);
    if (rc == FY_OK && b.len <= 1) {
        rc = fy_err_set(err, FY_EINVAL, "template '%s' is empty for this record", tpl);
    }
    if (rc != FY_OK) {
        fy_buf_free(&b);
        return rc;
    }
    *out = fy_buf_steal(&b, NULL);
    return FY_OK;
}
