/*
 * masteryctl events: the event log as JSON lines, stored then (--follow) live, without gaps or
 * repeats (libmasteryclient's reader does the switch); filtered here by --kind and --learner.
 */
#include <inttypes.h>
#include <string.h>

#include "masteryctl.h"

static void fill_unlocked(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__Unlocked *u = ev->unlocked;
    json_object_set_new(o, "learner", jstr(u->learner_id));
    json_object_set_new(o, "framework", jstr(u->framework_id));
    json_object_set_new(o, "competency", jstr(u->competency_id));
    json_object_set_new(o, "evidence", jstr(u->evidence_id));
    json_object_set_new(o, "evidence_source", jstr(u->evidence_source));
}

static void fill_mastered(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__Mastered *m = ev->mastered;
    json_object_set_new(o, "learner", jstr(m->learner_id));
    json_object_set_new(o, "framework", jstr(m->framework_id));
    json_object_set_new(o, "competency", jstr(m->competency_id));
    json_object_set_new(o, "score", json_real(m->score));
    json_object_set_new(o, "evidence", jstr(m->evidence_id));
    json_object_set_new(o, "evidence_source", jstr(m->evidence_source));
}

static void fill_override(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__OverrideApplied *ov = ev->override;
    json_object_set_new(o, "learner", jstr(ov->learner_id));
    json_object_set_new(o, "framework", jstr(ov->framework_id));
    json_object_set_new(o, "competency", jstr(ov->competency_id));
    json_object_set_new(o, "mastered", json_boolean(ov->mastered));
    json_object_set_new(o, "reason", jstr(ov->reason));
    json_object_set_new(o, "actor", jstr(ov->actor));
}

static void fill_framework_loaded(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__FrameworkLoaded *fl = ev->framework_loaded;
    json_object_set_new(o, "framework", jstr(fl->framework_id));
    json_object_set_new(o, "revision", json_integer(fl->revision));
    json_object_set_new(o, "version", jstr(fl->version));
    json_object_set_new(o, "competency_count", json_integer(fl->competency_count));
}

static void fill_evidence_retracted(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__EvidenceRetracted *r = ev->evidence_retracted;
    json_object_set_new(o, "learner", jstr(r->learner_id));
    json_object_set_new(o, "competency", jstr(r->competency_id));
    json_object_set_new(o, "evidence", jstr(r->evidence_id));
    json_object_set_new(o, "source", jstr(r->source));
    json_object_set_new(o, "reason", jstr(r->reason));
}

static void fill_credential_issued(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__CredentialIssued *c = ev->credential_issued;
    json_object_set_new(o, "credential", jstr(c->credential_id));
    json_object_set_new(o, "learner", jstr(c->learner_id));
    json_object_set_new(o, "framework", jstr(c->framework_id));
    json_object_set_new(o, "competency", jstr(c->competency_id));
    json_object_set_new(o, "achievement", jstr(c->achievement_name));
}

static void fill_credential_status(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__CredentialStatusChanged *c = ev->credential_status;
    json_object_set_new(o, "credential", jstr(c->credential_id));
    json_object_set_new(o, "learner", jstr(c->learner_id));
    json_object_set_new(o, "purpose", jstr(c->purpose));
    json_object_set_new(o, "set", json_boolean(c->set));
    json_object_set_new(o, "reason", jstr(c->reason));
}

static void fill_evidence_accepted(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__EvidenceAccepted *a = ev->evidence_accepted;
    json_object_set_new(o, "learner", jstr(a->learner_id));
    json_object_set_new(o, "competency", jstr(a->competency_id));
    json_object_set_new(o, "evidence", jstr(a->evidence_id));
    json_object_set_new(o, "source", jstr(a->source));
    json_object_set_new(o, "score", json_real(a->score));
    json_object_set_new(o, "observed_at", jtime(a->observed_at_ms));
    json_object_set_new(o, "log_index", json_integer((json_int_t)a->log_index));
}

static void fill_keys_rotated(const Mastery__V1__Event *ev, json_t *o)
{
    json_object_set_new(o, "key", jstr(ev->keys_rotated->key_id));
}

static void fill_checkpoint(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__LogCheckpoint *c = ev->checkpoint;
    json_object_set_new(o, "origin", jstr(c->origin));
    json_object_set_new(o, "size", json_integer((json_int_t)c->size));
    json_object_set_new(o, "note", jstr(c->note));
}

static const char *learner_evidence_accepted(const Mastery__V1__Event *ev)
{
    return ev->evidence_accepted->learner_id;
}

static void fill_at_risk(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__AtRisk *a = ev->at_risk;
    json_object_set_new(o, "learner", jstr(a->learner_id));
    json_object_set_new(o, "framework", jstr(a->framework_id));
    json_object_set_new(o, "reason", jstr(a->reason));
    json_object_set_new(o, "competency", jstr(a->competency_id));
    json_object_set_new(o, "evidence_count", json_integer(a->evidence_count));
    json_object_set_new(o, "last_activity", jtime(a->last_activity_ms));
}

static const char *learner_at_risk(const Mastery__V1__Event *ev)
{
    return ev->at_risk->learner_id;
}

static void fill_review_due(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__ReviewDue *r = ev->review_due;
    json_object_set_new(o, "learner", jstr(r->learner_id));
    json_object_set_new(o, "framework", jstr(r->framework_id));
    json_object_set_new(o, "competency", jstr(r->competency_id));
    json_object_set_new(o, "due_at", jtime(r->due_at_ms));
}

static void fill_review_failed(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__ReviewFailed *r = ev->review_failed;
    json_object_set_new(o, "learner", jstr(r->learner_id));
    json_object_set_new(o, "framework", jstr(r->framework_id));
    json_object_set_new(o, "competency", jstr(r->competency_id));
    json_object_set_new(o, "failures", json_integer(r->failures));
    json_object_set_new(o, "evidence", jstr(r->evidence_id));
    json_object_set_new(o, "source", jstr(r->evidence_source));
}

static const char *learner_review_due(const Mastery__V1__Event *ev)
{
    return ev->review_due->learner_id;
}

static const char *learner_review_failed(const Mastery__V1__Event *ev)
{
    return ev->review_failed->learner_id;
}

static const char *learner_evidence_retracted(const Mastery__V1__Event *ev)
{
    return ev->evidence_retracted->learner_id;
}

static const char *learner_credential_issued(const Mastery__V1__Event *ev)
{
    return ev->credential_issued->learner_id;
}

static const char *learner_credential_status(const Mastery__V1__Event *ev)
{
    return ev->credential_status->learner_id;
}

static const char *learner_unlocked(const Mastery__V1__Event *ev)
{
    return ev->unlocked->learner_id;
}

static const char *learner_mastered(const Mastery__V1__Event *ev)
{
    return ev->mastered->learner_id;
}

static const char *learner_override(const Mastery__V1__Event *ev)
{
    return ev->override->learner_id;
}

/* Erasure (issue 16): none of these carries an erased learner's id. */
static void fill_learner_erased(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__LearnerErased *e = ev->learner_erased;
    json_object_set_new(o, "learner_commitment", jstr(e->learner_commitment));
    json_object_set_new(o, "log_index", json_integer((json_int_t)e->log_index));
    json_object_set_new(o, "credentials_revoked", json_integer(e->credentials_revoked));
}

static void fill_legal_hold(const Mastery__V1__Event *ev, json_t *o)
{
    json_object_set_new(o, "learner", jstr(ev->legal_hold->learner_id));
    json_object_set_new(o, "hold", json_boolean(ev->legal_hold->hold));
}

static const char *learner_legal_hold(const Mastery__V1__Event *ev)
{
    return ev->legal_hold->learner_id;
}

static void fill_learner_reenrolled(const Mastery__V1__Event *ev, json_t *o)
{
    json_object_set_new(o, "learner", jstr(ev->learner_reenrolled->learner_id));
}

static const char *learner_reenrolled(const Mastery__V1__Event *ev)
{
    return ev->learner_reenrolled->learner_id;
}

/* A stored event of an erased learner: only its seq, time and what kind it was remain. */
static void fill_shredded(const Mastery__V1__Event *ev, json_t *o)
{
    json_object_set_new(o, "was", jstr(ev->shredded->kind));
}

static const struct event_kind {
    Mastery__V1__Event__KindCase kcase;
    const char *name;
    void (*fill)(const Mastery__V1__Event *ev, json_t *o);
    const char *(*learner)(const Mastery__V1__Event *ev); /* NULL: not about a learner */
} EVENT_KINDS[] = {
    {MASTERY__V1__EVENT__KIND_UNLOCKED, "unlocked", fill_unlocked, learner_unlocked},
    {MASTERY__V1__EVENT__KIND_MASTERED, "mastered", fill_mastered, learner_mastered},
    {MASTERY__V1__EVENT__KIND_OVERRIDE, "override", fill_override, learner_override},
    {MASTERY__V1__EVENT__KIND_FRAMEWORK_LOADED, "framework_loaded", fill_framework_loaded, NULL},
    {MASTERY__V1__EVENT__KIND_EVIDENCE_RETRACTED, "evidence_retracted", fill_evidence_retracted,
     learner_evidence_retracted},
    {MASTERY__V1__EVENT__KIND_CREDENTIAL_ISSUED, "credential_issued", fill_credential_issued,
     learner_credential_issued},
    {MASTERY__V1__EVENT__KIND_CREDENTIAL_STATUS, "credential_status", fill_credential_status,
     learner_credential_status},
    {MASTERY__V1__EVENT__KIND_EVIDENCE_ACCEPTED, "evidence_accepted", fill_evidence_accepted,
     learner_evidence_accepted},
    {MASTERY__V1__EVENT__KIND_KEYS_ROTATED, "keys_rotated", fill_keys_rotated, NULL},
    {MASTERY__V1__EVENT__KIND_CHECKPOINT, "checkpoint", fill_checkpoint, NULL},
    {MASTERY__V1__EVENT__KIND_AT_RISK, "at_risk", fill_at_risk, learner_at_risk},
    {MASTERY__V1__EVENT__KIND_REVIEW_DUE, "review_due", fill_review_due, learner_review_due},
    {MASTERY__V1__EVENT__KIND_REVIEW_FAILED, "review_failed", fill_review_failed,
     learner_review_failed},
    {MASTERY__V1__EVENT__KIND_LEARNER_ERASED, "learner_erased", fill_learner_erased, NULL},
    {MASTERY__V1__EVENT__KIND_LEGAL_HOLD, "legal_hold", fill_legal_hold, learner_legal_hold},
    {MASTERY__V1__EVENT__KIND_LEARNER_REENROLLED, "learner_reenrolled", fill_learner_reenrolled,
     learner_reenrolled},
    {MASTERY__V1__EVENT__KIND_SHREDDED, "shredded", fill_shredded, NULL},
};
#define N_EVENT_KINDS (sizeof EVENT_KINDS / sizeof EVENT_KINDS[0])

static const struct event_kind *event_kind_of(const Mastery__V1__Event *ev)
{
    for (size_t i = 0; i < N_EVENT_KINDS; i++)
        if (EVENT_KINDS[i].kcase == ev->kind_case)
            return &EVENT_KINDS[i];
    return NULL;
}

static bool kind_known(const char *k)
{
    for (size_t i = 0; i < N_EVENT_KINDS; i++)
        if (strcmp(EVENT_KINDS[i].name, k) == 0)
            return true;
    return false;
}

/* Which events to print: NULL means every kind, every learner. */
typedef struct event_filter {
    const char *kind;
    const char *learner;
} event_filter_t;

static void event_emit(const event_filter_t *r, const Mastery__V1__Event *ev)
{
    const struct event_kind *k = event_kind_of(ev);
    if (r->kind && (k == NULL || strcmp(k->name, r->kind) != 0))
        return;
    if (r->learner && (k == NULL || k->learner == NULL || strcmp(k->learner(ev), r->learner) != 0))
        return;
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
    json_object_set_new(o, "at", jtime(ev->at_ms));
    json_object_set_new(o, "kind", json_string(k ? k->name : "unknown"));
    if (k)
        k->fill(ev, o);
    emit_json(o);
}

/* Prints every event the reader hands out until the end (or, following, an interrupt). */
static int events_print(mc_events_t *r, const event_filter_t *f)
{
    for (;;) {
        const Mastery__V1__Event *ev = NULL;
        err_detail_t d;
        int rc = mc_events_next(r, &ev, &d);
        if (rc == MC_EVENTS_EVENT) {
            event_emit(f, ev);
        } else if (rc == MC_EVENTS_GAP) {
            uint64_t first = 0, last = 0;
            mc_events_gap(r, &first, &last);
            fprintf(stderr, "%s: events %" PRIu64 "..%" PRIu64 " are not in the store\n", progname,
                    first, last);
        } else if (rc == MC_EVENTS_END) {
            return 0;
        } else if (rc == MC_ERR_STATUS) {
            /* ReadEvents refused: as any other refusal, "CODE field: message". */
            fprintf(stderr, "%s: %s%s%s: %s\n", progname, mc_status_name(-d.code),
                    d.field[0] ? " " : "", d.field, d.message);
            return CTL_ERR_REPLY;
        } else {
            rc = ctl_failed(&d, rc);
            return rc < 0 ? 0 : rc; /* interrupted: a normal end */
        }
    }
}

int cmd_events(ctl_t *ctl, const args_t *a)
{
    uint64_t from = 1;
    int rc = opt_u64(ctl, a, OPT_FROM, 0, UINT64_MAX, &from);
    if (rc != 0)
        return rc;
    if (from == 0)
        from = 1; /* "from 0": from the very beginning; events start at seq 1 */
    if (a->set[OPT_KIND] && !kind_known(a->val[OPT_KIND])) {
        /* Named from the table, so a kind added there is offered here too. */
        char known[512] = "";
        for (size_t i = 0; i < N_EVENT_KINDS; i++) {
            size_t n = strlen(known);
            snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "", EVENT_KINDS[i].name);
        }
        return usage_error(ctl, "--kind: \"%s\" is not one of %s", a->val[OPT_KIND], known);
    }
    event_filter_t f = {.kind = opt_str(a, OPT_KIND, NULL),
                        .learner = opt_str(a, OPT_LEARNER, NULL)};
    bool follow = a->set[OPT_FOLLOW];
    if (follow)
        ctl_catch_signals();
    if ((rc = ctl_connect(ctl)) != 0)
        return rc;
    mc_events_t *r = NULL;
    err_detail_t d;
    rc = mc_events_open(ctl->mc, from, follow, &r, &d);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", progname, d.message);
        return rc == ERR_INTERNAL || rc == ERR_NOMEM ? CTL_ERR_REPLY : CTL_USAGE;
    }
    rc = events_print(r, &f);
    mc_events_destroy(&r);
    return rc;
}
