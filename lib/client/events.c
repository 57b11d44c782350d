/*
 * masteryclient: the event log. A reader replays the store page by page (ReadEvents) and,
 * following, takes live events from a SUB socket subscribed to everything: a live event that
 * is not the next seq starts a replay up to it first (the gap), one already handed out is
 * skipped, and a quiet PUB starts a replay too, for an event PUB dropped with nothing after it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mc_internal.h"

#define FOLLOW_QUEUE 100000 /* live events queued before PUB drops them for this reader */

struct mc_sub {
    mc_client_t *c;
    void *sock;
};

struct mc_events {
    mc_client_t *c;
    bool follow;
    mc_sub_t *sub;              /* following only */
    uint64_t last;              /* the newest seq handed out or passed over */
    bool replaying;             /* reading the store */
    uint64_t upto;              /* ... until last reaches this seq (0: until the store ends) */
    Mastery__V1__Reply *page;   /* the page being handed out */
    size_t at;                  /* its next event */
    uint64_t before;            /* last when the page was asked for */
    Mastery__V1__Event *behind; /* the live event that started the replay (a gap) */
    Mastery__V1__Event *given;  /* the live event handed out last (owned until the next call) */
    uint64_t gap_first, gap_last;
};

/* ---- live events ------------------------------------------------------------------------- */

static int sub_open(mc_client_t *c, const char *prefix, int queue, mc_sub_t **out, err_detail_t *d)
{
    *out = NULL;
    int rc = mc_events_endpoint_discover(c, d);
    if (rc != 0)
        return rc;
    const char *ep = c->events_endpoint;
    if (ep == NULL || ep[0] == '\0')
        return err_set(d, ERR_INVALID, "events_endpoint", "no events endpoint known for %s",
                       c->endpoint);
    mc_sub_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return err_set(d, ERR_NOMEM, "", "out of memory");
    s->c = c;
    s->sock = zmq_socket(c->zctx, ZMQ_SUB);
    if (s->sock == NULL) {
        rc = err_set(d, ERR_INTERNAL, "", "zmq: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    zmq_setsockopt(s->sock, ZMQ_RCVHWM, &queue, sizeof queue);
    zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
    if ((rc = mc_socket_setup(c, s->sock, d)) != 0)
        goto fail;
    if (zmq_connect(s->sock, ep) != 0) {
        rc = err_set(d, ERR_INVALID, "events_endpoint", "cannot connect to %s: %s", ep,
                     zmq_strerror(zmq_errno()));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    mc_sub_destroy(&s);
    return rc;
}

int mc_sub_new(mc_client_t *c, const char *prefix, int queue, mc_sub_t **out, err_detail_t *d)
{
    return sub_open(c, prefix ? prefix : "", queue, out, d);
}

void mc_sub_destroy(mc_sub_t **sp)
{
    mc_sub_t *s = *sp;
    if (s == NULL)
        return;
    if (s->sock)
        zmq_close(s->sock);
    free(s);
    *sp = NULL;
}

void mc_event_free(Mastery__V1__Event *ev)
{
    if (ev != NULL)
        mastery__v1__event__free_unpacked(ev, NULL);
}

/* Takes one [topic][Event] without waiting. Returns 1 with *out, 0 if nothing usable. */
static int sub_take(mc_sub_t *s, Mastery__V1__Event **out)
{
    zmq_msg_t parts[2];
    size_t n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 2)
            parts[n++] = m;
        else
            zmq_msg_close(&m);
    }
    Mastery__V1__Event *ev = NULL;
    if (n == 2)
        ev = mastery__v1__event__unpack(NULL, zmq_msg_size(&parts[1]), zmq_msg_data(&parts[1]));
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    *out = ev;
    return ev != NULL;
}

enum { POLL_READY = 1, POLL_QUIET = 0, POLL_SIGNAL = 2 };

/* Waits up to timeout_ms (-1: no limit) for the socket to be readable. */
static int sub_poll(mc_sub_t *s, long timeout_ms, err_detail_t *d)
{
    zmq_pollitem_t item = {s->sock, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(&item, 1, timeout_ms);
    if (n < 0 && zmq_errno() == EINTR)
        return POLL_SIGNAL;
    if (n < 0)
        return err_set(d, ERR_INTERNAL, "", "poll: %s", zmq_strerror(zmq_errno()));
    return n > 0 ? POLL_READY : POLL_QUIET;
}

int mc_sub_recv(mc_sub_t *s, int timeout_ms, Mastery__V1__Event **ev, err_detail_t *d)
{
    int64_t end = mc_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (sub_take(s, ev))
            return 1;
        long left = timeout_ms < 0 ? -1 : (long)(end - mc_now_ms());
        if (timeout_ms >= 0 && left <= 0)
            return 0;
        int n = sub_poll(s, left, d);
        if (n < 0)
            return n;
        if (n == POLL_SIGNAL && mc_stopping(s->c))
            return err_set(d, MC_ERR_INTERRUPTED, "", "interrupted");
    }
}

/* ---- the reader ------------------------------------------------------------------------- */

int mc_events_open(mc_client_t *c, uint64_t from_seq, bool follow, mc_events_t **out,
                   err_detail_t *d)
{
    *out = NULL;
    mc_events_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return err_set(d, ERR_NOMEM, "", "out of memory");
    r->c = c;
    r->follow = follow;
    r->last = (from_seq ? from_seq : 1) - 1;
    r->replaying = true; /* the store first, to its end */
    /* Subscribed before the first page is asked for: nothing falls between the two. */
    if (follow) {
        int rc = sub_open(c, "", FOLLOW_QUEUE, &r->sub, d);
        if (rc != 0) {
            free(r);
            return rc;
        }
    }
    *out = r;
    return 0;
}

void mc_events_destroy(mc_events_t **rp)
{
    mc_events_t *r = *rp;
    if (r == NULL)
        return;
    mc_reply_free(r->page);
    mc_event_free(r->behind);
    mc_event_free(r->given);
    mc_sub_destroy(&r->sub);
    free(r);
    *rp = NULL;
}

void mc_events_gap(const mc_events_t *r, uint64_t *first, uint64_t *last)
{
    *first = r->gap_first;
    *last = r->gap_last;
}

uint64_t mc_events_last(const mc_events_t *r)
{
    return r->last;
}

static void replay_start(mc_events_t *r, uint64_t upto)
{
    r->replaying = true;
    r->upto = upto;
}

/*
 * The next stored event after r->last: MC_EVENTS_EVENT with *ev, 0 when the replay is over
 * (the store has no more, or r->last reached r->upto), or an error.
 */
static int replay_next(mc_events_t *r, const Mastery__V1__Event **ev, err_detail_t *d)
{
    for (;;) {
        if (r->page == NULL) {
            Mastery__V1__ReadEvents read = MASTERY__V1__READ_EVENTS__INIT;
            read.from_seq = r->last + 1;
            Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
            req.op_case = MASTERY__V1__REQUEST__OP_READ_EVENTS;
            req.read_events = &read;
            Mastery__V1__Reply *rep = NULL;
            int rc = mc_call(r->c, &req, MC_ATTEMPTS_DEFAULT, &rep, d);
            if (rc != 0)
                return rc;
            if ((rc = mc_reply_check(rep, MASTERY__V1__REPLY__RESULT_EVENTS, d)) != 0) {
                mc_reply_free(rep);
                return rc;
            }
            r->page = rep;
            r->at = 0;
            r->before = r->last;
        }
        const Mastery__V1__EventPage *page = r->page->events;
        while (r->at < page->n_events) {
            const Mastery__V1__Event *e = page->events[r->at++];
            if (e->seq <= r->last)
                continue;
            r->last = e->seq;
            *ev = e;
            return MC_EVENTS_EVENT;
        }
        if (page->next_seq > r->last + 1)
            r->last = page->next_seq - 1; /* the store skipped ahead */
        bool done = page->n_events == 0 || r->last == r->before || r->last >= page->last_seq ||
                    (r->upto && r->last >= r->upto);
        mc_reply_free(r->page);
        r->page = NULL;
        if (done)
            return 0;
    }
}

int mc_events_next(mc_events_t *r, const Mastery__V1__Event **ev, err_detail_t *d)
{
    mc_event_free(r->given);
    r->given = NULL;
    for (;;) {
        if (r->replaying) {
            int rc = replay_next(r, ev, d);
            if (rc != 0)
                return rc;
            r->replaying = false;
            if (r->behind != NULL && r->behind->seq <= r->last) {
                mc_event_free(r->behind); /* the store had it after all */
                r->behind = NULL;
            } else if (r->behind != NULL && r->behind->seq > r->last + 1) {
                r->gap_first = r->last + 1;
                r->gap_last = r->behind->seq - 1;
                return MC_EVENTS_GAP; /* the live event comes on the next call */
            }
            continue;
        }
        if (!r->follow)
            return MC_EVENTS_END;
        if (r->behind != NULL) {
            r->given = r->behind;
            r->behind = NULL;
            r->last = r->given->seq;
            *ev = r->given;
            return MC_EVENTS_EVENT;
        }
        if (mc_stopping(r->c))
            return err_set(d, MC_ERR_INTERRUPTED, "", "interrupted");
        Mastery__V1__Event *live = NULL;
        if (sub_take(r->sub, &live)) {
            if (live->seq <= r->last) {
                mc_event_free(live);
            } else if (live->seq > r->last + 1) {
                r->behind = live;
                replay_start(r, live->seq - 1);
            } else {
                r->given = live;
                r->last = live->seq;
                *ev = live;
                return MC_EVENTS_EVENT;
            }
            continue;
        }
        int n = sub_poll(r->sub, MC_FOLLOW_IDLE_MS, d);
        if (n < 0)
            return n;
        if (n == POLL_QUIET)
            replay_start(r, 0); /* quiet: catch up in case PUB dropped the newest events */
    }
}
