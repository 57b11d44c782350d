/*
 * backup: a hot, consistent copy of everything a restore needs, into a new directory on the
 * daemon's host, while the daemon serves (masteryctl backup DIR; admin only):
 *
 *   DIR/data.mdb         the store, compacted from one read snapshot (store_copy)     0600
 *   DIR/keys/            the issuer keys (every file of key_dir)                 0700 / 0600
 *   DIR/curve.key(.pub)  the daemon's CURVE key pair, when there is one          0600 / 0644
 *   DIR/clients          the clients file, in secure mode                               0644
 *   DIR/masteryd.conf    the effective settings (conf_dump: what -n prints)             0644
 *   DIR/backup.json      what was copied and when; written last                        0644
 *
 * A backup is complete when backup.json exists: it is written after every other file is
 * fsynced. The store and its keys travel together, so the restored store's identity check
 * (identity.h) passes. The copy runs on the loop thread: requests wait while it runs (the
 * store is copied at disk speed; see README).
 */
#ifndef MASTERY_BACKUP_H
#define MASTERY_BACKUP_H

#include <stdint.h>

#include "conf.h"
#include "err.h"
#include "store.h"

#define BACKUP_FILES_MAX 64

typedef struct backup_report {
    uint64_t data_bytes; /* size of DIR/data.mdb */
    uint32_t n_files;    /* paths below DIR, as copied */
    char files[BACKUP_FILES_MAX][96];
} backup_report_t;

/*
 * Backs up st and the files conf names into dir, which must be an absolute path that does
 * not exist yet or is an empty directory (created 0700). now stamps the manifest. Returns 0,
 * ERR_INVALID (dir: relative, too long, not empty; field "backup.dir"), ERR_UNAVAILABLE (I/O,
 * the message names the file), ERR_LIMIT (more than BACKUP_FILES_MAX files in key_dir).
 * On failure the directory holds no backup.json: not a backup.
 */
int backup_run(store_t *st, const conf_t *conf, const char *dir, int64_t now,
               backup_report_t *report, err_detail_t *detail);

#endif
