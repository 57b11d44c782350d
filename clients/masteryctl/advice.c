/*
 * masteryctl learner next|explain: what a learner should work on next and why, and why a
 * competency is (not) mastered (the Next and Explain requests).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "isotime.h"
#include "masteryctl.h"

int advice_next_request(ctl_t *ctl, const char *learner, const char *framework, uint32_t limit,
                        uint32_t locked, Mastery__V1__Reply **rep)
{
    Mastery__V1__Next op = MASTERY__V1__NEXT__INIT;
    op.learner_id = (char *)learner;
    op.framework_id = (char *)framework;
    op.limit = limit;
    op.locked_limit = locked;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_NEXT;
    req.next = &op;
    return request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_NEXT_STEPS, rep);
}

/* A double that may be NaN or -1 ("none") as JSON: null then. */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jcount(uint32_t v)
{
    return v == UINT32_MAX ? json_null() : json_integer(v);
}

json_t *next_steps_json(const Mastery__V1__NextSteps *ns)
{
    json_t *steps = json_array(), *locked = json_array();
    for (size_t i = 0; i < ns->n_steps; i++) {
        const Mastery__V1__NextStep *s = ns->steps[i];
        json_t *reasons = json_array();
        for (size_t j = 0; j < s->n_reasons; j++)
            json_array_append_new(reasons, jstr(s->reasons[j]));
        json_t *o = json_pack(
            "{s:I,s:s,s:o,s:o,s:o,s:f,s:f,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:o}", "rank",
            (json_int_t)s->rank, "kind",
            s->kind == MASTERY__V1__STEP_KIND__STEP_REVIEW ? "review" : "learn", "framework",
            jstr(s->framework_id), "competency", jstr(s->competency_id), "title", jstr(s->title),
            "score", s->score, "threshold", s->threshold, "evidence_count",
            (json_int_t)s->evidence_count, "min_evidence", (json_int_t)s->min_evidence,
            "min_next_score", s->min_next_score >= 0 ? json_real(s->min_next_score) : json_null(),
            "items_needed", jcount(s->items_needed), "unlocks_direct",
            (json_int_t)s->unlocks_direct, "unlocks_transitive", (json_int_t)s->unlocks_transitive,
            "prerequisites_met", (json_int_t)s->prerequisites_met, "reasons", reasons);
        if (s->kind == MASTERY__V1__STEP_KIND__STEP_REVIEW) {
            json_object_set_new(o, "review_due_at", jtime(s->review_due_at_ms));
            json_object_set_new(o, "review_failures", json_integer(s->review_failures));
            json_object_set_new(o, "review_failed", json_boolean(s->review_failed));
            json_object_set_new(o, "mastered_at", jtime(s->mastered_at_ms));
        }
        json_array_append_new(steps, o);
    }
    for (size_t i = 0; i < ns->n_nearest_locked; i++) {
        const Mastery__V1__LockedStep *l = ns->nearest_locked[i];
        json_t *missing = json_array();
        for (size_t j = 0; j < l->n_missing_ids; j++)
            json_array_append_new(missing, jstr(l->missing_ids[j]));
        json_array_append_new(
            locked, json_pack("{s:o,s:o,s:o,s:I,s:o,s:I,s:I}", "framework", jstr(l->framework_id),
                              "competency", jstr(l->competency_id), "title", jstr(l->title),
                              "missing", (json_int_t)l->missing, "missing_ids", missing,
                              "unlocks_direct", (json_int_t)l->unlocks_direct, "unlocks_transitive",
                              (json_int_t)l->unlocks_transitive));
    }
    return json_pack("{s:o,s:o,s:I,s:I,s:I,s:o,s:o}", "learner", jstr(ns->learner_id), "at",
                     jtime(ns->at_ms), "mastered", (json_int_t)ns->mastered, "total",
                     (json_int_t)ns->total, "reviews_due", (json_int_t)ns->reviews_due, "steps",
                     steps, "nearest_locked", locked);
}

int cmd_learner_next(ctl_t *ctl, const args_t *a)
{
    uint64_t limit = 0;
    int rc = opt_u64(ctl, a, OPT_LIMIT, 1, 1000, &limit);
    if (rc != 0)
        return rc;
    Mastery__V1__Reply *rep = NULL;
    if ((rc = advice_next_request(ctl, a->pos[0], opt_str(a, OPT_FRAMEWORK, ""), (uint32_t)limit, 0,
                                  &rep)) != 0)
        return rc;
    const Mastery__V1__NextSteps *ns = rep->next_steps;
    if (ctl->json) {
        emit_json(next_steps_json(ns));
        mc_reply_free(rep);
        return 0;
    }
    printf("learner %s: %" PRIu32 " of %" PRIu32 " competencies mastered, %" PRIu32
           " review%s due\n",
           a->pos[0], ns->mastered, ns->total, ns->reviews_due, ns->reviews_due == 1 ? "" : "s");
    if (ns->n_steps == 0)
        printf("\nnothing unlocked to work on\n");
    for (size_t i = 0; i < ns->n_steps; i++) {
        const Mastery__V1__NextStep *s = ns->steps[i];
        printf("\n%2" PRIu32 ". %s %s  (%s)\n", s->rank,
               s->kind == MASTERY__V1__STEP_KIND__STEP_REVIEW ? "REVIEW" : "LEARN ",
               s->competency_id, s->title);
        for (size_t j = 0; j < s->n_reasons; j++)
            printf("      - %s\n", s->reasons[j]);
    }
    if (ns->n_nearest_locked > 0)
        printf("\nlocked, nearest to unlocking:\n");
    for (size_t i = 0; i < ns->n_nearest_locked; i++) {
        const Mastery__V1__LockedStep *l = ns->nearest_locked[i];
        printf("    %s: needs %" PRIu32 " more mastered, of:", l->competency_id, l->missing);
        for (size_t j = 0; j < l->n_missing_ids; j++)
            printf("%s %s", j ? "," : "", l->missing_ids[j]);
        printf("\n");
    }
    mc_reply_free(rep);
    return 0;
}

static const char *outcome_name(Mastery__V1__Outcome o)
{
    return o == MASTERY__V1__OUTCOME__OUTCOME_PASSED   ? "passed"
           : o == MASTERY__V1__OUTCOME__OUTCOME_FAILED ? "failed"
                                                       : "";
}

static json_t *prereqs_json(Mastery__V1__Prerequisite **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:o,s:s,s:f}", "competency", jstr(v[i]->competency_id),
                                           "status", competency_status_name(v[i]->status), "score",
                                           v[i]->score));
    return a;
}

static json_t *explanation_json(const Mastery__V1__Explanation *x)
{
    json_t *items = json_array();
    for (size_t i = 0; i < x->n_items; i++) {
        const Mastery__V1__ExplainedItem *it = x->items[i];
        json_t *o =
            json_pack("{s:o,s:f,s:f,s:b,s:o,s:o,s:o,s:b}", "observed_at", jtime(it->observed_at_ms),
                      "score", it->score, "weight", it->weight, "counted", (int)it->counted,
                      "coefficient", jnum(it->coefficient), "contribution", jnum(it->contribution),
                      "score_after", jnum(it->score_after), "correct", (int)it->correct);
        if (!x->items_redacted) {
            json_object_set_new(o, "id", jstr(it->evidence_id));
            json_object_set_new(o, "source", jstr(it->source));
            if (it->narrative[0])
                json_object_set_new(o, "narrative", jstr(it->narrative));
        }
        if (it->outcome)
            json_object_set_new(o, "outcome", json_string(outcome_name(it->outcome)));
        if (isfinite(it->p_before)) {
            json_object_set_new(o, "p_before", json_real(it->p_before));
            json_object_set_new(o, "p_posterior", json_real(it->p_posterior));
        }
        if (!it->counted)
            json_object_set_new(o, "not_counted", jstr(it->not_counted));
        json_array_append_new(items, o);
    }
    json_error_t e;
    json_t *rule = json_loads(x->rule_json, 0, &e);
    json_t *o = json_pack(
        "{s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:f,s:b,s:I,s:o,s:b,s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "learner",
        jstr(x->learner_id), "framework", jstr(x->framework_id), "revision",
        (json_int_t)x->revision, "competency", jstr(x->competency_id), "title", jstr(x->title),
        "rule", rule ? rule : json_null(), "state", competency_json(x->state), "score", x->score,
        "rule_met", (int)x->rule_met, "counted", (json_int_t)x->counted, "items", items,
        "items_redacted", (int)x->items_redacted, "requires", x->requires_kind, "requires_k",
        (json_int_t)x->requires_k, "prerequisites",
        prereqs_json(x->prerequisites, x->n_prerequisites), "children",
        prereqs_json(x->children, x->n_children), "min_next_score",
        x->min_next_score >= 0 ? json_real(x->min_next_score) : json_null(), "items_needed",
        jcount(x->items_needed), "summary", jstr(x->summary));
    if (x->overridden || x->override_actor[0]) {
        json_t *ov = json_pack("{s:b,s:b,s:o,s:b}", "current", (int)x->overridden, "withdrawn",
                               (int)x->withdrawn, "at", jtime(x->override_at_ms), "granted",
                               (int)x->override_granted);
        if (x->override_actor[0])
            json_object_set_new(ov, "actor", jstr(x->override_actor));
        if (x->override_reason[0])
            json_object_set_new(ov, "reason", jstr(x->override_reason));
        json_object_set_new(o, "override", ov);
    }
    if (x->review_after_ms > 0)
        json_object_set_new(
            o, "review",
            json_pack("{s:I,s:o,s:b,s:I,s:b,s:o}", "after_ms", (json_int_t)x->review_after_ms,
                      "due_at", jtime(x->review_due_at_ms), "due", (int)x->review_due, "failures",
                      (json_int_t)x->review_failures, "failed", (int)x->review_failed,
                      "last_fresh_at", jtime(x->last_fresh_at_ms)));
    return o;
}

static void explanation_print(const Mastery__V1__Explanation *x)
{
    printf("%s on %s (%s, framework %s revision %" PRIu32 ")\n", x->learner_id, x->competency_id,
           x->title, x->framework_id, x->revision);
    printf("%s\n\n", x->summary);
    printf("rule     %s\n", x->rule_json);
    printf("status   %s%s, score %.6f, rule %s, %" PRIu32 " item%s counted\n",
           competency_status_name(x->state->status), x->overridden ? " (override)" : "", x->score,
           x->rule_met ? "met" : "not met", x->counted, x->counted == 1 ? "" : "s");
    if (x->items_needed != UINT32_MAX && x->items_needed > 0)
        printf("distance %" PRIu32 " item%s at 1.0%s", x->items_needed,
               x->items_needed == 1 ? "" : "s", x->min_next_score >= 0 ? "" : "\n");
    if (x->min_next_score >= 0 && x->items_needed > 0)
        printf("; or one item at %.3f\n", x->min_next_score);
    if (x->n_prerequisites > 0) {
        printf("requires %s%s", x->requires_kind, x->requires_k ? "" : "");
        if (x->requires_kind[0] == 'a' && x->requires_kind[1] == 't')
            printf(" %" PRIu32, x->requires_k);
        printf(":");
        for (size_t i = 0; i < x->n_prerequisites; i++)
            printf(" %s %s", x->prerequisites[i]->competency_id,
                   competency_status_name(x->prerequisites[i]->status));
        printf("\n");
    }
    for (size_t i = 0; i < x->n_children; i++)
        printf("child    %s %s\n", x->children[i]->competency_id,
               competency_status_name(x->children[i]->status));
    if (x->overridden || x->override_actor[0]) {
        char at[ISOTIME_BUFSZ];
        text_time(x->override_at_ms, at, sizeof at);
        printf("override %s at %s by %s%s%s\n", x->override_granted ? "granted" : "withdrawn", at,
               x->override_actor[0] ? x->override_actor : "(not recorded)",
               x->override_reason[0] ? ": " : "", x->override_reason);
    }
    if (x->review_after_ms > 0) {
        char due[ISOTIME_BUFSZ];
        text_time(x->review_due_at_ms, due, sizeof due);
        printf("review   every %.1f days after fresh evidence; %s%s",
               (double)x->review_after_ms / 86400000.0,
               x->review_due         ? "DUE since "
               : x->review_due_at_ms ? "next due "
                                     : "",
               x->review_due_at_ms ? due : "(not mastered)");
        if (x->review_failures)
            printf(", %" PRIu32 " failed%s", x->review_failures,
                   x->review_failed ? " (review failed; still mastered)" : "");
        printf("\n");
    }
    if (x->n_items == 0) {
        printf("\n(no evidence)\n");
        return;
    }
    printf("\n");
    bool bkt = x->n_items > 0 && x->method[0] == 'b';
    table_t t = {.ncols = 6,
                 .head = {"OBSERVED AT", "SCORE", bkt ? "P(L) BEFORE" : "WEIGHT IN SCORE",
                          bkt ? "POSTERIOR" : "CONTRIBUTION", "SCORE AFTER",
                          x->items_redacted ? "" : "EVIDENCE"},
                 .right = {false, true, true, true, true, false}};
    for (size_t i = 0; i < x->n_items; i++) {
        const Mastery__V1__ExplainedItem *it = x->items[i];
        char at[ISOTIME_BUFSZ], sc[48], c1[32], c2[32], after[32], ev[600];
        text_time(it->observed_at_ms, at, sizeof at);
        snprintf(sc, sizeof sc, "%.3f%s%s", it->score, it->outcome ? " " : "",
                 outcome_name(it->outcome));
        if (!it->counted) {
            snprintf(c1, sizeof c1, "-");
            snprintf(c2, sizeof c2, "-");
            snprintf(after, sizeof after, "%s", it->not_counted);
        } else {
            snprintf(c1, sizeof c1, "%.4f", bkt ? it->p_before : it->coefficient);
            snprintf(c2, sizeof c2, "%.4f", bkt ? it->p_posterior : it->contribution);
            snprintf(after, sizeof after, "%.4f", it->score_after);
        }
        snprintf(ev, sizeof ev, "%s%s%s", it->evidence_id, it->source[0] ? " from " : "",
                 it->source);
        table_row(&t, at, sc, c1, c2, after, x->items_redacted ? "" : ev);
    }
    table_print(&t, stdout);
    table_free(&t);
}

int cmd_learner_explain(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__Explain op = MASTERY__V1__EXPLAIN__INIT;
    op.learner_id = a->pos[0];
    op.competency_id = a->pos[1];
    op.framework_id = (char *)opt_str(a, OPT_FRAMEWORK, "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_EXPLAIN;
    req.explain = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_EXPLANATION, &rep);
    if (rc != 0)
        return rc;
    if (ctl->json)
        emit_json(explanation_json(rep->explanation));
    else
        explanation_print(rep->explanation);
    mc_reply_free(rep);
    return 0;
}
