/*
 * masteryctl credential list|get|revoke|suspend|unsuspend, and status-list export: the badges
 * issued, and their status bits.
 */
#include <inttypes.h>
#include <string.h>

#include "isotime.h"
#include "masteryctl.h"

static const char *credential_state_name(Mastery__V1__CredentialState s)
{
    switch (s) {
    case MASTERY__V1__CREDENTIAL_STATE__CREDENTIAL_REVOKED:
        return "revoked";
    case MASTERY__V1__CREDENTIAL_STATE__CREDENTIAL_SUSPENDED:
        return "suspended";
    default:
        return "active";
    }
}

static json_t *credential_info_json(const Mastery__V1__CredentialInfo *c)
{
    char at[ISOTIME_BUFSZ];
    text_time(c->issued_at_ms, at, sizeof at);
    return json_pack("{s:o,s:o,s:o,s:I,s:o,s:o,s:s,s:s,s:I,s:o,s:I}", "id", jstr(c->credential_id),
                     "learner", jstr(c->learner_id), "framework", jstr(c->framework_id), "revision",
                     (json_int_t)c->revision, "competency", jstr(c->competency_id), "achievement",
                     jstr(c->achievement_name), "issued_at", at, "state",
                     credential_state_name(c->state), "status_index", (json_int_t)c->status_index,
                     "reason", jstr(c->reason), "status_list", (json_int_t)c->status_list);
}

int cmd_credential_list(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__ListCredentials op = MASTERY__V1__LIST_CREDENTIALS__INIT;
    op.learner_id = (char *)a->val[OPT_LEARNER];
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_LIST_CREDENTIALS;
    req.list_credentials = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL_LIST, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__CredentialList *l = rep->credential_list;
    if (ctl->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l->n_credentials; i++)
            json_array_append_new(arr, credential_info_json(l->credentials[i]));
        emit_json(json_pack("{s:o}", "credentials", arr));
    } else {
        table_t t = {.ncols = 5,
                     .head = {"CREDENTIAL", "ACHIEVEMENT", "COMPETENCY", "ISSUED AT", "STATE"}};
        for (size_t i = 0; i < l->n_credentials; i++) {
            const Mastery__V1__CredentialInfo *c = l->credentials[i];
            char at[ISOTIME_BUFSZ];
            text_time(c->issued_at_ms, at, sizeof at);
            table_row(&t, c->credential_id, c->achievement_name, c->competency_id, at,
                      credential_state_name(c->state));
        }
        table_print(&t, stdout);
        table_free(&t);
    }
    mc_reply_free(rep);
    return 0;
}

int cmd_credential_get(ctl_t *ctl, const args_t *a)
{
    const char *format = opt_str(a, OPT_FORMAT, "json");
    bool jwt = strcmp(format, "jwt") == 0;
    if (!jwt && strcmp(format, "json") != 0)
        return usage_error(ctl, "--format: \"%s\" is not json or jwt", format);
    Mastery__V1__GetCredential op = MASTERY__V1__GET_CREDENTIAL__INIT;
    op.credential_id = a->pos[0];
    op.format = jwt ? MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JWT
                    : MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JSON;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_CREDENTIAL;
    req.get_credential = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL, &rep);
    if (rc != 0)
        return rc;
    /* The badge file a student keeps: the document exactly as signed, nothing around it. */
    printf("%s\n", rep->credential->document);
    mc_reply_free(rep);
    return 0;
}

static int set_status(ctl_t *ctl, const args_t *a, const char *purpose, bool set)
{
    if (set && a->val[OPT_REASON][0] == '\0')
        return usage_error(ctl, "--reason: must not be empty");
    Mastery__V1__SetCredentialStatus op = MASTERY__V1__SET_CREDENTIAL_STATUS__INIT;
    op.credential_id = a->pos[0];
    op.purpose = (char *)purpose;
    op.set = set;
    op.reason = (char *)opt_str(a, OPT_REASON, "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_SET_CREDENTIAL_STATUS;
    req.set_credential_status = &op;
    Mastery__V1__Reply *rep = NULL;
    /* Safe to resend: setting a status twice is a no-op. */
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL_INFO, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__CredentialInfo *c = rep->credential_info;
    if (ctl->json)
        emit_json(credential_info_json(c));
    else
        printf("%s: %s%s%s\n", c->credential_id, credential_state_name(c->state),
               rep->status->message[0] ? " (" : "", rep->status->message[0] ? "unchanged)" : "");
    mc_reply_free(rep);
    return 0;
}

int cmd_credential_revoke(ctl_t *ctl, const args_t *a)
{
    return set_status(ctl, a, "revocation", true);
}

int cmd_credential_suspend(ctl_t *ctl, const args_t *a)
{
    return set_status(ctl, a, "suspension", true);
}

int cmd_credential_unsuspend(ctl_t *ctl, const args_t *a)
{
    return set_status(ctl, a, "suspension", false);
}

int cmd_status_list_export(ctl_t *ctl, const args_t *a)
{
    const char *purpose = a->pos[0];
    if (strcmp(purpose, "revocation") != 0 && strcmp(purpose, "suspension") != 0)
        return usage_error(ctl, "PURPOSE: \"%s\" is not revocation or suspension", purpose);
    Mastery__V1__ExportStatusList op = MASTERY__V1__EXPORT_STATUS_LIST__INIT;
    op.purpose = (char *)purpose;
    uint64_t list = 0;
    int rc = opt_u64(ctl, a, OPT_LIST, 1, UINT32_MAX, &list);
    if (rc != 0)
        return rc;
    op.list = (uint32_t)list;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_EXPORT_STATUS_LIST;
    req.export_status_list = &op;
    Mastery__V1__Reply *rep = NULL;
    rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_STATUS_LIST, &rep);
    if (rc != 0)
        return rc;
    printf("%s\n", rep->status_list->json);
    /* stdout stays the document to publish; where, and how many lists exist, go to stderr. */
    fprintf(stderr, "status list %u of %u: publish at %s\n", rep->status_list->list,
            rep->status_list->lists, rep->status_list->url);
    mc_reply_free(rep);
    return 0;
}
