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
 *                     posterior by Bayes with p_guess/p_slip, then
 *                     P(L) = post (1 - p_forget) + (1 - post) p_transit  (p_forget default 0).
 *                     score = P(L); threshold default 0.95
 *   children          not evaluated here (it depends on other competencies' states; graph)
 * Every rule: met = (count >= min_evidence) && (score >= threshold), except n_mastery whose
 * met is its own count test (and min_evidence). With no evidence, score = 0 and met = false.
 *
 * Clarifications (the contract the tests pin down):
 *   - "score >= threshold" is tested as score >= threshold - MASTERY_EPSILON, so that rounding
 *     in the averages (0.35 * 0.8 + 0.65 * 0.8 is not exactly 0.8 in binary) never denies a
 *     mastery earned exactly at the threshold. n_mastery counts scores the same way.
 *   - Evidence weights (mastery_sample_t.weight) count only in `average`; the other rules treat
 *     every item alike (mean(earlier) in weighted_average is a plain mean, as in Canvas).
 *   - bkt: an outcome of OUTCOME_FAIL is incorrect whatever the score; P(L) stays in (0,1) for
 *     parameters in the ranges graph.c enforces.
 *   - n_mastery: the n highest are taken with ties in any order (equal scores are equal).
 */
#ifndef MASTERY_MASTERY_H
#define MASTERY_MASTERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults (mastery_rule_defaults()). */
#define MASTERY_THRESHOLD     0.8
#define MASTERY_BKT_THRESHOLD 0.95
#define MASTERY_WEIGHT        0.65
#define MASTERY_N             3
/* Tolerance of the threshold comparison (see above). */
#define MASTERY_EPSILON 1e-9

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
    double p_forget;     /* bkt: P(known -> forgotten) per item, [0,1); default 0 (no forgetting) */
    double correct_at;   /* bkt: score at or above which an item counts correct; 0.5 */
    uint32_t children_k; /* children: how many must be mastered; 0 = all */
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

/*
 * Fills every field of *rule with the defaults above (all fields, whatever the method, so a
 * rule is always fully initialised), and sets rule->method = method.
 */
void mastery_rule_defaults(rule_t *rule, rule_method_t method);

/* Returns the method's name as in the framework file ("decaying_average"), static; "unknown"
 * for a value that is not a rule_method_t; never NULL. */
const char *mastery_method_name(rule_method_t method);

/* Parses a method name (exact, case-sensitive); returns 0 and sets *out, or ERR_INVALID for
 * an unknown name or NULL (then *out is untouched). */
int mastery_method_parse(const char *name, rule_method_t *out);

/*
 * Evaluates rule over samples[0..n) (already in evidence order). Borrowed inputs; *out is
 * always written (score 0, count 0, met false on failure).
 * Returns 0, or ERR_INVALID when rule->method is RULE_CHILDREN (not evidence-based) or not a
 * method, or when a sample is out of range (score not a number in [0,1], weight not > 0 and
 * finite, unknown outcome). Cost: O(n), except n_mastery O(rule->n * n).
 */
int mastery_eval(const rule_t *rule, const mastery_sample_t *samples, size_t n,
                 mastery_result_t *out);

/*
 * One evidence item's part in the result, as the evaluator computed it (Explain shows these):
 *   coefficient  the item's weight in the final score, for the rules whose score is a weighted
 *                sum of item scores (latest, highest, average, weighted_average,
 *                decaying_average, n_mastery): score = sum(coefficient_i * x_i), 0 for items
 *                that do not count (an earlier item under latest, a lower one under highest,
 *                one outside the n highest under n_mastery). bkt: NAN (not a weighted sum).
 *   score_after  the rule's value after the items up to and including this one (the prefix)
 *   p_before     bkt only: P(L) before the item; p_posterior the Bayes posterior given the
 *                observation; score_after = P(L) after learning (and forgetting). Else NAN.
 *   correct      bkt: the observation counted correct; n_mastery: the item reaches the
 *                threshold; others: the item's score reaches the threshold.
 */
typedef struct mastery_step {
    double coefficient;
    double score_after;
    double p_before;
    double p_posterior;
    bool correct;
} mastery_step_t;

/*
 * mastery_eval, recording every item's step into steps[0..n) (caller-owned, n entries; NULL:
 * no steps, exactly mastery_eval). The score and verdict come from the same computation either
 * way: mastery_eval is this function with steps NULL. Returns as mastery_eval; steps are
 * written only on success. Cost with steps: O(n), n_mastery O(rule->n * n^2).
 */
int mastery_eval_steps(const rule_t *rule, const mastery_sample_t *samples, size_t n,
                       mastery_result_t *out, mastery_step_t *steps);

/* Whether one item on its own reaches the rule: bkt, a correct observation; every other rule,
 * a score at or above the threshold (with MASTERY_EPSILON). What a step's `correct` says, and
 * what makes evidence "fresh" for reviews. */
bool mastery_sample_fresh(const rule_t *rule, const mastery_sample_t *s);

/*
 * Distance to mastery: what one more item, or several perfect ones, would do.
 *   min_score      the smallest score x in [0,1] such that appending one item scoring x (no
 *                  outcome, weight 1) makes the rule met; -1 when no single item can (too few
 *                  items for min_evidence, or the rule's value is too far). bkt: correct_at when
 *                  one correct observation suffices. Found by bisection on a grid of 1e-6 (the grid
 * point at or above the exact value) (appending min_score is met). items_at_one   how many items
 * scoring 1.0 (bkt: correct) appended make the rule met: 0 when it is met already;
 * MASTERY_DISTANCE_FAR when more than MASTERY_DISTANCE_MAX_ITEMS are needed (or never). samples
 * must have room for n + MASTERY_DISTANCE_MAX_ITEMS entries (cap); the entries past n are scratch
 * (overwritten), samples[0..n) are left unchanged. Not for RULE_CHILDREN (ERR_INVALID), nor samples
 * out of range. Returns 0 or ERR_INVALID. Cost: O(log(MAX) + 20) evaluations of n + MAX items.
 */
#define MASTERY_DISTANCE_MAX_ITEMS 64
#define MASTERY_DISTANCE_FAR       UINT32_MAX

typedef struct mastery_distance {
    double min_score;
    uint32_t items_at_one;
} mastery_distance_t;

int mastery_distance(const rule_t *rule, mastery_sample_t *samples, size_t n, size_t cap,
                     mastery_distance_t *out);

#endif
