/* opts_doc.c - see opts_doc.h. */
#include "core/opts_doc.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *fy_opts_doc_type(const struct fy_opt *o)
{
    switch (o->type) {
    case FY_OPT_T_STR:
        return "string";
    case FY_OPT_T_INT:
        return "integer";
    case FY_OPT_T_BOOL:
        return "boolean";
    case FY_OPT_T_ENUM:
        return "one of";
    case FY_OPT_T_NODE:
        return "map or list";
    case FY_OPT_T_PREFIX:
        return "map";
    }
    return "?";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *fy_opts_doc_unit(const struct fy_opt *o)
{
    if (o->type != FY_OPT_T_INT) {
        return "";
    }
    if (ends_with(o->name, "_ms")) {
        return "ms";
    }
    if (ends_with(o->name, "_s")) {
        return "s";
    }
    if (ends_with(o->name, "_mb")) {
        return "MiB";
    }
    if (ends_with(o->name, "bytes") || ends_with(o->name, "_payload") ||
        ends_with(o->name, "_record")) {
        return "bytes";
    }
    return "";
}

/* The key as written in a file: "headers.<name>" for a prefix option. */
static void key_of(const struct fy_opt *o, char *out, size_t size)
{
    snprintf(out, size, "%s%s", o->name, o->type == FY_OPT_T_PREFIX ? "<name>" : "");
}

static void choices_of(const struct fy_opt *o, char *out, size_t size)
{
    size_t i, n = 0;

    out[0] = '\0';
    for (i = 0; o->choices != NULL && o->choices[i] != NULL && n < size; i++) {
        n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "", o->choices[i]);
    }
}

static void bounds_of(const struct fy_opt *o, char *out, size_t size)
{
    out[0] = '\0';
    if (o->type == FY_OPT_T_INT) {
        snprintf(out, size, "%" PRId64 "..%" PRId64, o->min, o->max);
    } else if (o->type == FY_OPT_T_ENUM) {
        choices_of(o, out, size);
    }
}

static void flags_of(const struct fy_opt *o, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s", o->flags & FY_REQUIRED ? "required" : "",
             (o->flags & FY_REQUIRED) && (o->flags & FY_SECRET) ? ", " : "",
             o->flags & FY_SECRET ? "secret" : "");
}

static void doc_json(const struct fy_opt *tbl, FILE *out)
{
    cJSON *arr = cJSON_CreateArray();
    const struct fy_opt *o;
    char *txt;

    for (o = tbl; o != NULL && o->name != NULL; o++) {
        cJSON *j = cJSON_CreateObject();
        char key[128];
        key_of(o, key, sizeof(key));
        cJSON_AddStringToObject(j, "name", key);
        cJSON_AddStringToObject(j, "type", fy_opts_doc_type(o));
        if (o->def != NULL) {
            cJSON_AddStringToObject(j, "default", o->def);
        } else {
            cJSON_AddNullToObject(j, "default");
        }
        cJSON_AddStringToObject(j, "unit", fy_opts_doc_unit(o));
        if (o->type == FY_OPT_T_INT) {
            cJSON_AddNumberToObject(j, "min", (double)o->min);
            cJSON_AddNumberToObject(j, "max", (double)o->max);
        }
        if (o->type == FY_OPT_T_ENUM) {
            cJSON *c = cJSON_AddArrayToObject(j, "choices");
            size_t i;
            for (i = 0; o->choices != NULL && o->choices[i] != NULL; i++) {
                cJSON_AddItemToArray(c, cJSON_CreateString(o->choices[i]));
            }
        }
        cJSON_AddBoolToObject(j, "required", (o->flags & FY_REQUIRED) != 0);
        cJSON_AddBoolToObject(j, "secret", (o->flags & FY_SECRET) != 0);
        cJSON_AddStringToObject(j, "doc", o->desc != NULL ? o->desc : "");
        cJSON_AddItemToArray(arr, j);
    }
    txt = cJSON_Print(arr);
    if (txt != NULL) {
        fprintf(out, "%s\n", txt);
    }
    free(txt);
    cJSON_Delete(arr);
}

void fy_opts_doc(const struct fy_opt *tbl, enum fy_opts_doc_format fmt, FILE *out)
{
    const struct fy_opt *o;
    char key[128], bounds[400], flags[32];

    if (fmt == FY_OPTS_DOC_JSON) {
        doc_json(tbl, out);
        return;
    }
    if (tbl == NULL || tbl->name == NULL) {
        fprintf(out, "%s", fmt == FY_OPTS_DOC_MARKDOWN ? "No options.\n" : "  (no options)\n");
        return;
    }
    if (fmt == FY_OPTS_DOC_MARKDOWN) {
        fprintf(out, "| option | type | default | unit | range / values | flags | description |\n"
                     "|---|---|---|---|---|---|---|\n");
    }
    for (o = tbl; o->name != NULL; o++) {
        const char *unit = fy_opts_doc_unit(o);
        key_of(o, key, sizeof(key));
        bounds_of(o, bounds, sizeof(bounds));
        flags_of(o, flags, sizeof(flags));
        if (fmt == FY_OPTS_DOC_MARKDOWN) {
            fprintf(out, "| `%s` | %s | %s%s%s | %s | %s | %s | %s |\n", key, fy_opts_doc_type(o),
                    o->def != NULL ? "`" : "", o->def != NULL ? o->def : "", o->def != NULL ? "`" : "",
                    unit, bounds, flags, o->desc != NULL ? o->desc : "");
            continue;
        }
        fprintf(out, "  %-24s %-12s", key, fy_opts_doc_type(o));
        if (o->def != NULL) {
            fprintf(out, " default %s%s%s", o->def, *unit ? " " : "", unit);
        } else if (*unit) {
            fprintf(out, " (%s)", unit);
        }
        if (bounds[0] != '\0') {
            fprintf(out, o->type == FY_OPT_T_ENUM ? " [%s]" : " range %s", bounds);
        }
        if (flags[0] != '\0') {
            fprintf(out, " (%s)", flags);
        }
        fprintf(out, "\n      %s\n", o->desc != NULL ? o->desc : "");
    }
}
