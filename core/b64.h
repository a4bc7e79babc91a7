/* b64.h - base64 (standard and URL alphabets, padding optional) and hex codecs. */
#ifndef FY_B64_H
#define FY_B64_H

#include <stddef.h>
#include <stdint.h>

/* Decode base64 (padded or not, '+/' or '-_'); whitespace is not allowed. Returns a malloc'ed
 * buffer (caller frees; never NULL on success, even for empty input) and its length in *n, or
 * NULL on invalid input or ENOMEM. */
uint8_t *fy_b64_decode(const char *s, size_t len, size_t *n);

/* Encode with padding into a new NUL-terminated string (caller frees), NULL on ENOMEM. */
char *fy_b64_encode(const uint8_t *p, size_t n);

/* Decode hex (either case, even length). Returns a malloc'ed buffer or NULL on bad input. */
uint8_t *fy_hex_decode(const char *s, size_t len, size_t *n);

/* Encode lowercase hex into out (at least 2n+1 bytes). */
void fy_hex_encode(const uint8_t *p, size_t n, char *out);

#endif
