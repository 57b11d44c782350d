#include "server.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "auth.h"
#include "log.h"

/* A draft option in libzmq 4.3's header, implemented by the library since 4.2.3; setting it is
 * checked (and read back) at start, so a library without it refuses to start secure mode. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define RID_MAX      256
#define ENDPOINT_MAX 1024

typedef struct pending {
    uint8_t rid[RID_MAX];
    size_t rid_len;
    wire_request_t *req;
    const auth_client_t *client; /* secure mode: who sent it (borrowed from auth) */
    uint8_t *reply;
    size_t reply_len;
} pending_t;

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
    size_t batch_bytes;     /* request bytes in the batch: draining stops at 8x max_frame */
    auth_t *auth;           /* NULL in development mode */
    int64_t refusal_window; /* start of the current minute of refused-handshake logging */
    uint64_t refusals;      /* refused handshakes in it */
    volatile sig_atomic_t *reload;
};

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
    s->pub = zmq_socket(s->ctx, ZMQ_PUB);
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
    if (secure && (rc = secure_sockets(s, d)) != 0)
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
    auth_destroy(&s->auth);
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    free(s->batch);
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

/* Sends [rid][""][data] without blocking; a peer that is gone or full loses the reply. */
static void send_reply(server_t *s, const uint8_t *rid, size_t rid_len, const uint8_t *data,
                       size_t len)
{
    if (zmq_send(s->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        log_debug("reply dropped: %s", zmq_strerror(zmq_errno()));
        return;
    }
    zmq_send(s->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s->router, data, len, ZMQ_DONTWAIT);
}

static void send_error(server_t *s, const uint8_t *rid, size_t rid_len, const char *request_id,
                       const err_detail_t *d)
{
    uint8_t *buf;
    size_t len;
    if (handler_error_reply(request_id, d->code, d->field, d->message, &buf, &len) != 0)
        return;
    send_reply(s, rid, rid_len, buf, len);
    free(buf);
}

/* Receives one multipart message; returns 1 when a request joined the batch, 0 when it was
 * answered or dropped, -1 when nothing was waiting. */
static int receive_one(server_t *s)
{
    pending_t *p = &s->batch[s->n_batch];
    zmq_msg_t frames[3];
    int kept = 0, n = 0, more = 1;
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
    memcpy(p->rid, zmq_msg_data(&frames[0]), rid_len);
    p->rid_len = rid_len;
    if (kept != 3 || extra != 0 || zmq_msg_size(&frames[1]) != 0) {
        err_set(&d, ERR_INVALID, "envelope", "expected [empty delimiter][Request]: %d frames%s",
                n - 1,
                kept >= 2 && zmq_msg_size(&frames[1]) != 0 ? " without the empty delimiter" : "");
        send_error(s, p->rid, rid_len, "", &d);
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
        send_error(s, p->rid, rid_len, req ? req->request_id : "", &d);
        wire_request_free(&req);
        goto out;
    }
    if (len > s->conf->max_frame) {
        err_set(&d, ERR_INVALID, "frame", "request of %zu bytes exceeds max_frame (%llu)", len,
                (unsigned long long)s->conf->max_frame);
        send_error(s, p->rid, rid_len, "", &d);
        goto out;
    }
    /* protobuf-c needs a few times the wire size for the structs it builds. */
    size_t budget = 8 * len + 64 * 1024;
    if (wire_request_decode(zmq_msg_data(&frames[2]), len, budget, &p->req, &d) != 0) {
        if (d.code == ERR_NOMEM)
            d.code = ERR_INVALID;
        send_error(s, p->rid, rid_len, "", &d);
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

static void batch_free_replies(server_t *s)
{
    for (size_t i = 0; i < s->n_batch; i++) {
        free(s->batch[i].reply);
        s->batch[i].reply = NULL;
    }
}

/* Applies the batch in one transaction and commits. Returns 0 or the failure. */
static int batch_apply(server_t *s, bool writes)
{
    store_txn_t *txn;
    int rc = store_txn_begin(s->store, writes, &txn);
    if (rc != 0)
        return rc;
    handler_batch_begin(s->handler, now_ms());
    for (size_t i = 0; i < s->n_batch && rc == 0; i++) {
        const auth_client_t *c = s->batch[i].client;
        handler_client_t who = {c ? c->name : "", c != NULL, c};
        rc = handler_apply(s->handler, txn, s->batch[i].req, &who, &s->batch[i].reply,
                           &s->batch[i].reply_len);
    }
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

static int batch_run(server_t *s)
{
    bool writes = false;
    for (size_t i = 0; i < s->n_batch; i++)
        writes = writes || handler_request_writes(s->batch[i].req);
    int rc;
    double t0 = mono_s();
    s->stats->m.batches++;
    metrics_observe_batch_requests(&s->stats->m, s->n_batch);
    for (;;) {
        rc = batch_apply(s, writes);
        if (rc != ERR_RETRY)
            break;
        batch_free_replies(s);
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
    if (rc != 0) {
        /* Nothing of this batch is durable: every request hears so, and may retry. */
        batch_free_replies(s);
        s->stats->m.commit_failures++;
        log_warnx("batch of %zu requests not committed: %s", s->n_batch, err_str(rc));
        err_detail_t d;
        err_set(&d, rc == ERR_INTERNAL ? ERR_INTERNAL : ERR_UNAVAILABLE, "store",
                "not stored (%s); nothing was written, retry later", err_str(rc));
        for (size_t i = 0; i < s->n_batch; i++)
            send_error(s, s->batch[i].rid, s->batch[i].rid_len, s->batch[i].req->request_id, &d);
    } else {
        if (writes) {
            s->stats->commits++;
            s->stats->m.commits++;
        }
        for (size_t i = 0; i < s->n_batch; i++)
            send_reply(s, s->batch[i].rid, s->batch[i].rid_len, s->batch[i].reply,
                       s->batch[i].reply_len);
        for (size_t i = 0; i < handler_event_count(s->handler); i++) {
            const char *topic;
            size_t topic_len, len;
            const uint8_t *data;
            handler_event_get(s->handler, i, &topic, &topic_len, &data, &len);
            if (zmq_send(s->pub, topic, topic_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
                zmq_send(s->pub, data, len, ZMQ_DONTWAIT);
        }
    }
    metrics_observe_batch_seconds(&s->stats->m, mono_s() - t0);
    batch_free_replies(s);
    for (size_t i = 0; i < s->n_batch; i++)
        wire_request_free(&s->batch[i].req);
    s->n_batch = 0;
    s->batch_bytes = 0;
    return 0;
}

#define REFUSALS_LOGGED 10 /* refused handshakes logged per minute; the rest are counted */

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
    else
        log_info("SIGHUP: %zu clients listed in %s", auth_clients_count(auth_clients(s->auth)),
                 s->conf->clients_file);
}

int server_run(server_t *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    static volatile sig_atomic_t no_reload;
    s->reload = reload ? reload : &no_reload;
    while (!*stop) {
        if (*s->reload)
            reload_clients(s); /* between batches: no request holds a client pointer */
        zmq_pollitem_t items[] = {{s->router, 0, ZMQ_POLLIN, 0},
                                  {s->auth ? auth_zap_socket(s->auth) : NULL, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, s->auth ? 2 : 1, 1000);
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            log_warnx("zmq_poll: %s", zmq_strerror(zmq_errno()));
            return ERR_INTERNAL;
        }
        if (n == 0)
            continue;
        if (s->auth)
            zap_drain(s);
        /* A batch holds at most max_group requests and 8x max_frame bytes of them, so its
         * decoded requests stay within 8 x (8 x max_frame + 64 KiB) of memory. */
        while (s->n_batch < s->conf->max_group && s->batch_bytes < 8 * s->conf->max_frame &&
               receive_one(s) >= 0)
            ;
        if (s->n_batch > 0)
            batch_run(s);
    }
    return 0;
}
