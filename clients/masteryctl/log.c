/*
 * masteryctl log ...: the transparency log, as an auditor reads it (checkpoint, entries,
 * inclusion and consistency proofs, a static tlog-tiles mirror) and `credential proof`, the
 * bundle mastery-verify --log-proof checks offline.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "masteryctl.h"
#include "merkle.h"

static json_t *jb64(ProtobufCBinaryData b)
{
    char out[CODEC_BASE64_ENCODED_MAX(TLOG_HASH_SIZE * 2)];
    size_t n;
    if (b.len > TLOG_HASH_SIZE * 2 || codec_base64_encode(b.data, b.len, out, sizeof out, &n) != 0)
        return json_null();
    return json_stringn(out, n);
}

static int get_checkpoint(ctl_t *ctl, Mastery__V1__Reply **rep)
{
    Mastery__V1__GetCheckpoint op = MASTERY__V1__GET_CHECKPOINT__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_CHECKPOINT;
    req.get_checkpoint = &op;
    return request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CHECKPOINT, rep);
}

/* log checkpoint: the signed note as published (with --json: its parts and the keys). */
int cmd_log_checkpoint(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Reply *rep = NULL;
    int rc = get_checkpoint(ctl, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__Checkpoint *c = rep->checkpoint;
    if (ctl->json) {
        json_t *keys = json_array();
        for (size_t i = 0; i < c->n_verifier_keys; i++)
            json_array_append_new(keys, jstr(c->verifier_keys[i]));
        emit_json(json_pack("{s:o, s:I, s:o, s:I, s:o, s:o}", "origin", jstr(c->origin), "size",
                            (json_int_t)c->size, "root", jb64(c->root), "base_seq",
                            (json_int_t)c->base_seq, "verifier_keys", keys, "note", jstr(c->note)));
    } else {
        fputs(c->note, stdout);
    }
    mc_reply_free(rep);
    return 0;
}

int cmd_log_entry(ctl_t *ctl, const args_t *a)
{
    uint64_t index;
    int rc = parse_u64_arg(ctl, "INDEX", a->pos[0], 0, UINT64_MAX >> 1, &index);
    if (rc != 0)
        return rc;
    Mastery__V1__GetLogEntry op = MASTERY__V1__GET_LOG_ENTRY__INIT;
    op.index = index;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_LOG_ENTRY;
    req.get_log_entry = &op;
    Mastery__V1__Reply *rep = NULL;
    if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_LOG_ENTRY, &rep)) != 0)
        return rc;
    const Mastery__V1__LogEntry *e = rep->log_entry;
    json_t *fields = json_loads(e->json, 0, NULL);
    char entry[CODEC_BASE64_ENCODED_MAX(65536)];
    size_t n;
    json_t *doc = json_pack("{s:I, s:o, s:o}", "index", (json_int_t)e->index, "leaf_hash",
                            jb64(e->leaf_hash), "entry", fields ? fields : json_null());
    if (codec_base64_encode(e->entry.data, e->entry.len, entry, sizeof entry, &n) == 0)
        json_object_set_new(doc, "bytes", json_stringn(entry, n));
    if (ctl->json) {
        emit_json(doc);
    } else {
        char *text = json_dumps(doc, JSON_INDENT(2));
        if (text)
            puts(text);
        free(text);
        json_decref(doc);
    }
    mc_reply_free(rep);
    return 0;
}

static int prove(ctl_t *ctl, uint64_t index, uint64_t size1, uint64_t size,
                 Mastery__V1__Reply **rep)
{
    Mastery__V1__ProveLog op = MASTERY__V1__PROVE_LOG__INIT;
    op.index = index;
    op.size1 = size1;
    op.size = size;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_PROVE_LOG;
    req.prove_log = &op;
    return request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_LOG_PROOF, rep);
}

static json_t *proof_json(const Mastery__V1__LogProof *p)
{
    json_t *hashes = json_array();
    for (size_t i = 0; i < p->n_hashes; i++)
        json_array_append_new(hashes, jb64(p->hashes[i]));
    json_t *doc = json_pack("{s:I, s:o, s:o}", "size", (json_int_t)p->size, "root", jb64(p->root),
                            "hashes", hashes);
    if (p->size1) {
        json_object_set_new(doc, "size1", json_integer((json_int_t)p->size1));
        json_object_set_new(doc, "root1", jb64(p->root1));
    } else {
        json_object_set_new(doc, "index", json_integer((json_int_t)p->index));
    }
    return doc;
}

/* log prove INDEX: the c2sp.org/tlog-proof of an entry against the newest checkpoint. */
int cmd_log_prove(ctl_t *ctl, const args_t *a)
{
    uint64_t index;
    int rc = parse_u64_arg(ctl, "INDEX", a->pos[0], 0, UINT64_MAX >> 1, &index);
    Mastery__V1__Reply *rep = NULL;
    if (rc != 0 || (rc = prove(ctl, index, 0, 0, &rep)) != 0)
        return rc;
    if (ctl->json) {
        json_t *doc = proof_json(rep->log_proof);
        json_object_set_new(doc, "tlog_proof", jstr(rep->log_proof->tlog_proof));
        emit_json(doc);
    } else {
        fputs(rep->log_proof->tlog_proof, stdout);
    }
    mc_reply_free(rep);
    return 0;
}

/* log consistency OLD NEW: the proof that the tree of NEW leaves extends the one of OLD. */
int cmd_log_consistency(ctl_t *ctl, const args_t *a)
{
    uint64_t size1, size2;
    int rc = parse_u64_arg(ctl, "OLD", a->pos[0], 1, UINT64_MAX >> 1, &size1);
    Mastery__V1__Reply *rep = NULL;
    if (rc != 0 || (rc = parse_u64_arg(ctl, "NEW", a->pos[1], 1, UINT64_MAX >> 1, &size2)) != 0)
        return rc;
    if ((rc = prove(ctl, 0, size1, size2, &rep)) != 0)
        return rc;
    json_t *doc = proof_json(rep->log_proof);
    if (ctl->json) {
        emit_json(doc);
    } else {
        char *text = json_dumps(doc, JSON_INDENT(2));
        if (text)
            puts(text);
        free(text);
        json_decref(doc);
    }
    mc_reply_free(rep);
    return 0;
}

/* mkdir -p of path's parent directories. */
static int make_parents(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

static int fetch_tile(ctl_t *ctl, const char *dir, int level, uint64_t index, unsigned width,
                      uint64_t *written)
{
    char rel[TLOG_TILE_PATH_MAX], path[4096];
    struct stat st;
    if (tlog_tile_path(rel, sizeof rel, level, index, width) != 0 ||
        snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
        return usage_error(ctl, "DIR: the path is too long");
    /* A full tile never changes: one already mirrored is kept (incremental export). */
    if (width == TLOG_TILE_WIDTH && stat(path, &st) == 0)
        return 0;
    Mastery__V1__GetLogTile op = MASTERY__V1__GET_LOG_TILE__INIT;
    op.level = level;
    op.index = index;
    op.width = width;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_LOG_TILE;
    req.get_log_tile = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_LOG_TILE, &rep);
    if (rc != 0)
        return rc;
    if (make_parents(path) != 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        rc = CTL_ERR_REPLY;
    } else {
        rc = write_output(ctl, path, rep->log_tile->data.data, rep->log_tile->data.len);
        (*written)++;
    }
    mc_reply_free(rep);
    return rc;
}

/* log export DIR: checkpoint, hash tiles and entry bundles in the C2SP tlog-tiles layout, the
 * checkpoint last, so a mirror never names a tree whose tiles are not there yet. */
int cmd_log_export(ctl_t *ctl, const args_t *a)
{
    const char *dir = a->pos[0];
    Mastery__V1__Reply *cp = NULL;
    int rc = get_checkpoint(ctl, &cp);
    if (rc != 0)
        return rc;
    uint64_t size = cp->checkpoint->size, tiles = 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s: %s\n", progname, dir, strerror(errno));
        mc_reply_free(cp);
        return CTL_ERR_REPLY;
    }
    for (int level = -1; rc == 0 && level < 8; level++) {
        unsigned shift = level < 0 ? 0 : TLOG_TILE_HEIGHT * (unsigned)level;
        if (level > 0 && (shift >= 64 || (size >> shift) == 0))
            break;
        uint64_t nodes = size >> shift;
        for (uint64_t t = 0; rc == 0 && t < nodes / TLOG_TILE_WIDTH; t++)
            rc = fetch_tile(ctl, dir, level, t, TLOG_TILE_WIDTH, &tiles);
        if (rc == 0 && nodes % TLOG_TILE_WIDTH)
            rc = fetch_tile(ctl, dir, level, nodes / TLOG_TILE_WIDTH,
                            (unsigned)(nodes % TLOG_TILE_WIDTH), &tiles);
    }
    char path[4096];
    if (rc == 0 && snprintf(path, sizeof path, "%s/checkpoint", dir) < (int)sizeof path)
        rc = write_output(ctl, path, cp->checkpoint->note, strlen(cp->checkpoint->note));
    if (rc == 0) {
        if (ctl->json)
            emit_json(json_pack("{s:s, s:I, s:I}", "dir", dir, "size", (json_int_t)size,
                                "files_written", (json_int_t)tiles + 1));
        else
            printf("exported the log of %" PRIu64 " entries to %s (%" PRIu64
                   " files written, full tiles already there kept)\n",
                   size, dir, tiles + 1);
    }
    mc_reply_free(cp);
    return rc;
}

/* credential proof ID: the bundle for mastery-verify --log-proof. */
int cmd_credential_proof(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__GetCredentialProof op = MASTERY__V1__GET_CREDENTIAL_PROOF__INIT;
    op.credential_id = (char *)a->pos[0];
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_CREDENTIAL_PROOF;
    req.get_credential_proof = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL_PROOF, &rep);
    if (rc != 0)
        return rc;
    const char *b = rep->credential_proof->bundle;
    const char *out = opt_str(a, OPT_OUTPUT, NULL);
    if (out == NULL && !isatty(STDOUT_FILENO)) {
        fputs(b, stdout);
        fputc('\n', stdout);
    } else {
        rc = write_output(ctl, out, b, strlen(b));
    }
    mc_reply_free(rep);
    return rc;
}
