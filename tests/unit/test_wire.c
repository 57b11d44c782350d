/*
 * Unit tests for wire: decoding valid requests of every operation built with the generated
 * protobuf-c API; refusing, with the right field path, empty and random bytes, unknown fields
 * (top level and inside submit_evidence.items[2]), invalid UTF-8 and embedded NULs, wrong wire
 * types, truncated lengths, nesting deeper than WIRE_MAX_DEPTH and a request without an
 * operation; the allocation budget; the status code mapping both ways and the names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mastery/v1/mastery.pb-c.h"
#include "wire.h"

#define BUDGET (1u << 20)

/* ---- a raw protobuf writer, for bytes the generated API would never produce -------------- */

typedef struct raw {
    uint8_t b[8192];
    size_t len;
} raw_t;

static void raw_bytes(raw_t *r, const void *p, size_t n)
{
    assert_true(n <= sizeof r->b - r->len);
    memcpy(r->b + r->len, p, n);
    r->len += n;
}

static void raw_varint(raw_t *r, uint64_t v)
{
    do {
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            byte |= 0x80;
        raw_bytes(r, &byte, 1);
    } while (v);
}

static void raw_tag(raw_t *r, uint32_t field, unsigned wt)
{
    raw_varint(r, ((uint64_t)field << 3) | wt);
}

static void raw_ld(raw_t *r, uint32_t field, const void *p, size_t n)
{
    raw_tag(r, field, 2);
    raw_varint(r, n);
    raw_bytes(r, p, n);
}

static void raw_str(raw_t *r, uint32_t field, const char *s)
{
    raw_ld(r, field, s, strlen(s));
}

/* A valid packed Evidence message with the given ids. */
static void raw_evidence(raw_t *r, const char *evidence_id, const char *learner_id)
{
    Mastery__V1__Evidence ev = MASTERY__V1__EVIDENCE__INIT;
    ev.evidence_id = (char *)evidence_id;
    ev.learner_id = (char *)learner_id;
    ev.competency_id = "frac.add";
    ev.score = 0.75;
    ev.outcome = MASTERY__V1__OUTCOME__OUTCOME_PASSED;
    ev.observed_at_ms = 1700000000000;
    ev.source = "quiz";
    size_t n = mastery__v1__evidence__get_packed_size(&ev);
    assert_true(n <= sizeof r->b - r->len);
    r->len += mastery__v1__evidence__pack(&ev, r->b + r->len);
}

/* Wraps items (each already a packed Evidence) as Request{request_id, submit_evidence}. */
static void raw_submit(raw_t *out, const raw_t *items, size_t n)
{
    raw_t sub = {.len = 0};
    for (size_t i = 0; i < n; i++)
        raw_ld(&sub, 1, items[i].b, items[i].len);
    out->len = 0;
    raw_str(out, 1, "req-1");
    raw_ld(out, 13, sub.b, sub.len);
}

/* Decodes and expects a refusal with this code and field. */
static void expect_refused(const uint8_t *data, size_t len, int code, const char *field)
{
    wire_request_t *req = NULL;
    err_detail_t d;
    err_clear(&d);
    int rc = wire_request_decode(data, len, BUDGET, &req, &d);
    if (rc != code || strcmp(d.field, field) != 0)
        fail_msg("expected %s at '%s', got %s at '%s' (%s)", err_str(code), field, err_str(rc),
                 d.field, d.message);
    assert_int_equal(d.code, code);
    assert_true(d.message[0] != '\0');
    assert_null(req);
}

static wire_request_t *decode_ok(const uint8_t *data, size_t len)
{
    wire_request_t *req = NULL;
    err_detail_t d;
    err_clear(&d);
    int rc = wire_request_decode(data, len, BUDGET, &req, &d);
    if (rc != 0)
        fail_msg("decode failed: %s at '%s': %s", err_str(rc), d.field, d.message);
    assert_non_null(req);
    return req;
}

static wire_request_t *roundtrip(const Mastery__V1__Request *in)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(&in->base, &buf, &len), 0);
    assert_int_equal(len, mastery__v1__request__get_packed_size(in));
    wire_request_t *req = decode_ok(buf, len);
    free(buf);
    return req;
}

/* ---- valid requests ------------------------------------------------------------------------ */

static void test_decode_every_op(void **state)
{
    (void)state;
    Mastery__V1__Request r = MASTERY__V1__REQUEST__INIT;
    wire_request_t *out;
    r.request_id = "r-1";

    Mastery__V1__PutFramework put = MASTERY__V1__PUT_FRAMEWORK__INIT;
    put.json = "{\"id\": \"fw\", \"title\": \"Fractions \xc2\xbd\", \"competencies\": []}";
    r.op_case = MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK;
    r.put_framework = &put;
    out = roundtrip(&r);
    assert_string_equal(out->request_id, "r-1");
    assert_int_equal(out->op_case, MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK);
    assert_string_equal(out->put_framework->json, put.json);
    wire_request_free(&out);
    assert_null(out);
    wire_request_free(&out); /* NULL: no-op */
    wire_request_free(NULL);

    Mastery__V1__GetFramework get = MASTERY__V1__GET_FRAMEWORK__INIT;
    get.framework_id = "urn:fw";
    get.revision = 3;
    r.op_case = MASTERY__V1__REQUEST__OP_GET_FRAMEWORK;
    r.get_framework = &get;
    out = roundtrip(&r);
    assert_int_equal(out->op_case, MASTERY__V1__REQUEST__OP_GET_FRAMEWORK);
    assert_string_equal(out->get_framework->framework_id, "urn:fw");
    assert_int_equal(out->get_framework->revision, 3);
    wire_request_free(&out);

    /* An empty message is an operation too (its field is present, with length 0). */
    Mastery__V1__ListFrameworks lf = MASTERY__V1__LIST_FRAMEWORKS__INIT;
    r.op_case = MASTERY__V1__REQUEST__OP_LIST_FRAMEWORKS;
    r.list_frameworks = &lf;
    out = roundtrip(&r);
    assert_int_equal(out->op_case, MASTERY__V1__REQUEST__OP_LIST_FRAMEWORKS);
    wire_request_free(&out);

    Mastery__V1__Evidence ev[3];
    Mastery__V1__Evidence *evp[3];
    for (int i = 0; i < 3; i++) {
        mastery__v1__evidence__init(&ev[i]);
        evp[i] = &ev[i];
    }
    ev[0].evidence_id = "e0";
    ev[0].learner_id = "alice";
    ev[0].competency_id = "frac.add";
    ev[0].score = 0.5;
    ev[1].evidence_id = "e1";
    ev[1].learner_id = "b\xc3\xa9la"; /* UTF-8 */
    ev[1].competency_id = "frac.sub";
    ev[1].score = 1.0;
    ev[1].weight = 2.5;
    ev[1].outcome = MASTERY__V1__OUTCOME__OUTCOME_FAILED;
    ev[1].observed_at_ms = -5; /* negative int64 survives */
    ev[2].evidence_id = "e2";
    ev[2].learner_id = "\xf0\x9f\x98\x80"; /* 4-byte sequence */
    ev[2].narrative = "done";
    Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
    sub.n_items = 3;
    sub.items = evp;
    r.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
    r.submit_evidence = &sub;
    out = roundtrip(&r);
    assert_int_equal(out->op_case, MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE);
    assert_int_equal(out->submit_evidence->n_items, 3);
    assert_string_equal(out->submit_evidence->items[0]->learner_id, "alice");
    assert_true(out->submit_evidence->items[0]->score == 0.5);
    assert_string_equal(out->submit_evidence->items[1]->learner_id, "b\xc3\xa9la");
    assert_true(out->submit_evidence->items[1]->weight == 2.5);
    assert_int_equal(out->submit_evidence->items[1]->outcome, MASTERY__V1__OUTCOME__OUTCOME_FAILED);
    assert_int_equal(out->submit_evidence->items[1]->observed_at_ms, -5);
    assert_string_equal(out->submit_evidence->items[2]->learner_id, "\xf0\x9f\x98\x80");
    assert_string_equal(out->submit_evidence->items[2]->narrative, "done");
    assert_string_equal(out->submit_evidence->items[2]->url, "");
    wire_request_free(&out);

    Mastery__V1__GetLearner gl = MASTERY__V1__GET_LEARNER__INIT;
    gl.learner_id = "alice";
    r.op_case = MASTERY__V1__REQUEST__OP_GET_LEARNER;
    r.get_learner = &gl;
    out = roundtrip(&r);
    assert_string_equal(out->get_learner->learner_id, "alice");
    assert_string_equal(out->get_learner->framework_id, "");
    wire_request_free(&out);

    Mastery__V1__ReadEvents re = MASTERY__V1__READ_EVENTS__INIT;
    re.from_seq = UINT64_MAX;
    re.limit = 10;
    r.op_case = MASTERY__V1__REQUEST__OP_READ_EVENTS;
    r.read_events = &re;
    out = roundtrip(&r);
    assert_true(out->read_events->from_seq == UINT64_MAX);
    assert_int_equal(out->read_events->limit, 10);
    wire_request_free(&out);

    Mastery__V1__Override ov = MASTERY__V1__OVERRIDE__INIT;
    ov.learner_id = "alice";
    ov.framework_id = "fw";
    ov.competency_id = "c";
    ov.mastered = 1;
    ov.reason = "observed in class";
    ov.actor = "teacher";
    r.op_case = MASTERY__V1__REQUEST__OP_OVERRIDE;
    r.override = &ov;
    out = roundtrip(&r);
    assert_true(out->override->mastered);
    assert_string_equal(out->override->reason, "observed in class");
    wire_request_free(&out);

    Mastery__V1__Health h = MASTERY__V1__HEALTH__INIT;
    r.request_id = ""; /* absent request id: still a request */
    r.op_case = MASTERY__V1__REQUEST__OP_HEALTH;
    r.health = &h;
    out = roundtrip(&r);
    assert_int_equal(out->op_case, MASTERY__V1__REQUEST__OP_HEALTH);
    assert_string_equal(out->request_id, "");
    wire_request_free(&out);

    Mastery__V1__ListEvidence le = MASTERY__V1__LIST_EVIDENCE__INIT;
    le.learner_id = "alice";
    le.competency_id = "frac.add";
    le.limit = 7;
    r.op_case = MASTERY__V1__REQUEST__OP_LIST_EVIDENCE;
    r.list_evidence = &le;
    out = roundtrip(&r);
    assert_string_equal(out->list_evidence->competency_id, "frac.add");
    assert_int_equal(out->list_evidence->limit, 7);
    wire_request_free(&out);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_empty_and_no_op(void **state)
{
    (void)state;
    uint8_t one = 0;
    expect_refused(&one, 0, ERR_INVALID, "request");
    /* Only a request id: no operation. */
    raw_t r = {.len = 0};
    raw_str(&r, 1, "lonely");
    expect_refused(r.b, r.len, ERR_INVALID, "op");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static void test_random_bytes(void **state)
{
    (void)state;
    /* A fixed bit of garbage: 0xff... is a tag with an unending varint. */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff};
    expect_refused(junk, sizeof junk, ERR_INVALID, "request");
    /* Many random buffers: never a crash, never a leak; a refusal is INVALID or NOMEM and
     * says why; whatever is accepted has an operation. */
    uint8_t buf[256];
    int accepted = 0;
    for (int i = 0; i < 20000; i++) {
        size_t len = 1 + rng() % sizeof buf;
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)rng();
        wire_request_t *req = NULL;
        err_detail_t d;
        err_clear(&d);
        int rc = wire_request_decode(buf, len, 4096, &req, &d);
        if (rc == 0) {
            assert_non_null(req);
            assert_int_not_equal(req->op_case, MASTERY__V1__REQUEST__OP__NOT_SET);
            accepted++;
            wire_request_free(&req);
        } else {
            assert_true(rc == ERR_INVALID || rc == ERR_NOMEM);
            assert_int_equal(d.code, rc);
            assert_true(d.message[0] != '\0');
            assert_true(d.field[0] != '\0'); /* always names what is wrong */
            assert_null(req);
        }
    }
    /* Random bytes are almost never a valid request. */
    assert_true(accepted < 200);
}

static void test_unknown_fields(void **state)
{
    (void)state;
    /* Top level: field 99. */
    raw_t r = {.len = 0};
    raw_str(&r, 1, "req");
    raw_ld(&r, 17, "", 0); /* health */
    raw_tag(&r, 99, 0);
    raw_varint(&r, 1);
    expect_refused(r.b, r.len, ERR_INVALID, "unknown_fields");

    /* A field number the daemon knows in another message but not here. */
    r.len = 0;
    raw_str(&r, 1, "req");
    raw_tag(&r, 2, 2);
    raw_varint(&r, 0);
    raw_ld(&r, 17, "", 0);
    expect_refused(r.b, r.len, ERR_INVALID, "unknown_fields");

    /* Inside submit_evidence.items[2]: field 50 appended to the third item. */
    raw_t items[4];
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "e%d", i);
        items[i].len = 0;
        raw_evidence(&items[i], id, "alice");
    }
    raw_t req;
    raw_submit(&req, items, 4);
    wire_request_t *ok = decode_ok(req.b, req.len);
    assert_int_equal(ok->submit_evidence->n_items, 4);
    wire_request_free(&ok);
    raw_tag(&items[2], 50, 2);
    raw_varint(&items[2], 3);
    raw_bytes(&items[2], "abc", 3);
    raw_submit(&req, items, 4);
    expect_refused(req.b, req.len, ERR_INVALID, "submit_evidence.items[2]");
    wire_request_t *out = NULL;
    err_detail_t d;
    assert_int_equal(wire_request_decode(req.b, req.len, BUDGET, &out, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "50"));
    assert_non_null(strstr(d.message, "mastery.v1.Evidence"));
}

static void test_bad_strings(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\xc3\x28", 2},         /* bad continuation */
        {"\xc3", 1},             /* truncated sequence */
        {"ab\xe2\x82", 4},       /* truncated 3-byte */
        {"\xc0\xaf", 2},         /* overlong '/' */
        {"\xe0\x80\xaf", 3},     /* overlong 3-byte */
        {"\xed\xa0\x80", 3},     /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 4}, /* U+110000 */
        {"\xff", 1},             /* never valid */
        {"\x80", 1},             /* lone continuation */
        {"ali\0ce", 6},          /* embedded NUL */
        {"\0", 1},               /* only NUL */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_t items[3];
        for (int k = 0; k < 3; k++) {
            items[k].len = 0;
            if (k != 1) {
                raw_evidence(&items[k], "e", "bob");
                continue;
            }
            /* items[1]: learner_id is the bad string. */
            raw_str(&items[k], 1, "e1");
            raw_ld(&items[k], 2, bad[i].bytes, bad[i].len);
            raw_str(&items[k], 3, "frac.add");
        }
        raw_t req;
        raw_submit(&req, items, 3);
        expect_refused(req.b, req.len, ERR_INVALID, "submit_evidence.items[1].learner_id");
    }
    /* At the top level too. */
    raw_t r = {.len = 0};
    raw_ld(&r, 1, "x\0y", 3);
    raw_ld(&r, 17, "", 0);
    expect_refused(r.b, r.len, ERR_INVALID, "request_id");
    /* And inside a framework document. */
    r.len = 0;
    raw_t put = {.len = 0};
    raw_ld(&put, 1, "{\"id\": \"\xfe\"}", 11);
    raw_ld(&r, 10, put.b, put.len);
    expect_refused(r.b, r.len, ERR_INVALID, "put_framework.json");

    /* Valid edge cases are accepted: U+007F, U+07FF, U+FFFF, U+10FFFF. */
    raw_t items[1] = {{.len = 0}};
    raw_str(&items[0], 1, "e");
    raw_str(&items[0], 2, "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf");
    raw_t req;
    raw_submit(&req, items, 1);
    wire_request_t *out = decode_ok(req.b, req.len);
    assert_string_equal(out->submit_evidence->items[0]->learner_id,
                        "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf");
    wire_request_free(&out);
}

static void test_wrong_wire_type(void **state)
{
    (void)state;
    raw_t r = {.len = 0};
    /* request_id (string) as a varint. */
    raw_tag(&r, 1, 0);
    raw_varint(&r, 5);
    raw_ld(&r, 17, "", 0);
    expect_refused(r.b, r.len, ERR_INVALID, "request_id");
    /* health (message) as a 32-bit value. */
    r.len = 0;
    raw_tag(&r, 17, 5);
    raw_bytes(&r, "\0\0\0\0", 4);
    expect_refused(r.b, r.len, ERR_INVALID, "health");
    /* A group (wire type 3) where a message belongs. */
    r.len = 0;
    raw_tag(&r, 17, 3);
    raw_tag(&r, 17, 4);
    expect_refused(r.b, r.len, ERR_INVALID, "health");

    /* Inside an item: score (double) as a varint, observed_at_ms (int64) as a 64-bit value,
     * outcome (enum) as length-delimited data. Each names the full path. */
    static const struct {
        uint32_t field;
        unsigned wt;
        const char *path;
    } cases[] = {
        {4, 0, "submit_evidence.items[1].score"},
        {6, 1, "submit_evidence.items[1].observed_at_ms"},
        {5, 2, "submit_evidence.items[1].outcome"},
        {2, 5, "submit_evidence.items[1].learner_id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_t items[2] = {{.len = 0}, {.len = 0}};
        raw_evidence(&items[0], "e0", "alice");
        raw_str(&items[1], 1, "e1");
        raw_tag(&items[1], cases[i].field, cases[i].wt);
        if (cases[i].wt == 0)
            raw_varint(&items[1], 1);
        else if (cases[i].wt == 1)
            raw_bytes(&items[1], "\0\0\0\0\0\0\0\0", 8);
        else if (cases[i].wt == 5)
            raw_bytes(&items[1], "\0\0\0\0", 4);
        else {
            raw_varint(&items[1], 1);
            raw_bytes(&items[1], "\1", 1);
        }
        raw_t req;
        raw_submit(&req, items, 2);
        expect_refused(req.b, req.len, ERR_INVALID, cases[i].path);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    Mastery__V1__Request r = MASTERY__V1__REQUEST__INIT;
    Mastery__V1__Override ov = MASTERY__V1__OVERRIDE__INIT;
    r.request_id = "req-42";
    ov.learner_id = "alice";
    ov.framework_id = "fw";
    ov.competency_id = "c";
    ov.reason = "because";
    r.op_case = MASTERY__V1__REQUEST__OP_OVERRIDE;
    r.override = &ov;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(&r.base, &buf, &len), 0);
    wire_request_t *req = decode_ok(buf, len);
    wire_request_free(&req);
    /* Every proper prefix is refused (or, cut exactly between fields, lacks the op). */
    for (size_t cut = 1; cut < len; cut++) {
        err_detail_t d;
        req = NULL;
        int rc = wire_request_decode(buf, cut, BUDGET, &req, &d);
        assert_int_equal(rc, ERR_INVALID);
        assert_null(req);
    }
    free(buf);

    /* A length that runs past the end names its field. */
    raw_t raw = {.len = 0};
    raw_str(&raw, 1, "req");
    raw_tag(&raw, 16, 2);
    raw_varint(&raw, 100);
    raw_bytes(&raw, "\x0a\x01x", 3);
    expect_refused(raw.b, raw.len, ERR_INVALID, "override");
    /* Inside a nested message. */
    raw_t items[1] = {{.len = 0}};
    raw_tag(&items[0], 2, 2);
    raw_varint(&items[0], 50);
    raw_bytes(&items[0], "bob", 3);
    raw_submit(&raw, items, 1);
    expect_refused(raw.b, raw.len, ERR_INVALID, "submit_evidence.items[0].learner_id");
    /* A huge length (2^63) does not wrap around. */
    raw.len = 0;
    raw_tag(&raw, 1, 2);
    raw_varint(&raw, 1ull << 63);
    raw_bytes(&raw, "xyz", 3);
    expect_refused(raw.b, raw.len, ERR_INVALID, "request_id");
    /* A truncated 64-bit value and a truncated varint inside an item. */
    raw_t it2[1] = {{.len = 0}};
    raw_tag(&it2[0], 4, 1);
    raw_bytes(&it2[0], "\0\0\0", 3);
    raw_submit(&raw, it2, 1);
    expect_refused(raw.b, raw.len, ERR_INVALID, "submit_evidence.items[0].score");
    it2[0].len = 0;
    raw_tag(&it2[0], 6, 0);
    raw_bytes(&it2[0], "\x80\x80", 2);
    raw_submit(&raw, it2, 1);
    expect_refused(raw.b, raw.len, ERR_INVALID, "submit_evidence.items[0].observed_at_ms");
}

/* A message type that contains itself, to reach the depth limit (mastery.v1 has no recursive
 * message, so through Request the limit is never the first thing to trip). */
extern const ProtobufCMessageDescriptor test_nest_descriptor;
static const ProtobufCFieldDescriptor test_nest_fields[1] = {{
    .name = "child",
    .id = 1,
    .label = PROTOBUF_C_LABEL_NONE,
    .type = PROTOBUF_C_TYPE_MESSAGE,
    .descriptor = &test_nest_descriptor,
}};
static const unsigned test_nest_by_name[1] = {0};
static const ProtobufCIntRange test_nest_ranges[2] = {{1, 0}, {0, 1}};
const ProtobufCMessageDescriptor test_nest_descriptor = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "test.Nest",
    .short_name = "Nest",
    .c_name = "Test__Nest",
    .package_name = "test",
    .sizeof_message = sizeof(ProtobufCMessage) + sizeof(void *),
    .n_fields = 1,
    .fields = test_nest_fields,
    .fields_sorted_by_name = test_nest_by_name,
    .n_field_ranges = 1,
    .field_ranges = test_nest_ranges,
};

/* depth levels of child{child{...}} */
static void nest(raw_t *out, int depth)
{
    out->len = 0;
    for (int i = 0; i < depth; i++) {
        raw_t outer = {.len = 0};
        raw_ld(&outer, 1, out->b, out->len);
        *out = outer;
    }
}

static void test_nesting_depth(void **state)
{
    (void)state;
    raw_t r;
    err_detail_t d;
    /* The top message is depth 0; WIRE_MAX_DEPTH nested levels are fine. */
    nest(&r, WIRE_MAX_DEPTH);
    err_clear(&d);
    assert_int_equal(wire_check(&test_nest_descriptor, r.b, r.len, &d), 0);
    nest(&r, WIRE_MAX_DEPTH + 1);
    assert_int_equal(wire_check(&test_nest_descriptor, r.b, r.len, &d), ERR_INVALID);
    char want[256] = "child";
    for (int i = 1; i < WIRE_MAX_DEPTH + 1; i++)
        strcat(want, ".child");
    assert_string_equal(d.field, want);
    assert_non_null(strstr(d.message, "deeper"));
    nest(&r, 500);
    assert_int_equal(wire_check(&test_nest_descriptor, r.b, r.len, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "deeper"));

    /* Through Request: deep nesting of a real field is refused at the first level the schema
     * does not allow (items[0].evidence_id is a string, and the nested bytes carry a NUL). */
    raw_t deep = {.len = 0};
    nest(&deep, 40);
    raw_t sub = {.len = 0}, item = {.len = 0};
    raw_ld(&item, 1, deep.b, deep.len);
    raw_ld(&sub, 1, item.b, item.len);
    r.len = 0;
    raw_ld(&r, 13, sub.b, sub.len);
    expect_refused(r.b, r.len, ERR_INVALID, "submit_evidence.items[0].evidence_id");
}

/* ---- budget -------------------------------------------------------------------------------- */

static void test_budget(void **state)
{
    (void)state;
    enum { N = 1000 };
    Mastery__V1__Evidence *ev = calloc(N, sizeof *ev);
    Mastery__V1__Evidence **evp = calloc(N, sizeof *evp);
    char(*ids)[16] = calloc(N, sizeof *ids);
    assert_non_null(ev);
    assert_non_null(evp);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        mastery__v1__evidence__init(&ev[i]);
        snprintf(ids[i], sizeof ids[i], "ev-%d", i);
        ev[i].evidence_id = ids[i];
        ev[i].learner_id = "alice";
        ev[i].competency_id = "frac.add";
        ev[i].score = 0.9;
        evp[i] = &ev[i];
    }
    Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
    sub.n_items = N;
    sub.items = evp;
    Mastery__V1__Request r = MASTERY__V1__REQUEST__INIT;
    r.request_id = "big";
    r.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
    r.submit_evidence = &sub;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_pack(&r.base, &buf, &len), 0);

    /* Generous budget: decodes. */
    wire_request_t *out = NULL;
    err_detail_t d;
    assert_int_equal(wire_request_decode(buf, len, 4u << 20, &out, &d), 0);
    assert_int_equal(out->submit_evidence->n_items, N);
    assert_string_equal(out->submit_evidence->items[N - 1]->evidence_id, "ev-999");
    wire_request_free(&out);

    /* Small budgets: NOMEM, whatever the budget at which the allocations run out. */
    static const size_t budgets[] = {1, 64, 1000, 4096, 20000, 65536};
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        err_clear(&d);
        out = NULL;
        int rc = wire_request_decode(buf, len, budgets[i], &out, &d);
        if (rc != ERR_NOMEM)
            fail_msg("budget %zu: expected NOMEM, got %s (%s: %s)", budgets[i], err_str(rc),
                     d.field, d.message);
        assert_null(out);
        assert_int_equal(d.code, ERR_NOMEM);
        assert_string_equal(d.field, "request");
    }
    /* A zero budget fails even a tiny request. */
    raw_t tiny = {.len = 0};
    raw_ld(&tiny, 17, "", 0);
    assert_int_equal(wire_request_decode(tiny.b, tiny.len, 0, &out, &d), ERR_NOMEM);
    assert_int_equal(wire_request_decode(tiny.b, tiny.len, 4096, &out, &d), 0);
    wire_request_free(&out);
    free(buf);
    free(ids);
    free(evp);
    free(ev);
}

/* ---- status codes -------------------------------------------------------------------------- */

static void test_status_codes(void **state)
{
    (void)state;
    static const struct {
        int err;
        Mastery__V1__StatusCode code;
        const char *name;
    } one_to_one[] = {
        {0, MASTERY__V1__STATUS_CODE__STATUS_OK, "OK"},
        {ERR_INVALID, MASTERY__V1__STATUS_CODE__STATUS_INVALID, "INVALID"},
        {ERR_NOT_FOUND, MASTERY__V1__STATUS_CODE__STATUS_NOT_FOUND, "NOT_FOUND"},
        {ERR_CONFLICT, MASTERY__V1__STATUS_CODE__STATUS_CONFLICT, "CONFLICT"},
        {ERR_DUPLICATE, MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE, "DUPLICATE"},
        {ERR_UNAUTHENTICATED, MASTERY__V1__STATUS_CODE__STATUS_UNAUTHENTICATED, "UNAUTHENTICATED"},
        {ERR_FORBIDDEN, MASTERY__V1__STATUS_CODE__STATUS_FORBIDDEN, "FORBIDDEN"},
        {ERR_UNAVAILABLE, MASTERY__V1__STATUS_CODE__STATUS_UNAVAILABLE, "UNAVAILABLE"},
        {ERR_INTERNAL, MASTERY__V1__STATUS_CODE__STATUS_INTERNAL, "INTERNAL"},
    };
    for (size_t i = 0; i < sizeof one_to_one / sizeof one_to_one[0]; i++) {
        assert_int_equal(wire_status_code(one_to_one[i].err), one_to_one[i].code);
        assert_int_equal(wire_err_code(one_to_one[i].code), one_to_one[i].err);
        assert_string_equal(wire_status_name(one_to_one[i].code), one_to_one[i].name);
        /* The wire name and err_str agree. */
        assert_string_equal(err_str(one_to_one[i].err), one_to_one[i].name);
    }
    /* Internal codes fold into what a client can act on. */
    assert_int_equal(wire_status_code(ERR_LIMIT), MASTERY__V1__STATUS_CODE__STATUS_INVALID);
    assert_int_equal(wire_status_code(ERR_NOMEM), MASTERY__V1__STATUS_CODE__STATUS_INVALID);
    assert_int_equal(wire_status_code(ERR_RETRY), MASTERY__V1__STATUS_CODE__STATUS_UNAVAILABLE);
    assert_int_equal(wire_status_code(-999), MASTERY__V1__STATUS_CODE__STATUS_INTERNAL);
    assert_int_equal(wire_status_code(7), MASTERY__V1__STATUS_CODE__STATUS_INTERNAL);
    /* Unknown wire codes (a newer daemon) are INTERNAL to an older client. */
    assert_int_equal(wire_err_code((Mastery__V1__StatusCode)42), ERR_INTERNAL);
    assert_string_equal(wire_status_name((Mastery__V1__StatusCode)42), "UNKNOWN");
    assert_string_equal(wire_status_name((Mastery__V1__StatusCode)-1), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_every_op), cmocka_unit_test(test_empty_and_no_op),
        cmocka_unit_test(test_random_bytes),    cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_bad_strings),     cmocka_unit_test(test_wrong_wire_type),
        cmocka_unit_test(test_truncated),       cmocka_unit_test(test_nesting_depth),
        cmocka_unit_test(test_budget),          cmocka_unit_test(test_status_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
