/*
 * masteryclient: a window of requests in flight. Entries sit in a ring in send order; a reply
 * is filed with its entry by request id, and entries leave from the front only, so the caller
 * sees results in the order it sent them even when replies overtake each other.
 */
#include <stdlib.h>
#include <string.h>

#include "mc_internal.h"

#define UNAVAILABLE_RETRY_MS 500 /* resend this soon after a reply UNAVAILABLE */

typedef struct mc_slot {
    mc_req_t req; /* req.bytes NULL: a placeholder */
    int max_attempts;
    bool done; /* answered (or a placeholder) */
    void *tag;
    Mastery__V1__Reply *reply;
} mc_slot_t;

struct mc_window {
    mc_client_t *c;
    size_t limit;
    size_t cap; /* slots allocated; grows by doubling up to limit */
    size_t head, count;
    mc_slot_t *slots;
};

static mc_slot_t *slot_at(const mc_window_t *w, size_t i)
{
    return &w->slots[(w->head + i) % w->cap];
}

static void slot_clear(mc_slot_t *s)
{
    mc_req_free(&s->req);
    mc_reply_free(s->reply);
    memset(s, 0, sizeof *s);
}

int mc_window_new(mc_client_t *c, size_t limit, mc_window_t **out)
{
    *out = NULL;
    if (limit == 0)
        return ERR_INVALID;
    mc_window_t *w = calloc(1, sizeof *w);
    if (w == NULL)
        return ERR_NOMEM;
    w->c = c;
    w->limit = limit;
    w->cap = limit < 16 ? limit : 16;
    w->slots = calloc(w->cap, sizeof *w->slots);
    if (w->slots == NULL) {
        free(w);
        return ERR_NOMEM;
    }
    *out = w;
    return 0;
}

void mc_window_destroy(mc_window_t **wp)
{
    mc_window_t *w = *wp;
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->count; i++)
        slot_clear(slot_at(w, i));
    free(w->slots);
    free(w);
    *wp = NULL;
}

/* Makes room for one more entry (the ring is full but below the limit). */
static int window_grow(mc_window_t *w)
{
    size_t cap = w->cap * 2 < w->limit ? w->cap * 2 : w->limit;
    mc_slot_t *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < w->count; i++)
        slots[i] = *slot_at(w, i);
    free(w->slots);
    w->slots = slots;
    w->cap = cap;
    w->head = 0;
    return 0;
}

int mc_window_send(mc_window_t *w, Mastery__V1__Request *req, int attempts, void *tag,
                   err_detail_t *d)
{
    if (w->count >= w->limit)
        return err_set(d, ERR_LIMIT, "", "%zu requests in flight already", w->count);
    if (w->count == w->cap && window_grow(w) != 0)
        return err_set(d, ERR_NOMEM, "", "out of memory");
    mc_slot_t *s = slot_at(w, w->count);
    memset(s, 0, sizeof *s);
    s->tag = tag;
    if (req == NULL) {
        s->done = true;
        w->count++;
        return 0;
    }
    int rc = mc_req_prepare(w->c, req, &s->req, d);
    if (rc != 0)
        return rc;
    s->max_attempts = attempts < 1 ? 1 : attempts;
    w->count++;
    return mc_req_send(w->c, &s->req, d);
}

size_t mc_window_count(const mc_window_t *w)
{
    return w->count;
}

int64_t mc_window_deadline(const mc_window_t *w)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < w->count; i++) {
        const mc_slot_t *s = slot_at(w, i);
        if (!s->done && s->req.deadline < first)
            first = s->req.deadline;
    }
    return first;
}

static mc_slot_t *window_find(const mc_window_t *w, const char *request_id)
{
    for (size_t i = 0; i < w->count; i++) {
        mc_slot_t *s = slot_at(w, i);
        if (!s->done && s->req.bytes && strcmp(s->req.id, request_id) == 0)
            return s;
    }
    return NULL;
}

/* Resends requests whose deadline passed; MC_ERR_NO_REPLY when one is out of sends. */
static int window_resend_due(mc_window_t *w, void **expired, err_detail_t *d)
{
    int64_t now = mc_now_ms();
    for (size_t i = 0; i < w->count; i++) {
        mc_slot_t *s = slot_at(w, i);
        if (s->done || s->req.deadline > now)
            continue;
        if (s->req.attempts >= s->max_attempts) {
            if (expired)
                *expired = s->tag;
            return mc_no_reply(w->c, s->req.attempts, d);
        }
        int rc = mc_req_send(w->c, &s->req, d);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int mc_window_wait(mc_window_t *w, int max_ms, void **expired, err_detail_t *d)
{
    if (expired)
        *expired = NULL;
    int64_t first = mc_window_deadline(w);
    if (first == INT64_MAX)
        return 0;
    int64_t wait = first - mc_now_ms();
    if (max_ms >= 0 && wait > max_ms)
        wait = max_ms;
    Mastery__V1__Reply *rep = NULL;
    int got = mc_reply_recv(w->c, wait, &rep);
    if (got == 1) {
        mc_slot_t *s = window_find(w, rep->request_id);
        int timeout = w->c->timeout_ms;
        if (s == NULL) {
            mc_reply_free(rep); /* a late twin of a resent request */
        } else if (rep->status &&
                   rep->status->code == MASTERY__V1__STATUS_CODE__STATUS_UNAVAILABLE &&
                   s->req.attempts < s->max_attempts) {
            /* Temporary: the deadline logic resends the same id a little later. */
            s->req.deadline =
                mc_now_ms() + (timeout < UNAVAILABLE_RETRY_MS ? timeout : UNAVAILABLE_RETRY_MS);
            mc_reply_free(rep);
        } else {
            s->reply = rep;
            s->done = true;
        }
    }
    int rc = window_resend_due(w, expired, d);
    if (rc == 0 && got == MC_ERR_INTERRUPTED)
        rc = err_set(d, MC_ERR_INTERRUPTED, "", "interrupted");
    return rc;
}

bool mc_window_take(mc_window_t *w, void **tag, Mastery__V1__Reply **reply)
{
    if (w->count == 0 || !slot_at(w, 0)->done)
        return false;
    mc_slot_t *s = slot_at(w, 0);
    *tag = s->tag;
    *reply = s->reply;
    s->reply = NULL;
    slot_clear(s);
    w->head = (w->head + 1) % w->cap;
    w->count--;
    return true;
}

bool mc_window_cancel(mc_window_t *w, void **tag)
{
    if (w->count == 0)
        return false;
    mc_slot_t *s = slot_at(w, 0);
    *tag = s->tag;
    slot_clear(s);
    w->head = (w->head + 1) % w->cap;
    w->count--;
    return true;
}
