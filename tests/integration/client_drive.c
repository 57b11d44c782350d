/*
 * client_drive: a small program on libmasteryclient, run by test_client_lib.py against the real
 * daemon (and a plain example of the library's three ways to talk).
 *
 *     client_drive [-e EP] [-E EVENTS_EP] [-k KEY -s SERVER_KEY] [-t MS] COMMAND ...
 *       health                          one call; prints "version V evidence N dev_mode B"
 *       submit N BATCH WINDOW PREFIX C  N items (ids PREFIX-0.., learners L0..L99, competency
 *                                       C) in requests of BATCH, WINDOW in flight; prints
 *                                       "accepted A duplicates D rejected R"
 *       events FROM [follow]            prints "SEQ KIND" lines; following, until SIGTERM
 *
 * Exit: 0 ok, 1 the daemon refused, 2 usage, 3 no reply.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "masteryclient.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int failed(const char *what, int rc, const err_detail_t *d)
{
    fprintf(stderr, "client_drive: %s: %s: %s\n", what, mc_strerror(rc), d->message);
    return rc == MC_ERR_NO_REPLY ? 3 : 1;
}

static int health(mc_client_t *c)
{
    Mastery__V1__Health h = MASTERY__V1__HEALTH__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_HEALTH;
    req.health = &h;
    Mastery__V1__Reply *rep = NULL;
    err_detail_t d;
    int rc = mc_call(c, &req, MC_ATTEMPTS_DEFAULT, &rep, &d);
    if (rc == 0 && (rc = mc_reply_check(rep, MASTERY__V1__REPLY__RESULT_HEALTH, &d)) == 0)
        printf("version %s evidence %" PRIu64 " dev_mode %d\n", rep->health->version,
               rep->health->evidence_count, (int)rep->health->dev_mode);
    mc_reply_free(rep);
    return rc == 0 ? 0 : failed("health", rc, &d);
}

typedef struct tally {
    uint64_t accepted, duplicates, rejected;
} tally_t;

static void count(tally_t *t, const Mastery__V1__Reply *rep)
{
    if (mc_reply_check(rep, MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS, NULL) != 0) {
        t->rejected++;
        return;
    }
    for (size_t i = 0; i < rep->evidence_results->n_items; i++) {
        const Mastery__V1__Status *st = rep->evidence_results->items[i]->status;
        int code = st ? (int)st->code : 0;
        if (code == 0)
            t->accepted++;
        else if (code == MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE)
            t->duplicates++;
        else
            t->rejected++;
    }
}

static int submit(mc_client_t *c, size_t n, size_t batch, size_t window, const char *prefix,
                  const char *competency)
{
    mc_window_t *w = NULL;
    if (batch == 0 || batch > 1000 || mc_window_new(c, window, &w) != 0) {
        fprintf(stderr, "client_drive: bad batch or window\n");
        return 2;
    }
    /* A fixed time: the same ids sent again must be the same content (DUPLICATE, not CONFLICT). */
    const int64_t at = 1792491300000; /* 2026-10-20T10:15:00Z */
    Mastery__V1__Evidence *items = calloc(batch, sizeof *items);
    Mastery__V1__Evidence **ptrs = calloc(batch, sizeof *ptrs);
    char(*ids)[64] = calloc(batch, sizeof *ids);
    char(*learners)[16] = calloc(batch, sizeof *learners);
    tally_t t = {0};
    size_t sent = 0;
    int rc = 0;
    err_detail_t d;
    while (rc == 0 && (sent < n || mc_window_count(w) > 0)) {
        while (sent < n && mc_window_count(w) < window) {
            size_t k = n - sent < batch ? n - sent : batch;
            for (size_t i = 0; i < k; i++, sent++) {
                mastery__v1__evidence__init(&items[i]);
                snprintf(ids[i], sizeof ids[i], "%s-%zu", prefix, sent);
                snprintf(learners[i], sizeof learners[i], "L%zu", sent % 100);
                items[i].evidence_id = ids[i];
                items[i].learner_id = learners[i];
                items[i].competency_id = (char *)competency;
                items[i].score = 0.9;
                items[i].observed_at_ms = at;
                items[i].source = "client_drive";
                ptrs[i] = &items[i];
            }
            Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
            sub.n_items = k;
            sub.items = ptrs;
            Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
            req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
            req.submit_evidence = &sub;
            if ((rc = mc_window_send(w, &req, MC_ATTEMPTS_DEFAULT, NULL, &d)) != 0)
                break;
        }
        void *tag;
        Mastery__V1__Reply *rep;
        while (rc == 0 && mc_window_take(w, &tag, &rep)) {
            count(&t, rep);
            mc_reply_free(rep);
        }
        if (rc == 0 && mc_window_count(w) > 0)
            rc = mc_window_wait(w, -1, NULL, &d);
    }
    mc_window_destroy(&w);
    free(items);
    free(ptrs);
    free(ids);
    free(learners);
    if (rc != 0)
        return failed("submit", rc, &d);
    printf("accepted %" PRIu64 " duplicates %" PRIu64 " rejected %" PRIu64 "\n", t.accepted,
           t.duplicates, t.rejected);
    return 0;
}

static const char *kind_name(const Mastery__V1__Event *ev)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&mastery__v1__event__descriptor, ev->kind_case);
    return f ? f->name : "unknown";
}

static int events(mc_client_t *c, uint64_t from, bool follow)
{
    if (follow) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: waits see EINTR and the stop flag */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
    }
    mc_events_t *r = NULL;
    err_detail_t d;
    int rc = mc_events_open(c, from, follow, &r, &d);
    if (rc != 0)
        return failed("events", rc, &d);
    for (;;) {
        const Mastery__V1__Event *ev = NULL;
        rc = mc_events_next(r, &ev, &d);
        if (rc == MC_EVENTS_EVENT) {
            printf("%" PRIu64 " %s\n", ev->seq, kind_name(ev));
            fflush(stdout);
        } else if (rc == MC_EVENTS_GAP) {
            uint64_t first, last;
            mc_events_gap(r, &first, &last);
            printf("gap %" PRIu64 " %" PRIu64 "\n", first, last);
        } else {
            break;
        }
    }
    mc_events_destroy(&r);
    if (rc == MC_EVENTS_END || rc == MC_ERR_INTERRUPTED)
        return 0;
    return failed("events", rc, &d);
}

int main(int argc, char **argv)
{
    mc_options_t opt = {.endpoint = "tcp://127.0.0.1:7411", .stop = &stop};
    int ch;
    while ((ch = getopt(argc, argv, "+e:E:k:s:t:")) != -1) {
        switch (ch) {
        case 'e':
            opt.endpoint = optarg;
            break;
        case 'E':
            opt.events_endpoint = optarg;
            break;
        case 'k':
            opt.key_file = optarg;
            break;
        case 's':
            opt.server_key_file = optarg;
            break;
        case 't':
            opt.timeout_ms = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (optind >= argc)
        return 2;
    mc_client_t *c = NULL;
    err_detail_t d;
    int rc = mc_client_new(&opt, &c, &d);
    if (rc != 0) {
        fprintf(stderr, "client_drive: %s\n", d.message);
        return 2;
    }
    const char *cmd = argv[optind];
    int left = argc - optind - 1;
    char **arg = argv + optind + 1;
    if (strcmp(cmd, "health") == 0)
        rc = health(c);
    else if (strcmp(cmd, "submit") == 0 && left == 5)
        rc = submit(c, strtoul(arg[0], NULL, 10), strtoul(arg[1], NULL, 10),
                    strtoul(arg[2], NULL, 10), arg[3], arg[4]);
    else if (strcmp(cmd, "events") == 0 && left >= 1)
        rc = events(c, strtoull(arg[0], NULL, 10), left > 1 && strcmp(arg[1], "follow") == 0);
    else
        rc = 2;
    mc_client_destroy(&c);
    return rc;
}
