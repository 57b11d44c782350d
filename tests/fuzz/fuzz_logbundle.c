/*
 * Fuzz target for the log-proof bundle as mastery-verify --log-proof reads it (lib/tlog
 * logbundle): parse, then every log check with the bundle's own key as the signer (so
 * well-formed seeds reach entry decoding, proof verification and the evidence match).
 * Invariant: the number of failed checks returned equals the failures reported.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logbundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *ctx, const char *check, bool ok, const char *detail)
{
    if (check == NULL || detail == NULL)
        abort();
    *(int *)ctx += !ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    logbundle_t b;
    if (logbundle_parse((const char *)data, size, &b, NULL) == 0) {
        int failed = 0;
        int rc = logbundle_check(&b, b.verifier.pub, NULL, 0, count, &failed);
        if (rc >= 0 && rc != failed)
            abort();
        char *text = NULL;
        size_t len = 0;
        if (logbundle_credential_text(&b, &text, &len) == 0)
            free(text);
    }
    logbundle_free(&b);
    return 0;
}
