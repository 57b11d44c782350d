/* mastery: the evidence rules (see mastery.h). Pure: no I/O, no allocation, no globals. */
#include "mastery.h"

#include <math.h>
#include <string.h>

#include "err.h"

static const struct {
    rule_method_t method;
    const char *name;
} method_names[] = {
    {RULE_LATEST, "latest"},
    {RULE_HIGHEST, "highest"},
    {RULE_AVERAGE, "average"},
    {RULE_WEIGHTED_AVERAGE, "weighted_average"},
    {RULE_DECAYING_AVERAGE, "decaying_average"},
    {RULE_N_MASTERY, "n_mastery"},
    {RULE_BKT, "bkt"},
    {RULE_CHILDREN, "children"},
};

#define N_METHODS (sizeof method_names / sizeof method_names[0])

void mastery_rule_defaults(rule_t *rule, rule_method_t method)
{
    memset(rule, 0, sizeof *rule);
    rule->method = method;
    rule->threshold = method == RULE_BKT ? MASTERY_BKT_THRESHOLD : MASTERY_THRESHOLD;
    rule->min_evidence = 1;
    rule->weight = MASTERY_WEIGHT;
    rule->n = MASTERY_N;
    rule->p_init = 0.2;
    rule->p_transit = 0.15;
    rule->p_guess = 0.2;
    rule->p_slip = 0.1;
    rule->correct_at = 0.5;
    rule->p_forget = 0.0;
    rule->children_k = 0;
}

const char *mastery_method_name(rule_method_t method)
{
    for (size_t i = 0; i < N_METHODS; i++)
        if (method_names[i].method == method)
            return method_names[i].name;
    return "unknown";
}

int mastery_method_parse(const char *name, rule_method_t *out)
{
    if (name == NULL)
        return ERR_INVALID;
    for (size_t i = 0; i < N_METHODS; i++) {
        if (strcmp(method_names[i].name, name) == 0) {
            *out = method_names[i].method;
            return 0;
        }
    }
    return ERR_INVALID;
}

static bool sample_valid(const mastery_sample_t *s)
{
    return isfinite(s->score) && s->score >= 0.0 && s->score <= 1.0 && isfinite(s->weight) &&
           s->weight > 0.0 &&
           (s->outcome == OUTCOME_NONE || s->outcome == OUTCOME_PASS || s->outcome == OUTCOME_FAIL);
}

static bool reaches(double score, double threshold)
{
    return score >= threshold - MASTERY_EPSILON;
}

/* Each evaluator computes the score once, and, when steps is not NULL, records each item's
 * step along the way (mastery_eval_steps): the same arithmetic decides mastery and explains it. */

static double eval_latest(const mastery_sample_t *s, size_t n, mastery_step_t *st)
{
    for (size_t i = 0; st != NULL && i < n; i++) {
        st[i].coefficient = i + 1 == n ? 1.0 : 0.0;
        st[i].score_after = s[i].score;
    }
    return s[n - 1].score;
}

static double eval_highest(const mastery_sample_t *s, size_t n, mastery_step_t *st)
{
    double best = s[0].score;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].score > best) {
            best = s[i].score;
            at = i;
        }
        if (st != NULL)
            st[i].score_after = best;
    }
    for (size_t i = 0; st != NULL && i < n; i++)
        st[i].coefficient = i == at ? 1.0 : 0.0;
    return best;
}

static double eval_average(const mastery_sample_t *s, size_t n, mastery_step_t *st)
{
    double sum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += s[i].weight * s[i].score;
        wsum += s[i].weight;
        if (st != NULL)
            st[i].score_after = sum / wsum;
    }
    for (size_t i = 0; st != NULL && i < n; i++)
        st[i].coefficient = s[i].weight / wsum;
    return sum / wsum;
}

static double eval_weighted_average(const mastery_sample_t *s, size_t n, double w,
                                    mastery_step_t *st)
{
    double sum = 0.0;
    for (size_t i = 0; st != NULL && i < n; i++) {
        st[i].score_after = i == 0 ? s[0].score : w * s[i].score + (1.0 - w) * (sum / (double)i);
        st[i].coefficient = n == 1 ? 1.0 : i + 1 == n ? w : (1.0 - w) / (double)(n - 1);
        sum += s[i].score;
    }
    if (n == 1)
        return s[0].score;
    sum = 0.0;
    for (size_t i = 0; i + 1 < n; i++)
        sum += s[i].score;
    return w * s[n - 1].score + (1.0 - w) * (sum / (double)(n - 1));
}

static double eval_decaying_average(const mastery_sample_t *s, size_t n, double w,
                                    mastery_step_t *st)
{
    double d = s[0].score;
    if (st != NULL)
        st[0].score_after = d;
    for (size_t i = 1; i < n; i++) {
        d = (1.0 - w) * d + w * s[i].score;
        if (st != NULL)
            st[i].score_after = d;
    }
    /* D_n = (1-w)^(n-1) x_1 + sum_{k>1} w (1-w)^(n-k) x_k */
    for (size_t i = 0; st != NULL && i < n; i++)
        st[i].coefficient = (i == 0 ? 1.0 : w) * pow(1.0 - w, (double)(n - 1 - i));
    return d;
}

/*
 * n_mastery: counts the scores that reach the threshold, and averages the n highest scores
 * (all of them when fewer than n). The n highest are found without sorting (no allocation):
 * walk the distinct score levels from the top down, taking every copy of a level until n are
 * taken; at most n levels are visited, so the cost is O(n * count). With steps, the items
 * taken get coefficient 1/taken (ties at the last level: the earliest copies).
 */
static double eval_n_mastery(const mastery_sample_t *s, size_t count, uint32_t n, double threshold,
                             uint32_t *hits, mastery_step_t *st)
{
    uint32_t met = 0;
    for (size_t i = 0; i < count; i++)
        if (reaches(s[i].score, threshold))
            met++;
    *hits = met;

    size_t want = count < (size_t)n ? count : (size_t)n;
    size_t taken = 0;
    double sum = 0.0;
    double above = INFINITY; /* levels >= above are taken already */
    for (size_t i = 0; st != NULL && i < count; i++)
        st[i].coefficient = 0.0;
    while (taken < want) {
        double level = -INFINITY;
        for (size_t i = 0; i < count; i++)
            if (s[i].score < above && s[i].score > level)
                level = s[i].score;
        size_t copies = 0;
        for (size_t i = 0; i < count; i++)
            if (s[i].score == level)
                copies++;
        size_t take = copies < want - taken ? copies : want - taken;
        for (size_t i = 0, k = 0; st != NULL && i < count && k < take; i++)
            if (s[i].score == level) {
                st[i].coefficient = 1.0 / (double)want;
                k++;
            }
        sum += level * (double)take;
        taken += take;
        above = level;
    }
    return sum / (double)want;
}

static bool bkt_correct(const rule_t *rule, const mastery_sample_t *s);

bool mastery_sample_fresh(const rule_t *rule, const mastery_sample_t *s)
{
    return rule->method == RULE_BKT ? bkt_correct(rule, s) : reaches(s->score, rule->threshold);
}

static bool bkt_correct(const rule_t *rule, const mastery_sample_t *s)
{
    if (s->outcome == OUTCOME_PASS)
        return true;
    if (s->outcome == OUTCOME_FAIL)
        return false;
    return s->score >= rule->correct_at;
}

static double eval_bkt(const rule_t *rule, const mastery_sample_t *s, size_t n, mastery_step_t *st)
{
    double pl = rule->p_init;
    const double g = rule->p_guess, sl = rule->p_slip, t = rule->p_transit, f = rule->p_forget;
    for (size_t i = 0; i < n; i++) {
        double post;
        bool correct = bkt_correct(rule, &s[i]);
        if (correct) {
            double num = pl * (1.0 - sl);
            post = num / (num + (1.0 - pl) * g);
        } else {
            double num = pl * sl;
            post = num / (num + (1.0 - pl) * (1.0 - g));
        }
        if (st != NULL) {
            st[i].p_before = pl;
            st[i].p_posterior = post;
            st[i].coefficient = NAN;
            st[i].correct = correct;
        }
        /* f = 0 is exactly the classic update post + (1 - post) t */
        pl = (f > 0.0 ? post * (1.0 - f) : post) + (1.0 - post) * t;
        if (st != NULL)
            st[i].score_after = pl;
    }
    return pl;
}

int mastery_eval(const rule_t *rule, const mastery_sample_t *samples, size_t n,
                 mastery_result_t *out)
{
    return mastery_eval_steps(rule, samples, n, out, NULL);
}

int mastery_eval_steps(const rule_t *rule, const mastery_sample_t *samples, size_t n,
                       mastery_result_t *out, mastery_step_t *st)
{
    out->score = 0.0;
    out->count = 0;
    out->met = false;
    if (rule->method == RULE_CHILDREN)
        return ERR_INVALID;
    if (n > UINT32_MAX)
        return ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!sample_valid(&samples[i]))
            return ERR_INVALID;
    if (n == 0)
        return 0;
    for (size_t i = 0; st != NULL && i < n; i++) {
        st[i].p_before = st[i].p_posterior = NAN;
        st[i].correct = mastery_sample_fresh(rule, &samples[i]);
    }

    uint32_t hits = 0;
    uint32_t nn = rule->n > 0 ? rule->n : 1;
    double score;
    switch (rule->method) {
    case RULE_LATEST:
        score = eval_latest(samples, n, st);
        break;
    case RULE_HIGHEST:
        score = eval_highest(samples, n, st);
        break;
    case RULE_AVERAGE:
        score = eval_average(samples, n, st);
        break;
    case RULE_WEIGHTED_AVERAGE:
        score = eval_weighted_average(samples, n, rule->weight, st);
        break;
    case RULE_DECAYING_AVERAGE:
        score = eval_decaying_average(samples, n, rule->weight, st);
        break;
    case RULE_N_MASTERY:
        /* the value after each prefix is that prefix's own evaluation (O(n^2): Explain only) */
        for (size_t i = 0; st != NULL && i < n; i++) {
            uint32_t h;
            st[i].score_after = eval_n_mastery(samples, i + 1, nn, rule->threshold, &h, NULL);
        }
        score = eval_n_mastery(samples, n, nn, rule->threshold, &hits, st);
        break;
    case RULE_BKT:
        score = eval_bkt(rule, samples, n, st);
        break;
    default:
        return ERR_INVALID;
    }

    out->score = score;
    out->count = (uint32_t)n;
    bool enough = out->count >= rule->min_evidence;
    if (rule->method == RULE_N_MASTERY)
        out->met = enough && hits >= nn;
    else
        out->met = enough && reaches(score, rule->threshold);
    return 0;
}

/* Whether appending k copies of *add to samples[0..n) makes the rule met. */
static bool met_with(const rule_t *rule, mastery_sample_t *s, size_t n, size_t k,
                     const mastery_sample_t *add)
{
    for (size_t i = 0; i < k; i++)
        s[n + i] = *add;
    mastery_result_t r;
    return mastery_eval(rule, s, n + k, &r) == 0 && r.met;
}

int mastery_distance(const rule_t *rule, mastery_sample_t *s, size_t n, size_t cap,
                     mastery_distance_t *out)
{
    out->min_score = -1.0;
    out->items_at_one = MASTERY_DISTANCE_FAR;
    if (rule->method == RULE_CHILDREN || cap < n + MASTERY_DISTANCE_MAX_ITEMS)
        return ERR_INVALID;
    mastery_result_t now;
    int rc = mastery_eval(rule, s, n, &now);
    if (rc != 0)
        return rc;
    if (now.met) {
        out->items_at_one = 0;
        out->min_score = 0.0;
    }
    /* Every rule is monotone in an appended item's score and in the number of perfect items
     * appended (averages rise, BKT's posterior rises on a correct answer since guess + slip <
     * 1), so both searches bisect. */
    const mastery_sample_t one = {1.0, 1.0, OUTCOME_NONE};
    if (!now.met && met_with(rule, s, n, 1, &one)) {
        double lo = 0.0, hi = 1.0; /* hi is met, lo is not (or is, then min is 0) */
        const mastery_sample_t zero = {0.0, 1.0, OUTCOME_NONE};
        if (met_with(rule, s, n, 1, &zero))
            hi = 0.0;
        while (hi - lo > 1e-6) {
            double mid = (lo + hi) / 2;
            const mastery_sample_t m = {mid, 1.0, OUTCOME_NONE};
            if (met_with(rule, s, n, 1, &m))
                hi = mid;
            else
                lo = mid;
        }
        out->min_score = hi;
    }
    if (!now.met) {
        /* gallop 1, 2, 4, ... 64 (most learners are a few items away), then bisect */
        size_t lo = 0, hi = 1;
        while (hi <= MASTERY_DISTANCE_MAX_ITEMS && !met_with(rule, s, n, hi, &one)) {
            lo = hi;
            hi = hi * 2 > MASTERY_DISTANCE_MAX_ITEMS && hi < MASTERY_DISTANCE_MAX_ITEMS
                     ? MASTERY_DISTANCE_MAX_ITEMS
                     : hi * 2;
        }
        if (hi <= MASTERY_DISTANCE_MAX_ITEMS) {
            while (hi - lo > 1) { /* lo not met, hi met */
                size_t mid = (lo + hi) / 2;
                if (met_with(rule, s, n, mid, &one))
                    hi = mid;
                else
                    lo = mid;
            }
            out->items_at_one = (uint32_t)hi;
        }
    }
    return 0;
}
