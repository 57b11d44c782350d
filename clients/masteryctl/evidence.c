/*
 * masteryctl evidence add|list|retract, and the evidence line format (DESIGN.md 3) both ways:
 * `evidence import` reads it (import.c), `evidence list --json` writes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "isotime.h"
#include "masteryctl.h"

#define EVIDENCE_ID_LEN 37 /* "ctl-" + 32 hex digits + NUL */

typedef enum field_kind {
    F_STR,     /* char * */
    F_NUM,     /* double */
    F_TIME,    /* int64_t Unix ms, RFC 3339 text in JSON */
    F_OUTCOME, /* Mastery__V1__Outcome, "passed" / "failed" in JSON */
} field_kind_t;

/* The evidence line format (DESIGN.md 3) mapped onto the wire message. */
static const struct line_field {
    const char *key;
    field_kind_t kind;
    bool required;
    size_t off;
} LINE_FIELDS[] = {
    {"id", F_STR, true, offsetof(Mastery__V1__Evidence, evidence_id)},
    {"learner", F_STR, true, offsetof(Mastery__V1__Evidence, learner_id)},
    {"competency", F_STR, true, offsetof(Mastery__V1__Evidence, competency_id)},
    {"score", F_NUM, true, offsetof(Mastery__V1__Evidence, score)},
    {"observed_at", F_TIME, true, offsetof(Mastery__V1__Evidence, observed_at_ms)},
    {"source", F_STR, true, offsetof(Mastery__V1__Evidence, source)},
    {"outcome", F_OUTCOME, false, offsetof(Mastery__V1__Evidence, outcome)},
    {"weight", F_NUM, false, offsetof(Mastery__V1__Evidence, weight)},
    {"url", F_STR, false, offsetof(Mastery__V1__Evidence, url)},
    {"narrative", F_STR, false, offsetof(Mastery__V1__Evidence, narrative)},
};
#define N_LINE_FIELDS (sizeof LINE_FIELDS / sizeof LINE_FIELDS[0])

#define FIELD_PTR(ev, f, type) ((type *)((char *)(ev) + (f)->off))

static const char *outcome_name(Mastery__V1__Outcome o)
{
    switch (o) {
    case MASTERY__V1__OUTCOME__OUTCOME_PASSED:
        return "passed";
    case MASTERY__V1__OUTCOME__OUTCOME_FAILED:
        return "failed";
    default:
        return NULL;
    }
}

static int outcome_parse(const char *s, Mastery__V1__Outcome *out)
{
    if (strcmp(s, "passed") == 0)
        *out = MASTERY__V1__OUTCOME__OUTCOME_PASSED;
    else if (strcmp(s, "failed") == 0)
        *out = MASTERY__V1__OUTCOME__OUTCOME_FAILED;
    else
        return ERR_INVALID;
    return 0;
}

void evidence_clear(Mastery__V1__Evidence *ev)
{
    for (size_t i = 0; i < N_LINE_FIELDS; i++) {
        const struct line_field *f = &LINE_FIELDS[i];
        if (f->kind != F_STR)
            continue;
        char **s = FIELD_PTR(ev, f, char *);
        if (*s != protobuf_c_empty_string)
            free(*s);
    }
    *ev = (Mastery__V1__Evidence)MASTERY__V1__EVIDENCE__INIT;
}

static int field_from_json(const struct line_field *f, const json_t *v, Mastery__V1__Evidence *ev,
                           err_detail_t *d)
{
    switch (f->kind) {
    case F_STR:
        if (!json_is_string(v))
            return err_set(d, ERR_INVALID, f->key, "must be a string");
        *FIELD_PTR(ev, f, char *) = xstrdup(json_string_value(v));
        return 0;
    case F_NUM:
        if (!json_is_number(v))
            return err_set(d, ERR_INVALID, f->key, "must be a number");
        *FIELD_PTR(ev, f, double) = json_number_value(v);
        return 0;
    case F_TIME:
        if (!json_is_string(v))
            return err_set(d, ERR_INVALID, f->key, "must be an RFC 3339 time string");
        if (isotime_parse(json_string_value(v), json_string_length(v), FIELD_PTR(ev, f, int64_t),
                          d) != 0) {
            snprintf(d->field, sizeof d->field, "%s", f->key);
            return ERR_INVALID;
        }
        return 0;
    case F_OUTCOME:
        if (!json_is_string(v) ||
            outcome_parse(json_string_value(v), FIELD_PTR(ev, f, Mastery__V1__Outcome)) != 0)
            return err_set(d, ERR_INVALID, f->key, "must be \"passed\" or \"failed\"");
        return 0;
    }
    return err_set(d, ERR_INTERNAL, f->key, "unhandled field kind");
}

int evidence_from_json(const json_t *obj, Mastery__V1__Evidence *ev, err_detail_t *d)
{
    if (!json_is_object(obj))
        return err_set(d, ERR_INVALID, "", "a line must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (i < N_LINE_FIELDS && strcmp(LINE_FIELDS[i].key, key) != 0)
            i++;
        if (i == N_LINE_FIELDS)
            return err_set(d, ERR_INVALID, key, "unknown field");
    }
    for (size_t i = 0; i < N_LINE_FIELDS; i++) {
        const struct line_field *f = &LINE_FIELDS[i];
        json_t *fv = json_object_get(obj, f->key);
        if (fv == NULL || json_is_null(fv)) {
            if (f->required)
                return err_set(d, ERR_INVALID, f->key, "missing");
            continue;
        }
        int rc = field_from_json(f, fv, ev, d);
        if (rc != 0)
            return rc;
    }
    /* Given fields are present on the wire: an observed_at at the epoch means the epoch, and a
     * weight of 0 is refused by the daemon instead of counting as the default. */
    ev->observed_at_set = true;
    ev->weight_set =
        json_object_get(obj, "weight") != NULL && !json_is_null(json_object_get(obj, "weight"));
    return 0;
}

/* The inverse, for `evidence list --json`: a line that `evidence import` reads back. */
#define FIELD_VAL(ev, f, type) (*(const type *)((const char *)(ev) + (f)->off))

/* One field as JSON, or NULL when an optional field holds its default (then it is left out). */
static json_t *field_to_json(const struct line_field *f, const Mastery__V1__Evidence *ev)
{
    switch (f->kind) {
    case F_STR: {
        const char *s = FIELD_VAL(ev, f, char *);
        return f->required || (s && s[0]) ? jstr(s) : NULL;
    }
    case F_NUM: {
        double x = FIELD_VAL(ev, f, double);
        return f->required || x != 0 ? json_real(x) : NULL;
    }
    case F_TIME:
        return jtime(FIELD_VAL(ev, f, int64_t));
    case F_OUTCOME: {
        const char *name = outcome_name(FIELD_VAL(ev, f, Mastery__V1__Outcome));
        return name ? json_string(name) : NULL;
    }
    }
    return NULL;
}

static json_t *evidence_to_json(const Mastery__V1__Evidence *ev)
{
    json_t *o = json_object();
    for (size_t i = 0; i < N_LINE_FIELDS; i++) {
        json_t *v = field_to_json(&LINE_FIELDS[i], ev);
        if (v != NULL)
            json_object_set_new(o, LINE_FIELDS[i].key, v);
    }
    return o;
}

/* ---- evidence add ---------------------------------------------------------------------- */

/*
 * The id of an item given without --id: "ctl-" and 32 hex digits of SHA-256 over every field
 * the command line gave (observed_at only when --observed-at was given). Running the same
 * command again sends the same id with the same content, which the daemon stores once
 * (DUPLICATE), so a re-run, or a retry after no answer, never counts twice. Recording a second,
 * identical observation needs --observed-at or --id.
 */
static void content_id(const Mastery__V1__Evidence *ev, bool timed, char id[EVIDENCE_ID_LEN])
{
    char num[3][40];
    snprintf(num[0], sizeof num[0], "%.17g", ev->score);
    snprintf(num[1], sizeof num[1], "%.17g", ev->weight_set ? ev->weight : 1.0);
    snprintf(num[2], sizeof num[2], "%lld", timed ? (long long)ev->observed_at_ms : -1LL);
    const char *outcome = outcome_name(ev->outcome);
    const char *parts[] = {"masteryctl evidence add v1",
                           ev->learner_id,
                           ev->competency_id,
                           num[0],
                           num[1],
                           num[2],
                           ev->source,
                           outcome ? outcome : "",
                           ev->url,
                           ev->narrative};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < sizeof parts / sizeof parts[0]; i++) /* NUL-separated */
        ok = EVP_DigestUpdate(c, parts[i], strlen(parts[i]) + 1) == 1;
    ok = ok && EVP_DigestFinal_ex(c, md, &md_len) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) {
        fprintf(stderr, "%s: SHA-256 failed\n", progname);
        exit(CTL_ERR_REPLY);
    }
    memcpy(id, "ctl-", 4);
    codec_hex_encode(md, 16, id + 4, EVIDENCE_ID_LEN - 4, NULL);
}

static int evidence_from_args(ctl_t *ctl, const args_t *a, Mastery__V1__Evidence *ev,
                              char id[EVIDENCE_ID_LEN])
{
    int rc = parse_double_arg(ctl, "--score", a->val[OPT_SCORE], 0, 1, &ev->score);
    if (rc == 0 && a->set[OPT_WEIGHT]) {
        rc = parse_double_arg(ctl, "--weight", a->val[OPT_WEIGHT], 0, 1e9, &ev->weight);
        ev->weight_set = true; /* the daemon refuses a weight that is not > 0 */
    }
    if (rc != 0)
        return rc;
    if (a->set[OPT_OUTCOME] && outcome_parse(a->val[OPT_OUTCOME], &ev->outcome) != 0)
        return usage_error(ctl, "--outcome: \"%s\" is not passed or failed", a->val[OPT_OUTCOME]);
    if (a->set[OPT_OBSERVED_AT]) {
        err_detail_t d;
        const char *t = a->val[OPT_OBSERVED_AT];
        if (isotime_parse(t, strlen(t), &ev->observed_at_ms, &d) != 0)
            return usage_error(ctl, "--observed-at: %s", d.message);
        ev->observed_at_set = true; /* so that 1970-01-01T00:00:00Z means itself */
    }
    /* Without --observed-at the daemon stamps the time it receives the item, and a resend of
     * the same id (same content) is a DUPLICATE whatever the clock says by then. */
    ev->learner_id = (char *)a->val[OPT_LEARNER];
    ev->competency_id = (char *)a->val[OPT_COMPETENCY];
    ev->source = (char *)opt_str(a, OPT_SOURCE, "masteryctl");
    ev->url = (char *)opt_str(a, OPT_URL, "");
    ev->narrative = (char *)opt_str(a, OPT_NARRATIVE, "");
    if (a->set[OPT_ID]) {
        if (a->val[OPT_ID][0] == '\0')
            return usage_error(ctl, "--id: must not be empty");
        ev->evidence_id = (char *)a->val[OPT_ID];
    } else {
        content_id(ev, a->set[OPT_OBSERVED_AT], id);
        ev->evidence_id = id;
    }
    return 0;
}

int cmd_evidence_add(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__Evidence ev = MASTERY__V1__EVIDENCE__INIT;
    char id[EVIDENCE_ID_LEN];
    int rc = evidence_from_args(ctl, a, &ev, id);
    if (rc != 0)
        return rc;
    Mastery__V1__Evidence *items[1] = {&ev};
    Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
    sub.n_items = 1;
    sub.items = items;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
    req.submit_evidence = &sub;
    Mastery__V1__Reply *rep = NULL;
    rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__EvidenceResults *er = rep->evidence_results;
    const Mastery__V1__Status *st = er->n_items == 1 ? er->items[0]->status : NULL;
    int code = status_code(st);
    if (er->n_items != 1) {
        fprintf(stderr, "%s: INTERNAL: %zu item statuses for 1 item\n", progname, er->n_items);
        rc = CTL_ERR_REPLY;
    } else if (ctl->json) {
        json_t *o = json_pack("{s:s,s:s}", "id", ev.evidence_id, "status", mc_status_name(code));
        if (code != 0 && code != MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE) {
            json_object_set_new(o, "field", jstr(st->field));
            json_object_set_new(o, "message", jstr(st->message));
        }
        emit_json(o);
    } else {
        printf("evidence %s: %s\n", ev.evidence_id, mc_status_name(code));
    }
    if (rc == 0 && code != 0 && code != MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE) {
        print_status_error(st);
        rc = CTL_ERR_REPLY;
    }
    mc_reply_free(rep);
    return rc;
}

/* ---- evidence list ---------------------------------------------------------------------- */

/* Every page (the daemon ends one at its page_size items or page_bytes bytes) until --limit
 * items or the end: replies are kept until printed, so memory is what is printed. */
int cmd_evidence_list(ctl_t *ctl, const args_t *a)
{
    uint64_t limit = 0;
    int rc = opt_u64(ctl, a, OPT_LIMIT, 1, UINT32_MAX, &limit);
    if (rc != 0)
        return rc;
    Mastery__V1__ListEvidence list = MASTERY__V1__LIST_EVIDENCE__INIT;
    list.learner_id = (char *)a->val[OPT_LEARNER];
    list.competency_id = (char *)opt_str(a, OPT_COMPETENCY, "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_LIST_EVIDENCE;
    req.list_evidence = &list;
    Mastery__V1__Reply **reps = NULL;
    size_t n_reps = 0, n_items = 0;
    bool truncated = false;
    for (;;) {
        list.limit = limit ? (uint32_t)(limit - n_items) : 0;
        Mastery__V1__Reply *rep = NULL, **v = realloc(reps, (n_reps + 1) * sizeof *v);
        if (v == NULL) {
            rc = CTL_ERR_REPLY;
            break;
        }
        reps = v;
        if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_EVIDENCE, &rep)) != 0)
            break;
        reps[n_reps++] = rep;
        n_items += rep->evidence->n_items;
        truncated = rep->evidence->truncated;
        if (!truncated || (limit && n_items >= limit) || rep->evidence->n_items == 0)
            break;
        list.page_token = rep->evidence->next_page_token;
    }
    if (rc == 0 && ctl->json) {
        json_t *arr = json_array();
        for (size_t r = 0; r < n_reps; r++)
            for (size_t i = 0; i < reps[r]->evidence->n_items; i++)
                json_array_append_new(arr, evidence_to_json(reps[r]->evidence->items[i]));
        emit_json(json_pack("{s:s,s:o,s:b}", "learner", list.learner_id, "items", arr, "truncated",
                            (int)truncated));
    } else if (rc == 0) {
        table_t t = {
            .ncols = 7,
            .head = {"COMPETENCY", "OBSERVED AT", "SCORE", "OUTCOME", "WEIGHT", "SOURCE", "ID"},
            .right = {false, false, true, false, true, false, false}};
        for (size_t r = 0; r < n_reps; r++) {
            for (size_t i = 0; i < reps[r]->evidence->n_items; i++) {
                const Mastery__V1__Evidence *ev = reps[r]->evidence->items[i];
                char at[ISOTIME_BUFSZ], score[32], weight[32];
                text_time(ev->observed_at_ms, at, sizeof at);
                snprintf(score, sizeof score, "%.3f", ev->score);
                snprintf(weight, sizeof weight, "%g", ev->weight > 0 ? ev->weight : 1.0);
                const char *outcome = outcome_name(ev->outcome);
                table_row(&t, ev->competency_id, at, score, outcome ? outcome : "-", weight,
                          ev->source, ev->evidence_id);
            }
        }
        table_print(&t, stdout);
        table_free(&t);
        if (truncated)
            printf("(more evidence exists than shown; use --competency or a larger --limit)\n");
    }
    for (size_t r = 0; r < n_reps; r++)
        mc_reply_free(reps[r]);
    free(reps);
    return rc;
}

/* ---- evidence retract ------------------------------------------------------------------- */

int cmd_evidence_retract(ctl_t *ctl, const args_t *a)
{
    if (a->val[OPT_REASON][0] == '\0')
        return usage_error(ctl, "--reason: must not be empty");
    Mastery__V1__RetractEvidence op = MASTERY__V1__RETRACT_EVIDENCE__INIT;
    op.evidence_id = a->pos[0];
    op.reason = (char *)a->val[OPT_REASON];
    op.source = (char *)opt_str(a, OPT_SOURCE, "masteryctl"); /* as evidence add's default */
    op.learner_id = (char *)opt_str(a, OPT_LEARNER, "");      /* cluster mode needs it */
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_RETRACT_EVIDENCE;
    req.retract_evidence = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT__NOT_SET, &rep);
    if (rc != 0)
        return rc;
    if (ctl->json)
        emit_json(json_pack("{s:o,s:o}", "evidence", jstr(op.evidence_id), "message",
                            jstr(rep->status->message)));
    else
        printf("evidence %s: retracted%s%s\n", op.evidence_id, rep->status->message[0] ? "; " : "",
               rep->status->message);
    mc_reply_free(rep);
    return 0;
}
