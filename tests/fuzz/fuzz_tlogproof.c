/*
 * Fuzz target for C2SP tlog-proof texts (lib/tlog proof): parse, and verify against a fixed
 * key and origin. Invariant: a parsed proof formats back to exactly the input (one encoding
 * per proof: strict base64, no leading zeros).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tlog_proof_t p; /* 3 KiB: off the stack */
    const char *s = (const char *)data;
    if (tlog_proof_parse(s, size, &p, NULL) == 0) {
        buf_t b;
        buf_init(&b, size + 16);
        if (tlog_proof_format(&b, p.index, p.has_extra ? p.extra : NULL, p.extra_len, p.hashes, p.n,
                              p.checkpoint, p.checkpoint_len) != 0 ||
            b.len != size || memcmp(b.data, s, size) != 0)
            abort();
        buf_free(&b);
    }
    tlog_verifier_t v;
    const char *vk = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    if (tlog_verifier_parse(vk, strlen(vk), &v, NULL) != 0)
        abort();
    tlog_hash_t leaf;
    tlog_leaf_hash("fuzz", 4, &leaf);
    tlog_checkpoint_t cp;
    (void)tlog_proof_verify(s, size, "PeterNeumann", &v, 1, &leaf, &p, &cp, NULL);
    return 0;
}
