/*
 * Fuzz target: what a cluster node takes from NATS (cluster.h, clusterkey.h). The first byte
 * picks the parser: 0, a sealed box opened under a fixed cluster key (must be refused unless it
 * is exactly one this target sealed); otherwise, the ClusterItem inside (wire_check's strict
 * walk, then unpack, then the route of a carried request), as handler_stream_apply and
 * handler_apply_forwarded read it. Nothing may crash or leak; an accepted item must pack back
 * to bytes that walk and unpack again.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clusterkey.h"
#include "handler.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static clusterkey_t *key(void)
{
    static clusterkey_t *k;
    if (k == NULL) {
        char dir[] = "/tmp/fuzz-clusterkey-XXXXXX";
        err_detail_t d;
        char file[sizeof dir + 16];
        check(mkdtemp(dir) != NULL);
        check(clusterkey_open(dir, &k, &d) == 0);
        snprintf(file, sizeof file, "%s/%s", dir, CLUSTERKEY_FILE);
        unlink(file); /* the key stays in memory; nothing is left behind */
        rmdir(dir);
    }
    return k;
}

static void box(const uint8_t *data, size_t size)
{
    uint8_t *plain = NULL;
    size_t len = 0;
    int rc = clusterkey_open_box(key(), "masteryd.ev.0", data, size, &plain, &len);
    check(rc == ERR_DATA_LOSS || rc == ERR_NOMEM); /* nobody but the key's holder seals */
    /* and what is sealed opens only at its place */
    uint8_t *b = NULL;
    size_t blen = 0;
    check(clusterkey_seal(key(), "masteryd.ev.1", data, size, &b, &blen) == 0);
    check(blen == size + CLUSTERKEY_OVERHEAD);
    check(clusterkey_open_box(key(), "masteryd.ev.2", b, blen, &plain, &len) == ERR_DATA_LOSS);
    check(clusterkey_open_box(key(), "masteryd.ev.1", b, blen, &plain, &len) == 0);
    check(len == size && (size == 0 || memcmp(plain, data, size) == 0));
    free(plain);
    free(b);
}

static void item(const uint8_t *data, size_t size)
{
    err_detail_t d;
    err_clear(&d);
    if (wire_check(&mastery__v1__cluster_item__descriptor, data, size, &d) != 0) {
        check(d.code == ERR_INVALID && d.message[0] != '\0');
        return;
    }
    Mastery__V1__ClusterItem *ci = mastery__v1__cluster_item__unpack(NULL, size, data);
    if (ci == NULL)
        return; /* the walk is stricter than protobuf-c in places, never looser */
    if (ci->request != NULL) {
        const char *learner = NULL;
        handler_route_t r = handler_request_route(ci->request, &learner);
        check(r >= HANDLER_ROUTE_LOCAL && r <= HANDLER_ROUTE_LEARNER_READ);
        check((r == HANDLER_ROUTE_LEARNER_WRITE || r == HANDLER_ROUTE_LEARNER_READ) ==
              (learner != NULL));
    }
    size_t len = mastery__v1__cluster_item__get_packed_size(ci);
    uint8_t *again = malloc(len ? len : 1);
    check(again != NULL);
    mastery__v1__cluster_item__pack(ci, again);
    check(wire_check(&mastery__v1__cluster_item__descriptor, again, len, &d) == 0);
    Mastery__V1__ClusterItem *ci2 = mastery__v1__cluster_item__unpack(NULL, len, again);
    check(ci2 != NULL);
    mastery__v1__cluster_item__free_unpacked(ci2, NULL);
    mastery__v1__cluster_item__free_unpacked(ci, NULL);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 1 << 20)
        return 0;
    if (data[0] == 0)
        box(data + 1, size - 1);
    else
        item(data + 1, size - 1);
    return 0;
}
