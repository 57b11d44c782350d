/*
 * Fuzz target: wire_request_decode on arbitrary bytes, under an allocation budget. A refusal
 * must come with its code in the detail and a message; an accepted request must carry an
 * operation, and packing it again must give bytes that decode again (the daemon's own replies
 * and a client's re-sent request go through the same code).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The budget the server gives a frame of this size (server.c). */
#define BUDGET_FACTOR 8
#define BUDGET_MIN    (64 * 1024)

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t budget = size * BUDGET_FACTOR + BUDGET_MIN;
    wire_request_t *req = NULL;
    err_detail_t d;
    err_clear(&d);
    int rc = wire_request_decode(data, size, budget, &req, &d);
    if (rc != 0) {
        check(req == NULL);
        check(rc == ERR_INVALID || rc == ERR_NOMEM);
        check(d.code == rc && d.message[0] != '\0' && d.field[0] != '\0');
        return 0;
    }
    check(req != NULL && req->op_case != MASTERY__V1__REQUEST__OP__NOT_SET);
    uint8_t *packed = NULL;
    size_t len = 0;
    if (wire_pack(&req->base, &packed, &len) == 0) {
        wire_request_t *again = NULL;
        /* Re-packing merges repeated occurrences of a message field, never grows it much. */
        check(wire_request_decode(packed, len, 2 * budget, &again, &d) == 0);
        check(again->op_case == req->op_case);
        check(strcmp(again->request_id, req->request_id) == 0);
        wire_request_free(&again);
        free(packed);
    }
    wire_request_free(&req);
    check(req == NULL);
    return 0;
}
