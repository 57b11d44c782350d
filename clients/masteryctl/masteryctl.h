/*
 * masteryctl: what the command files share. main.c parses the global options and dispatches
 * through the command table (commands.c); args.c parses a command's options from the option
 * table; rpc.c holds the connection (libmasteryclient) and prints what goes wrong with it;
 * output.c prints JSON and tables. One file per command family does the rest.
 *
 * Conventions: a handler returns an exit code (CTL_*), having printed the reason for any
 * failure itself; -1 from a wait means interrupted (follow modes), which ends normally.
 */
#ifndef MASTERY_MASTERYCTL_H
#define MASTERY_MASTERYCTL_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "masteryclient.h"

enum {
    CTL_OK = 0,
    CTL_ERR_REPLY = 1,   /* the daemon answered with an error */
    CTL_USAGE = 2,       /* the command line is wrong */
    CTL_UNREACHABLE = 3, /* no reply within the timeout */
};

#define DEFAULT_ENDPOINT   "tcp://127.0.0.1:7411"
#define DEFAULT_TIMEOUT_MS MC_TIMEOUT_DEFAULT
#define CALL_ATTEMPTS      MC_ATTEMPTS_DEFAULT /* for requests that are safe to resend */
#define MAX_FILE_BYTES     (64u << 20)         /* framework files, mappings */
#define MAX_BATCH          1000
#define DEFAULT_BATCH      500
#define DEFAULT_WINDOW     4
#define MAX_WINDOW         32
#define MAX_BATCH_BYTES    (512u << 10) /* a batch closes here: the daemon's max_frame */
#define JSON_FLAGS         (JSON_COMPACT | JSON_REAL_PRECISION(15))

extern const char *progname;

/* ---- options (args.c) ------------------------------------------------------------------ */

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
    OPT_PNG,
    OPT_SVG,
    OPT_IMAGE,
    OPT_OUTPUT,
    OPT_PUBLIC_URL,
    OPT_LIST,
    OPT_CLR,
    OPT_ID_COLUMN,
    OPT_HTML,
    OPT_ERASE_REASON,
    OPT_REF,
    OPT_REVOKE,
    OPT_RECEIPT,
    OPT_COUNT
} opt_id_t;

#define O(x)      ((uint64_t)1 << (x))
#define MULTI_MAX 256 /* values of a repeatable option */

/* The parsed command line of one command: option values (borrowed from argv) and operands. */
typedef struct args {
    const char *val[OPT_COUNT];
    bool set[OPT_COUNT];
    const char *multi[MULTI_MAX]; /* every value of the command's repeatable option, in order */
    size_t n_multi;
    char **pos;
    int npos;
} args_t;

struct command;

/* The session: global options, and the connection once a command needs one. */
typedef struct ctl {
    const char *endpoint;
    const char *key_file;        /* -k: this client's CURVE secret key (NULL: no CURVE) */
    const char *server_key_file; /* --server-key: the daemon's public key */
    char events_endpoint[512];
    bool json;
    int timeout_ms;
    mc_client_t *mc; /* NULL until ctl_connect() */
    const struct command *cmd;
} ctl_t;

typedef int (*handler_fn)(ctl_t *ctl, const args_t *a);

/* One row of the command table (commands.c). */
typedef struct command {
    const char *name;
    const char *sub; /* NULL: the command has no subcommand */
    handler_fn run;
    uint64_t allowed;  /* O(OPT_...) bits */
    uint64_t required; /* subset of allowed */
    int min_pos, max_pos;
    const char *usage; /* after "masteryctl " */
    const char *summary;
} command_t;

extern const command_t COMMANDS[];
extern const size_t N_COMMANDS;

/* Prints "masteryctl: <message>", the command's usage and a hint; returns CTL_USAGE. */
int usage_error(const ctl_t *ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses command c's options from argv (argv[0] is the last command word) into *a.
 * Returns 0, CTL_USAGE after printing the problem, or -1 when --help was printed. */
int args_parse(ctl_t *ctl, const command_t *c, int argc, char **argv, args_t *a);

/* Conversions; every failure is a usage error naming the option (returned as CTL_USAGE). */
int parse_double_arg(const ctl_t *ctl, const char *opt, const char *s, double lo, double hi,
                     double *out);
int parse_u64_arg(const ctl_t *ctl, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                  uint64_t *out);
/* An optional numeric option; *out is left alone when the option is absent. */
int opt_u64(const ctl_t *ctl, const args_t *a, opt_id_t id, uint64_t lo, uint64_t hi,
            uint64_t *out);
const char *opt_str(const args_t *a, opt_id_t id, const char *dflt);

/* ---- the connection (rpc.c) -------------------------------------------------------------- */

/* Set by SIGINT/SIGTERM once ctl_catch_signals() ran (follow modes); waits then end. */
extern volatile sig_atomic_t g_stop;
void ctl_catch_signals(void);

/* Connects on first use. Returns 0 or an exit code (printed). */
int ctl_connect(ctl_t *ctl);
void ctl_disconnect(ctl_t *ctl);

/* Prints "masteryctl: <d's message>" for a failure of the conversation and returns its exit
 * code: CTL_UNREACHABLE for MC_ERR_NO_REPLY, -1 for MC_ERR_INTERRUPTED, CTL_ERR_REPLY else. */
int ctl_failed(const err_detail_t *d, int rc);

/*
 * Sends req and waits for its reply (attempts sends in all). Returns 0 with *out set (caller
 * frees with mc_reply_free), CTL_UNREACHABLE, or -1 when interrupted.
 */
int rpc(ctl_t *ctl, Mastery__V1__Request *req, int attempts, Mastery__V1__Reply **out);

/* rpc() + a check of the status and the result kind (problems printed). *out set only on 0. */
int request(ctl_t *ctl, Mastery__V1__Request *req, bool safe_to_resend,
            Mastery__V1__Reply__ResultCase want, Mastery__V1__Reply **out);

int status_code(const Mastery__V1__Status *st);
/* Prints "masteryctl: CODE field: message" for a failed status. */
void print_status_error(const Mastery__V1__Status *st);

/* ---- output (output.c) ------------------------------------------------------------------ */

int64_t now_ms(void);
double mono_s(void); /* monotonic seconds, ns resolution: a short run has a non-zero rate */
void *xcalloc(size_t n, size_t size); /* exits with "out of memory" */
char *xstrdup(const char *s);

json_t *jstr(const char *s);                        /* a JSON string, or null for invalid UTF-8 */
json_t *jtime(int64_t ms);                          /* RFC 3339 with milliseconds, null for 0 */
void text_time(int64_t ms, char *buf, size_t size); /* RFC 3339 seconds, "-" for 0 */
void emit_json(json_t *doc);                        /* one line on stdout; takes ownership of doc */

/* Reads a whole file (or stdin for "-"), at most max bytes. Caller frees *buf. */
int read_file(const char *path, size_t max, char **buf, size_t *len);

#define TABLE_MAX_COLS 8

/* Columns sized to their widest cell. */
typedef struct table {
    size_t ncols, nrows, cap;
    const char *head[TABLE_MAX_COLS];
    bool right[TABLE_MAX_COLS]; /* right-aligned (numbers) */
    char **cells;               /* nrows * ncols, owned */
} table_t;

void table_row(table_t *t, ...); /* ncols strings (NULL prints as "") */
void table_print(table_t *t, FILE *f);
void table_free(table_t *t);

/* ---- shared between families ------------------------------------------------------------ */

/* credential bake (badge.c), page and publish (page.c) */
/* Fetches a credential (JSON or compact JWT). *rep on 0; the caller frees it. */
int fetch_credential(ctl_t *ctl, const char *id, bool jwt, Mastery__V1__Reply **rep);
/* FNV-1a of a and b: the default picture's colour, stable per achievement. */
uint32_t fnv1a(const char *a, const char *b);
/* Writes len bytes to path ("-" or NULL: standard output, refused when it is a terminal).
 * Written to a temporary name and renamed, so a reader never sees half a file. Returns 0 or
 * an exit code (printed). */
int write_output(ctl_t *ctl, const char *path, const void *data, size_t len);
int cmd_credential_bake(ctl_t *ctl, const args_t *a);
int cmd_credential_page(ctl_t *ctl, const args_t *a);
int cmd_credential_publish(ctl_t *ctl, const args_t *a);
/* log.c */
int cmd_log_checkpoint(ctl_t *ctl, const args_t *a);
int cmd_log_entry(ctl_t *ctl, const args_t *a);
int cmd_log_prove(ctl_t *ctl, const args_t *a);
int cmd_log_consistency(ctl_t *ctl, const args_t *a);
int cmd_log_export(ctl_t *ctl, const args_t *a);
int cmd_credential_proof(ctl_t *ctl, const args_t *a);

json_t *framework_info_json(const Mastery__V1__FrameworkInfo *fi);   /* framework.c */
json_t *competency_json(const Mastery__V1__CompetencyState *c);      /* learner.c */
const char *competency_status_name(Mastery__V1__CompetencyStatus s); /* learner.c */
/* advice.c: the Next request (caller frees *rep with mc_reply_free), and its JSON form. */
int advice_next_request(ctl_t *ctl, const char *learner, const char *framework, uint32_t limit,
                        uint32_t locked, Mastery__V1__Reply **rep);
json_t *next_steps_json(const Mastery__V1__NextSteps *ns);

/*
 * The evidence line format (evidence.c). evidence_from_json fills *ev from one parsed line:
 * types are checked here; ranges (score 0..1, id length) are the daemon's to judge, so the
 * report names the same rule either way. Unknown keys are refused: a misspelt optional field
 * would otherwise vanish silently. On failure ev may hold partial strings: the caller clears it
 * with evidence_clear(), which frees the strings it put there and resets ev.
 */
int evidence_from_json(const json_t *obj, Mastery__V1__Evidence *ev, err_detail_t *d);
void evidence_clear(Mastery__V1__Evidence *ev);

/* A batch import in flight (import.c), used by `evidence import` and `xapi`. */
typedef struct batch batch_t;
/*
 * A progress line on a terminal for long imports: "\r12000 lines  4000/s  38%  ETA 0:19"
 * (answered lines, their rate, the share done, the time left), on
 * standard error, only when it is a terminal and output is not --json, redrawn at most 5 times
 * a second. The ETA comes from bytes read of a regular file (none for a pipe). Reports clear it
 * first (progress_clear), so it never mixes with a line that stays.
 */
typedef struct progress {
    bool on, drawn;
    int fd;          /* the input, for its position */
    uint64_t size;   /* bytes of a regular file; 0: unknown (a pipe) */
    double t0, last; /* mono_s() at the start, at the last draw */
} progress_t;

void progress_start(progress_t *p, const ctl_t *ctl, int fd);
/* count: records answered so far; read: records read (ahead of count by the window). */
void progress_update(progress_t *p, uint64_t count, uint64_t read, const char *unit);
void progress_clear(progress_t *p);

typedef struct importer {
    ctl_t *ctl;
    progress_t progress;
    const char *unit; /* what a number in a report counts: "line" (NULL) or "statement" */
    mc_window_t *win; /* the batches in flight, in input order */
    size_t batch_size, window;
    uint64_t accepted, duplicates, rejected;
} importer_t;

/* Connects and makes imp->win (imp->window requests). Returns 0 or an exit code (printed). */
int importer_start(importer_t *imp);
/* Frees the batches still in the window, and the window. */
void importer_stop(importer_t *imp);
/*
 * Sends req (the SubmitEvidence of b's items, resent by the window while CALL_ATTEMPTS last),
 * or with req NULL queues b for its notes alone, in order with the others. Takes b.
 * Returns 0 or an exit code (printed).
 */
int importer_send(importer_t *imp, Mastery__V1__Request *req, batch_t *b);
/* Takes one reply (or waits until the next deadline) and files it. 0 or an exit code; a batch
 * out of sends is named ("lines 1..500 unconfirmed"). */
int importer_wait(importer_t *imp);
/* Reports finished batches, in order: notes and the daemon's verdicts merged by number. */
void importer_reap(importer_t *imp);
/* A new batch for up to cap items: batch_add numbers each item, batch_note records a failure
 * found before sending (reported in its place). Exits when out of memory. */
batch_t *batch_new(size_t cap);
void batch_add(batch_t *b, uint64_t line);
void batch_note(batch_t *b, uint64_t line, const err_detail_t *d);

/* ---- handlers (one file per family) ----------------------------------------------------- */

int cmd_framework_load(ctl_t *ctl, const args_t *a);
int cmd_framework_show(ctl_t *ctl, const args_t *a);
int cmd_framework_list(ctl_t *ctl, const args_t *a);
int cmd_framework_import_case(ctl_t *ctl, const args_t *a);
int cmd_evidence_add(ctl_t *ctl, const args_t *a);
int cmd_evidence_import(ctl_t *ctl, const args_t *a);
int cmd_evidence_list(ctl_t *ctl, const args_t *a);
int cmd_evidence_retract(ctl_t *ctl, const args_t *a);
int cmd_learner_show(ctl_t *ctl, const args_t *a);
int cmd_learner_transcript(ctl_t *ctl, const args_t *a);
int cmd_learner_next(ctl_t *ctl, const args_t *a);    /* advice.c */
int cmd_learner_explain(ctl_t *ctl, const args_t *a); /* advice.c */
int cmd_learner_report(ctl_t *ctl, const args_t *a);  /* report.c */
int cmd_learner_register_did(ctl_t *ctl, const args_t *a);
int cmd_learner_erase(ctl_t *ctl, const args_t *a);   /* erase.c */
int cmd_learner_hold(ctl_t *ctl, const args_t *a);    /* erase.c */
int cmd_learner_release(ctl_t *ctl, const args_t *a); /* erase.c */
int cmd_learner_reenrol(ctl_t *ctl, const args_t *a); /* erase.c */
int cmd_override(ctl_t *ctl, const args_t *a);
int cmd_events(ctl_t *ctl, const args_t *a);
int cmd_health(ctl_t *ctl, const args_t *a);
int cmd_metrics(ctl_t *ctl, const args_t *a);
int cmd_credential_list(ctl_t *ctl, const args_t *a);
int cmd_credential_get(ctl_t *ctl, const args_t *a);
int cmd_credential_revoke(ctl_t *ctl, const args_t *a);
int cmd_credential_suspend(ctl_t *ctl, const args_t *a);
int cmd_credential_unsuspend(ctl_t *ctl, const args_t *a);
int cmd_status_list_export(ctl_t *ctl, const args_t *a);
int cmd_backup(ctl_t *ctl, const args_t *a);
int cmd_issuer_show(ctl_t *ctl, const args_t *a);
int cmd_issuer_did_document(ctl_t *ctl, const args_t *a);
int cmd_keys_rotate(ctl_t *ctl, const args_t *a);
int cmd_keygen(ctl_t *ctl, const args_t *a);
int cmd_xapi_import(ctl_t *ctl, const args_t *a);
int cmd_xapi_follow(ctl_t *ctl, const args_t *a);
int cmd_roster_import(ctl_t *ctl, const args_t *a); /* group.c */
int cmd_group_list(ctl_t *ctl, const args_t *a);
int cmd_group_show(ctl_t *ctl, const args_t *a);
int cmd_group_report(ctl_t *ctl, const args_t *a);

#endif
