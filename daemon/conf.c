#include "conf.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { CONF_STR, CONF_U64, CONF_I64 } conf_type_t;

typedef struct conf_entry {
    const char *name;
    conf_type_t type;
    size_t offset;
    const char *def;
    uint64_t min, max; /* numeric bounds (inclusive) */
    const char *doc;
} conf_entry_t;

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)

/* The single source of truth for settings: names, bounds, defaults, documentation. */
static const conf_entry_t conf_table[] = {
    {"data_dir", CONF_STR, offsetof(conf_t, data_dir), "./masteryd-data", 1, 0,
     "LMDB environment directory (created on first start)"},
    {"listen", CONF_STR, offsetof(conf_t, listen), "tcp://127.0.0.1:7411", 1, 0,
     "request endpoint (ZeroMQ ROUTER)"},
    {"events", CONF_STR, offsetof(conf_t, events), "tcp://127.0.0.1:7412", 1, 0,
     "event endpoint (ZeroMQ PUB)"},
    {"max_frame", CONF_U64, offsetof(conf_t, max_frame), "1048576", 1024, 64 * MIB,
     "largest request accepted, bytes"},
    {"max_batch_items", CONF_U64, offsetof(conf_t, max_batch_items), "1000", 1, 100000,
     "evidence items per request"},
    {"max_group", CONF_U64, offsetof(conf_t, max_group), "256", 1, 65536,
     "requests applied in one write transaction (group commit)"},
    {"page_size", CONF_U64, offsetof(conf_t, page_size), "1000", 1, 100000,
     "events or evidence items per reply page"},
    {"map_size", CONF_U64, offsetof(conf_t, map_size), "1073741824", MIB, 1024 * GIB,
     "initial LMDB map size, bytes"},
    {"map_size_max", CONF_U64, offsetof(conf_t, map_size_max), "68719476736", MIB, 1024 * GIB,
     "the map doubles on MDB_MAP_FULL up to this, bytes"},
    {"future_skew_ms", CONF_U64, offsetof(conf_t, future_skew_ms), "86400000", 0,
     366ull * 86400000ull, "how far observed_at may lie in the future, ms"},
    {"page_bytes", CONF_U64, offsetof(conf_t, page_bytes), "262144", 4096, 64 * MIB,
     "a reply page stops growing past this many bytes (the reply says where to continue)"},
    {"batch_reply_bytes", CONF_U64, offsetof(conf_t, batch_reply_bytes), "8388608", 64 * 1024, GIB,
     "a group commit stops taking requests once its replies reach this many bytes"},
    {"peer_out_bytes", CONF_U64, offsetof(conf_t, peer_out_bytes), "4194304", 64 * 1024, GIB,
     "reply bytes one connection may leave unread; past it its requests get UNAVAILABLE"},
    {"out_bytes", CONF_U64, offsetof(conf_t, out_bytes), "67108864", 1 * MIB, 64 * GIB,
     "reply and event bytes unread by all connections together; past it the connection "
     "with the most is dropped"},
    {"peer_in_bytes", CONF_U64, offsetof(conf_t, peer_in_bytes), "8388608", 64 * 1024, GIB,
     "bytes one tcp connection may have sent that are not yet taken as requests (queued or "
     "an unfinished multipart message); past it the connection is dropped"},
    {"in_bytes", CONF_U64, offsetof(conf_t, in_bytes), "67108864", 1 * MIB, 64 * GIB,
     "the same for all connections together; past it the connection with the most is dropped"},
    {"max_connections", CONF_U64, offsetof(conf_t, max_connections), "1024", 1, 1000000,
     "tcp connections open at once (requests and events); further ones are closed"},
    {"send_hwm", CONF_U64, offsetof(conf_t, send_hwm), "1000", 1, 10000000,
     "messages queued per connection (events per subscriber); bytes: peer_out_bytes"},
    {"recv_hwm", CONF_U64, offsetof(conf_t, recv_hwm), "10000", 1, 10000000,
     "ZeroMQ receive high water mark, messages"},
    {"clients_file", CONF_STR, offsetof(conf_t, clients_file), "", 0, 0,
     "clients file (key, name, role, frameworks); empty: development mode, loopback only"},
    {"curve_secret_key_file", CONF_STR, offsetof(conf_t, curve_secret_key_file), "", 0, 0,
     "CURVE secret key (mode 0600; created with FILE.pub on first start); empty: "
     "DATA_DIR/curve.key"},
    {"verbose", CONF_I64, offsetof(conf_t, verbose), "0", 0, 2, "0: info, 1: debug"},
    /* Credentials: who issues, where status lists are published. */
    {"issuer_name", CONF_STR, offsetof(conf_t, issuer_name), "masteryd development issuer", 1, 0,
     "issuer Profile name shown on every badge"},
    {"issuer_url", CONF_STR, offsetof(conf_t, issuer_url), "", 0, 0,
     "issuer Profile url (the school's site)"},
    {"issuer_email", CONF_STR, offsetof(conf_t, issuer_email), "", 0, 0, "issuer Profile email"},
    {"issuer_image", CONF_STR, offsetof(conf_t, issuer_image), "", 0, 0,
     "issuer Profile image URL"},
    {"issuer_did_web", CONF_STR, offsetof(conf_t, issuer_did_web), "", 0, 0,
     "domain for did:web (e.g. school.example); empty: did:key"},
    {"status_base_url", CONF_STR, offsetof(conf_t, status_base_url),
     "https://school.example/masteryd/status", 1, 0,
     "where the status lists are published (<url>/revocation, <url>/suspension)"},
    {"credential_suspension", CONF_U64, offsetof(conf_t, credential_suspension), "0", 0, 1,
     "1: badges also carry a suspension entry (valid VC 2.0; the OB 3.0 schema allows one)"},
    {"status_list_size", CONF_U64, offsetof(conf_t, status_list_size), "131072", 8, 67108864,
     "badges per status list before the next list starts (herd privacy: keep 131072 or more; "
     "a published list is never shorter than 131072 bits)"},
    {"credential_proofs", CONF_STR, offsetof(conf_t, credential_proofs), "rdfc", 3, 0,
     "Data Integrity proofs on badges and status lists: rdfc, jcs, or rdfc,jcs"},
    {"credential_jwt_alg", CONF_STR, offsetof(conf_t, credential_jwt_alg), "EdDSA", 5, 0,
     "VC-JWT signature: EdDSA, or RS256 (RSA key; needs issuer_did_web)"},
    {"review_sweep_ms", CONF_U64, offsetof(conf_t, review_sweep_ms), "250", 0, 3600000,
     "how often the review sweep publishes review_due events, ms (0: never)"},
    {"review_sweep_max", CONF_U64, offsetof(conf_t, review_sweep_max), "64", 1, 1000000,
     "due reviews one sweep handles at most (the rest wait for the next): bounds the pause"},
    {"events_keep_days", CONF_U64, offsetof(conf_t, events_keep_days), "0", 0, 36500,
     "events older than this many days leave the log (0: kept forever)"},
    {"events_keep_count", CONF_U64, offsetof(conf_t, events_keep_count), "0", 0, 1000000000000ull,
     "only the newest this many events are kept (0: no bound)"},
    {"key_dir", CONF_STR, offsetof(conf_t, key_dir), "", 0, 0,
     "issuer key directory (mode 0700); empty: <data_dir>/keys"},
    {"log_origin", CONF_STR, offsetof(conf_t, log_origin), "", 0, 0,
     "the transparency log's origin (first line of its checkpoints; e.g. example.edu/masteryd);"
     " empty: the stored one, or on a new log <did:web host>/masteryd or masteryd/<key id>"},
    {"transparency_log", CONF_U64, offsetof(conf_t, transparency_log), "1", 0, 1,
     "1: every event is a leaf of the transparency log; 0 is for benchmarks only (events "
     "committed meanwhile are missing from the log for good)"},
    {"seal_records", CONF_U64, offsetof(conf_t, seal_records), "1", 0, 1,
     "1: learners' ids and free text are stored sealed under per-learner keys (store.key in "
     "key_dir); 0 is for benchmarks only (new fields stored in clear)"},
    {"retention_days", CONF_U64, offsetof(conf_t, retention_days), "0", 0, 36500,
     "evidence observed more than this many days ago loses its evidence id, narrative and url "
     "(scores stay; a legal hold keeps a learner's); 0: kept forever"},
    {"retention_sweep_seconds", CONF_U64, offsetof(conf_t, retention_sweep_seconds), "3600", 0,
     86400, "how often the retention sweep runs (0: never)"},
    {"retention_sweep_learners", CONF_U64, offsetof(conf_t, retention_sweep_learners), "1000", 1,
     1000000, "learners one retention sweep looks at"},
    {"write_behind_bytes", CONF_U64, offsetof(conf_t, write_behind_bytes), "67108864", 0,
     1ull << 40,
     "learner records changed but not yet written to their databases are held in memory up to "
     "this many bytes (committed as write-ahead records meanwhile); 0: written at every commit"},
    {"write_behind_step_bytes", CONF_U64, offsetof(conf_t, write_behind_step_bytes), "262144", 4096,
     1ull << 32,
     "bytes one write-behind step writes (one synced transaction between group commits): bounds "
     "the pause it adds to acknowledgements"},
    {"write_behind_seconds", CONF_U64, offsetof(conf_t, write_behind_seconds), "10", 1, 86400,
     "a sweep starts once the oldest write-ahead record is this old (bounds replay after a "
     "crash), when the buffer is half full, or after write_behind_idle_ms without requests"},
    {"write_behind_idle_ms", CONF_U64, offsetof(conf_t, write_behind_idle_ms), "100", 0, 3600000,
     "a sweep starts after this long without requests (0: not on idleness)"},
    {"cluster_nats", CONF_STR, offsetof(conf_t, cluster_nats), "", 0, 0,
     "cluster mode: NATS server URLs, comma-separated (e.g. nats://10.0.0.1:4222,nats://"
     "10.0.0.2:4222); empty: a single node"},
    {"cluster_prefix", CONF_STR, offsetof(conf_t, cluster_prefix), "masteryd", 0, 0,
     "cluster mode: the JetStream stream's name, its subjects' first token and the lease "
     "bucket's prefix (letters, digits, '-' and '_')"},
    {"cluster_node", CONF_U64, offsetof(conf_t, cluster_node), "0", 0, 63,
     "cluster mode: this node's index, 0..cluster_nodes-1; partition p prefers node "
     "p % cluster_nodes"},
    {"cluster_nodes", CONF_U64, offsetof(conf_t, cluster_nodes), "1", 1, 64,
     "cluster mode: how many masteryd nodes share the partitions"},
    {"cluster_partitions", CONF_U64, offsetof(conf_t, cluster_partitions), "12", 1, 1024,
     "cluster mode: learner partitions; every node must say the same (fixed when the stream is "
     "made)"},
    {"cluster_replicas", CONF_U64, offsetof(conf_t, cluster_replicas), "3", 1, 5,
     "cluster mode: copies JetStream keeps of the stream and the lease bucket"},
    {"cluster_lease_ms", CONF_U64, offsetof(conf_t, cluster_lease_ms), "3000", 500, 600000,
     "cluster mode: a partition's lease lapses this long after its holder's last renewal (the "
     "failover time); renewed every third of it"},
    {"cluster_dedup_seconds", CONF_U64, offsetof(conf_t, cluster_dedup_seconds), "600", 1, 86400,
     "cluster mode: JetStream's de-duplication window for a tool's resent items (later "
     "resends are found by the owning shard's evidence-id index)"},
    {"cluster_connect_ms", CONF_U64, offsetof(conf_t, cluster_connect_ms), "10000", 100, 600000,
     "cluster mode: how long a start waits for a NATS server"},
    {"cluster_queue_bytes", CONF_U64, offsetof(conf_t, cluster_queue_bytes), "16777216", 65536,
     1ull << 34, "cluster mode: fetched messages waiting to be applied, bytes"},
    {"cluster_fetch", CONF_U64, offsetof(conf_t, cluster_fetch), "256", 1, 4096,
     "cluster mode: messages one consumer fetch asks for"},
    {"cluster_publish_ms", CONF_U64, offsetof(conf_t, cluster_publish_ms), "5000", 100, 600000,
     "cluster mode: how long intake waits for JetStream to acknowledge a request's items "
     "(then they are answered UNAVAILABLE and the tool retries)"},
    {"risk_stuck_items", CONF_U64, offsetof(conf_t, risk_stuck_items), "5", 1, 1000000,
     "a learner is at risk with this many evidence items on an unlocked, unmastered competency"},
    {"risk_idle_days", CONF_U64, offsetof(conf_t, risk_idle_days), "14", 0, 3650,
     "a learner is at risk after this many days without evidence in a framework (0: rule off)"},
    {"risk_sweep_seconds", CONF_U64, offsetof(conf_t, risk_sweep_seconds), "60", 0, 86400,
     "how often the idle rule is checked, a bounded part of the learners at a time (0: never)"},
    {"risk_sweep_learners", CONF_U64, offsetof(conf_t, risk_sweep_learners), "1000", 1, 1000000,
     "learners one idle sweep looks at (it resumes where the last one stopped)"},
};

#define CONF_COUNT (sizeof conf_table / sizeof conf_table[0])

static const conf_entry_t *conf_find(const char *name)
{
    for (size_t i = 0; i < CONF_COUNT; i++)
        if (strcmp(conf_table[i].name, name) == 0)
            return &conf_table[i];
    return NULL;
}

static int conf_apply(conf_t *c, const conf_entry_t *e, const char *value, const char *where,
                      err_detail_t *d)
{
    char *base = (char *)c + e->offset;
    if (e->type == CONF_STR) { /* min: the shortest allowed length (0: may be empty) */
        size_t n = strlen(value);
        if (n < e->min || n >= CONF_STR_MAX)
            return err_set(d, ERR_INVALID, where, "%s: must be %llu to %d bytes", e->name,
                           (unsigned long long)e->min, CONF_STR_MAX - 1);
        /* What -n prints must read back: there a value follows "= ", and a '#' after a blank
         * starts a comment (the same holds for a value set by a flag). */
        for (size_t i = 0; i < n; i++)
            if (value[i] == '#' && (i == 0 || value[i - 1] == ' ' || value[i - 1] == '\t'))
                return err_set(d, ERR_INVALID, where,
                               "%s: a '#' may not begin the value or follow a blank (it would "
                               "start a comment)",
                               e->name);
        memcpy(base, value, n + 1);
        return 0;
    }
    char *end = NULL;
    errno = 0;
    if (value[0] == '-' && e->type == CONF_U64)
        return err_set(d, ERR_INVALID, where, "%s: '%s' is not a non-negative integer", e->name,
                       value);
    unsigned long long v = strtoull(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0')
        return err_set(d, ERR_INVALID, where, "%s: '%s' is not an integer", e->name, value);
    if (v < e->min || v > e->max)
        return err_set(d, ERR_INVALID, where, "%s: %llu is outside %" PRIu64 "..%" PRIu64, e->name,
                       v, e->min, e->max);
    if (e->type == CONF_U64)
        *(uint64_t *)(void *)base = v;
    else
        *(int64_t *)(void *)base = (int64_t)v;
    return 0;
}

void conf_defaults(conf_t *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < CONF_COUNT; i++) {
        int rc = conf_apply(c, &conf_table[i], conf_table[i].def, "default", NULL);
        (void)rc; /* the table's defaults are within their own bounds (tested) */
    }
}

int conf_set(conf_t *c, const char *name, const char *value, err_detail_t *d)
{
    const conf_entry_t *e = conf_find(name);
    if (e == NULL)
        return err_set(d, ERR_INVALID, name, "unknown setting '%s'", name);
    return conf_apply(c, e, value, name, d);
}

/* The development placeholders: what a school must replace before its badges are real. */
#define CONF_PLACEHOLDER_NAME   "masteryd development issuer"
#define CONF_PLACEHOLDER_DOMAIN "://school.example"

int conf_check_issuer(const conf_t *c, err_detail_t *d)
{
    if (c->clients_file[0] == '\0')
        return 0; /* development mode: its badges are for trying things out */
    char unset[256] = "";
    const char *first = NULL;
    struct {
        const char *name;
        bool placeholder;
    } checks[] = {
        {"issuer_name", strcmp(c->issuer_name, CONF_PLACEHOLDER_NAME) == 0},
        {"issuer_url",
         c->issuer_url[0] == '\0' || strstr(c->issuer_url, CONF_PLACEHOLDER_DOMAIN) != NULL},
        {"status_base_url", strstr(c->status_base_url, CONF_PLACEHOLDER_DOMAIN) != NULL},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!checks[i].placeholder)
            continue;
        if (first == NULL)
            first = checks[i].name;
        size_t n = strlen(unset);
        snprintf(unset + n, sizeof unset - n, "%s%s", n ? ", " : "", checks[i].name);
    }
    if (first == NULL)
        return 0;
    return err_set(d, ERR_INVALID, first,
                   "secure mode issues real badges, but %s %s still the development "
                   "placeholder%s: set the school's name, its web site (issuer_url) and where it "
                   "publishes status lists (status_base_url) in the config file (README: "
                   "Setting up a school)",
                   unset, strchr(unset, ',') ? "are" : "is", strchr(unset, ',') ? "s" : "");
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int conf_load_file(conf_t *c, const char *path, err_detail_t *d)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return err_set(d, ERR_NOT_FOUND, path, "cannot open %s: %s", path, strerror(errno));
    char line[2 * CONF_STR_MAX];
    char where[256];
    int rc = 0;
    for (unsigned lineno = 1; fgets(line, sizeof line, f) != NULL; lineno++) {
        snprintf(where, sizeof where, "%s:%u", path, lineno);
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = err_set(d, ERR_INVALID, where, "line too long");
            break;
        }
        /* A comment starts at a '#' that begins the line or follows a blank, so a value may
         * hold one (a URL's fragment): what -n prints reads back the same. */
        for (char *p = line; *p; p++)
            if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
                *p = '\0';
                break;
            }
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            rc = err_set(d, ERR_INVALID, where, "expected 'name = value'");
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        const conf_entry_t *e = conf_find(name);
        if (e == NULL) {
            rc = err_set(d, ERR_INVALID, where, "unknown setting '%s'", name);
            break;
        }
        if ((rc = conf_apply(c, e, value, where, d)) != 0)
            break;
    }
    fclose(f);
    return rc;
}

void conf_dump(const conf_t *c, FILE *out)
{
    fprintf(out, "# masteryd effective configuration (masteryd -n): a config file for -c\n");
    for (size_t i = 0; i < CONF_COUNT; i++) {
        const conf_entry_t *e = &conf_table[i];
        const char *base = (const char *)c + e->offset;
        if (e->type == CONF_STR)
            fprintf(out, "%-16s = %-28s # %s\n", e->name, base, e->doc);
        else if (e->type == CONF_U64)
            fprintf(out, "%-16s = %-28" PRIu64 " # %s\n", e->name,
                    *(const uint64_t *)(const void *)base, e->doc);
        else
            fprintf(out, "%-16s = %-28" PRId64 " # %s\n", e->name,
                    *(const int64_t *)(const void *)base, e->doc);
    }
}
