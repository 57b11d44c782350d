/*
 * conf: the daemon's settings, as one table (name, type, bounds, default, documentation).
 *
 * Sources, later wins: embedded defaults, the config file (-c), command-line flags. The file is
 * lines of `name = value`; `#` at the start of a line or after a blank starts a comment (so a
 * value may contain `#`, but not ` #`, nor begin or end with a blank); unknown names, malformed
 * values and values out of bounds are errors naming the line. conf_dump() prints the effective
 * settings (-n) in that syntax: saved, they read back to the same settings.
 */
#ifndef MASTERY_CONF_H
#define MASTERY_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define CONF_STR_MAX 1024

typedef struct conf {
    char data_dir[CONF_STR_MAX]; /* LMDB environment directory; created on first start */
    char listen[CONF_STR_MAX];   /* request endpoint (ROUTER) */
    char events[CONF_STR_MAX];   /* event endpoint (PUB) */
    uint64_t max_frame;          /* bytes; larger requests are refused */
    uint64_t max_batch_items;    /* evidence items per SubmitEvidence */
    uint64_t max_group;          /* requests applied in one write transaction */
    uint64_t page_size;          /* events / evidence returned per page */
    uint64_t map_size;           /* initial LMDB map size, bytes */
    uint64_t map_size_max;       /* the map grows on MDB_MAP_FULL up to this */
    uint64_t future_skew_ms;     /* how far in the future observed_at may lie */
    uint64_t page_bytes;         /* a reply page stops growing past this many bytes */
    uint64_t batch_reply_bytes;  /* a group commit's replies, bytes */
    uint64_t peer_out_bytes;     /* unread reply bytes per connection: then UNAVAILABLE */
    uint64_t out_bytes;          /* unread reply/event bytes in all: then drop the largest */
    uint64_t peer_in_bytes;      /* received, not yet taken, per tcp connection: then drop */
    uint64_t in_bytes;           /* the same for all connections: then drop the largest */
    uint64_t max_connections;    /* tcp connections open at once */
    uint64_t send_hwm;           /* ZeroMQ high water marks (messages) */
    uint64_t recv_hwm;
    char clients_file[CONF_STR_MAX];          /* "": development mode (no CURVE, loopback only) */
    char curve_secret_key_file[CONF_STR_MAX]; /* "": DATA_DIR/curve.key */
    int64_t verbose;                          /* 0: info, 1: debug */
    char issuer_name[CONF_STR_MAX];
    char issuer_url[CONF_STR_MAX];
    char issuer_email[CONF_STR_MAX];
    char issuer_image[CONF_STR_MAX];
    char issuer_did_web[CONF_STR_MAX]; /* "" : did:key */
    char status_base_url[CONF_STR_MAX];
    uint64_t credential_suspension;
    uint64_t status_list_size;
    char key_dir[CONF_STR_MAX];            /* "" : <data_dir>/keys */
    char credential_proofs[CONF_STR_MAX];  /* rdfc | jcs | rdfc,jcs */
    char credential_jwt_alg[CONF_STR_MAX]; /* EdDSA | RS256 */
    uint64_t events_keep_days;             /* 0: events are kept forever */
    uint64_t events_keep_count;            /* 0: no bound by count */
    char log_origin[CONF_STR_MAX];         /* "": derived at first start, then kept */
    uint64_t transparency_log;             /* 1; 0 only for benchmarks (log off) */
    uint64_t risk_stuck_items;         /* at risk: this many items on an unlocked, unmastered one */
    uint64_t risk_idle_days;           /* at risk: no evidence for this many days (0: rule off) */
    uint64_t risk_sweep_seconds;       /* how often the idle rule is swept (0: never) */
    uint64_t risk_sweep_learners;      /* learners one sweep looks at */
    uint64_t review_sweep_ms;          /* 0: no review sweep */
    uint64_t review_sweep_max;         /* due reviews per sweep */
    uint64_t seal_records;             /* 1; 0 only for benchmarks (fields in clear) */
    uint64_t retention_days;           /* evidence payloads shredded after; 0: never */
    uint64_t retention_sweep_seconds;  /* 0: no retention sweep */
    uint64_t retention_sweep_learners; /* learners one sweep looks at */
    uint64_t write_behind_bytes;       /* overlay budget (store.h); 0: no write-behind */
    uint64_t write_behind_step_bytes;  /* bytes per sweep step */
    uint64_t write_behind_seconds;     /* oldest write-ahead record's age that starts a sweep */
    uint64_t write_behind_idle_ms;     /* idleness that starts a sweep (0: never) */
    /* cluster mode (cluster.h); cluster_nats "" is a single node */
    char cluster_nats[CONF_STR_MAX];   /* NATS URLs, comma-separated */
    char cluster_prefix[CONF_STR_MAX]; /* stream, subject and bucket names */
    uint64_t cluster_node;             /* this node's index, 0..cluster_nodes-1 */
    uint64_t cluster_nodes;            /* nodes in the cluster */
    uint64_t cluster_partitions;       /* learner partitions (fixed when the stream is made) */
    uint64_t cluster_replicas;         /* JetStream copies of the stream and the leases */
    uint64_t cluster_lease_ms;         /* a partition lease's life without renewal */
    uint64_t cluster_dedup_seconds;    /* JetStream's de-duplication window */
    uint64_t cluster_connect_ms;       /* how long a start waits for NATS */
    uint64_t cluster_queue_bytes;      /* fetched, not yet applied payload bytes */
    uint64_t cluster_fetch;            /* messages per consumer fetch */
    uint64_t cluster_publish_ms;       /* how long intake waits for JetStream's acks */
} conf_t;

/* Fills *c with the embedded defaults. */
void conf_defaults(conf_t *c);

/*
 * Reads a config file over *c. Returns 0, ERR_NOT_FOUND (cannot open; message has errno text)
 * or ERR_INVALID (detail->field "FILE:LINE", message names the setting).
 */
int conf_load_file(conf_t *c, const char *path, err_detail_t *detail);

/* Sets one setting by name from text (as in the file). Returns 0 or ERR_INVALID. */
int conf_set(conf_t *c, const char *name, const char *value, err_detail_t *detail);

/*
 * Secure mode (clients_file set) issues real badges: refuses issuer_name, issuer_url and
 * status_base_url while they are the development placeholders (the default name, an empty
 * URL, or the school.example domain). Returns 0 or ERR_INVALID, detail->field the first such
 * setting and the message naming them all. Development mode passes.
 */
int conf_check_issuer(const conf_t *c, err_detail_t *detail);

/* Writes every setting as `name = value  # doc` to out: a config file conf_load_file() reads
 * back to the same settings (a value with " #" or blanks at either end excepted). */
void conf_dump(const conf_t *c, FILE *out);

#endif
