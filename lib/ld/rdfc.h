/*
 * rdfc: W3C RDF Dataset Canonicalization (RDFC-1.0, W3C Recommendation 2024).
 *
 * Relabels the blank nodes of an RDF dataset deterministically ("c14n0", "c14n1", ...) and
 * writes the dataset as canonical N-Quads, sorted in code point order, one quad per line, each
 * line ending in "\n". Two datasets that are isomorphic canonicalize to the same bytes. Also
 * reports the issued identifier map (input blank node label -> canonical label).
 *
 * The algorithm is the specification's: the blank node to quads map, first-degree hashes
 * (with _:a for the node being hashed and _:z for every other blank node), canonical ids for
 * unique first-degree hashes in hash order, then Hash N-Degree Quads (related-node hashes,
 * the permutation search over each group of related nodes, recursion with temporary "b"
 * issuers) for the rest. The hash is SHA-256 unless the options choose SHA-384 or SHA-512.
 * Permutations are enumerated in the same order as the reference implementation
 * (Steinhaus-Johnson-Trotter starting from the related nodes sorted by input label), so ties
 * between automorphic nodes resolve the same way it resolves them.
 *
 * Work limit (a defence against "poison" datasets, whose canonicalization is factorial).
 * Units of work: each call of Hash N-Degree Quads costs 1 (plus 1 per 16 related-node hashes
 * it computes), and each permutation examined costs 1 (plus 1 per 64 of its elements and of
 * the ids its issuer holds), so one unit stays around a microsecond however the dataset is
 * shaped. Blank nodes whose first-degree hashes are unique (the usual case for credentials)
 * cost nothing. The default limit is RDFC_WORK_BASE + RDFC_WORK_PER_BNODE * (blank nodes).
 * The most any test of the W3C suite needs is 3,348 units (tests 044-046, 12 blank nodes);
 * the suite's poison graph (test074, a 10-node clique: 10 x 9! permutations) is refused after
 * 11,000 units, in a few milliseconds. Recursion deeper than RDFC_MAX_DEPTH (a long cycle of
 * indistinguishable blank nodes) also stops with ERR_LIMIT. Either way the call returns
 * promptly, never hangs.
 *
 * Memory is bounded too: the working text (terms, serialized quads, paths) is held in
 * buffers (buf.h) of at most RDFC_MAX_BYTES each (or the options' max_bytes), ERR_LIMIT
 * beyond; every other allocation is proportional to the dataset's quads and blank nodes.
 *
 * The input is a dataset, never text: jsonld_to_dataset() hands over the quads of a JSON-LD
 * document as they are, and nquads_parse() (or rdfc_canonicalize_nquads()) reads N-Quads.
 *
 * Pure: no I/O. Thread-safe: calls share nothing but the SHA digest handles, fetched from
 * OpenSSL once per process (pthread_once) and kept until exit.
 */
#ifndef MASTERY_RDFC_H
#define MASTERY_RDFC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "nquads.h"

#define RDFC_WORK_BASE      10000u       /* default work units for any dataset */
#define RDFC_WORK_PER_BNODE 100u         /* plus this many per blank node */
#define RDFC_MAX_DEPTH      1024u        /* nesting of Hash N-Degree Quads */
#define RDFC_MAX_BYTES      (128u << 20) /* default bound on each working buffer */

typedef enum rdfc_hash {
    RDFC_SHA256 = 0, /* the default, and what RDFC-1.0 specifies */
    RDFC_SHA384 = 1,
    RDFC_SHA512 = 2,
} rdfc_hash_t;

/*
 * Options; a zeroed struct (or NULL) means SHA-256, the default work limit, the default bound
 * on working buffers and the default parse limits.
 */
typedef struct rdfc_options {
    rdfc_hash_t hash;
    uint64_t work_limit;    /* 0: RDFC_WORK_BASE + RDFC_WORK_PER_BNODE * blank nodes */
    nquads_limits_t limits; /* used by rdfc_canonicalize_nquads() to parse its input */
    size_t max_bytes;       /* 0: RDFC_MAX_BYTES; bounds each working buffer */
} rdfc_options_t;

typedef struct rdfc_result rdfc_result_t;

/*
 * Maps a hash algorithm name as test manifests and documents write it ("SHA256", "SHA-256",
 * "sha256", "SHA384", "SHA-384", "SHA512", "SHA-512") to *out.
 * @return 0, or ERR_INVALID for an unknown or unsupported name.
 */
int rdfc_hash_from_name(const char *name, rdfc_hash_t *out);

/*
 * Canonicalizes ds.
 * @param[in] ds the dataset; borrowed, only read.
 * @param[in] opt options, or NULL for the defaults.
 * @param[out] out the result: caller owns it, free with rdfc_result_destroy().
 * @return 0; ERR_LIMIT when the work limit, the depth limit or the buffer bound was reached
 *         (detail says which: field "work" or "dataset"); ERR_NOMEM; ERR_INTERNAL when the
 *         hash could not be computed.
 */
int rdfc_canonicalize(const nquads_dataset_t *ds, const rdfc_options_t *opt, rdfc_result_t **out,
                      err_detail_t *detail);

/*
 * The canonical N-Quads document: sorted lines, each ending in "\n", NUL-terminated; *len (if
 * len is not NULL) receives its length. Borrowed; valid until rdfc_result_destroy().
 */
const char *rdfc_result_nquads(const rdfc_result_t *r, size_t *len);

/* The number of blank nodes, which is the number of entries in the issued identifier map. */
size_t rdfc_result_map_count(const rdfc_result_t *r);

/*
 * Entry i (< map count) of the issued identifier map, in the order the canonical labels were
 * issued (so *canonical is "c14n<i>"). Labels have no "_:" prefix. Both strings are borrowed;
 * valid until rdfc_result_destroy().
 * @return 0, or ERR_NOT_FOUND when i is out of range.
 */
int rdfc_result_map_entry(const rdfc_result_t *r, size_t i, const char **input,
                          const char **canonical);

/*
 * The canonical label ("c14n3") issued for an input blank node label (without "_:"), or NULL
 * when the dataset had no such blank node. A linear search: for whole-map use, iterate with
 * rdfc_result_map_entry(). Borrowed; valid until rdfc_result_destroy().
 */
const char *rdfc_result_map_find(const rdfc_result_t *r, const char *input);

/* The work units the canonicalization used (see the work limit above). */
uint64_t rdfc_result_work(const rdfc_result_t *r);

/* Frees the result and sets *r to NULL; a NULL *r is a no-op. */
void rdfc_result_destroy(rdfc_result_t **r);

/*
 * Convenience: parses N-Quads text (len bytes) with opt->limits, canonicalizes it, and returns
 * the canonical document.
 * @param[out] out a new NUL-terminated buffer: caller owns it, free with free().
 * @param[out] out_len its length without the NUL.
 * @return 0, or the errors of nquads_parse() (ERR_INVALID naming "line L col C", ERR_LIMIT)
 *         and of rdfc_canonicalize().
 */
int rdfc_canonicalize_nquads(const char *in, size_t len, const rdfc_options_t *opt, char **out,
                             size_t *out_len, err_detail_t *detail);

#endif
