#include "server.h"

#include <errno.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received (glibc's lacks it) */
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zmq.h>

#include "auth.h"
#include "cluster.h"
#include "clusterkey.h"
#include "log.h"

/* A draft option in libzmq 4.3's header, implemented by the library since 4.2.3; setting it is
 * checked (and read back) at start, so a library without it refuses to start secure mode. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define RID_MAX      256
#define ENDPOINT_MAX 1024

#define MON_ROUTER     "inproc://masteryd-monitor-router"
#define MON_PUB        "inproc://masteryd-monitor-pub"
#define HANDSHAKE_ROOM 4096 /* greeting and handshake bytes a connection sends before requests */
#define REFUSAL_ROOM   (64 * 1024) /* unread bytes past peer_out_bytes that refusals may use */
#define SWEEP_MS       20          /* how often connections' byte counts are checked */

/*
 * One tcp connection, by the file descriptor libzmq gave it (the monitor tells us when it is
 * accepted and closed; a request's ZMQ_SRCFD names it). We only read its TCP_INFO and, to drop
 * it, shut it down: libzmq then sees the error and frees everything it holds for it. A conn is
 * reused when the kernel reuses its fd, and freed only after zmq_ctx_term, so libzmq's I/O
 * thread may still release bytes into it (sent_release) at any time before that.
 */
typedef struct conn {
    _Atomic uint64_t out;         /* reply bytes handed to libzmq and not yet released by it */
    uint64_t part;                /* reply bytes built in the group commit running, not yet sent */
    uint64_t taken;               /* wire bytes of the frames we have taken from it */
    uint64_t unread;              /* received by the kernel but not taken, at the last sweep */
    bool open;                    /* accepted, neither closed nor dropped since */
    bool events;                  /* on the event endpoint: it only ever sends subscriptions */
    bool shut;                    /* we shut it down (refused or dropped): never answered */
    struct sockaddr_storage peer; /* checked again before a shutdown: the fd must be ours */
    socklen_t peer_len;
} conn_t;

/* The hint of a reply or event handed to libzmq: what to give back when it releases it. */
typedef struct sent {
    _Atomic uint64_t *total;
    conn_t *conn; /* NULL: not attributable (an event, a connection we do not know) */
    size_t len;
} sent_t;

typedef struct pending {
    uint8_t rid[RID_MAX];
    size_t rid_len;
    conn_t *conn; /* the connection it came on (NULL: unknown) */
    wire_request_t *req;
    const auth_client_t *client; /* secure mode: who sent it (borrowed from auth) */
    uint8_t *reply;
    size_t reply_len;
    bool done; /* cluster mode: answered by the intake, not part of the group commit */
} pending_t;

/* Cluster mode: a framework request taken in here, answered when this node applies the stream
 * message that carries it (its sequence), or UNAVAILABLE at its deadline. */
typedef struct waiter {
    uint64_t seq;
    uint8_t rid[RID_MAX];
    size_t rid_len;
    conn_t *conn;
    char *request_id; /* the client's, whole: it matches the answer by it (owned) */
    int64_t deadline;
} waiter_t;

#define CLUSTER_TAKE  1024        /* stream messages applied in one group commit, at most */
#define WAITERS_MAX   4096        /* clients waiting for an answer from the cluster, at most */
#define WAITERS_BYTES (16u << 20) /* and the bytes of their request ids, at most */
#define LATER_MAX_MS                                                                               \
    30000 /* an item's framework may take this long to arrive; then it is                          \
             refused (logged), so its partition never stops for good */

struct server {
    const conf_t *conf;
    store_t *store;
    handler_t *handler;
    handler_stats_t *stats;
    void *ctx;
    void *router;
    void *pub;
    char endpoint[ENDPOINT_MAX];
    char events_endpoint[ENDPOINT_MAX];
    pending_t *batch;
    size_t n_batch;
    size_t batch_bytes; /* request bytes in the batch: draining stops at 8x max_frame */
    void *mon[2];       /* PAIR sockets: the monitor events of router and pub */
    conn_t **conns;     /* by fd; entries live until server_destroy */
    size_t conns_cap;
    size_t conns_open;
    _Atomic uint64_t out_total; /* replies and events handed to libzmq, not yet released */
    uint64_t in_total;          /* received, not taken, over all connections (last sweep) */
    int64_t last_sweep;
    int64_t last_review_sweep; /* review_sweep_ms apart */
    int64_t last_request;      /* when the last batch ran: write-behind sweeps when idle */
    int64_t wb_warned;         /* when a failed write-behind step was last logged */
    uint64_t conns_refused;    /* over max_connections, since start */
    uint64_t conns_dropped;    /* over a byte budget, since start */
    auth_t *auth;              /* NULL in development mode */
    int64_t refusal_window;    /* start of the current minute of refused-handshake logging */
    uint64_t refusals;         /* refused handshakes in it */
    volatile sig_atomic_t *reload;
    cluster_t *cluster; /* cluster mode (borrowed from main); NULL: a single node */
    clusterkey_t *ckey; /* what goes through NATS is sealed under it (borrowed from main) */
    waiter_t *waiters;  /* framework requests waiting for their application here */
    size_t n_waiters, cap_waiters;
    size_t waiter_bytes;      /* request ids the waiters hold */
    cluster_entry_t *entries; /* CLUSTER_TAKE, taken from the cluster for one group commit */
    uint64_t next_token;      /* forwarded reads' waiters (above any stream sequence) */
    uint64_t (*later)[2];     /* per partition: the sequence put off, since when (ms) */
    bool *off;                /* per partition and the frameworks: put off in this commit */
};

static int monitors_start(server_t *s, err_detail_t *d);
static void publish_events(server_t *s);

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool server_endpoint_is_loopback(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
        return true;
    if (strncmp(ep, "tcp://", 6) != 0)
        return false;
    const char *host = ep + 6;
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost:", 10) == 0 ||
           strncmp(host, "[::1]:", 6) == 0;
}

static int bind_socket(void *sock, const char *ep, char *bound, err_detail_t *d, const char *field)
{
    if (zmq_bind(sock, ep) != 0)
        return err_set(d, ERR_UNAVAILABLE, field, "cannot bind %s: %s", ep,
                       zmq_strerror(zmq_errno()));
    size_t len = ENDPOINT_MAX;
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        snprintf(bound, ENDPOINT_MAX, "%s", ep);
    return 0;
}

/* Secret key file: the configured one, or DATA_DIR/curve.key. */
static int key_path(const conf_t *conf, char *out, size_t size, err_detail_t *d)
{
    int n = conf->curve_secret_key_file[0] ? snprintf(out, size, "%s", conf->curve_secret_key_file)
                                           : snprintf(out, size, "%s/curve.key", conf->data_dir);
    if (n < 0 || (size_t)n >= size)
        return err_set(d, ERR_INVALID, "curve_secret_key_file", "path too long");
    return 0;
}

/*
 * Secure mode: the ZAP handler (bound before any other socket of the context), the server key
 * pair (generated on first start), CURVE on both sockets, and a check that they really use it.
 */
static int secure_sockets(server_t *s, err_detail_t *d)
{
    const conf_t *conf = s->conf;
    if (!zmq_has("curve"))
        return err_set(d, ERR_INTERNAL, "clients_file",
                       "this libzmq has no CURVE support; cannot authenticate clients");
    int rc = auth_new(s->ctx, conf->clients_file, &s->auth, d);
    if (rc != 0)
        return rc;
    char path[CONF_STR_MAX + 32], pub[AUTH_Z85_LEN + 1];
    uint8_t secret[AUTH_KEY_LEN];
    if ((rc = key_path(conf, path, sizeof path, d)) != 0)
        return rc;
    rc = curvekey_secret_read(path, secret, pub, d);
    if (rc == ERR_NOT_FOUND) {
        if ((rc = curvekey_pair_create(path, NULL, d)) != 0)
            return rc;
        log_info("generated the CURVE server key pair: %s (secret, mode 0600) and %s.pub", path,
                 path);
        rc = curvekey_secret_read(path, secret, pub, d);
    }
    if (rc != 0)
        return rc;
    int one = 1;
    const char *domain = AUTH_ZAP_DOMAIN;
    void *socks[2] = {s->router, s->pub};
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (zmq_setsockopt(socks[i], ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
            zmq_setsockopt(socks[i], ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0 ||
            zmq_setsockopt(socks[i], ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(socks[i], ZMQ_CURVE_SECRETKEY, secret, sizeof secret) != 0)
            rc = err_set(d, ERR_INTERNAL, "clients_file", "cannot enable CURVE: %s",
                         zmq_strerror(zmq_errno()));
    }
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc != 0)
        return rc;
    /* Trust, but verify: a socket that is not a CURVE server would accept anyone. */
    for (int i = 0; i < 2; i++) {
        int mech = -1, server = 0, enforce = 0;
        size_t len = sizeof mech;
        zmq_getsockopt(socks[i], ZMQ_MECHANISM, &mech, &len);
        len = sizeof server;
        zmq_getsockopt(socks[i], ZMQ_CURVE_SERVER, &server, &len);
        len = sizeof enforce;
        zmq_getsockopt(socks[i], ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, &len);
        if (mech != ZMQ_CURVE || server != 1 || enforce != 1)
            return err_set(d, ERR_INTERNAL, "clients_file",
                           "socket %d does not use CURVE after configuring it; refusing to start",
                           i);
    }
    log_info("CURVE on; server public key %s (%s.pub); %zu clients listed in %s", pub, path,
             auth_clients_count(auth_clients(s->auth)), conf->clients_file);
    return 0;
}

/* The mode: CURVE needs a clients file; development mode listens on loopback only. */
static int mode_check(const conf_t *conf, err_detail_t *d)
{
    bool secure = conf->clients_file[0] != '\0';
    if (!secure && conf->curve_secret_key_file[0] != '\0')
        return err_set(d, ERR_INVALID, "curve_secret_key_file",
                       "a CURVE key without clients_file: set clients_file to enable CURVE");
    if (!secure && !server_endpoint_is_loopback(conf->listen))
        return err_set(d, ERR_FORBIDDEN, "listen",
                       "%s is not a loopback address; without CURVE keys masteryd runs in "
                       "development mode and listens on loopback only",
                       conf->listen);
    if (conf->peer_in_bytes < 2 * conf->max_frame + HANDSHAKE_ROOM)
        return err_set(d, ERR_INVALID, "peer_in_bytes",
                       "%llu is less than 2 x max_frame + %d: a client's largest request would "
                       "drop its connection",
                       (unsigned long long)conf->peer_in_bytes, HANDSHAKE_ROOM);
    if (!secure && !server_endpoint_is_loopback(conf->events))
        return err_set(d, ERR_FORBIDDEN, "events",
                       "%s is not a loopback address (development mode: loopback only)",
                       conf->events);
    return 0;
}

int server_check_conf(const conf_t *conf, bool *key_pending, char *key_file, size_t key_cap,
                      err_detail_t *d)
{
    *key_pending = false;
    int rc = mode_check(conf, d);
    if (rc != 0 || conf->clients_file[0] == '\0')
        return rc;
    auth_clients_t *clients = NULL;
    rc = auth_clients_load(conf->clients_file, &clients, d);
    auth_clients_destroy(&clients);
    if (rc != 0 || (rc = key_path(conf, key_file, key_cap, d)) != 0)
        return rc;
    uint8_t secret[AUTH_KEY_LEN];
    rc = curvekey_secret_read(key_file, secret, NULL, d);
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc == ERR_NOT_FOUND) {
        *key_pending = true;
        return 0;
    }
    return rc;
}

int server_new(const conf_t *conf, store_t *st, handler_t *h, handler_stats_t *stats,
               server_t **out, err_detail_t *d)
{
    bool secure = conf->clients_file[0] != '\0';
    int rc = mode_check(conf, d);
    if (rc != 0)
        return rc;
    server_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return err_set(d, ERR_NOMEM, "server", "out of memory");
    s->conf = conf;
    s->store = st;
    s->handler = h;
    s->stats = stats;
    s->batch = calloc(conf->max_group, sizeof *s->batch);
    s->ctx = zmq_ctx_new();
    if (s->batch == NULL || s->ctx == NULL) {
        rc = err_set(d, ERR_NOMEM, "server", "out of memory");
        goto fail;
    }
    s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
    /* Secure mode: an XPUB that hands us every subscription with its subscriber's User-Id, and
     * subscribes only those who may read events (subscriptions_drain). */
    s->pub = zmq_socket(s->ctx, secure ? ZMQ_XPUB : ZMQ_PUB);
    if (s->router == NULL || s->pub == NULL) {
        rc = err_set(d, ERR_INTERNAL, "server", "zmq_socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* Frames up to max_frame are answered; up to twice that they are read and refused with a
     * reply naming the limit; beyond, libzmq drops the connection before buffering them. */
    int64_t maxmsg = (int64_t)conf->max_frame * 2;
    int one = 1, linger = 1000, handshake = 10000, pub_linger = 0;
    int sndhwm = (int)conf->send_hwm, rcvhwm = (int)conf->recv_hwm;
    zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(s->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake);
    zmq_setsockopt(s->router, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(s->router, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    zmq_setsockopt(s->pub, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(s->pub, ZMQ_LINGER, &pub_linger, sizeof pub_linger);
    zmq_setsockopt(s->pub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (secure && zmq_setsockopt(s->pub, ZMQ_XPUB_MANUAL, &one, sizeof one) != 0) {
        rc = err_set(d, ERR_INTERNAL, "events", "ZMQ_XPUB_MANUAL: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (secure && (rc = secure_sockets(s, d)) != 0)
        goto fail;
    if ((rc = monitors_start(s, d)) != 0)
        goto fail;
    if ((rc = bind_socket(s->router, conf->listen, s->endpoint, d, "listen")) != 0 ||
        (rc = bind_socket(s->pub, conf->events, s->events_endpoint, d, "events")) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    server_destroy(&s);
    return rc;
}

void server_destroy(server_t **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    server_t *s = *sp;
    if (s->router)
        zmq_close(s->router);
    if (s->pub)
        zmq_close(s->pub);
    for (int i = 0; i < 2; i++)
        if (s->mon[i])
            zmq_close(s->mon[i]);
    auth_destroy(&s->auth);
    if (s->ctx)
        zmq_ctx_term(s->ctx); /* libzmq has released every reply and event after this */
    for (size_t i = 0; i < s->conns_cap; i++)
        free(s->conns[i]);
    free(s->conns);
    free(s->batch);
    for (size_t i = 0; i < s->n_waiters; i++)
        free(s->waiters[i].request_id); /* unanswered at shutdown: they retry */
    free(s->waiters);
    free(s->entries);
    free(s->later);
    free(s->off);
    free(s);
    *sp = NULL;
}

const char *server_endpoint(const server_t *s)
{
    return s->endpoint;
}

const char *server_events_endpoint(const server_t *s)
{
    return s->events_endpoint;
}

/* ---- byte budgets: what libzmq holds for us, what connections sent us ----------------------- */

/* libzmq's free function for a message we handed it (its I/O thread, or ours on a failed
 * send): the bytes leave the budgets. The only code that runs on another thread. */
static void sent_release(void *data, void *hint)
{
    sent_t *t = hint;
    atomic_fetch_sub(t->total, t->len);
    if (t->conn)
        atomic_fetch_sub(&t->conn->out, t->len);
    free(data);
    free(t);
}

/*
 * Sends data (malloc'd; takes ownership) as one frame without copying, counted in out_total
 * and conn->out until libzmq releases it. more: ZMQ_SNDMORE or 0. Returns 0 or -1 (errno as
 * zmq's; data is freed either way).
 */
static int send_counted(server_t *s, void *sock, conn_t *conn, uint8_t *data, size_t len, int more)
{
    zmq_msg_t m;
    sent_t *t = malloc(sizeof *t);
    if (t == NULL || zmq_msg_init_data(&m, data, len, sent_release, t) != 0) {
        free(t);
        free(data);
        return -1;
    }
    *t = (sent_t){&s->out_total, conn, len};
    atomic_fetch_add(&s->out_total, len);
    if (conn)
        atomic_fetch_add(&conn->out, len);
    if (zmq_msg_send(&m, sock, more | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m); /* releases through sent_release */
        return -1;
    }
    return 0;
}

/* Sends [rid][""][data] without blocking; takes ownership of data (malloc'd). A peer that is
 * gone or full loses the reply. */
static void send_reply(server_t *s, const uint8_t *rid, size_t rid_len, conn_t *conn, uint8_t *data,
                       size_t len)
{
    if (zmq_send(s->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        log_debug("reply dropped: %s", zmq_strerror(zmq_errno()));
        free(data);
        return;
    }
    zmq_send(s->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    send_counted(s, s->router, conn, data, len, 0);
}

static void send_error(server_t *s, const uint8_t *rid, size_t rid_len, conn_t *conn,
                       const char *request_id, const err_detail_t *d)
{
    uint8_t *buf;
    size_t len;
    if (handler_error_reply(request_id, d->code, d->field, d->message, &buf, &len) != 0)
        return;
    send_reply(s, rid, rid_len, conn, buf, len);
}

/* The conn of a file descriptor, created on first use; NULL when out of memory. */
static conn_t *conn_at(server_t *s, int fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= s->conns_cap) {
        size_t cap = s->conns_cap ? s->conns_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        conn_t **v = realloc(s->conns, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        memset(v + s->conns_cap, 0, (cap - s->conns_cap) * sizeof *v);
        s->conns = v;
        s->conns_cap = cap;
    }
    if (s->conns[fd] == NULL && (s->conns[fd] = calloc(1, sizeof(conn_t))) == NULL)
        return NULL;
    return s->conns[fd];
}

/* Wire bytes of one frame of `size` bytes (ZMTP 3.0: a short or long frame header; CURVE
 * wraps each in a MESSAGE command: name, nonce, MAC and flags, 33 bytes). */
static uint64_t frame_wire_bytes(const server_t *s, size_t size)
{
    size_t body = s->auth ? size + 33 : size;
    return body + (body <= 255 ? 2 : 9);
}

/*
 * Drops a connection: shutdown(2) on libzmq's descriptor (never close: the fd stays libzmq's),
 * which its I/O thread sees as an error; it then frees the connection's queues, including a
 * multipart message it never delivered. Only a connection the monitor announced and that still
 * has the peer address it had then, so a reused descriptor is never touched.
 */
static void conn_drop(server_t *s, int fd, const char *why, uint64_t bytes)
{
    conn_t *c = s->conns[fd];
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (!c->open || getpeername(fd, (struct sockaddr *)&peer, &len) != 0 || len != c->peer_len ||
        memcmp(&peer, &c->peer, len) != 0)
        return;
    shutdown(fd, SHUT_RDWR);
    c->open = false;
    c->shut = true;
    s->conns_open--;
    s->conns_dropped++;
    log_info("dropped a connection (fd %d): %s (%llu bytes)", fd, why, (unsigned long long)bytes);
}

/* Starts the record of a connection on fd (a request connection, or one of the event
 * endpoint when events is set). */
static void conn_open(server_t *s, conn_t *c, bool events, int fd)
{
    c->taken = 0;
    c->unread = 0;
    c->events = events;
    c->shut = false;
    c->peer_len = sizeof c->peer;
    if (getpeername(fd, (struct sockaddr *)&c->peer, &c->peer_len) != 0)
        c->peer_len = 0;
    s->conns_open++;
    c->open = true;
}

static void monitor_event(server_t *s, bool events, uint16_t ev, int fd)
{
    if (ev == ZMQ_EVENT_ACCEPTED) {
        conn_t *c = conn_at(s, fd);
        if (c && c->open) { /* a reused fd: the DISCONNECTED of its last connection never came */
            c->open = false;
            s->conns_open--;
        }
        if (c == NULL || s->conns_open >= s->conf->max_connections) {
            /* Refused before its handshake: libzmq frees what it allocated for it. */
            shutdown(fd, SHUT_RDWR);
            if (c)
                c->shut = true;
            s->conns_refused++;
            if ((s->conns_refused & (s->conns_refused - 1)) == 0) /* 1st, 2nd, 4th, ... */
                log_info("connection refused: max_connections (%llu) open; %llu refused so far",
                         (unsigned long long)s->conf->max_connections,
                         (unsigned long long)s->conns_refused);
            return;
        }
        conn_open(s, c, events, fd);
    } else if (fd >= 0 && (size_t)fd < s->conns_cap && s->conns[fd] && s->conns[fd]->open &&
               s->conns[fd]->events == events) {
        /* ZMQ_EVENT_DISCONNECTED or ZMQ_EVENT_CLOSED, of a connection of this socket: the two
         * monitors are drained one after the other, so a subscriber's DISCONNECTED can come
         * after a request connection reusing its fd was ACCEPTED, and must not close that one
         * (its requests would never be answered). */
        s->conns[fd]->open = false;
        s->conns_open--;
    }
}

/* Reads every waiting monitor event: [u16 event][u32 value (the fd)] [endpoint]. */
static void monitor_drain(server_t *s)
{
    for (int i = 0; i < 2; i++) {
        for (;;) {
            zmq_msg_t ev;
            zmq_msg_init(&ev);
            if (zmq_msg_recv(&ev, s->mon[i], ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&ev);
                break;
            }
            if (zmq_msg_size(&ev) >= 6) {
                uint16_t id;
                int32_t fd;
                memcpy(&id, zmq_msg_data(&ev), 2);
                memcpy(&fd, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
                monitor_event(s, i == 1, id, fd);
            }
            while (zmq_msg_more(&ev)) { /* the endpoint */
                zmq_msg_close(&ev);
                zmq_msg_init(&ev);
                if (zmq_msg_recv(&ev, s->mon[i], 0) < 0)
                    break;
            }
            zmq_msg_close(&ev);
        }
    }
}

static int monitors_start(server_t *s, err_detail_t *d)
{
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED;
    const char *ep[2] = {MON_ROUTER, MON_PUB};
    void *sock[2] = {s->router, s->pub};
    for (int i = 0; i < 2; i++) {
        int hwm = 0; /* an event lost would leave a connection counted forever */
        if (zmq_socket_monitor(sock[i], ep[i], events) != 0 ||
            (s->mon[i] = zmq_socket(s->ctx, ZMQ_PAIR)) == NULL ||
            zmq_setsockopt(s->mon[i], ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
            zmq_connect(s->mon[i], ep[i]) != 0)
            return err_set(d, ERR_INTERNAL, "server", "cannot monitor connections: %s",
                           zmq_strerror(zmq_errno()));
    }
    return 0;
}

/*
 * Every SWEEP_MS: each tcp connection's bytes received (TCP_INFO) less the bytes we took from
 * it is what libzmq holds for it: queued requests and any unfinished multipart message, which
 * libzmq never shows us. Past peer_in_bytes, or the largest when all together pass in_bytes,
 * the connection is dropped; likewise the one with the most unread replies when out_total
 * passes out_bytes.
 */
static void budgets_sweep(server_t *s)
{
    int64_t now = now_ms();
    if (now - s->last_sweep < SWEEP_MS)
        return;
    s->last_sweep = now;
    monitor_drain(s);
    uint64_t in_total = 0, in_max = 0, out_max = 0;
    int in_fd = -1, out_fd = -1;
    for (size_t fd = 0; fd < s->conns_cap; fd++) {
        conn_t *c = s->conns[fd];
        if (c == NULL || !c->open)
            continue;
        uint64_t out = atomic_load(&c->out);
        if (out > out_max)
            out_max = out, out_fd = (int)fd;
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        if (getsockopt((int)fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
            len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
            continue; /* ipc: a local peer; its queue is bounded by recv_hwm */
        uint64_t got = ti.tcpi_bytes_received, done = c->taken + HANDSHAKE_ROOM;
        c->unread = got > done ? got - done : 0;
        in_total += c->unread;
        if (c->unread > in_max)
            in_max = c->unread, in_fd = (int)fd;
        if (c->unread > s->conf->peer_in_bytes)
            conn_drop(s, (int)fd, "more unread request bytes than peer_in_bytes", c->unread);
    }
    s->in_total = in_total;
    if (in_total > s->conf->in_bytes && in_fd >= 0)
        conn_drop(s, in_fd, "the most unread request bytes while all pass in_bytes", in_max);
    if (atomic_load(&s->out_total) > s->conf->out_bytes && out_fd >= 0)
        conn_drop(s, out_fd, "the most unread reply bytes while all pass out_bytes", out_max);
}

/*
 * A request from a connection whose unread replies (with those its group commit is building)
 * reach peer_out_bytes, or while everyone's reach out_bytes, is not applied: it is answered
 * UNAVAILABLE, to retry once the replies are read. A connection whose unread replies pass
 * out_drop_bytes() reads nothing, not even refusals: it is dropped, unanswered. Returns false
 * when the request may be applied; true with *reply the refusal (malloc'd) or NULL.
 */
static uint64_t out_drop_bytes(const conf_t *conf)
{
    uint64_t reply_max = conf->page_bytes > conf->max_frame ? conf->page_bytes : conf->max_frame;
    return conf->peer_out_bytes + 2 * reply_max + REFUSAL_ROOM;
}

static bool out_refused(server_t *s, const pending_t *p, uint8_t **reply, size_t *len)
{
    uint64_t out = p->conn ? atomic_load(&p->conn->out) : 0;
    uint64_t mine = out + (p->conn ? p->conn->part : 0);
    uint64_t all = atomic_load(&s->out_total);
    *reply = NULL;
    *len = 0;
    if (mine < s->conf->peer_out_bytes && all < s->conf->out_bytes)
        return false;
    if (out >= out_drop_bytes(s->conf)) {
        for (size_t fd = 0; fd < s->conns_cap; fd++)
            if (s->conns[fd] == p->conn)
                conn_drop(s, (int)fd, "its unread replies pass peer_out_bytes by far", out);
        return true;
    }
    err_detail_t d;
    if (mine >= s->conf->peer_out_bytes)
        err_set(&d, ERR_UNAVAILABLE, "peer_out_bytes",
                "%llu bytes of replies to this connection are unread (peer_out_bytes %llu): "
                "read them, then retry",
                (unsigned long long)mine, (unsigned long long)s->conf->peer_out_bytes);
    else
        err_set(&d, ERR_UNAVAILABLE, "out_bytes",
                "the daemon holds %llu bytes of unread replies (out_bytes %llu): retry later",
                (unsigned long long)all, (unsigned long long)s->conf->out_bytes);
    if (handler_error_reply(p->req->request_id, d.code, d.field, d.message, reply, len) != 0)
        *reply = NULL;
    return true;
}

/* Receives one multipart message; returns 1 when a request joined the batch, 0 when it was
 * answered or dropped, -1 when nothing was waiting. */
static int receive_one(server_t *s)
{
    pending_t *p = &s->batch[s->n_batch];
    zmq_msg_t frames[3];
    int kept = 0, n = 0, more = 1;
    conn_t *conn = NULL;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->router, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < kept; i++)
                zmq_msg_close(&frames[i]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n == 1) {
            /* The first frame is the routing id the ROUTER made (no fd); this one came over
             * the wire and names its connection. */
            int fd = zmq_msg_get(&m, ZMQ_SRCFD);
            conn = fd >= 0 && (size_t)fd < s->conns_cap ? s->conns[fd] : NULL;
            if (fd >= 0 && (conn == NULL || !conn->open || conn->events)) {
                monitor_drain(s); /* its ACCEPTED was queued before its first message */
                conn = conn_at(s, fd);
                /* The two monitors are drained one after the other, so the late ACCEPTED and
                 * DISCONNECTED of an event connection that had this fd before can be read after
                 * this one's ACCEPTED and undo it. A request proves the fd is a request
                 * connection now: only one we shut down ourselves stays unanswered. */
                if (conn && !conn->shut && (!conn->open || conn->events)) {
                    if (conn->open)
                        s->conns_open--;
                    conn_open(s, conn, false, fd);
                }
            }
        }
        if (n >= 1 && conn)
            conn->taken += frame_wire_bytes(s, zmq_msg_size(&m));
        if (kept < 3) {
            zmq_msg_init(&frames[kept]);
            zmq_msg_move(&frames[kept++], &m);
        }
        zmq_msg_close(&m); /* frames past the third are counted, not kept */
        n++;
    }
    int extra = n - kept;
    int rc = 0;
    err_detail_t d;
    err_clear(&d);
    size_t rid_len = zmq_msg_size(&frames[0]);
    if (rid_len > RID_MAX)
        goto out; /* libzmq's own ids are 5 bytes; a longer one cannot come from it */
    if (conn && !conn->open)
        goto out; /* refused (max_connections) or dropped: nobody is there to answer */
    memcpy(p->rid, zmq_msg_data(&frames[0]), rid_len);
    p->rid_len = rid_len;
    p->conn = conn;
    if (kept != 3 || extra != 0 || zmq_msg_size(&frames[1]) != 0) {
        err_set(&d, ERR_INVALID, "envelope", "expected [empty delimiter][Request]: %d frames%s",
                n - 1,
                kept >= 2 && zmq_msg_size(&frames[1]) != 0 ? " without the empty delimiter" : "");
        send_error(s, p->rid, rid_len, conn, "", &d);
        goto out;
    }
    p->client = NULL;
    if (s->auth != NULL) {
        /* The User-Id libzmq attached after the ZAP handler accepted the peer (its public key),
         * mapped to the client list as it is now: a key removed by a reload is refused from its
         * next message on. Never the routing id: a peer can choose that. */
        const char *uid = zmq_msg_gets(&frames[2], "User-Id");
        p->client = auth_lookup_user_id(s->auth, uid);
    }
    size_t len = zmq_msg_size(&frames[2]);
    if (s->auth != NULL && p->client == NULL) {
        /* decoded only to answer with its request id, so the client can match the refusal */
        wire_request_t *req = NULL;
        err_detail_t ignored;
        if (len > s->conf->max_frame ||
            wire_request_decode(zmq_msg_data(&frames[2]), len, 8 * len + 64 * 1024, &req,
                                &ignored) != 0)
            req = NULL;
        err_set(&d, ERR_UNAUTHENTICATED, "key",
                "this client's key is not (or no longer) in the clients file");
        s->stats->m.refusals[METRICS_REFUSED_UNAUTHENTICATED]++;
        send_error(s, p->rid, rid_len, conn, req ? req->request_id : "", &d);
        wire_request_free(&req);
        goto out;
    }
    if (len > s->conf->max_frame) {
        err_set(&d, ERR_INVALID, "frame", "request of %zu bytes exceeds max_frame (%llu)", len,
                (unsigned long long)s->conf->max_frame);
        send_error(s, p->rid, rid_len, conn, "", &d);
        goto out;
    }
    /* protobuf-c needs a few times the wire size for the structs it builds. */
    size_t budget = 8 * len + 64 * 1024;
    if (wire_request_decode(zmq_msg_data(&frames[2]), len, budget, &p->req, &d) != 0) {
        if (d.code == ERR_NOMEM)
            d.code = ERR_INVALID;
        send_error(s, p->rid, rid_len, conn, "", &d);
        goto out;
    }
    uint8_t *refusal;
    size_t refusal_len;
    if (out_refused(s, p, &refusal, &refusal_len)) {
        if (refusal)
            send_reply(s, p->rid, rid_len, conn, refusal, refusal_len);
        wire_request_free(&p->req);
        goto out;
    }
    s->n_batch++;
    s->batch_bytes += len;
    rc = 1;
out:
    for (int i = 0; i < kept; i++)
        zmq_msg_close(&frames[i]);
    return rc;
}

static void batch_free_replies(server_t *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        free(s->batch[i].reply);
        s->batch[i].reply = NULL;
        if (s->batch[i].conn)
            s->batch[i].conn->part = 0; /* sent (counted in out) or gone */
    }
}

/*
 * Applies batch[from..] (at most max requests) in one transaction until the replies reach
 * batch_reply_bytes (at least one request), and commits. *to: the first request not applied.
 * Returns 0 or the failure.
 */
static int batch_apply(server_t *s, bool writes, size_t from, size_t max, size_t *to)
{
    store_txn_t *txn;
    int rc = store_txn_begin(s->store, writes, &txn);
    *to = from;
    if (rc != 0)
        return rc;
    handler_batch_begin(s->handler, now_ms());
    size_t bytes = 0, i = from, last = s->n_batch - from > max ? from + max : s->n_batch;
    for (; i < last && rc == 0 && bytes < s->conf->batch_reply_bytes; i++) {
        pending_t *p = &s->batch[i];
        /* Checked again here: earlier parts of this batch may have filled its budget. */
        if (!out_refused(s, p, &p->reply, &p->reply_len)) {
            const auth_client_t *c = p->client;
            handler_client_t who = {c ? c->name : "", c != NULL, c};
            rc = handler_apply(s->handler, txn, p->req, &who, &p->reply, &p->reply_len);
        }
        bytes += p->reply_len;
        if (p->conn)
            p->conn->part += p->reply_len;
    }
    *to = i;
    /* A write batch commits anyway: the review sweep rides in it (no commit of its own). */
    int64_t now = now_ms();
    if (rc == 0 && writes && s->conf->review_sweep_ms > 0 &&
        now - s->last_review_sweep >= (int64_t)s->conf->review_sweep_ms) {
        size_t published;
        s->last_review_sweep = now;
        int src = handler_review_sweep(s->handler, txn, s->conf->review_sweep_max, &published);
        if (src != 0)
            log_warnx("review sweep: %s (tried again in %llu ms)", err_str(src),
                      (unsigned long long)s->conf->review_sweep_ms);
    }
    if (rc == 0 && writes && (rc = handler_batch_seal(s->handler, txn)) != 0)
        store_txn_abort(&txn);
    if (rc == 0) {
        double t0 = mono_s();
        rc = store_txn_commit(&txn);
        if (writes)
            metrics_observe_commit_seconds(&s->stats->m, mono_s() - t0);
    } else
        store_txn_abort(&txn);
    err_detail_t d;
    int end = handler_batch_end(s->handler, rc == 0, &d);
    if (end != 0) {
        log_warnx("cannot reload frameworks after a failed batch: %s: %s", d.field, d.message);
        return end;
    }
    return rc;
}

/* Publishes the events of the transaction that just committed. */
static void publish_events(server_t *s)
{
    for (size_t i = 0; i < handler_event_count(s->handler); i++) {
        const char *topic;
        size_t topic_len, len;
        const uint8_t *data;
        handler_event_get(s->handler, i, &topic, &topic_len, &data, &len);
        /* One copy for every subscriber (libzmq shares it), counted until the last has it. */
        uint8_t *copy = malloc(len ? len : 1);
        if (copy == NULL)
            break;
        memcpy(copy, data, len);
        if (zmq_send(s->pub, topic, topic_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
            send_counted(s, s->pub, NULL, copy, len, 0);
        else
            free(copy);
    }
}

/* A failure that belongs to one request (a damaged record it reads, a budget its changes
 * exceed), not to the disk: the others of its group commit must not share it. */
static bool failure_is_one_requests(int rc)
{
    return rc == ERR_DATA_LOSS || rc == ERR_INTERNAL || rc == ERR_NOMEM || rc == ERR_LIMIT;
}

/* Runs batch[from..] (at most max requests) as one group commit (or less: batch_apply);
 * returns where it stopped. */
static size_t batch_run_part(server_t *s, size_t from, size_t max)
{
    bool writes = false;
    size_t end = s->n_batch - from > max ? from + max : s->n_batch;
    for (size_t i = from; i < end; i++)
        writes = writes || handler_request_writes(s->batch[i].req);
    int rc;
    size_t to;
    double t0 = mono_s();
    s->stats->m.batches++;
    metrics_observe_batch_requests(&s->stats->m, end - from);
    for (;;) {
        rc = batch_apply(s, writes, from, max, &to);
        if (rc != ERR_RETRY)
            break;
        batch_free_replies(s, from, to);
        uint64_t size, used;
        if (store_grow(s->store) != 0) {
            log_warnx("LMDB map is full and at map_size_max; refusing writes");
            rc = ERR_UNAVAILABLE;
            break;
        }
        s->stats->m.map_grown++;
        store_usage(s->store, &size, &used);
        log_info("LMDB map grown to %llu MiB", (unsigned long long)(size >> 20));
    }
    if (to == from)
        to = from + 1; /* a failure before the first request: it, at least, is answered */
    if (rc != 0 && to - from > 1 && failure_is_one_requests(rc)) {
        /* Each request alone, so only the one that fails hears of it. */
        batch_free_replies(s, from, to);
        for (size_t i = from; i < to; i++)
            batch_run_part(s, i, 1);
        return to;
    }
    if (rc != 0) {
        /* Nothing of this part is durable: every request hears so, and may retry. */
        batch_free_replies(s, from, to);
        s->stats->m.commit_failures++;
        log_warnx("batch of %zu requests not committed: %s", to - from, err_str(rc));
        err_detail_t d;
        const char *damaged;
        if (rc == ERR_DATA_LOSS && store_damage(s->store, &damaged) > 0)
            err_set(&d, ERR_DATA_LOSS, "store",
                    "a record this request needs is damaged (%s); nothing was written. The "
                    "operator restores it from a backup: masteryd --check lists every one",
                    damaged);
        else
            err_set(&d, rc == ERR_INTERNAL ? ERR_INTERNAL : ERR_UNAVAILABLE, "store",
                    "not stored (%s); nothing was written, retry later", err_str(rc));
        for (size_t i = from; i < to; i++)
            send_error(s, s->batch[i].rid, s->batch[i].rid_len, s->batch[i].conn,
                       s->batch[i].req->request_id, &d);
        metrics_observe_batch_seconds(&s->stats->m, mono_s() - t0);
        return to;
    }
    if (writes) {
        s->stats->commits++;
        s->stats->m.commits++;
    }
    for (size_t i = from; i < to; i++) {
        if (s->batch[i].reply == NULL)
            continue; /* refused without an answer: out_refused */
        send_reply(s, s->batch[i].rid, s->batch[i].rid_len, s->batch[i].conn, s->batch[i].reply,
                   s->batch[i].reply_len);
        s->batch[i].reply = NULL; /* libzmq's now */
    }
    batch_free_replies(s, from, to);
    publish_events(s);
    metrics_observe_batch_seconds(&s->stats->m, mono_s() - t0);
    return to;
}

/*
 * The review sweep (issue 15): at most every review_sweep_ms, between batches, one write
 * transaction that publishes review_due for what fell due, looking at no more than
 * review_sweep_max index entries, so requests wait for one short transaction at most (the rest
 * is the next sweep's). A failure leaves everything as it was: the next sweep tries again.
 */
static void review_sweep(server_t *s)
{
    int64_t now = now_ms();
    if (s->conf->review_sweep_ms == 0 ||
        now - s->last_review_sweep < (int64_t)s->conf->review_sweep_ms)
        return;
    s->last_review_sweep = now;
    store_txn_t *txn;
    if (store_txn_begin(s->store, true, &txn) != 0)
        return;
    handler_batch_begin(s->handler, now);
    size_t published = 0;
    int rc = handler_review_sweep(s->handler, txn, s->conf->review_sweep_max, &published);
    if (rc == 0) /* its review_due events are log leaves: the checkpoint goes with them */
        rc = handler_batch_seal(s->handler, txn);
    /* Committed even when nothing fell due: a commit without writes costs LMDB nothing, and an
     * aborted batch would make the handler reload the catalog. */
    int crc = store_txn_commit(&txn);
    err_detail_t d;
    if (handler_batch_end(s->handler, crc == 0, &d) != 0)
        log_warnx("review sweep: %s: %s", d.field, d.message);
    if (rc == 0)
        rc = crc;
    if (rc == ERR_RETRY && store_grow(s->store) == 0)
        s->last_review_sweep = 0; /* the map grew: again at once */
    else if (rc != 0)
        log_warnx("review sweep: %s (tried again in %llu ms)", err_str(rc),
                  (unsigned long long)s->conf->review_sweep_ms);
    if (crc == 0 && published > 0) {
        s->stats->commits++;
        s->stats->m.commits++;
        publish_events(s);
    }
}

/*
 * The handler's periodic work, the at-risk sweep (handler_sweep) and the retention sweep
 * (handler_retention_sweep), each in a write transaction of its own between batches, at most
 * every risk_sweep_seconds / retention_sweep_seconds and over a bounded number of learners,
 * so they never hold requests up for long. Their events are published like a batch's.
 */
static void sweep_run(server_t *s, int64_t now, bool retention)
{
    const char *name = retention ? "retention sweep" : "at-risk sweep";
    for (;;) {
        store_txn_t *txn;
        uint64_t learners = 0, changed = 0;
        int rc = store_txn_begin(s->store, true, &txn);
        if (rc != 0) {
            log_warnx("%s: cannot begin a transaction: %s", name, err_str(rc));
            return;
        }
        handler_batch_begin(s->handler, now);
        double t0 = mono_s();
        rc = retention ? handler_retention_sweep(s->handler, txn, &learners, &changed)
                       : handler_sweep(s->handler, txn, &learners, &changed);
        if (rc == 0)
            rc = handler_batch_seal(s->handler, txn); /* its events are log leaves */
        if (rc == 0)
            rc = store_txn_commit(&txn);
        else
            store_txn_abort(&txn);
        err_detail_t d;
        int end = handler_batch_end(s->handler, rc == 0, &d);
        if (end != 0)
            log_warnx("cannot reload frameworks after a failed sweep: %s: %s", d.field, d.message);
        if (rc == ERR_RETRY && store_grow(s->store) == 0)
            continue;
        if (rc != 0) {
            log_warnx("%s not committed: %s; it runs again later", name, err_str(rc));
            return;
        }
        s->stats->commits++;
        s->stats->m.commits++;
        log_debug("%s: %llu learners in %.1f ms (commit included), %llu %s", name,
                  (unsigned long long)learners, (mono_s() - t0) * 1000, (unsigned long long)changed,
                  retention ? "items shredded" : "entered the at-risk state");
        publish_events(s);
        return;
    }
}

static void housekeeping(server_t *s)
{
    int64_t now = now_ms();
    if (handler_sweep_due(s->handler, now))
        sweep_run(s, now, false);
    if (handler_retention_due(s->handler, now))
        sweep_run(s, now, true);
    if (handler_rekey_pending(s->handler)) {
        err_detail_t d;
        err_clear(&d);
        int rc = handler_rekey_step(s->handler, s->store, now, &d);
        if (rc == ERR_RETRY)
            store_grow(s->store);
        else if (rc != 0)
            log_warnx("re-keying: %s: %s; it resumes later", err_str(rc),
                      d.message[0] ? d.message : "");
    }
}

/*
 * The write-behind sweep's pace (store.h, ARCHITECTURE.md "Write-behind"). A sweep starts when
 * the overlay is half its budget, when the oldest write-ahead record is write_behind_seconds
 * old (that bounds a restart's replay), or after write_behind_idle_ms without requests; once
 * started, one step of write_behind_step_bytes runs between group commits. Over the budget,
 * steps run back to back while requests wait: the budget bounds memory whatever the load.
 */
static bool write_behind_wanted(const server_t *s, const store_wb_stats_t *w, int64_t now)
{
    if (w->budget == 0 || !w->pending)
        return false;
    return w->sweeping || w->held_bytes >= w->budget / 2 ||
           w->oldest_age_ms >= (int64_t)s->conf->write_behind_seconds * 1000 ||
           (s->conf->write_behind_idle_ms > 0 &&
            now - s->last_request >= (int64_t)s->conf->write_behind_idle_ms);
}

static void write_behind(server_t *s)
{
    store_wb_stats_t w;
    store_wb_stats(s->store, &w);
    if (!write_behind_wanted(s, &w, now_ms()))
        return;
    for (;;) {
        bool done;
        int rc = store_flush_step(s->store, s->conf->write_behind_step_bytes, &done);
        if (rc == ERR_RETRY && store_grow(s->store) == 0)
            continue;
        if (rc != 0) {
            int64_t now = now_ms();
            if (now - s->wb_warned >= 60000) {
                s->wb_warned = now;
                log_warnx("write-behind step failed: %s; the records stay in memory and in the "
                          "write-ahead records, and it is tried again",
                          err_str(rc));
            }
            return;
        }
        store_wb_stats(s->store, &w);
        /* An empty overlay still holds its fixed part (struct, a kept undo log): with a budget
         * smaller than that, stepping on would never end. */
        if (w.held_bytes < w.budget || w.nodes == 0)
            return;
    }
}

/* How long the loop may sleep in poll with write-behind work waiting. */
static long write_behind_wait(const server_t *s, long wait)
{
    store_wb_stats_t w;
    store_wb_stats(s->store, &w);
    if (w.budget == 0 || !w.pending)
        return wait;
    if (w.sweeping)
        return 0;
    long idle = s->conf->write_behind_idle_ms > 0 ? (long)s->conf->write_behind_idle_ms : 1000;
    return wait < idle ? wait : idle;
}

/* ---- cluster mode (cluster.h) -------------------------------------------------------------- */

int server_set_cluster(server_t *s, cluster_t *c, clusterkey_t *key)
{
    s->cluster = c;
    s->ckey = key;
    if (c == NULL)
        return 0;
    s->entries = calloc(CLUSTER_TAKE, sizeof *s->entries);
    s->later = calloc(s->conf->cluster_partitions, sizeof *s->later);
    s->off = calloc(s->conf->cluster_partitions + 1, sizeof *s->off);
    if (s->entries == NULL || s->later == NULL || s->off == NULL)
        return ERR_NOMEM;
    s->stats->m.cluster.on = true;
    s->next_token = 1ull << 62;
    s->stats->m.cluster.partitions = (uint32_t)s->conf->cluster_partitions;
    return 0;
}

static void cluster_stats_copy(server_t *s)
{
    cluster_stats_t cs;
    cluster_get_stats(s->cluster, &cs);
    s->stats->m.cluster.connected = cs.connected;
    memcpy(s->stats->m.cluster.held_mask, cs.held_mask, sizeof cs.held_mask);
    s->stats->m.cluster.published = cs.published;
    s->stats->m.cluster.publish_dups = cs.publish_dups;
    s->stats->m.cluster.publish_failed = cs.publish_failed;
    s->stats->m.cluster.fetched = cs.fetched;
    s->stats->m.cluster.acked = cs.acked;
    s->stats->m.cluster.claims = cs.claims;
    s->stats->m.cluster.takeovers = cs.takeovers;
    s->stats->m.cluster.releases = cs.releases;
    s->stats->m.cluster.queue_bytes = cs.queue_bytes;
}

/* Where a sealed box travels (clusterkey.h: its additional data): a partition's subject, any
 * holder's request, or the subject an answer goes to. */
static void aad_stream(const server_t *s, uint32_t partition, char *buf, size_t cap)
{
    if (partition == CLUSTER_FW)
        snprintf(buf, cap, "%s.fw", s->conf->cluster_prefix);
    else
        snprintf(buf, cap, "%s.ev.%u", s->conf->cluster_prefix, (unsigned)partition);
}

static void aad_request(const server_t *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.req", s->conf->cluster_prefix);
}

static void aad_answer(const server_t *s, uint32_t node, uint64_t token, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.node.%u.rep.%llu", s->conf->cluster_prefix, (unsigned)node,
             (unsigned long long)token);
}

static int waiter_add(server_t *s, const pending_t *p, uint64_t seq)
{
    size_t id_len = strlen(p->req->request_id) + 1;
    if (s->n_waiters >= WAITERS_MAX || s->waiter_bytes + id_len > WAITERS_BYTES)
        return ERR_LIMIT; /* answered UNAVAILABLE: the client retries later */
    if (s->n_waiters == s->cap_waiters) {
        size_t cap = s->cap_waiters ? 2 * s->cap_waiters : 16;
        waiter_t *w = realloc(s->waiters, cap * sizeof *w);
        if (w == NULL)
            return ERR_NOMEM;
        s->waiters = w;
        s->cap_waiters = cap;
    }
    char *id = malloc(id_len);
    if (id == NULL)
        return ERR_NOMEM;
    memcpy(id, p->req->request_id, id_len);
    s->waiter_bytes += id_len;
    waiter_t *w = &s->waiters[s->n_waiters++];
    w->request_id = id;
    w->seq = seq;
    memcpy(w->rid, p->rid, p->rid_len);
    w->rid_len = p->rid_len;
    w->conn = p->conn;
    w->deadline = now_ms() + 30000;
    return 0;
}

/* Forgets waiter i (answered or expired). */
static void waiter_drop(server_t *s, size_t i)
{
    s->waiter_bytes -= strlen(s->waiters[i].request_id) + 1;
    free(s->waiters[i].request_id);
    s->waiters[i] = s->waiters[--s->n_waiters];
}

/* Answers the waiter of seq with reply (taken), or frees reply when nobody here waits for it. */
static void waiter_answer(server_t *s, uint64_t seq, uint8_t *reply, size_t len)
{
    for (size_t i = 0; i < s->n_waiters; i++)
        if (s->waiters[i].seq == seq) {
            waiter_t *w = &s->waiters[i];
            send_reply(s, w->rid, w->rid_len, w->conn, reply, len);
            waiter_drop(s, i);
            return;
        }
    free(reply);
}

static void waiters_expire(server_t *s)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < s->n_waiters;) {
        waiter_t *w = &s->waiters[i];
        if (w->deadline > now) {
            i++;
            continue;
        }
        err_detail_t d;
        if (w->seq >= 1ull << 62) /* a forwarded read */
            err_set(&d, ERR_UNAVAILABLE, "learner_id",
                    "the node holding this learner did not answer in time; retry");
        else
            err_set(&d, ERR_UNAVAILABLE, "cluster",
                    "stored in the cluster's stream (sequence %llu) and applied in order, but its "
                    "answer did not come back in time: look before you send it again",
                    (unsigned long long)w->seq);
        send_error(s, w->rid, w->rid_len, w->conn, w->request_id, &d);
        waiter_drop(s, i);
    }
}

/* A read about a learner: answered here (it stays in the batch) when this node holds the
 * learner's partition, otherwise forwarded to the node that does, and answered when its reply
 * comes back (or UNAVAILABLE at the waiter's deadline). */
static void forward_read(server_t *s, pending_t *p, const char *learner_id)
{
    uint32_t part = cluster_partition(learner_id, (uint32_t)s->conf->cluster_partitions);
    if (cluster_holds(s->cluster, part))
        return;
    p->done = true;
    const auth_client_t *c = p->client;
    handler_client_t who = {c ? c->name : "", c != NULL, c};
    uint8_t *data = NULL;
    size_t len = 0;
    uint64_t token = s->next_token++;
    int rc =
        handler_forward_pack(p->req, &who, (uint32_t)s->conf->cluster_node, now_ms(), &data, &len);
    uint8_t *box = NULL;
    size_t box_len = 0;
    char aad[CONF_STR_MAX + 64];
    aad_request(s, aad, sizeof aad);
    if (rc == 0)
        rc = clusterkey_seal(s->ckey, aad, data, len, &box, &box_len);
    if (rc == 0)
        rc = cluster_forward(s->cluster, part, token, box, box_len);
    free(box);
    if (rc == 0)
        rc = waiter_add(s, p, token);
    free(data);
    if (rc != 0) {
        err_detail_t d;
        err_set(&d, ERR_UNAVAILABLE, "learner_id",
                "the node holding this learner's partition (%u) cannot be reached now (%s); "
                "retry",
                (unsigned)part, err_str(rc));
        send_error(s, p->rid, p->rid_len, p->conn, p->req->request_id, &d);
    }
}

/*
 * The intake (handler_intake): every SubmitEvidence, PutFramework and ImportCase of the drained
 * batch is validated, its valid items published to the stream in one asynchronous burst, and
 * answered once JetStream acknowledged them (a framework: once this node applied it). They
 * leave the batch (done); the rest of it runs as a group commit as usual.
 */
static void intake_run(server_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_batch; i++) {
        const char *learner_id;
        handler_route_t r = handler_request_route(s->batch[i].req, &learner_id);
        if (r == HANDLER_ROUTE_LEARNER_READ) {
            forward_read(s, &s->batch[i], learner_id);
            continue;
        }
        n += r != HANDLER_ROUTE_LOCAL;
    }
    if (n == 0)
        return;
    handler_intake_t *ins = calloc(s->n_batch, sizeof *ins);
    size_t total = 0, cap = 0;
    cluster_pub_t *pubs = NULL;
    int64_t now = now_ms();
    for (size_t i = 0; i < s->n_batch; i++) {
        pending_t *p = &s->batch[i];
        const char *learner_id;
        handler_route_t r = handler_request_route(p->req, &learner_id);
        if (p->done || r == HANDLER_ROUTE_LOCAL || r == HANDLER_ROUTE_LEARNER_READ)
            continue;
        p->done = true;
        err_detail_t d;
        if (ins == NULL) {
            err_set(&d, ERR_UNAVAILABLE, "cluster", "out of memory; retry later");
            send_error(s, p->rid, p->rid_len, p->conn, p->req->request_id, &d);
            continue;
        }
        const auth_client_t *c = p->client;
        handler_client_t who = {c ? c->name : "", c != NULL, c};
        uint8_t *reply = NULL;
        size_t len = 0;
        int rc = handler_intake(s->handler, p->req, &who, (uint32_t)s->conf->cluster_partitions,
                                (uint32_t)s->conf->cluster_node, now, &ins[i], &reply, &len);
        if (rc == 0 && reply != NULL) {
            send_reply(s, p->rid, p->rid_len, p->conn, reply, len);
            handler_intake_free(&ins[i]);
            continue;
        }
        if (rc == 0 && total + ins[i].n_pubs > cap) {
            size_t ncap = (total + ins[i].n_pubs) * 2;
            cluster_pub_t *np = realloc(pubs, ncap * sizeof *np);
            if (np == NULL)
                rc = ERR_NOMEM;
            else {
                pubs = np;
                cap = ncap;
            }
        }
        if (rc != 0) {
            err_set(&d, ERR_UNAVAILABLE, "cluster", "not taken in (%s); retry later", err_str(rc));
            send_error(s, p->rid, p->rid_len, p->conn, p->req->request_id, &d);
            handler_intake_free(&ins[i]);
            continue;
        }
        for (size_t k = 0; k < ins[i].n_pubs; k++) {
            /* sealed in place: the intake owns the box from now on */
            handler_intake_pub_t *hp = &ins[i].pubs[k];
            char aad[CONF_STR_MAX + 64];
            aad_stream(s, hp->partition, aad, sizeof aad);
            uint8_t *box = NULL;
            size_t box_len = 0;
            if (clusterkey_seal(s->ckey, aad, hp->data, hp->len, &box, &box_len) == 0) {
                free(hp->data);
                hp->data = box;
                hp->len = box_len;
            } else {
                hp->len = 0; /* an empty msg_id: not published, answered UNAVAILABLE */
            }
            pubs[total++] = (cluster_pub_t){.partition = hp->partition,
                                            .msg_id = hp->len ? hp->msg_id : "",
                                            .data = hp->data,
                                            .len = hp->len};
        }
    }
    if (total > 0)
        cluster_publish(s->cluster, pubs, total, (int64_t)s->conf->cluster_publish_ms);
    size_t at = 0;
    for (size_t i = 0; ins != NULL && i < s->n_batch; i++) {
        pending_t *p = &s->batch[i];
        if (!p->done || ins[i].pubs == NULL)
            continue;
        for (size_t k = 0; k < ins[i].n_pubs; k++, at++)
            ins[i].pubs[k].status = pubs[at].status;
        if (ins[i].waits) {
            err_detail_t d;
            if (pubs[at - 1].status != 0 || waiter_add(s, p, pubs[at - 1].seq) != 0) {
                err_set(&d, ERR_UNAVAILABLE, "cluster",
                        "the cluster's stream did not take the request in (%s); retry",
                        err_str(pubs[at - 1].status ? pubs[at - 1].status : ERR_NOMEM));
                send_error(s, p->rid, p->rid_len, p->conn, p->req->request_id, &d);
            }
        } else {
            uint8_t *reply;
            size_t len;
            if (handler_intake_reply(s->handler, p->req, &ins[i], &reply, &len) == 0)
                send_reply(s, p->rid, p->rid_len, p->conn, reply, len);
        }
        handler_intake_free(&ins[i]);
    }
    free(pubs);
    free(ins);
}

/* The index of partition p in per-partition arrays (the frameworks' last). */
static size_t part_index(const server_t *s, uint32_t p)
{
    return p == CLUSTER_FW ? (size_t)s->conf->cluster_partitions : p;
}

/*
 * One group commit of stream messages (handler_stream_apply), then their acknowledgement
 * (cluster_done). A partition whose message must wait for its framework is rewound from it.
 */
static void stream_apply(server_t *s, cluster_entry_t *e, size_t n)
{
    store_txn_t *txn;
    if (store_txn_begin(s->store, true, &txn) != 0) {
        cluster_done(s->cluster, e, n, false);
        return;
    }
    handler_batch_begin(s->handler, now_ms());
    /* Partitions put off in this group commit: none of their later messages may be applied
     * before the one put off (that would skip it), so each is rewound from the store. */
    bool *off = s->off;
    memset(off, 0, ((size_t)s->conf->cluster_partitions + 1) * sizeof *off);
    struct {
        uint64_t seq;
        uint32_t node;
        uint8_t *reply;
        size_t len;
    } *fw = calloc(n, sizeof *fw);
    size_t n_fw = 0;
    uint64_t counts[4] = {0};
    int rc = fw == NULL ? ERR_NOMEM : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (off[part_index(s, e[i].partition)])
            continue;
        handler_stream_result_t res;
        uint8_t *reply = NULL;
        size_t len = 0;
        uint32_t node;
        /* An item put off for LATER_MAX_MS already is decided now: refused if its framework
         * still has not come (one that never will must not stop the partition). */
        bool decide = false;
        if (e[i].partition < s->conf->cluster_partitions) {
            uint64_t *l = s->later[e[i].partition];
            decide = l[0] == e[i].seq && now_ms() - (int64_t)l[1] >= LATER_MAX_MS;
        }
        char aad[CONF_STR_MAX + 64];
        aad_stream(s, e[i].partition, aad, sizeof aad);
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        int orc = clusterkey_open_box(s->ckey, aad, e[i].data, e[i].len, &plain, &plain_len);
        if (orc != 0) {
            /* Never skipped: a node with another cluster.key would lose everything. The
             * partition waits (logged) until the operator gives it the right key. */
            if (orc == ERR_DATA_LOSS)
                log_warnx("cluster: stream message %llu of partition %u does not open under this "
                          "node's cluster.key (another cluster's key?); the partition waits",
                          (unsigned long long)e[i].seq, (unsigned)e[i].partition);
            cluster_rewind(s->cluster, e[i].partition, e[i].epoch, 5000);
            off[part_index(s, e[i].partition)] = true;
            continue;
        }
        rc = handler_stream_apply(s->handler, txn, e[i].partition, e[i].seq, plain, plain_len,
                                  decide, &res, &reply, &len, &node);
        free(plain);
        if (rc != 0)
            break;
        counts[res]++;
        /* A framework's answer is the intake node's own application; a learner write's is
         * its holder's, sent to the intake node. */
        if (reply != NULL && (node == s->conf->cluster_node || e[i].partition != CLUSTER_FW)) {
            fw[n_fw].seq = e[i].seq;
            fw[n_fw].node = node;
            fw[n_fw].reply = reply;
            fw[n_fw++].len = len;
        } else
            free(reply);
        if (res == HANDLER_STREAM_LATER) {
            cluster_rewind(s->cluster, e[i].partition, e[i].epoch, 250);
            off[part_index(s, e[i].partition)] = true;
            uint64_t *l = s->later[e[i].partition];
            if (l[0] != e[i].seq) {
                l[0] = e[i].seq;
                l[1] = (uint64_t)now_ms();
            }
        }
    }
    if (rc == 0)
        rc = handler_batch_seal(s->handler, txn);
    if (rc == 0) {
        double t0 = mono_s();
        rc = store_txn_commit(&txn);
        metrics_observe_commit_seconds(&s->stats->m, mono_s() - t0);
    } else
        store_txn_abort(&txn);
    err_detail_t d;
    if (handler_batch_end(s->handler, rc == 0, &d) != 0)
        log_warnx("cannot reload frameworks after a failed batch: %s: %s", d.field, d.message);
    if (rc == ERR_RETRY && store_grow(s->store) == 0)
        s->stats->m.map_grown++;
    else if (rc != 0)
        log_warnx("cluster: %zu stream messages not applied: %s (applied again from the stream)", n,
                  err_str(rc));
    cluster_done(s->cluster, e, n, rc == 0);
    if (rc == 0) {
        s->stats->commits++;
        s->stats->m.commits++;
        s->stats->m.cluster.applied += counts[HANDLER_STREAM_APPLIED];
        s->stats->m.cluster.skipped += counts[HANDLER_STREAM_SKIPPED];
        s->stats->m.cluster.refused += counts[HANDLER_STREAM_REFUSED];
        s->stats->m.cluster.later += counts[HANDLER_STREAM_LATER];
        for (size_t i = 0; i < n_fw; i++) {
            if (fw[i].node == s->conf->cluster_node) {
                waiter_answer(s, fw[i].seq, fw[i].reply, fw[i].len);
                continue;
            }
            char aad[CONF_STR_MAX + 64];
            uint8_t *box = NULL;
            size_t box_len = 0;
            aad_answer(s, fw[i].node, fw[i].seq, aad, sizeof aad);
            int nrc = clusterkey_seal(s->ckey, aad, fw[i].reply, fw[i].len, &box, &box_len);
            if (nrc == 0)
                nrc = cluster_notify(s->cluster, fw[i].node, fw[i].seq, box, box_len);
            free(box);
            if (nrc != 0)
                log_warnx("cluster: the answer of stream message %llu could not be sent to node "
                          "%u (its client hears UNAVAILABLE and retries)",
                          (unsigned long long)fw[i].seq, (unsigned)fw[i].node);
            free(fw[i].reply);
        }
        publish_events(s);
    } else {
        for (size_t i = 0; i < n_fw; i++)
            free(fw[i].reply);
    }
    free(fw);
}

/* A read another node forwarded here: answered in a read transaction of its own. */
static void answer_forwarded(server_t *s, const cluster_entry_t *e)
{
    store_txn_t *txn;
    uint8_t *reply = NULL;
    size_t len = 0;
    char aad[CONF_STR_MAX + 64];
    uint8_t *plain = NULL, *box = NULL;
    size_t plain_len = 0, box_len = 0;
    aad_request(s, aad, sizeof aad);
    if (clusterkey_open_box(s->ckey, aad, e->data, e->len, &plain, &plain_len) != 0) {
        log_warnx("cluster: a forwarded read does not open under this node's cluster.key; "
                  "not answered");
        return;
    }
    int rc = store_txn_begin(s->store, false, &txn);
    if (rc == 0) {
        handler_batch_begin(s->handler, now_ms());
        rc = handler_apply_forwarded(s->handler, txn, plain, plain_len, &reply, &len);
        store_txn_abort(&txn);
        err_detail_t d;
        handler_batch_end(s->handler, true, &d);
    }
    free(plain);
    if (rc != 0 || reply == NULL) {
        free(reply);
        if (handler_error_reply("", ERR_UNAVAILABLE, "store", "cannot read the store now; retry",
                                &reply, &len) != 0)
            return;
    }
    /* the answer is sealed for the subject it goes to, which names the asker's token */
    if (clusterkey_seal(s->ckey, e->reply_to ? e->reply_to : "", reply, len, &box, &box_len) == 0)
        cluster_answer(s->cluster, e, box, box_len);
    free(box);
    free(reply);
}

/* What the cluster fetched: claims answered with the store's sequence, messages applied. A
 * bounded number of group commits per call, so requests are not kept waiting. */
static void cluster_run(server_t *s)
{
    for (int round = 0; round < 4; round++) {
        size_t n = cluster_take(s->cluster, s->entries, CLUSTER_TAKE, 8 * s->conf->max_frame);
        if (n == 0)
            break;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            cluster_entry_t *e = &s->entries[i];
            if (e->kind == CLUSTER_MSG) {
                s->entries[m++] = *e;
                continue;
            }
            if (e->kind == CLUSTER_REQUEST || e->kind == CLUSTER_REPLY) {
                if (e->kind == CLUSTER_REQUEST)
                    answer_forwarded(s, e);
                else {
                    char aad[CONF_STR_MAX + 64];
                    uint8_t *plain = NULL;
                    size_t plain_len = 0;
                    aad_answer(s, (uint32_t)s->conf->cluster_node, e->token, aad, sizeof aad);
                    if (clusterkey_open_box(s->ckey, aad, e->data, e->len, &plain, &plain_len) == 0)
                        waiter_answer(s, e->token, plain, plain_len);
                    else
                        log_warnx("cluster: an answer does not open under this node's "
                                  "cluster.key; its client times out");
                }
                cluster_done(s->cluster, e, 1, true);
                continue;
            }
            uint64_t applied;
            int rc = handler_stream_applied(s->handler, e->partition, &applied);
            if (rc == 0)
                cluster_start(s->cluster, e->partition, e->epoch, applied + 1);
            else {
                log_warnx("cluster: cannot read partition %u's applied sequence: %s",
                          (unsigned)e->partition, err_str(rc));
                cluster_rewind(s->cluster, e->partition, e->epoch, 1000);
            }
        }
        if (m > 0)
            stream_apply(s, s->entries, m);
    }
    waiters_expire(s);
    cluster_stats_copy(s);
}

/* Applies the drained batch, in as many group commits as its replies' size needs. */
static int batch_run(server_t *s)
{
    if (s->cluster) {
        intake_run(s);
        size_t kept = 0; /* the intake answered its requests: the rest stay, in order */
        for (size_t i = 0; i < s->n_batch; i++) {
            if (s->batch[i].done) {
                wire_request_free(&s->batch[i].req);
                s->batch[i].done = false;
            } else if (kept++ != i) {
                s->batch[kept - 1] = s->batch[i];
                s->batch[i].req = NULL;
                s->batch[i].reply = NULL;
            }
        }
        s->n_batch = kept;
    }
    for (size_t from = 0; from < s->n_batch;)
        from = batch_run_part(s, from, SIZE_MAX);
    batch_free_replies(s, 0, s->n_batch);
    for (size_t i = 0; i < s->n_batch; i++)
        wire_request_free(&s->batch[i].req);
    s->n_batch = 0;
    s->batch_bytes = 0;
    return 0;
}

#define REFUSALS_LOGGED 10 /* refused handshakes and subscriptions logged per minute */

/*
 * Secure mode: each subscription (or its withdrawal) from the XPUB, [1|0][topic], with the
 * User-Id of the subscriber's CURVE handshake. Only a client the list names now, and that may
 * read events, is subscribed (ZMQ_SUBSCRIBE in manual mode applies to the pipe the message
 * came from); anyone else's subscription is never made, whatever its topic, so they receive
 * nothing. A withdrawal is always honoured.
 */
static void subscriptions_drain(server_t *s)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->pub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        const uint8_t *data = zmq_msg_data(&m);
        size_t len = zmq_msg_size(&m);
        if (len >= 1 && (data[0] == 0 || data[0] == 1)) {
            const auth_client_t *c = auth_lookup_user_id(s->auth, zmq_msg_gets(&m, "User-Id"));
            if (data[0] == 0)
                zmq_setsockopt(s->pub, ZMQ_UNSUBSCRIBE, data + 1, len - 1);
            else if (handler_may_subscribe(c))
                zmq_setsockopt(s->pub, ZMQ_SUBSCRIBE, data + 1, len - 1);
            else if (++s->refusals <= REFUSALS_LOGGED)
                log_info("events: %s (%s) may not subscribe; it receives nothing",
                         c ? c->name : "an unlisted key", c ? auth_role_name(c->role) : "none");
        }
        zmq_msg_close(&m);
    }
}

/* Answers every waiting ZAP request (secure mode). Refusals are logged, at most
 * REFUSALS_LOGGED a minute, so a flood of strangers cannot flood the log. */
static void zap_drain(server_t *s)
{
    bool accepted;
    char note[512];
    int64_t now = now_ms();
    if (now - s->refusal_window >= 60000) {
        if (s->refusals > REFUSALS_LOGGED)
            log_info("%llu more connections refused in the last minute (not logged one by one)",
                     (unsigned long long)(s->refusals - REFUSALS_LOGGED));
        s->refusal_window = now;
        s->refusals = 0;
    }
    while (auth_zap_handle(s->auth, &accepted, note, sizeof note) == 1) {
        if (accepted) {
            log_debug("%s", note);
            continue;
        }
        s->stats->m.refusals[METRICS_REFUSED_HANDSHAKE]++;
        if (++s->refusals <= REFUSALS_LOGGED)
            log_info("%s", note);
    }
}

static void reload_clients(server_t *s)
{
    *s->reload = 0;
    if (s->auth == NULL) {
        log_info("SIGHUP: development mode, no clients file to reload");
        return;
    }
    err_detail_t d;
    if (auth_reload(s->auth, &d) != 0)
        log_warnx("SIGHUP: clients file not reloaded, the old list stays in force: %s: %s", d.field,
                  d.message);
    else {
        log_info("SIGHUP: %zu clients listed in %s", auth_clients_count(auth_clients(s->auth)),
                 s->conf->clients_file);
        /* A subscription was authorized when it was made, and the XPUB cannot tell us whose
         * pipe is whose: every subscriber is dropped instead, reconnects (libzmq does that
         * itself), and its handshake and subscriptions are checked against the new list. A
         * subscriber misses what is published meanwhile; ReadEvents fills the gap. */
        size_t n = 0;
        for (size_t fd = 0; fd < s->conns_cap; fd++)
            if (s->conns[fd] && s->conns[fd]->open && s->conns[fd]->events) {
                conn_drop(s, (int)fd, "clients file reloaded: subscribers authorize again", 0);
                n++;
            }
        if (n)
            log_info("SIGHUP: %zu event subscribers reconnect under the new list", n);
    }
}

int server_run(server_t *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    static volatile sig_atomic_t no_reload;
    s->reload = reload ? reload : &no_reload;
    while (!*stop) {
        if (*s->reload)
            reload_clients(s); /* between batches: no request holds a client pointer */
        zmq_pollitem_t items[] = {{s->router, 0, ZMQ_POLLIN, 0},
                                  {NULL, s->cluster ? cluster_fd(s->cluster) : -1, ZMQ_POLLIN, 0},
                                  {s->auth ? auth_zap_socket(s->auth) : NULL, 0, ZMQ_POLLIN, 0},
                                  {s->pub, 0, ZMQ_POLLIN, 0}};
        /* Open connections' byte counts are checked every SWEEP_MS, even when all is quiet:
         * an unfinished multipart message never wakes the poll. */
        long wait = s->conns_open ? SWEEP_MS : 1000;
        if (s->conf->review_sweep_ms > 0 && (long)s->conf->review_sweep_ms < wait)
            wait = (long)s->conf->review_sweep_ms;
        wait = write_behind_wait(s, wait);
        if (s->cluster && s->n_waiters > 0 && wait > 1000)
            wait = 1000; /* waiters expire */
        /* Without a cluster the fd item is -1: poll skips it (items[1] is ignored by
         * counting from it only in cluster or secure mode). */
        int n = zmq_poll(items, s->auth ? 4 : 2, wait);
        int poll_errno = zmq_errno();
        budgets_sweep(s);
        housekeeping(s);
        review_sweep(s);
        write_behind(s);
        if (s->cluster)
            cluster_run(s);
        if (n < 0) {
            if (poll_errno == EINTR)
                continue;
            log_warnx("zmq_poll: %s", zmq_strerror(poll_errno));
            return ERR_INTERNAL;
        }
        if (n == 0)
            continue;
        if (s->auth) {
            zap_drain(s);
            subscriptions_drain(s);
        }
        /* A batch holds at most max_group requests and 8x max_frame bytes of them, so its
         * decoded requests stay within 8 x (8 x max_frame + 64 KiB) of memory. */
        while (s->n_batch < s->conf->max_group && s->batch_bytes < 8 * s->conf->max_frame &&
               receive_one(s) >= 0)
            ;
        if (s->n_batch > 0) {
            batch_run(s);
            s->last_request = now_ms();
        }
    }
    return 0;
}
