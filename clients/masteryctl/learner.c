/*
 * masteryctl learner show|register-did, and override (a teacher's decision on a learner's
 * competency).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "isotime.h"
#include "masteryctl.h"

const char *competency_status_name(Mastery__V1__CompetencyStatus s)
{
    switch (s) {
    case MASTERY__V1__COMPETENCY_STATUS__LOCKED:
        return "LOCKED";
    case MASTERY__V1__COMPETENCY_STATUS__UNLOCKED:
        return "UNLOCKED";
    case MASTERY__V1__COMPETENCY_STATUS__MASTERED:
        return "MASTERED";
    default:
        return "UNKNOWN";
    }
}

json_t *competency_json(const Mastery__V1__CompetencyState *c)
{
    return json_pack("{s:o,s:s,s:f,s:I,s:o,s:o,s:b,s:b}", "competency", jstr(c->competency_id),
                     "status", competency_status_name(c->status), "score", c->score,
                     "evidence_count", (json_int_t)c->evidence_count, "unlocked_at",
                     jtime(c->unlocked_at_ms), "mastered_at", jtime(c->mastered_at_ms),
                     "overridden", (int)c->overridden, "rule_met", (int)c->rule_met);
}

static json_t *learner_json(const Mastery__V1__LearnerState *ls)
{
    json_t *fws = json_array();
    for (size_t i = 0; i < ls->n_frameworks; i++) {
        const Mastery__V1__FrameworkState *fs = ls->frameworks[i];
        json_t *comps = json_array();
        for (size_t j = 0; j < fs->n_competencies; j++)
            json_array_append_new(comps, competency_json(fs->competencies[j]));
        json_array_append_new(fws, json_pack("{s:o,s:I,s:o}", "framework", jstr(fs->framework_id),
                                             "revision", (json_int_t)fs->revision, "competencies",
                                             comps));
    }
    return json_pack("{s:o,s:o}", "learner", jstr(ls->learner_id), "frameworks", fws);
}

static void learner_print_framework(const Mastery__V1__FrameworkState *fs, bool *any_override)
{
    printf("framework %s (revision %" PRIu32 ")\n", fs->framework_id, fs->revision);
    table_t t = {.ncols = 5,
                 .head = {"COMPETENCY", "STATUS", "SCORE", "EVIDENCE", "MASTERED AT"},
                 .right = {false, false, true, true, false}};
    for (size_t j = 0; j < fs->n_competencies; j++) {
        const Mastery__V1__CompetencyState *c = fs->competencies[j];
        char status[16], score[32], count[16], at[ISOTIME_BUFSZ];
        snprintf(status, sizeof status, "%s%s", competency_status_name(c->status),
                 c->overridden ? "*" : "");
        snprintf(score, sizeof score, "%.3f", c->score);
        snprintf(count, sizeof count, "%" PRIu32, c->evidence_count);
        text_time(c->mastered_at_ms, at, sizeof at);
        table_row(&t, c->competency_id, status, score, count, at);
        *any_override = *any_override || c->overridden;
    }
    table_print(&t, stdout);
    table_free(&t);
}

int cmd_learner_show(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__GetLearner get = MASTERY__V1__GET_LEARNER__INIT;
    get.learner_id = a->pos[0];
    get.framework_id = (char *)opt_str(a, OPT_FRAMEWORK, "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_LEARNER;
    req.get_learner = &get;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_LEARNER, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__LearnerState *ls = rep->learner;
    if (ctl->json) {
        emit_json(learner_json(ls));
    } else {
        printf("learner %s\n", ls->learner_id[0] ? ls->learner_id : get.learner_id);
        bool any_override = false;
        for (size_t i = 0; i < ls->n_frameworks; i++) {
            fputc('\n', stdout);
            learner_print_framework(ls->frameworks[i], &any_override);
        }
        if (ls->n_frameworks == 0)
            printf("(no frameworks loaded)\n");
        if (any_override)
            printf("\n* set by a teacher override\n");
    }
    mc_reply_free(rep);
    return 0;
}

int cmd_learner_register_did(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__RegisterLearnerDid op = MASTERY__V1__REGISTER_LEARNER_DID__INIT;
    op.learner_id = a->pos[0];
    op.did = a->pos[1];
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_REGISTER_LEARNER_DID;
    req.register_learner_did = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT__NOT_SET, &rep);
    if (rc != 0)
        return rc;
    if (ctl->json)
        emit_json(json_pack("{s:o,s:o}", "learner", jstr(op.learner_id), "did", jstr(op.did)));
    else
        printf("learner %s: badges will name %s\n", op.learner_id, op.did);
    mc_reply_free(rep);
    return 0;
}

/* ---- override ------------------------------------------------------------------------------ */

int cmd_override(ctl_t *ctl, const args_t *a)
{
    if (a->set[OPT_GRANT] == a->set[OPT_WITHDRAW])
        return usage_error(ctl, "give exactly one of --grant or --withdraw");
    if (a->val[OPT_REASON][0] == '\0')
        return usage_error(ctl, "--reason: must not be empty");
    const char *user = getenv("USER");
    Mastery__V1__Override ov = MASTERY__V1__OVERRIDE__INIT;
    ov.learner_id = (char *)a->val[OPT_LEARNER];
    ov.framework_id = (char *)a->val[OPT_FRAMEWORK];
    ov.competency_id = (char *)a->val[OPT_COMPETENCY];
    ov.mastered = a->set[OPT_GRANT];
    ov.reason = (char *)a->val[OPT_REASON];
    ov.actor = (char *)opt_str(a, OPT_ACTOR, user && user[0] ? user : "masteryctl");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_OVERRIDE;
    req.override = &ov;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, false, MASTERY__V1__REPLY__RESULT_COMPETENCY, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__CompetencyState *c = rep->competency;
    if (ctl->json)
        emit_json(competency_json(c));
    else
        printf("%s %s: %s%s (score %.3f, %" PRIu32 " evidence)\n", ov.learner_id,
               c->competency_id[0] ? c->competency_id : ov.competency_id,
               competency_status_name(c->status), c->overridden ? " by override" : "", c->score,
               c->evidence_count);
    mc_reply_free(rep);
    return 0;
}
