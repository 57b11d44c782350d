/*
 * masteryctl: the connection to the daemon (libmasteryclient), opened when a command first
 * needs it, and the one place that turns the library's failures into messages and exit codes.
 */
#include <string.h>

#include "masteryctl.h"

volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void ctl_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: waits return EINTR and see g_stop */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void warn_line(void *arg, const char *message)
{
    (void)arg;
    fprintf(stderr, "%s: %s\n", progname, message);
}

int ctl_connect(ctl_t *ctl)
{
    if (ctl->mc != NULL)
        return 0;
    mc_options_t opt = {
        .endpoint = ctl->endpoint,
        .events_endpoint = ctl->events_endpoint,
        .key_file = ctl->key_file,
        .server_key_file = ctl->server_key_file,
        .timeout_ms = ctl->timeout_ms,
        .stop = &g_stop,
        .warn = warn_line,
    };
    err_detail_t d;
    int rc = mc_client_new(&opt, &ctl->mc, &d);
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", progname, d.message);
    /* Key files, CURVE and endpoints are the command line's; libzmq or getrandom failing is not. */
    return rc == ERR_INTERNAL || rc == ERR_NOMEM ? CTL_ERR_REPLY : CTL_USAGE;
}

void ctl_disconnect(ctl_t *ctl)
{
    mc_client_destroy(&ctl->mc);
}

int ctl_failed(const err_detail_t *d, int rc)
{
    if (rc == MC_ERR_INTERRUPTED)
        return -1;
    fprintf(stderr, "%s: %s\n", progname, d->message);
    return rc == MC_ERR_NO_REPLY ? CTL_UNREACHABLE : CTL_ERR_REPLY;
}

int rpc(ctl_t *ctl, Mastery__V1__Request *req, int attempts, Mastery__V1__Reply **out)
{
    int rc = ctl_connect(ctl);
    if (rc != 0)
        return rc;
    err_detail_t d;
    rc = mc_call(ctl->mc, req, attempts, out, &d);
    return rc == 0 ? 0 : ctl_failed(&d, rc);
}

int status_code(const Mastery__V1__Status *st)
{
    return st ? (int)st->code : 0;
}

void print_status_error(const Mastery__V1__Status *st)
{
    if (st->field && st->field[0])
        fprintf(stderr, "%s: %s %s: %s\n", progname, mc_status_name((int)st->code), st->field,
                st->message);
    else
        fprintf(stderr, "%s: %s: %s\n", progname, mc_status_name((int)st->code), st->message);
    /* The daemon says what GONE means; say what to type. */
    if (st->code == MASTERY__V1__STATUS_CODE__STATUS_GONE)
        fprintf(stderr,
                "%s: hint: '%s learner reenrol L' re-enrols an erased id, as a new learner\n",
                progname, progname);
}

/* Checks the reply's status and result kind; prints the problem and returns CTL_ERR_REPLY. The
 * daemon's own words are printed whole, so this does not go through mc_reply_check(). */
static int reply_check(const Mastery__V1__Reply *rep, Mastery__V1__Reply__ResultCase want)
{
    if (status_code(rep->status) != 0) {
        print_status_error(rep->status);
        return CTL_ERR_REPLY;
    }
    if (rep->result_case != want) {
        fprintf(stderr, "%s: INTERNAL: unexpected reply (result %d, wanted %d)\n", progname,
                (int)rep->result_case, (int)want);
        return CTL_ERR_REPLY;
    }
    return 0;
}

int request(ctl_t *ctl, Mastery__V1__Request *req, bool safe_to_resend,
            Mastery__V1__Reply__ResultCase want, Mastery__V1__Reply **out)
{
    Mastery__V1__Reply *rep = NULL;
    int rc = rpc(ctl, req, safe_to_resend ? CALL_ATTEMPTS : 1, &rep);
    if (rc != 0)
        return rc;
    rc = reply_check(rep, want);
    if (rc != 0) {
        mc_reply_free(rep);
        return rc;
    }
    *out = rep;
    return 0;
}
