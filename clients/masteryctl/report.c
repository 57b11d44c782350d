/*
 * masteryctl learner report L --html: one self-contained page (inline CSS and SVG, no script,
 * no fonts, a Content-Security-Policy that forbids any network use) showing the learner's
 * competency map as a layered graph, the next steps and every competency's score and dates.
 *
 * Layers come from the prerequisite order: a competency's layer is the longest chain of
 * requires/children edges below it (the roots are layer 0, drawn on top). Within a layer,
 * competencies are ordered by the mean position of what they depend on (one barycentre pass,
 * document order on ties), which keeps most edges short. The data is GetLearner, GetFramework
 * and Next: nothing is computed here that the daemon decides.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "isotime.h"
#include "masteryctl.h"

#define REPORT_MAX (64u << 20)
#define NODE_W     168
#define NODE_H     52
#define GAP_X      16
#define GAP_Y      56
#define PAD        12

typedef struct node {
    const char *id, *title;
    const Mastery__V1__CompetencyState *st;
    size_t *deps; /* indexes of what it requires / rolls up */
    size_t n_deps;
    uint32_t layer;
    double x;      /* position within its layer */
    uint32_t rank; /* next step rank, 0: none */
    bool review;
    bool done; /* layer computed */
} node_t;

__attribute__((format(printf, 2, 3))) static void out(buf_t *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_append_grow(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* (a line longer than the 1 KiB of out() is written with esc() or buf_append_str) */

/* Text as HTML/SVG character data or attribute value, at most max bytes of it (UTF-8 kept
 * whole: a cut never splits a character). */
static void esc(buf_t *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    bool cut = n > max;
    if (cut) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '<':
            buf_append_str(b, "&lt;");
            break;
        case '>':
            buf_append_str(b, "&gt;");
            break;
        case '&':
            buf_append_str(b, "&amp;");
            break;
        case '"':
            buf_append_str(b, "&quot;");
            break;
        case '\'':
            buf_append_str(b, "&#39;");
            break;
        default:
            buf_append_grow(b, &s[i], 1);
            break;
        }
    }
    if (cut)
        buf_append_str(b, "\xe2\x80\xa6"); /* ellipsis */
}

static const char *status_class(const node_t *n)
{
    if (n->review)
        return "review";
    switch (n->st ? n->st->status : MASTERY__V1__COMPETENCY_STATUS__LOCKED) {
    case MASTERY__V1__COMPETENCY_STATUS__MASTERED:
        return "mastered";
    case MASTERY__V1__COMPETENCY_STATUS__UNLOCKED:
        return "unlocked";
    default:
        return "locked";
    }
}

static const char *status_label(const char *cls)
{
    return strcmp(cls, "review") == 0 ? "review due" : cls;
}

/* Longest chain below each node, iteratively (no recursion on outside data). */
static void compute_layers(node_t *v, size_t n)
{
    bool changed = true;
    for (size_t round = 0; changed && round <= n; round++) {
        changed = false;
        for (size_t i = 0; i < n; i++) {
            uint32_t l = 0;
            for (size_t j = 0; j < v[i].n_deps; j++)
                if (v[v[i].deps[j]].layer + 1 > l)
                    l = v[v[i].deps[j]].layer + 1;
            if (l != v[i].layer && l <= n) {
                v[i].layer = l;
                changed = true;
            }
        }
    }
}

typedef struct fwdraw {
    node_t *v;
    size_t n;
    uint32_t layers;
    size_t **rows; /* per layer, node indexes in drawing order */
    size_t *row_n;
    double *pos; /* per node: its x in pixels */
    double *ypos;
} fwdraw_t;

static const double *g_sort_key; /* qsort has no context argument: the layer's sort keys */

static int cmp_by_key(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    double kx = g_sort_key[x], ky = g_sort_key[y];
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void layout(fwdraw_t *d)
{
    d->layers = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].layer + 1 > d->layers)
            d->layers = d->v[i].layer + 1;
    d->rows = xcalloc(d->layers ? d->layers : 1, sizeof *d->rows);
    d->row_n = xcalloc(d->layers ? d->layers : 1, sizeof *d->row_n);
    d->pos = xcalloc(d->n ? d->n : 1, sizeof *d->pos);
    d->ypos = xcalloc(d->n ? d->n : 1, sizeof *d->ypos);
    double *key = xcalloc(d->n ? d->n : 1, sizeof *key);
    for (size_t i = 0; i < d->n; i++)
        d->row_n[d->v[i].layer]++;
    for (uint32_t l = 0; l < d->layers; l++) {
        d->rows[l] = xcalloc(d->row_n[l] ? d->row_n[l] : 1, sizeof **d->rows);
        d->row_n[l] = 0;
    }
    for (size_t i = 0; i < d->n; i++)
        d->rows[d->v[i].layer][d->row_n[d->v[i].layer]++] = i;
    for (uint32_t l = 0; l < d->layers; l++) {
        /* barycentre of the (already placed) layers above; document order on ties */
        for (size_t k = 0; k < d->row_n[l]; k++) {
            const node_t *nd = &d->v[d->rows[l][k]];
            double sum = 0;
            for (size_t j = 0; j < nd->n_deps; j++)
                sum += d->pos[nd->deps[j]];
            key[d->rows[l][k]] = nd->n_deps ? sum / (double)nd->n_deps : (double)k * 1e-9;
        }
        g_sort_key = key;
        if (l > 0)
            qsort(d->rows[l], d->row_n[l], sizeof(size_t), cmp_by_key);
        for (size_t k = 0; k < d->row_n[l]; k++) {
            d->pos[d->rows[l][k]] = PAD + (double)k * (NODE_W + GAP_X);
            d->ypos[d->rows[l][k]] = PAD + (double)l * (NODE_H + GAP_Y);
        }
    }
    free(key);
}

static void draw_svg(buf_t *b, const fwdraw_t *d, const char *fw_id)
{
    size_t widest = 1;
    for (uint32_t l = 0; l < d->layers; l++)
        if (d->row_n[l] > widest)
            widest = d->row_n[l];
    double w = 2 * PAD + (double)widest * (NODE_W + GAP_X) - GAP_X;
    double h = 2 * PAD + (double)(d->layers ? d->layers : 1) * (NODE_H + GAP_Y) - GAP_Y;
    out(b, "<div class=\"map\"><svg class=\"graph\" data-framework=\"");
    esc(b, fw_id, 256);
    out(b,
        "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
        "height=\"%.0f\" role=\"img\" aria-label=\"competency map\">\n",
        w, h, w, h);
    out(b, "<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"6\" "
           "markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L8,4L0,8z\" fill=\"#777\"/>"
           "</marker></defs>\n");
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < d->v[i].n_deps; j++) {
            size_t p = d->v[i].deps[j];
            out(b,
                "<line class=\"edge\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "marker-end=\"url(#arrow)\"/>\n",
                d->pos[p] + NODE_W / 2.0, d->ypos[p] + NODE_H, d->pos[i] + NODE_W / 2.0,
                d->ypos[i]);
        }
    for (size_t i = 0; i < d->n; i++) {
        const node_t *nd = &d->v[i];
        const char *cls = status_class(nd);
        out(b, "<g class=\"node %s%s\" data-id=\"", cls, nd->rank ? " next" : "");
        esc(b, nd->id, 256);
        out(b, "\" data-status=\"%s\"", cls);
        if (nd->rank)
            out(b, " data-rank=\"%" PRIu32 "\"", nd->rank);
        out(b, " transform=\"translate(%.1f,%.1f)\"><title>", d->pos[i], d->ypos[i]);
        esc(b, nd->title, 512);
        out(b, " (%s)</title>", status_label(cls));
        out(b, "<rect width=\"%d\" height=\"%d\" rx=\"8\"/>", NODE_W, NODE_H);
        out(b, "<text x=\"8\" y=\"20\" class=\"t\">");
        esc(b, nd->title, nd->rank ? 17 : 21); /* the rank badge takes the right corner */
        out(b, "</text><text x=\"8\" y=\"40\" class=\"s\">%s %.2f</text>", status_label(cls),
            nd->st ? nd->st->score : 0.0);
        if (nd->rank)
            out(b,
                "<circle cx=\"%d\" cy=\"14\" r=\"11\" class=\"badge\"/><text x=\"%d\" y=\"18\" "
                "class=\"rank\" text-anchor=\"middle\">%" PRIu32 "</text>",
                NODE_W - 14, NODE_W - 14, nd->rank);
        out(b, "</g>\n");
    }
    out(b, "</svg></div>\n");
}

static const char *CSS =
    "body{font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "padding:12px;color:#222;background:#fafafa}"
    "h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}"
    ".summary{color:#555}.legend span{display:inline-block;margin:0 .8em .3em 0}"
    ".legend i{display:inline-block;width:.9em;height:.9em;border-radius:3px;margin-right:.3em;"
    "vertical-align:-1px}"
    ".map{overflow-x:auto;border:1px solid #ddd;background:#fff;border-radius:6px;"
    "-webkit-overflow-scrolling:touch}"
    "svg.graph{display:block;max-width:none}"
    ".edge{stroke:#999;stroke-width:1.2}"
    ".node rect{stroke:#555;stroke-width:1}.node text{fill:#fff;font-size:12px}"
    ".node .t{font-weight:600}"
    ".mastered rect,i.mastered{fill:#2e7d32;background:#2e7d32}"
    ".unlocked rect,i.unlocked{fill:#1565c0;background:#1565c0}"
    ".locked rect,i.locked{fill:#9e9e9e;background:#9e9e9e}"
    ".review rect,i.review{fill:#ef6c00;background:#ef6c00}"
    ".next rect{stroke:#d81b60;stroke-width:4}"
    "i.next{background:#fff;border:3px solid #d81b60;box-sizing:border-box}"
    ".badge{fill:#d81b60}.rank{fill:#fff;font-weight:700;font-size:12px}"
    "ol.steps{padding-left:1.4em}ol.steps li{margin:.4em 0}"
    "ol.steps .why{color:#555;font-size:.92em}"
    ".tbl{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{border-bottom:1px solid #e3e3e3;padding:4px 6px;text-align:left;font-size:.92em}"
    "td.num{text-align:right}"
    ".pill{display:inline-block;padding:0 .45em;border-radius:9px;color:#fff;font-size:.85em}"
    ".pill.mastered{background:#2e7d32}.pill.unlocked{background:#1565c0}"
    ".pill.locked{background:#9e9e9e}.pill.review{background:#ef6c00}"
    "@media (max-width:600px){body{padding:8px}th.opt,td.opt{display:none}}";

static void date_cell(buf_t *b, int64_t ms)
{
    char t[ISOTIME_BUFSZ];
    if (ms == 0) {
        out(b, "<td class=\"opt\">-</td>");
        return;
    }
    text_time(ms, t, sizeof t);
    t[10] = '\0'; /* the date is enough on a report */
    out(b, "<td class=\"opt\">%s</td>", t);
}

int cmd_learner_report(ctl_t *ctl, const args_t *a)
{
    const char *learner = a->pos[0];
    const char *only = opt_str(a, OPT_FRAMEWORK, "");
    Mastery__V1__GetLearner get = MASTERY__V1__GET_LEARNER__INIT;
    get.learner_id = (char *)learner;
    get.framework_id = (char *)only;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_LEARNER;
    req.get_learner = &get;
    Mastery__V1__Reply *lrep = NULL, *nrep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_LEARNER, &lrep);
    if (rc != 0)
        return rc;
    if ((rc = advice_next_request(ctl, learner, only, 1000, 10, &nrep)) != 0) {
        mc_reply_free(lrep);
        return rc;
    }
    const Mastery__V1__LearnerState *ls = lrep->learner;
    const Mastery__V1__NextSteps *ns = nrep->next_steps;
    buf_t b;
    buf_init(&b, REPORT_MAX);
    char now[ISOTIME_BUFSZ];
    text_time(ns->at_ms, now, sizeof now);
    out(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">\n<title>Learning report: ");
    esc(&b, learner, 256);
    out(&b, "</title>\n<style>");
    buf_append_str(&b, CSS);
    out(&b, "</style></head><body>\n<h1>Learning report: <span id=\"learner\">");
    esc(&b, learner, 256);
    out(&b,
        "</span></h1>\n<p class=\"summary\" id=\"summary\">%" PRIu32 " of %" PRIu32
        " competencies mastered; %" PRIu32 " review%s due. As of %s.</p>\n",
        ns->mastered, ns->total, ns->reviews_due, ns->reviews_due == 1 ? "" : "s", now);
    out(&b, "<p class=\"legend\"><span><i class=\"mastered\"></i>mastered</span><span><i "
            "class=\"unlocked\"></i>unlocked</span><span><i class=\"locked\"></i>locked</span>"
            "<span><i class=\"review\"></i>review due</span><span><i class=\"next\"></i>next "
            "step</span></p>\n");

    /* next steps */
    out(&b, "<h2>Next steps</h2>\n<ol class=\"steps\" id=\"next-steps\">\n");
    size_t shown = ns->n_steps < 10 ? ns->n_steps : 10;
    for (size_t i = 0; i < shown; i++) {
        const Mastery__V1__NextStep *s = ns->steps[i];
        bool rv = s->kind == MASTERY__V1__STEP_KIND__STEP_REVIEW;
        out(&b, "<li data-id=\"");
        esc(&b, s->competency_id, 256);
        out(&b, "\" data-kind=\"%s\"><span class=\"pill %s\">%s</span> <b>",
            rv ? "review" : "learn", rv ? "review" : "unlocked", rv ? "review" : "learn");
        esc(&b, s->title, 200);
        out(&b, "</b><div class=\"why\">");
        for (size_t j = 0; j < s->n_reasons; j++) {
            esc(&b, s->reasons[j], 400);
            out(&b, j + 1 < s->n_reasons ? "; " : "");
        }
        out(&b, "</div></li>\n");
    }
    if (shown == 0)
        out(&b, "<li>Nothing unlocked to work on.</li>\n");
    out(&b, "</ol>\n");

    for (size_t f = 0; f < ls->n_frameworks; f++) {
        const Mastery__V1__FrameworkState *fs = ls->frameworks[f];
        Mastery__V1__GetFramework gf = MASTERY__V1__GET_FRAMEWORK__INIT;
        gf.framework_id = fs->framework_id;
        gf.revision = fs->revision;
        Mastery__V1__Request freq = MASTERY__V1__REQUEST__INIT;
        freq.op_case = MASTERY__V1__REQUEST__OP_GET_FRAMEWORK;
        freq.get_framework = &gf;
        Mastery__V1__Reply *frep = NULL;
        if ((rc = request(ctl, &freq, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK, &frep)) != 0)
            break;
        json_error_t jerr;
        json_t *doc = json_loads(frep->framework->json, 0, &jerr);
        json_t *comps = json_object_get(doc, "competencies");
        size_t n = json_array_size(comps);
        fwdraw_t d = {.v = xcalloc(n ? n : 1, sizeof(node_t)), .n = n};
        /* index by id: the document and the state list share document order */
        for (size_t i = 0; i < n; i++) {
            json_t *c = json_array_get(comps, i);
            d.v[i].id = json_string_value(json_object_get(c, "id"));
            d.v[i].title = json_string_value(json_object_get(c, "title"));
            if (d.v[i].id == NULL)
                d.v[i].id = "?";
            if (d.v[i].title == NULL)
                d.v[i].title = d.v[i].id;
            if (i < fs->n_competencies &&
                strcmp(fs->competencies[i]->competency_id, d.v[i].id) == 0)
                d.v[i].st = fs->competencies[i];
        }
        for (size_t i = 0; i < n; i++) {
            json_t *c = json_array_get(comps, i), *req_ = json_object_get(c, "requires");
            json_t *lists[2] = {json_object_get(req_, "all") ? json_object_get(req_, "all")
                                                             : json_object_get(req_, "of"),
                                NULL};
            json_t *rule = json_object_get(c, "rule");
            const char *m = json_string_value(json_object_get(rule, "method"));
            if (m && strcmp(m, "children") == 0)
                lists[1] = json_object_get(rule, "of");
            size_t cap = json_array_size(lists[0]) + json_array_size(lists[1]);
            d.v[i].deps = xcalloc(cap ? cap : 1, sizeof(size_t));
            for (int L = 0; L < 2; L++)
                for (size_t k = 0; k < json_array_size(lists[L]); k++) {
                    const char *dep = json_string_value(json_array_get(lists[L], k));
                    for (size_t j = 0; dep && j < n; j++)
                        if (strcmp(d.v[j].id, dep) == 0) {
                            d.v[i].deps[d.v[i].n_deps++] = j;
                            break;
                        }
                }
        }
        for (size_t i = 0; i < ns->n_steps; i++) {
            const Mastery__V1__NextStep *s = ns->steps[i];
            if (strcmp(s->framework_id, fs->framework_id) != 0)
                continue;
            for (size_t j = 0; j < n; j++)
                if (strcmp(d.v[j].id, s->competency_id) == 0) {
                    if (s->kind == MASTERY__V1__STEP_KIND__STEP_REVIEW)
                        d.v[j].review = true;
                    if (i < shown)
                        d.v[j].rank = s->rank;
                }
        }
        compute_layers(d.v, n);
        layout(&d);
        out(&b, "<h2>");
        const char *ftitle = json_string_value(json_object_get(doc, "title"));
        esc(&b, ftitle ? ftitle : fs->framework_id, 300);
        out(&b, "</h2>\n");
        draw_svg(&b, &d, fs->framework_id);
        out(&b, "<div class=\"tbl\"><table class=\"competencies\"><thead><tr><th>Competency</th>"
                "<th>Status</th><th class=\"num\">Score</th><th class=\"opt\">Unlocked</th>"
                "<th class=\"opt\">Mastered</th></tr></thead><tbody>\n");
        for (uint32_t l = 0; l < d.layers; l++)
            for (size_t k = 0; k < d.row_n[l]; k++) {
                const node_t *nd = &d.v[d.rows[l][k]];
                const char *cls = status_class(nd);
                out(&b, "<tr data-id=\"");
                esc(&b, nd->id, 256);
                out(&b, "\"><td>");
                esc(&b, nd->title, 200);
                out(&b,
                    "</td><td><span class=\"pill %s\">%s</span></td><td class=\"num\">%.2f"
                    "</td>",
                    cls, status_label(cls), nd->st ? nd->st->score : 0.0);
                date_cell(&b, nd->st ? nd->st->unlocked_at_ms : 0);
                date_cell(&b, nd->st ? nd->st->mastered_at_ms : 0);
                out(&b, "</tr>\n");
            }
        out(&b, "</tbody></table></div>\n");
        for (uint32_t l = 0; l < d.layers; l++)
            free(d.rows[l]);
        for (size_t i = 0; i < n; i++)
            free(d.v[i].deps);
        free(d.rows);
        free(d.row_n);
        free(d.pos);
        free(d.ypos);
        free(d.v);
        json_decref(doc);
        mc_reply_free(frep);
    }
    out(&b, "<p class=\"summary\">Made by masteryctl from masteryd's records. Mastery stays "
            "when a review is due: a review asks for fresh evidence.</p>\n</body></html>\n");
    if (rc == 0)
        rc = write_output(ctl, opt_str(a, OPT_OUTPUT, NULL), b.data, b.len);
    buf_free(&b);
    mc_reply_free(nrep);
    mc_reply_free(lrep);
    return rc;
}
