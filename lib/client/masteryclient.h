/*
 * masteryclient: the C client of masteryd's wire protocol (proto/mastery/v1/mastery.proto),
 * as masteryctl speaks it. Link with `pkg-config --cflags --libs masteryclient`.
 *
 * A client is one ZeroMQ context and one DEALER socket connected to the daemon's request
 * endpoint. A request goes out as [""][Request], its reply comes back as [""][Reply] with the
 * same request_id. The library chooses the ids (12 random hex digits per client, then a dash
 * and a counter), so every reply is matched to its request, and a late reply to an earlier
 * attempt is recognised and dropped. Three ways to talk:
 *
 *   mc_call        one request, one reply. Resent byte for byte (same id) after each timeout
 *                  while attempts remain: give attempts > 1 only for requests that are safe
 *                  to repeat (reads; evidence, whose ids make a resend idempotent; status
 *                  changes). A framework load or a key rotation is sent once.
 *   mc_window_*    many requests in flight (a batch import): replies matched by id and handed
 *                  back in send order, each request resent at its own deadline, and a reply
 *                  UNAVAILABLE ("retry with the same ids") retried while attempts remain.
 *   mc_events_*    the event log from any seq: stored events page by page (ReadEvents), then,
 *                  when following, the live PUB stream, with every gap filled from the store
 *                  and every repeat skipped, so each seq is handed out once, in order.
 *   mc_sub_*       the live PUB stream alone, as the daemon sends it (it drops events for
 *                  slow subscribers): for measurements and for tools that want news only.
 *
 * Security: development mode (no keys), or CURVE with this client's secret key file and the
 * daemon's public key file (lib/curve's format, as `masteryctl keygen` writes them). The
 * secret key is read when a socket is made and wiped right after.
 *
 * Errors: functions return 0 (or a documented positive result) or a negative code: an ERR_*
 * of err.h or an MC_ERR_* below; mc_strerror() names both. A function that can fail takes an
 * err_detail_t *d (may be NULL), which then holds the code and a sentence for a person, such
 * as "no reply from tcp://127.0.0.1:7411 within 5000 ms (3 attempts)".
 *
 * Memory: messages are the protobuf-c types of mastery.pb-c.h. A request is the caller's and
 * is only read (its request_id is set for the call and put back). A reply the library hands
 * over is the caller's: free it with mc_reply_free(). Out of memory is ERR_NOMEM.
 *
 * Threads: a client and everything made from it are used by one thread at a time (hand-overs
 * need a memory barrier, such as pthread_create or a mutex). Clients are independent of each
 * other: each has its own context, so one per thread scales.
 *
 * Signals: with mc_options_t.stop set, a wait interrupted by a signal (EINTR; install the
 * handler without SA_RESTART) returns MC_ERR_INTERRUPTED if *stop is nonzero and otherwise
 * goes on waiting.
 */
#ifndef MASTERY_MASTERYCLIENT_H
#define MASTERY_MASTERYCLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mastery/v1/mastery.pb-c.h"

/* Failures of the conversation itself; every other failure is an ERR_* (err.h). */
enum {
    MC_ERR_STATUS = -64,      /* the daemon answered with a failure status, or with another
                                 kind of result than the request asks for: d->code is the
                                 ERR_* of the status (the wire codes match err.h one for one;
                                 ERR_INTERNAL for a wrong result), d->field and d->message are
                                 the daemon's (cut to err_detail_t's sizes) */
    MC_ERR_NO_REPLY = -65,    /* no reply within timeout_ms at each of the attempts, or libzmq
                                 could not queue a request within timeout_ms: unreachable */
    MC_ERR_INTERRUPTED = -66, /* a wait was interrupted by a signal and *stop was set */
};

#define MC_TIMEOUT_DEFAULT  5000 /* ms per attempt */
#define MC_ATTEMPTS_DEFAULT 3    /* sends in all, for requests that are safe to resend */
#define MC_EVENTS_PORT      "7412"
#define MC_FOLLOW_IDLE_MS   1000 /* following: catch up from the store when PUB is this quiet */
#define MC_QUEUE_UNLIMITED  (-1)
#define MC_MAX_MESSAGE      (256LL << 20) /* a bigger reply or event is refused by libzmq */

typedef struct mc_client mc_client_t;
typedef struct mc_window mc_window_t;
typedef struct mc_events mc_events_t;
typedef struct mc_sub mc_sub_t;

/* How to reach the daemon. Zero-initialise, then set endpoint (and the keys for CURVE). */
typedef struct mc_options {
    const char *endpoint;        /* request endpoint, e.g. "tcp://127.0.0.1:7411" (required) */
    const char *events_endpoint; /* event endpoint; NULL or "": the one the daemon reports in
                                    Health, asked for when a subscription first needs it */
    const char *key_file;        /* this client's CURVE secret key file; NULL: development mode */
    const char *server_key_file; /* the daemon's CURVE public key file; given with key_file */
    int timeout_ms;              /* per attempt, and for queueing a send; 0: MC_TIMEOUT_DEFAULT */
    int queue_limit;             /* messages queued each way on the request socket (ZMQ_SNDHWM,
                                    ZMQ_RCVHWM); 0: libzmq's default (1000);
                                    MC_QUEUE_UNLIMITED: no limit */
    volatile sig_atomic_t *stop; /* see Signals above; NULL: waits are never cut short */
    /* Called for what is skipped but worth a line ("dropped a malformed reply"); NULL: quiet.
     * message is borrowed for the call. */
    void (*warn)(void *arg, const char *message);
    void *warn_arg;
} mc_options_t;

/* ---- the client ------------------------------------------------------------------------- */

/*
 * Makes a client and connects it (libzmq connects in the background: an absent daemon shows as
 * MC_ERR_NO_REPLY on the first request, not here). With key_file, the socket is a CURVE client.
 * @param[in]  opt  borrowed for the call; its strings are copied.
 * @param[out] out  the client; caller owns it, free with mc_client_destroy().
 * @return 0; ERR_INVALID (no endpoint, only one of the key files, an endpoint libzmq refuses,
 *         CURVE refused by libzmq); ERR_NOT_FOUND, ERR_FORBIDDEN (a secret key file others may
 *         read), ERR_UNAVAILABLE (unreadable) or ERR_INVALID (not one Z85 key) for a key file;
 *         ERR_INTERNAL (libzmq cannot make a context or socket, or getrandom failed); ERR_NOMEM.
 */
int mc_client_new(const mc_options_t *opt, mc_client_t **out, err_detail_t *d);

/* Closes the client's sockets without waiting for unsent requests (linger 0), frees it, and sets
 * *c to NULL; a NULL *c is a no-op. Destroy windows, readers and subscriptions first. */
void mc_client_destroy(mc_client_t **c);

/* The request endpoint, and the event endpoint ("" when none is known). Borrowed; valid until
 * mc_client_destroy(). */
const char *mc_client_endpoint(const mc_client_t *c);
const char *mc_client_events_endpoint(const mc_client_t *c);

/* The timeout per attempt in ms (the default applied). */
int mc_client_timeout(const mc_client_t *c);

/*
 * The request socket, for zmq_poll() with the caller's own descriptors (ZMQ_POLLIN: a reply is
 * waiting; then call mc_window_wait()). Never send or receive on it. Borrowed; valid until
 * mc_client_destroy().
 */
void *mc_client_socket(mc_client_t *c);

/* ---- one request, one reply ------------------------------------------------------------ */

/*
 * Sends req and waits for its reply, resending the same bytes (same request_id) after each
 * timeout while sends remain. Replies to other requests that arrive meanwhile (late twins of
 * earlier attempts) are dropped: do not call this while a window of the same client has
 * requests in flight.
 * @param[in]  req       only read; its request_id is replaced for the call and put back.
 * @param[in]  attempts  sends in all (values below 1 mean 1).
 * @param[out] out       the reply, whatever its status; caller frees it with mc_reply_free().
 * @return 0; MC_ERR_NO_REPLY; MC_ERR_INTERRUPTED; ERR_NOMEM.
 */
int mc_call(mc_client_t *c, Mastery__V1__Request *req, int attempts, Mastery__V1__Reply **out,
            err_detail_t *d);

/*
 * Whether rep reports success with a result of kind want (MASTERY__V1__REPLY__RESULT__NOT_SET
 * for operations that answer with a status alone).
 * @return 0, or MC_ERR_STATUS with d filled as described there. rep stays the caller's.
 */
int mc_reply_check(const Mastery__V1__Reply *rep, Mastery__V1__Reply__ResultCase want,
                   err_detail_t *d);

/* Frees a reply from this library (NULL is a no-op). */
void mc_reply_free(Mastery__V1__Reply *rep);

/* ---- many requests in flight ------------------------------------------------------------ */

/*
 * A window of at most limit requests in flight on client c (which must outlive it).
 * @param[out] out  caller owns it, free with mc_window_destroy().
 * @return 0; ERR_INVALID (limit 0); ERR_NOMEM.
 */
int mc_window_new(mc_client_t *c, size_t limit, mc_window_t **out);

/* Frees the window and what it holds (packed requests, replies not taken; tags are the
 * caller's and are not touched); later replies to its requests are dropped. Sets *w to NULL. */
void mc_window_destroy(mc_window_t **w);

/*
 * Packs req with a new request id and sends it, or, with req NULL, queues a placeholder that is
 * answered at once with no reply: it keeps the caller's results of work that needed no request
 * in order with the replies.
 * @param[in] req       only read (as for mc_call); may be freed on return.
 * @param[in] attempts  sends in all before the window gives up on it (below 1 means 1).
 * @param[in] tag       the caller's, handed back by mc_window_take(); never dereferenced.
 * @return 0; ERR_LIMIT (limit entries are in the window); ERR_NOMEM; MC_ERR_NO_REPLY (libzmq
 *         could not queue it within the timeout: the entry stays, and mc_window_wait() resends
 *         it when its deadline passes).
 */
int mc_window_send(mc_window_t *w, Mastery__V1__Request *req, int attempts, void *tag,
                   err_detail_t *d);

/* Entries in the window: in flight, answered but not taken, and placeholders. */
size_t mc_window_count(const mc_window_t *w);

/* The earliest deadline of an unanswered request, on mc_now_ms()'s clock; INT64_MAX if none. */
int64_t mc_window_deadline(const mc_window_t *w);

/*
 * Receives at most one reply, waiting until the earliest deadline (or max_ms, when max_ms >= 0,
 * if that is sooner), and files it with its request; a reply to no request in the window is
 * dropped. A reply with status UNAVAILABLE does not answer a request that has sends left: it is
 * resent min(timeout, 500 ms) later. Then every request whose deadline passed is resent.
 * Returns at once (0) when no request is unanswered.
 * @param[out] expired  on MC_ERR_NO_REPLY for a request out of sends, its tag (else NULL); may
 *                      be NULL.
 * @return 0; MC_ERR_NO_REPLY (the window can go on: take what is answered, or destroy it);
 *         MC_ERR_INTERRUPTED (after the resends; nothing is lost).
 */
int mc_window_wait(mc_window_t *w, int max_ms, void **expired, err_detail_t *d);

/*
 * Takes the oldest entry if it is answered (entries come out in send order).
 * @param[out] tag    its tag.
 * @param[out] reply  its reply, caller frees with mc_reply_free(); NULL for a placeholder.
 * @return true if an entry was taken; false if the window is empty or its oldest entry waits.
 */
bool mc_window_take(mc_window_t *w, void **tag, Mastery__V1__Reply **reply);

/* Abandons the oldest entry, answered or not (a late reply is dropped), and gives back its tag.
 * Returns false if the window is empty. For cleaning up after an error. */
bool mc_window_cancel(mc_window_t *w, void **tag);

/* The monotonic clock of deadlines, in ms. */
int64_t mc_now_ms(void);

/* ---- the event log, stored then live ---------------------------------------------------- */

enum {
    MC_EVENTS_END = 0,   /* the stored log is read to its end (only without follow) */
    MC_EVENTS_EVENT = 1, /* *ev is the next event */
    MC_EVENTS_GAP = 2,   /* a live event came after events that are no longer in the store:
                            mc_events_gap() names them; the live event comes next */
};

/*
 * A reader of the event log from seq from_seq (0 means 1) on client c (which must outlive it):
 * the stored events through ReadEvents, page by page; with follow, then live events, switching
 * without gaps or repeats. Following subscribes to every event on the event endpoint (with the
 * client's CURVE keys) before the first page is read, so nothing falls between the two; when
 * PUB is quiet for MC_FOLLOW_IDLE_MS the reader reads the store again, so an event PUB dropped
 * is found even when nothing follows it.
 * @param[out] out  caller owns it, free with mc_events_destroy().
 * @return 0; ERR_INVALID (follow without an event endpoint; an endpoint libzmq refuses; CURVE
 *         refused); a key file's errors (see mc_client_new); ERR_INTERNAL; ERR_NOMEM.
 */
int mc_events_open(mc_client_t *c, uint64_t from_seq, bool follow, mc_events_t **out,
                   err_detail_t *d);

/* Frees the reader (and closes its subscription); sets *r to NULL; NULL *r is a no-op. */
void mc_events_destroy(mc_events_t **r);

/*
 * The next event in seq order. Requests (ReadEvents, MC_ATTEMPTS_DEFAULT sends each) and waits
 * happen inside; following, it waits until an event comes.
 * @param[out] ev  on MC_EVENTS_EVENT, the event; borrowed, valid until the next call of
 *                 mc_events_next() or mc_events_destroy().
 * @return MC_EVENTS_EVENT; MC_EVENTS_END; MC_EVENTS_GAP; MC_ERR_STATUS (ReadEvents refused,
 *         e.g. FORBIDDEN for a tool's key); MC_ERR_NO_REPLY; MC_ERR_INTERRUPTED; ERR_INTERNAL
 *         (polling failed); ERR_NOMEM.
 */
int mc_events_next(mc_events_t *r, const Mastery__V1__Event **ev, err_detail_t *d);

/* After MC_EVENTS_GAP: the first and last seq missing. */
void mc_events_gap(const mc_events_t *r, uint64_t *first, uint64_t *last);

/* The newest seq handed out or passed over (where reading would resume). */
uint64_t mc_events_last(const mc_events_t *r);

/* ---- the live stream alone -------------------------------------------------------------- */

/*
 * Subscribes to live events whose topic starts with prefix ("" for all; topics are
 * "<kind>/<learner>/" and "framework_loaded/<framework>/") on c's event endpoint, with c's
 * CURVE keys. The subscription may be handed to another thread (see Threads); c must outlive it.
 * @param[in]  queue  events queued before PUB drops (ZMQ_RCVHWM; 0: no limit).
 * @param[out] out    caller owns it, free with mc_sub_destroy().
 * @return as mc_events_open().
 */
int mc_sub_new(mc_client_t *c, const char *prefix, int queue, mc_sub_t **out, err_detail_t *d);

/* Closes and frees the subscription; sets *s to NULL; NULL *s is a no-op. */
void mc_sub_destroy(mc_sub_t **s);

/*
 * Waits up to timeout_ms (0: do not wait; -1: no limit) for one event. Messages that are not
 * [topic][Event] are skipped.
 * @param[out] ev  the event; caller frees it with mc_event_free().
 * @return 1 with *ev; 0 if none came in time; MC_ERR_INTERRUPTED; ERR_INTERNAL (polling failed).
 */
int mc_sub_recv(mc_sub_t *s, int timeout_ms, Mastery__V1__Event **ev, err_detail_t *d);

/* Frees an event from mc_sub_recv() (NULL is a no-op). */
void mc_event_free(Mastery__V1__Event *ev);

/* ---- names ------------------------------------------------------------------------------- */

/* The wire name of a status code without its prefix ("INVALID"), "UNKNOWN" for a code this
 * client does not know. Static. */
const char *mc_status_name(int code);

/* "NO_REPLY", "INTERRUPTED", "STATUS" for MC_ERR_*; err_str() otherwise. Static. */
const char *mc_strerror(int rc);

/*
 * Asks the daemon (Health) for its event endpoint, unless the client has one already (given in
 * mc_options_t, or asked for before). A wildcard bind is resolved with
 * mc_events_endpoint_resolve(); a daemon that does not report one (older than this library)
 * gets mc_events_endpoint_default(). Called by the subscription functions; call it yourself to
 * learn the endpoint before subscribing (mc_client_events_endpoint() then names it).
 * @return 0; what mc_call() and mc_reply_check() return; ERR_INVALID; ERR_NOMEM.
 */
int mc_events_endpoint_discover(mc_client_t *c, err_detail_t *d);

/*
 * The endpoint to connect to for an event endpoint the daemon bound (bound, as Health reports
 * it), given the request endpoint the client uses: a wildcard host ("*", "0.0.0.0", "[::]")
 * becomes the request endpoint's host; anything else is used as it is.
 * @return 0; ERR_INVALID (bound empty, or out too small: out is then "").
 */
int mc_events_endpoint_resolve(const char *endpoint, const char *bound, char *out, size_t size);

/*
 * The daemon's default event endpoint for a request endpoint: the same host on port
 * MC_EVENTS_PORT for tcp:// ("tcp://host:7411" -> "tcp://host:7412"); "" for other transports
 * or when out is too small. out receives a NUL-terminated string of at most size bytes.
 */
void mc_events_endpoint_default(const char *endpoint, char *out, size_t size);

#endif
