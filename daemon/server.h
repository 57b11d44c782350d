/*
 * server: the ZeroMQ side. A ROUTER socket for requests, a PUB socket for events, and the loop
 * that batches requests into group commits:
 *
 *   poll -> drain up to max_group waiting requests (decoding each; a malformed one is answered
 *   at once) -> apply them all in one write transaction -> commit -> reply to every one ->
 *   publish the batch's events.
 *
 * No reply leaves before its commit returned 0. Replies are sent without blocking: a client
 * that is gone or not reading loses its reply (it retries with the same ids; evidence is
 * idempotent) instead of stalling everyone else. The only module that includes zmq.h.
 */
#ifndef MASTERY_SERVER_H
#define MASTERY_SERVER_H

#include <signal.h>

#include "conf.h"
#include "err.h"
#include "handler.h"
#include "store.h"

typedef struct server server_t;

/*
 * Creates the sockets and binds them (endpoints may use port "*": the bound endpoint is then
 * reported by server_endpoint()). Refuses (ERR_FORBIDDEN) a non-loopback endpoint, since this
 * build has no authentication configured (development mode). Caller owns *out.
 */
int server_new(const conf_t *conf, store_t *st, handler_t *h, handler_stats_t *stats,
               server_t **out, err_detail_t *detail);

/* Frees sockets and context (pending replies get up to one second to leave); sets *s NULL. */
void server_destroy(server_t **s);

/* The bound endpoints (e.g. "tcp://127.0.0.1:40123"); borrowed, valid until destroy. */
const char *server_endpoint(const server_t *s);
const char *server_events_endpoint(const server_t *s);

/*
 * Runs the loop until *stop becomes non-zero (set from a signal handler). The batch in
 * progress when stop is set is finished: committed and answered. Returns 0, or an error
 * when the store fails in a way that cannot be retried.
 */
int server_run(server_t *s, volatile sig_atomic_t *stop);

/* Whether an endpoint is loopback-only (tcp on 127.0.0.0/8, ::1 or localhost; ipc; inproc). */
bool server_endpoint_is_loopback(const char *endpoint);

#endif
