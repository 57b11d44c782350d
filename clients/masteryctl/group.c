/*
 * masteryctl roster import (OneRoster CSV -> ImportRoster requests) and group list|show|report
 * (the teacher's view of a class; --html writes one self-contained page).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "isotime.h"
#include "masteryctl.h"
#include "oneroster.h"

/* ---- roster import ------------------------------------------------------------------------- */

/* A request closes here, under the daemon's max_frame. */
#define ROSTER_REQUEST_BYTES   (512u << 10)
#define ROSTER_REQUEST_MEMBERS 50000u

static int read_roster_file(const char *dir, const char *name, bool optional, char **buf,
                            size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *buf = NULL;
    *len = 0;
    if (optional && access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    return read_file(path, ONEROSTER_FILE_MAX, buf, len) == 0 ? 0 : CTL_USAGE;
}

typedef struct roster_totals {
    uint32_t created, updated, deleted, unchanged, added, removed;
} roster_totals_t;

static int roster_send(ctl_t *ctl, Mastery__V1__RosterClass **v, size_t n, roster_totals_t *t)
{
    Mastery__V1__ImportRoster op = MASTERY__V1__IMPORT_ROSTER__INIT;
    op.classes = v;
    op.n_classes = n;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_IMPORT_ROSTER;
    req.import_roster = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_IMPORT_ROSTER, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__ImportRosterResult *r = rep->import_roster;
    t->created += r->groups_created;
    t->updated += r->groups_updated;
    t->deleted += r->groups_deleted;
    t->unchanged += r->groups_unchanged;
    t->added += r->members_added;
    t->removed += r->members_removed;
    mc_reply_free(rep);
    return 0;
}

int cmd_roster_import(ctl_t *ctl, const args_t *a)
{
    const char *dir = a->pos[0];
    char *classes = NULL, *users = NULL, *enrollments = NULL;
    size_t cl = 0, ul = 0, el = 0;
    oneroster_t *r = NULL;
    Mastery__V1__RosterClass *msgs = NULL, **ptrs = NULL;
    int rc;
    if ((rc = read_roster_file(dir, "classes.csv", false, &classes, &cl)) != 0 ||
        (rc = read_roster_file(dir, "enrollments.csv", false, &enrollments, &el)) != 0 ||
        (rc = read_roster_file(dir, "users.csv", true, &users, &ul)) != 0)
        goto out;
    oneroster_input_t in = {
        classes, cl, users, ul, enrollments, el, opt_str(a, OPT_ID_COLUMN, NULL)};
    err_detail_t d;
    err_clear(&d);
    if (oneroster_parse(&in, &r, &d) != 0) {
        fprintf(stderr, "%s: %s: %s: %s\n", progname, dir, d.field, d.message);
        rc = CTL_USAGE;
        goto out;
    }
    for (size_t i = 0; i < r->n_warnings; i++)
        fprintf(stderr, "%s: warning: %s\n", progname, r->warnings[i]);
    if (r->warnings_dropped)
        fprintf(stderr, "%s: warning: ... and %zu more\n", progname, r->warnings_dropped);
    msgs = xcalloc(r->n_classes ? r->n_classes : 1, sizeof *msgs);
    ptrs = xcalloc(r->n_classes ? r->n_classes : 1, sizeof *ptrs);
    roster_totals_t t = {0};
    size_t from = 0, bytes = 0, members = 0;
    for (size_t i = 0; i < r->n_classes; i++) {
        oneroster_class_t *c = &r->classes[i];
        Mastery__V1__RosterClass *m = &msgs[i];
        mastery__v1__roster_class__init(m);
        m->group_id = c->id;
        m->title = c->title;
        m->learner_ids = c->learners;
        m->n_learner_ids = c->n_learners;
        m->teacher_ids = c->teachers;
        m->n_teacher_ids = c->n_teachers;
        m->deleted = c->deleted;
        ptrs[i] = m;
        size_t size = mastery__v1__roster_class__get_packed_size(m) + 8;
        size_t count = c->n_learners + c->n_teachers;
        /* A class is never split: each request replaces whole classes' memberships. */
        if (i > from &&
            (bytes + size > ROSTER_REQUEST_BYTES || members + count > ROSTER_REQUEST_MEMBERS)) {
            if ((rc = roster_send(ctl, ptrs + from, i - from, &t)) != 0)
                goto out;
            from = i;
            bytes = members = 0;
        }
        bytes += size;
        members += count;
    }
    if (r->n_classes > from && (rc = roster_send(ctl, ptrs + from, r->n_classes - from, &t)) != 0)
        goto out;
    if (ctl->json)
        emit_json(json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "classes",
                            (json_int_t)r->n_classes, "created", (json_int_t)t.created, "updated",
                            (json_int_t)t.updated, "deleted", (json_int_t)t.deleted, "unchanged",
                            (json_int_t)t.unchanged, "members_added", (json_int_t)t.added,
                            "members_removed", (json_int_t)t.removed, "enrollments",
                            (json_int_t)r->enrollments, "skipped", (json_int_t)r->skipped,
                            "warnings", (json_int_t)(r->n_warnings + r->warnings_dropped)));
    else
        printf("roster %s: %zu classes (%" PRIu32 " created, %" PRIu32 " updated, %" PRIu32
               " deleted, %" PRIu32 " unchanged); members +%" PRIu32 " -%" PRIu32
               "; %zu enrollments taken, %zu rows skipped, %zu other roles, %zu warnings\n",
               dir, r->n_classes, t.created, t.updated, t.deleted, t.unchanged, t.added, t.removed,
               r->enrollments, r->skipped, r->other_roles, r->n_warnings + r->warnings_dropped);
out:
    free(msgs);
    free(ptrs);
    oneroster_destroy(&r);
    free(classes);
    free(users);
    free(enrollments);
    return rc;
}

/* ---- group list / show --------------------------------------------------------------------- */

static int list_groups(ctl_t *ctl, const char *id, Mastery__V1__Reply **rep)
{
    Mastery__V1__ListGroups op = MASTERY__V1__LIST_GROUPS__INIT;
    op.group_id = (char *)(id ? id : "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_LIST_GROUPS;
    req.list_groups = &op;
    return request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_GROUPS, rep);
}

static json_t *str_array(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, jstr(v[i]));
    return a;
}

int cmd_group_list(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Reply *rep = NULL;
    int rc = list_groups(ctl, NULL, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__GroupList *l = rep->groups;
    if (ctl->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l->n_groups; i++)
            json_array_append_new(
                arr, json_pack("{s:o,s:o,s:I,s:I}", "group", jstr(l->groups[i]->group_id), "title",
                               jstr(l->groups[i]->title), "learners",
                               (json_int_t)l->groups[i]->learner_count, "teachers",
                               (json_int_t)l->groups[i]->teacher_count));
        emit_json(json_pack("{s:o}", "groups", arr));
    } else {
        table_t t = {.ncols = 4,
                     .head = {"GROUP", "TITLE", "LEARNERS", "TEACHERS"},
                     .right = {false, false, true, true}};
        for (size_t i = 0; i < l->n_groups; i++) {
            char nl[16], nt[16];
            snprintf(nl, sizeof nl, "%" PRIu32, l->groups[i]->learner_count);
            snprintf(nt, sizeof nt, "%" PRIu32, l->groups[i]->teacher_count);
            table_row(&t, l->groups[i]->group_id, l->groups[i]->title, nl, nt);
        }
        table_print(&t, stdout);
        table_free(&t);
    }
    mc_reply_free(rep);
    return 0;
}

int cmd_group_show(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__Reply *rep = NULL;
    int rc = list_groups(ctl, a->pos[0], &rep);
    if (rc != 0)
        return rc;
    if (rep->groups->n_groups != 1) {
        fprintf(stderr, "%s: the daemon answered %zu groups\n", progname, rep->groups->n_groups);
        mc_reply_free(rep);
        return CTL_ERR_REPLY;
    }
    const Mastery__V1__GroupInfo *g = rep->groups->groups[0];
    if (ctl->json) {
        emit_json(json_pack("{s:o,s:o,s:o,s:o}", "group", jstr(g->group_id), "title",
                            jstr(g->title), "learners", str_array(g->learner_ids, g->n_learner_ids),
                            "teachers", str_array(g->teacher_ids, g->n_teacher_ids)));
    } else {
        printf("group %s: %s\n", g->group_id, g->title);
        printf("teachers (%zu):", g->n_teacher_ids);
        for (size_t i = 0; i < g->n_teacher_ids; i++)
            printf(" %s", g->teacher_ids[i]);
        printf("\nlearners (%zu):\n", g->n_learner_ids);
        for (size_t i = 0; i < g->n_learner_ids; i++)
            printf("  %s\n", g->learner_ids[i]);
    }
    mc_reply_free(rep);
    return 0;
}

/* ---- group report -------------------------------------------------------------------------- */

static json_t *report_json(const Mastery__V1__GroupReportResult *r)
{
    json_t *comps = json_array(), *risk = json_array(), *rows = json_array();
    for (size_t i = 0; i < r->n_competencies; i++) {
        const Mastery__V1__CompetencySummary *c = r->competencies[i];
        json_array_append_new(
            comps,
            json_pack("{s:o,s:o,s:I,s:I,s:I,s:I,s:f,s:I,s:I}", "competency", jstr(c->competency_id),
                      "title", jstr(c->title), "locked", (json_int_t)c->locked, "unlocked",
                      (json_int_t)c->unlocked, "mastered", (json_int_t)c->mastered, "review_due",
                      (json_int_t)c->review_due, "median_score", c->median_score, "scored",
                      (json_int_t)c->scored, "blocked", (json_int_t)c->blocked));
    }
    for (size_t i = 0; i < r->n_at_risk; i++) {
        const Mastery__V1__AtRiskLearner *l = r->at_risk[i];
        json_array_append_new(risk, json_pack("{s:o,s:o,s:o,s:o}", "learner", jstr(l->learner_id),
                                              "reasons", str_array(l->reasons, l->n_reasons),
                                              "competency", jstr(l->competency_id), "last_activity",
                                              jtime(l->last_activity_ms)));
    }
    for (size_t i = 0; i < r->n_learners; i++) {
        const Mastery__V1__LearnerRow *l = r->learners[i];
        json_t *st = json_array(), *sc = json_array();
        for (size_t k = 0; k < l->status.len; k++)
            json_array_append_new(st, json_string(competency_status_name(
                                          (Mastery__V1__CompetencyStatus)l->status.data[k])));
        for (size_t k = 0; k < l->n_score; k++)
            json_array_append_new(sc, json_real(l->score[k]));
        json_array_append_new(rows, json_pack("{s:o,s:o,s:o,s:I,s:I,s:o}", "learner",
                                              jstr(l->learner_id), "status", st, "score", sc,
                                              "mastered", (json_int_t)l->mastered, "evidence_count",
                                              (json_int_t)l->evidence_count, "last_activity",
                                              jtime(l->last_activity_ms)));
    }
    json_t *doc =
        json_pack("{s:o,s:o,s:o,s:I,s:I,s:o,s:o,s:o,s:o}", "group", jstr(r->group_id), "title",
                  jstr(r->title), "framework", jstr(r->framework_id), "revision",
                  (json_int_t)r->revision, "learner_count", (json_int_t)r->learner_count,
                  "competencies", comps, "blocking", str_array(r->blocking, r->n_blocking),
                  "at_risk", risk, "generated_at", jtime(r->generated_at_ms));
    if (r->n_learners)
        json_object_set_new(doc, "learners", rows);
    else
        json_decref(rows);
    return doc;
}

static void report_text(const Mastery__V1__GroupReportResult *r)
{
    printf("group %s (%s), framework %s revision %" PRIu32 ": %" PRIu32 " learners\n\n",
           r->group_id, r->title, r->framework_id, r->revision, r->learner_count);
    table_t t = {
        .ncols = 7,
        .head = {"COMPETENCY", "LOCKED", "UNLOCKED", "MASTERED", "REVIEW", "MEDIAN", "BLOCKS"},
        .right = {false, true, true, true, true, true, true}};
    for (size_t i = 0; i < r->n_competencies; i++) {
        const Mastery__V1__CompetencySummary *c = r->competencies[i];
        char v[5][16], med[16];
        snprintf(v[0], 16, "%" PRIu32, c->locked);
        snprintf(v[1], 16, "%" PRIu32, c->unlocked);
        snprintf(v[2], 16, "%" PRIu32, c->mastered);
        snprintf(v[3], 16, "%" PRIu32, c->review_due);
        snprintf(v[4], 16, "%" PRIu32, c->blocked);
        if (c->scored)
            snprintf(med, sizeof med, "%.3f", c->median_score);
        else
            snprintf(med, sizeof med, "-");
        table_row(&t, c->competency_id, v[0], v[1], v[2], v[3], med, v[4]);
    }
    table_print(&t, stdout);
    table_free(&t);
    printf("\nblocking the most learners:");
    for (size_t i = 0; i < r->n_blocking; i++)
        printf("%s %s", i ? "," : "", r->blocking[i]);
    printf("%s\n\nat risk (%zu):\n", r->n_blocking ? "" : " none", r->n_at_risk);
    for (size_t i = 0; i < r->n_at_risk; i++) {
        printf("  %s:", r->at_risk[i]->learner_id);
        for (size_t k = 0; k < r->at_risk[i]->n_reasons; k++)
            printf(" %s", r->at_risk[i]->reasons[k]);
        printf("\n");
    }
}

/* The page's buffer failed (its cap, memory): checked once at the end. */
static int g_html_err;

static void put(buf_t *b, const char *s)
{
    g_html_err |= buf_append_str(b, s);
}

/* HTML text: &, <, >, " and ' escaped. */
static void html_esc(buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            put(b, "&amp;");
            break;
        case '<':
            put(b, "&lt;");
            break;
        case '>':
            put(b, "&gt;");
            break;
        case '"':
            put(b, "&quot;");
            break;
        case '\'':
            put(b, "&#39;");
            break;
        default:
            g_html_err |= buf_append(b, s, 1);
        }
    }
}

static const char PAGE_HEAD[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'; img-src data:\">\n"
    "<style>\n"
    "body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#1d2430;background:#fff}\n"
    "h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}\n"
    ".meta{color:#5a6372;font-size:.9em}\n"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}\n"
    "table{border-collapse:collapse}\n"
    "#heatmap td,#heatmap th{padding:0;border:1px solid #fff}\n"
    "#heatmap th.l{position:sticky;left:0;background:#fff;text-align:left;padding:0 6px;"
    "font-weight:normal;white-space:nowrap;max-width:40vw;overflow:hidden;text-overflow:ellipsis}\n"
    "#heatmap th.c{font-size:.7em;color:#5a6372;min-width:18px}\n"
    "#heatmap td{width:18px;height:18px;min-width:18px}\n"
    "td.s0{background:#d5d9e0}td.s1{background:#f2c14e}td.s2{background:#2e8b57}\n"
    "td.s1.lo{background:#f6dc99}td.s2.lo{background:#7cc39a}\n"
    ".legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;"
    "vertical-align:middle}\n"
    "table.sum td,table.sum th{padding:3px 8px;border-bottom:1px solid #e3e6eb;text-align:right}\n"
    "table.sum td:first-child,table.sum th:first-child{text-align:left}\n"
    "ol#blocking li,ul#at-risk li{margin:.2em 0}\n"
    ".bar{display:inline-block;height:10px;background:#c0392b;vertical-align:middle;"
    "margin-left:6px}\n"
    "</style>\n";

static int row_cmp(const void *a, const void *b)
{
    return strcmp((*(Mastery__V1__LearnerRow *const *)a)->learner_id,
                  (*(Mastery__V1__LearnerRow *const *)b)->learner_id);
}

static int risk_cmp(const void *a, const void *b)
{
    return strcmp((*(Mastery__V1__AtRiskLearner *const *)a)->learner_id,
                  (*(Mastery__V1__AtRiskLearner *const *)b)->learner_id);
}

/* The page lists learners by id (the daemon sends them in key order, which means nothing to a
 * teacher). */
static void html_report(Mastery__V1__GroupReportResult *r, buf_t *b)
{
    if (r->n_learners)
        qsort(r->learners, r->n_learners, sizeof *r->learners, row_cmp);
    if (r->n_at_risk)
        qsort(r->at_risk, r->n_at_risk, sizeof *r->at_risk, risk_cmp);
    char num[256], at[ISOTIME_BUFSZ];
    put(b, PAGE_HEAD);
    put(b, "<title>");
    html_esc(b, r->title);
    put(b, " - class report</title></head><body>\n<h1 id=\"title\">");
    html_esc(b, r->title);
    put(b, "</h1>\n<p class=\"meta\">Group <b>");
    html_esc(b, r->group_id);
    put(b, "</b>, framework ");
    html_esc(b, r->framework_id);
    snprintf(num, sizeof num, " (revision %" PRIu32 "), %" PRIu32 " learners. ", r->revision,
             r->learner_count);
    put(b, num);
    text_time(r->generated_at_ms, at, sizeof at);
    put(b, "Made ");
    html_esc(b, at);
    put(b, ".</p>\n");

    /* Blocking competencies, with a bar as long as the share of learners they block. */
    put(b, "<h2>Blocking the most learners</h2>\n<ol id=\"blocking\">\n");
    for (size_t i = 0; i < r->n_blocking; i++) {
        const Mastery__V1__CompetencySummary *c = NULL;
        for (size_t k = 0; k < r->n_competencies && c == NULL; k++)
            if (strcmp(r->competencies[k]->competency_id, r->blocking[i]) == 0)
                c = r->competencies[k];
        uint32_t n = c ? c->blocked : 0;
        put(b, "<li data-competency=\"");
        html_esc(b, r->blocking[i]);
        put(b, "\"><b>");
        html_esc(b, r->blocking[i]);
        put(b, "</b> ");
        if (c)
            html_esc(b, c->title);
        snprintf(num, sizeof num,
                 ": <span class=\"blocked\">%" PRIu32 "</span> learner%s<span class=\"bar\" "
                 "style=\"width:%upx\"></span></li>\n",
                 n, n == 1 ? "" : "s",
                 r->learner_count ? (unsigned)(120.0 * n / r->learner_count) : 0u);
        put(b, num);
    }
    if (r->n_blocking == 0)
        put(b, "<li>none</li>\n");
    put(b, "</ol>\n");

    put(b, "<h2>At risk</h2>\n<ul id=\"at-risk\">\n");
    for (size_t i = 0; i < r->n_at_risk; i++) {
        put(b, "<li data-learner=\"");
        html_esc(b, r->at_risk[i]->learner_id);
        put(b, "\"><b>");
        html_esc(b, r->at_risk[i]->learner_id);
        put(b, "</b>:");
        for (size_t k = 0; k < r->at_risk[i]->n_reasons; k++) {
            put(b, " ");
            html_esc(b, r->at_risk[i]->reasons[k]);
        }
        put(b, "</li>\n");
    }
    if (r->n_at_risk == 0)
        put(b, "<li>none</li>\n");
    put(b, "</ul>\n");

    /* The heat map: a row per learner, a cell per competency, coloured by status. */
    put(b, "<h2>Learners &times; competencies</h2>\n<p class=\"legend meta\">"
           "<span style=\"background:#d5d9e0\"></span>locked"
           "<span style=\"background:#f2c14e\"></span>unlocked"
           "<span style=\"background:#2e8b57\"></span>mastered "
           "(paler: score below 0.5)</p>\n"
           "<div class=\"scroll\"><table id=\"heatmap\"><thead><tr><th class=\"l\">"
           "learner</th>");
    for (size_t k = 0; k < r->n_competencies; k++) {
        snprintf(num, sizeof num, "<th class=\"c\" title=\"");
        put(b, num);
        html_esc(b, r->competencies[k]->competency_id);
        snprintf(num, sizeof num, "\">%zu</th>", k + 1);
        put(b, num);
    }
    put(b, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < r->n_learners; i++) {
        const Mastery__V1__LearnerRow *l = r->learners[i];
        put(b, "<tr data-learner=\"");
        html_esc(b, l->learner_id);
        put(b, "\"><th class=\"l\">");
        html_esc(b, l->learner_id);
        put(b, "</th>");
        for (size_t k = 0; k < l->status.len && k < r->n_competencies; k++) {
            unsigned s = l->status.data[k] <= 2 ? l->status.data[k] : 0;
            double sc = k < l->n_score ? l->score[k] : 0;
            snprintf(num, sizeof num, "<td class=\"s%u%s\" data-score=\"%.3f\" title=\"", s,
                     s && sc < 0.5 ? " lo" : "", sc);
            put(b, num);
            html_esc(b, r->competencies[k]->competency_id);
            snprintf(num, sizeof num, ": %s %.2f\"></td>",
                     s == 2   ? "mastered"
                     : s == 1 ? "unlocked"
                              : "locked",
                     sc);
            put(b, num);
        }
        put(b, "</tr>\n");
    }
    put(b, "</tbody></table></div>\n");

    put(b, "<h2>Per competency</h2>\n<div class=\"scroll\"><table class=\"sum\" "
           "id=\"summary\"><thead><tr><th>#</th><th>competency</th><th>locked</th>"
           "<th>unlocked</th><th>mastered</th><th>review due</th><th>median</th>"
           "<th>blocks</th></tr></thead><tbody>\n");
    for (size_t k = 0; k < r->n_competencies; k++) {
        const Mastery__V1__CompetencySummary *c = r->competencies[k];
        snprintf(num, sizeof num, "<tr><td>%zu</td><td style=\"text-align:left\">", k + 1);
        put(b, num);
        html_esc(b, c->competency_id);
        char row[256];
        snprintf(row, sizeof row,
                 "</td><td>%" PRIu32 "</td><td>%" PRIu32 "</td><td>%" PRIu32 "</td><td>%" PRIu32
                 "</td><td>%s%.2f</td><td>%" PRIu32 "</td></tr>\n",
                 c->locked, c->unlocked, c->mastered, c->review_due, c->scored ? "" : "~",
                 c->median_score, c->blocked);
        put(b, row);
    }
    put(b, "</tbody></table></div>\n</body></html>\n");
}

int cmd_group_report(ctl_t *ctl, const args_t *a)
{
    bool html = a->set[OPT_HTML];
    if (a->set[OPT_OUTPUT] && !html)
        return usage_error(ctl, "-o/--output goes with --html");
    Mastery__V1__GroupReport op = MASTERY__V1__GROUP_REPORT__INIT;
    op.group_id = a->pos[0];
    op.framework_id = (char *)opt_str(a, OPT_FRAMEWORK, "");
    op.cells = html || ctl->json;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GROUP_REPORT;
    req.group_report = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_GROUP_REPORT, &rep);
    if (rc != 0)
        return rc;
    if (html) {
        buf_t b;
        buf_init(&b, 256u << 20);
        html_report(rep->group_report, &b);
        if (g_html_err != 0) {
            fprintf(stderr, "%s: the page is too large\n", progname);
            rc = CTL_ERR_REPLY;
        } else {
            rc = write_output(ctl, a->val[OPT_OUTPUT], b.data, b.len);
        }
        buf_free(&b);
    } else if (ctl->json) {
        emit_json(report_json(rep->group_report));
    } else {
        report_text(rep->group_report);
    }
    mc_reply_free(rep);
    return rc;
}
