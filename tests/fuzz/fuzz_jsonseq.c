/*
 * Fuzz target: jsonseq on arbitrary bytes, fed whole and in pieces whose size comes from the
 * first byte. Both feedings must give the same items; every item is non-empty... or an empty
 * array element, at most JSONSEQ_ITEM_MAX bytes, without leading or trailing white space;
 * after BROKEN only NEED comes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonseq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Runs the splitter; returns a checksum of what came out (items, kinds, lines). */
static uint64_t run(const uint8_t *data, size_t size, size_t step)
{
    jsonseq_t *p = jsonseq_new();
    if (p == NULL)
        return 0;
    uint64_t sum = 1469598103934665603ull;
    bool broken = false;
    for (size_t i = 0; i <= size; i += step) {
        size_t n = size - i < step ? size - i : step;
        if (i < size)
            check(jsonseq_feed(p, data + i, n) == 0);
        else
            jsonseq_end(p);
        for (;;) {
            const char *item = NULL, *why = NULL;
            size_t len = 0;
            uint64_t line = 0;
            int rc = jsonseq_next(p, &item, &len, &line, &why);
            if (rc == JSONSEQ_NEED)
                break;
            check(!broken && line >= 1);
            sum = (sum ^ (uint64_t)(rc + 3)) * 1099511628211ull;
            sum = (sum ^ line) * 1099511628211ull;
            if (rc == JSONSEQ_ITEM) {
                check(len <= JSONSEQ_ITEM_MAX);
                check(len == 0 || (!ws(item[0]) && !ws(item[len - 1])));
                for (size_t k = 0; k < len; k++)
                    sum = (sum ^ (uint8_t)item[k]) * 1099511628211ull;
            } else {
                check(why != NULL && why[0] != '\0');
                broken = rc == JSONSEQ_BROKEN;
            }
        }
        if (i == size)
            break;
        if (i + step > size) /* the last piece was fed: now the end */
            i = size - step;
    }
    jsonseq_destroy(&p);
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step = size > 0 ? (size_t)(data[0] % 16) + 1 : 1;
    check(run(data, size, size ? size : 1) == run(data, size, step));
    return 0;
}
