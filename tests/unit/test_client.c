/*
 * Unit tests for libmasteryclient, without a daemon: a scripted server (a ROUTER that answers,
 * ignores or refuses requests as told, and an XPUB for live events) runs in a thread on
 * ephemeral loopback ports. Covered: names and option checks; a call resent with the same id
 * and bytes, late replies to an earlier call dropped, malformed replies warned about, no reply
 * within the attempts; a window's send order with replies overtaking each other, placeholders,
 * UNAVAILABLE retried, expiry naming its tag, growth to the limit, cancel; the event reader's
 * pages, skip-ahead, the switch to live with gaps filled from the store, a gap the store cannot
 * fill, the idle catch-up and an interrupt; a live-only subscription.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "curvekey.h"
#include "masteryclient.h"

/* ---- the scripted server ---------------------------------------------------------------- */

#define MAX_SEEN  64
#define MAX_STORE 64

typedef struct server {
    pthread_t thread;
    void *ctx, *router, *xpub;
    char endpoint[128], events[128];
    pthread_mutex_t lock;
    volatile int stop;
    /* the script (under lock) */
    int ignore;          /* requests to leave unanswered, from the next one */
    int unavailable;     /* requests to answer UNAVAILABLE */
    int stale_first;     /* before the next reply, send one with another id ... */
    int malformed_first; /* ... or one that is not a Reply */
    int hold;            /* hold the next reply back, and send it with the one after */
    int held_first;      /* ... before that one (a late reply), else after it (overtaken) */
    uint64_t store[MAX_STORE];
    size_t n_store, page_limit;
    uint64_t publish[MAX_STORE];
    size_t n_publish;
    /* what happened (under lock) */
    char seen_id[MAX_SEEN][64];
    size_t seen_len[MAX_SEEN];
    uint64_t seen_from[MAX_SEEN];
    size_t n_seen;
    int subscribed;
    zmq_msg_t held[2]; /* an identity and a reply held back */
    int holding;
} server_t;

static Mastery__V1__Event *make_event(uint64_t seq)
{
    static Mastery__V1__Mastered m[MAX_STORE * 2];
    static Mastery__V1__Event e[MAX_STORE * 2];
    static char learner[MAX_STORE * 2][32];
    size_t i = seq % (MAX_STORE * 2);
    mastery__v1__mastered__init(&m[i]);
    mastery__v1__event__init(&e[i]);
    snprintf(learner[i], sizeof learner[i], "s-%llu", (unsigned long long)seq);
    m[i].learner_id = learner[i];
    m[i].competency_id = "a";
    m[i].score = 0.9;
    e[i].seq = seq;
    e[i].at_ms = 1795169700000 + (int64_t)seq;
    e[i].kind_case = MASTERY__V1__EVENT__KIND_MASTERED;
    e[i].mastered = &m[i];
    return &e[i];
}

static void send_reply(server_t *s, zmq_msg_t *ident, const Mastery__V1__Reply *rep)
{
    size_t len = mastery__v1__reply__get_packed_size(rep);
    uint8_t *buf = malloc(len + 1);
    mastery__v1__reply__pack(rep, buf);
    zmq_msg_t copy; /* sending consumes a message: the identity may be needed again */
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, ident);
    zmq_msg_send(&copy, s->router, ZMQ_SNDMORE);
    zmq_send(s->router, "", 0, ZMQ_SNDMORE);
    zmq_send(s->router, buf, len, 0);
    free(buf);
}

static void answer(server_t *s, zmq_msg_t *ident, const Mastery__V1__Request *req)
{
    Mastery__V1__Reply rep = MASTERY__V1__REPLY__INIT;
    Mastery__V1__Status st = MASTERY__V1__STATUS__INIT;
    Mastery__V1__EventPage page = MASTERY__V1__EVENT_PAGE__INIT;
    Mastery__V1__HealthInfo health = MASTERY__V1__HEALTH_INFO__INIT;
    Mastery__V1__Event *events[MAX_STORE];
    rep.request_id = req->request_id;
    rep.status = &st;
    if (s->unavailable > 0) {
        s->unavailable--;
        st.code = MASTERY__V1__STATUS_CODE__STATUS_UNAVAILABLE;
        st.message = "disk full";
    } else if (req->op_case == MASTERY__V1__REQUEST__OP_READ_EVENTS) {
        uint64_t from = req->read_events->from_seq ? req->read_events->from_seq : 1;
        size_t n = 0;
        for (size_t i = 0; i < s->n_store && n < s->page_limit; i++)
            if (s->store[i] >= from)
                events[n++] = make_event(s->store[i]);
        page.events = events;
        page.n_events = n;
        page.next_seq = n ? events[n - 1]->seq + 1 : from;
        page.last_seq = s->n_store ? s->store[s->n_store - 1] : 0;
        rep.result_case = MASTERY__V1__REPLY__RESULT_EVENTS;
        rep.events = &page;
    } else {
        health.version = "test";
        rep.result_case = MASTERY__V1__REPLY__RESULT_HEALTH;
        rep.health = &health;
    }
    if (s->stale_first > 0) {
        s->stale_first--;
        Mastery__V1__Reply stale = rep;
        stale.request_id = "someone-else";
        send_reply(s, ident, &stale);
    }
    if (s->malformed_first > 0) {
        s->malformed_first--;
        zmq_msg_t copy;
        zmq_msg_init(&copy);
        zmq_msg_copy(&copy, ident);
        zmq_msg_send(&copy, s->router, ZMQ_SNDMORE);
        zmq_send(s->router, "", 0, ZMQ_SNDMORE);
        zmq_send(s->router, "\xff\xff\xff", 3, 0);
    }
    if (s->hold > 0 && !s->holding) {
        /* Hold this reply: it goes out after the next one. */
        size_t len = mastery__v1__reply__get_packed_size(&rep);
        zmq_msg_init(&s->held[0]);
        zmq_msg_copy(&s->held[0], ident);
        zmq_msg_init_size(&s->held[1], len);
        mastery__v1__reply__pack(&rep, zmq_msg_data(&s->held[1]));
        s->holding = 1;
        return;
    }
    if (s->holding && !s->held_first)
        send_reply(s, ident, &rep);
    if (s->holding) {
        s->hold--;
        s->holding = 0;
        zmq_msg_send(&s->held[0], s->router, ZMQ_SNDMORE);
        zmq_send(s->router, "", 0, ZMQ_SNDMORE);
        zmq_msg_send(&s->held[1], s->router, 0);
        if (!s->held_first)
            return;
    }
    send_reply(s, ident, &rep);
}

static void serve_request(server_t *s)
{
    zmq_msg_t ident, delim, body;
    zmq_msg_init(&ident);
    zmq_msg_init(&delim);
    zmq_msg_init(&body);
    zmq_msg_recv(&ident, s->router, 0);
    zmq_msg_recv(&delim, s->router, 0);
    zmq_msg_recv(&body, s->router, 0);
    Mastery__V1__Request *req =
        mastery__v1__request__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
    pthread_mutex_lock(&s->lock);
    if (req != NULL && s->n_seen < MAX_SEEN) {
        snprintf(s->seen_id[s->n_seen], sizeof s->seen_id[0], "%s", req->request_id);
        s->seen_len[s->n_seen] = zmq_msg_size(&body);
        s->seen_from[s->n_seen] =
            req->op_case == MASTERY__V1__REQUEST__OP_READ_EVENTS ? req->read_events->from_seq : 0;
        s->n_seen++;
    }
    if (req != NULL && s->ignore > 0)
        s->ignore--;
    else if (req != NULL)
        answer(s, &ident, req);
    pthread_mutex_unlock(&s->lock);
    if (req)
        mastery__v1__request__free_unpacked(req, NULL);
    zmq_msg_close(&ident);
    zmq_msg_close(&delim);
    zmq_msg_close(&body);
}

static void *serve(void *arg)
{
    server_t *s = arg;
    while (!s->stop) {
        zmq_pollitem_t items[2] = {{s->router, 0, ZMQ_POLLIN, 0}, {s->xpub, 0, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, 10);
        if (items[0].revents & ZMQ_POLLIN)
            serve_request(s);
        if (items[1].revents & ZMQ_POLLIN) {
            char buf[64];
            int n = zmq_recv(s->xpub, buf, sizeof buf, 0);
            pthread_mutex_lock(&s->lock);
            if (n > 0 && buf[0] == 1)
                s->subscribed = 1;
            pthread_mutex_unlock(&s->lock);
        }
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_publish; i++) {
            Mastery__V1__Event *e = make_event(s->publish[i]);
            uint8_t buf[256];
            size_t len = mastery__v1__event__pack(e, buf);
            zmq_send(s->xpub, "mastered/", 9, ZMQ_SNDMORE);
            zmq_send(s->xpub, buf, len, 0);
        }
        s->n_publish = 0;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static server_t *server_start(void)
{
    server_t *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->page_limit = 2;
    s->ctx = zmq_ctx_new();
    s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
    s->xpub = zmq_socket(s->ctx, ZMQ_XPUB);
    int linger = 0;
    zmq_setsockopt(s->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s->xpub, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(s->router, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_bind(s->xpub, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof s->endpoint;
    zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, s->endpoint, &len);
    len = sizeof s->events;
    zmq_getsockopt(s->xpub, ZMQ_LAST_ENDPOINT, s->events, &len);
    pthread_create(&s->thread, NULL, serve, s);
    return s;
}

static void server_stop(server_t *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    if (s->holding) {
        zmq_msg_close(&s->held[0]);
        zmq_msg_close(&s->held[1]);
    }
    zmq_close(s->router);
    zmq_close(s->xpub);
    zmq_ctx_term(s->ctx);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static size_t seen(server_t *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->n_seen;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void store_add(server_t *s, uint64_t seq)
{
    pthread_mutex_lock(&s->lock);
    s->store[s->n_store++] = seq;
    pthread_mutex_unlock(&s->lock);
}

static void publish(server_t *s, uint64_t seq)
{
    pthread_mutex_lock(&s->lock);
    s->publish[s->n_publish++] = seq;
    pthread_mutex_unlock(&s->lock);
}

static void wait_subscribed(server_t *s)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&s->lock);
        int ok = s->subscribed;
        pthread_mutex_unlock(&s->lock);
        if (ok)
            return;
        usleep(10000);
    }
    fail_msg("the reader never subscribed");
}

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct warned {
    int n;
    char last[128];
} warned_t;

static void on_warn(void *arg, const char *message)
{
    warned_t *w = arg;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", message);
}

static mc_client_t *connect_to(const char *endpoint, const char *events, int timeout_ms,
                               warned_t *w, volatile sig_atomic_t *stop)
{
    mc_options_t opt = {.endpoint = endpoint,
                        .events_endpoint = events,
                        .timeout_ms = timeout_ms,
                        .warn = w ? on_warn : NULL,
                        .warn_arg = w,
                        .stop = stop};
    mc_client_t *c = NULL;
    err_detail_t d;
    int rc = mc_client_new(&opt, &c, &d);
    if (rc != 0)
        fail_msg("mc_client_new: %s", d.message);
    return c;
}

static Mastery__V1__Request health_request(void)
{
    static Mastery__V1__Health h = MASTERY__V1__HEALTH__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_HEALTH;
    req.health = &h;
    return req;
}

/* ---- names and options ------------------------------------------------------------------ */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(mc_status_name(0), "OK");
    assert_string_equal(mc_status_name(1), "INVALID");
    assert_string_equal(mc_status_name(7), "UNAVAILABLE");
    assert_string_equal(mc_status_name(99), "UNKNOWN");
    assert_string_equal(mc_strerror(MC_ERR_NO_REPLY), "NO_REPLY");
    assert_string_equal(mc_strerror(MC_ERR_STATUS), "STATUS");
    assert_string_equal(mc_strerror(MC_ERR_INTERRUPTED), "INTERRUPTED");
    assert_string_equal(mc_strerror(ERR_INVALID), "INVALID");
}

static void test_events_endpoint_default(void **state)
{
    (void)state;
    char out[64];
    mc_events_endpoint_default("tcp://127.0.0.1:7411", out, sizeof out);
    assert_string_equal(out, "tcp://127.0.0.1:7412");
    mc_events_endpoint_default("tcp://[::1]:9000", out, sizeof out);
    assert_string_equal(out, "tcp://[::1]:7412");
    mc_events_endpoint_default("ipc:///run/masteryd.sock", out, sizeof out);
    assert_string_equal(out, "");
    mc_events_endpoint_default("tcp://hostonly", out, sizeof out);
    assert_string_equal(out, "");
    mc_events_endpoint_default("tcp://a-rather-long-host-name.example:1", out, 20);
    assert_string_equal(out, ""); /* too small: nothing, never a cut endpoint */
}

static void test_events_endpoint_resolve(void **state)
{
    (void)state;
    char out[64];
    /* a wildcard bind is reached where the requests go */
    assert_int_equal(
        mc_events_endpoint_resolve("tcp://10.1.2.3:7411", "tcp://0.0.0.0:17412", out, sizeof out),
        0);
    assert_string_equal(out, "tcp://10.1.2.3:17412");
    assert_int_equal(
        mc_events_endpoint_resolve("tcp://school.example:1", "tcp://[::]:9", out, sizeof out), 0);
    assert_string_equal(out, "tcp://school.example:9");
    assert_int_equal(mc_events_endpoint_resolve("tcp://h:1", "tcp://*:9", out, sizeof out), 0);
    assert_string_equal(out, "tcp://h:9");
    /* a definite address, or another transport, is used as it is */
    assert_int_equal(mc_events_endpoint_resolve("tcp://127.0.0.1:7411", "tcp://127.0.0.1:40001",
                                                out, sizeof out),
                     0);
    assert_string_equal(out, "tcp://127.0.0.1:40001");
    assert_int_equal(mc_events_endpoint_resolve("tcp://h:1", "ipc:///run/m.ev", out, sizeof out),
                     0);
    assert_string_equal(out, "ipc:///run/m.ev");
    assert_int_equal(mc_events_endpoint_resolve("tcp://h:1", "", out, sizeof out), ERR_INVALID);
    assert_int_equal(
        mc_events_endpoint_resolve("tcp://a-long-host.example:1", "tcp://0.0.0.0:9", out, 12),
        ERR_INVALID);
    assert_string_equal(out, "");
}

static void test_options_refused(void **state)
{
    (void)state;
    mc_client_t *c = (mc_client_t *)1;
    err_detail_t d;
    assert_int_equal(mc_client_new(NULL, &c, &d), ERR_INVALID);
    assert_null(c);
    mc_options_t opt = {.endpoint = ""};
    assert_int_equal(mc_client_new(&opt, &c, &d), ERR_INVALID);
    opt.endpoint = "tcp://127.0.0.1:7411";
    opt.key_file = "k";
    assert_int_equal(mc_client_new(&opt, &c, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "go together"));
    opt.key_file = NULL;
    opt.timeout_ms = -1;
    assert_int_equal(mc_client_new(&opt, &c, &d), ERR_INVALID);
    opt.timeout_ms = 0;
    opt.endpoint = "nonsense";
    assert_int_equal(mc_client_new(&opt, &c, &d), ERR_INVALID);
    assert_non_null(strstr(d.message, "cannot connect to nonsense"));
    assert_null(c);
}

static void test_curve_key_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/mc-test-XXXXXX", key[64], server[64], pub[80];
    assert_non_null(mkdtemp(dir));
    snprintf(key, sizeof key, "%s/client.key", dir);
    snprintf(server, sizeof server, "%s/server.key", dir);
    snprintf(pub, sizeof pub, "%s/server.key.pub", dir);
    err_detail_t d;
    mc_client_t *c = NULL;
    mc_options_t opt = {
        .endpoint = "tcp://127.0.0.1:7411", .key_file = key, .server_key_file = pub};
    assert_int_equal(mc_client_new(&opt, &c, &d), ERR_NOT_FOUND);
    assert_int_equal(curvekey_pair_create(key, NULL, &d), 0);
    assert_int_equal(curvekey_pair_create(server, NULL, &d), 0);
    assert_int_equal(mc_client_new(&opt, &c, &d), 0);
    /* not guessed: asked of the daemon (Health) when a subscription needs it */
    assert_string_equal(mc_client_events_endpoint(c), "");
    assert_int_equal(mc_client_timeout(c), MC_TIMEOUT_DEFAULT);
    mc_client_destroy(&c);
    assert_null(c);
    mc_client_destroy(&c); /* idempotent */
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(mc_client_new(&opt, &c, &d), ERR_FORBIDDEN);
    assert_null(c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_reply_check(void **state)
{
    (void)state;
    Mastery__V1__Reply rep = MASTERY__V1__REPLY__INIT;
    Mastery__V1__Status st = MASTERY__V1__STATUS__INIT;
    rep.status = &st;
    err_detail_t d;
    assert_int_equal(mc_reply_check(&rep, MASTERY__V1__REPLY__RESULT__NOT_SET, &d), 0);
    assert_int_equal(mc_reply_check(&rep, MASTERY__V1__REPLY__RESULT_HEALTH, &d), MC_ERR_STATUS);
    assert_int_equal(d.code, ERR_INTERNAL);
    st.code = MASTERY__V1__STATUS_CODE__STATUS_NOT_FOUND;
    st.field = "framework_id";
    st.message = "no such framework";
    assert_int_equal(mc_reply_check(&rep, MASTERY__V1__REPLY__RESULT__NOT_SET, &d), MC_ERR_STATUS);
    assert_int_equal(d.code, ERR_NOT_FOUND);
    assert_string_equal(d.field, "framework_id");
    assert_string_equal(d.message, "no such framework");
}

/* ---- one request ------------------------------------------------------------------------ */

static void test_call_no_reply(void **state)
{
    (void)state;
    mc_client_t *c = connect_to("tcp://127.0.0.1:1", NULL, 50, NULL, NULL);
    Mastery__V1__Request req = health_request();
    Mastery__V1__Reply *rep = NULL;
    err_detail_t d;
    int64_t t0 = mc_now_ms();
    assert_int_equal(mc_call(c, &req, 2, &rep, &d), MC_ERR_NO_REPLY);
    assert_true(mc_now_ms() - t0 >= 100);
    assert_null(rep);
    assert_string_equal(d.message, "no reply from tcp://127.0.0.1:1 within 50 ms (2 attempts)");
    assert_int_equal(mc_call(c, &req, 0, &rep, &d), MC_ERR_NO_REPLY); /* 0 means once */
    assert_string_equal(d.message, "no reply from tcp://127.0.0.1:1 within 50 ms (1 attempt)");
    assert_string_equal(req.request_id, ""); /* the caller's id is put back */
    mc_client_destroy(&c);
}

static void test_call_resends_same_id(void **state)
{
    (void)state;
    server_t *s = server_start();
    warned_t w = {0};
    mc_client_t *c = connect_to(s->endpoint, NULL, 200, &w, NULL);
    s->ignore = 2;          /* the first two sends are lost */
    s->stale_first = 1;     /* then a reply to someone else comes first */
    s->malformed_first = 1; /* and one that is not a reply */
    Mastery__V1__Request req = health_request();
    Mastery__V1__Reply *rep = NULL;
    err_detail_t d;
    assert_int_equal(mc_call(c, &req, 3, &rep, &d), 0);
    assert_int_equal(rep->result_case, MASTERY__V1__REPLY__RESULT_HEALTH);
    assert_int_equal(seen(s), 3);
    /* The same request every time: same id, same bytes. */
    assert_string_equal(s->seen_id[0], s->seen_id[1]);
    assert_string_equal(s->seen_id[1], s->seen_id[2]);
    assert_int_equal(s->seen_len[0], s->seen_len[2]);
    assert_string_equal(rep->request_id, s->seen_id[0]);
    assert_int_equal(strlen(s->seen_id[0]), 14); /* 12 hex digits, "-1" */
    assert_int_equal(w.n, 1);
    assert_string_equal(w.last, "dropped a malformed reply");
    mc_reply_free(rep);
    /* The next call has the next id. */
    assert_int_equal(mc_call(c, &req, 1, &rep, &d), 0);
    assert_string_equal(rep->request_id + 12, "-2");
    assert_memory_equal(rep->request_id, s->seen_id[0], 12);
    mc_reply_free(rep);
    mc_client_destroy(&c);
    server_stop(s);
}

static void test_call_drops_late_reply(void **state)
{
    (void)state;
    server_t *s = server_start();
    mc_client_t *c = connect_to(s->endpoint, NULL, 100, NULL, NULL);
    Mastery__V1__Request req = health_request();
    Mastery__V1__Reply *rep = NULL;
    err_detail_t d;
    /* Call 1 gets no reply in time; its reply comes late, just before call 2's. */
    s->hold = 1;
    s->held_first = 1;
    assert_int_equal(mc_call(c, &req, 1, &rep, &d), MC_ERR_NO_REPLY);
    assert_int_equal(mc_call(c, &req, 1, &rep, &d), 0);
    assert_string_equal(rep->request_id, s->seen_id[1]);
    mc_reply_free(rep);
    mc_client_destroy(&c);
    server_stop(s);
}

/* ---- windows ------------------------------------------------------------------------------ */

static void test_window_order_and_placeholders(void **state)
{
    (void)state;
    server_t *s = server_start();
    mc_client_t *c = connect_to(s->endpoint, NULL, 2000, NULL, NULL);
    mc_window_t *w = NULL;
    assert_int_equal(mc_window_new(c, 0, &w), ERR_INVALID);
    assert_int_equal(mc_window_new(c, 4, &w), 0);
    Mastery__V1__Request req = health_request();
    int tags[3] = {0, 1, 2};
    err_detail_t d;
    s->hold = 1; /* the reply to the first request comes after the third's */
    assert_int_equal(mc_window_send(w, &req, 3, &tags[0], &d), 0);
    assert_int_equal(mc_window_send(w, NULL, 0, &tags[1], &d), 0);
    assert_int_equal(mc_window_send(w, &req, 3, &tags[2], &d), 0);
    assert_int_equal(mc_window_count(w), 3);
    assert_true(mc_window_deadline(w) <= mc_now_ms() + 2000);
    void *tag;
    Mastery__V1__Reply *rep;
    assert_false(mc_window_take(w, &tag, &rep)); /* the first is not answered yet */
    assert_int_equal(mc_window_wait(w, -1, NULL, &d), 0);
    assert_false(mc_window_take(w, &tag, &rep)); /* the third was: it waits its turn */
    assert_int_equal(mc_window_wait(w, -1, NULL, &d), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(mc_window_take(w, &tag, &rep));
        assert_ptr_equal(tag, &tags[i]);
        if (i == 1) {
            assert_null(rep); /* the placeholder */
        } else {
            assert_string_equal(rep->request_id, s->seen_id[i / 2]);
            mc_reply_free(rep);
        }
    }
    assert_int_equal(mc_window_count(w), 0);
    assert_int_equal(mc_window_deadline(w), INT64_MAX);
    assert_int_equal(mc_window_wait(w, -1, NULL, &d), 0); /* nothing to wait for */
    mc_window_destroy(&w);
    assert_null(w);
    mc_client_destroy(&c);
    server_stop(s);
}

static void test_window_unavailable_is_retried(void **state)
{
    (void)state;
    server_t *s = server_start();
    mc_client_t *c = connect_to(s->endpoint, NULL, 100, NULL, NULL);
    mc_window_t *w = NULL;
    assert_int_equal(mc_window_new(c, 2, &w), 0);
    Mastery__V1__Request req = health_request();
    err_detail_t d;
    s->unavailable = 1;
    assert_int_equal(mc_window_send(w, &req, 3, NULL, &d), 0);
    void *tag;
    Mastery__V1__Reply *rep = NULL;
    int64_t t0 = mc_now_ms();
    while (!mc_window_take(w, &tag, &rep))
        assert_int_equal(mc_window_wait(w, -1, NULL, &d), 0);
    assert_true(mc_now_ms() - t0 >= 90); /* resent min(timeout, 500 ms) later */
    assert_int_equal(seen(s), 2);
    assert_string_equal(s->seen_id[0], s->seen_id[1]);
    assert_int_equal(rep->status->code, 0);
    mc_reply_free(rep);
    /* Out of sends, UNAVAILABLE is the answer. */
    s->unavailable = 1;
    assert_int_equal(mc_window_send(w, &req, 1, NULL, &d), 0);
    while (!mc_window_take(w, &tag, &rep))
        assert_int_equal(mc_window_wait(w, -1, NULL, &d), 0);
    assert_int_equal(rep->status->code, MASTERY__V1__STATUS_CODE__STATUS_UNAVAILABLE);
    mc_reply_free(rep);
    mc_window_destroy(&w);
    mc_client_destroy(&c);
    server_stop(s);
}

static void test_window_expiry_names_its_tag(void **state)
{
    (void)state;
    server_t *s = server_start();
    mc_client_t *c = connect_to(s->endpoint, NULL, 50, NULL, NULL);
    mc_window_t *w = NULL;
    assert_int_equal(mc_window_new(c, 2, &w), 0);
    Mastery__V1__Request req = health_request();
    err_detail_t d;
    int mine = 7;
    s->ignore = 100;
    assert_int_equal(mc_window_send(w, &req, 2, &mine, &d), 0);
    void *expired = NULL;
    int rc;
    while ((rc = mc_window_wait(w, -1, &expired, &d)) == 0)
        ;
    assert_int_equal(rc, MC_ERR_NO_REPLY);
    assert_ptr_equal(expired, &mine);
    assert_int_equal(seen(s), 2);
    assert_non_null(strstr(d.message, "within 50 ms (2 attempts)"));
    void *tag;
    assert_true(mc_window_cancel(w, &tag));
    assert_ptr_equal(tag, &mine);
    assert_false(mc_window_cancel(w, &tag));
    mc_window_destroy(&w);
    mc_client_destroy(&c);
    server_stop(s);
}

static void test_window_grows_to_its_limit(void **state)
{
    (void)state;
    mc_client_t *c = connect_to("tcp://127.0.0.1:1", NULL, 50, NULL, NULL);
    mc_window_t *w = NULL;
    assert_int_equal(mc_window_new(c, 40, &w), 0);
    static int tags[46];
    err_detail_t d;
    void *tag;
    Mastery__V1__Reply *rep;
    for (int i = 0; i < 10; i++)
        assert_int_equal(mc_window_send(w, NULL, 0, &tags[i], &d), 0);
    for (int i = 0; i < 5; i++) { /* take some, so the ring wraps before it grows */
        assert_true(mc_window_take(w, &tag, &rep));
        assert_ptr_equal(tag, &tags[i]);
    }
    for (int i = 10; i < 45; i++)
        assert_int_equal(mc_window_send(w, NULL, 0, &tags[i], &d), 0);
    assert_int_equal(mc_window_count(w), 40);
    assert_int_equal(mc_window_send(w, NULL, 0, &tags[45], &d), ERR_LIMIT);
    for (int i = 5; i < 45; i++) {
        assert_true(mc_window_take(w, &tag, &rep));
        assert_ptr_equal(tag, &tags[i]);
        assert_null(rep);
    }
    mc_window_destroy(&w);
    mc_client_destroy(&c);
}

/* ---- events ------------------------------------------------------------------------------- */

static void expect_event(mc_events_t *r, uint64_t seq)
{
    const Mastery__V1__Event *ev = NULL;
    err_detail_t d;
    int rc = mc_events_next(r, &ev, &d);
    if (rc != MC_EVENTS_EVENT)
        fail_msg("wanted event %llu, got %d (%s)", (unsigned long long)seq, rc,
                 rc < 0 ? d.message : "");
    assert_int_equal(ev->seq, seq);
    assert_int_equal(ev->kind_case, MASTERY__V1__EVENT__KIND_MASTERED);
}

static void test_events_stored(void **state)
{
    (void)state;
    server_t *s = server_start();
    const uint64_t want[] = {1, 2, 3, 7, 9}; /* a store with holes: pages skip ahead */
    for (size_t i = 0; i < 5; i++)
        store_add(s, want[i]);
    mc_client_t *c = connect_to(s->endpoint, "", 1000, NULL, NULL);
    mc_events_t *r = NULL;
    err_detail_t d;
    assert_int_equal(mc_events_open(c, 0, false, &r, &d), 0);
    for (size_t i = 0; i < 5; i++)
        expect_event(r, want[i]);
    const Mastery__V1__Event *ev;
    assert_int_equal(mc_events_next(r, &ev, &d), MC_EVENTS_END);
    assert_int_equal(mc_events_next(r, &ev, &d), MC_EVENTS_END);
    assert_int_equal(mc_events_last(r), 9);
    mc_events_destroy(&r);
    assert_null(r);
    /* From a seq; pages of two. */
    assert_int_equal(mc_events_open(c, 2, false, &r, &d), 0);
    expect_event(r, 2);
    expect_event(r, 3);
    mc_events_destroy(&r);
    mc_client_destroy(&c);
    /* Following needs an events endpoint, asked of the daemon: none there, no guess. */
    c = connect_to("ipc:///tmp/mc-test-nowhere", NULL, 200, NULL, NULL);
    assert_string_equal(mc_client_events_endpoint(c), "");
    assert_int_equal(mc_events_open(c, 1, true, &r, &d), MC_ERR_NO_REPLY);
    assert_string_equal(mc_client_events_endpoint(c), "");
    mc_client_destroy(&c);
    server_stop(s);
}

static void test_events_refused(void **state)
{
    (void)state;
    server_t *s = server_start();
    mc_client_t *c = connect_to(s->endpoint, NULL, 1000, NULL, NULL);
    mc_events_t *r = NULL;
    err_detail_t d;
    s->unavailable = 1;
    assert_int_equal(mc_events_open(c, 1, false, &r, &d), 0);
    const Mastery__V1__Event *ev;
    assert_int_equal(mc_events_next(r, &ev, &d), MC_ERR_STATUS);
    assert_int_equal(d.code, ERR_UNAVAILABLE);
    assert_string_equal(d.message, "disk full");
    mc_events_destroy(&r);
    mc_client_destroy(&c);
    server_stop(s);
}

static void test_events_follow(void **state)
{
    (void)state;
    server_t *s = server_start();
    store_add(s, 1);
    store_add(s, 2);
    store_add(s, 3);
    volatile sig_atomic_t stop = 0;
    mc_client_t *c = connect_to(s->endpoint, s->events, 1000, NULL, &stop);
    mc_events_t *r = NULL;
    err_detail_t d;
    assert_int_equal(mc_events_open(c, 1, true, &r, &d), 0);
    expect_event(r, 1);
    expect_event(r, 2);
    expect_event(r, 3);
    wait_subscribed(s); /* subscribed before the store was read */
    for (uint64_t seq = 4; seq <= 8; seq++)
        store_add(s, seq);
    publish(s, 3); /* a repeat */
    publish(s, 4);
    publish(s, 6); /* 5 lost on PUB */
    publish(s, 8); /* 7 too */
    size_t reads = seen(s);
    int64_t t0 = mc_now_ms();
    for (uint64_t seq = 4; seq <= 8; seq++)
        expect_event(r, seq);
    assert_true(mc_now_ms() - t0 < 900); /* filled at once, not by the idle catch-up */
    assert_true(seen(s) > reads);
    bool asked5 = false, asked7 = false;
    for (size_t i = reads; i < seen(s); i++) {
        asked5 |= s->seen_from[i] == 5;
        asked7 |= s->seen_from[i] == 7;
    }
    assert_true(asked5 && asked7);
    /* A gap the store cannot fill is named, then the live event comes. */
    publish(s, 11);
    const Mastery__V1__Event *ev = NULL;
    assert_int_equal(mc_events_next(r, &ev, &d), MC_EVENTS_GAP);
    uint64_t first = 0, last = 0;
    mc_events_gap(r, &first, &last);
    assert_int_equal(first, 9);
    assert_int_equal(last, 10);
    expect_event(r, 11);
    /* An event PUB dropped with nothing after it: the idle catch-up reads it. */
    store_add(s, 12);
    t0 = mc_now_ms();
    expect_event(r, 12);
    assert_true(mc_now_ms() - t0 >= MC_FOLLOW_IDLE_MS - 50);
    assert_int_equal(mc_events_last(r), 12);
    stop = 1;
    assert_int_equal(mc_events_next(r, &ev, &d), MC_ERR_INTERRUPTED);
    mc_events_destroy(&r);
    mc_client_destroy(&c);
    server_stop(s);
}

static void test_sub_live_only(void **state)
{
    (void)state;
    server_t *s = server_start();
    mc_client_t *c = connect_to(s->endpoint, s->events, 1000, NULL, NULL);
    mc_sub_t *sub = NULL;
    err_detail_t d;
    assert_int_equal(mc_sub_new(c, "mastered/", 0, &sub, &d), 0);
    wait_subscribed(s);
    Mastery__V1__Event *ev = NULL;
    assert_int_equal(mc_sub_recv(sub, 0, &ev, &d), 0);
    publish(s, 42);
    assert_int_equal(mc_sub_recv(sub, 2000, &ev, &d), 1);
    assert_int_equal(ev->seq, 42);
    mc_event_free(ev);
    mc_sub_destroy(&sub);
    assert_null(sub);
    mc_client_destroy(&c);
    server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_events_endpoint_default),
        cmocka_unit_test(test_events_endpoint_resolve),
        cmocka_unit_test(test_options_refused),
        cmocka_unit_test(test_curve_key_files),
        cmocka_unit_test(test_reply_check),
        cmocka_unit_test(test_call_no_reply),
        cmocka_unit_test(test_call_resends_same_id),
        cmocka_unit_test(test_call_drops_late_reply),
        cmocka_unit_test(test_window_order_and_placeholders),
        cmocka_unit_test(test_window_unavailable_is_retried),
        cmocka_unit_test(test_window_expiry_names_its_tag),
        cmocka_unit_test(test_window_grows_to_its_limit),
        cmocka_unit_test(test_events_stored),
        cmocka_unit_test(test_events_refused),
        cmocka_unit_test(test_events_follow),
        cmocka_unit_test(test_sub_live_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
