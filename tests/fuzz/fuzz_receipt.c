/*
 * Fuzz target for the erasure receipt checker (receipt_verify, as mastery-verify
 * --erasure-receipt runs it): the input is split at the first NUL into the receipt and a DID
 * document, so the JSON parser, the shape checks, the key resolution and the eddsa-jcs-2022
 * verification all meet hostile bytes, with a learner id to commit to and a trust list on for
 * half the inputs. Nothing may crash, hang or leak; valid must mean no reasons and the verdict
 * and the ordered results must agree with the checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    receipt_input_t in;
    memset(&in, 0, sizeof in);
    in.receipt.data = (const char *)data;
    in.receipt.len = nul ? (size_t)(nul - data) : size;
    if (nul != NULL) {
        in.did_document.data = (const char *)nul + 1;
        in.did_document.len = size - in.receipt.len - 1;
        in.did_documents = &in.did_document;
        in.n_did_documents = 1;
    }
    static const char *const trusted[] = {
        "did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z", "did:web:lincoln.example.edu"};
    in.trusted = trusted;
    in.n_trusted = 2;
    in.trust_given = size % 2 == 0;
    in.learner = size % 3 == 0 ? NULL : "s-1001";
    in.now_ms = 1795169700000LL; /* 2026-11-20T10:15:00Z */
    verify_result_t res;
    if (receipt_verify(&in, &res) != 0)
        return 0;
    if (res.valid != (json_array_size(res.reasons) == 0) ||
        res.valid != (strcmp(res.verdict, "VALID") == 0) ||
        json_object_size(res.checks) != json_array_size(res.results))
        abort();
    verify_result_free(&res);
    return 0;
}
