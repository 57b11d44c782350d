/*
 * Fuzz target: isotime_parse on arbitrary bytes. A refusal must come with an error detail and
 * leave the output alone; an accepted instant must lie in range, format, and parse back to
 * itself (the formatted text is canonical: UTC, milliseconds), and the seconds-only form must
 * never lie after it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ms = INT64_MIN;
    err_detail_t d;
    err_clear(&d);
    int rc = isotime_parse((const char *)data, size, &ms, &d);
    if (rc != 0) {
        check(rc == ERR_INVALID && d.code == ERR_INVALID && d.message[0] != '\0');
        check(ms == INT64_MIN);
        return 0;
    }
    check(ms >= ISOTIME_MIN_MS && ms <= ISOTIME_MAX_MS);
    char buf[ISOTIME_BUFSZ];
    check(isotime_format_ms(ms, buf, sizeof buf) == 0);
    int64_t back = 0;
    check(isotime_parse(buf, strlen(buf), &back, NULL) == 0 && back == ms);
    check(isotime_format_s(ms, buf, sizeof buf) == 0);
    check(isotime_parse(buf, strlen(buf), &back, NULL) == 0 && back <= ms && ms - back < 1000);
    return 0;
}
