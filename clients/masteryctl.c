/*
 * masteryctl: the command-line client for masteryd, for the school's IT person.
 *
 *     masteryctl [global options] COMMAND [SUBCOMMAND] [options] [arguments]
 *
 * Every command is a row of the command table (name, subcommand, handler, accepted and
 * required options, usage); one parser reads the options of every command from the option
 * table, so a handler starts with validated arguments and only converts them.
 *
 * Transport: a ZeroMQ DEALER connected to the request endpoint; a request goes out as
 * [empty][Request], the reply comes back as [empty][Reply] and is matched by request_id (so a
 * late reply to an earlier attempt is recognised and dropped). Requests that are safe to repeat
 * (reads, and evidence, whose ids make a resend idempotent) are resent byte for byte after a
 * timeout, up to CALL_ATTEMPTS times. Live events come from a SUB socket on the event endpoint.
 * With -k KEY --server-key FILE both sockets are CURVE clients (the daemon's secure mode).
 *
 * Exit codes: 0 success; 1 the daemon answered with an error (or a line of an import was
 * rejected); 2 usage error; 3 the daemon could not be reached within the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <openssl/crypto.h>

#include "curvekey.h"
#include "err.h"
#include "isotime.h"
#include "jsonseq.h"
#include "mastery/v1/mastery.pb-c.h"
#include "xapi.h"

enum {
    CTL_OK = 0,
    CTL_ERR_REPLY = 1,   /* the daemon answered with an error */
    CTL_USAGE = 2,       /* the command line is wrong */
    CTL_UNREACHABLE = 3, /* no reply within the timeout */
};

#define DEFAULT_ENDPOINT    "tcp://127.0.0.1:7411"
#define DEFAULT_EVENTS_PORT "7412"
#define DEFAULT_TIMEOUT_MS  5000
#define CALL_ATTEMPTS       3             /* for requests that are safe to resend */
#define MAX_FILE_BYTES      (64u << 20)   /* framework files */
#define MAX_REPLY_BYTES     (256LL << 20) /* anything bigger is refused by ZeroMQ */
#define MAX_LINE_BYTES      (1u << 20)    /* one evidence line */
#define MAX_BATCH           1000
#define DEFAULT_BATCH       500
#define DEFAULT_WINDOW      4
#define MAX_WINDOW          32
#define MAX_ITEM_BYTES      (64u << 10)  /* one packed evidence item */
#define MAX_BATCH_BYTES     (512u << 10) /* a batch closes here: the daemon's max_frame */
#define MAX_NOTES_PER_BATCH 4096         /* local failures held for ordered reporting */
#define FOLLOW_IDLE_MS      1000         /* catch up from the store when PUB is quiet */
#define JSON_FLAGS          (JSON_COMPACT | JSON_REAL_PRECISION(15))

static const char *progname = "masteryctl";

/* ---- options -------------------------------------------------------------------------- */

typedef enum opt_id {
    OPT_LEARNER,
    OPT_COMPETENCY,
    OPT_FRAMEWORK,
    OPT_SCORE,
    OPT_ID,
    OPT_OBSERVED_AT,
    OPT_SOURCE,
    OPT_OUTCOME,
    OPT_WEIGHT,
    OPT_URL,
    OPT_NARRATIVE,
    OPT_REVISION,
    OPT_BATCH,
    OPT_WINDOW,
    OPT_LIMIT,
    OPT_FROM,
    OPT_FOLLOW,
    OPT_KIND,
    OPT_GRANT,
    OPT_WITHDRAW,
    OPT_REASON,
    OPT_ACTOR,
    OPT_FORMAT,
    OPT_CASE_ID,
    OPT_GATE,
    OPT_RULE,
    OPT_MAPPING,
    OPT_BADGES,
    OPT_COUNT
} opt_id_t;

typedef struct opt_spec {
    const char *name;    /* --name (two options may share a name if no command takes both) */
    const char *metavar; /* NULL: a flag without argument */
    const char *help;
    bool repeat; /* may be given more than once: the values go to args_t.multi */
} opt_spec_t;

static const opt_spec_t OPTS[OPT_COUNT] = {
    [OPT_LEARNER] = {"learner", "L", "learner id", false},
    [OPT_COMPETENCY] = {"competency", "C", "competency id", false},
    [OPT_FRAMEWORK] = {"framework", "F", "framework id", false},
    [OPT_SCORE] = {"score", "X", "score, a number in 0..1", false},
    [OPT_ID] = {"id", "ID", "evidence id (default: a new random UUID)", false},
    [OPT_OBSERVED_AT] = {"observed-at", "TIME", "RFC 3339 time of the observation (default: now)",
                         false},
    [OPT_SOURCE] = {"source", "S", "the tool that observed it", false},
    [OPT_OUTCOME] = {"outcome", "passed|failed", "pass/fail reported by the tool", false},
    [OPT_WEIGHT] = {"weight", "W", "evidence weight >= 0 (0: the default, 1)", false},
    [OPT_URL] = {"url", "U", "link to the work", false},
    [OPT_NARRATIVE] = {"narrative", "TEXT", "a sentence about the work", false},
    [OPT_REVISION] = {"revision", "N", "framework revision (default: the current one)", false},
    [OPT_BATCH] = {"batch", "N", "items per request, 1..1000 (default 500)", false},
    [OPT_WINDOW] = {"window", "N", "requests in flight, 1..32 (default 4)", false},
    [OPT_LIMIT] = {"limit", "N", "at most N items (default: the daemon's page size)", false},
    [OPT_FROM] = {"from", "SEQ", "first event sequence number (default 1; 0 also means the start)",
                  false},
    [OPT_FOLLOW] = {"follow", NULL, "keep printing live events until interrupted", false},
    [OPT_KIND] = {"kind", "K",
                  "unlocked, mastered, override, framework_loaded, evidence_retracted, "
                  "credential_issued or credential_status",
                  false},
    [OPT_GRANT] = {"grant", NULL, "grant mastery", false},
    [OPT_WITHDRAW] = {"withdraw", NULL, "withdraw mastery", false},
    [OPT_REASON] = {"reason", "TEXT", "why (required; kept in the audit trail)", false},
    [OPT_ACTOR] = {"actor", "NAME", "who decided (default: $USER)", false},
    [OPT_FORMAT] = {"format", "json|jwt", "credential form (default json)", false},
    [OPT_CASE_ID] = {"id", "ID", "framework id (default: the CFDocument identifier)", false},
    [OPT_GATE] = {"gate", "precedes|none",
                  "precedes associations gate the destination (default) or not", false},
    [OPT_RULE] = {"rule", "RULE", "ITEM_ID=METHOD[:threshold] or *=METHOD[:threshold] (repeatable)",
                  true},
    [OPT_MAPPING] = {"mapping", "MAP.json", "the xAPI mapping file (clients/XAPI.md)", false},
    [OPT_BADGES] = {"badges", NULL, "every imported competency issues a badge when mastered",
                    false},
};

#define MULTI_MAX 256 /* values of a repeatable option */

#define O(x) (1u << (x))

/* The parsed command line of one command: option values (borrowed from argv) and operands. */
typedef struct args {
    const char *val[OPT_COUNT];
    bool set[OPT_COUNT];
    const char *multi[MULTI_MAX]; /* every value of the command's repeatable option, in order */
    size_t n_multi;
    char **pos;
    int npos;
} args_t;

/* ---- the client ----------------------------------------------------------------------- */

struct command;

typedef struct ctl {
    const char *endpoint;
    const char *key_file;        /* -k: this client's CURVE secret key (NULL: no CURVE) */
    const char *server_key_file; /* --server-key: the daemon's public key */
    char events_endpoint[512];
    bool json;
    int timeout_ms;
    void *zctx;
    void *dealer;
    char id_prefix[20];
    uint64_t calls;
    const struct command *cmd;
} ctl_t;

typedef int (*handler_fn)(ctl_t *ctl, const args_t *a);

typedef struct command {
    const char *name;
    const char *sub; /* NULL: the command has no subcommand */
    handler_fn run;
    uint32_t allowed;  /* O(OPT_...) bits */
    uint32_t required; /* subset of allowed */
    int min_pos, max_pos;
    const char *usage; /* after "masteryctl " */
    const char *summary;
} command_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- small utilities ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic seconds with nanosecond resolution: a short import still has a non-zero rate. */
static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        exit(CTL_ERR_REPLY);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        exit(CTL_ERR_REPLY);
    }
    return p;
}

static int random_bytes(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* A random version-4 UUID in its 36-character text form (an xAPI statement id fits). */
static int random_uuid(char out[37])
{
    uint8_t b[16];
    if (random_bytes(b, sizeof b) != 0)
        return -1;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

/* A json string, or null when s is not valid UTF-8 (jansson refuses those). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_null();
}

/* RFC 3339 with milliseconds, or null for 0 ("never"). */
static json_t *jtime(int64_t ms)
{
    char buf[ISOTIME_BUFSZ];
    if (ms == 0 || isotime_format_ms(ms, buf, sizeof buf) != 0)
        return json_null();
    return json_string(buf);
}

static void text_time(int64_t ms, char *buf, size_t size)
{
    if (ms == 0 || isotime_format_s(ms, buf, size) != 0)
        snprintf(buf, size, "-");
}

/* Prints one JSON document (or one JSON line) on stdout and takes ownership of doc. */
static void emit_json(json_t *doc)
{
    if (doc == NULL)
        return;
    json_dumpf(doc, stdout, JSON_FLAGS);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(doc);
}

/* ---- usage ---------------------------------------------------------------------------- */

static void print_command_usage(FILE *f, const command_t *c)
{
    fprintf(f, "usage: %s %s\n", progname, c->usage);
}

/* Prints "masteryctl: <message>", the command's usage and a hint; returns CTL_USAGE. */
static int usage_error(const ctl_t *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const ctl_t *ctl, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (ctl != NULL && ctl->cmd != NULL) {
        print_command_usage(stderr, ctl->cmd);
        if (ctl->cmd->sub)
            fprintf(stderr, "Try '%s %s %s --help'.\n", progname, ctl->cmd->name, ctl->cmd->sub);
        else
            fprintf(stderr, "Try '%s %s --help'.\n", progname, ctl->cmd->name);
    } else {
        fprintf(stderr, "Try '%s --help'.\n", progname);
    }
    return CTL_USAGE;
}

static void print_command_help(FILE *f, const command_t *c)
{
    print_command_usage(f, c);
    fprintf(f, "\n%s\n", c->summary);
    if (c->allowed == 0)
        return;
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < OPT_COUNT; i++) {
        if (!(c->allowed & O(i)))
            continue;
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", OPTS[i].name, OPTS[i].metavar ? " " : "",
                 OPTS[i].metavar ? OPTS[i].metavar : "");
        fprintf(f, "  %-28s %s%s\n", left, OPTS[i].help, (c->required & O(i)) ? " (required)" : "");
    }
}

/* ---- argument conversion (every failure is a usage error naming the option) ------------ */

static int parse_double_arg(const ctl_t *ctl, const char *opt, const char *s, double lo, double hi,
                            double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || end == NULL || *end != '\0' || errno != 0 || !isfinite(v))
        return usage_error(ctl, "%s: \"%s\" is not a number", opt, s);
    if (v < lo || v > hi)
        return usage_error(ctl, "%s: %s is out of range %g..%g", opt, s, lo, hi);
    *out = v;
    return 0;
}

static int parse_u64_arg(const ctl_t *ctl, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                         uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (*s < '0' || *s > '9')
        return usage_error(ctl, "%s: \"%s\" is not a whole number", opt, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (end == NULL || *end != '\0' || errno != 0)
        return usage_error(ctl, "%s: \"%s\" is not a whole number", opt, s);
    if (v < lo || v > hi)
        return usage_error(ctl, "%s: %s is out of range %" PRIu64 "..%" PRIu64, opt, s, lo, hi);
    *out = v;
    return 0;
}

/* Reads an optional numeric option; leaves *out alone when the option is absent. */
static int opt_u64(const ctl_t *ctl, const args_t *a, opt_id_t id, uint64_t lo, uint64_t hi,
                   uint64_t *out)
{
    if (!a->set[id])
        return 0;
    char name[48];
    snprintf(name, sizeof name, "--%s", OPTS[id].name);
    return parse_u64_arg(ctl, name, a->val[id], lo, hi, out);
}

static const char *opt_str(const args_t *a, opt_id_t id, const char *dflt)
{
    return a->set[id] ? a->val[id] : dflt;
}

/* ---- command-line parsing ------------------------------------------------------------- */

enum { LONGOPT_BASE = 256, LONGOPT_HELP = 255 };

/*
 * Parses the options of command c from argv (argv[0] is the command word) into *a.
 * Returns 0, CTL_USAGE after printing the problem, or -1 when --help was printed.
 */
static int args_parse(ctl_t *ctl, const command_t *c, int argc, char **argv, args_t *a)
{
    struct option longopts[OPT_COUNT + 2];
    size_t n = 0;
    for (int i = 0; i < OPT_COUNT; i++) {
        if (!(c->allowed & O(i)))
            continue;
        longopts[n++] =
            (struct option){OPTS[i].name, OPTS[i].metavar ? required_argument : no_argument, NULL,
                            LONGOPT_BASE + i};
    }
    longopts[n++] = (struct option){"help", no_argument, NULL, LONGOPT_HELP};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    memset(a, 0, sizeof *a);
    optind = 0; /* GNU: full re-initialisation */
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == 'h' || ch == LONGOPT_HELP) {
            print_command_help(stdout, c);
            return -1;
        }
        if (ch == ':')
            return usage_error(ctl, "option %s needs a value", argv[optind - 1]);
        if (ch == '?') {
            if (optopt != 0)
                return usage_error(ctl, "unknown option -%c", optopt);
            return usage_error(ctl, "unknown option %s", argv[optind - 1]);
        }
        int id = ch - LONGOPT_BASE;
        if (OPTS[id].repeat) {
            if (a->n_multi == MULTI_MAX)
                return usage_error(ctl, "option --%s given more than %d times", OPTS[id].name,
                                   MULTI_MAX);
            a->multi[a->n_multi++] = optarg ? optarg : "";
        } else if (a->set[id]) {
            return usage_error(ctl, "option --%s given twice", OPTS[id].name);
        }
        a->set[id] = true;
        a->val[id] = optarg ? optarg : "";
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    for (int i = 0; i < OPT_COUNT; i++)
        if ((c->required & O(i)) && !a->set[i])
            return usage_error(ctl, "missing required option --%s", OPTS[i].name);
    if (a->npos < c->min_pos)
        return usage_error(ctl, "missing argument");
    if (a->npos > c->max_pos)
        return usage_error(ctl, "unexpected argument \"%s\"", a->pos[c->max_pos]);
    return 0;
}

/* ---- transport ------------------------------------------------------------------------ */

/* Makes sock a CURVE client with -k and --server-key (nothing without -k). */
static int curve_apply(const ctl_t *ctl, void *sock)
{
    if (ctl->key_file == NULL)
        return 0;
    uint8_t secret[CURVEKEY_LEN], server[CURVEKEY_LEN], public[CURVEKEY_LEN];
    char public_z85[CURVEKEY_Z85_LEN + 1];
    err_detail_t d;
    if (curvekey_secret_read(ctl->key_file, secret, public_z85, &d) != 0 ||
        curvekey_z85_decode(public_z85, CURVEKEY_Z85_LEN, public) != 0 ||
        curvekey_public_read(ctl->server_key_file, server, &d) != 0) {
        OPENSSL_cleanse(secret, sizeof secret);
        fprintf(stderr, "%s: %s\n", progname, d.message);
        return CTL_USAGE;
    }
    int rc = zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, sizeof server) ||
             zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public, sizeof public) ||
             zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, sizeof secret);
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot enable CURVE: %s\n", progname, zmq_strerror(zmq_errno()));
        return CTL_USAGE;
    }
    return 0;
}

static int transport_open(ctl_t *ctl)
{
    if (ctl->dealer != NULL)
        return 0;
    uint8_t r[6];
    if (random_bytes(r, sizeof r) != 0) {
        fprintf(stderr, "%s: getrandom: %s\n", progname, strerror(errno));
        return CTL_ERR_REPLY;
    }
    snprintf(ctl->id_prefix, sizeof ctl->id_prefix, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
             r[3], r[4], r[5]);
    ctl->zctx = zmq_ctx_new();
    ctl->dealer = ctl->zctx ? zmq_socket(ctl->zctx, ZMQ_DEALER) : NULL;
    if (ctl->dealer == NULL) {
        fprintf(stderr, "%s: zmq: %s\n", progname, zmq_strerror(zmq_errno()));
        return CTL_ERR_REPLY;
    }
    int linger = 0;
    int64_t maxmsg = MAX_REPLY_BYTES;
    zmq_setsockopt(ctl->dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(ctl->dealer, ZMQ_SNDTIMEO, &ctl->timeout_ms, sizeof ctl->timeout_ms);
    zmq_setsockopt(ctl->dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    int crc = curve_apply(ctl, ctl->dealer);
    if (crc != 0)
        return crc;
    if (zmq_connect(ctl->dealer, ctl->endpoint) != 0) {
        fprintf(stderr, "%s: cannot connect to %s: %s\n", progname, ctl->endpoint,
                zmq_strerror(zmq_errno()));
        return CTL_USAGE;
    }
    return 0;
}

static void transport_close(ctl_t *ctl)
{
    if (ctl->dealer)
        zmq_close(ctl->dealer);
    if (ctl->zctx)
        zmq_ctx_term(ctl->zctx);
    ctl->dealer = ctl->zctx = NULL;
}

/* One request on the wire: its id and packed bytes are kept so a retry resends the same. */
typedef struct call {
    char id[48];
    uint8_t *bytes;
    size_t len;
    int attempts;
    int64_t deadline; /* monotonic ms */
} call_t;

static void call_free(call_t *c)
{
    free(c->bytes);
    memset(c, 0, sizeof *c);
}

/* Assigns the next request id to req and packs it into c. Caller frees c with call_free(). */
static void call_prepare(ctl_t *ctl, Mastery__V1__Request *req, call_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s-%" PRIu64, ctl->id_prefix, ++ctl->calls);
    req->request_id = c->id;
    c->len = mastery__v1__request__get_packed_size(req);
    c->bytes = xcalloc(1, c->len);
    mastery__v1__request__pack(req, c->bytes);
    req->request_id = (char *)protobuf_c_empty_string;
}

/* Sends (or resends) c; returns 0 or CTL_UNREACHABLE when even queueing timed out. */
static int call_send(ctl_t *ctl, call_t *c)
{
    c->attempts++;
    c->deadline = now_ms() + ctl->timeout_ms;
    if (zmq_send(ctl->dealer, "", 0, ZMQ_SNDMORE) < 0 ||
        zmq_send(ctl->dealer, c->bytes, c->len, 0) < 0) {
        fprintf(stderr, "%s: cannot send to %s: %s\n", progname, ctl->endpoint,
                zmq_strerror(zmq_errno()));
        return CTL_UNREACHABLE;
    }
    return 0;
}

/*
 * Waits up to timeout_ms for one well-formed reply. Returns 1 and sets *out (caller frees with
 * mastery__v1__reply__free_unpacked), 0 on timeout, -1 when interrupted by a signal.
 * Malformed messages are dropped with a warning.
 */
static int reply_recv(ctl_t *ctl, int64_t timeout_ms, Mastery__V1__Reply **out)
{
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        zmq_pollitem_t item = {ctl->dealer, 0, ZMQ_POLLIN, 0};
        int64_t left = end - now_ms();
        int rc = zmq_poll(&item, 1, left > 0 ? (long)left : 0);
        if (rc < 0 && zmq_errno() == EINTR) {
            if (g_stop)
                return -1;
            continue;
        }
        if (rc <= 0)
            return 0;
        zmq_msg_t parts[2];
        size_t n = 0;
        int more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, ctl->dealer, 0) < 0) {
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
        fprintf(stderr, "%s: dropped a malformed reply\n", progname);
    }
}

static int unreachable(const ctl_t *ctl, int attempts)
{
    fprintf(stderr, "%s: no reply from %s within %d ms (%d attempt%s)\n", progname, ctl->endpoint,
            ctl->timeout_ms, attempts, attempts == 1 ? "" : "s");
    return CTL_UNREACHABLE;
}

/*
 * Sends req and waits for its reply, resending the same bytes after each timeout while
 * attempts remain. Returns 0 with *out set (caller frees), CTL_UNREACHABLE, or -1 when
 * interrupted (only in follow mode, where signals are caught).
 */
static int rpc(ctl_t *ctl, Mastery__V1__Request *req, int attempts, Mastery__V1__Reply **out)
{
    int rc = transport_open(ctl);
    if (rc != 0)
        return rc;
    call_t c;
    call_prepare(ctl, req, &c);
    for (;;) {
        if ((rc = call_send(ctl, &c)) != 0)
            goto out;
        Mastery__V1__Reply *rep = NULL;
        int got;
        while ((got = reply_recv(ctl, c.deadline - now_ms(), &rep)) == 1) {
            if (strcmp(rep->request_id, c.id) == 0) {
                *out = rep;
                rc = 0;
                goto out;
            }
            mastery__v1__reply__free_unpacked(rep, NULL); /* late reply to an earlier call */
        }
        if (got < 0) {
            rc = -1;
            goto out;
        }
        if (c.attempts >= attempts) {
            rc = unreachable(ctl, c.attempts);
            goto out;
        }
    }
out:
    call_free(&c);
    return rc;
}

/* "INVALID" for STATUS_INVALID; the wire enum's own names, so new codes print sensibly. */
static const char *status_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mastery__v1__status_code__descriptor, code);
    if (v == NULL)
        return "UNKNOWN";
    return strncmp(v->name, "STATUS_", 7) == 0 ? v->name + 7 : v->name;
}

static int status_code(const Mastery__V1__Status *st)
{
    return st ? (int)st->code : 0;
}

/* Prints "masteryctl: CODE field: message" for a failed status. */
static void print_status_error(const Mastery__V1__Status *st, const char *suffix)
{
    if (st->field && st->field[0])
        fprintf(stderr, "%s: %s %s: %s%s\n", progname, status_name((int)st->code), st->field,
                st->message, suffix ? suffix : "");
    else
        fprintf(stderr, "%s: %s: %s%s\n", progname, status_name((int)st->code), st->message,
                suffix ? suffix : "");
}

/* Checks the reply's status and result kind; prints the problem and returns CTL_ERR_REPLY. */
static int reply_check(const Mastery__V1__Reply *rep, Mastery__V1__Reply__ResultCase want)
{
    if (status_code(rep->status) != 0) {
        print_status_error(rep->status, NULL);
        return CTL_ERR_REPLY;
    }
    if (rep->result_case != want) {
        fprintf(stderr, "%s: INTERNAL: unexpected reply (result %d, wanted %d)\n", progname,
                (int)rep->result_case, (int)want);
        return CTL_ERR_REPLY;
    }
    return 0;
}

/* rpc() + reply_check(): the usual request/reply. *out is set only on CTL_OK. */
static int request(ctl_t *ctl, Mastery__V1__Request *req, bool safe_to_resend,
                   Mastery__V1__Reply__ResultCase want, Mastery__V1__Reply **out)
{
    Mastery__V1__Reply *rep = NULL;
    int rc = rpc(ctl, req, safe_to_resend ? CALL_ATTEMPTS : 1, &rep);
    if (rc != 0)
        return rc;
    rc = reply_check(rep, want);
    if (rc != 0) {
        mastery__v1__reply__free_unpacked(rep, NULL);
        return rc;
    }
    *out = rep;
    return 0;
}

/* ---- tables for text output ------------------------------------------------------------ */

#define TABLE_MAX_COLS 8

typedef struct table {
    size_t ncols, nrows, cap;
    const char *head[TABLE_MAX_COLS];
    bool right[TABLE_MAX_COLS]; /* right-aligned (numbers) */
    char **cells;               /* nrows * ncols, owned */
} table_t;

static void table_row(table_t *t, ...)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, t->cap * t->ncols * sizeof *cells);
        if (cells == NULL) {
            fprintf(stderr, "%s: out of memory\n", progname);
            exit(CTL_ERR_REPLY);
        }
        t->cells = cells;
    }
    va_list ap;
    va_start(ap, t);
    for (size_t i = 0; i < t->ncols; i++) {
        const char *s = va_arg(ap, const char *);
        t->cells[t->nrows * t->ncols + i] = xstrdup(s ? s : "");
    }
    va_end(ap);
    t->nrows++;
}

static void table_print(table_t *t, FILE *f)
{
    size_t w[TABLE_MAX_COLS];
    for (size_t i = 0; i < t->ncols; i++) {
        w[i] = strlen(t->head[i]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t l = strlen(t->cells[r * t->ncols + i]);
            w[i] = l > w[i] ? l : w[i];
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++) {
            const char *s = r == 0 ? t->head[i] : t->cells[(r - 1) * t->ncols + i];
            bool last = i + 1 == t->ncols;
            if (t->right[i])
                fprintf(f, "%*s%s", (int)w[i], s, last ? "" : "  ");
            else if (last)
                fprintf(f, "%s", s);
            else
                fprintf(f, "%-*s  ", (int)w[i], s);
        }
        fputc('\n', f);
    }
}

static void table_free(table_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* ---- frameworks ----------------------------------------------------------------------- */

/* Reads a whole file (or stdin for "-"), at most max bytes. Caller frees *buf. */
static int read_file(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        return CTL_USAGE;
    }
    size_t cap = 65536, n = 0;
    char *p = xcalloc(1, cap + 1);
    int rc = 0;
    for (;;) {
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            if (cap >= max) {
                fprintf(stderr, "%s: %s: larger than %zu bytes\n", progname, path, max);
                rc = CTL_USAGE;
                goto out;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *q = realloc(p, cap + 1);
            if (q == NULL) {
                rc = CTL_ERR_REPLY;
                goto out;
            }
            p = q;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        rc = CTL_USAGE;
    }
out:
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

static json_t *framework_info_json(const Mastery__V1__FrameworkInfo *fi)
{
    return json_pack("{s:o,s:o,s:o,s:I,s:I,s:o}", "framework", jstr(fi->framework_id), "title",
                     jstr(fi->title), "version", jstr(fi->version), "revision",
                     (json_int_t)fi->revision, "competency_count", (json_int_t)fi->competency_count,
                     "loaded_at", jtime(fi->loaded_at_ms));
}

static int cmd_framework_load(ctl_t *ctl, const args_t *a)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(a->pos[0], MAX_FILE_BYTES, &text, &len);
    if (rc != 0)
        return rc;
    Mastery__V1__PutFramework put = MASTERY__V1__PUT_FRAMEWORK__INIT;
    put.json = text;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK;
    req.put_framework = &put;
    Mastery__V1__Reply *rep = NULL;
    /* Not resent: every load makes a new revision. */
    rc = request(ctl, &req, false, MASTERY__V1__REPLY__RESULT_FRAMEWORK_INFO, &rep);
    free(text);
    if (rc != 0)
        return rc;
    const Mastery__V1__FrameworkInfo *fi = rep->framework_info;
    if (ctl->json)
        emit_json(framework_info_json(fi));
    else
        printf("loaded %s revision %" PRIu32 ": %" PRIu32 " competencies\n", fi->framework_id,
               fi->revision, fi->competency_count);
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int cmd_framework_show(ctl_t *ctl, const args_t *a)
{
    uint64_t revision = 0;
    int rc = opt_u64(ctl, a, OPT_REVISION, 1, UINT32_MAX, &revision);
    if (rc != 0)
        return rc;
    Mastery__V1__GetFramework get = MASTERY__V1__GET_FRAMEWORK__INIT;
    get.framework_id = a->pos[0];
    get.revision = (uint32_t)revision;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_FRAMEWORK;
    req.get_framework = &get;
    Mastery__V1__Reply *rep = NULL;
    rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK, &rep);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loads(rep->framework->json, 0, &jerr);
    if (doc == NULL)
        printf("%s\n", rep->framework->json); /* not ours to judge: print as stored */
    else if (ctl->json)
        emit_json(doc);
    else {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        fputc('\n', stdout);
        json_decref(doc);
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int cmd_framework_list(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__ListFrameworks list = MASTERY__V1__LIST_FRAMEWORKS__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_LIST_FRAMEWORKS;
    req.list_frameworks = &list;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK_LIST, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__FrameworkList *fl = rep->framework_list;
    if (ctl->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < fl->n_frameworks; i++)
            json_array_append_new(arr, framework_info_json(fl->frameworks[i]));
        emit_json(json_pack("{s:o}", "frameworks", arr));
    } else {
        table_t t = {
            .ncols = 6,
            .head = {"FRAMEWORK", "REVISION", "VERSION", "COMPETENCIES", "LOADED AT", "TITLE"},
            .right = {false, true, false, true, false, false}};
        for (size_t i = 0; i < fl->n_frameworks; i++) {
            const Mastery__V1__FrameworkInfo *fi = fl->frameworks[i];
            char rev[16], count[16], at[ISOTIME_BUFSZ];
            snprintf(rev, sizeof rev, "%" PRIu32, fi->revision);
            snprintf(count, sizeof count, "%" PRIu32, fi->competency_count);
            text_time(fi->loaded_at_ms, at, sizeof at);
            table_row(&t, fi->framework_id, rev, fi->version, count, at, fi->title);
        }
        table_print(&t, stdout);
        table_free(&t);
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

/* ---- evidence: the line format, both ways ---------------------------------------------- */

typedef enum field_kind {
    F_STR,     /* char * */
    F_NUM,     /* double */
    F_TIME,    /* int64_t Unix ms, RFC 3339 text in JSON */
    F_OUTCOME, /* Mastery__V1__Outcome, "passed" / "failed" in JSON */
} field_kind_t;

/* The evidence line format (DESIGN.md 3) mapped onto the wire message. */
static const struct line_field {
    const char *key;
    field_kind_t kind;
    bool required;
    size_t off;
} LINE_FIELDS[] = {
    {"id", F_STR, true, offsetof(Mastery__V1__Evidence, evidence_id)},
    {"learner", F_STR, true, offsetof(Mastery__V1__Evidence, learner_id)},
    {"competency", F_STR, true, offsetof(Mastery__V1__Evidence, competency_id)},
    {"score", F_NUM, true, offsetof(Mastery__V1__Evidence, score)},
    {"observed_at", F_TIME, true, offsetof(Mastery__V1__Evidence, observed_at_ms)},
    {"source", F_STR, true, offsetof(Mastery__V1__Evidence, source)},
    {"outcome", F_OUTCOME, false, offsetof(Mastery__V1__Evidence, outcome)},
    {"weight", F_NUM, false, offsetof(Mastery__V1__Evidence, weight)},
    {"url", F_STR, false, offsetof(Mastery__V1__Evidence, url)},
    {"narrative", F_STR, false, offsetof(Mastery__V1__Evidence, narrative)},
};
#define N_LINE_FIELDS (sizeof LINE_FIELDS / sizeof LINE_FIELDS[0])

#define FIELD_PTR(ev, f, type) ((type *)((char *)(ev) + (f)->off))

static const char *outcome_name(Mastery__V1__Outcome o)
{
    switch (o) {
    case MASTERY__V1__OUTCOME__OUTCOME_PASSED:
        return "passed";
    case MASTERY__V1__OUTCOME__OUTCOME_FAILED:
        return "failed";
    default:
        return NULL;
    }
}

static int outcome_parse(const char *s, Mastery__V1__Outcome *out)
{
    if (strcmp(s, "passed") == 0)
        *out = MASTERY__V1__OUTCOME__OUTCOME_PASSED;
    else if (strcmp(s, "failed") == 0)
        *out = MASTERY__V1__OUTCOME__OUTCOME_FAILED;
    else
        return ERR_INVALID;
    return 0;
}

/* Frees the strings evidence_from_json() or the add command put into ev, and resets it. */
static void evidence_clear(Mastery__V1__Evidence *ev)
{
    for (size_t i = 0; i < N_LINE_FIELDS; i++) {
        const struct line_field *f = &LINE_FIELDS[i];
        if (f->kind != F_STR)
            continue;
        char **s = FIELD_PTR(ev, f, char *);
        if (*s != protobuf_c_empty_string)
            free(*s);
    }
    *ev = (Mastery__V1__Evidence)MASTERY__V1__EVIDENCE__INIT;
}

static int field_from_json(const struct line_field *f, const json_t *v, Mastery__V1__Evidence *ev,
                           err_detail_t *d)
{
    switch (f->kind) {
    case F_STR:
        if (!json_is_string(v))
            return err_set(d, ERR_INVALID, f->key, "must be a string");
        *FIELD_PTR(ev, f, char *) = xstrdup(json_string_value(v));
        return 0;
    case F_NUM:
        if (!json_is_number(v))
            return err_set(d, ERR_INVALID, f->key, "must be a number");
        *FIELD_PTR(ev, f, double) = json_number_value(v);
        return 0;
    case F_TIME:
        if (!json_is_string(v))
            return err_set(d, ERR_INVALID, f->key, "must be an RFC 3339 time string");
        if (isotime_parse(json_string_value(v), json_string_length(v), FIELD_PTR(ev, f, int64_t),
                          d) != 0) {
            snprintf(d->field, sizeof d->field, "%s", f->key);
            return ERR_INVALID;
        }
        return 0;
    case F_OUTCOME:
        if (!json_is_string(v) ||
            outcome_parse(json_string_value(v), FIELD_PTR(ev, f, Mastery__V1__Outcome)) != 0)
            return err_set(d, ERR_INVALID, f->key, "must be \"passed\" or \"failed\"");
        return 0;
    }
    return err_set(d, ERR_INTERNAL, f->key, "unhandled field kind");
}

/*
 * Fills *ev from one parsed evidence line. Types are checked here; ranges (score 0..1, id
 * length) are the daemon's to judge, so the report names the same rule either way. Unknown
 * keys are refused: a misspelt optional field would otherwise vanish silently.
 * On failure ev may hold partial strings: the caller clears it with evidence_clear().
 */
static int evidence_from_json(const json_t *obj, Mastery__V1__Evidence *ev, err_detail_t *d)
{
    if (!json_is_object(obj))
        return err_set(d, ERR_INVALID, "", "a line must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (i < N_LINE_FIELDS && strcmp(LINE_FIELDS[i].key, key) != 0)
            i++;
        if (i == N_LINE_FIELDS)
            return err_set(d, ERR_INVALID, key, "unknown field");
    }
    for (size_t i = 0; i < N_LINE_FIELDS; i++) {
        const struct line_field *f = &LINE_FIELDS[i];
        json_t *fv = json_object_get(obj, f->key);
        if (fv == NULL || json_is_null(fv)) {
            if (f->required)
                return err_set(d, ERR_INVALID, f->key, "missing");
            continue;
        }
        int rc = field_from_json(f, fv, ev, d);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The inverse, for `evidence list --json`: a line that `evidence import` reads back. */
#define FIELD_VAL(ev, f, type) (*(const type *)((const char *)(ev) + (f)->off))

/* One field as JSON, or NULL when an optional field holds its default (then it is left out). */
static json_t *field_to_json(const struct line_field *f, const Mastery__V1__Evidence *ev)
{
    switch (f->kind) {
    case F_STR: {
        const char *s = FIELD_VAL(ev, f, char *);
        return f->required || (s && s[0]) ? jstr(s) : NULL;
    }
    case F_NUM: {
        double x = FIELD_VAL(ev, f, double);
        return f->required || x != 0 ? json_real(x) : NULL;
    }
    case F_TIME:
        return jtime(FIELD_VAL(ev, f, int64_t));
    case F_OUTCOME: {
        const char *name = outcome_name(FIELD_VAL(ev, f, Mastery__V1__Outcome));
        return name ? json_string(name) : NULL;
    }
    }
    return NULL;
}

static json_t *evidence_to_json(const Mastery__V1__Evidence *ev)
{
    json_t *o = json_object();
    for (size_t i = 0; i < N_LINE_FIELDS; i++) {
        json_t *v = field_to_json(&LINE_FIELDS[i], ev);
        if (v != NULL)
            json_object_set_new(o, LINE_FIELDS[i].key, v);
    }
    return o;
}

/* ---- evidence add ---------------------------------------------------------------------- */

static int evidence_from_args(ctl_t *ctl, const args_t *a, Mastery__V1__Evidence *ev, char id[37])
{
    int rc = parse_double_arg(ctl, "--score", a->val[OPT_SCORE], 0, 1, &ev->score);
    if (rc == 0 && a->set[OPT_WEIGHT])
        rc = parse_double_arg(ctl, "--weight", a->val[OPT_WEIGHT], 0, 1e9, &ev->weight);
    if (rc != 0)
        return rc;
    if (a->set[OPT_OUTCOME] && outcome_parse(a->val[OPT_OUTCOME], &ev->outcome) != 0)
        return usage_error(ctl, "--outcome: \"%s\" is not passed or failed", a->val[OPT_OUTCOME]);
    if (a->set[OPT_OBSERVED_AT]) {
        err_detail_t d;
        const char *t = a->val[OPT_OBSERVED_AT];
        if (isotime_parse(t, strlen(t), &ev->observed_at_ms, &d) != 0)
            return usage_error(ctl, "--observed-at: %s", d.message);
    } else {
        /* Pinned now, not left to the daemon: a resend must carry identical content. */
        ev->observed_at_ms = wall_ms();
    }
    if (a->set[OPT_ID]) {
        if (a->val[OPT_ID][0] == '\0')
            return usage_error(ctl, "--id: must not be empty");
        id[0] = '\0';
    } else if (random_uuid(id) != 0) {
        fprintf(stderr, "%s: getrandom: %s\n", progname, strerror(errno));
        return CTL_ERR_REPLY;
    }
    ev->evidence_id = (char *)(a->set[OPT_ID] ? a->val[OPT_ID] : id);
    ev->learner_id = (char *)a->val[OPT_LEARNER];
    ev->competency_id = (char *)a->val[OPT_COMPETENCY];
    ev->source = (char *)opt_str(a, OPT_SOURCE, "masteryctl");
    ev->url = (char *)opt_str(a, OPT_URL, "");
    ev->narrative = (char *)opt_str(a, OPT_NARRATIVE, "");
    return 0;
}

static int cmd_evidence_add(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__Evidence ev = MASTERY__V1__EVIDENCE__INIT;
    char id[37];
    int rc = evidence_from_args(ctl, a, &ev, id);
    if (rc != 0)
        return rc;
    Mastery__V1__Evidence *items[1] = {&ev};
    Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
    sub.n_items = 1;
    sub.items = items;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
    req.submit_evidence = &sub;
    Mastery__V1__Reply *rep = NULL;
    rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__EvidenceResults *er = rep->evidence_results;
    const Mastery__V1__Status *st = er->n_items == 1 ? er->items[0]->status : NULL;
    int code = status_code(st);
    if (er->n_items != 1) {
        fprintf(stderr, "%s: INTERNAL: %zu item statuses for 1 item\n", progname, er->n_items);
        rc = CTL_ERR_REPLY;
    } else if (ctl->json) {
        json_t *o = json_pack("{s:s,s:s}", "id", ev.evidence_id, "status", status_name(code));
        if (code != 0 && code != MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE) {
            json_object_set_new(o, "field", jstr(st->field));
            json_object_set_new(o, "message", jstr(st->message));
        }
        emit_json(o);
    } else {
        printf("evidence %s: %s\n", ev.evidence_id, status_name(code));
    }
    if (rc == 0 && code != 0 && code != MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE) {
        print_status_error(st, NULL);
        rc = CTL_ERR_REPLY;
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return rc;
}

/* ---- evidence import ------------------------------------------------------------------- */

/* A failure found before sending: reported in line order with the daemon's verdicts. */
typedef struct note {
    uint64_t line;
    err_detail_t d;
} note_t;

typedef struct batch {
    call_t call;
    uint64_t *lines; /* the line number of each item */
    size_t n_items;
    note_t *notes;
    size_t n_notes, cap_notes;
    bool done; /* reply received (or nothing to send) */
    Mastery__V1__Reply *reply;
} batch_t;

typedef struct importer {
    ctl_t *ctl;
    const char *unit; /* what a number in a report counts: "line" (NULL) or "statement" */
    FILE *in;
    const char *path;
    char *buf; /* MAX_LINE_BYTES + 2 */
    uint64_t line;
    bool eof;
    size_t batch_size, window;
    batch_t ring[MAX_WINDOW];
    size_t head, count;
    uint64_t records, accepted, duplicates, rejected;
} importer_t;

static void batch_reset(batch_t *b)
{
    call_free(&b->call);
    free(b->lines);
    free(b->notes);
    if (b->reply)
        mastery__v1__reply__free_unpacked(b->reply, NULL);
    memset(b, 0, sizeof *b);
}

static void batch_note(batch_t *b, uint64_t line, const err_detail_t *d)
{
    if (b->n_notes == b->cap_notes) {
        b->cap_notes = b->cap_notes ? b->cap_notes * 2 : 8;
        note_t *n = realloc(b->notes, b->cap_notes * sizeof *n);
        if (n == NULL) {
            fprintf(stderr, "%s: out of memory\n", progname);
            exit(CTL_ERR_REPLY);
        }
        b->notes = n;
    }
    b->notes[b->n_notes++] = (note_t){line, *d};
}

/*
 * Reads the next line into imp->buf (NUL-terminated, without the newline or a CR before it).
 * Returns 1 with *len set, 0 at end of input, or -1 for a line over MAX_LINE_BYTES (skipped).
 */
static int import_read_line(importer_t *imp, size_t *len)
{
    if (fgets(imp->buf, MAX_LINE_BYTES + 2, imp->in) == NULL)
        return 0;
    imp->line++;
    size_t n = strlen(imp->buf);
    bool newline = n > 0 && imp->buf[n - 1] == '\n';
    if (!newline && n > MAX_LINE_BYTES) {
        int ch;
        while ((ch = getc(imp->in)) != EOF && ch != '\n')
            ;
        return -1;
    }
    if (newline)
        imp->buf[--n] = '\0';
    if (n > 0 && imp->buf[n - 1] == '\r')
        imp->buf[--n] = '\0';
    *len = n;
    return 1;
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return false;
    return true;
}

/* Parses one line into *ev; on failure fills *d and returns nonzero. */
static int import_parse_line(importer_t *imp, size_t len, Mastery__V1__Evidence *ev,
                             err_detail_t *d)
{
    const char *s = imp->buf;
    if (imp->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* a UTF-8 byte order mark */
        len -= 3;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL)
        return err_set(d, ERR_INVALID, "json", "%s at column %d", jerr.text, jerr.column);
    int rc = evidence_from_json(obj, ev, d);
    json_decref(obj);
    return rc;
}

/*
 * Reads the next line into *ev. Returns 1 when ev holds an item (its packed size in *size),
 * 0 at the end of the input, -1 when the line was blank or failed (then it is a note of b).
 */
static int import_one_line(importer_t *imp, batch_t *b, Mastery__V1__Evidence *ev, size_t *size)
{
    size_t len = 0;
    int r = import_read_line(imp, &len);
    if (r == 0)
        return 0;
    if (r > 0 && is_blank(imp->buf))
        return -1;
    imp->records++;
    err_detail_t d;
    err_clear(&d);
    *ev = (Mastery__V1__Evidence)MASTERY__V1__EVIDENCE__INIT;
    if (r < 0) {
        err_set(&d, ERR_INVALID, "", "line longer than %u bytes", MAX_LINE_BYTES);
    } else if (import_parse_line(imp, len, ev, &d) == 0) {
        *size = mastery__v1__evidence__get_packed_size(ev);
        if (*size <= MAX_ITEM_BYTES)
            return 1;
        err_set(&d, ERR_INVALID, "", "an item of %zu bytes; at most %u", *size, MAX_ITEM_BYTES);
    }
    evidence_clear(ev);
    batch_note(b, imp->line, &d);
    return -1;
}

/*
 * Fills b with up to batch_size items (and about MAX_BATCH_BYTES, under the daemon's default
 * 1 MiB max_frame) read from the input and packs them into a request.
 * Lines that cannot be sent become notes. Returns 0, or CTL_USAGE on a read error.
 */
static int import_fill_batch(importer_t *imp, batch_t *b)
{
    Mastery__V1__Evidence *items = xcalloc(imp->batch_size, sizeof *items);
    Mastery__V1__Evidence **ptrs = xcalloc(imp->batch_size, sizeof *ptrs);
    b->lines = xcalloc(imp->batch_size, sizeof *b->lines);
    int rc = 0;
    size_t bytes = 0;
    while (b->n_items < imp->batch_size && bytes < MAX_BATCH_BYTES &&
           b->n_notes < MAX_NOTES_PER_BATCH) {
        Mastery__V1__Evidence *ev = &items[b->n_items];
        size_t size = 0;
        int r = import_one_line(imp, b, ev, &size);
        if (r == 0) {
            imp->eof = true;
            break;
        }
        if (r < 0)
            continue;
        bytes += size + 8; /* the item's tag and length */
        ptrs[b->n_items] = ev;
        b->lines[b->n_items++] = imp->line;
    }
    if (ferror(imp->in)) {
        fprintf(stderr, "%s: %s: %s\n", progname, imp->path, strerror(errno));
        rc = CTL_USAGE;
    }
    if (rc == 0 && b->n_items > 0) {
        Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
        sub.n_items = b->n_items;
        sub.items = ptrs;
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
        req.submit_evidence = &sub;
        call_prepare(imp->ctl, &req, &b->call);
    } else {
        b->done = true; /* nothing to send; only notes to report */
    }
    for (size_t i = 0; i < b->n_items; i++)
        evidence_clear(&items[i]);
    free(items);
    free(ptrs);
    return rc;
}

static void import_report(const importer_t *imp, uint64_t line, const char *code, const char *field,
                          const char *message)
{
    const char *unit = imp->unit ? imp->unit : "line";
    if (imp->ctl->json) {
        emit_json(json_pack("{s:I,s:s,s:o,s:o}", unit, (json_int_t)line, "code", code, "field",
                            jstr(field), "message", jstr(message)));
    } else if (field && field[0]) {
        fprintf(stderr, "%s %" PRIu64 ": %s %s: %s\n", unit, line, code, field, message);
    } else {
        fprintf(stderr, "%s %" PRIu64 ": %s: %s\n", unit, line, code, message);
    }
}

/* Counts and reports one sent item's verdict. */
static void import_item_status(importer_t *imp, uint64_t line, const Mastery__V1__Status *st)
{
    int code = status_code(st);
    if (code == 0)
        imp->accepted++;
    else if (code == MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE)
        imp->duplicates++;
    else {
        imp->rejected++;
        import_report(imp, line, status_name(code), st->field, st->message);
    }
}

/* A batch refused as a whole (too many items, not allowed, ...): one report for its lines. */
static void import_batch_refused(importer_t *imp, const batch_t *b, const Mastery__V1__Reply *rep)
{
    bool has = status_code(rep->status) != 0;
    const char *code = has ? status_name((int)rep->status->code) : "INTERNAL";
    const char *field = has ? rep->status->field : "";
    const char *message = has ? rep->status->message : "unexpected reply to submit_evidence";
    uint64_t first = b->lines[0], last = b->lines[b->n_items - 1];
    const char *unit = imp->unit ? imp->unit : "line";
    char last_key[32];
    snprintf(last_key, sizeof last_key, "last_%s", unit);
    imp->rejected += b->n_items;
    if (imp->ctl->json)
        emit_json(json_pack("{s:I,s:I,s:I,s:s,s:o,s:o}", unit, (json_int_t)first, last_key,
                            (json_int_t)last, "items", (json_int_t)b->n_items, "code", code,
                            "field", jstr(field), "message", jstr(message)));
    else
        fprintf(stderr, "%ss %" PRIu64 "-%" PRIu64 " (%zu items): %s%s%s: %s\n", unit, first, last,
                b->n_items, code, field[0] ? " " : "", field, message);
}

/* Reports a finished batch: its notes and its items' verdicts merged in line order. */
static void import_finish_batch(importer_t *imp, batch_t *b)
{
    const Mastery__V1__Reply *rep = b->reply;
    const Mastery__V1__EvidenceResults *er =
        rep && rep->result_case == MASTERY__V1__REPLY__RESULT_EVIDENCE_RESULTS
            ? rep->evidence_results
            : NULL;
    size_t n_items = b->n_items;
    if (rep != NULL && (status_code(rep->status) != 0 || er == NULL)) {
        import_batch_refused(imp, b, rep);
        n_items = 0; /* only the notes remain to report */
    }
    static const Mastery__V1__Status missing = {
        PROTOBUF_C_MESSAGE_INIT(&mastery__v1__status__descriptor),
        MASTERY__V1__STATUS_CODE__STATUS_INTERNAL, (char *)"the reply has no status for this item",
        (char *)""};
    size_t ni = 0, nn = 0;
    while (ni < n_items || nn < b->n_notes) {
        if (nn < b->n_notes && (ni == n_items || b->notes[nn].line < b->lines[ni])) {
            const note_t *n = &b->notes[nn++];
            imp->rejected++;
            import_report(imp, n->line, err_str(n->d.code), n->d.field, n->d.message);
            continue;
        }
        const Mastery__V1__Status *st = &missing;
        if (ni < er->n_items)
            st = er->items[ni]->status; /* NULL (absent) means OK */
        import_item_status(imp, b->lines[ni++], st);
    }
}

static batch_t *import_find(importer_t *imp, const char *request_id)
{
    for (size_t i = 0; i < imp->count; i++) {
        batch_t *b = &imp->ring[(imp->head + i) % imp->window];
        if (!b->done && b->call.bytes && strcmp(b->call.id, request_id) == 0)
            return b;
    }
    return NULL;
}

/* Retries batches whose deadline passed; returns CTL_UNREACHABLE when one is out of tries. */
static int import_retry_due(importer_t *imp)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < imp->count; i++) {
        batch_t *b = &imp->ring[(imp->head + i) % imp->window];
        if (b->done || b->call.deadline > now)
            continue;
        if (b->call.attempts >= CALL_ATTEMPTS) {
            fprintf(stderr, "%s: %ss %" PRIu64 "..%" PRIu64 " unconfirmed\n", progname,
                    imp->unit ? imp->unit : "line", b->lines[0], b->lines[b->n_items - 1]);
            return unreachable(imp->ctl, b->call.attempts);
        }
        int rc = call_send(imp->ctl, &b->call);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Takes one reply (or waits until the next deadline) and files it with its batch. */
static int import_wait(importer_t *imp)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < imp->count; i++) {
        const batch_t *b = &imp->ring[(imp->head + i) % imp->window];
        if (!b->done && b->call.deadline < first)
            first = b->call.deadline;
    }
    if (first == INT64_MAX)
        return 0;
    Mastery__V1__Reply *rep = NULL;
    int got = reply_recv(imp->ctl, first - now_ms(), &rep);
    if (got == 1) {
        batch_t *b = import_find(imp, rep->request_id);
        if (b == NULL) {
            mastery__v1__reply__free_unpacked(rep, NULL); /* a late twin of a resent batch */
        } else if (status_code(rep->status) == MASTERY__V1__STATUS_CODE__STATUS_UNAVAILABLE &&
                   b->call.attempts < CALL_ATTEMPTS) {
            /* Temporary: let the deadline logic resend the same ids a little later. */
            b->call.deadline = now_ms() + (imp->ctl->timeout_ms < 500 ? imp->ctl->timeout_ms : 500);
            mastery__v1__reply__free_unpacked(rep, NULL);
        } else {
            b->reply = rep;
            b->done = true;
        }
    }
    return import_retry_due(imp);
}

static int import_run(importer_t *imp)
{
    for (;;) {
        while (!imp->eof && imp->count < imp->window) {
            batch_t *b = &imp->ring[(imp->head + imp->count) % imp->window];
            imp->count++;
            int rc = import_fill_batch(imp, b);
            if (rc != 0)
                return rc;
            if (!b->done && (rc = call_send(imp->ctl, &b->call)) != 0)
                return rc;
        }
        while (imp->count > 0 && imp->ring[imp->head].done) {
            import_finish_batch(imp, &imp->ring[imp->head]);
            batch_reset(&imp->ring[imp->head]);
            imp->head = (imp->head + 1) % imp->window;
            imp->count--;
        }
        if (imp->count == 0 && imp->eof)
            return 0;
        if (imp->count == imp->window || imp->eof) {
            int rc = import_wait(imp);
            if (rc != 0)
                return rc;
        }
    }
}

static void import_summary(const importer_t *imp, double seconds)
{
    double rate = seconds > 0 ? (double)imp->records / seconds : 0;
    if (imp->ctl->json) {
        emit_json(json_pack("{s:I,s:I,s:I,s:I,s:f,s:f}", "lines", (json_int_t)imp->records,
                            "accepted", (json_int_t)imp->accepted, "duplicates",
                            (json_int_t)imp->duplicates, "rejected", (json_int_t)imp->rejected,
                            "seconds", seconds, "lines_per_s", rate));
        return;
    }
    printf("%" PRIu64 " lines in %.2f s (%.0f lines/s): %" PRIu64 " accepted, %" PRIu64
           " duplicates, %" PRIu64 " rejected\n",
           imp->records, seconds, rate, imp->accepted, imp->duplicates, imp->rejected);
}

static int cmd_evidence_import(ctl_t *ctl, const args_t *a)
{
    uint64_t batch = DEFAULT_BATCH, window = DEFAULT_WINDOW;
    int rc = opt_u64(ctl, a, OPT_BATCH, 1, MAX_BATCH, &batch);
    if (rc == 0)
        rc = opt_u64(ctl, a, OPT_WINDOW, 1, MAX_WINDOW, &window);
    if (rc != 0)
        return rc;
    importer_t *imp = xcalloc(1, sizeof *imp);
    imp->ctl = ctl;
    imp->path = a->pos[0];
    imp->batch_size = batch;
    imp->window = window;
    imp->in = strcmp(imp->path, "-") == 0 ? stdin : fopen(imp->path, "r");
    if (imp->in == NULL) {
        fprintf(stderr, "%s: %s: %s\n", progname, imp->path, strerror(errno));
        free(imp);
        return CTL_USAGE;
    }
    imp->buf = xcalloc(1, MAX_LINE_BYTES + 2);
    double t0 = mono_s();
    rc = transport_open(ctl);
    if (rc == 0)
        rc = import_run(imp);
    if (rc == 0 || rc == CTL_UNREACHABLE)
        import_summary(imp, mono_s() - t0);
    if (rc == 0 && imp->rejected > 0)
        rc = CTL_ERR_REPLY;
    for (size_t i = 0; i < MAX_WINDOW; i++)
        batch_reset(&imp->ring[i]);
    if (imp->in != stdin)
        fclose(imp->in);
    free(imp->buf);
    free(imp);
    return rc;
}

/* ---- evidence list ---------------------------------------------------------------------- */

static int cmd_evidence_list(ctl_t *ctl, const args_t *a)
{
    uint64_t limit = 0;
    int rc = opt_u64(ctl, a, OPT_LIMIT, 1, UINT32_MAX, &limit);
    if (rc != 0)
        return rc;
    Mastery__V1__ListEvidence list = MASTERY__V1__LIST_EVIDENCE__INIT;
    list.learner_id = (char *)a->val[OPT_LEARNER];
    list.competency_id = (char *)opt_str(a, OPT_COMPETENCY, "");
    list.limit = (uint32_t)limit;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_LIST_EVIDENCE;
    req.list_evidence = &list;
    Mastery__V1__Reply *rep = NULL;
    rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_EVIDENCE, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__EvidenceList *el = rep->evidence;
    if (ctl->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < el->n_items; i++)
            json_array_append_new(arr, evidence_to_json(el->items[i]));
        emit_json(json_pack("{s:s,s:o,s:b}", "learner", list.learner_id, "items", arr, "truncated",
                            (int)el->truncated));
    } else {
        table_t t = {
            .ncols = 7,
            .head = {"COMPETENCY", "OBSERVED AT", "SCORE", "OUTCOME", "WEIGHT", "SOURCE", "ID"},
            .right = {false, false, true, false, true, false, false}};
        for (size_t i = 0; i < el->n_items; i++) {
            const Mastery__V1__Evidence *ev = el->items[i];
            char at[ISOTIME_BUFSZ], score[32], weight[32];
            text_time(ev->observed_at_ms, at, sizeof at);
            snprintf(score, sizeof score, "%.3f", ev->score);
            snprintf(weight, sizeof weight, "%g", ev->weight > 0 ? ev->weight : 1.0);
            const char *outcome = outcome_name(ev->outcome);
            table_row(&t, ev->competency_id, at, score, outcome ? outcome : "-", weight, ev->source,
                      ev->evidence_id);
        }
        table_print(&t, stdout);
        table_free(&t);
        if (el->truncated)
            printf("(more evidence exists than shown; use --competency or --limit)\n");
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

/* ---- learner show ----------------------------------------------------------------------- */

static const char *competency_status_name(Mastery__V1__CompetencyStatus s)
{
    switch (s) {
    case MASTERY__V1__COMPETENCY_STATUS__LOCKED:
        return "LOCKED";
    case MASTERY__V1__COMPETENCY_STATUS__UNLOCKED:
        return "UNLOCKED";
    case MASTERY__V1__COMPETENCY_STATUS__MASTERED:
        return "MASTERED";
    default:
        return "UNKNOWN";
    }
}

static json_t *competency_json(const Mastery__V1__CompetencyState *c)
{
    return json_pack("{s:o,s:s,s:f,s:I,s:o,s:o,s:b,s:b}", "competency", jstr(c->competency_id),
                     "status", competency_status_name(c->status), "score", c->score,
                     "evidence_count", (json_int_t)c->evidence_count, "unlocked_at",
                     jtime(c->unlocked_at_ms), "mastered_at", jtime(c->mastered_at_ms),
                     "overridden", (int)c->overridden, "rule_met", (int)c->rule_met);
}

static json_t *learner_json(const Mastery__V1__LearnerState *ls)
{
    json_t *fws = json_array();
    for (size_t i = 0; i < ls->n_frameworks; i++) {
        const Mastery__V1__FrameworkState *fs = ls->frameworks[i];
        json_t *comps = json_array();
        for (size_t j = 0; j < fs->n_competencies; j++)
            json_array_append_new(comps, competency_json(fs->competencies[j]));
        json_array_append_new(fws, json_pack("{s:o,s:I,s:o}", "framework", jstr(fs->framework_id),
                                             "revision", (json_int_t)fs->revision, "competencies",
                                             comps));
    }
    return json_pack("{s:o,s:o}", "learner", jstr(ls->learner_id), "frameworks", fws);
}

static void learner_print_framework(const Mastery__V1__FrameworkState *fs, bool *any_override)
{
    printf("framework %s (revision %" PRIu32 ")\n", fs->framework_id, fs->revision);
    table_t t = {.ncols = 5,
                 .head = {"COMPETENCY", "STATUS", "SCORE", "EVIDENCE", "MASTERED AT"},
                 .right = {false, false, true, true, false}};
    for (size_t j = 0; j < fs->n_competencies; j++) {
        const Mastery__V1__CompetencyState *c = fs->competencies[j];
        char status[16], score[32], count[16], at[ISOTIME_BUFSZ];
        snprintf(status, sizeof status, "%s%s", competency_status_name(c->status),
                 c->overridden ? "*" : "");
        snprintf(score, sizeof score, "%.3f", c->score);
        snprintf(count, sizeof count, "%" PRIu32, c->evidence_count);
        text_time(c->mastered_at_ms, at, sizeof at);
        table_row(&t, c->competency_id, status, score, count, at);
        *any_override = *any_override || c->overridden;
    }
    table_print(&t, stdout);
    table_free(&t);
}

static int cmd_learner_show(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__GetLearner get = MASTERY__V1__GET_LEARNER__INIT;
    get.learner_id = a->pos[0];
    get.framework_id = (char *)opt_str(a, OPT_FRAMEWORK, "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_LEARNER;
    req.get_learner = &get;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_LEARNER, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__LearnerState *ls = rep->learner;
    if (ctl->json) {
        emit_json(learner_json(ls));
    } else {
        printf("learner %s\n", ls->learner_id[0] ? ls->learner_id : get.learner_id);
        bool any_override = false;
        for (size_t i = 0; i < ls->n_frameworks; i++) {
            fputc('\n', stdout);
            learner_print_framework(ls->frameworks[i], &any_override);
        }
        if (ls->n_frameworks == 0)
            printf("(no frameworks loaded)\n");
        if (any_override)
            printf("\n* set by a teacher override\n");
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

/* ---- events ----------------------------------------------------------------------------- */

static void fill_unlocked(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__Unlocked *u = ev->unlocked;
    json_object_set_new(o, "learner", jstr(u->learner_id));
    json_object_set_new(o, "framework", jstr(u->framework_id));
    json_object_set_new(o, "competency", jstr(u->competency_id));
    json_object_set_new(o, "evidence", jstr(u->evidence_id));
}

static void fill_mastered(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__Mastered *m = ev->mastered;
    json_object_set_new(o, "learner", jstr(m->learner_id));
    json_object_set_new(o, "framework", jstr(m->framework_id));
    json_object_set_new(o, "competency", jstr(m->competency_id));
    json_object_set_new(o, "score", json_real(m->score));
    json_object_set_new(o, "evidence", jstr(m->evidence_id));
}

static void fill_override(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__OverrideApplied *ov = ev->override;
    json_object_set_new(o, "learner", jstr(ov->learner_id));
    json_object_set_new(o, "framework", jstr(ov->framework_id));
    json_object_set_new(o, "competency", jstr(ov->competency_id));
    json_object_set_new(o, "mastered", json_boolean(ov->mastered));
    json_object_set_new(o, "reason", jstr(ov->reason));
    json_object_set_new(o, "actor", jstr(ov->actor));
}

static void fill_framework_loaded(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__FrameworkLoaded *fl = ev->framework_loaded;
    json_object_set_new(o, "framework", jstr(fl->framework_id));
    json_object_set_new(o, "revision", json_integer(fl->revision));
    json_object_set_new(o, "version", jstr(fl->version));
    json_object_set_new(o, "competency_count", json_integer(fl->competency_count));
}

static void fill_evidence_retracted(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__EvidenceRetracted *r = ev->evidence_retracted;
    json_object_set_new(o, "learner", jstr(r->learner_id));
    json_object_set_new(o, "competency", jstr(r->competency_id));
    json_object_set_new(o, "evidence", jstr(r->evidence_id));
    json_object_set_new(o, "reason", jstr(r->reason));
}

static void fill_credential_issued(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__CredentialIssued *c = ev->credential_issued;
    json_object_set_new(o, "credential", jstr(c->credential_id));
    json_object_set_new(o, "learner", jstr(c->learner_id));
    json_object_set_new(o, "framework", jstr(c->framework_id));
    json_object_set_new(o, "competency", jstr(c->competency_id));
    json_object_set_new(o, "achievement", jstr(c->achievement_name));
}

static void fill_credential_status(const Mastery__V1__Event *ev, json_t *o)
{
    const Mastery__V1__CredentialStatusChanged *c = ev->credential_status;
    json_object_set_new(o, "credential", jstr(c->credential_id));
    json_object_set_new(o, "learner", jstr(c->learner_id));
    json_object_set_new(o, "purpose", jstr(c->purpose));
    json_object_set_new(o, "set", json_boolean(c->set));
    json_object_set_new(o, "reason", jstr(c->reason));
}

static const char *learner_evidence_retracted(const Mastery__V1__Event *ev)
{
    return ev->evidence_retracted->learner_id;
}

static const char *learner_credential_issued(const Mastery__V1__Event *ev)
{
    return ev->credential_issued->learner_id;
}

static const char *learner_credential_status(const Mastery__V1__Event *ev)
{
    return ev->credential_status->learner_id;
}

static const char *learner_unlocked(const Mastery__V1__Event *ev)
{
    return ev->unlocked->learner_id;
}

static const char *learner_mastered(const Mastery__V1__Event *ev)
{
    return ev->mastered->learner_id;
}

static const char *learner_override(const Mastery__V1__Event *ev)
{
    return ev->override->learner_id;
}

static const struct event_kind {
    Mastery__V1__Event__KindCase kcase;
    const char *name;
    void (*fill)(const Mastery__V1__Event *ev, json_t *o);
    const char *(*learner)(const Mastery__V1__Event *ev); /* NULL: not about a learner */
} EVENT_KINDS[] = {
    {MASTERY__V1__EVENT__KIND_UNLOCKED, "unlocked", fill_unlocked, learner_unlocked},
    {MASTERY__V1__EVENT__KIND_MASTERED, "mastered", fill_mastered, learner_mastered},
    {MASTERY__V1__EVENT__KIND_OVERRIDE, "override", fill_override, learner_override},
    {MASTERY__V1__EVENT__KIND_FRAMEWORK_LOADED, "framework_loaded", fill_framework_loaded, NULL},
    {MASTERY__V1__EVENT__KIND_EVIDENCE_RETRACTED, "evidence_retracted", fill_evidence_retracted,
     learner_evidence_retracted},
    {MASTERY__V1__EVENT__KIND_CREDENTIAL_ISSUED, "credential_issued", fill_credential_issued,
     learner_credential_issued},
    {MASTERY__V1__EVENT__KIND_CREDENTIAL_STATUS, "credential_status", fill_credential_status,
     learner_credential_status},
};
#define N_EVENT_KINDS (sizeof EVENT_KINDS / sizeof EVENT_KINDS[0])

static const struct event_kind *event_kind_of(const Mastery__V1__Event *ev)
{
    for (size_t i = 0; i < N_EVENT_KINDS; i++)
        if (EVENT_KINDS[i].kcase == ev->kind_case)
            return &EVENT_KINDS[i];
    return NULL;
}

typedef struct event_reader {
    ctl_t *ctl;
    const char *kind;    /* NULL: every kind */
    const char *learner; /* NULL: every learner */
    uint64_t last;       /* the newest seq handled (printed or filtered out) */
} event_reader_t;

static void event_emit(const event_reader_t *r, const Mastery__V1__Event *ev)
{
    const struct event_kind *k = event_kind_of(ev);
    if (r->kind && (k == NULL || strcmp(k->name, r->kind) != 0))
        return;
    if (r->learner && (k == NULL || k->learner == NULL || strcmp(k->learner(ev), r->learner) != 0))
        return;
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
    json_object_set_new(o, "at", jtime(ev->at_ms));
    json_object_set_new(o, "kind", json_string(k ? k->name : "unknown"));
    if (k)
        k->fill(ev, o);
    emit_json(o);
}

/*
 * Prints stored events after r->last until the store has no more, or until r->last >= upto
 * (0: no bound). Returns 0, CTL_ERR_REPLY, CTL_UNREACHABLE, or -1 when interrupted.
 */
static int events_replay(event_reader_t *r, uint64_t upto)
{
    for (;;) {
        Mastery__V1__ReadEvents read = MASTERY__V1__READ_EVENTS__INIT;
        read.from_seq = r->last + 1;
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_READ_EVENTS;
        req.read_events = &read;
        Mastery__V1__Reply *rep = NULL;
        int rc = request(r->ctl, &req, true, MASTERY__V1__REPLY__RESULT_EVENTS, &rep);
        if (rc != 0)
            return rc;
        const Mastery__V1__EventPage *page = rep->events;
        uint64_t before = r->last;
        for (size_t i = 0; i < page->n_events; i++) {
            const Mastery__V1__Event *ev = page->events[i];
            if (ev->seq <= r->last)
                continue;
            event_emit(r, ev);
            r->last = ev->seq;
        }
        if (page->next_seq > r->last + 1)
            r->last = page->next_seq - 1; /* the store skipped ahead */
        bool done = page->n_events == 0 || r->last == before || r->last >= page->last_seq ||
                    (upto && r->last >= upto);
        mastery__v1__reply__free_unpacked(rep, NULL);
        if (done)
            return 0;
    }
}

/* Receives one [topic][Event] from sub. Returns 1 with *out set, 0 if nothing usable. */
static int event_recv(void *sub, Mastery__V1__Event **out)
{
    zmq_msg_t parts[2];
    size_t n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) < 0) {
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

/* One live event: fills any gap from the store first, skips what was already printed. */
static int events_live(event_reader_t *r, const Mastery__V1__Event *ev)
{
    if (ev->seq <= r->last)
        return 0;
    if (ev->seq > r->last + 1) {
        int rc = events_replay(r, ev->seq - 1);
        if (rc != 0)
            return rc;
        if (ev->seq <= r->last)
            return 0;
        fprintf(stderr, "%s: events %" PRIu64 "..%" PRIu64 " are not in the store\n", progname,
                r->last + 1, ev->seq - 1);
    }
    event_emit(r, ev);
    r->last = ev->seq;
    return 0;
}

static int events_follow(event_reader_t *r)
{
    ctl_t *ctl = r->ctl;
    if (ctl->events_endpoint[0] == '\0') {
        fprintf(stderr, "%s: no events endpoint known for %s; give --events-endpoint\n", progname,
                ctl->endpoint);
        return CTL_USAGE;
    }
    int rc = transport_open(ctl);
    if (rc != 0)
        return rc;
    void *sub = zmq_socket(ctl->zctx, ZMQ_SUB);
    int linger = 0, hwm = 100000;
    int64_t maxmsg = MAX_REPLY_BYTES;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0); /* filtered here, so a gap is always a loss */
    if ((rc = curve_apply(ctl, sub)) != 0)
        goto out;
    if (zmq_connect(sub, ctl->events_endpoint) != 0) {
        fprintf(stderr, "%s: cannot connect to %s: %s\n", progname, ctl->events_endpoint,
                zmq_strerror(zmq_errno()));
        rc = CTL_USAGE;
        goto out;
    }
    /* Subscribed first, then the stored events: nothing falls between the two. */
    if ((rc = events_replay(r, 0)) != 0)
        goto out;
    while (!g_stop) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, FOLLOW_IDLE_MS);
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            rc = CTL_ERR_REPLY;
            break;
        }
        if (n == 0) {
            /* Quiet: catch up from the store in case PUB dropped the newest events. */
            rc = events_replay(r, 0);
        } else {
            Mastery__V1__Event *ev = NULL;
            while (rc == 0 && !g_stop && event_recv(sub, &ev)) {
                rc = events_live(r, ev);
                mastery__v1__event__free_unpacked(ev, NULL);
            }
        }
        if (rc != 0)
            break;
    }
out:
    zmq_close(sub);
    return rc < 0 ? 0 : rc; /* interrupted: a normal end */
}

static bool kind_known(const char *k)
{
    for (size_t i = 0; i < N_EVENT_KINDS; i++)
        if (strcmp(EVENT_KINDS[i].name, k) == 0)
            return true;
    return false;
}

static int cmd_events(ctl_t *ctl, const args_t *a)
{
    uint64_t from = 1;
    int rc = opt_u64(ctl, a, OPT_FROM, 0, UINT64_MAX, &from);
    if (rc != 0)
        return rc;
    if (from == 0)
        from = 1; /* "from 0": from the very beginning; events start at seq 1 */
    if (a->set[OPT_KIND] && !kind_known(a->val[OPT_KIND]))
        return usage_error(ctl,
                           "--kind: \"%s\" is not unlocked, mastered, override, "
                           "framework_loaded, evidence_retracted, credential_issued or "
                           "credential_status",
                           a->val[OPT_KIND]);
    event_reader_t r = {.ctl = ctl,
                        .kind = opt_str(a, OPT_KIND, NULL),
                        .learner = opt_str(a, OPT_LEARNER, NULL),
                        .last = from - 1};
    if (!a->set[OPT_FOLLOW])
        return events_replay(&r, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return events_follow(&r);
}

/* ---- override, health ------------------------------------------------------------------- */

static int cmd_override(ctl_t *ctl, const args_t *a)
{
    if (a->set[OPT_GRANT] == a->set[OPT_WITHDRAW])
        return usage_error(ctl, "give exactly one of --grant or --withdraw");
    if (a->val[OPT_REASON][0] == '\0')
        return usage_error(ctl, "--reason: must not be empty");
    const char *user = getenv("USER");
    Mastery__V1__Override ov = MASTERY__V1__OVERRIDE__INIT;
    ov.learner_id = (char *)a->val[OPT_LEARNER];
    ov.framework_id = (char *)a->val[OPT_FRAMEWORK];
    ov.competency_id = (char *)a->val[OPT_COMPETENCY];
    ov.mastered = a->set[OPT_GRANT];
    ov.reason = (char *)a->val[OPT_REASON];
    ov.actor = (char *)opt_str(a, OPT_ACTOR, user && user[0] ? user : "masteryctl");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_OVERRIDE;
    req.override = &ov;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, false, MASTERY__V1__REPLY__RESULT_COMPETENCY, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__CompetencyState *c = rep->competency;
    if (ctl->json)
        emit_json(competency_json(c));
    else
        printf("%s %s: %s%s (score %.3f, %" PRIu32 " evidence)\n", ov.learner_id,
               c->competency_id[0] ? c->competency_id : ov.competency_id,
               competency_status_name(c->status), c->overridden ? " by override" : "", c->score,
               c->evidence_count);
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static void print_bytes(const char *label, uint64_t used, uint64_t total)
{
    printf("%-12s %.1f MiB of %.1f MiB (%.0f%%)\n", label, (double)used / 1048576.0,
           (double)total / 1048576.0, total ? 100.0 * (double)used / (double)total : 0.0);
}

static int cmd_health(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Health health = MASTERY__V1__HEALTH__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_HEALTH;
    req.health = &health;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_HEALTH, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__HealthInfo *h = rep->health;
    if (ctl->json) {
        emit_json(json_pack(
            "{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "version", jstr(h->version), "uptime_ms",
            (json_int_t)h->uptime_ms, "evidence_count", (json_int_t)h->evidence_count, "last_seq",
            (json_int_t)h->last_seq, "framework_count", (json_int_t)h->framework_count, "map_size",
            (json_int_t)h->map_size, "map_used", (json_int_t)h->map_used, "requests",
            (json_int_t)h->requests, "commits", (json_int_t)h->commits, "dev_mode",
            (int)h->dev_mode));
    } else {
        int64_t up = h->uptime_ms / 1000;
        printf("%-12s %s\n", "version", h->version);
        printf("%-12s %" PRId64 "d %02" PRId64 ":%02" PRId64 ":%02" PRId64 "\n", "uptime",
               up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
        printf("%-12s %" PRIu64 "\n", "evidence", h->evidence_count);
        printf("%-12s %" PRIu64 "\n", "last event", h->last_seq);
        printf("%-12s %" PRIu32 "\n", "frameworks", h->framework_count);
        print_bytes("storage", h->map_used, h->map_size);
        printf("%-12s %" PRIu64 "\n", "requests", h->requests);
        printf("%-12s %" PRIu64 "\n", "commits", h->commits);
        printf("%-12s %s\n", "mode", h->dev_mode ? "development (no authentication)" : "secure");
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

/* ---- keys --------------------------------------------------------------------------------- */

static int cmd_keygen(ctl_t *ctl, const args_t *a)
{
    const char *path = a->pos[0];
    char pub[CURVEKEY_Z85_LEN + 1];
    err_detail_t d;
    if (curvekey_pair_create(path, pub, &d) != 0) {
        fprintf(stderr, "%s: %s\n", progname, d.message);
        return d.code == ERR_CONFLICT ? CTL_USAGE : CTL_ERR_REPLY;
    }
    if (ctl->json) {
        json_t *o = json_object();
        json_object_set_new(o, "public_key", json_string(pub));
        json_object_set_new(o, "secret_key_file", json_string(path));
        emit_json(o);
        return CTL_OK;
    }
    printf("secret key: %s (mode 0600; keep it on this machine)\n"
           "public key: %s.pub\n\n"
           "Add this line to the daemon's clients file (name, then role: tool, teacher,\n"
           "admin or auditor; tools also list the frameworks they may submit for), then\n"
           "send the daemon SIGHUP:\n\n%s  NAME  ROLE  [FRAMEWORKS]\n",
           path, path, pub);
    return CTL_OK;
}

/* ---- credentials, issuer, keys, retraction ----------------------------------------------- */

static const char *credential_state_name(Mastery__V1__CredentialState s)
{
    switch (s) {
    case MASTERY__V1__CREDENTIAL_STATE__CREDENTIAL_REVOKED:
        return "revoked";
    case MASTERY__V1__CREDENTIAL_STATE__CREDENTIAL_SUSPENDED:
        return "suspended";
    default:
        return "active";
    }
}

static json_t *credential_info_json(const Mastery__V1__CredentialInfo *c)
{
    char at[ISOTIME_BUFSZ];
    text_time(c->issued_at_ms, at, sizeof at);
    return json_pack("{s:o,s:o,s:o,s:I,s:o,s:o,s:s,s:s,s:I,s:o}", "id", jstr(c->credential_id),
                     "learner", jstr(c->learner_id), "framework", jstr(c->framework_id), "revision",
                     (json_int_t)c->revision, "competency", jstr(c->competency_id), "achievement",
                     jstr(c->achievement_name), "issued_at", at, "state",
                     credential_state_name(c->state), "status_index", (json_int_t)c->status_index,
                     "reason", jstr(c->reason));
}

static int cmd_credential_list(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__ListCredentials op = MASTERY__V1__LIST_CREDENTIALS__INIT;
    op.learner_id = (char *)a->val[OPT_LEARNER];
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_LIST_CREDENTIALS;
    req.list_credentials = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL_LIST, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__CredentialList *l = rep->credential_list;
    if (ctl->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l->n_credentials; i++)
            json_array_append_new(arr, credential_info_json(l->credentials[i]));
        emit_json(json_pack("{s:o}", "credentials", arr));
    } else {
        table_t t = {.ncols = 5,
                     .head = {"CREDENTIAL", "ACHIEVEMENT", "COMPETENCY", "ISSUED AT", "STATE"}};
        for (size_t i = 0; i < l->n_credentials; i++) {
            const Mastery__V1__CredentialInfo *c = l->credentials[i];
            char at[ISOTIME_BUFSZ];
            text_time(c->issued_at_ms, at, sizeof at);
            table_row(&t, c->credential_id, c->achievement_name, c->competency_id, at,
                      credential_state_name(c->state));
        }
        table_print(&t, stdout);
        table_free(&t);
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int cmd_credential_get(ctl_t *ctl, const args_t *a)
{
    const char *format = opt_str(a, OPT_FORMAT, "json");
    bool jwt = strcmp(format, "jwt") == 0;
    if (!jwt && strcmp(format, "json") != 0)
        return usage_error(ctl, "--format: \"%s\" is not json or jwt", format);
    Mastery__V1__GetCredential op = MASTERY__V1__GET_CREDENTIAL__INIT;
    op.credential_id = a->pos[0];
    op.format = jwt ? MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JWT
                    : MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JSON;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_CREDENTIAL;
    req.get_credential = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL, &rep);
    if (rc != 0)
        return rc;
    /* The badge file a student keeps: the document exactly as signed, nothing around it. */
    printf("%s\n", rep->credential->document);
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int set_status(ctl_t *ctl, const args_t *a, const char *purpose, bool set)
{
    if (set && a->val[OPT_REASON][0] == '\0')
        return usage_error(ctl, "--reason: must not be empty");
    Mastery__V1__SetCredentialStatus op = MASTERY__V1__SET_CREDENTIAL_STATUS__INIT;
    op.credential_id = a->pos[0];
    op.purpose = (char *)purpose;
    op.set = set;
    op.reason = (char *)opt_str(a, OPT_REASON, "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_SET_CREDENTIAL_STATUS;
    req.set_credential_status = &op;
    Mastery__V1__Reply *rep = NULL;
    /* Safe to resend: setting a status twice is a no-op. */
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL_INFO, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__CredentialInfo *c = rep->credential_info;
    if (ctl->json)
        emit_json(credential_info_json(c));
    else
        printf("%s: %s%s%s\n", c->credential_id, credential_state_name(c->state),
               rep->status->message[0] ? " (" : "", rep->status->message[0] ? "unchanged)" : "");
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int cmd_credential_revoke(ctl_t *ctl, const args_t *a)
{
    return set_status(ctl, a, "revocation", true);
}

static int cmd_credential_suspend(ctl_t *ctl, const args_t *a)
{
    return set_status(ctl, a, "suspension", true);
}

static int cmd_credential_unsuspend(ctl_t *ctl, const args_t *a)
{
    return set_status(ctl, a, "suspension", false);
}

static int cmd_status_list_export(ctl_t *ctl, const args_t *a)
{
    const char *purpose = a->pos[0];
    if (strcmp(purpose, "revocation") != 0 && strcmp(purpose, "suspension") != 0)
        return usage_error(ctl, "PURPOSE: \"%s\" is not revocation or suspension", purpose);
    Mastery__V1__ExportStatusList op = MASTERY__V1__EXPORT_STATUS_LIST__INIT;
    op.purpose = (char *)purpose;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_EXPORT_STATUS_LIST;
    req.export_status_list = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_STATUS_LIST, &rep);
    if (rc != 0)
        return rc;
    printf("%s\n", rep->status_list->json);
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int issuer_request(ctl_t *ctl, bool rotate, Mastery__V1__Reply **rep)
{
    Mastery__V1__GetIssuer get = MASTERY__V1__GET_ISSUER__INIT;
    Mastery__V1__RotateKeys rot = MASTERY__V1__ROTATE_KEYS__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    if (rotate) {
        req.op_case = MASTERY__V1__REQUEST__OP_ROTATE_KEYS;
        req.rotate_keys = &rot;
    } else {
        req.op_case = MASTERY__V1__REQUEST__OP_GET_ISSUER;
        req.get_issuer = &get;
    }
    /* A rotation is not resent: a lost reply must not rotate twice. */
    return request(ctl, &req, !rotate, MASTERY__V1__REPLY__RESULT_ISSUER, rep);
}

static void print_issuer(const ctl_t *ctl, const Mastery__V1__IssuerInfo *is)
{
    if (ctl->json) {
        json_t *keys = json_array();
        for (size_t i = 0; i < is->n_keys; i++) {
            const Mastery__V1__IssuerKey *k = is->keys[i];
            char at[ISOTIME_BUFSZ];
            text_time(k->created_at_ms, at, sizeof at);
            json_array_append_new(keys, json_pack("{s:o,s:o,s:o,s:b,s:s}", "id", jstr(k->key_id),
                                                  "type", jstr(k->type), "verification_method",
                                                  jstr(k->verification_method), "current",
                                                  (int)k->current, "created_at", at));
        }
        emit_json(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "did", jstr(is->did), "name",
                            jstr(is->name), "url", jstr(is->url), "email", jstr(is->email), "image",
                            jstr(is->image), "keys", keys));
        return;
    }
    printf("%-8s %s\n%-8s %s\n", "did", is->did, "name", is->name);
    if (is->url[0])
        printf("%-8s %s\n", "url", is->url);
    if (is->email[0])
        printf("%-8s %s\n", "email", is->email);
    table_t t = {.ncols = 4, .head = {"KEY", "TYPE", "CURRENT", "CREATED AT"}};
    for (size_t i = 0; i < is->n_keys; i++) {
        char at[ISOTIME_BUFSZ];
        text_time(is->keys[i]->created_at_ms, at, sizeof at);
        table_row(&t, is->keys[i]->key_id, is->keys[i]->type, is->keys[i]->current ? "yes" : "",
                  at);
    }
    printf("\n");
    table_print(&t, stdout);
    table_free(&t);
}

static int cmd_issuer_show(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Reply *rep = NULL;
    int rc = issuer_request(ctl, false, &rep);
    if (rc != 0)
        return rc;
    print_issuer(ctl, rep->issuer);
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int cmd_issuer_did_document(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Reply *rep = NULL;
    int rc = issuer_request(ctl, false, &rep);
    if (rc != 0)
        return rc;
    if (rep->issuer->did_document[0] == '\0') {
        fprintf(stderr,
                "%s: the issuer is %s: a did:key resolves from itself and has no document to "
                "publish; set issuer_did_web in the daemon's config for did:web\n",
                progname, rep->issuer->did);
        rc = CTL_ERR_REPLY;
    } else {
        printf("%s\n", rep->issuer->did_document);
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return rc;
}

static int cmd_keys_rotate(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__Reply *rep = NULL;
    int rc = issuer_request(ctl, true, &rep);
    if (rc != 0)
        return rc;
    print_issuer(ctl, rep->issuer);
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int cmd_learner_register_did(ctl_t *ctl, const args_t *a)
{
    Mastery__V1__RegisterLearnerDid op = MASTERY__V1__REGISTER_LEARNER_DID__INIT;
    op.learner_id = a->pos[0];
    op.did = a->pos[1];
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_REGISTER_LEARNER_DID;
    req.register_learner_did = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT__NOT_SET, &rep);
    if (rc != 0)
        return rc;
    if (ctl->json)
        emit_json(json_pack("{s:o,s:o}", "learner", jstr(op.learner_id), "did", jstr(op.did)));
    else
        printf("learner %s: badges will name %s\n", op.learner_id, op.did);
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int cmd_evidence_retract(ctl_t *ctl, const args_t *a)
{
    if (a->val[OPT_REASON][0] == '\0')
        return usage_error(ctl, "--reason: must not be empty");
    Mastery__V1__RetractEvidence op = MASTERY__V1__RETRACT_EVIDENCE__INIT;
    op.evidence_id = a->pos[0];
    op.reason = (char *)a->val[OPT_REASON];
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_RETRACT_EVIDENCE;
    req.retract_evidence = &op;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT__NOT_SET, &rep);
    if (rc != 0)
        return rc;
    if (ctl->json)
        emit_json(json_pack("{s:o,s:o}", "evidence", jstr(op.evidence_id), "message",
                            jstr(rep->status->message)));
    else
        printf("evidence %s: retracted%s%s\n", op.evidence_id, rep->status->message[0] ? "; " : "",
               rep->status->message);
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

/* ---- framework import-case -------------------------------------------------------------- */

static int cmd_framework_import_case(ctl_t *ctl, const args_t *a)
{
    const char *gate = opt_str(a, OPT_GATE, "precedes");
    if (strcmp(gate, "precedes") != 0 && strcmp(gate, "none") != 0)
        return usage_error(ctl, "--gate: \"%s\" is not precedes or none", gate);
    for (size_t i = 0; i < a->n_multi; i++)
        if (strchr(a->multi[i], '=') == NULL)
            return usage_error(ctl, "--rule: \"%s\" is not ITEM_ID=METHOD[:threshold]",
                               a->multi[i]);
    if (a->set[OPT_CASE_ID] && a->val[OPT_CASE_ID][0] == '\0')
        return usage_error(ctl, "--id: must not be empty");
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(a->pos[0], MAX_FILE_BYTES, &text, &len);
    if (rc != 0)
        return rc;
    Mastery__V1__ImportCase imp = MASTERY__V1__IMPORT_CASE__INIT;
    imp.package_json = text;
    imp.framework_id = (char *)opt_str(a, OPT_CASE_ID, "");
    imp.gate = (char *)gate;
    imp.badges = a->set[OPT_BADGES];
    imp.n_rules = a->n_multi;
    imp.rules = (char **)a->multi;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_IMPORT_CASE;
    req.import_case = &imp;
    Mastery__V1__Reply *rep = NULL;
    /* Not resent: every import makes a new revision. */
    rc = request(ctl, &req, false, MASTERY__V1__REPLY__RESULT_IMPORT_CASE, &rep);
    free(text);
    if (rc != 0)
        return rc;
    const Mastery__V1__ImportCaseResult *r = rep->import_case;
    const Mastery__V1__FrameworkInfo *fi = r->info;
    if (ctl->json) {
        json_t *o = fi ? framework_info_json(fi) : json_object();
        json_t *w = json_array();
        for (size_t i = 0; i < r->n_warnings; i++)
            json_array_append_new(w, jstr(r->warnings[i]));
        json_object_set_new(o, "summary", jstr(r->summary));
        json_object_set_new(o, "warnings", w);
        emit_json(o);
    } else {
        if (fi)
            printf("imported %s revision %" PRIu32 ": %" PRIu32 " competencies\n", fi->framework_id,
                   fi->revision, fi->competency_count);
        printf("%s\n", r->summary);
        for (size_t i = 0; i < r->n_warnings; i++)
            printf("warning: %s\n", r->warnings[i]);
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

/* ---- xapi import / follow ---------------------------------------------------------------- */

#define XAPI_READ_CHUNK    (256u << 10)
#define XAPI_FLUSH_MS      200 /* a partial batch waits at most this long */
#define XAPI_SHOWN_PER_WHY 5   /* unmapped statements listed per reason (malformed: all) */

/* Reads once from the input into the splitter; at the end, tells it. Returns 0 or -1 (printed). */
static int xinput_fill(int fd, bool *eof, jsonseq_t *seq, char *chunk, const char *path)
{
    for (;;) {
        ssize_t n = read(fd, chunk, XAPI_READ_CHUNK);
        if (n < 0 && errno == EINTR) {
            if (!g_stop)
                continue;
            n = 0; /* interrupted (follow): the input ends here */
        }
        if (n < 0) {
            fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
            return -1;
        }
        if (n == 0) {
            *eof = true;
            jsonseq_end(seq);
            return 0;
        }
        if (jsonseq_feed(seq, chunk, (size_t)n) != 0) {
            fprintf(stderr, "%s: out of memory\n", progname);
            exit(CTL_ERR_REPLY);
        }
        return 0;
    }
}

typedef struct xrun {
    importer_t imp; /* the batches in flight and the evidence counters */
    xapi_map_t *map;
    int fd;
    bool eof;
    jsonseq_t *seq; /* splits the input into statements */
    char *chunk;    /* XAPI_READ_CHUNK bytes for read() */
    const char *path;
    /* the batch being filled */
    Mastery__V1__Evidence *items;
    Mastery__V1__Evidence **ptrs;
    uint64_t *index;
    size_t n, bytes;
    int64_t first_ms;
    /* counters */
    uint64_t statements, evidence, retractions, retracted, retract_missing, retract_failed;
    uint64_t why[XAPI_REASON_COUNT], shown[XAPI_REASON_COUNT], warnings, case_uris;
    bool fatal;
} xrun_t;

static void xrun_report(xrun_t *x, uint64_t index, uint64_t line, const char *id, const char *code,
                        const char *field, const char *message)
{
    if (x->imp.ctl->json) {
        json_t *o = json_pack("{s:I,s:o,s:s,s:o,s:o}", "statement", (json_int_t)index, "id",
                              id ? jstr(id) : json_null(), "code", code, "field", jstr(field),
                              "message", jstr(message));
        if (jsonseq_is_lines(x->seq))
            json_object_set_new(o, "line", json_integer((json_int_t)line));
        emit_json(o);
        return;
    }
    char where[48] = "", ident[XAPI_ID_MAX + 16] = "";
    if (jsonseq_is_lines(x->seq))
        snprintf(where, sizeof where, " (line %" PRIu64 ")", line);
    if (id)
        snprintf(ident, sizeof ident, " [id %s]", id);
    fprintf(stderr, "statement %" PRIu64 "%s: %s%s%s: %s%s\n", index, where, code,
            field && field[0] ? " " : "", field ? field : "", message, ident);
}

static void xrun_clear_items(xrun_t *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->items[i].evidence_id);
        free(x->items[i].learner_id);
        free(x->items[i].competency_id);
        x->items[i] = (Mastery__V1__Evidence)MASTERY__V1__EVIDENCE__INIT;
    }
    x->n = 0;
    x->bytes = 0;
}

/* Files replies of finished batches, in order. */
static void xrun_reap(xrun_t *x)
{
    importer_t *imp = &x->imp;
    while (imp->count > 0 && imp->ring[imp->head].done) {
        import_finish_batch(imp, &imp->ring[imp->head]);
        batch_reset(&imp->ring[imp->head]);
        imp->head = (imp->head + 1) % imp->window;
        imp->count--;
    }
}

/* Sends the batch being filled (waiting for room in the window first). */
static int xrun_send(xrun_t *x)
{
    importer_t *imp = &x->imp;
    if (x->n == 0)
        return 0;
    for (;;) {
        xrun_reap(x);
        if (imp->count < imp->window)
            break;
        int rc = import_wait(imp);
        if (rc != 0)
            return rc;
    }
    batch_t *b = &imp->ring[(imp->head + imp->count) % imp->window];
    imp->count++;
    b->lines = xcalloc(x->n, sizeof *b->lines);
    memcpy(b->lines, x->index, x->n * sizeof *b->lines);
    b->n_items = x->n;
    for (size_t i = 0; i < x->n; i++)
        x->ptrs[i] = &x->items[i];
    Mastery__V1__SubmitEvidence sub = MASTERY__V1__SUBMIT_EVIDENCE__INIT;
    sub.n_items = x->n;
    sub.items = x->ptrs;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_SUBMIT_EVIDENCE;
    req.submit_evidence = &sub;
    call_prepare(imp->ctl, &req, &b->call);
    xrun_clear_items(x);
    return call_send(imp->ctl, &b->call);
}

/* Sends what is pending and waits until every batch is answered and reported. */
static int xrun_drain(xrun_t *x)
{
    int rc = xrun_send(x);
    while (rc == 0 && x->imp.count > 0) {
        xrun_reap(x);
        if (x->imp.count > 0)
            rc = import_wait(&x->imp);
    }
    xrun_reap(x);
    return rc;
}

/* A voiding statement: everything before it is stored first, then the retraction. */
static int xrun_retract(xrun_t *x, const xapi_item_t *it, uint64_t index, uint64_t line)
{
    x->retractions++;
    int rc = xrun_drain(x);
    if (rc != 0)
        return rc;
    char reason[XAPI_ID_MAX + 64];
    snprintf(reason, sizeof reason, "voided by xAPI statement %s", it->statement_id);
    Mastery__V1__RetractEvidence op = MASTERY__V1__RETRACT_EVIDENCE__INIT;
    op.evidence_id = (char *)it->evidence_id;
    op.reason = reason;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_RETRACT_EVIDENCE;
    req.retract_evidence = &op;
    Mastery__V1__Reply *rep = NULL;
    /* Safe to resend: retracting twice is answered OK ("already retracted"). */
    rc = rpc(x->imp.ctl, &req, CALL_ATTEMPTS, &rep);
    if (rc != 0)
        return rc;
    int code = status_code(rep->status);
    if (code == 0) {
        x->retracted++;
    } else {
        if (code == MASTERY__V1__STATUS_CODE__STATUS_NOT_FOUND)
            x->retract_missing++; /* voids a statement that never became evidence */
        else
            x->retract_failed++;
        xrun_report(x, index, line, it->statement_id, status_name(code), rep->status->field,
                    rep->status->message);
    }
    mastery__v1__reply__free_unpacked(rep, NULL);
    return 0;
}

static int xrun_statement(xrun_t *x, const char *text, size_t n, uint64_t line)
{
    uint64_t index = x->statements++;
    json_error_t je;
    json_t *js = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    xapi_item_t it;
    if (js == NULL) {
        x->why[XAPI_MALFORMED]++;
        char msg[256];
        snprintf(msg, sizeof msg, "not JSON: %s (column %d)", je.text, je.column);
        xrun_report(x, index, line, NULL, "malformed", "", msg);
        return 0;
    }
    int rc = 0;
    switch (xapi_map_statement(x->map, js, &it)) {
    case XAPI_EVIDENCE: {
        Mastery__V1__Evidence *ev = &x->items[x->n];
        ev->evidence_id = xstrdup(it.evidence_id);
        ev->learner_id = xstrdup(it.learner_id);
        ev->competency_id = xstrdup(it.competency_id);
        ev->source = (char *)it.source;
        ev->score = it.score;
        ev->outcome = (Mastery__V1__Outcome)it.outcome;
        ev->observed_at_ms = it.observed_at_ms;
        if (x->n == 0)
            x->first_ms = now_ms();
        x->index[x->n++] = index;
        x->bytes += mastery__v1__evidence__get_packed_size(ev) + 8;
        x->evidence++;
        if (it.warning[0]) {
            x->warnings++;
            if (x->warnings <= XAPI_SHOWN_PER_WHY * 4)
                xrun_report(x, index, line, it.statement_id, "warning", "", it.warning);
        }
        if (x->n == x->imp.batch_size || x->bytes >= MAX_BATCH_BYTES)
            rc = xrun_send(x);
        break;
    }
    case XAPI_RETRACTION:
        rc = xrun_retract(x, &it, index, line);
        break;
    case XAPI_UNMAPPED:
        x->why[it.reason]++;
        if (it.reason == XAPI_MALFORMED || x->shown[it.reason]++ < XAPI_SHOWN_PER_WHY)
            xrun_report(x, index, line, it.statement_id, xapi_reason_name(it.reason), it.path,
                        it.message);
        break;
    }
    json_decref(js);
    return rc;
}

static int64_t xrun_next_deadline(const xrun_t *x)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < x->imp.count; i++) {
        const batch_t *b = &x->imp.ring[(x->imp.head + i) % x->imp.window];
        if (!b->done && b->call.deadline < first)
            first = b->call.deadline;
    }
    if (x->n > 0 && x->first_ms + XAPI_FLUSH_MS < first)
        first = x->first_ms + XAPI_FLUSH_MS;
    return first;
}

static int xrun_loop(xrun_t *x)
{
    for (;;) {
        const char *s = NULL, *why = NULL;
        size_t n = 0;
        uint64_t line = 0;
        int r;
        while ((r = jsonseq_next(x->seq, &s, &n, &line, &why)) == JSONSEQ_ITEM) {
            int rc = xrun_statement(x, s, n, line);
            if (rc != 0)
                return rc;
        }
        if (r == JSONSEQ_SKIPPED) { /* an over-long line: one malformed statement, go on */
            x->why[XAPI_MALFORMED]++;
            xrun_report(x, x->statements++, line, NULL, "malformed", "", why);
            continue;
        }
        if (r == JSONSEQ_BROKEN) {
            x->why[XAPI_MALFORMED]++;
            xrun_report(x, x->statements, line, NULL, "malformed", "", why);
            x->fatal = true;
            return 0;
        }
        xrun_reap(x);
        if (x->eof || g_stop)
            return 0;
        if (x->n > 0 && now_ms() >= x->first_ms + XAPI_FLUSH_MS) {
            int rc = xrun_send(x);
            if (rc != 0)
                return rc;
        }
        int64_t deadline = xrun_next_deadline(x);
        int64_t wait = deadline == INT64_MAX ? 1000 : deadline - now_ms();
        zmq_pollitem_t items[2] = {{NULL, x->fd, ZMQ_POLLIN, 0},
                                   {x->imp.ctl->dealer, 0, ZMQ_POLLIN, 0}};
        int got = zmq_poll(items, x->imp.count > 0 ? 2 : 1, wait > 0 ? (long)wait : 0);
        if (got < 0 && zmq_errno() != EINTR) {
            fprintf(stderr, "%s: poll: %s\n", progname, zmq_strerror(zmq_errno()));
            return CTL_ERR_REPLY;
        }
        if (got > 0 && (items[0].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) &&
            xinput_fill(x->fd, &x->eof, x->seq, x->chunk, x->path) != 0)
            return CTL_USAGE;
        if (x->imp.count > 0 &&
            ((got > 0 && (items[1].revents & ZMQ_POLLIN)) || now_ms() >= deadline)) {
            int rc = import_wait(&x->imp);
            if (rc != 0)
                return rc;
        }
    }
}

/* Adds the CASE item URIs (source_uri) of the frameworks the mapping lists. */
static int xrun_case_uris(xrun_t *x)
{
    const json_t *fws = xapi_map_frameworks(x->map);
    if (fws == NULL || json_array_size(fws) == 0)
        return 0;
    ctl_t *ctl = x->imp.ctl;
    json_t *ids = json_array();
    bool all = false;
    size_t i;
    json_t *e;
    json_array_foreach(fws, i, e) all |= strcmp(json_string_value(e), "*") == 0;
    int rc = 0;
    if (all) {
        Mastery__V1__ListFrameworks list = MASTERY__V1__LIST_FRAMEWORKS__INIT;
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_LIST_FRAMEWORKS;
        req.list_frameworks = &list;
        Mastery__V1__Reply *rep = NULL;
        if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK_LIST, &rep)))
            goto out;
        for (i = 0; i < rep->framework_list->n_frameworks; i++)
            json_array_append_new(ids, jstr(rep->framework_list->frameworks[i]->framework_id));
        mastery__v1__reply__free_unpacked(rep, NULL);
    } else {
        json_array_extend(ids, (json_t *)fws);
    }
    json_array_foreach(ids, i, e)
    {
        Mastery__V1__GetFramework get = MASTERY__V1__GET_FRAMEWORK__INIT;
        get.framework_id = (char *)json_string_value(e);
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_GET_FRAMEWORK;
        req.get_framework = &get;
        Mastery__V1__Reply *rep = NULL;
        if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK, &rep)))
            goto out;
        json_t *doc = json_loads(rep->framework->json, 0, NULL);
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(doc, "competencies"), k, c)
        {
            const char *uri = json_string_value(json_object_get(c, "source_uri"));
            const char *id = json_string_value(json_object_get(c, "id"));
            const char *existing = NULL;
            if (uri == NULL || id == NULL)
                continue;
            int r = xapi_map_add_activity(x->map, uri, id, &existing);
            if (r == 0)
                x->case_uris++;
            else if (r == ERR_DUPLICATE && strcmp(existing, id) != 0 && !ctl->json)
                fprintf(stderr, "%s: %s is %s's source_uri too; it stays mapped to %s\n", progname,
                        uri, id, existing);
        }
        json_decref(doc);
        mastery__v1__reply__free_unpacked(rep, NULL);
    }
out:
    json_decref(ids);
    return rc;
}

static void xrun_summary(const xrun_t *x, double seconds)
{
    const importer_t *imp = &x->imp;
    double rate = seconds > 0 ? (double)x->statements / seconds : 0;
    if (x->imp.ctl->json) {
        json_t *why = json_object();
        for (int r = XAPI_VERB_NOT_MAPPED; r < XAPI_REASON_COUNT; r++)
            json_object_set_new(why, xapi_reason_name((xapi_reason_t)r),
                                json_integer((json_int_t)x->why[r]));
        json_t *o = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:f,s:f}", "statements",
            (json_int_t)x->statements, "evidence", (json_int_t)x->evidence, "accepted",
            (json_int_t)imp->accepted, "duplicates", (json_int_t)imp->duplicates, "rejected",
            (json_int_t)imp->rejected, "retractions", (json_int_t)x->retractions, "retracted",
            (json_int_t)x->retracted, "retract_not_found", (json_int_t)x->retract_missing,
            "retract_failed", (json_int_t)x->retract_failed, "not_mapped", why, "warnings",
            (json_int_t)x->warnings, "case_uris", (json_int_t)x->case_uris, "seconds", seconds,
            "statements_per_s", rate);
        if (o != NULL && jsonseq_more(x->seq)[0])
            json_object_set_new(o, "more", jstr(jsonseq_more(x->seq)));
        emit_json(o);
        return;
    }
    printf("%" PRIu64 " statements in %.2f s (%.0f/s): %" PRIu64 " evidence (%" PRIu64
           " accepted, %" PRIu64 " duplicates, %" PRIu64 " rejected), %" PRIu64
           " retractions (%" PRIu64 " done, %" PRIu64 " not found, %" PRIu64
           " failed); not mapped:",
           x->statements, seconds, rate, x->evidence, imp->accepted, imp->duplicates, imp->rejected,
           x->retractions, x->retracted, x->retract_missing, x->retract_failed);
    for (int r = XAPI_VERB_NOT_MAPPED; r < XAPI_REASON_COUNT; r++)
        printf("%s %" PRIu64 " %s", r == XAPI_VERB_NOT_MAPPED ? "" : ",", x->why[r],
               xapi_reason_name((xapi_reason_t)r));
    printf("; %" PRIu64 " warnings\n", x->warnings);
    if (jsonseq_more(x->seq)[0])
        fprintf(stderr, "(the LRS has more statements: %s)\n", jsonseq_more(x->seq));
    for (int r = XAPI_VERB_NOT_MAPPED; r < XAPI_REASON_COUNT; r++)
        if (r != XAPI_MALFORMED && x->why[r] > XAPI_SHOWN_PER_WHY)
            fprintf(stderr, "(%" PRIu64 " more %s statements not listed)\n",
                    x->why[r] - XAPI_SHOWN_PER_WHY, xapi_reason_name((xapi_reason_t)r));
}

static int xapi_run(ctl_t *ctl, const args_t *a, const char *path, bool follow)
{
    uint64_t batch = DEFAULT_BATCH, window = DEFAULT_WINDOW;
    int rc = opt_u64(ctl, a, OPT_BATCH, 1, MAX_BATCH, &batch);
    if (rc == 0)
        rc = opt_u64(ctl, a, OPT_WINDOW, 1, MAX_WINDOW, &window);
    if (rc != 0)
        return rc;
    char *mtext = NULL;
    size_t mlen = 0;
    if ((rc = read_file(a->val[OPT_MAPPING], MAX_FILE_BYTES, &mtext, &mlen)) != 0)
        return rc;
    xrun_t *x = xcalloc(1, sizeof *x);
    err_detail_t d;
    if (xapi_map_parse(mtext, mlen, &x->map, &d) != 0) {
        fprintf(stderr, "%s: %s: %s%s%s\n", progname, a->val[OPT_MAPPING], d.field,
                d.field[0] ? ": " : "", d.message);
        free(mtext);
        free(x);
        return CTL_USAGE;
    }
    free(mtext);
    x->path = path;
    x->fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (x->fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        xapi_map_destroy(&x->map);
        free(x);
        return CTL_USAGE;
    }
    x->seq = jsonseq_new();
    if (x->seq == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        exit(CTL_ERR_REPLY);
    }
    x->chunk = xcalloc(1, XAPI_READ_CHUNK);
    x->imp.ctl = ctl;
    x->imp.unit = "statement";
    x->imp.batch_size = batch;
    x->imp.window = window;
    x->items = xcalloc(batch, sizeof *x->items);
    x->ptrs = xcalloc(batch, sizeof *x->ptrs);
    x->index = xcalloc(batch, sizeof *x->index);
    for (size_t i = 0; i < batch; i++)
        x->items[i] = (Mastery__V1__Evidence)MASTERY__V1__EVIDENCE__INIT;
    if (follow) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: poll and read return EINTR */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    double t0 = mono_s();
    rc = transport_open(ctl);
    if (rc == 0)
        rc = xrun_case_uris(x);
    if (rc == 0)
        rc = xrun_loop(x);
    if (rc < 0)
        rc = 0; /* interrupted (follow): what was read is still sent and counted */
    if (rc == 0)
        rc = xrun_drain(x);
    if (rc == 0 || rc == CTL_UNREACHABLE)
        xrun_summary(x, mono_s() - t0);
    if (rc == 0 && (x->why[XAPI_MALFORMED] > 0 || x->imp.rejected > 0 || x->retract_failed > 0))
        rc = CTL_ERR_REPLY;
    xrun_clear_items(x);
    for (size_t i = 0; i < MAX_WINDOW; i++)
        batch_reset(&x->imp.ring[i]);
    if (x->fd > 0)
        close(x->fd);
    jsonseq_destroy(&x->seq);
    free(x->chunk);
    free(x->items);
    free(x->ptrs);
    free(x->index);
    xapi_map_destroy(&x->map);
    free(x);
    return rc;
}

static int cmd_xapi_import(ctl_t *ctl, const args_t *a)
{
    return xapi_run(ctl, a, a->pos[0], false);
}

static int cmd_xapi_follow(ctl_t *ctl, const args_t *a)
{
    return xapi_run(ctl, a, "-", true);
}

/* ---- the command table ------------------------------------------------------------------ */

#define EVIDENCE_FIELDS                                                                            \
    (O(OPT_LEARNER) | O(OPT_COMPETENCY) | O(OPT_SCORE) | O(OPT_ID) | O(OPT_OBSERVED_AT) |          \
     O(OPT_SOURCE) | O(OPT_OUTCOME) | O(OPT_WEIGHT) | O(OPT_URL) | O(OPT_NARRATIVE))

static const command_t COMMANDS[] = {
    {"framework", "load", cmd_framework_load, 0, 0, 1, 1, "framework load FILE|-",
     "Loads a framework document (a new revision when its id is already loaded)."},
    {"framework", "show", cmd_framework_show, O(OPT_REVISION), 0, 1, 1,
     "framework show ID [--revision N]", "Prints a framework document as loaded."},
    {"framework", "list", cmd_framework_list, 0, 0, 0, 0, "framework list",
     "Lists the loaded frameworks."},
    {"framework", "import-case", cmd_framework_import_case,
     O(OPT_CASE_ID) | O(OPT_GATE) | O(OPT_RULE) | O(OPT_BADGES), 0, 1, 1,
     "framework import-case PACKAGE.json|- [--id ID] [--gate precedes|none] [--rule RULE ...]\n"
     "       [--badges]",
     "Imports a 1EdTech CASE 1.0 package (CFPackage JSON) as a framework: CFItems become\n"
     "competencies, isChildOf a roll-up, precedes a prerequisite (unless --gate none).\n"
     "Prints the summary and every warning about what was accepted leniently."},
    {"evidence", "add", cmd_evidence_add, EVIDENCE_FIELDS,
     O(OPT_LEARNER) | O(OPT_COMPETENCY) | O(OPT_SCORE), 0, 0,
     "evidence add --learner L --competency C --score X [--id ID] [--observed-at TIME]\n"
     "       [--source S] [--outcome passed|failed] [--weight W] [--url U] [--narrative TEXT]",
     "Submits one evidence item and prints its id and status (OK or DUPLICATE)."},
    {"evidence", "import", cmd_evidence_import, O(OPT_BATCH) | O(OPT_WINDOW), 0, 1, 1,
     "evidence import FILE|- [--batch N] [--window N]",
     "Submits evidence lines (JSON, one object a line) in batches; reports every rejected\n"
     "line by number and prints a summary. Exit 1 if any line was rejected."},
    {"evidence", "list", cmd_evidence_list, O(OPT_LEARNER) | O(OPT_COMPETENCY) | O(OPT_LIMIT),
     O(OPT_LEARNER), 0, 0, "evidence list --learner L [--competency C] [--limit N]",
     "Lists a learner's evidence."},
    {"learner", "show", cmd_learner_show, O(OPT_FRAMEWORK), 0, 1, 1,
     "learner show L [--framework F]", "Shows a learner's state in each framework."},
    {"events", NULL, cmd_events, O(OPT_FROM) | O(OPT_FOLLOW) | O(OPT_KIND) | O(OPT_LEARNER), 0, 0,
     0, "events [--from N] [--follow] [--kind K] [--learner L]",
     "Prints events as JSON lines: the stored ones from --from, then (with --follow) live\n"
     "ones until interrupted, without gaps or duplicates."},
    {"override", NULL, cmd_override,
     O(OPT_LEARNER) | O(OPT_FRAMEWORK) | O(OPT_COMPETENCY) | O(OPT_GRANT) | O(OPT_WITHDRAW) |
         O(OPT_REASON) | O(OPT_ACTOR),
     O(OPT_LEARNER) | O(OPT_FRAMEWORK) | O(OPT_COMPETENCY) | O(OPT_REASON), 0, 0,
     "override --learner L --framework F --competency C (--grant|--withdraw) --reason TEXT\n"
     "       [--actor NAME]",
     "Grants or withdraws a mastery by a teacher's decision (audited)."},
    {"health", NULL, cmd_health, 0, 0, 0, 0, "health", "Shows the daemon's status."},
    {"evidence", "retract", cmd_evidence_retract, O(OPT_REASON), O(OPT_REASON), 1, 1,
     "evidence retract ID --reason TEXT",
     "Retracts an evidence item: kept, marked, no longer counted (mastery stays)."},
    {"credential", "list", cmd_credential_list, O(OPT_LEARNER), O(OPT_LEARNER), 0, 0,
     "credential list --learner L", "Lists the badges issued to a learner."},
    {"credential", "get", cmd_credential_get, O(OPT_FORMAT), 0, 1, 1,
     "credential get ID [--format json|jwt]",
     "Prints a badge exactly as signed: the file a student keeps and shows."},
    {"credential", "revoke", cmd_credential_revoke, O(OPT_REASON), O(OPT_REASON), 1, 1,
     "credential revoke ID --reason TEXT", "Revokes a badge (final; idempotent)."},
    {"credential", "suspend", cmd_credential_suspend, O(OPT_REASON), O(OPT_REASON), 1, 1,
     "credential suspend ID --reason TEXT", "Suspends a badge until unsuspended."},
    {"credential", "unsuspend", cmd_credential_unsuspend, O(OPT_REASON), 0, 1, 1,
     "credential unsuspend ID [--reason TEXT]", "Lifts a suspension."},
    {"status-list", "export", cmd_status_list_export, 0, 0, 1, 1,
     "status-list export revocation|suspension",
     "Prints the signed status list credential, for the school's web server."},
    {"issuer", "show", cmd_issuer_show, 0, 0, 0, 0, "issuer show",
     "Shows the issuer: DID, profile, keys."},
    {"issuer", "did-document", cmd_issuer_did_document, 0, 0, 0, 0, "issuer did-document",
     "Prints the did:web DID document (did.json) to publish."},
    {"keys", "rotate", cmd_keys_rotate, 0, 0, 0, 0, "keys rotate",
     "Makes new current signing keys; old ones stay published."},
    {"learner", "register-did", cmd_learner_register_did, 0, 0, 2, 2, "learner register-did L DID",
     "Records the DID a learner gave; later badges name it."},
    {"xapi", "import", cmd_xapi_import, O(OPT_MAPPING) | O(OPT_BATCH) | O(OPT_WINDOW),
     O(OPT_MAPPING), 1, 1, "xapi import FILE|- --mapping MAP.json [--batch N] [--window N]",
     "Imports xAPI statements (a JSON array, or JSON lines) as evidence through a mapping\n"
     "file (clients/XAPI.md); voiding statements retract. Reports every statement that is\n"
     "not mapped by reason and prints a summary. Exit 1 if any was malformed or rejected."},
    {"xapi", "follow", cmd_xapi_follow, O(OPT_MAPPING) | O(OPT_BATCH) | O(OPT_WINDOW),
     O(OPT_MAPPING), 0, 0, "xapi follow --mapping MAP.json [--batch N] [--window N]",
     "A bridge: reads xAPI statements as JSON lines from standard input until it ends (or\n"
     "SIGINT/SIGTERM) and sends them as they come, a batch at least every 200 ms."},
    {"keygen", NULL, cmd_keygen, 0, 0, 1, 1, "keygen FILE",
     "Makes a CURVE key pair for a client: FILE (secret, mode 0600) and FILE.pub."},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void print_global_usage(FILE *f)
{
    fprintf(f,
            "usage: %s [-e ENDPOINT] [--events-endpoint EP] [-k KEY --server-key FILE] [--json]\n"
            "       [-t MS] COMMAND ...\n\n",
            progname);
    fprintf(f, "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %s\n", COMMANDS[i].usage);
    fprintf(f,
            "\nglobal options (before the command):\n"
            "  -e, --endpoint EP        request endpoint (env MASTERYD_ENDPOINT; default %s)\n"
            "  --events-endpoint EP     event endpoint (env MASTERYD_EVENTS; default: the\n"
            "                           request endpoint's host, port %s)\n"
            "  -k, --key FILE           this client's CURVE secret key (env MASTERYD_KEY);\n"
            "                           needs --server-key (env MASTERYD_SERVER_KEY), the\n"
            "                           daemon's public key file\n"
            "  --json                   machine-readable output (JSON; JSON lines for streams)\n"
            "  -t, --timeout MS         wait this long for each reply (default %d); reads and\n"
            "                           evidence are resent up to %d times in all\n"
            "  -h, --help               this help; COMMAND --help for a command's options\n"
            "\nexit status: 0 ok, 1 the daemon reported an error, 2 usage error,\n"
            "3 the daemon could not be reached\n",
            DEFAULT_ENDPOINT, DEFAULT_EVENTS_PORT, DEFAULT_TIMEOUT_MS, CALL_ATTEMPTS);
}

/* "tcp://host:7411" -> "tcp://host:7412"; other transports have no default. */
static void default_events_endpoint(const char *ep, char *out, size_t size)
{
    out[0] = '\0';
    if (strncmp(ep, "tcp://", 6) != 0)
        return;
    const char *colon = strrchr(ep + 6, ':');
    if (colon == NULL)
        return;
    int n = snprintf(out, size, "%.*s:%s", (int)(colon - ep), ep, DEFAULT_EVENTS_PORT);
    if (n < 0 || (size_t)n >= size)
        out[0] = '\0';
}

/* Parses the global options; returns 0 with *next the index of the command word. */
static int parse_global(ctl_t *ctl, int argc, char **argv, int *next)
{
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"events-endpoint", required_argument, NULL, 'E'},
        {"key", required_argument, NULL, 'k'},
        {"server-key", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *events = getenv("MASTERYD_EVENTS");
    const char *env_ep = getenv("MASTERYD_ENDPOINT");
    ctl->endpoint = env_ep && env_ep[0] ? env_ep : DEFAULT_ENDPOINT;
    ctl->timeout_ms = DEFAULT_TIMEOUT_MS;
    const char *env_key = getenv("MASTERYD_KEY"), *env_server = getenv("MASTERYD_SERVER_KEY");
    ctl->key_file = env_key && env_key[0] ? env_key : NULL;
    ctl->server_key_file = env_server && env_server[0] ? env_server : NULL;
    opterr = 0;
    int ch;
    uint64_t t;
    while ((ch = getopt_long(argc, argv, "+:e:k:t:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'e':
            ctl->endpoint = optarg;
            break;
        case 'E':
            events = optarg;
            break;
        case 'k':
            ctl->key_file = optarg;
            break;
        case 'S':
            ctl->server_key_file = optarg;
            break;
        case 'j':
            ctl->json = true;
            break;
        case 't':
            if (parse_u64_arg(ctl, "-t", optarg, 1, 3600000, &t) != 0)
                return CTL_USAGE;
            ctl->timeout_ms = (int)t;
            break;
        case 'h':
            print_global_usage(stdout);
            return -1;
        case ':':
            return usage_error(ctl, "option %s needs a value", argv[optind - 1]);
        default:
            if (optopt != 0)
                return usage_error(ctl, "unknown option -%c", optopt);
            return usage_error(ctl, "unknown option %s", argv[optind - 1]);
        }
    }
    if (ctl->endpoint[0] == '\0')
        return usage_error(ctl, "-e: empty endpoint");
    if ((ctl->key_file == NULL) != (ctl->server_key_file == NULL))
        return usage_error(ctl, "-k and --server-key go together (CURVE needs both keys)");
    if (events && events[0])
        snprintf(ctl->events_endpoint, sizeof ctl->events_endpoint, "%s", events);
    else
        default_events_endpoint(ctl->endpoint, ctl->events_endpoint, sizeof ctl->events_endpoint);
    *next = optind;
    return 0;
}

/* Finds the command named by argv[i] (and argv[i+1] for a subcommand); sets *words. */
static const command_t *command_find(ctl_t *ctl, int argc, char **argv, int i, int *words)
{
    bool name_known = false;
    for (size_t k = 0; k < N_COMMANDS; k++) {
        const command_t *c = &COMMANDS[k];
        if (strcmp(c->name, argv[i]) != 0)
            continue;
        name_known = true;
        if (c->sub == NULL) {
            *words = 1;
            return c;
        }
        if (i + 1 < argc && strcmp(c->sub, argv[i + 1]) == 0) {
            *words = 2;
            return c;
        }
    }
    if (!name_known) {
        usage_error(ctl, "unknown command \"%s\"", argv[i]);
        return NULL;
    }
    char subs[128] = "";
    size_t used = 0;
    for (size_t k = 0; k < N_COMMANDS; k++) {
        if (strcmp(COMMANDS[k].name, argv[i]) != 0)
            continue;
        int n =
            snprintf(subs + used, sizeof subs - used, "%s%s", used ? ", " : "", COMMANDS[k].sub);
        if (n > 0 && (size_t)n < sizeof subs - used)
            used += (size_t)n;
    }
    if (i + 1 < argc)
        usage_error(ctl, "unknown %s subcommand \"%s\" (one of: %s)", argv[i], argv[i + 1], subs);
    else
        usage_error(ctl, "%s needs a subcommand (one of: %s)", argv[i], subs);
    return NULL;
}

int main(int argc, char **argv)
{
    ctl_t ctl;
    memset(&ctl, 0, sizeof ctl);
    int next = 0;
    int rc = parse_global(&ctl, argc, argv, &next);
    if (rc != 0)
        return rc < 0 ? CTL_OK : rc;
    if (next >= argc) {
        return usage_error(&ctl, "no command given");
    }
    int words = 0;
    const command_t *c = command_find(&ctl, argc, argv, next, &words);
    if (c == NULL)
        return CTL_USAGE;
    ctl.cmd = c;
    args_t a;
    int first = next + words - 1; /* getopt sees the last command word as its argv[0] */
    rc = args_parse(&ctl, c, argc - first, argv + first, &a);
    if (rc != 0)
        return rc < 0 ? CTL_OK : rc;
    rc = c->run(&ctl, &a);
    transport_close(&ctl);
    return rc;
}
