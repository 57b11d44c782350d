/*
 * Fuzz target: store_meta_check, the check of data.mdb's LMDB meta pages that runs before
 * LMDB maps the file (a damaged or truncated file must be refused, not crash the daemon).
 * Input: 8 bytes of file size (little-endian), then the file's first bytes. A refusal must be
 * ERR_UNAVAILABLE with a message naming the file; an acceptance must hold what it promises:
 * both meta pages present in the head, and a file size covering at least those two pages.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t file_size;
    memcpy(&file_size, data, 8);
    const uint8_t *head = data + 8;
    size_t len = size - 8;
    err_detail_t d;
    memset(&d, 0, sizeof d);
    int rc = store_meta_check(head, len, file_size, "data.mdb", &d);
    if (rc != 0) {
        check(rc == ERR_UNAVAILABLE && strstr(d.message, "data.mdb") != NULL);
        return 0;
    }
    uint32_t psize;
    memcpy(&psize, head + 16 + 24, 4);
    /* The second meta page is read up to its txnid: 16 + 24 + 2 * 48 + 8 + 8 = 152 bytes. */
    check(psize >= 512 && psize <= STORE_META_PSIZE_MAX && len >= (size_t)psize + 152);
    check(file_size >= 2 * (uint64_t)psize);
    return 0;
}
