/*
 * Fuzz target for nquads (parser, writer) and rdfc (canonicalization with a small work limit).
 *
 * Beyond "no crash, no leak, no hang", it checks invariants and aborts when one breaks: the
 * text of a parsed dataset parses back to as many quads (into a dataset that was reset, so
 * reuse is exercised), writing to a bounded buffer gives the same text as serializing, and
 * canonicalizing a canonical document again gives the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nquads.h"
#include "rdfc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nquads_limits_t lim = {.max_input = 64 * 1024, .max_quads = 2000};
    rdfc_options_t opt = {.work_limit = 2000, .limits = lim};
    err_detail_t d;
    nquads_dataset_t *ds = nquads_dataset_new();
    nquads_dataset_t *again = nquads_dataset_new();
    rdfc_result_t *res = NULL;
    char *text = NULL, *canon2 = NULL;
    size_t text_len = 0, canon2_len = 0;
    if (ds == NULL || again == NULL)
        goto out;
    if (nquads_parse(ds, (const char *)data, size, &lim, &d) != 0)
        goto out;
    if (nquads_dataset_serialize(ds, &text, &text_len) != 0)
        goto out;
    if (nquads_parse(again, text, text_len, &lim, &d) != 0 ||
        nquads_dataset_count(again) != nquads_dataset_count(ds))
        abort(); /* the writer produced something the parser refuses */
    nquads_dataset_reset(again);
    if (nquads_parse(again, text, text_len, &lim, &d) != 0 ||
        nquads_dataset_count(again) != nquads_dataset_count(ds))
        abort(); /* a reset dataset is not as good as a new one */
    buf_t b;
    buf_init(&b, text_len);
    int wrc = nquads_dataset_write(ds, &b);
    if (wrc != 0 || b.len != text_len || memcmp(b.data ? b.data : "", text, text_len) != 0)
        abort(); /* the two writers disagree, or a buffer of the exact size was too small */
    buf_free(&b);
    if (rdfc_canonicalize(ds, &opt, &res, &d) != 0)
        goto out;
    size_t len;
    const char *canon = rdfc_result_nquads(res, &len);
    if (rdfc_canonicalize_nquads(canon, len, &opt, &canon2, &canon2_len, &d) == 0 &&
        (canon2_len != len || memcmp(canon, canon2, len) != 0))
        abort(); /* canonical form is not a fixed point */
out:
    free(text);
    free(canon2);
    rdfc_result_destroy(&res);
    nquads_dataset_destroy(&ds);
    nquads_dataset_destroy(&again);
    return 0;
}
