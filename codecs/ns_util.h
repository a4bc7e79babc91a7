/* ns_util.h - helpers shared by the network-format parsers (strict JSON, field access,
 * identifier normalization, radio metadata). Internal to fy_codecs. */
#ifndef FY_NS_UTIL_H
#define FY_NS_UTIL_H

#include "core/err.h"
#include "codecs/uplink.h"

#include <cjson/cJSON.h>

/* Parse the whole message as one JSON object. NULL + FY_EDECODE "<fmt>: ..." otherwise. */
cJSON *fy_ns_parse(const char *fmt, const struct fy_msg *in, struct fy_err *err);

/* obj.a.b.c lookup with a dotted path; NULL when any step is missing. */
const cJSON *fy_ns_get(const cJSON *obj, const char *path);

/* Copy a string field into buf (truncating to size-1 is an error). 1 copied, 0 absent,
 * -1 wrong type or too long (err set). */
int fy_ns_str(const char *fmt, const cJSON *obj, const char *path, char *buf, size_t size,
              struct fy_err *err);

/* Normalize an EUI (16 hex digits, any case; or 8 bytes of base64 when b64_ok) to lowercase
 * hex into out[17]. FY_EDECODE otherwise. */
int fy_ns_eui(const char *fmt, const char *field, const char *s, int b64_ok, char out[17],
              struct fy_err *err);

/* Integer field in [min, max] (numbers or numeric strings). 1 set, 0 absent, -1 invalid. */
int fy_ns_int(const char *fmt, const cJSON *obj, const char *path, int64_t min, int64_t max,
              int64_t *out, struct fy_err *err);

/* Decode a base64 payload field into up->payload. */
int fy_ns_payload_b64(const char *fmt, const cJSON *obj, const char *path, struct fy_uplink *up,
                      struct fy_err *err);

/* Build up->radio from frequency (Hz, <0 unknown), sf, bw and a gateway list built by the
 * caller (taken; may be NULL). */
int fy_ns_radio(struct fy_uplink *up, double freq, int sf, double bw, cJSON *gateways);

/* Read a LoRa data rate written as text ("SF9BW125", "SF9 BW125 4/5"): *sf (5..12) and *bw in
 * Hz (from kHz); each is left as it was when absent. */
void fy_ns_datarate(const char *s, int *sf, double *bw);

/* Build the gateway list from the array at list_path of obj: each item's id_path, rssi_path and
 * snr_path. *gws receives the list (NULL when there is none). FY_EDECODE when list_path is not
 * an array, FY_ENOMEM. */
int fy_ns_gateways(const char *fmt, const cJSON *obj, const char *list_path, const char *id_path,
                   const char *rssi_path, const char *snr_path, cJSON **gws, struct fy_err *err);

/* Append {"id", "rssi", "snr"} to gws (created on first use). */
int fy_ns_gateway(cJSON **gws, const char *id, const cJSON *rssi, const cJSON *snr);

#endif
