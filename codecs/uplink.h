/* uplink.h - the normalized uplink every network-format codec produces. */
#ifndef FY_UPLINK_H
#define FY_UPLINK_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

/* Normalized uplink. Strings are "" when unknown, numbers -1. Owned by the struct; free the
 * allocated parts with fy_uplink_clear(). */
struct fy_uplink {
    char format[32];          /* network format name ("tts-v3", "chirpstack-v4", ...) */
    char event[16];           /* "up", "join", ... */
    char dev_eui[17];         /* 16 lowercase hex digits */
    char dev_addr[9];         /* 8 lowercase hex digits */
    char device_id[128];
    char application_id[128];
    char tenant_id[128];
    int64_t f_cnt;
    int f_port;
    unsigned char *payload;   /* FRMPayload bytes (malloc'ed), NULL when none */
    size_t payload_len;
    char received_at[48];     /* RFC 3339 time given by the network server */
    cJSON *radio;             /* normalized radio metadata object (owned) or NULL:
                                 {"frequency":Hz,"sf":n,"bw":Hz,"gateways":[{"id","rssi","snr"}]} */
    cJSON *ns_decoded;        /* payload already decoded by the network server (owned) or NULL */
};

void fy_uplink_init(struct fy_uplink *up);
void fy_uplink_clear(struct fy_uplink *up);

/* The uplink as a JSON object for the envelope's obj (caller owns; NULL on ENOMEM):
 * {"format","event","devEUI","devAddr","deviceId","applicationId","tenantId","fCnt","fPort",
 *  "payload" (base64),"payloadHex","receivedAt","radio","nsDecoded"} with unknown fields left out. */
cJSON *fy_uplink_to_json(const struct fy_uplink *up);

#endif
