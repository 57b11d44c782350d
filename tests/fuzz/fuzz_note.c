/*
 * Fuzz target for the signed-note side of lib/tlog: the first line of the input is a note
 * verifier key string, the rest a signed note. The key is parsed (the golang/mod vector's key
 * is used when it does not parse, so well-formed seeds reach the Ed25519 check), the note
 * opened, and an opened note's text parsed as a checkpoint. The whole input is also parsed as
 * a checkpoint. Invariants: a checkpoint without extensions formats back to the same text; a
 * parsed key formats back to the same string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char VECTOR_KEY[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

static void checkpoint_round_trip(const char *text, size_t len)
{
    tlog_checkpoint_t cp;
    if (tlog_checkpoint_parse(text, len, &cp, NULL) != 0 || cp.extensions_len != 0)
        return;
    buf_t b;
    buf_init(&b, 4096);
    if (tlog_checkpoint_format(&b, cp.origin, cp.size, &cp.root) != 0 || b.len != len ||
        memcmp(b.data, text, len) != 0)
        abort();
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t klen = nl != NULL ? (size_t)(nl - s) : size;
    tlog_verifier_t v;
    if (tlog_verifier_parse(s, klen, &v, NULL) == 0) {
        buf_t b;
        buf_init(&b, 1024);
        if (tlog_verifier_format(&b, v.name, v.pub) != 0 || b.len != klen ||
            memcmp(b.data, s, klen) != 0)
            abort();
        buf_free(&b);
    } else if (tlog_verifier_parse(VECTOR_KEY, strlen(VECTOR_KEY), &v, NULL) != 0) {
        abort();
    }
    if (nl != NULL) {
        const char *note = nl + 1;
        size_t nlen = size - klen - 1;
        size_t tl = 0, unknown = 0;
        uint32_t ok = 0;
        if (tlog_note_open(note, nlen, &v, 1, &tl, &ok, &unknown, NULL) == 0) {
            if (tl == 0 || tl > nlen || ok != 1)
                abort();
            checkpoint_round_trip(note, tl);
        }
    }
    checkpoint_round_trip(s, size);
    return 0;
}
