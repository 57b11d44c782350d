/*
 * crc32c: CRC-32C (Castagnoli, the polynomial iSCSI, ext4 and RocksDB use), for detecting
 * damage in stored records. SSE4.2's crc32 instruction when the CPU has it (chosen once, at
 * the first call), else a slice-by-8 table; both give the same value.
 *
 * crc32c_extend(crc, p, n) continues a checksum: crc32c_extend(crc32c_extend(0, a), b) is the
 * checksum of a followed by b. Thread-safe after the first call; no allocation.
 */
#ifndef MASTERY_CRC32C_H
#define MASTERY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n);

static inline uint32_t crc32c(const void *p, size_t n)
{
    return crc32c_extend(0, p, n);
}

#endif
