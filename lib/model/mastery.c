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

static double eval_highest(const mastery_sample_t *s, size_t n)
{
    double best = s[0].score;
    for (size_t i = 1; i < n; i++)
        if (s[i].score > best)
            best = s[i].score;
    return best;
}

static double eval_average(const mastery_sample_t *s, size_t n)
{
    double sum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += s[i].weight * s[i].score;
        wsum += s[i].weight;
    }
    return sum / wsum;
}

static double eval_weighted_average(const mastery_sample_t *s, size_t n, double w)
{
    if (n == 1)
        return s[0].score;
    double sum = 0.0;
    for (size_t i = 0; i + 1 < n; i++)
        sum += s[i].score;
    return w * s[n - 1].score + (1.0 - w) * (sum / (double)(n - 1));
}

static double eval_decaying_average(const mastery_sample_t *s, size_t n, double w)
{
    double d = s[0].score;
    for (size_t i = 1; i < n; i++)
        d = (1.0 - w) * d + w * s[i].score;
    return d;
}

/*
 * n_mastery: counts the scores that reach the threshold, and averages the n highest scores
 * (all of them when fewer than n). The n highest are found without sorting (no allocation):
 * walk the distinct score levels from the top down, taking every copy of a level until n are
 * taken; at most n levels are visited, so the cost is O(n * count).
 */
static double eval_n_mastery(const mastery_sample_t *s, size_t count, uint32_t n, double threshold,
                             uint32_t *hits)
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
        sum += level * (double)take;
        taken += take;
        above = level;
    }
    return sum / (double)want;
}

static bool bkt_correct(const rule_t *rule, const mastery_sample_t *s)
{
    if (s->outcome == OUTCOME_PASS)
        return true;
    if (s->outcome == OUTCOME_FAIL)
        return false;
    return s->score >= rule->correct_at;
}

static double eval_bkt(const rule_t *rule, const mastery_sample_t *s, size_t n)
{
    double pl = rule->p_init;
    const double g = rule->p_guess, sl = rule->p_slip, t = rule->p_transit;
    for (size_t i = 0; i < n; i++) {
        double post;
        if (bkt_correct(rule, &s[i])) {
            double num = pl * (1.0 - sl);
            post = num / (num + (1.0 - pl) * g);
        } else {
            double num = pl * sl;
            post = num / (num + (1.0 - pl) * (1.0 - g));
        }
        pl = post + (1.0 - post) * t;
    }
    return pl;
}

int mastery_eval(const rule_t *rule, const mastery_sample_t *samples, size_t n,
                 mastery_result_t *out)
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

    uint32_t hits = 0;
    double score;
    switch (rule->method) {
    case RULE_LATEST:
        score = samples[n - 1].score;
        break;
    case RULE_HIGHEST:
        score = eval_highest(samples, n);
        break;
    case RULE_AVERAGE:
        score = eval_average(samples, n);
        break;
    case RULE_WEIGHTED_AVERAGE:
        score = eval_weighted_average(samples, n, rule->weight);
        break;
    case RULE_DECAYING_AVERAGE:
        score = eval_decaying_average(samples, n, rule->weight);
        break;
    case RULE_N_MASTERY:
        score = eval_n_mastery(samples, n, rule->n > 0 ? rule->n : 1, rule->threshold, &hits);
        break;
    case RULE_BKT:
        score = eval_bkt(rule, samples, n);
        break;
    default:
        return ERR_INVALID;
    }

    out->score = score;
    out->count = (uint32_t)n;
    bool enough = out->count >= rule->min_evidence;
    if (rule->method == RULE_N_MASTERY)
        out->met = enough && hits >= (rule->n > 0 ? rule->n : 1);
    else
        out->met = enough && reaches(score, rule->threshold);
    return 0;
}
