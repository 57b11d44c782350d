/*
 * masteryctl: the option table and the one parser that reads every command's options from it,
 * so a handler starts with validated arguments and only converts them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "masteryctl.h"

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
    [OPT_ID] = {"id", "ID",
                "evidence id (default: ctl- and a hash of the other options, so a re-run is a "
                "DUPLICATE)",
                false},
    [OPT_OBSERVED_AT] = {"observed-at", "TIME", "RFC 3339 time of the observation (default: now)",
                         false},
    [OPT_SOURCE] = {"source", "S", "the tool that observed it", false},
    [OPT_OUTCOME] = {"outcome", "passed|failed", "pass/fail reported by the tool", false},
    [OPT_WEIGHT] = {"weight", "W", "evidence weight > 0 (default 1)", false},
    [OPT_URL] = {"url", "U", "link to the work", false},
    [OPT_NARRATIVE] = {"narrative", "TEXT", "a sentence about the work", false},
    [OPT_REVISION] = {"revision", "N", "framework revision (default: the current one)", false},
    [OPT_BATCH] = {"batch", "N", "items per request, 1..1000 (default 500)", false},
    [OPT_WINDOW] = {"window", "N", "requests in flight, 1..32 (default 4)", false},
    [OPT_LIMIT] = {"limit", "N", "at most N items (default: every one, page by page)", false},
    [OPT_FROM] = {"from", "SEQ", "first event sequence number (default 1; 0 also means the start)",
                  false},
    [OPT_FOLLOW] = {"follow", NULL, "keep printing live events until interrupted", false},
    [OPT_KIND] = {"kind", "K",
                  "unlocked, mastered, override, framework_loaded, evidence_accepted, "
                  "evidence_retracted, credential_issued, credential_status, keys_rotated, "
                  "at_risk, review_due, review_failed, learner_erased, legal_hold, "
                  "learner_reenrolled or shredded",
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
    [OPT_PNG] = {"png", NULL, "a PNG image", false},
    [OPT_SVG] = {"svg", NULL, "an SVG image", false},
    [OPT_IMAGE] = {"image", "FILE",
                   "the picture to bake into, PNG or SVG (default: a generated medal)", false},
    [OPT_OUTPUT] = {"output", "FILE", "write here (-o; default: standard output)", false},
    [OPT_PUBLIC_URL] = {"public-url", "URL",
                        "where the published site is served (https://...): adds a QR code of "
                        "the badge's page",
                        false},
    [OPT_LIST] = {"list", "N", "the status list's number (default: the newest)", false},
    [OPT_CLR] = {"clr", NULL, "a 1EdTech CLR 2.0 transcript (ClrCredential)", false},
    [OPT_ID_COLUMN] = {"id-column", "COLUMN",
                       "users.csv column holding the learner id the tools use (default: "
                       "sourcedId)",
                       false},
    [OPT_HTML] = {"html", NULL, "one self-contained HTML page, no network (with -o FILE)", false},
    [OPT_ERASE_REASON] = {"reason", "TEXT",
                          "why (erase: written in the receipt only, never stored; hold: sealed "
                          "with the learner's data)",
                          false},
    [OPT_REF] = {"ref", "REF", "the request's reference (ticket number): in the receipt only",
                 false},
    [OPT_REVOKE] = {"revoke", NULL, "also revoke every badge issued to the learner", false},
    [OPT_RECEIPT] = {"receipt", "FILE",
                     "write the signed receipt here (mode 0600; an existing file is refused "
                     "before anything is erased)",
                     false},
};

/* ---- usage ---------------------------------------------------------------------------- */

static void print_command_usage(FILE *f, const command_t *c)
{
    fprintf(f, "usage: %s %s\n", progname, c->usage);
}

int usage_error(const ctl_t *ctl, const char *fmt, ...)
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

int parse_double_arg(const ctl_t *ctl, const char *opt, const char *s, double lo, double hi,
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

int parse_u64_arg(const ctl_t *ctl, const char *opt, const char *s, uint64_t lo, uint64_t hi,
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

int opt_u64(const ctl_t *ctl, const args_t *a, opt_id_t id, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!a->set[id])
        return 0;
    char name[48];
    snprintf(name, sizeof name, "--%s", OPTS[id].name);
    return parse_u64_arg(ctl, name, a->val[id], lo, hi, out);
}

const char *opt_str(const args_t *a, opt_id_t id, const char *dflt)
{
    return a->set[id] ? a->val[id] : dflt;
}

/* ---- command-line parsing ------------------------------------------------------------- */

enum { LONGOPT_BASE = 256, LONGOPT_HELP = 255 };

int args_parse(ctl_t *ctl, const command_t *c, int argc, char **argv, args_t *a)
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
    /* -o is the one short option: output files are named so often that it earns one */
    const char *shortopts = (c->allowed & O(OPT_OUTPUT)) ? ":ho:" : ":h";
    while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (ch == 'o')
            ch = LONGOPT_BASE + OPT_OUTPUT;
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
