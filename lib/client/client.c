/*
 * masteryclient: the client, one request and its reply, and names. Windows are in window.c,
 * the event log in events.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include <openssl/crypto.h>

#include "curvekey.h"
#include "entropy.h"
#include "mc_internal.h"

int64_t mc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool mc_stopping(const mc_client_t *c)
{
    return c->stop != NULL && *c->stop != 0;
}

static char *dup_or_null(const char *s, bool *failed)
{
    if (s == NULL)
        return NULL;
    char *p = strdup(s);
    if (p == NULL)
        *failed = true;
    return p;
}

/* ---- sockets ------------------------------------------------------------------------------ */

/* Makes sock a CURVE client with the client's key files (nothing in development mode). */
static int curve_apply(const mc_client_t *c, void *sock, err_detail_t *d)
{
    if (c->key_file == NULL)
        return 0;
    uint8_t secret[CURVEKEY_LEN], server[CURVEKEY_LEN], public[CURVEKEY_LEN];
    char public_z85[CURVEKEY_Z85_LEN + 1];
    int rc = curvekey_secret_read(c->key_file, secret, public_z85, d);
    if (rc == 0 && curvekey_z85_decode(public_z85, CURVEKEY_Z85_LEN, public) != 0)
        rc = err_set(d, ERR_INVALID, "", "%s: the public half is not a Z85 key", c->key_file);
    if (rc == 0)
        rc = curvekey_public_read(c->server_key_file, server, d);
    if (rc != 0) {
        OPENSSL_cleanse(secret, sizeof secret);
        return rc;
    }
    int zrc = zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, sizeof server) ||
              zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public, sizeof public) ||
              zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, sizeof secret);
    OPENSSL_cleanse(secret, sizeof secret);
    if (zrc != 0)
        return err_set(d, ERR_INVALID, "", "cannot enable CURVE: %s", zmq_strerror(zmq_errno()));
    return 0;
}

int mc_socket_setup(mc_client_t *c, void *sock, err_detail_t *d)
{
    int linger = 0;
    int64_t maxmsg = MC_MAX_MESSAGE;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    return curve_apply(c, sock, d);
}

int mc_client_new(const mc_options_t *opt, mc_client_t **out, err_detail_t *d)
{
    *out = NULL;
    if (opt == NULL || opt->endpoint == NULL || opt->endpoint[0] == '\0')
        return err_set(d, ERR_INVALID, "endpoint", "no endpoint");
    if ((opt->key_file == NULL) != (opt->server_key_file == NULL))
        return err_set(d, ERR_INVALID, "key_file",
                       "a key file and the server's key file go together (CURVE needs both)");
    if (opt->timeout_ms < 0)
        return err_set(d, ERR_INVALID, "timeout_ms", "must not be negative");
    mc_client_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return err_set(d, ERR_NOMEM, "", "out of memory");
    bool failed = false;
    c->endpoint = dup_or_null(opt->endpoint, &failed);
    c->key_file = dup_or_null(opt->key_file, &failed);
    c->server_key_file = dup_or_null(opt->server_key_file, &failed);
    /* Without one, the daemon says where its events are (Health) when first needed. */
    if (opt->events_endpoint && opt->events_endpoint[0])
        c->events_endpoint = dup_or_null(opt->events_endpoint, &failed);
    c->timeout_ms = opt->timeout_ms ? opt->timeout_ms : MC_TIMEOUT_DEFAULT;
    c->stop = opt->stop;
    c->warn = opt->warn;
    c->warn_arg = opt->warn_arg;
    int rc = 0;
    if (failed) {
        rc = err_set(d, ERR_NOMEM, "", "out of memory");
        goto fail;
    }
    uint8_t r[6];
    if (entropy_fill(r, sizeof r) != 0) {
        rc = err_set(d, ERR_INTERNAL, "", "getrandom: %s", strerror(errno));
        goto fail;
    }
    snprintf(c->id_prefix, sizeof c->id_prefix, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
             r[4], r[5]);
    c->zctx = zmq_ctx_new();
    c->dealer = c->zctx ? zmq_socket(c->zctx, ZMQ_DEALER) : NULL;
    if (c->dealer == NULL) {
        rc = err_set(d, ERR_INTERNAL, "", "zmq: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    zmq_setsockopt(c->dealer, ZMQ_SNDTIMEO, &c->timeout_ms, sizeof c->timeout_ms);
    if (opt->queue_limit != 0) {
        int hwm = opt->queue_limit == MC_QUEUE_UNLIMITED ? 0 : opt->queue_limit;
        zmq_setsockopt(c->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(c->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm);
    }
    if ((rc = mc_socket_setup(c, c->dealer, d)) != 0)
        goto fail;
    if (zmq_connect(c->dealer, c->endpoint) != 0) {
        rc = err_set(d, ERR_INVALID, "endpoint", "cannot connect to %s: %s", c->endpoint,
                     zmq_strerror(zmq_errno()));
        goto fail;
    }
    *out = c;
    return 0;
fail:
    mc_client_destroy(&c);
    return rc;
}

void mc_client_destroy(mc_client_t **cp)
{
    mc_client_t *c = *cp;
    if (c == NULL)
        return;
    if (c->dealer)
        zmq_close(c->dealer);
    if (c->zctx)
        zmq_ctx_term(c->zctx);
    free(c->endpoint);
    free(c->events_endpoint);
    free(c->key_file);
    free(c->server_key_file);
    free(c);
    *cp = NULL;
}

const char *mc_client_endpoint(const mc_client_t *c)
{
    return c->endpoint;
}

const char *mc_client_events_endpoint(const mc_client_t *c)
{
    return c->events_endpoint ? c->events_endpoint : "";
}

int mc_events_endpoint_resolve(const char *endpoint, const char *bound, char *out, size_t size)
{
    if (size == 0)
        return ERR_INVALID;
    out[0] = '\0';
    int n;
    const char *host = strncmp(bound, "tcp://", 6) == 0 ? bound + 6 : NULL;
    const char *port = host ? strrchr(host, ':') : NULL;
    bool wildcard = port && ((port - host == 1 && host[0] == '*') ||
                             (port - host == 7 && strncmp(host, "0.0.0.0", 7) == 0) ||
                             (port - host == 4 && strncmp(host, "[::]", 4) == 0));
    const char *ehost = strncmp(endpoint, "tcp://", 6) == 0 ? endpoint + 6 : NULL;
    const char *eport = ehost ? strrchr(ehost, ':') : NULL;
    if (wildcard && eport) /* bound to every address: reach it where the requests go */
        n = snprintf(out, size, "tcp://%.*s%s", (int)(eport - ehost), ehost, port);
    else
        n = snprintf(out, size, "%s", bound);
    if (n < 0 || (size_t)n >= size || bound[0] == '\0') {
        out[0] = '\0';
        return ERR_INVALID;
    }
    return 0;
}

int mc_events_endpoint_discover(mc_client_t *c, err_detail_t *d)
{
    if (c->events_endpoint != NULL)
        return 0;
    Mastery__V1__Health health = MASTERY__V1__HEALTH__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_HEALTH;
    req.health = &health;
    Mastery__V1__Reply *rep = NULL;
    int rc = mc_call(c, &req, MC_ATTEMPTS_DEFAULT, &rep, d);
    if (rc == 0)
        rc = mc_reply_check(rep, MASTERY__V1__REPLY__RESULT_HEALTH, d);
    if (rc != 0) {
        mc_reply_free(rep);
        return rc;
    }
    const char *bound = rep->health->events_endpoint;
    size_t size = strlen(c->endpoint) + strlen(bound) + sizeof MC_EVENTS_PORT + 16;
    char *ep = malloc(size);
    if (ep == NULL) {
        mc_reply_free(rep);
        return err_set(d, ERR_NOMEM, "", "out of memory");
    }
    if (bound[0] != '\0')
        rc = mc_events_endpoint_resolve(c->endpoint, bound, ep, size);
    else /* a daemon from before Health said it: its default port on the same host */
        mc_events_endpoint_default(c->endpoint, ep, size);
    mc_reply_free(rep);
    if (rc != 0) {
        free(ep);
        return err_set(d, ERR_INVALID, "events_endpoint",
                       "the daemon's events endpoint is unusable");
    }
    c->events_endpoint = ep;
    return 0;
}

int mc_client_timeout(const mc_client_t *c)
{
    return c->timeout_ms;
}

void *mc_client_socket(mc_client_t *c)
{
    return c->dealer;
}

/* ---- one request on the wire ---------------------------------------------------------------- */

int mc_req_prepare(mc_client_t *c, Mastery__V1__Request *req, mc_req_t *r, err_detail_t *d)
{
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s-%" PRIu64, c->id_prefix, ++c->calls);
    char *theirs = req->request_id;
    req->request_id = r->id;
    r->len = mastery__v1__request__get_packed_size(req);
    r->bytes = malloc(r->len ? r->len : 1);
    if (r->bytes != NULL)
        mastery__v1__request__pack(req, r->bytes);
    req->request_id = theirs;
    if (r->bytes == NULL)
        return err_set(d, ERR_NOMEM, "", "out of memory");
    return 0;
}

void mc_req_free(mc_req_t *r)
{
    free(r->bytes);
    memset(r, 0, sizeof *r);
}

int mc_req_send(mc_client_t *c, mc_req_t *r, err_detail_t *d)
{
    r->attempts++;
    r->deadline = mc_now_ms() + c->timeout_ms;
    if (zmq_send(c->dealer, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(c->dealer, r->bytes, r->len, 0) < 0)
        return err_set(d, MC_ERR_NO_REPLY, "", "cannot send to %s: %s", c->endpoint,
                       zmq_strerror(zmq_errno()));
    return 0;
}

int mc_no_reply(const mc_client_t *c, int attempts, err_detail_t *d)
{
    return err_set(d, MC_ERR_NO_REPLY, "", "no reply from %s within %d ms (%d attempt%s)",
                   c->endpoint, c->timeout_ms, attempts, attempts == 1 ? "" : "s");
}

int mc_reply_recv(mc_client_t *c, int64_t timeout_ms, Mastery__V1__Reply **out)
{
    int64_t end = mc_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        zmq_pollitem_t item = {c->dealer, 0, ZMQ_POLLIN, 0};
        int64_t left = end - mc_now_ms();
        int rc = zmq_poll(&item, 1, left > 0 ? (long)left : 0);
        if (rc < 0 && zmq_errno() == EINTR) {
            if (mc_stopping(c))
                return MC_ERR_INTERRUPTED;
            continue;
        }
        if (rc <= 0)
            return 0;
        /* [""][Reply]; anything else (more frames, no delimiter) is malformed. */
        zmq_msg_t parts[2];
        size_t n = 0;
        int more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, c->dealer, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            if (n < 2)
                parts[n++] = m;
            else
                zmq_msg_close(&m);
        }
        Mastery__V1__Reply *rep = NULL;
        if (n == 2 && zmq_msg_size(&parts[0]) == 0)
            rep =
                mastery__v1__reply__unpack(NULL, zmq_msg_size(&parts[1]), zmq_msg_data(&parts[1]));
        for (size_t i = 0; i < n; i++)
            zmq_msg_close(&parts[i]);
        if (rep != NULL) {
            *out = rep;
            return 1;
        }
        if (c->warn)
            c->warn(c->warn_arg, "dropped a malformed reply");
    }
}

int mc_call(mc_client_t *c, Mastery__V1__Request *req, int attempts, Mastery__V1__Reply **out,
            err_detail_t *d)
{
    mc_req_t r;
    int rc = mc_req_prepare(c, req, &r, d);
    if (rc != 0)
        return rc;
    for (;;) {
        if ((rc = mc_req_send(c, &r, d)) != 0)
            goto out;
        Mastery__V1__Reply *rep = NULL;
        int got;
        while ((got = mc_reply_recv(c, r.deadline - mc_now_ms(), &rep)) == 1) {
            if (strcmp(rep->request_id, r.id) == 0) {
                *out = rep;
                rc = 0;
                goto out;
            }
            mastery__v1__reply__free_unpacked(rep, NULL); /* a late reply to an earlier call */
        }
        if (got < 0) {
            rc = err_set(d, got, "", "interrupted");
            goto out;
        }
        if (r.attempts >= attempts) {
            rc = mc_no_reply(c, r.attempts, d);
            goto out;
        }
    }
out:
    mc_req_free(&r);
    return rc;
}

int mc_reply_check(const Mastery__V1__Reply *rep, Mastery__V1__Reply__ResultCase want,
                   err_detail_t *d)
{
    const Mastery__V1__Status *st = rep->status;
    if (st != NULL && st->code != 0) {
        err_set(d, -(int)st->code, st->field ? st->field : "", "%s",
                st->message ? st->message : "");
        return MC_ERR_STATUS;
    }
    if (rep->result_case != want) {
        err_set(d, ERR_INTERNAL, "", "unexpected reply (result %d, wanted %d)",
                (int)rep->result_case, (int)want);
        return MC_ERR_STATUS;
    }
    return 0;
}

void mc_reply_free(Mastery__V1__Reply *rep)
{
    if (rep != NULL)
        mastery__v1__reply__free_unpacked(rep, NULL);
}

/* ---- names -------------------------------------------------------------------------------- */

const char *mc_status_name(int code)
{
    /* The wire enum's own names, so a code added to the protocol prints sensibly. */
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mastery__v1__status_code__descriptor, code);
    if (v == NULL)
        return "UNKNOWN";
    return strncmp(v->name, "STATUS_", 7) == 0 ? v->name + 7 : v->name;
}

const char *mc_strerror(int rc)
{
    switch (rc) {
    case MC_ERR_STATUS:
        return "STATUS";
    case MC_ERR_NO_REPLY:
        return "NO_REPLY";
    case MC_ERR_INTERRUPTED:
        return "INTERRUPTED";
    default:
        return err_str(rc);
    }
}

void mc_events_endpoint_default(const char *ep, char *out, size_t size)
{
    if (size == 0)
        return;
    out[0] = '\0';
    if (ep == NULL || strncmp(ep, "tcp://", 6) != 0)
        return;
    const char *colon = strrchr(ep + 6, ':');
    if (colon == NULL)
        return;
    int n = snprintf(out, size, "%.*s:%s", (int)(colon - ep), ep, MC_EVENTS_PORT);
    if (n < 0 || (size_t)n >= size)
        out[0] = '\0';
}
