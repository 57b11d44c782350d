#include "check.h"

#include "identity.h"
#include "vault.h"

#include "merkle.h"
#include "note.h"

#include <string.h>
#include <time.h>

#include "catalog.h"
#include "engine.h"
#include "records.h"
#include "store.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Re-evaluates every learner of fw, one child transaction each (aborted: nothing is kept), so
 * a damaged learner is counted and skipped instead of ending the walk. */
static int recompute_framework(engine_t *eng, store_txn_t *txn, const catalog_fw_t *fw,
                               check_report_t *r)
{
    engine_reeval_t cur = {0};
    engine_changes_t changes = {0};
    int rc = 0;
    for (;;) {
        store_txn_t *child;
        if ((rc = store_txn_begin_child(txn, &child)) != 0)
            break;
        uint64_t writes = engine_state_writes(eng);
        rc = engine_framework_reevaluate_next(eng, child, fw, &cur, &changes);
        store_txn_abort(&child);
        if (rc == ERR_NOT_FOUND) {
            rc = 0;
            break;
        }
        if (rc == ERR_DATA_LOSS) {
            r->unrecomputable++;
            continue;
        }
        if (rc != 0)
            break;
        r->learners++;
        /* Unlocks and masteries are state writes too: one count per state that would change. */
        r->disagreements += engine_state_writes(eng) - writes;
    }
    engine_changes_free(&changes);
    return rc;
}

/* The transparency log, rebuilt from its entries alone: every stored subtree hash and the
 * signed checkpoint's root must be what the entries give (a rewritten entry or hash shows). */
typedef struct log_check {
    store_txn_t *txn;
    uint64_t mismatches;
} log_check_t;

static int compare_hash(void *ctx, unsigned level, uint64_t index, const tlog_hash_t *h)
{
    log_check_t *c = ctx;
    if (level == 0)
        return 0; /* the entry's own hash: not stored twice */
    uint8_t stored[RECORDS_LOG_HASH_LEN];
    int rc = records_log_hash_get(c->txn, level, index, stored);
    if (rc == ERR_NOT_FOUND || rc == ERR_DATA_LOSS || rc == ERR_INTERNAL ||
        (rc == 0 && memcmp(stored, h->b, sizeof stored) != 0)) {
        c->mismatches++;
        return 0;
    }
    return rc;
}

static int check_log(store_txn_t *txn, FILE *out, check_report_t *r)
{
    uint64_t size, cp_size = 0;
    tlog_hash_t cp_root, root;
    bool have_cp = false;
    const char *note;
    size_t len;
    int rc = records_log_size(txn, &size);
    if (rc != 0)
        return rc;
    if (records_log_checkpoint_get(txn, &note, &len) == 0) {
        tlog_checkpoint_t cp;
        err_detail_t ignored;
        const char *end = memmem(note, len, "\n\n", 2);
        have_cp = end != NULL &&
                  tlog_checkpoint_parse(note, (size_t)(end - note) + 1, &cp, &ignored) == 0;
        cp_size = have_cp ? cp.size : 0;
        cp_root = cp.root;
    }
    log_check_t c = {txn, 0};
    tlog_frontier_t f;
    tlog_frontier_init(&f);
    for (uint64_t i = 0; i < size; i++) {
        const void *e;
        size_t elen;
        tlog_hash_t leaf;
        if (f.size == cp_size && have_cp) {
            tlog_frontier_root(&f, &root);
            r->log_mismatches += memcmp(root.b, cp_root.b, sizeof root.b) != 0;
            have_cp = false;
        }
        if ((rc = records_log_entry_get(txn, i, &e, &elen)) != 0) {
            r->log_mismatches++; /* a missing or damaged entry */
            static const uint8_t none[1] = {0};
            e = none;
            elen = sizeof none;
        }
        tlog_leaf_hash(e, elen, &leaf);
        if ((rc = tlog_frontier_append(&f, &leaf, compare_hash, &c)) != 0)
            return rc;
    }
    if (have_cp) {
        tlog_frontier_root(&f, &root);
        r->log_mismatches += f.size != cp_size || memcmp(root.b, cp_root.b, sizeof root.b) != 0;
    }
    r->log_entries = size;
    r->log_mismatches += c.mismatches;
    fprintf(out, "transparency log: %llu entries rebuilt, %llu hashes or roots that disagree\n",
            (unsigned long long)size, (unsigned long long)r->log_mismatches);
    return 0;
}

int check_run(const conf_t *conf, FILE *out, check_report_t *r)
{
    memset(r, 0, sizeof *r);
    double t0 = mono_s();
    store_t *st = NULL;
    vault_t *vault = NULL;
    err_detail_t d;
    err_clear(&d);
    char key_dir[2 * CONF_STR_MAX];
    if (conf->key_dir[0])
        snprintf(key_dir, sizeof key_dir, "%s", conf->key_dir);
    else
        snprintf(key_dir, sizeof key_dir, "%s/keys", conf->data_dir);
    if (store_open(conf->data_dir, conf->map_size, conf->map_size_max, &st, &d) != 0 ||
        identity_vault(st, key_dir, conf->seal_records != 0, (int64_t)time(NULL) * 1000, &vault,
                       &d) != 0 ||
        records_upgrade(st, &d) != 0) {
        fprintf(out, "masteryd --check: %s: %s\n", d.field, d.message);
        store_close(&st);
        vault_destroy(&vault);
        return 2;
    }
    if (store_format_opened(st) < STORE_FORMAT_SEALED && store_origin(st) == STORE_EXISTED &&
        store_compact(&st, conf->data_dir, &d) != 0) { /* as at start: no clear remnants */
        fprintf(out, "masteryd --check: %s: %s\n", d.field, d.message);
        store_close(&st);
        vault_destroy(&vault);
        return 2;
    }
    fprintf(out, "store %s/data.mdb: format %u\n", conf->data_dir, store_format_opened(st));
    store_wb_stats_t wb;
    store_wb_stats(st, &wb);
    if (wb.replayed_records > 0) /* read through, not written back: the daemon does that */
        fprintf(out, "write-ahead records: %llu replayed (%llu changes, %.0f ms)\n",
                (unsigned long long)wb.replayed_records, (unsigned long long)wb.replayed_changes,
                wb.replay_ms);
    int rc = store_verify_all(st, &r->records, &r->damaged);
    double t1 = mono_s();
    if (rc == 0)
        fprintf(out, "records: %llu checked, %llu damaged (%.0f records/s)\n",
                (unsigned long long)r->records, (unsigned long long)r->damaged,
                (double)r->records / (t1 - t0 > 1e-9 ? t1 - t0 : 1e-9));

    catalog_t *cat = catalog_new();
    engine_t *eng = cat ? engine_new(cat) : NULL;
    store_txn_t *txn = NULL;
    if (rc == 0 && eng == NULL)
        rc = ERR_NOMEM;
    if (rc == 0)
        rc = store_txn_begin(st, true, &txn);
    if (rc == 0 && (rc = catalog_load(cat, txn, &d)) != 0)
        fprintf(out, "frameworks: %s: %s\n", d.field, d.message);
    if (rc == 0) {
        r->frameworks = catalog_count(cat);
        engine_set_now(eng, (int64_t)time(NULL) * 1000);
        for (uint32_t i = 0; rc == 0 && i < catalog_count(cat); i++)
            rc = recompute_framework(eng, txn, catalog_at(cat, i), r);
        double t2 = mono_s();
        if (rc == 0)
            fprintf(out,
                    "frameworks: %u; learners x frameworks re-evaluated: %llu (%.0f/s), "
                    "skipped for damage: %llu, states that disagree: %llu\n",
                    r->frameworks, (unsigned long long)r->learners,
                    (double)r->learners / (t2 - t1 > 1e-9 ? t2 - t1 : 1e-9),
                    (unsigned long long)r->unrecomputable, (unsigned long long)r->disagreements);
    }
    if (rc == 0)
        rc = check_log(txn, out, r);
    store_txn_abort(&txn); /* the recomputation is never kept */
    engine_destroy(&eng);
    catalog_destroy(&cat);
    const char *last;
    if (store_damage(st, &last) > 0)
        fprintf(out, "last damaged record: %s (every one is in the log above)\n", last);
    store_close(&st);
    vault_destroy(&vault);
    r->seconds = mono_s() - t0;
    if (rc != 0) {
        fprintf(out, "check stopped: %s\n", err_str(rc));
        return 2;
    }
    bool bad = r->damaged || r->unrecomputable || r->disagreements || r->log_mismatches;
    fprintf(out, "%s in %.2f s\n", bad ? "DAMAGED" : "OK", r->seconds);
    return bad ? 1 : 0;
}
