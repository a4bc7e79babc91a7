/* deadletter.c - dead letters as JSON objects in their own journal. */
#include "bridge/deadletter.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int64_t fy_now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char s[40];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&t, &tm);
    n = strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(s + n, sizeof(s) - n, ".%03dZ", (int)(ms % 1000));
    cJSON_AddStringToObject(o, name, s);
}

static int add_b64(cJSON *o, const char *name, const void *p, size_t len)
{
    unsigned char *out;

    if (len > (size_t)INT32_MAX / 2) {
        return FY_ETOOBIG;
    }
    out = malloc(4 * ((len + 2) / 3) + 1);
    if (out == NULL) {
        return FY_ENOMEM;
    }
    EVP_EncodeBlock(out, p, (int)len);
    cJSON_AddStringToObject(o, name, (const char *)out);
    free(out);
    return FY_OK;
}

int fy_dlq_append(struct fy_journal *dlq, const struct fy_dlq_entry *e, struct fy_err *err)
{
    cJSON *o;
    char *text;
    int rc;

    o = cJSON_CreateObject();
    if (o == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    add_time(o, "dead_at", fy_now_ms());
    cJSON_AddStringToObject(o, "stage", e->stage != NULL ? e->stage : "unknown");
    cJSON_AddStringToObject(o, "reason", e->reason != NULL ? e->reason : "");
    if (e->sink != NULL) {
        cJSON_AddStringToObject(o, "sink", e->sink);
    }
    if (e->source != NULL) {
        cJSON_AddStringToObject(o, "source", e->source);
    }
    if (e->route != NULL) {
        cJSON_AddStringToObject(o, "route", e->route);
    }
    if (e->topic != NULL) {
        cJSON_AddStringToObject(o, "topic", e->topic);
    }
    if (e->status != 0) {
        cJSON_AddNumberToObject(o, "status", e->status);
    }
    cJSON_AddNumberToObject(o, "attempts", e->attempts);
    if (e->first_attempt_ms != 0) {
        add_time(o, "first_attempt", e->first_attempt_ms);
    }
    if (e->last_attempt_ms != 0) {
        add_time(o, "last_attempt", e->last_attempt_ms);
    }
    rc = FY_OK;
    if (e->raw != NULL) {
        rc = add_b64(o, "payload_base64", e->raw, e->raw_len);
    }
    if (rc == FY_OK && e->record != NULL) {
        rc = add_b64(o, "record_base64", e->record, e->record_len);
    }
    text = rc == FY_OK ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (text == NULL) {
        return fy_err_set(err, rc != FY_OK ? rc : FY_ENOMEM, "cannot encode dead letter");
    }
    rc = fy_journal_append(dlq, text, strlen(text), NULL);
    free(text);
    if (rc != FY_OK) {
        return fy_err_set(err, rc, "dead-letter journal: %s", fy_strerror(rc));
    }
    return FY_OK;
}
