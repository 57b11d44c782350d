/*
 * masteryctl issuer show|did-document, keys rotate (the issuer's signing keys, kept by the
 * daemon), and keygen (a CURVE key pair for a client, made here: no daemon involved).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "curvekey.h"
#include "isotime.h"
#include "masteryctl.h"

static int issuer_request(ctl_t *ctl, bool rotate, Mastery__V1__Reply **rep)
{
    Mastery__V1__GetIssuer get = MASTERY__V1__GET_ISSUER__INIT;
    Mastery__V1__RotateKeys rot = MASTERY__V1__ROTATE_KEYS__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    if (rotate) {
        req.op_case = MASTERY__V1__REQUEST__OP_ROTATE_KEYS;
        req.rotate_keys = &rot;
    } else {
        req.op_case = MASTERY__V1__REQUEST__OP_GET_ISSUER;
        req.get_issuer = &get;
    }
    /* A rotation is not resent: a lost reply must not rotate twice. */
    return request(ctl, &req, !rotate, MASTERY__V1__REPLY__RESULT_ISSUER, rep);
}

static void print_issuer(const ctl_t *ctl, const Mastery__V1__IssuerInfo *is)
{
    if (ctl->json) {
        json_t *keys = json_array();
        for (size_t i = 0; i < is->n_keys; i++) {
            const Mastery__V1__IssuerKey *k = is->keys[i];
            char at[ISOTIME_BUFSZ];
            text_time(k->created_at_ms, at, sizeof at);
            json_array_append_new(keys, json_pack("{s:o,s:o,s:o,s:b,s:s}", "id", jstr(k->key_id),
                                                  "type", jstr(k->type), "verification_method",
                                                  jstr(k->verification_method), "current",
                                                  (int)k->current, "created_at", at));
        }
        json_t *vkeys = json_array();
        for (size_t i = 0; i < is->n_log_verifier_keys; i++)
            json_array_append_new(vkeys, jstr(is->log_verifier_keys[i]));
        emit_json(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "did", jstr(is->did), "name",
                            jstr(is->name), "url", jstr(is->url), "email", jstr(is->email), "image",
                            jstr(is->image), "keys", keys, "log_origin", jstr(is->log_origin),
                            "log_verifier_keys", vkeys));
        return;
    }
    printf("%-8s %s\n%-8s %s\n", "did", is->did, "name", is->name);
    if (is->url[0])
        printf("%-8s %s\n", "url", is->url);
    if (is->email[0])
        printf("%-8s %s\n", "email", is->email);
    if (is->log_origin[0])
        printf("%-8s %s\n", "log", is->log_origin);
    for (size_t i = 0; i < is->n_log_verifier_keys; i++)
        printf("%-8s %s\n", i + 1 == is->n_log_verifier_keys ? "log key" : "old key",
               is->log_verifier_keys[i]);
    table_t t = {.ncols = 4, .head = {"KEY", "TYPE", "CURRENT", "CREATED AT"}};
    for (size_t i = 0; i < is->n_keys; i++) {
        char at[ISOTIME_BUFSZ];
        text_time(is->keys[i]->created_at_ms, at, sizeof at);
        table_row(&t, is->keys[i]->key_id, is->keys[i]->type, is->keys[i]->current ? "yes" : "",
                  at);
    }
    printf("\n");
    table_print(&t, stdout);
    table_free(&t);
}

int cmd_issuer_show(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Reply *rep = NULL;
    int rc = issuer_request(ctl, false, &rep);
    if (rc != 0)
        return rc;
    print_issuer(ctl, rep->issuer);
    mc_reply_free(rep);
    return 0;
}

int cmd_issuer_did_document(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Reply *rep = NULL;
    int rc = issuer_request(ctl, false, &rep);
    if (rc != 0)
        return rc;
    if (rep->issuer->did_document[0] == '\0') {
        fprintf(stderr,
                "%s: the issuer is %s: a did:key resolves from itself and has no document to "
                "publish; set issuer_did_web in the daemon's config for did:web\n",
                progname, rep->issuer->did);
        rc = CTL_ERR_REPLY;
    } else {
        printf("%s\n", rep->issuer->did_document);
    }
    mc_reply_free(rep);
    return rc;
}

int cmd_keys_rotate(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Reply *rep = NULL;
    int rc = issuer_request(ctl, true, &rep);
    if (rc != 0)
        return rc;
    print_issuer(ctl, rep->issuer);
    mc_reply_free(rep);
    return 0;
}

/* backup DIR: the daemon writes DIR on its own host; a relative DIR is taken as relative to
 * this directory, which is right when masteryctl runs on that host (the usual case). */
int cmd_backup(ctl_t *ctl, const args_t *a)
{
    char dir[4096];
    const char *arg = a->pos[0];
    if (arg[0] != '/') {
        char cwd[2048];
        if (getcwd(cwd, sizeof cwd) == NULL || strlen(cwd) + 1 + strlen(arg) >= sizeof dir)
            return usage_error(ctl, "DIR: give an absolute path");
        snprintf(dir, sizeof dir, "%.2047s/%.2000s", cwd, arg);
    } else {
        snprintf(dir, sizeof dir, "%s", arg);
    }
    Mastery__V1__Backup op = MASTERY__V1__BACKUP__INIT;
    op.dir = dir;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_BACKUP;
    req.backup = &op;
    Mastery__V1__Reply *rep = NULL;
    /* Not resent: a second copy into the same directory is refused (not empty). */
    int rc = request(ctl, &req, false, MASTERY__V1__REPLY__RESULT_BACKUP, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__BackupResult *b = rep->backup;
    if (ctl->json) {
        json_t *files = json_array();
        for (size_t i = 0; i < b->n_files; i++)
            json_array_append_new(files, jstr(b->files[i]));
        emit_json(json_pack("{s:o, s:I, s:o}", "dir", jstr(b->dir), "data_bytes",
                            (json_int_t)b->data_bytes, "files", files));
    } else {
        printf("backup in %s (on the daemon's host): data.mdb %" PRIu64 " bytes, %zu files\n",
               b->dir, b->data_bytes, b->n_files);
        for (size_t i = 0; i < b->n_files; i++)
            printf("  %s\n", b->files[i]);
        printf("Restore: README, \"Backup and restore\".\n");
    }
    mc_reply_free(rep);
    return 0;
}

int cmd_keygen(ctl_t *ctl, const args_t *a)
{
    const char *path = a->pos[0];
    char pub[CURVEKEY_Z85_LEN + 1];
    err_detail_t d;
    if (curvekey_pair_create(path, pub, &d) != 0) {
        fprintf(stderr, "%s: %s\n", progname, d.message);
        return d.code == ERR_CONFLICT ? CTL_USAGE : CTL_ERR_REPLY;
    }
    if (ctl->json) {
        json_t *o = json_object();
        json_object_set_new(o, "public_key", json_string(pub));
        json_object_set_new(o, "secret_key_file", json_string(path));
        emit_json(o);
        return CTL_OK;
    }
    printf("secret key: %s (mode 0600; keep it on this machine)\n"
           "public key: %s.pub\n\n"
           "Add this line to the daemon's clients file (name, then role: tool, teacher,\n"
           "admin or auditor; tools also list the frameworks they may submit for), then\n"
           "send the daemon SIGHUP:\n\n%s  NAME  ROLE  [FRAMEWORKS]\n",
           path, path, pub);
    return CTL_OK;
}
