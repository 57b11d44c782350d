/*
 * Fuzz target for the offline verifier's core (verify_badge, as mastery-verify runs it):
 * the input is split at NUL bytes into the badge (JSON or JWT), then optionally a status
 * list credential and a DID document, so every parser and check on the way is reached with
 * hostile bytes. The auditor's options are on (a trust list, a presented recipient, a status
 * age limit), and an SVG badge goes through the unbaker (a PNG holds NUL bytes: fuzz_bake
 * covers it). Nothing may crash, hang or leak; a valid result must have no reasons, and the
 * verdict and the ordered results must agree with them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    verify_blob_t parts[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 3; i++) {
        if (i == size || data[i] == 0) {
            parts[n].data = (const char *)data + start;
            parts[n].len = i - start;
            n++;
            start = i + 1;
        }
    }
    verify_input_t in;
    memset(&in, 0, sizeof in);
    in.badge = parts[0];
    if (n > 1) {
        in.status_lists = &parts[1];
        in.n_status_lists = 1;
    }
    if (n > 2)
        in.did_document = parts[2];
    in.now_ms = 1795169700000LL; /* 2026-11-20T10:15:00Z */
    static const char *const trusted[] = {
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "did:web:lincoln.example.edu"};
    in.trusted = trusted;
    in.n_trusted = 2;
    in.trust_given = size % 2 == 0; /* half the inputs without a trust list */
    in.recipient = "s-1001";
    in.max_status_age_ms = 86400000LL;
    in.did_documents = n > 2 ? &parts[2] : NULL;
    in.n_did_documents = n > 2 ? 1 : 0;
    verify_result_t res;
    if (verify_badge(&in, &res) != 0)
        return 0;
    if (res.valid != (json_array_size(res.reasons) == 0))
        abort();
    if (res.valid != (strcmp(res.verdict, "VALID") == 0) ||
        json_object_size(res.checks) != json_array_size(res.results))
        abort();
    verify_result_free(&res);
    return 0;
}
