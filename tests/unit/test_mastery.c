/*
 * Unit tests for mastery: every rule against values computed by hand (the arithmetic is in the
 * comments), min_evidence gating, thresholds at the boundary, evidence weights, empty evidence,
 * defaults, and the method names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "err.h"
#include "mastery.h"

#define TOL 1e-12

/* cmocka 1.1 has no double comparison: fail with both values printed. */
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol)))                                                             \
            fail_msg("%.17g != %.17g (tolerance %g)", a_, b_, (double)(tol));                      \
    } while (0)

/* Samples with weight 1 and no outcome, from scores. */
static size_t fill(mastery_sample_t *s, const double *scores, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s[i].score = scores[i];
        s[i].weight = 1.0;
        s[i].outcome = OUTCOME_NONE;
    }
    return n;
}

static mastery_result_t eval_ok(const rule_t *rule, const mastery_sample_t *s, size_t n)
{
    mastery_result_t r;
    assert_int_equal(mastery_eval(rule, s, n, &r), 0);
    assert_int_equal(r.count, n);
    return r;
}

static void test_defaults(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_DECAYING_AVERAGE);
    assert_int_equal(r.method, RULE_DECAYING_AVERAGE);
    assert_true(r.threshold == 0.8);
    assert_int_equal(r.min_evidence, 1);
    assert_true(r.weight == 0.65);
    assert_int_equal(r.n, 3);
    assert_true(r.p_init == 0.2 && r.p_transit == 0.15 && r.p_guess == 0.2 && r.p_slip == 0.1);
    assert_true(r.correct_at == 0.5);
    assert_int_equal(r.children_k, 0);

    mastery_rule_defaults(&r, RULE_BKT);
    assert_int_equal(r.method, RULE_BKT);
    assert_true(r.threshold == 0.95);

    mastery_rule_defaults(&r, RULE_CHILDREN);
    assert_int_equal(r.method, RULE_CHILDREN);
    assert_int_equal(r.children_k, 0); /* all children */
}

static void test_method_names(void **state)
{
    (void)state;
    static const char *names[] = {"latest",           "highest",   "average", "weighted_average",
                                  "decaying_average", "n_mastery", "bkt",     "children"};
    for (int m = RULE_LATEST; m <= RULE_CHILDREN; m++) {
        const char *name = mastery_method_name((rule_method_t)m);
        assert_string_equal(name, names[m]);
        rule_method_t back = RULE_LATEST;
        assert_int_equal(mastery_method_parse(name, &back), 0);
        assert_int_equal(back, m);
    }
    rule_method_t out = RULE_BKT;
    assert_int_equal(mastery_method_parse("Latest", &out), ERR_INVALID);
    assert_int_equal(mastery_method_parse("", &out), ERR_INVALID);
    assert_int_equal(mastery_method_parse("latest ", &out), ERR_INVALID);
    assert_int_equal(mastery_method_parse(NULL, &out), ERR_INVALID);
    assert_int_equal(out, RULE_BKT); /* untouched on failure */
    assert_string_equal(mastery_method_name((rule_method_t)99), "unknown");
}

static void test_empty_evidence(void **state)
{
    (void)state;
    for (int m = RULE_LATEST; m < RULE_CHILDREN; m++) {
        rule_t r;
        mastery_rule_defaults(&r, (rule_method_t)m);
        r.min_evidence = 0;
        r.threshold = 0.0; /* even a rule that any score would meet */
        mastery_result_t res = {.score = 7, .count = 7, .met = true};
        assert_int_equal(mastery_eval(&r, NULL, 0, &res), 0);
        assert_true(res.score == 0.0);
        assert_int_equal(res.count, 0);
        assert_false(res.met);
    }
}

static void test_children_not_evaluated(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_CHILDREN);
    mastery_sample_t s[1];
    fill(s, (const double[]){1.0}, 1);
    mastery_result_t res;
    assert_int_equal(mastery_eval(&r, s, 1, &res), ERR_INVALID);
    assert_false(res.met);
    r.method = (rule_method_t)42;
    assert_int_equal(mastery_eval(&r, s, 1, &res), ERR_INVALID);
}

static void test_latest(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_LATEST);
    mastery_sample_t s[3];
    /* 0.9 then 0.5 then 0.7: latest = 0.7 < 0.8, not met even though 0.9 was earlier */
    size_t n = fill(s, (const double[]){0.9, 0.5, 0.7}, 3);
    mastery_result_t res = eval_ok(&r, s, n);
    assert_near(res.score, 0.7, TOL);
    assert_false(res.met);
    /* 0.5 then 0.85: latest = 0.85 >= 0.8 */
    n = fill(s, (const double[]){0.5, 0.85}, 2);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.85, TOL);
    assert_true(res.met);
}

static void test_highest(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_HIGHEST);
    mastery_sample_t s[3];
    /* max(0.6, 0.9, 0.4) = 0.9 */
    size_t n = fill(s, (const double[]){0.6, 0.9, 0.4}, 3);
    mastery_result_t res = eval_ok(&r, s, n);
    assert_near(res.score, 0.9, TOL);
    assert_true(res.met);
    /* max(0.6, 0.7) = 0.7 < 0.8 */
    n = fill(s, (const double[]){0.6, 0.7}, 2);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.7, TOL);
    assert_false(res.met);
}

static void test_average_weights(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_AVERAGE);
    mastery_sample_t s[3];
    size_t n = fill(s, (const double[]){0.6, 0.9, 0.3}, 3);
    /* unweighted: (0.6 + 0.9 + 0.3) / 3 = 1.8 / 3 = 0.6 */
    mastery_result_t res = eval_ok(&r, s, n);
    assert_near(res.score, 0.6, TOL);
    assert_false(res.met);
    /* weight 2 on the 0.9: (1*0.6 + 2*0.9 + 1*0.3) / (1+2+1) = 2.7 / 4 = 0.675 */
    s[1].weight = 2.0;
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.675, TOL);
    /* weight 6 on the 0.9: (0.6 + 5.4 + 0.3) / 8 = 6.3 / 8 = 0.7875 */
    s[1].weight = 6.0;
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.7875, TOL);
    assert_false(res.met);
    /* weight 0.5 on the 0.3: (0.6 + 5.4 + 0.15) / 7.5 = 6.15 / 7.5 = 0.82 */
    s[2].weight = 0.5;
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.82, TOL);
    assert_true(res.met);
}

static void test_weighted_average(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_WEIGHTED_AVERAGE);
    mastery_sample_t s[3];
    /* Canvas: 0.65 * latest + 0.35 * mean(earlier)
     * 0.5, 0.7, 0.9: mean(earlier) = (0.5 + 0.7) / 2 = 0.6
     *                0.65 * 0.9 + 0.35 * 0.6 = 0.585 + 0.21 = 0.795 < 0.8 */
    size_t n = fill(s, (const double[]){0.5, 0.7, 0.9}, 3);
    mastery_result_t res = eval_ok(&r, s, n);
    assert_near(res.score, 0.795, TOL);
    assert_false(res.met);
    r.threshold = 0.79;
    res = eval_ok(&r, s, n);
    assert_true(res.met);
    /* evidence weights do not count here: same 0.795 */
    s[0].weight = 9.0;
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.795, TOL);
    /* a single item scores itself */
    n = fill(s, (const double[]){0.4}, 1);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.4, TOL);
    /* w = 0.5: 1.0, 0.0, 0.6 -> 0.5 * 0.6 + 0.5 * (1.0 + 0.0) / 2 = 0.3 + 0.25 = 0.55 */
    r.weight = 0.5;
    n = fill(s, (const double[]){1.0, 0.0, 0.6}, 3);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.55, TOL);
}

static void test_decaying_average(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_DECAYING_AVERAGE);
    mastery_sample_t s[4];
    /* D1 = 0.5
     * D2 = 0.35 * 0.5  + 0.65 * 0.7 = 0.175  + 0.455 = 0.63
     * D3 = 0.35 * 0.63 + 0.65 * 0.9 = 0.2205 + 0.585 = 0.8055 >= 0.8
     * (the same scores give 0.795 under weighted_average: the order of the rules matters) */
    size_t n = fill(s, (const double[]){0.5, 0.7, 0.9}, 3);
    mastery_result_t res = eval_ok(&r, s, n);
    assert_near(res.score, 0.8055, TOL);
    assert_true(res.met);
    /* one more low score: D4 = 0.35 * 0.8055 + 0.65 * 0.4 = 0.281925 + 0.26 = 0.541925 */
    n = fill(s, (const double[]){0.5, 0.7, 0.9, 0.4}, 4);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.541925, TOL);
    assert_false(res.met);
    /* w = 0.5: 1.0, 0.0, 1.0 -> D2 = 0.5, D3 = 0.5 * 0.5 + 0.5 * 1.0 = 0.75 */
    r.weight = 0.5;
    n = fill(s, (const double[]){1.0, 0.0, 1.0}, 3);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.75, TOL);
}

static void test_n_mastery(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_N_MASTERY); /* n = 3, threshold 0.8 */
    mastery_sample_t s[5];
    /* 0.9, 0.5, 0.8, 0.7, 0.95: three reach 0.8 (0.9, 0.8, 0.95): met
     * score = mean of the 3 highest = (0.95 + 0.9 + 0.8) / 3 = 2.65 / 3 = 0.88333... */
    size_t n = fill(s, (const double[]){0.9, 0.5, 0.8, 0.7, 0.95}, 5);
    mastery_result_t res = eval_ok(&r, s, n);
    assert_near(res.score, 2.65 / 3.0, TOL);
    assert_true(res.met);
    /* 0.9, 0.5, 0.95: two reach 0.8: not met; score (0.9 + 0.5 + 0.95) / 3 = 0.78333... */
    n = fill(s, (const double[]){0.9, 0.5, 0.95}, 3);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 2.35 / 3.0, TOL);
    assert_false(res.met);
    /* fewer than n items: 0.9, 0.85 -> mean of all = 0.875, two hits: not met */
    n = fill(s, (const double[]){0.9, 0.85}, 2);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.875, TOL);
    assert_false(res.met);
    /* ties: 0.9 x4, 0.1 -> the 3 highest are 0.9, 0.9, 0.9: score 0.9, 4 hits: met */
    n = fill(s, (const double[]){0.9, 0.9, 0.1, 0.9, 0.9}, 5);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.9, TOL);
    assert_true(res.met);
    /* tie across the cut: 1.0, 0.8, 0.8, 0.8, 0.2 with n = 2 -> (1.0 + 0.8) / 2 = 0.9 */
    r.n = 2;
    n = fill(s, (const double[]){0.8, 0.2, 1.0, 0.8, 0.8}, 5);
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.9, TOL);
    assert_true(res.met);
    /* min_evidence still gates: 3 hits out of 4 items but min_evidence 5 */
    r.n = 3;
    r.min_evidence = 5;
    n = fill(s, (const double[]){0.9, 0.9, 0.9, 0.1}, 4);
    res = eval_ok(&r, s, n);
    assert_false(res.met);
    n = fill(s, (const double[]){0.9, 0.9, 0.9, 0.1, 0.2}, 5);
    res = eval_ok(&r, s, n);
    assert_true(res.met);
    /* the count test is the verdict: the mean of the 3 highest (0.9) is not the point; with
     * threshold 0.95 no score reaches it, so not met */
    r.min_evidence = 1;
    r.threshold = 0.95;
    res = eval_ok(&r, s, n);
    assert_near(res.score, 0.9, TOL);
    assert_false(res.met);
}

static void test_bkt(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_BKT); /* L0 0.2, T 0.15, G 0.2, S 0.1, threshold 0.95 */
    mastery_sample_t s[4];
    /* correct (0.9 >= 0.5), correct (0.7), incorrect (0.3), correct (1.0):
     * 1 correct:   num = 0.2 * 0.9 = 0.18; den = 0.18 + 0.8 * 0.2 = 0.34
     *              post = 0.18 / 0.34 = 9/17 = 0.529412; P1 = 9/17 + (8/17) 0.15 = 0.6
     * 2 correct:   num = 0.6 * 0.9 = 0.54; den = 0.54 + 0.4 * 0.2 = 0.62
     *              post = 27/31 = 0.870968; P2 = 27/31 + (4/31) 0.15 = 138/155 = 0.890323
     * 3 incorrect: num = 138/155 * 0.1 = 0.0890323; den = num + (17/155) * 0.8 = 0.1767742
     *              post = 69/137 = 0.503650; P3 = 69/137 + (68/137) 0.15 = 396/685 = 0.578102
     * 4 correct:   num = 396/685 * 0.9 = 0.5202920; den = num + (289/685) * 0.2 = 0.6046715
     *              post = 1782/2071 = 0.860454; P4 = post + (289/2071) 0.15 = 36507/41420
     *              = 0.881386 < 0.95 */
    double want[4] = {0.6, 138.0 / 155.0, 396.0 / 685.0, 36507.0 / 41420.0};
    fill(s, (const double[]){0.9, 0.7, 0.3, 1.0}, 4);
    for (size_t k = 1; k <= 4; k++) {
        mastery_result_t res = eval_ok(&r, s, k);
        assert_near(res.score, want[k - 1], TOL);
        assert_false(res.met);
    }
    /* three correct in a row: from P2 = 138/155, num = 138/155 * 0.9 = 621/775;
     * den = 621/775 + (17/155) * 0.2 = 638/775; post = 621/638 = 0.973354
     * P3 = 621/638 + (17/638) 0.15 = 12471/12760 = 0.977351 >= 0.95: met */
    fill(s, (const double[]){0.9, 0.7, 0.6}, 3);
    mastery_result_t res = eval_ok(&r, s, 3);
    assert_near(res.score, 12471.0 / 12760.0, TOL);
    assert_true(res.met);

    /* outcomes win over the score: a 0.2 that passed is correct, a 0.95 that failed is not,
     * so this sequence follows the first one step for step */
    fill(s, (const double[]){0.2, 0.1, 0.95, 0.4}, 4);
    s[0].outcome = OUTCOME_PASS;
    s[1].outcome = OUTCOME_PASS;
    s[2].outcome = OUTCOME_FAIL;
    s[3].outcome = OUTCOME_PASS;
    res = eval_ok(&r, s, 4);
    assert_near(res.score, 36507.0 / 41420.0, TOL);

    /* correct_at moves the cut: with correct_at 0.8, 0.7 is incorrect:
     * P1 = 0.6; 2 incorrect: num = 0.06; den = 0.06 + 0.4 * 0.8 = 0.38; post = 3/19
     * P2 = 3/19 + (16/19) 0.15 = (3 + 2.4) / 19 = 5.4 / 19 = 0.284211 */
    r.correct_at = 0.8;
    fill(s, (const double[]){0.9, 0.7}, 2);
    res = eval_ok(&r, s, 2);
    assert_near(res.score, 5.4 / 19.0, TOL);
}

static void test_min_evidence(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_LATEST);
    r.min_evidence = 2;
    mastery_sample_t s[2];
    size_t n = fill(s, (const double[]){0.9, 0.95}, 2);
    mastery_result_t res = eval_ok(&r, s, 1);
    assert_near(res.score, 0.9, TOL); /* the score is still reported */
    assert_false(res.met);
    res = eval_ok(&r, s, n);
    assert_true(res.met);

    mastery_rule_defaults(&r, RULE_DECAYING_AVERAGE);
    r.min_evidence = 3;
    res = eval_ok(&r, s, n); /* D2 = 0.35*0.9 + 0.65*0.95 = 0.315 + 0.6175 = 0.9325 */
    assert_near(res.score, 0.9325, TOL);
    assert_false(res.met);
}

static void test_threshold_boundary(void **state)
{
    (void)state;
    rule_t r;
    mastery_sample_t s[2];
    mastery_result_t res;

    mastery_rule_defaults(&r, RULE_LATEST);
    fill(s, (const double[]){0.8}, 1); /* exactly the threshold: met */
    assert_true(eval_ok(&r, s, 1).met);
    fill(s, (const double[]){0.7999}, 1); /* just under: not met */
    assert_false(eval_ok(&r, s, 1).met);

    /* 0.35 * 0.8 + 0.65 * 0.8 = 0.8 in reals; in binary it may land a hair off: still met */
    mastery_rule_defaults(&r, RULE_DECAYING_AVERAGE);
    fill(s, (const double[]){0.8, 0.8}, 2);
    res = eval_ok(&r, s, 2);
    assert_near(res.score, 0.8, 1e-15);
    assert_true(res.met);

    /* (0.7 + 0.9) / 2 = 0.8 */
    mastery_rule_defaults(&r, RULE_AVERAGE);
    fill(s, (const double[]){0.7, 0.9}, 2);
    assert_true(eval_ok(&r, s, 2).met);

    /* threshold 0: any evidence masters; threshold 1: only a perfect score */
    mastery_rule_defaults(&r, RULE_LATEST);
    r.threshold = 0.0;
    fill(s, (const double[]){0.0}, 1);
    assert_true(eval_ok(&r, s, 1).met);
    r.threshold = 1.0;
    fill(s, (const double[]){0.999}, 1);
    assert_false(eval_ok(&r, s, 1).met);
    fill(s, (const double[]){1.0}, 1);
    assert_true(eval_ok(&r, s, 1).met);

    /* n_mastery counts a score at the threshold as a hit */
    mastery_rule_defaults(&r, RULE_N_MASTERY);
    r.n = 2;
    fill(s, (const double[]){0.8, 0.8}, 2);
    assert_true(eval_ok(&r, s, 2).met);
}

static void test_bad_samples(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_AVERAGE);
    mastery_sample_t s[2];
    mastery_result_t res;
    const double bad_scores[] = {-0.01, 1.01, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_scores / sizeof bad_scores[0]; i++) {
        fill(s, (const double[]){0.5, 0.5}, 2);
        s[1].score = bad_scores[i];
        assert_int_equal(mastery_eval(&r, s, 2, &res), ERR_INVALID);
        assert_false(res.met);
    }
    const double bad_weights[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_weights / sizeof bad_weights[0]; i++) {
        fill(s, (const double[]){0.5, 0.5}, 2);
        s[0].weight = bad_weights[i];
        assert_int_equal(mastery_eval(&r, s, 2, &res), ERR_INVALID);
    }
    fill(s, (const double[]){0.5, 0.5}, 2);
    s[0].outcome = (sample_outcome_t)3;
    assert_int_equal(mastery_eval(&r, s, 2, &res), ERR_INVALID);
}

/* Steps: for every linear rule, sum(coefficient x) is the score, the last score_after is the
 * score, and each score_after equals evaluating that prefix on its own; bkt's steps chain
 * (p_before of item i+1 = score_after of item i). Random sequences, fixed seed. */
static void test_steps_agree(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    mastery_sample_t s[40];
    mastery_step_t st[40];
    for (int round = 0; round < 300; round++) {
        rule_method_t m = (rule_method_t)(round % RULE_CHILDREN);
        rule_t rule;
        mastery_rule_defaults(&rule, m);
        if (m == RULE_BKT)
            rule.p_forget = (round % 3) * 0.05;
        size_t n = 1 + (size_t)(round % 37);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            s[i].score = (double)(seed >> 40) / (double)(1ull << 24);
            s[i].weight = 0.5 + (double)((seed >> 20) & 7);
            s[i].outcome = (sample_outcome_t)((seed >> 10) % 3);
        }
        mastery_result_t plain, traced;
        assert_int_equal(mastery_eval(&rule, s, n, &plain), 0);
        assert_int_equal(mastery_eval_steps(&rule, s, n, &traced, st), 0);
        assert_true(plain.score == traced.score && plain.met == traced.met);
        assert_near(st[n - 1].score_after, plain.score, 1e-12);
        if (m == RULE_BKT) {
            assert_near(st[0].p_before, rule.p_init, 0);
            for (size_t i = 1; i < n; i++)
                assert_near(st[i].p_before, st[i - 1].score_after, 0);
            continue;
        }
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += st[i].coefficient * s[i].score;
        assert_near(sum, plain.score, 1e-9);
        for (size_t i = 0; i < n; i++) {
            mastery_result_t pre;
            assert_int_equal(mastery_eval(&rule, s, i + 1, &pre), 0);
            assert_near(st[i].score_after, pre.score, 1e-12);
        }
    }
}

/* Distance: appending min_score makes the rule met, and a score 1e-3 lower does not;
 * items_at_one perfect items make it met, one fewer does not. */
static void test_distance(void **state)
{
    (void)state;
    mastery_sample_t s[8 + MASTERY_DISTANCE_MAX_ITEMS];
    mastery_distance_t d;
    rule_t r;

    /* latest at 0.8: one item at 0.8 */
    mastery_rule_defaults(&r, RULE_LATEST);
    fill(s, (const double[]){0.3}, 1);
    assert_int_equal(mastery_distance(&r, s, 1, sizeof s / sizeof s[0], &d), 0);
    assert_near(d.min_score, 0.8, 2e-6);
    assert_int_equal(d.items_at_one, 1);
    assert_near(s[0].score, 0.3, 0); /* left unchanged */

    /* average of 0.5, 0.5 at 0.8: one more item can reach at most 2/3; 0.5,0.5,1,1,1 = 0.8 */
    mastery_rule_defaults(&r, RULE_AVERAGE);
    fill(s, (const double[]){0.5, 0.5}, 2);
    assert_int_equal(mastery_distance(&r, s, 2, sizeof s / sizeof s[0], &d), 0);
    assert_near(d.min_score, -1, 0);
    assert_int_equal(d.items_at_one, 3);

    /* decaying average w 0.65 from 0.4 at 0.8: 0.35 * 0.4 + 0.65 x >= 0.8: x >= 0.8/0.65 -
     * 0.14/0.65 = 1.0154: not in one item; two perfect items: 0.35*(0.14+0.65)+0.65 = 0.9265 */
    mastery_rule_defaults(&r, RULE_DECAYING_AVERAGE);
    fill(s, (const double[]){0.4}, 1);
    assert_int_equal(mastery_distance(&r, s, 1, sizeof s / sizeof s[0], &d), 0);
    assert_near(d.min_score, -1, 0);
    assert_int_equal(d.items_at_one, 2);

    /* min_evidence 3 with no evidence: one item never suffices, three do */
    mastery_rule_defaults(&r, RULE_LATEST);
    r.min_evidence = 3;
    assert_int_equal(mastery_distance(&r, s, 0, sizeof s / sizeof s[0], &d), 0);
    assert_near(d.min_score, -1, 0);
    assert_int_equal(d.items_at_one, 3);

    /* met already */
    mastery_rule_defaults(&r, RULE_HIGHEST);
    fill(s, (const double[]){0.9}, 1);
    assert_int_equal(mastery_distance(&r, s, 1, sizeof s / sizeof s[0], &d), 0);
    assert_int_equal(d.items_at_one, 0);

    /* bkt defaults from nothing: P(L) after k correct answers; check against mastery_eval */
    mastery_rule_defaults(&r, RULE_BKT);
    assert_int_equal(mastery_distance(&r, s, 0, sizeof s / sizeof s[0], &d), 0);
    assert_true(d.items_at_one > 1 && d.items_at_one <= MASTERY_DISTANCE_MAX_ITEMS);
    mastery_result_t res;
    fill(s, (const double[]){1, 1, 1, 1, 1, 1, 1, 1}, 8);
    assert_true(d.items_at_one <= 8);
    assert_int_equal(mastery_eval(&r, s, d.items_at_one, &res), 0);
    assert_true(res.met);
    assert_int_equal(mastery_eval(&r, s, d.items_at_one - 1, &res), 0);
    assert_false(res.met);

    /* a threshold no finite run reaches (decaying average, w 0.01, threshold 1): FAR */
    mastery_rule_defaults(&r, RULE_DECAYING_AVERAGE);
    r.weight = 0.01;
    r.threshold = 1.0;
    fill(s, (const double[]){0.0}, 1);
    assert_int_equal(mastery_distance(&r, s, 1, sizeof s / sizeof s[0], &d), 0);
    assert_int_equal(d.items_at_one, MASTERY_DISTANCE_FAR);

    /* too little room, children: refused */
    assert_int_equal(mastery_distance(&r, s, 1, 4, &d), ERR_INVALID);
    mastery_rule_defaults(&r, RULE_CHILDREN);
    assert_int_equal(mastery_distance(&r, s, 1, sizeof s / sizeof s[0], &d), ERR_INVALID);
}

/* p_forget lowers P(L) after each item: post (1 - f) + (1 - post) t */
static void test_bkt_forget(void **state)
{
    (void)state;
    rule_t r;
    mastery_rule_defaults(&r, RULE_BKT);
    r.p_forget = 0.1;
    mastery_sample_t s[1];
    fill(s, (const double[]){1.0}, 1);
    mastery_result_t res;
    assert_int_equal(mastery_eval(&r, s, 1, &res), 0);
    /* post = 0.2*0.9 / (0.18 + 0.8*0.2) = 0.18/0.34; P = post*0.9 + (1-post)*0.15 */
    double post = 0.18 / 0.34;
    assert_near(res.score, post * 0.9 + (1 - post) * 0.15, TOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_empty_evidence),
        cmocka_unit_test(test_children_not_evaluated),
        cmocka_unit_test(test_latest),
        cmocka_unit_test(test_highest),
        cmocka_unit_test(test_average_weights),
        cmocka_unit_test(test_weighted_average),
        cmocka_unit_test(test_decaying_average),
        cmocka_unit_test(test_n_mastery),
        cmocka_unit_test(test_bkt),
        cmocka_unit_test(test_min_evidence),
        cmocka_unit_test(test_threshold_boundary),
        cmocka_unit_test(test_bad_samples),
        cmocka_unit_test(test_steps_agree),
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_bkt_forget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
