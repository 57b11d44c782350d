/*
 * check: masteryd --check, the offline audit of a store. Walks every record of every database
 * and verifies its checksum, loads every framework, then re-evaluates every learner against
 * every framework from the stored evidence (in a transaction that is never committed) and
 * counts where the stored state disagrees with the recomputation. Last, the transparency log is
 * rebuilt from its entries alone and compared with every stored hash and the checkpoint.
 *
 * The report names records by database and key (hashes for learners, never a raw learner id
 * or any value) so it can be attached to a ticket. Stop the daemon first: the recomputation
 * takes the write lock for as long as it runs (it writes nothing), and the daemon would wait.
 * An older store is migrated by opening it (store_open), like the daemon would.
 */
#ifndef MASTERY_CHECK_H
#define MASTERY_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include "conf.h"

typedef struct check_report {
    uint64_t records;        /* records read and checksummed */
    uint64_t damaged;        /* of which damaged */
    uint32_t frameworks;     /* frameworks loaded (current revisions) */
    uint64_t learners;       /* learner x framework re-evaluations done */
    uint64_t unrecomputable; /* learner x framework skipped: a record they need is damaged */
    uint64_t disagreements;  /* states the recomputation would change */
    uint64_t log_entries;    /* transparency log entries rebuilt into the tree */
    uint64_t log_mismatches; /* stored hashes, or the checkpoint's root, that disagree */
    double seconds;          /* wall time of the whole check */
} check_report_t;

/*
 * Runs the check on conf's data directory, printing progress and the summary to out. Returns
 * 0 when the store is whole and consistent, 1 when anything is damaged or disagrees, 2 when
 * the check itself could not run (the store does not open; the reason is printed).
 */
int check_run(const conf_t *conf, FILE *out, check_report_t *report);

#endif
