/*
 * masteryd: wiring only. Settings (defaults, -c file, flags), logging, signals, then
 * store -> handler -> server, and the loop until SIGTERM/SIGINT. SIGHUP re-reads the clients
 * file (secure mode).
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "badges.h"
#include "check.h"
#include "conf.h"
#include "keyring.h"
#include "handler.h"
#include "identity.h"
#include "log.h"
#include "logref.h"
#include "notify.h"
#include "records.h"
#include "cluster.h"
#include "clusterkey.h"
#include "server.h"
#include "store.h"
#include "vault.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: masteryd [-dnv] [-c FILE] [--data DIR] [--listen EP] [--events EP]\n"
                 "       masteryd [-c FILE] [--data DIR] --learner-ref ID\n"
                 "  -c FILE        config file (name = value lines; see masteryd.conf(5))\n"
                 "  -d             stay in the foreground, log to stderr (default on a terminal)\n"
                 "  -n             check the configuration, print it as a config file, and exit\n"
                 "  --check        audit the store offline (checksums, recomputed states); exit\n"
                 "                 0 when whole, 1 when damaged or inconsistent, 2 on failure\n"
                 "  -v             more verbose logging (debug)\n"
                 "  --data DIR     LMDB data directory (default ./masteryd-data)\n"
                 "  --listen EP    request endpoint (default tcp://127.0.0.1:7411)\n"
                 "  --events EP    event endpoint (default tcp://127.0.0.1:7412)\n"
                 "  --adopt-keys   let a new, empty store take the issuer keys already in\n"
                 "                 key_dir (otherwise refused: a lost data.mdb looks the same)\n"
                 "  --learner-ref ID  print the reference log lines use for learner ID, and exit\n"
                 "  --version      print the version and exit\n"
                 "  -h, --help     print this help and exit\n");
}

#define ENDPOINT_STATE_MAX 1100

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the store must agree on before the daemon serves: status lists up to date. */
static int open_store(store_t *store, badges_t *badges, err_detail_t *d)
{
    store_txn_t *txn = NULL;
    bool migrated = false;
    int rc = store_txn_begin(store, true, &txn);
    if (rc == 0 && (rc = badges_open_store(badges, txn, wall_ms(), &migrated)) != 0)
        store_txn_fail(txn, rc);
    if (rc == 0 || txn != NULL)
        rc = store_txn_commit(&txn);
    if (rc != 0)
        return err_set(d, rc, "store", "cannot bring the status lists up to date: %s", err_str(rc));
    if (migrated)
        log_info("status lists: the store's one list is now list 1 (its URL unchanged)");
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        OPT_DATA = 256,
        OPT_LISTEN,
        OPT_EVENTS,
        OPT_VERSION,
        OPT_CHECK,
        OPT_ADOPT,
        OPT_LEARNER_REF
    };
    static const struct option longopts[] = {
        {"data", required_argument, NULL, OPT_DATA},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"version", no_argument, NULL, OPT_VERSION},
        {"check", no_argument, NULL, OPT_CHECK},
        {"adopt-keys", no_argument, NULL, OPT_ADOPT},
        {"learner-ref", required_argument, NULL, OPT_LEARNER_REF},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *conf_file = NULL, *data = NULL, *listen = NULL, *events = NULL, *ref = NULL;
    bool foreground = isatty(STDERR_FILENO), check_only = false, check_store = false;
    bool adopt = false;
    int verbose = 0, ch;
    while ((ch = getopt_long(argc, argv, "c:dnvh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            conf_file = optarg;
            break;
        case 'd':
            foreground = true;
            break;
        case 'n':
            check_only = true;
            break;
        case 'v':
            verbose++;
            break;
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_EVENTS:
            events = optarg;
            break;
        case OPT_CHECK:
            check_store = true;
            break;
        case OPT_ADOPT:
            adopt = true;
            break;
        case OPT_LEARNER_REF:
            ref = optarg;
            break;
        case OPT_VERSION:
            printf("masteryd %s\n", MASTERY_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    conf_t conf;
    err_detail_t d;
    conf_defaults(&conf);
    if ((conf_file && conf_load_file(&conf, conf_file, &d) != 0) ||
        (data && conf_set(&conf, "data_dir", data, &d) != 0) ||
        (listen && conf_set(&conf, "listen", listen, &d) != 0) ||
        (events && conf_set(&conf, "events", events, &d) != 0)) {
        fprintf(stderr, "masteryd: %s: %s\n", d.field, d.message);
        return 1;
    }
    if (verbose > conf.verbose)
        conf.verbose = verbose;
    bool secure = conf.clients_file[0] != '\0';
    char ref_path[CONF_STR_MAX + 16];
    snprintf(ref_path, sizeof ref_path, "%s/logref.key", conf.data_dir);
    if (ref != NULL) {
        /* Needs the key the running daemon uses; never creates one (it would not match). */
        uint8_t key[LOGREF_KEY_LEN];
        char out[LOGREF_LEN];
        if (access(ref_path, F_OK) != 0) {
            fprintf(stderr,
                    "masteryd: %s: no log reference key (the daemon creates it on "
                    "first start; give -c or --data of that daemon)\n",
                    ref_path);
            return 1;
        }
        if (logref_key_load(ref_path, key, &d) != 0) {
            fprintf(stderr, "masteryd: %s: %s\n", d.field, d.message);
            return 1;
        }
        logref_make(key, ref, out);
        OPENSSL_cleanse(key, sizeof key);
        printf("%s\n", out);
        return 0;
    }
    if (check_only) {
        char key[CONF_STR_MAX + 32] = "";
        bool key_pending;
        int bad = server_check_conf(&conf, &key_pending, key, sizeof key, &d) != 0 ||
                  conf_check_issuer(&conf, &d) != 0;
        if (bad)
            fprintf(stderr, "masteryd: %s: %s\n", d.field, d.message);
        else if (key_pending)
            printf("# %s does not exist yet: created on first start\n", key);
        conf_dump(&conf, stdout);
        printf(bad ? "# configuration INVALID\n" : "# configuration OK\n");
        return bad;
    }

    if (conf.cluster_nats[0] != '\0') {
        /* The nodes share key_dir (issuer keys, cluster.key); each keeps its own store key
         * there, since each re-keys its own store after an erasure (--check reads it too). */
        char name[64];
        snprintf(name, sizeof name, "store-node%llu.key", (unsigned long long)conf.cluster_node);
        vault_set_file(name);
    }
    if (check_store) {
        log_init(true, (int)conf.verbose, "masteryd");
        check_report_t report;
        return check_run(&conf, stdout, &report);
    }

    if (conf_check_issuer(&conf, &d) != 0) {
        fprintf(stderr, "masteryd: %s: %s\n", d.field, d.message);
        return 1;
    }
    if (conf.cluster_nats[0] != '\0') {
        /* Each shard keeps its own status lists (ARCHITECTURE.md, "Cluster mode"): their URLs
         * get the node's index, so two shards' lists never share an address. */
        size_t at = strlen(conf.status_base_url);
        while (at > 0 && conf.status_base_url[at - 1] == '/')
            at--;
        int n = snprintf(conf.status_base_url + at, sizeof conf.status_base_url - at, "/node-%llu",
                         (unsigned long long)conf.cluster_node);
        if (n < 0 || (size_t)n >= sizeof conf.status_base_url - at) {
            fprintf(stderr, "masteryd: status_base_url: too long to add the node's index\n");
            return 1;
        }
        if (conf.cluster_node >= conf.cluster_nodes) {
            fprintf(stderr,
                    "masteryd: cluster_node: %llu, but cluster_nodes is %llu (nodes are "
                    "numbered from 0)\n",
                    (unsigned long long)conf.cluster_node, (unsigned long long)conf.cluster_nodes);
            return 1;
        }
    }

    /* No core dumps: the process will hold private keys (and the CURVE secret key). */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    /* Under systemd (Type=notify) the process it started must be the daemon: no fork. */
    if (getenv("NOTIFY_SOCKET") != NULL)
        foreground = true;
    log_init(foreground, (int)conf.verbose, "masteryd");
    /* Detached without a syslog, stderr stays open: it is where the log goes. */
    if (!foreground && daemon(1, log_to_syslog() ? 0 : 1) != 0)
        fatal("daemon");
    if (!foreground && !log_to_syslog())
        log_warnx("no syslog (/dev/log): logging to stderr");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: zmq_poll returns EINTR and the loop checks */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    store_t *store = NULL;
    vault_t *vault = NULL;
    keyring_t *keyring = NULL;
    badges_t *badges = NULL;
    handler_t *handler = NULL;
    server_t *server = NULL;
    cluster_t *cluster = NULL;
    clusterkey_t *ckey = NULL;
    handler_stats_t stats = {.started_at = wall_ms(), .dev_mode = !secure};
    int rc = 1;
    log_info("masteryd %s starting; data in %s", MASTERY_VERSION, conf.data_dir);
    char key_dir[2 * CONF_STR_MAX];
    if (conf.key_dir[0])
        snprintf(key_dir, sizeof key_dir, "%s", conf.key_dir);
    else
        snprintf(key_dir, sizeof key_dir, "%s/keys", conf.data_dir);
    if (store_open(conf.data_dir, conf.map_size, conf.map_size_max, &store, &d) != 0) {
        log_warnx("%s: %s", d.field, d.message);
        goto out;
    }
    if (logref_key_load(ref_path, stats.logref_key, &d) != 0) {
        log_warnx("log reference key: %s: %s", d.field, d.message);
        goto out;
    }
    stats.logref_set = true;
    if (identity_precheck(store, key_dir, &d) != 0) {
        log_warnx("%s: %s", d.field, d.message);
        goto out;
    }
    bool keys_existed = keyring_present(key_dir), recorded = false;
    if (keyring_open(key_dir, wall_ms(), &keyring, &d) != 0) {
        log_warnx("issuer keys: %s: %s", d.field, d.message);
        goto out;
    }
    /* A cluster's nodes share the issuer keys, and a node whose store is new (a new node, or
     * one whose disk was lost) is filled again from the stream: adopting them is the point. */
    bool cluster_adopts = conf.cluster_nats[0] != '\0';
    if (identity_bind(store, keyring, keys_existed, adopt || cluster_adopts, wall_ms(),
                      conf.data_dir, key_dir, &recorded, &d) != 0) {
        log_warnx("%s: %s", d.field, d.message);
        goto out;
    }
    if (recorded)
        log_info("the store records its issuer keys (from %s): it will refuse any others", key_dir);
    /* After the issuer keys (a key directory from another store is named as such), before
     * anything reads records: an older file is sealed with this vault by records_upgrade. */
    if (identity_vault(store, key_dir, conf.seal_records != 0, wall_ms(), &vault, &d) != 0 ||
        records_upgrade(store, &d) != 0) {
        log_warnx("%s: %s", d.field, d.message);
        goto out;
    }
    if (store_format_opened(store) < STORE_FORMAT_SEALED && store_origin(store) == STORE_EXISTED) {
        /* the upgrade sealed every learner's fields; their clear copies sit in free pages */
        if (store_compact(&store, conf.data_dir, &d) != 0) {
            log_warnx("%s: %s", d.field, d.message);
            goto out;
        }
        log_info("data.mdb compacted: the clear values the upgrade sealed are gone from the file");
    }
    /* After the upgrade (its one big transaction writes straight to LMDB), before anything
     * else writes. 0 writes back what a crash left in the write-ahead records, then goes on
     * without deferring. */
    if (store_write_behind(store, conf.write_behind_bytes) != 0) {
        log_warnx("write-behind: cannot start");
        goto out;
    }
    badges_conf_t bconf = {conf.issuer_name,
                           conf.issuer_url,
                           conf.issuer_email,
                           conf.issuer_image,
                           conf.issuer_did_web,
                           conf.status_base_url,
                           conf.credential_suspension != 0,
                           (uint32_t)conf.status_list_size,
                           conf.credential_proofs,
                           conf.credential_jwt_alg};
    if (badges_new(&bconf, keyring, &badges, &d) != 0) {
        log_warnx("credentials: %s: %s", d.field, d.message);
        goto out;
    }
    log_info("issuer %s", badges_issuer_did(badges));
    if (open_store(store, badges, &d) != 0) {
        log_warnx("%s: %s", d.field, d.message);
        goto out;
    }
    if (handler_new(store, &conf, &stats, badges, &handler, &d) != 0) {
        log_warnx("%s: %s", d.field, d.message);
        goto out;
    }
    if (server_new(&conf, store, handler, &stats, &server, &d) != 0) {
        log_warnx("%s: %s", d.field, d.message);
        goto out;
    }
    if (conf.cluster_nats[0] != '\0') {
        if (clusterkey_open(key_dir, &ckey, &d) != 0 ||
            cluster_new(&conf, server_endpoint(server), &cluster, &d) != 0 ||
            server_set_cluster(server, cluster, ckey) != 0) {
            log_warnx("%s: %s", d.field, d.message);
            goto out;
        }
        log_info("cluster: node %llu of %llu, %llu partitions, stream %s",
                 (unsigned long long)conf.cluster_node, (unsigned long long)conf.cluster_nodes,
                 (unsigned long long)conf.cluster_partitions, conf.cluster_prefix);
    }
    if (!secure)
        log_warnx("DEVELOPMENT MODE: no authentication, loopback only. Set clients_file (see "
                  "README, Security) before exposing masteryd to a network.");
    snprintf(stats.events_endpoint, sizeof stats.events_endpoint, "%s",
             server_events_endpoint(server));
    log_info("requests on %s", server_endpoint(server));
    log_info("events on %s", server_events_endpoint(server));
    log_info("ready");
    char state[2 * ENDPOINT_STATE_MAX];
    snprintf(state, sizeof state, "READY=1\nSTATUS=requests on %s, events on %s\nMAINPID=%ld",
             server_endpoint(server), server_events_endpoint(server), (long)getpid());
    if (notify_send(state) < 0)
        log_warn("NOTIFY_SOCKET: cannot report readiness");
    rc = server_run(server, &stop_requested, &reload_requested) == 0 ? 0 : 1;
    log_info("shutting down");
    notify_send("STOPPING=1");
    cluster_destroy(&cluster); /* its leases go at once: another node takes over */
    server_destroy(&server);   /* no more requests: the write-behind can drain */
    store_wb_stats_t wb;
    store_wb_stats(store, &wb);
    if (wb.pending) {
        int64_t t0 = wall_ms();
        if (store_flush_all(store) != 0)
            log_warnx("write-behind: not all written back at shutdown; the next start replays "
                      "the write-ahead records");
        else
            log_info("write-behind: %llu changes written back in %.0f ms",
                     (unsigned long long)wb.nodes, (double)(wall_ms() - t0));
    }
out:
    OPENSSL_cleanse(stats.logref_key, sizeof stats.logref_key);
    cluster_destroy(&cluster);
    clusterkey_destroy(&ckey);
    server_destroy(&server);
    handler_destroy(&handler);
    badges_destroy(&badges);
    keyring_destroy(&keyring);
    store_close(&store);
    vault_destroy(&vault);
    return rc;
}
