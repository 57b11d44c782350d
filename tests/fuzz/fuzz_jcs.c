/*
 * Fuzz target for jcs: parse arbitrary bytes as JSON; when they parse, the canonical form must
 * parse again and canonicalise to the same bytes (canonicalisation is idempotent), and the
 * writer with a nesting bound (what jsonld uses for @json literals) must give the same bytes
 * or refuse with ERR_LIMIT, never anything else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    if (jcs_parse((const char *)data, size, &v, NULL) != 0)
        return 0;
    char *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    json_t *again = NULL;
    if (jcs_serialize(v, &first, &first_len, NULL) != 0)
        goto out; /* too deep: a documented limit, not a bug */
    if (jcs_parse(first, first_len, &again, NULL) != 0)
        abort(); /* canonical output must be valid JSON */
    if (jcs_serialize(again, &second, &second_len, NULL) != 0)
        abort();
    if (first_len != second_len || memcmp(first, second, first_len) != 0)
        abort();
    buf_t b;
    buf_init(&b, JCS_MAX_OUTPUT);
    int rc = jcs_serialize_buf_depth(v, &b, 8, NULL);
    if (rc == 0 && (b.len != first_len || memcmp(b.data, first, first_len) != 0))
        abort();
    if (rc != 0 && rc != ERR_LIMIT)
        abort();
    buf_free(&b);
out:
    free(second);
    free(first);
    json_decref(again);
    json_decref(v);
    return 0;
}
