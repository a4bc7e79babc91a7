/* envelope.c - the streaming envelope and its stable id. */
#include "bridge/envelope.h"

#include "core/b64.h"
#include "core/utf8.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Feed one length-prefixed field, so ("ab","c") and ("a","bc") hash differently. */
static void feed(EVP_MD_CTX *md, const void *p, size_t n)
{
    unsigned char len[8];
    int i;

    for (i = 0; i < 8; i++) {
        len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    EVP_DigestUpdate(md, len, sizeof(len));
    if (n > 0) {
        EVP_DigestUpdate(md, p, n);
    }
}

static void feed_str(EVP_MD_CTX *md, const char *s)
{
    feed(md, s, strlen(s));
}

static void feed_i64(EVP_MD_CTX *md, int64_t v)
{
    char s[32];

    snprintf(s, sizeof(s), "%lld", (long long)v);
    feed_str(md, s);
}

void fy_envelope_id(const struct fy_uplink *up, const char *rec_type, const void *raw,
                    size_t raw_len, char out[FY_ENVELOPE_ID_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int has_identity = up->dev_eui[0] != '\0' || up->device_id[0] != '\0';

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        /* Only on allocation failure: fall back to an id that is still deterministic. */
        memset(out, '0', FY_ENVELOPE_ID_LEN);
        out[FY_ENVELOPE_ID_LEN] = '\0';
        EVP_MD_CTX_free(md);
        return;
    }
    feed_str(md, "ferry-envelope-v1");
    feed_str(md, rec_type != NULL ? rec_type : "");
    if (has_identity && up->f_cnt >= 0 && strcmp(up->event, "up") == 0) {
        /* An uplink is the same uplink whichever feed or redelivery brought it. */
        feed_str(md, up->dev_eui[0] != '\0' ? up->dev_eui : "");
        feed_str(md, up->dev_eui[0] != '\0' ? "" : up->application_id);
        feed_str(md, up->dev_eui[0] != '\0' ? "" : up->device_id);
        feed_str(md, up->dev_addr);
        feed_i64(md, up->f_cnt);
        feed_i64(md, up->f_port);
        feed(md, up->payload, up->payload_len);
    } else {
        feed_str(md, "raw");
        feed(md, raw, raw_len);
    }
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    fy_hex_encode(digest, FY_ENVELOPE_ID_LEN / 2, out);
}

int fy_envelope_build(struct fy_envelope *env, const struct fy_uplink *up, cJSON *obj,
                      const char *rec_type, const char *event_type, const char *source,
                      const void *raw, size_t raw_len, struct fy_err *err)
{
    cJSON *root = NULL;
    char *text;

    memset(env, 0, sizeof(*env));
    if (obj == NULL) {
        obj = fy_uplink_to_json(up);
        if (obj == NULL) {
            return fy_err_set(err, FY_ENOMEM, "out of memory");
        }
    }
    fy_envelope_id(up, rec_type, raw, raw_len, env->id);
    if (up->dev_eui[0] != '\0') {
        snprintf(env->key, sizeof(env->key), "%s", up->dev_eui);
    } else if (up->device_id[0] != '\0') {
        snprintf(env->key, sizeof(env->key), "%.63s/%.63s", up->application_id, up->device_id);
    } else {
        snprintf(env->key, sizeof(env->key), "%s", env->id);
    }
    if (!fy_utf8_valid(env->key, strlen(env->key))) {
        char *fixed = fy_utf8_repair(env->key);
        if (fixed == NULL) {
            goto nomem;
        }
        snprintf(env->key, sizeof(env->key), "%s", fixed);
        free(fixed);
        fy_utf8_truncate(env->key); /* the copy may have cut a U+FFFD in two */
    }
    root = cJSON_CreateObject();
    if (root == NULL ||
        cJSON_AddStringToObject(root, "event_type", event_type ? event_type : "create") == NULL ||
        cJSON_AddStringToObject(root, "id", env->id) == NULL) {
        goto nomem;
    }
    if (!cJSON_AddItemToObject(root, "obj", obj)) {
        goto nomem; /* not attached (its key could not be copied): still ours to free */
    }
    obj = NULL; /* owned by root now */
    if (cJSON_AddStringToObject(root, "obj_type", "objs") == NULL ||
        cJSON_AddStringToObject(root, "recType", rec_type ? rec_type : "") == NULL ||
        cJSON_AddStringToObject(root, "source", source ? source : "ferry") == NULL) {
        goto nomem;
    }
    /* Every envelope is UTF-8 JSON (RFC 8259), whatever bytes a network server or a device
     * put into a string: ill-formed sequences become U+FFFD (docs/envelope.md, "UTF-8"). The
     * common case costs one pass over the text; only a bad envelope walks and reprints. */
    text = cJSON_PrintUnformatted(root);
    if (text != NULL && !fy_utf8_valid(text, strlen(text))) {
        free(text);
        text = fy_utf8_repair_json(root) < 0 ? NULL : cJSON_PrintUnformatted(root);
    }
    if (text == NULL) {
        goto nomem;
    }
    cJSON_Delete(root);
    env->json = text;
    env->len = strlen(text);
    return FY_OK;
nomem:
    cJSON_Delete(obj);
    cJSON_Delete(root);
    return fy_err_set(err, FY_ENOMEM, "out of memory");
}

void fy_envelope_clear(struct fy_envelope *env)
{
    free(env->json);
    env->json = NULL;
    env->len = 0;
}
