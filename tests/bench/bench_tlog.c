/*
 * bench_tlog: single-thread rates of the transparency log library (lib/tlog), over an
 * in-memory store of 1M entries (the daemon's store adds its LMDB cost on top).
 *
 * Prints operations per second (and microseconds per operation) for: leaf hash of a 120-byte
 * entry, frontier append (1 + trailing-ones writes), log entry encode and decode, checkpoint
 * format + Ed25519 sign + signature line (what the daemon does per checkpoint), signed note
 * open + checkpoint parse (an auditor), inclusion and consistency proof generation at 1M
 * entries (with the stored hashes read per proof), their verification, and a tlog-proof
 * parse + verify. Numbers only: it asserts nothing. Usage: bench_tlog [seconds-per-case]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "logentry.h"
#include "merkle.h"
#include "note.h"
#include "proof.h"

#define SIZE (1u << 20)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef int (*op_fn)(void *arg);

static void run(const char *name, op_fn op, void *arg, double seconds)
{
    for (int i = 0; i < 10; i++)
        if (op(arg) != 0) {
            fprintf(stderr, "%s: operation failed\n", name);
            exit(1);
        }
    long n = 0;
    double start = now(), elapsed;
    do {
        for (int i = 0; i < 100; i++)
            if (op(arg) != 0) {
                fprintf(stderr, "%s: operation failed\n", name);
                exit(1);
            }
        n += 100;
        elapsed = now() - start;
    } while (elapsed < seconds);
    printf("%-44s %10.0f /s %9.2f us\n", name, (double)n / elapsed, elapsed / (double)n * 1e6);
}

/* The store: one array per level, sized for SIZE + the growth the append case adds. */
static tlog_hash_t *lvl[64];
static uint64_t cap0, reads;

static int rd(void *ctx, unsigned level, uint64_t index, tlog_hash_t *out)
{
    (void)ctx;
    reads++;
    *out = lvl[level][index];
    return 0;
}

static int wr(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    (void)ctx;
    if (index > (cap0 >> level))
        return ERR_LIMIT;
    lvl[level][index] = *h;
    return 0;
}

static uint8_t entry[120];
static tlog_frontier_t front;
static tlog_hash_t root;
static keys_t *key;
static uint8_t pub[32];
static buf_t note, proof_text;
static tlog_verifier_t verifier;
static uint64_t counter;

static int op_leaf(void *a)
{
    (void)a;
    tlog_hash_t h;
    entry[0]++;
    tlog_leaf_hash(entry, sizeof entry, &h);
    return 0;
}

static tlog_frontier_t front_at_size;

static int op_append(void *a)
{
    (void)a;
    if (front.size + 1 >= cap0)
        front = front_at_size; /* stay inside the store: rewrite the same slots */
    tlog_hash_t h;
    entry[1]++;
    tlog_leaf_hash(entry, sizeof entry, &h);
    return tlog_frontier_append(&front, &h, wr, NULL);
}

static logentry_t le;
static buf_t enc;

static int op_encode(void *a)
{
    (void)a;
    buf_reset(&enc);
    le.seq++;
    return logentry_encode(&enc, &le);
}

static int op_decode(void *a)
{
    (void)a;
    logentry_t e;
    return logentry_decode((uint8_t *)enc.data, enc.len, &e, NULL);
}

static int op_sign(void *a)
{
    (void)a;
    buf_t b;
    buf_init(&b, 4096);
    uint8_t sig[64];
    size_t sl;
    int rc = tlog_checkpoint_format(&b, "school.example/masteryd", SIZE + counter++, &root);
    if (rc == 0)
        rc = keys_sign(key, (uint8_t *)b.data, b.len, sig, sizeof sig, &sl, NULL);
    if (rc == 0)
        rc = buf_append_byte(&b, '\n');
    if (rc == 0)
        rc = tlog_note_signature_line(&b, "school.example/masteryd", verifier.key_hash, sig);
    buf_free(&b);
    return rc;
}

static int op_open(void *a)
{
    (void)a;
    size_t tl;
    tlog_checkpoint_t cp;
    int rc = tlog_note_open(note.data, note.len, &verifier, 1, &tl, NULL, NULL, NULL);
    return rc != 0 ? rc : tlog_checkpoint_parse(note.data, tl, &cp, NULL);
}

static tlog_hash_t pr[TLOG_MAX_PROOF];
static size_t prn;

static int op_prove_incl(void *a)
{
    (void)a;
    counter = counter * 6364136223846793005ull + 1442695040888963407ull;
    return tlog_prove_inclusion((counter >> 20) % SIZE, SIZE, rd, NULL, pr, &prn);
}

static int op_prove_cons(void *a)
{
    (void)a;
    counter = counter * 6364136223846793005ull + 1442695040888963407ull;
    return tlog_prove_consistency((counter >> 20) % (SIZE - 1) + 1, SIZE, rd, NULL, pr, &prn);
}

static tlog_hash_t leaf7;
static tlog_hash_t ipr[TLOG_MAX_PROOF], cpr[TLOG_MAX_PROOF], root7;
static size_t ipn, cpn;

static int op_verify_incl(void *a)
{
    (void)a;
    return tlog_verify_inclusion(777777, SIZE, &leaf7, ipr, ipn, &root);
}

static int op_verify_cons(void *a)
{
    (void)a;
    return tlog_verify_consistency(777777, SIZE, &root7, &root, cpr, cpn);
}

static int op_proof_verify(void *a)
{
    (void)a;
    static tlog_proof_t p;
    tlog_checkpoint_t cp;
    return tlog_proof_verify(proof_text.data, proof_text.len, "school.example/masteryd", &verifier,
                             1, &leaf7, &p, &cp, NULL);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    cap0 = SIZE * 2;
    for (unsigned l = 0; l < 23; l++) {
        lvl[l] = calloc((cap0 >> l) + 1, sizeof(tlog_hash_t));
        if (lvl[l] == NULL)
            return 1;
    }
    memset(entry, 0x41, sizeof entry);
    tlog_frontier_init(&front);
    double t0 = now();
    for (uint64_t i = 0; i < SIZE; i++) {
        memcpy(entry + 8, &i, sizeof i);
        tlog_hash_t h;
        tlog_leaf_hash(entry, sizeof entry, &h);
        if (i == 777777)
            leaf7 = h;
        if (tlog_frontier_append(&front, &h, wr, NULL) != 0)
            return 1;
        if (i + 1 == 777777)
            tlog_frontier_root(&front, &root7);
    }
    printf("%-44s %10.2f s\n", "build 1M-entry tree (leaf hash + append)", now() - t0);
    tlog_frontier_root(&front, &root);
    front_at_size = front;
    tlog_prove_inclusion(777777, SIZE, rd, NULL, ipr, &ipn);
    tlog_prove_consistency(777777, SIZE, rd, NULL, cpr, &cpn);
    reads = 0;
    tlog_prove_inclusion(123457, SIZE, rd, NULL, pr, &prn);
    printf("%-44s %10llu reads %zu hashes\n", "inclusion proof at 1M", (unsigned long long)reads,
           prn);
    reads = 0;
    tlog_prove_consistency(123457, SIZE, rd, NULL, pr, &prn);
    printf("%-44s %10llu reads %zu hashes\n", "consistency proof 123457 -> 1M",
           (unsigned long long)reads, prn);

    if (keys_generate(KEYS_ED25519, &key, NULL) != 0 || keys_public_raw(key, pub) != 0)
        return 1;
    strcpy(verifier.name, "school.example/masteryd");
    memcpy(verifier.pub, pub, 32);
    verifier.key_hash = tlog_key_hash(verifier.name, pub);
    buf_init(&note, 4096);
    uint8_t sig[64];
    size_t sl;
    tlog_checkpoint_format(&note, verifier.name, SIZE, &root);
    keys_sign(key, (uint8_t *)note.data, note.len, sig, sizeof sig, &sl, NULL);
    buf_append_byte(&note, '\n');
    tlog_note_signature_line(&note, verifier.name, verifier.key_hash, sig);
    buf_init(&proof_text, 1 << 16);
    tlog_proof_format(&proof_text, 777777, NULL, 0, ipr, ipn, note.data, note.len);

    memset(&le, 0, sizeof le);
    le.kind = LOGENTRY_EVIDENCE_ACCEPTED;
    le.at_ms = 1795169700000LL;
    le.framework = "math-grade-7", le.framework_len = 12;
    le.competency = "fractions.add", le.competency_len = 13;
    le.source = "quiz-tool", le.source_len = 9;
    le.score = 0.75, le.weight = 1.0;
    le.present = 1u << LOGENTRY_LEARNER | 1u << LOGENTRY_FRAMEWORK | 1u << LOGENTRY_COMPETENCY |
                 1u << LOGENTRY_SOURCE | 1u << LOGENTRY_EVIDENCE | 1u << LOGENTRY_SCORE |
                 1u << LOGENTRY_WEIGHT | 1u << LOGENTRY_OBSERVED_AT;
    buf_init(&enc, LOGENTRY_MAX);
    op_encode(NULL);
    printf("%-44s %10zu bytes\n", "a typical evidence_accepted entry", enc.len);

    run("leaf hash (120-byte entry)", op_leaf, NULL, secs);
    run("leaf hash + frontier append", op_append, NULL, secs);
    run("logentry encode (evidence_accepted)", op_encode, NULL, secs);
    run("logentry decode", op_decode, NULL, secs);
    run("checkpoint format + Ed25519 sign + line", op_sign, NULL, secs);
    run("signed note open + checkpoint parse", op_open, NULL, secs);
    run("inclusion proof generation (1M)", op_prove_incl, NULL, secs);
    run("consistency proof generation (1M)", op_prove_cons, NULL, secs);
    run("inclusion proof verify (1M)", op_verify_incl, NULL, secs);
    run("consistency proof verify (1M)", op_verify_cons, NULL, secs);
    run("tlog-proof parse + note open + verify", op_proof_verify, NULL, secs);
    keys_destroy(&key);
    buf_free(&note);
    buf_free(&proof_text);
    buf_free(&enc);
    for (unsigned l = 0; l < 23; l++)
        free(lvl[l]);
    return 0;
}
