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
 *
 * Memory is bounded in bytes (ARCHITECTURE.md, "Bounded memory"): replies and events are
 * handed to libzmq zero-copy and counted until it releases them (peer_out_bytes, out_bytes);
 * what each tcp connection sent that was not yet taken is TCP_INFO's bytes received less what
 * was taken (peer_in_bytes, in_bytes); max_connections; a group commit's replies stop at
 * batch_reply_bytes. Past a budget a request is answered UNAVAILABLE or its connection dropped.
 * In secure mode the event socket is an XPUB that subscribes only keys that may read events.
 */
#ifndef MASTERY_SERVER_H
#define MASTERY_SERVER_H

#include <signal.h>

#include "conf.h"
#include "err.h"
#include "cluster.h"
#include "clusterkey.h"
#include "handler.h"
#include "store.h"

typedef struct server server_t;

/*
 * Creates the sockets and binds them (endpoints may use port "*": the bound endpoint is then
 * reported by server_endpoint()). Caller owns *out.
 *
 * With conf->clients_file set (secure mode) it starts the ZAP handler (auth), reads the CURVE
 * server secret key (creating the key pair on first start), makes both sockets CURVE servers
 * in ZAP domain "masteryd" with ZMQ_ZAP_ENFORCE_DOMAIN, and checks that they really are before
 * binding (ERR_INTERNAL otherwise). Without it (development mode) a non-loopback endpoint is
 * refused (ERR_FORBIDDEN). Errors of auth_new/curvekey_secret_read pass through (a key file
 * others may read: ERR_FORBIDDEN).
 */
int server_new(const conf_t *conf, store_t *st, handler_t *h, handler_stats_t *stats,
               server_t **out, err_detail_t *detail);

/*
 * What server_new checks before it opens a socket, without opening one (masteryd -n): the mode
 * (a CURVE key needs clients_file; development mode listens on loopback only) and, in secure
 * mode, the clients file and the CURVE secret key file, whose path is written to key_file
 * (key_cap bytes). A key file that does not exist yet is fine (*key_pending: server_new
 * creates it). Returns 0 or the first error, named as server_new would name it.
 */
int server_check_conf(const conf_t *conf, bool *key_pending, char *key_file, size_t key_cap,
                      err_detail_t *detail);

/* Frees sockets and context (pending replies get up to one second to leave); sets *s NULL. */
void server_destroy(server_t **s);

/* The bound endpoints (e.g. "tcp://127.0.0.1:40123"); borrowed, valid until destroy. */
const char *server_endpoint(const server_t *s);
const char *server_events_endpoint(const server_t *s);

/*
 * Runs the loop until *stop becomes non-zero (set from a signal handler). The batch in
 * progress when stop is set is finished: committed and answered. When *reload becomes non-zero
 * (SIGHUP; reload may be NULL) the clients file is re-read before the next message is taken:
 * on success the new list decides from then on, on failure the old one stays (logged).
 * Every request is authorized by the User-Id its CURVE handshake gave (the client's public
 * key), looked up in the list as it is when the request arrives. Returns 0, or an error
 * when the store fails in a way that cannot be retried.
 */
int server_run(server_t *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

/* Whether an endpoint is loopback-only (tcp on 127.0.0.0/8, ::1 or localhost; ipc; inproc). */
bool server_endpoint_is_loopback(const char *endpoint);

/* Cluster mode: from now on the loop takes tools' evidence and frameworks in through c's stream
 * (handler_intake) and applies what c fetched for this node's partitions (handler_stream_apply).
 * Everything it sends through NATS is sealed under key (clusterkey.h). c and key are borrowed
 * and must outlive the loop. Returns 0 or ERR_NOMEM. */
int server_set_cluster(server_t *s, cluster_t *c, clusterkey_t *key);

#endif
