/*
 * Fuzz target: xapi_map_statement on an arbitrary statement under a fixed mapping, and
 * xapi_map_parse on the same bytes as a mapping file. Every statement gets exactly one
 * verdict; evidence carries a competency, a learner id of 1..XAPI_ID_MAX bytes, a score in
 * [0,1] and the statement id; a retraction an id; "not mapped" a reason and a message.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MAPPING[] =
    "{\"verbs\": {\"http://adlnet.gov/expapi/verbs/passed\": {}, "
    "\"http://adlnet.gov/expapi/verbs/scored\": {}, "
    "\"http://adlnet.gov/expapi/verbs/mastered\": {\"score\": 1}},"
    " \"activities\": {\"https://a/1\": \"c1\", \"https://a/2\": \"c2\"},"
    " \"look_in\": [\"object\", \"parent\", \"grouping\", \"other\", \"category\"],"
    " \"learners\": {\"lookup\": {\"mailto:a@b.c\": \"L1\", \"https://h|n\": \"L2\"},"
    " \"account\": [{\"homePage\": \"https://h\", \"use\": \"name\", \"prefix\": \"p-\"}],"
    " \"mbox\": \"local_part\", \"openid\": \"as_is\"}}";

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static xapi_map_t *map;
    if (map == NULL && xapi_map_parse(MAPPING, sizeof MAPPING - 1, &map, NULL) != 0)
        abort();
    json_t *stmt = json_loadb((const char *)data, size, 0, NULL);
    if (stmt != NULL) {
        xapi_item_t it;
        xapi_verdict_t v = xapi_map_statement(map, stmt, &it);
        check(v == it.verdict);
        switch (v) {
        case XAPI_EVIDENCE:
            check(it.reason == XAPI_OK && it.competency_id && it.competency_id[0]);
            check(strlen(it.learner_id) > 0 && strlen(it.learner_id) <= XAPI_ID_MAX);
            check(it.score >= 0 && it.score <= 1 && !isnan(it.score));
            check(it.evidence_id == it.statement_id && it.source != NULL);
            break;
        case XAPI_RETRACTION:
            check(it.reason == XAPI_OK && it.evidence_id && it.evidence_id[0]);
            break;
        case XAPI_UNMAPPED:
            check(it.reason > XAPI_OK && it.reason < XAPI_REASON_COUNT && it.message[0]);
            break;
        }
        json_decref(stmt);
    }
    xapi_map_t *m = NULL;
    err_detail_t d;
    int rc = xapi_map_parse((const char *)data, size, &m, &d);
    check((rc == 0) == (m != NULL));
    check(rc == 0 || d.code == rc);
    xapi_map_destroy(&m);
    return 0;
}
