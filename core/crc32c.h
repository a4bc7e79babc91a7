/* crc32c.h - CRC32C (Castagnoli), hardware-accelerated when the CPU has SSE4.2. */
#ifndef FY_CRC32C_H
#define FY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue crc over p[0..n) (start with 0). */
uint32_t fy_crc32c(uint32_t crc, const void *p, size_t n);

#endif
