/*
 * Fuzz target: auth_clients_parse on arbitrary bytes (the clients file). A refusal must come
 * with a detail naming the line; an accepted list must hold its invariants: every client
 * findable by its key, keys unique, names and roles valid, only tools with frameworks, each
 * framework id non-empty and bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    auth_clients_t *c = NULL;
    err_detail_t d;
    int rc = auth_clients_parse((const char *)data, size, "fuzz", &c, &d);
    if (rc != 0) {
        check(c == NULL && d.code == rc && d.message[0] != '\0');
        check(strncmp(d.field, "fuzz", 4) == 0);
        return 0;
    }
    size_t n = auth_clients_count(c);
    check(n <= AUTH_CLIENTS_MAX);
    for (size_t i = 0; i < n; i++) {
        const auth_client_t *cl = auth_clients_at(c, i);
        check(auth_clients_find(c, cl->key) == cl);
        uint8_t back[AUTH_KEY_LEN];
        check(curvekey_z85_decode(cl->key_z85, strlen(cl->key_z85), back) == 0);
        check(memcmp(back, cl->key, AUTH_KEY_LEN) == 0);
        size_t name_len = strlen(cl->name);
        check(name_len > 0 && name_len <= AUTH_NAME_MAX);
        check(strcmp(auth_role_name(cl->role), "?") != 0);
        check(cl->role == AUTH_ROLE_TOOL || (cl->n_frameworks == 0 && !cl->all_frameworks));
        check(cl->role != AUTH_ROLE_TOOL || cl->all_frameworks || cl->n_frameworks > 0);
        for (size_t j = 0; j < cl->n_frameworks; j++) {
            size_t len = strlen(cl->frameworks[j]);
            check(len > 0 && len <= AUTH_FRAMEWORK_MAX);
            check(auth_client_in_scope(cl, cl->frameworks[j]));
        }
    }
    auth_clients_destroy(&c);
    check(c == NULL);
    return 0;
}
