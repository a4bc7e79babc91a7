/* js_engine.h - a small C interface to an embedded JavaScript engine (SpiderMonkey 102) that
 * runs device payload decoders written for The Things Network / ChirpStack unchanged.
 *
 * DESIGN: every engine (one per configured codec) owns one thread with its own JSContext:
 * its own heap with a byte limit, one global with only the standard classes (no I/O, no
 * require, no timers). fy_js_decode may be called from any thread; calls to one engine are
 * serialized. A call that runs past the time limit is interrupted from the caller's side
 * (JS_RequestInterruptCallback) and fails with FY_ETIMEOUT; the engine stays usable. */
#ifndef FY_JS_ENGINE_H
#define FY_JS_ENGINE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fy_js;

/* Compile and run script (borrowed; name is used in error messages) in a fresh engine with a
 * per-call time limit and a heap limit. The script must define decodeUplink(input) (TTN and
 * ChirpStack v4) or Decode(fPort, bytes, variables) (ChirpStack v3). NULL + err (with the
 * script's file:line for syntax errors) on failure; caller frees with fy_js_destroy(). */
struct fy_js *fy_js_create(const char *script, size_t len, const char *name, int timeout_ms,
                           size_t heap_bytes, struct fy_err *err);

/* Run the decoder on bytes. On FY_OK *out_json is the JSON text of the script's result object
 * ({data, warnings, errors}; a Decode() result is wrapped as {data}), caller frees with
 * free(). FY_ETIMEOUT past the time limit, FY_ETOOBIG when the heap limit was hit,
 * FY_EDECODE when the script threw (message and line in err). */
int fy_js_decode(struct fy_js *js, const uint8_t *bytes, size_t n, int f_port,
                 const char *recv_time, char **out_json, struct fy_err *err);

/* NULL-safe; waits for the engine thread to exit. */
void fy_js_destroy(struct fy_js *js);

/* Release the engine's process-wide state; call once at exit after every fy_js is destroyed.
 * Harmless when no engine was ever created. */
void fy_js_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif
