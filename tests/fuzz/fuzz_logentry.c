/*
 * Fuzz target for the public log entry decoder (lib/tlog logentry). Invariants: a decoded
 * entry re-encodes to exactly the input bytes, and renders as JSON or refuses only for a time
 * outside RFC 3339.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logentry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    logentry_t e;
    if (logentry_decode(data, size, &e, NULL) != 0)
        return 0;
    buf_t b;
    buf_init(&b, LOGENTRY_MAX);
    if (logentry_encode(&b, &e) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
        abort();
    buf_free(&b);
    json_t *j = NULL;
    int rc = logentry_to_json(&e, &j);
    if (rc != 0 && rc != ERR_INVALID)
        abort();
    json_decref(j);
    return 0;
}
