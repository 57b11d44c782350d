/*
 * masteryctl learner erase|hold|release|reenrol: a learner's erasure (issue 16) and the legal
 * hold that blocks it. The erasure receipt is not kept by the daemon, so erase makes sure it
 * can write it (--receipt FILE is checked before the request is sent) and never loses it: if
 * the final name cannot be taken, the receipt stays in the temporary file it was written to.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "isotime.h"
#include "masteryctl.h"

/* Writes data to a new file path, mode 0600, refusing to replace anything: written to a
 * temporary name beside it (O_EXCL), synced, then link()ed to path, which fails if path
 * appeared meanwhile. On that failure the temporary file is kept and named, since the receipt
 * exists nowhere else. Returns 0 or CTL_ERR_REPLY (printed). */
static int write_new_private(const char *path, const char *data, size_t len)
{
    size_t n = strlen(path) + 32;
    char *tmp = xcalloc(1, n);
    snprintf(tmp, n, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, tmp, strerror(errno));
        free(tmp);
        return CTL_ERR_REPLY;
    }
    size_t off = 0;
    int err = 0;
    while (off < len && err == 0) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno != EINTR)
            err = errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (err == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
        err = errno ? errno : EIO;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err != 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, tmp, strerror(err));
        /* A partial receipt is worth keeping only if nothing better exists: say where it is. */
        fprintf(stderr, "%s: the receipt may be incomplete in %s\n", progname, tmp);
        free(tmp);
        return CTL_ERR_REPLY;
    }
    if (link(tmp, path) != 0) {
        fprintf(stderr, "%s: %s: %s; the receipt is in %s\n", progname, path, strerror(errno), tmp);
        free(tmp);
        return CTL_ERR_REPLY;
    }
    unlink(tmp);
    free(tmp);
    return 0;
}

/* Refuses a receipt path that exists or whose directory cannot take it, before anything is
 * erased: the receipt is produced once. */
static int receipt_path_usable(const ctl_t *ctl, const char *path)
{
    struct stat st;
    if (path[0] == '\0')
        return usage_error(ctl, "--receipt: must not be empty");
    if (lstat(path, &st) == 0)
        return usage_error(ctl, "--receipt: %s exists; the receipt never replaces a file", path);
    if (errno != ENOENT)
        return usage_error(ctl, "--receipt: %s: %s", path, strerror(errno));
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash == dir)
        d = "/";
    else if (slash != NULL) {
        *slash = '\0';
        d = dir;
    }
    int rc = 0;
    if (access(d, W_OK | X_OK) != 0)
        rc = usage_error(ctl, "--receipt: cannot write in %s: %s", d, strerror(errno));
    free(dir);
    return rc;
}

int cmd_learner_erase(ctl_t *ctl, const args_t *a)
{
    const char *receipt_path = opt_str(a, OPT_RECEIPT, NULL);
    int rc;
    if (a->pos[0][0] == '\0')
        return usage_error(ctl, "the learner id must not be empty");
    if (receipt_path != NULL && (rc = receipt_path_usable(ctl, receipt_path)) != 0)
        return rc;
    Mastery__V1__EraseLearner op = MASTERY__V1__ERASE_LEARNER__INIT;
    op.learner_id = a->pos[0];
    op.reason = (char *)opt_str(a, OPT_ERASE_REASON, "");
    op.request_ref = (char *)opt_str(a, OPT_REF, "");
    op.revoke_credentials = a->set[OPT_REVOKE];
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_ERASE_LEARNER;
    req.erase_learner = &op;
    Mastery__V1__Reply *rep = NULL;
    /* Safe to resend: a second erasure answers already_erased. But the first answer holds the
     * only receipt, so a resend that wins loses it; send once and wait the whole budget. */
    rc = request(ctl, &req, false, MASTERY__V1__REPLY__RESULT_ERASURE, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__ErasureReceipt *r = rep->erasure;
    bool have_receipt = r->receipt_json && r->receipt_json[0];
    int wrc = 0;
    if (have_receipt && receipt_path != NULL)
        wrc = write_new_private(receipt_path, r->receipt_json, strlen(r->receipt_json));
    char at[ISOTIME_BUFSZ];
    text_time(r->erased_at_ms, at, sizeof at);
    if (ctl->json) {
        json_t *o = json_pack("{s:o,s:b,s:o,s:I,s:I,s:I,s:I,s:I}", "learner", jstr(op.learner_id),
                              "already_erased", (int)r->already_erased, "erased_at",
                              jtime(r->erased_at_ms), "log_index", (json_int_t)r->log_index,
                              "evidence_erased", (json_int_t)r->evidence_erased, "records_erased",
                              (json_int_t)r->records_erased, "credentials_revoked",
                              (json_int_t)r->credentials_revoked, "credentials_kept",
                              (json_int_t)r->credentials_kept);
        if (have_receipt && receipt_path != NULL && wrc == 0) {
            json_object_set_new(o, "receipt_file", json_string(receipt_path));
        } else if (have_receipt) {
            /* Not written to a file: the receipt rides in the output, or it would be lost. */
            json_t *doc = json_loads(r->receipt_json, 0, NULL);
            json_object_set_new(o, "receipt", doc ? doc : jstr(r->receipt_json));
        }
        emit_json(o);
    } else if (r->already_erased) {
        printf("learner %s: already erased at %s; nothing changed (no new receipt)\n",
               op.learner_id, at);
    } else {
        printf("learner %s erased at %s\n", op.learner_id, at);
        printf("  evidence erased       %" PRIu32 "\n", r->evidence_erased);
        printf("  records erased        %" PRIu32 "\n", r->records_erased);
        printf("  credentials revoked   %" PRIu32 "\n", r->credentials_revoked);
        printf("  credentials kept      %" PRIu32 "\n", r->credentials_kept);
        printf("  log entry             %" PRIu64 "\n", r->log_index);
        if (have_receipt && receipt_path != NULL && wrc == 0)
            printf("  receipt               %s (mode 0600)\n", receipt_path);
        else if (have_receipt)
            printf("receipt (the daemon does not keep it; keep this):\n%s\n", r->receipt_json);
    }
    mc_reply_free(rep);
    return wrc;
}

static int legal_hold(ctl_t *ctl, const args_t *a, bool hold)
{
    Mastery__V1__SetLegalHold op = MASTERY__V1__SET_LEGAL_HOLD__INIT;
    op.learner_id = a->pos[0];
    op.hold = hold;
    op.reason = (char *)opt_str(a, OPT_ERASE_REASON, "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_SET_LEGAL_HOLD;
    req.set_legal_hold = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_LEGAL_HOLD, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__LegalHoldResult *h = rep->legal_hold;
    if (ctl->json) {
        emit_json(json_pack("{s:o,s:b,s:b,s:o}", "learner", jstr(op.learner_id), "hold",
                            (int)h->hold, "changed", (int)h->changed, "since", jtime(h->since_ms)));
    } else {
        char since[ISOTIME_BUFSZ];
        text_time(h->since_ms, since, sizeof since);
        if (h->hold)
            printf("learner %s: on legal hold since %s%s\n", op.learner_id, since,
                   h->changed ? "" : " (already)");
        else
            printf("learner %s: no legal hold%s\n", op.learner_id,
                   h->changed ? " (released)" : " (there was none)");
    }
    mc_reply_free(rep);
    return 0;
}

int cmd_learner_hold(ctl_t *ctl, const args_t *a)
{
    return legal_hold(ctl, a, true);
}

int cmd_learner_release(ctl_t *ctl, const args_t *a)
{
    return legal_hold(ctl, a, false);
}

int cmd_learner_reenrol(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__ReenrolLearner op = MASTERY__V1__REENROL_LEARNER__INIT;
    op.learner_id = a->pos[0];
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_REENROL_LEARNER;
    req.reenrol_learner = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_REENROL, &rep);
    if (rc != 0)
        return rc;
    bool was = rep->reenrol->was_erased;
    if (ctl->json)
        emit_json(json_pack("{s:o,s:b}", "learner", jstr(op.learner_id), "was_erased", (int)was));
    else if (was)
        printf("learner %s: re-enrolled; the id starts with nothing\n", op.learner_id);
    else
        printf("learner %s: was not erased; nothing changed\n", op.learner_id);
    mc_reply_free(rep);
    return 0;
}
