/*
 * Unit tests for logentry: the documented byte layout reproduced by hand, round trips of every
 * field, strict decoding (each malformed form refused, naming the field), JSON for people,
 * and the commitment against OpenSSL's one-shot HMAC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logentry.h"

static void full_entry(logentry_t *e)
{
    memset(e, 0, sizeof *e);
    e->kind = LOGENTRY_EVIDENCE_ACCEPTED;
    e->seq = 41;
    e->at_ms = 1764979200123;
    for (int i = 0; i < 32; i++) {
        e->learner[i] = (uint8_t)i;
        e->evidence[i] = (uint8_t)(i + 1);
        e->narrative[i] = (uint8_t)(i + 2);
        e->url[i] = (uint8_t)(i + 3);
        e->reason[i] = (uint8_t)(i + 4);
        e->digest[i] = (uint8_t)(i + 5);
    }
    e->framework = "math-7", e->framework_len = 6;
    e->competency = "fractions \xc3\xa9", e->competency_len = 12;
    e->source = "quiz-tool", e->source_len = 9;
    e->actor = "ms.smith", e->actor_len = 8;
    e->version = "2.1", e->version_len = 3;
    e->credential = "urn:uuid:1", e->credential_len = 10;
    e->purpose = "revocation", e->purpose_len = 10;
    e->key = "did:key:z6Mk#z6Mk", e->key_len = 17;
    e->score = 0.75;
    e->weight = 2.5;
    e->outcome = 3;
    e->flag = 1;
    e->observed_at = -5;
    e->revision = 7;
    e->count = 0xfffffffe;
    e->present = 0;
    for (unsigned t = 1; t <= LOGENTRY_TAG_MAX; t++)
        e->present |= 1u << t;
}

/* The layout written out by hand for a small entry. */
static void test_golden_bytes(void **state)
{
    (void)state;
    logentry_t e;
    memset(&e, 0, sizeof e);
    e.kind = LOGENTRY_MASTERED;
    e.seq = 0x0102030405060708;
    e.at_ms = -2;
    e.framework = "f", e.framework_len = 1;
    e.score = 1.0;
    e.flag = 1;
    e.present = 1u << LOGENTRY_FRAMEWORK | 1u << LOGENTRY_SCORE | 1u << LOGENTRY_FLAG;
    buf_t b;
    buf_init(&b, LOGENTRY_MAX);
    assert_int_equal(logentry_encode(&b, &e), 0);
    const uint8_t want[] = {
        0x01, 0x04,                                              /* version, kind mastered */
        1,    2,    3,    4,    5,    6,    7,    8,             /* seq */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,          /* at_ms -2 */
        0x02, 0x00, 0x01, 'f',                                   /* framework */
        0x06, 0x00, 0x08, 0x3f, 0xf0, 0,    0,    0,    0, 0, 0, /* score 1.0 */
        0x0e, 0x00, 0x01, 0x01,                                  /* flag */
    };
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    /* With no fields: the 18-byte header alone. */
    e.present = 0;
    buf_reset(&b);
    assert_int_equal(logentry_encode(&b, &e), 0);
    assert_int_equal(b.len, LOGENTRY_HEADER);
    buf_free(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    logentry_t e, g;
    full_entry(&e);
    buf_t b, b2;
    buf_init(&b, LOGENTRY_MAX);
    buf_init(&b2, LOGENTRY_MAX);
    assert_int_equal(logentry_encode(&b, &e), 0);
    err_detail_t d;
    assert_int_equal(logentry_decode((uint8_t *)b.data, b.len, &g, &d), 0);
    assert_int_equal(g.kind, e.kind);
    assert_int_equal(g.seq, e.seq);
    assert_int_equal(g.at_ms, e.at_ms);
    assert_int_equal(g.present, e.present);
    assert_memory_equal(g.learner, e.learner, 32);
    assert_memory_equal(g.digest, e.digest, 32);
    assert_int_equal(g.competency_len, e.competency_len);
    assert_memory_equal(g.competency, e.competency, e.competency_len);
    assert_memory_equal(g.key, e.key, e.key_len);
    assert_true(g.score == 0.75 && g.weight == 2.5);
    assert_int_equal(g.observed_at, -5);
    assert_int_equal(g.count, 0xfffffffe);
    assert_int_equal(g.outcome, 3);
    /* Decoded strings are borrowed from the input. */
    assert_true(g.framework >= b.data && g.framework < b.data + b.len);
    assert_int_equal(logentry_encode(&b2, &g), 0);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    /* Each field alone, and every kind. */
    for (unsigned t = 1; t <= LOGENTRY_TAG_MAX; t++) {
        for (int k = 1; k <= 12; k++) {
            e.present = 1u << t;
            e.kind = (logentry_kind_t)k;
            buf_reset(&b);
            buf_reset(&b2);
            assert_int_equal(logentry_encode(&b, &e), 0);
            assert_int_equal(logentry_decode((uint8_t *)b.data, b.len, &g, &d), 0);
            assert_int_equal(g.present, 1u << t);
            assert_int_equal(logentry_encode(&b2, &g), 0);
            assert_memory_equal(b2.data, b.data, b.len);
        }
    }
    buf_free(&b);
    buf_free(&b2);
}

static void test_encode_refuses(void **state)
{
    (void)state;
    logentry_t e;
    buf_t b;
    buf_init(&b, LOGENTRY_MAX + 100);
    full_entry(&e);
    e.kind = LOGENTRY_LEARNER_REENROLLED + 1; /* the first unknown kind */
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    full_entry(&e);
    e.present |= 1u; /* bit 0: no field */
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    full_entry(&e);
    e.present |= 1u << 22;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    full_entry(&e);
    e.score = NAN;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    full_entry(&e);
    e.weight = INFINITY;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    full_entry(&e);
    e.flag = 2;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    full_entry(&e);
    e.actor = "a\xff", e.actor_len = 2;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    full_entry(&e);
    e.actor = "a\0b", e.actor_len = 3;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    /* Too long: one string of 65535 bytes plus the rest is over LOGENTRY_MAX. */
    char *big = malloc(70000);
    memset(big, 'a', 70000);
    full_entry(&e);
    e.actor = big, e.actor_len = 65536;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    e.actor_len = 65535;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    e.present = 1u << LOGENTRY_ACTOR;
    e.actor_len = LOGENTRY_MAX - LOGENTRY_HEADER - 3;
    assert_int_equal(logentry_encode(&b, &e), 0);
    assert_int_equal(b.len, LOGENTRY_MAX);
    free(big);
    /* Failures leave the buffer as it was. */
    buf_reset(&b);
    buf_append_str(&b, "keep");
    full_entry(&e);
    e.flag = 9;
    assert_int_equal(logentry_encode(&b, &e), ERR_INVALID);
    assert_int_equal(b.len, 4);
    buf_free(&b);
}

static void expect_bad(const uint8_t *p, size_t len, const char *field)
{
    logentry_t e;
    err_detail_t d;
    err_clear(&d);
    if (logentry_decode(p, len, &e, &d) != ERR_INVALID)
        fail_msg("accepted (want %s)", field);
    assert_string_equal(d.field, field);
    assert_true(d.message[0] != '\0');
}

static void test_decode_refuses(void **state)
{
    (void)state;
    logentry_t e;
    full_entry(&e);
    buf_t b;
    buf_init(&b, LOGENTRY_MAX);
    assert_int_equal(logentry_encode(&b, &e), 0);
    uint8_t *p = malloc(b.len + 16);
    size_t n = b.len;
    memcpy(p, b.data, n);
    err_detail_t d;
    /* Every truncation is refused (the header, or a field cut short). */
    for (size_t cut = 0; cut < n; cut++) {
        logentry_t g;
        int rc = logentry_decode(p, cut, &g, &d);
        /* Cutting exactly between fields leaves a shorter valid entry. */
        bool boundary = cut == LOGENTRY_HEADER;
        size_t pos = LOGENTRY_HEADER;
        while (pos < cut) {
            pos += 3 + ((size_t)p[pos + 1] << 8 | p[pos + 2]);
            if (pos == cut)
                boundary = true;
        }
        assert_int_equal(rc, boundary ? 0 : ERR_INVALID);
    }
    uint8_t q[LOGENTRY_MAX + 1];
#define MUT(expr, field)                                                                           \
    do {                                                                                           \
        memcpy(q, p, n);                                                                           \
        size_t qn = n;                                                                             \
        expr;                                                                                      \
        expect_bad(q, qn, field);                                                                  \
    } while (0)
    MUT(q[0] = 2, "entry.version");
    MUT(q[1] = 0, "entry.kind");
    MUT(q[1] = LOGENTRY_LEARNER_REENROLLED + 1, "entry.kind");
    /* The first field (learner, tag 1) at byte 18. */
    MUT(q[18] = 0, "entry");
    MUT(q[18] = 0x16, "entry");
    MUT(q[20] = 31, "entry.learner");                             /* a commitment of 31 bytes */
    MUT((q[qn++] = 0x15, q[qn++] = 0, q[qn++] = 0), "entry.key"); /* repeated last tag */
    MUT((q[qn++] = 0), "entry");                                  /* trailing byte */
    {
        /* framework (tag 2) comes right after learner: make it tag 1 again (out of order). */
        size_t at = LOGENTRY_HEADER + 3 + 32;
        MUT(q[at] = 1, "entry.learner");
        /* a byte of the competency string made invalid UTF-8 */
        size_t comp = at + 3 + 6;
        MUT(q[comp + 3 + 11] = 0xff, "entry.competency");
        MUT(q[comp + 3 + 1] = 0, "entry.competency");
    }
    /* score NaN, flag 2 */
    {
        logentry_t s;
        memset(&s, 0, sizeof s);
        s.kind = 1;
        s.present = 1u << LOGENTRY_SCORE | 1u << LOGENTRY_FLAG;
        buf_reset(&b);
        assert_int_equal(logentry_encode(&b, &s), 0);
        uint8_t r[64];
        memcpy(r, b.data, b.len);
        r[LOGENTRY_HEADER + 3] = 0x7f, r[LOGENTRY_HEADER + 4] = 0xf8;
        expect_bad(r, b.len, "entry.score");
        memcpy(r, b.data, b.len);
        r[b.len - 1] = 2;
        expect_bad(r, b.len, "entry.flag");
    }
    uint8_t *huge = calloc(1, LOGENTRY_MAX + 1);
    huge[0] = 1, huge[1] = 1;
    expect_bad(huge, LOGENTRY_MAX + 1, "entry");
    free(huge);
    free(p);
    buf_free(&b);
#undef MUT
}

static void test_json(void **state)
{
    (void)state;
    logentry_t e;
    full_entry(&e);
    json_t *j = NULL;
    assert_int_equal(logentry_to_json(&e, &j), 0);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "evidence_accepted");
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 41);
    assert_string_equal(json_string_value(json_object_get(j, "at")), "2025-12-06T00:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "learner")),
                        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    assert_string_equal(json_string_value(json_object_get(j, "competency")), "fractions \xc3\xa9");
    assert_true(json_real_value(json_object_get(j, "score")) == 0.75);
    assert_string_equal(json_string_value(json_object_get(j, "observed_at")),
                        "1969-12-31T23:59:59.995Z");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 0xfffffffe);
    assert_int_equal(json_object_size(j), 3 + LOGENTRY_TAG_MAX);
    json_decref(j);
    e.present = 0;
    assert_int_equal(logentry_to_json(&e, &j), 0);
    assert_int_equal(json_object_size(j), 3);
    json_decref(j);
    e.kind = 0;
    assert_int_equal(logentry_to_json(&e, &j), ERR_INVALID);
    assert_null(j);
    assert_string_equal(logentry_kind_name(12), "at_risk");
    assert_string_equal(logentry_tag_name(0x15), "key");
    assert_null(logentry_tag_name(0x16));
}

static void test_commit(void **state)
{
    (void)state;
    uint8_t key[32], out[32], want[32], msg[64];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0xa0 + i);
    const char *id = "learner-0001";
    logentry_commit(key, LOGENTRY_LEARNER, id, strlen(id), out);
    msg[0] = 0x01;
    memcpy(msg + 1, id, strlen(id));
    unsigned wl = 0;
    HMAC(EVP_sha256(), key, 32, msg, strlen(id) + 1, want, &wl);
    assert_int_equal(wl, 32);
    assert_memory_equal(out, want, 32);
    /* The tag separates fields: the same text as a narrative commits differently. */
    logentry_commit(key, LOGENTRY_NARRATIVE, id, strlen(id), want);
    assert_memory_not_equal(out, want, 32);
    /* Another key, another commitment (erasing the key unlinks the entry). */
    key[0] ^= 1;
    logentry_commit(key, LOGENTRY_LEARNER, id, strlen(id), want);
    assert_memory_not_equal(out, want, 32);
    /* The keyed committer gives the same commitments, many times, and follows a new key. */
    logentry_committer_t *c;
    assert_int_equal(logentry_committer_new(&c), 0);
    assert_int_equal(logentry_committer_commit(c, 1, "x", 1, out), ERR_INTERNAL); /* no key */
    assert_int_equal(logentry_committer_key(c, key), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(logentry_committer_commit(c, LOGENTRY_LEARNER, id, strlen(id), out), 0);
        assert_memory_equal(out, want, 32);
    }
    key[0] ^= 1;
    assert_int_equal(logentry_committer_key(c, key), 0);
    assert_int_equal(logentry_committer_commit(c, LOGENTRY_NARRATIVE, id, strlen(id), out), 0);
    logentry_commit(key, LOGENTRY_NARRATIVE, id, strlen(id), want);
    assert_memory_equal(out, want, 32);
    logentry_committer_free(&c);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_bytes),   cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encode_refuses), cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test(test_json),           cmocka_unit_test(test_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
