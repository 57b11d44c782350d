/*
 * mc_internal: what the parts of libmasteryclient share and users never see: the client's
 * fields, one request on the wire, and the socket set-up every socket goes through.
 */
#ifndef MASTERY_MC_INTERNAL_H
#define MASTERY_MC_INTERNAL_H

#include "masteryclient.h"

#define MC_ID_MAX 48

struct mc_client {
    char *endpoint;
    char *events_endpoint; /* "" when none is known; NULL: ask the daemon (Health) first */
    char *key_file;        /* NULL: development mode */
    char *server_key_file;
    int timeout_ms;
    volatile sig_atomic_t *stop;
    void (*warn)(void *arg, const char *message);
    void *warn_arg;
    void *zctx;
    void *dealer;
    char id_prefix[16];
    uint64_t calls; /* request ids handed out */
};

/* One request on the wire: its id and packed bytes are kept so a resend is the same message. */
typedef struct mc_req {
    char id[MC_ID_MAX];
    uint8_t *bytes; /* owned; NULL for a window's placeholder */
    size_t len;
    int attempts;     /* sends so far */
    int64_t deadline; /* mc_now_ms() after which the last send counts as lost */
} mc_req_t;

/* Gives req the next request id and packs it into r (free with mc_req_free). 0 or ERR_NOMEM. */
int mc_req_prepare(mc_client_t *c, Mastery__V1__Request *req, mc_req_t *r, err_detail_t *d);
void mc_req_free(mc_req_t *r);

/* Sends (or resends) r and sets its deadline. 0 or MC_ERR_NO_REPLY ("cannot send ..."). */
int mc_req_send(mc_client_t *c, mc_req_t *r, err_detail_t *d);

/*
 * Waits up to timeout_ms for one well-formed reply on the request socket. Returns 1 with *out
 * (caller frees), 0 on timeout, MC_ERR_INTERRUPTED. Malformed messages are dropped (warned).
 */
int mc_reply_recv(mc_client_t *c, int64_t timeout_ms, Mastery__V1__Reply **out);

/* Sets the fixed options of a new socket, and makes it a CURVE client when the client has keys. */
int mc_socket_setup(mc_client_t *c, void *sock, err_detail_t *d);

/* "no reply from EP within N ms (K attempts)". Returns MC_ERR_NO_REPLY. */
int mc_no_reply(const mc_client_t *c, int attempts, err_detail_t *d);

/* Whether the caller asked to stop (see mc_options_t.stop). */
bool mc_stopping(const mc_client_t *c);

#endif
