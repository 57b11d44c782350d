/*
 * mastery: the rules that turn a learner's evidence on one competency into a score and a
 * verdict. Pure: no I/O, no allocation, no global state; trivially testable.
 *
 * The rules (DESIGN.md section 3), on evidence ordered by observed_at then evidence id:
 *   latest            score = the last x
 *   highest           score = max x
 *   average           score = sum(w_i x_i) / sum(w_i)        (w_i = evidence weight, default 1)
 *   weighted_average  score = w * latest + (1 - w) * mean(earlier)   (Canvas; w = rule weight,
 *                     default 0.65; a single item scores itself)
 *   decaying_average  D_1 = x_1, D_k = (1 - w) D_{k-1} + w x_k        (w default 0.65)
 *   n_mastery         met when at least n scores are >= threshold; score = mean of the n highest
 *                     (of all, when fewer than n)
 *   bkt               Bayesian knowledge tracing: P(L_0) = p_init; per item, observation correct
 *                     when its outcome says passed, or (no outcome) x >= correct_at (default 0.5);
 *                     posterior by Bayes with p_guess/p_slip, then P(L) += (1 - P(L)) p_transit.
 *                     score = P(L); threshold default 0.95
 *   children          not evaluated here (it depends on other competencies' states; graph)
 * Every rule: met = (count >= min_evidence) && (score >= threshold), except n_mastery whose
 * met is its own count test (and min_evidence). With no evidence, score = 0 and met = false.
 */
#ifndef MASTERY_MASTERY_H
#define MASTERY_MASTERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rule_method {
    RULE_LATEST = 0,
    RULE_HIGHEST,
    RULE_AVERAGE,
    RULE_WEIGHTED_AVERAGE,
    RULE_DECAYING_AVERAGE,
    RULE_N_MASTERY,
    RULE_BKT,
    RULE_CHILDREN,
} rule_method_t;

typedef struct rule {
    rule_method_t method;
    double threshold;      /* 0..1; default 0.8 (bkt: 0.95) */
    uint32_t min_evidence; /* default 1 */
    double weight;         /* weighted_average / decaying_average: 0..1, default 0.65 */
    uint32_t n;            /* n_mastery: default 3 */
    double p_init, p_transit, p_guess, p_slip; /* bkt: defaults 0.2, 0.15, 0.2, 0.1 */
    double correct_at;     /* bkt: score at or above which an item counts correct; 0.5 */
    uint32_t children_k;   /* children: how many must be mastered; 0 = all */
} rule_t;

/* Outcome of one evidence item, when the tool reported one. */
typedef enum sample_outcome {
    OUTCOME_NONE = 0,
    OUTCOME_PASS = 1,
    OUTCOME_FAIL = 2,
} sample_outcome_t;

typedef struct mastery_sample {
    double score;  /* 0..1 */
    double weight; /* > 0 */
    sample_outcome_t outcome;
} mastery_sample_t;

typedef struct mastery_result {
    double score;
    uint32_t count; /* evidence items considered */
    bool met;
} mastery_result_t;

/* Fills *rule with the method's defaults (the values above). */
void mastery_rule_defaults(rule_t *rule, rule_method_t method);

/* Returns the method's name as in the framework file ("decaying_average"); never NULL. */
const char *mastery_method_name(rule_method_t method);

/* Parses a method name; returns 0, or ERR_INVALID for an unknown name. */
int mastery_method_parse(const char *name, rule_method_t *out);

/*
 * Evaluates rule over samples[0..n) (already in evidence order). Borrowed inputs.
 * Returns 0, or ERR_INVALID when rule->method is RULE_CHILDREN (not evidence-based).
 */
int mastery_eval(const rule_t *rule, const mastery_sample_t *samples, size_t n,
                 mastery_result_t *out);

#endif
