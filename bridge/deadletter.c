/* deadletter.c - dead letters as JSON objects in their own journal. */
#include "bridge/deadletter.h"
#include "core/clock.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The strings every dead letter carries. In a truncated one, the free-form ones are cut so the
 * whole object stays small. */
static void add_str(cJSON *o, const char *name, const char *v, int truncated)
{
    char cut[FY_DLQ_HEAD_BYTES + 1];

    if (v == NULL) {
        return;
    }
    if (truncated && strlen(v) > FY_DLQ_HEAD_BYTES) {
        memcpy(cut, v, FY_DLQ_HEAD_BYTES);
        cut[FY_DLQ_HEAD_BYTES] = '\0';
        v = cut;
    }
    cJSON_AddStringToObject(o, name, v);
}

/* The dead letter as JSON text (caller frees with free()), full or truncated: a truncated one
 * keeps the reason and the sizes, and only the first FY_DLQ_HEAD_BYTES of the payload and of
 * the record. NULL: out of memory (*rc = FY_ENOMEM) or too big (*rc = FY_ETOOBIG). */
static char *dlq_text(const struct fy_dlq_entry *e, int truncated, int *rc)
{
    cJSON *o;
    char *text;

    o = cJSON_CreateObject();
    if (o == NULL) {
        *rc = FY_ENOMEM;
        return NULL;
    }
    add_time(o, "dead_at", fy_clock_wall_ms());
    cJSON_AddStringToObject(o, "stage", e->stage != NULL ? e->stage : "unknown");
    add_str(o, "reason", e->reason != NULL ? e->reason : "", truncated);
    add_str(o, "sink", e->sink, truncated);
    add_str(o, "source", e->source, truncated);
    add_str(o, "route", e->route, truncated);
    add_str(o, "topic", e->topic, truncated);
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
    *rc = FY_OK;
    if (truncated) {
        cJSON_AddBoolToObject(o, "truncated", 1);
        if (e->raw != NULL) {
            cJSON_AddNumberToObject(o, "payload_bytes", (double)e->raw_len);
            *rc = add_b64(o, "payload_head_base64", e->raw,
                          e->raw_len < FY_DLQ_HEAD_BYTES ? e->raw_len : FY_DLQ_HEAD_BYTES);
        }
        if (*rc == FY_OK && e->record != NULL) {
            cJSON_AddNumberToObject(o, "record_bytes", (double)e->record_len);
            *rc = add_b64(o, "record_head_base64", e->record,
                          e->record_len < FY_DLQ_HEAD_BYTES ? e->record_len : FY_DLQ_HEAD_BYTES);
        }
    } else {
        if (e->raw != NULL) {
            *rc = add_b64(o, "payload_base64", e->raw, e->raw_len);
        }
        if (*rc == FY_OK && e->record != NULL) {
            *rc = add_b64(o, "record_base64", e->record, e->record_len);
        }
    }
    text = *rc == FY_OK ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (text == NULL && *rc == FY_OK) {
        *rc = FY_ENOMEM;
    }
    if (text != NULL && strlen(text) > FY_DLQ_MAX_BYTES) {
        free(text);
        text = NULL;
        *rc = FY_ETOOBIG;
    }
    return text;
}

int fy_dlq_append(struct fy_journal *dlq, const struct fy_dlq_entry *e, struct fy_err *err)
{
    /* base64 grows by 4/3: past this the full dead letter cannot fit, do not even build it */
    int truncated = (e->raw != NULL ? e->raw_len : 0) + (e->record != NULL ? e->record_len : 0) >
                    FY_DLQ_MAX_BYTES / 4 * 3;
    char *text;
    int rc;

    for (;;) {
        text = dlq_text(e, truncated, &rc);
        if (text == NULL && rc == FY_ETOOBIG && !truncated) {
            truncated = 1;
            continue;
        }
        if (text == NULL) {
            return fy_err_set(err, rc, "cannot encode dead letter: %s", fy_strerror(rc));
        }
        rc = fy_journal_append(dlq, text, strlen(text), NULL);
        free(text);
        if ((rc == FY_ETOOBIG || rc == FY_EINVAL) && !truncated) {
            truncated = 1; /* a per-record refusal: store the short form instead */
            continue;
        }
        break;
    }
    if (rc != FY_OK) {
        /* FY_EFULL (quota, disk full) or FY_EIO (the dead-letter journal's storage failed) */
        return fy_err_set(err, rc, "dead-letter journal: %s", fy_strerror(rc));
    }
    return FY_OK;
}
