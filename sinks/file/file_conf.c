/* file_conf.c - the file sink's options, their checks (`ferry check` runs the same), and the
 * paths: a template rendered for one record, refused when it would leave `dir`, and the
 * timestamped names of rotated files. */
#include "sinks/file/file.h"

#include "core/template.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const fsync_words[] = {"interval", "always", "never", NULL};

const struct fy_opt fy_file_sink_opts[] = {
    FY_OPT_STR("dir", NULL, FY_REQUIRED, offsetof(struct fy_file_sink, dir),
               "directory every file is written under (absolute); a path that would leave it "
               "is refused"),
    FY_OPT_STR("path", "{recType}.ndjson", 0, offsetof(struct fy_file_sink, path),
               "file name template under dir when the route gives none: {recType}, {deviceId}, "
               "{devEUI}, {applicationId}, {tenantId}, {date}, {year}, {month}, {day}, {hour}, "
               "{minute} (UTC, when Ferry accepted the record)"),
    FY_OPT_ENUM("fsync", "interval", fsync_words, offsetof(struct fy_file_sink, fsync),
                "when written lines are fdatasync'ed before their records count as delivered: "
                "interval, always (every batch) or never (the kernel decides)"),
    FY_OPT_INT("fsync_interval_ms", "100", 1, 60000,
               offsetof(struct fy_file_sink, fsync_interval_ms),
               "fsync period for fsync: interval (the longest a record waits for its sync)"),
    FY_OPT_INT("max_bytes", "0", 0, 1LL << 40, offsetof(struct fy_file_sink, max_bytes),
               "rotate a file before it grows past this size; 0 = no size rotation"),
    FY_OPT_INT("rotate_interval_ms", "0", 0, 31LL * 24 * 3600 * 1000,
               offsetof(struct fy_file_sink, rotate_interval_ms),
               "rotate files when the wall clock enters a new interval (1h: on the hour); "
               "0 = no time rotation"),
    FY_OPT_INT("max_open_files", "64", 1, 65536, offsetof(struct fy_file_sink, max_open_files),
               "open file descriptors kept (least recently used closed first, after a sync)"),
    FY_OPT_INT("batch_max_bytes", "8M", 4096, 1LL << 30,
               offsetof(struct fy_file_sink, batch_max_bytes),
               "bytes accepted and not yet written before the sink pushes back"),
    {0},
};

/* Names a path template may use: the record's fields, then the time of the record. */
static const char *const path_vars[] = {"recType", "deviceId", "devEUI", "applicationId",
                                        "tenantId", "date", "year", "month", "day", "hour",
                                        "minute", NULL};

int fy_file_sink_check(void *ctx, struct fy_err *err)
{
    struct fy_file_sink *fs = ctx;
    struct fy_err terr = {0};
    size_t n;

    if (fs->dir == NULL || fs->dir[0] != '/') {
        return fy_err_set(err, FY_ECONFIG, "dir '%s': an absolute directory is required",
                          fs->dir != NULL ? fs->dir : "");
    }
    n = strlen(fs->dir);
    while (n > 1 && fs->dir[n - 1] == '/') {
        n--;
    }
    if (n >= sizeof(fs->dir_abs) - 256) {
        return fy_err_set(err, FY_ECONFIG, "dir: longer than %zu bytes",
                          sizeof(fs->dir_abs) - 256);
    }
    snprintf(fs->dir_abs, sizeof(fs->dir_abs), "%.*s", (int)n, fs->dir);
    if (strcmp(fs->dir_abs, "/") == 0) {
        fs->dir_abs[0] = '\0'; /* "/" + "/" + rel would double the slash */
    }
    if (fy_template_check(fs->path, path_vars, 0, &terr) != FY_OK) {
        return fy_err_set(err, FY_ECONFIG, "path: %s", terr.msg);
    }
    fs->path_needs_obj = strstr(fs->path, "{deviceId}") != NULL ||
                         strstr(fs->path, "{devEUI}") != NULL ||
                         strstr(fs->path, "{applicationId}") != NULL ||
                         strstr(fs->path, "{tenantId}") != NULL;
    return FY_OK;
}

/* ==== rendering ==== */

struct render_ctx {
    const struct fy_record *rec;
    const cJSON *obj;
    struct tm tm;
    char tbuf[16];
};

static int path_lookup(void *arg, const char *name, size_t len, const char **val,
                       size_t *val_len)
{
    struct render_ctx *c = arg;
    const struct tm *t = &c->tm;
    char key[32];
    size_t i;

    for (i = 0; path_vars[i] != NULL; i++) {
        if (strlen(path_vars[i]) == len && memcmp(path_vars[i], name, len) == 0) {
            break;
        }
    }
    if (path_vars[i] == NULL) {
        return FY_EINVAL;
    }
    *val = c->tbuf;
    if (strcmp(path_vars[i], "recType") == 0) {
        *val = c->rec->rec_type;
    } else if (strcmp(path_vars[i], "date") == 0) {
        snprintf(c->tbuf, sizeof(c->tbuf), "%04d-%02d-%02d", t->tm_year + 1900, t->tm_mon + 1,
                 t->tm_mday);
    } else if (strcmp(path_vars[i], "year") == 0) {
        snprintf(c->tbuf, sizeof(c->tbuf), "%04d", t->tm_year + 1900);
    } else if (strcmp(path_vars[i], "month") == 0) {
        snprintf(c->tbuf, sizeof(c->tbuf), "%02d", t->tm_mon + 1);
    } else if (strcmp(path_vars[i], "day") == 0) {
        snprintf(c->tbuf, sizeof(c->tbuf), "%02d", t->tm_mday);
    } else if (strcmp(path_vars[i], "hour") == 0) {
        snprintf(c->tbuf, sizeof(c->tbuf), "%02d", t->tm_hour);
    } else if (strcmp(path_vars[i], "minute") == 0) {
        snprintf(c->tbuf, sizeof(c->tbuf), "%02d", t->tm_min);
    } else {
        const cJSON *v;
        snprintf(key, sizeof(key), "%.*s", (int)len, name);
        v = cJSON_GetObjectItemCaseSensitive(c->obj, key);
        *val = cJSON_IsString(v) ? v->valuestring : NULL;
    }
    *val_len = *val != NULL ? strlen(*val) : 0;
    return FY_OK;
}

int fy_file_sink_render(const struct fy_file_sink *fs, const struct fy_record *rec, char *out,
                        size_t size, struct fy_err *err)
{
    struct render_ctx c;
    cJSON *env = NULL;
    struct fy_buf b;
    time_t secs = (time_t)(rec->created_ms / 1000);
    int rc;

    memset(&c, 0, sizeof(c));
    c.rec = rec;
    gmtime_r(&secs, &c.tm);
    if (fs->path_needs_obj) {
        env = cJSON_ParseWithLength(rec->body, rec->body_len);
        c.obj = cJSON_GetObjectItemCaseSensitive(env, "obj");
    }
    fy_buf_init(&b, size);
    rc = fy_template_render(fs->path, path_lookup, &c, FY_TEMPLATE_RAW, size, &b, err);
    cJSON_Delete(env);
    if (rc == FY_OK) {
        snprintf(out, size, "%s", b.data != NULL ? b.data : "");
    } else if (rc == FY_ENOTFOUND || rc == FY_ETOOBIG) {
        rc = FY_EINVAL; /* this record cannot be addressed: reject it */
        err->code = FY_EINVAL;
    }
    fy_buf_free(&b);
    return rc;
}

/* ==== refusal: nothing a template produces leaves dir ==== */

int fy_file_sink_relpath(const char *dir, const char *rendered, char *rel, size_t size,
                         struct fy_err *err)
{
    size_t dl = strlen(dir);
    const char *p = rendered, *seg;

    if (rendered[0] == '/') {
        /* dir is "" for "/" (see fy_file_sink_check) */
        if (strncmp(rendered, dir, dl) != 0 || rendered[dl] != '/') {
            return fy_err_set(err, FY_EINVAL, "bad_path: '%.300s' is outside dir '%s'",
                              rendered, dl > 0 ? dir : "/");
        }
        p = rendered + dl + 1;
    }
    if (*p == '\0') {
        return fy_err_set(err, FY_EINVAL, "bad_path: '%.300s' names no file", rendered);
    }
    for (seg = p; *seg != '\0';) {
        size_t n = strcspn(seg, "/");
        size_t i;
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            return fy_err_set(err, FY_EINVAL, "bad_path: '%.300s' has a%s segment (only plain "
                              "names between the slashes)", rendered,
                              n == 0 ? "n empty" : n == 1 ? " '.'" : " '..'");
        }
        for (i = 0; i < n; i++) {
            if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f) {
                return fy_err_set(err, FY_EINVAL, "bad_path: '%.300s' has a control character",
                                  rendered);
            }
        }
        seg += n;
        if (*seg == '/') {
            seg++;
            if (*seg == '\0') {
                return fy_err_set(err, FY_EINVAL, "bad_path: '%.300s' ends with '/' (names a "
                                  "directory, not a file)", rendered);
            }
        }
    }
    if (strlen(p) >= size) {
        return fy_err_set(err, FY_EINVAL, "bad_path: '%.300s' is longer than %zu bytes",
                          rendered, size - 1);
    }
    snprintf(rel, size, "%s", p);
    return FY_OK;
}

int fy_file_sink_rotated_name(const char *path, int64_t wall_ms, int n, char *out, size_t size)
{
    const char *base = strrchr(path, '/');
    const char *dot;
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    char ts[32], seq[16] = "";
    int len;

    base = base != NULL ? base + 1 : path;
    dot = strrchr(base, '.');
    if (dot == base) {
        dot = NULL; /* ".hidden" has no extension */
    }
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    if (n > 1) {
        snprintf(seq, sizeof(seq), "-%d", n);
    }
    if (dot != NULL) {
        len = snprintf(out, size, "%.*s-%s%s%s", (int)(dot - path), path, ts, seq, dot);
    } else {
        len = snprintf(out, size, "%s-%s%s", path, ts, seq);
    }
    return len > 0 && (size_t)len < size ? FY_OK : FY_ETOOBIG;
}
