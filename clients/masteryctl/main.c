/*
 * masteryctl: the command-line client for masteryd, for the school's IT person.
 *
 *     masteryctl [global options] COMMAND [SUBCOMMAND] [options] [arguments]
 *
 * This file is the wiring: the global options, then the command table (commands.c) names the
 * handler and the options it takes (args.c). The conversation with the daemon is
 * libmasteryclient's (lib/client): requests resent by request id, batch windows, the event log.
 * With -k KEY --server-key FILE every socket is a CURVE client (the daemon's secure mode).
 *
 * Exit codes: 0 success; 1 the daemon answered with an error (or a line of an import was
 * rejected); 2 usage error; 3 the daemon could not be reached within the timeout.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "masteryctl.h"

const char *progname = "masteryctl";

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
            "  --events-endpoint EP     event endpoint (env MASTERYD_EVENTS; default: the one\n"
            "                           the daemon reports in health)\n"
            "  -k, --key FILE           this client's CURVE secret key (env MASTERYD_KEY);\n"
            "                           needs --server-key (env MASTERYD_SERVER_KEY), the\n"
            "                           daemon's public key file\n"
            "  --json                   machine-readable output (JSON; JSON lines for streams);\n"
            "                           may stand anywhere on the line\n"
            "  --version                print the version and exit\n"
            "  -t, --timeout MS         wait this long for each reply (default %d); reads and\n"
            "                           evidence are resent up to %d times in all\n"
            "  -h, --help               this help; COMMAND --help for a command's options\n"
            "\nexit status: 0 ok, 1 the daemon reported an error, 2 usage error,\n"
            "3 the daemon could not be reached\n",
            DEFAULT_ENDPOINT, DEFAULT_TIMEOUT_MS, CALL_ATTEMPTS);
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
        {"version", no_argument, NULL, 'V'},
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
        case 'V':
            printf("masteryctl %s\n", MASTERY_VERSION);
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
    /* Without --events-endpoint the library asks the daemon (Health) where its events are. */
    if (events && events[0])
        snprintf(ctl->events_endpoint, sizeof ctl->events_endpoint, "%s", events);
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

/* --json is a global option that people type anywhere ("masteryctl health --json"): it is
 * taken out wherever it stands before a "--", and the rest is parsed as usual. */
static int take_json(ctl_t *ctl, int argc, char **argv)
{
    int out = 1;
    bool literal = false;
    for (int i = 1; i < argc; i++) {
        if (!literal && strcmp(argv[i], "--") == 0)
            literal = true;
        if (!literal && strcmp(argv[i], "--json") == 0) {
            ctl->json = true;
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    return out;
}

int main(int argc, char **argv)
{
    ctl_t ctl;
    memset(&ctl, 0, sizeof ctl);
    argc = take_json(&ctl, argc, argv);
    int next = 0;
    int rc = parse_global(&ctl, argc, argv, &next);
    if (rc != 0)
        return rc < 0 ? CTL_OK : rc;
    if (next >= argc)
        return usage_error(&ctl, "no command given");
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
    ctl_disconnect(&ctl);
    return rc;
}
