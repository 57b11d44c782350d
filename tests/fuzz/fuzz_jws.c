/*
 * Fuzz target for the JWS verifier's parser: arbitrary bytes as a compact token, checked
 * against the RFC 8037 appendix A public key (so well-formed seeds reach the signature check).
 * Nothing may crash or leak; a token that verifies must also peek the same header.
 */
#include <stdint.h>
#include <stdlib.h>

#include "jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static keys_t *fuzz_key(void)
{
    static keys_t *key;
    if (key == NULL) {
        json_t *jwk = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                                "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        if (jwk == NULL || keys_from_jwk(jwk, &key, NULL) != 0)
            abort();
        json_decref(jwk);
    }
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *token = (const char *)data;
    json_t *peeked = NULL, *header = NULL, *claims = NULL;
    uint8_t *payload = NULL;
    size_t payload_len = 0;
    int peek_rc = jws_peek_header(token, size, &peeked, NULL);
    int rc = jws_verify_compact(token, size, fuzz_key(), &header, &payload, &payload_len, NULL);
    if (rc == 0 && (peek_rc != 0 || !json_equal(peeked, header)))
        abort();
    (void)jws_verify(token, size, fuzz_key(), NULL, &claims, NULL);
    json_decref(claims);
    free(payload);
    json_decref(header);
    json_decref(peeked);
    return 0;
}
