/* envelope.h - the streaming envelope every sink receives (Microshare's streaming format):
 * {"event_type","id","obj","obj_type","recType","source"}. See docs/envelope.md. */
#ifndef FY_ENVELOPE_H
#define FY_ENVELOPE_H

#include "core/err.h"
#include "codecs/uplink.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define FY_ENVELOPE_ID_LEN 32 /* hex digits */

struct fy_envelope {
    char id[FY_ENVELOPE_ID_LEN + 1];
    char key[129];            /* partition key: devEUI, else applicationId/deviceId */
    char *json;               /* serialized envelope (owned) */
    size_t len;
};

/* Stable id of an uplink under a recType: the same uplink (same device, fCnt, fPort, payload)
 * gets the same id however often and from whichever feed it arrives. raw/raw_len is hashed
 * instead when the uplink has no device identity or frame counter (non-uplink events). */
void fy_envelope_id(const struct fy_uplink *up, const char *rec_type, const void *raw,
                    size_t raw_len, char out[FY_ENVELOPE_ID_LEN + 1]);

/* Build the envelope for up. obj: the object to wrap (takes ownership; freed even on error);
 * NULL means fy_uplink_to_json(up). event_type NULL means "create"; source is the envelope
 * source (Ferry instance or source name). Caller frees with fy_envelope_clear(). */
int fy_envelope_build(struct fy_envelope *env, const struct fy_uplink *up, cJSON *obj,
                      const char *rec_type, const char *event_type, const char *source,
                      const void *raw, size_t raw_len, struct fy_err *err);

void fy_envelope_clear(struct fy_envelope *env);

#endif
