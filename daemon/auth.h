/*
 * auth: who may talk to masteryd. The clients file (who is listed, with which role and scope),
 * and the ZAP handler that libzmq asks during every
 * CURVE handshake.
 *
 * The clients file is text, one client a line, fields separated by blanks; `#` starts a
 * comment:
 *
 *     # public key (Z85, 40 characters)        name      role     frameworks
 *     rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7   quizapp   tool     fractions,geometry
 *     Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID   ms-lee    teacher
 *
 * Roles: `tool` (submits evidence, only for the frameworks listed: comma-separated framework
 * ids, or `*` for every framework), `teacher` (overrides), `admin` (frameworks, keys,
 * revocation), `auditor` (read-only: learner data, verification, event replay). Only tools
 * carry frameworks. A teacher may carry `class=GROUP1,GROUP2` (group ids from a roster): it
 * then reads and acts on the learners of those groups only (handler.c: may_read_learner).
 *
 *     Zr8..(40 characters)..                   mr-ode    teacher  class=math-7a,math-7b Names
 * are 1..64 characters of [A-Za-z0-9._@-]; a public key appears once.
 *
 * The ZAP handler answers on inproc://zeromq.zap.01 in the server's zmq context. It runs in the
 * server's loop (no thread): the server polls auth_zap_socket() and calls auth_zap_handle().
 * The User-Id it gives an accepted peer is the peer's public key in Z85, so every message can be
 * mapped to the client list as it is *now* (auth_lookup_user_id): after a reload, a removed key
 * is refused from its next message on, and a changed role applies at once.
 *
 * The CURVE secret key is the one private key outside `keys`: libzmq needs its raw bytes.
 * auth reads it, hands it to the socket and wipes its copies with OPENSSL_cleanse; it is never
 * logged, never stored anywhere but its own file (mode 0600).
 */
#ifndef MASTERY_AUTH_H
#define MASTERY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "curvekey.h"
#include "err.h"

#define AUTH_KEY_LEN       CURVEKEY_LEN     /* a CURVE key, binary */
#define AUTH_Z85_LEN       CURVEKEY_Z85_LEN /* a CURVE key in Z85 text (without the NUL) */
#define AUTH_NAME_MAX      64               /* client names */
#define AUTH_FRAMEWORK_MAX 256              /* framework ids in a tool's scope */
#define AUTH_SCOPE_MAX     256              /* frameworks per tool, classes per teacher */
#define AUTH_CLIENTS_MAX   10000            /* lines with a client */
#define AUTH_FILE_MAX      (1u << 20)
#define AUTH_ZAP_DOMAIN    "masteryd"

/* Roles are bits, so an operation can name every role allowed to call it. */
typedef enum auth_role {
    AUTH_ROLE_TOOL = 1,
    AUTH_ROLE_TEACHER = 2,
    AUTH_ROLE_ADMIN = 4,
    AUTH_ROLE_AUDITOR = 8,
} auth_role_t;

#define AUTH_ROLES_ALL (AUTH_ROLE_TOOL | AUTH_ROLE_TEACHER | AUTH_ROLE_ADMIN | AUTH_ROLE_AUDITOR)

/* One listed client. Borrowed from its auth_clients_t (see there for how long). */
typedef struct auth_client {
    uint8_t key[AUTH_KEY_LEN];
    char key_z85[AUTH_Z85_LEN + 1];
    char name[AUTH_NAME_MAX + 1];
    auth_role_t role;
    bool all_frameworks;     /* tools with `*` */
    const char **frameworks; /* tools: the framework ids they may submit evidence for */
    size_t n_frameworks;
    const char **groups; /* class-scoped teachers (`class=A,B`): the groups whose learners
                            they may read; NULL/0: every learner */
    size_t n_groups;
    unsigned line; /* where it was listed (for messages) */
} auth_client_t;

typedef struct auth_clients auth_clients_t;

/*
 * Parses a clients file held in memory. Pure: no I/O.
 * @param[in]  text   the file's bytes (need not be NUL-terminated); at most AUTH_FILE_MAX.
 * @param[in]  origin the name used in messages (a path); borrowed for the call.
 * @param[out] out    the list. Caller owns the result; free with auth_clients_destroy().
 * @return 0; ERR_INVALID (detail->field "ORIGIN:LINE", the message names what is wrong:
 *         a bad key, name, role or framework, a duplicate key, a tool without frameworks, too
 *         many clients); ERR_NOMEM. On error *out is NULL.
 */
int auth_clients_parse(const char *text, size_t len, const char *origin, auth_clients_t **out,
                       err_detail_t *detail);

/*
 * Reads and parses a clients file. It must be a regular file of at most AUTH_FILE_MAX bytes
 * that neither group nor others may write (whoever can write it can let anyone in).
 * @return 0; ERR_NOT_FOUND (cannot open; errno text); ERR_FORBIDDEN (writable by others, or not
 *         a regular file); ERR_INVALID (as auth_clients_parse); ERR_NOMEM.
 */
int auth_clients_load(const char *path, auth_clients_t **out, err_detail_t *detail);

/* Frees the list and sets *c NULL; every auth_client_t borrowed from it becomes invalid. */
void auth_clients_destroy(auth_clients_t **c);

/* Number of clients, and the client at 0..count-1 (borrowed, valid until destroy). */
size_t auth_clients_count(const auth_clients_t *c);
const auth_client_t *auth_clients_at(const auth_clients_t *c, size_t i);

/* The client with this public key, or NULL. Keys are compared with CRYPTO_memcmp. */
const auth_client_t *auth_clients_find(const auth_clients_t *c, const uint8_t key[AUTH_KEY_LEN]);

/* Whether c is a teacher limited to the learners of its classes (`class=...`). */
bool auth_client_class_scoped(const auth_client_t *c);

/* Whether client c may submit evidence that counts for framework_id (tools in scope only). */
bool auth_client_in_scope(const auth_client_t *c, const char *framework_id);

/* "tool", "teacher", "admin", "auditor"; "?" for anything else. Static. */
const char *auth_role_name(auth_role_t role);

/* Names of every role in the mask, comma-separated, into buf (always NUL-terminated). */
void auth_roles_format(unsigned roles, char *buf, size_t size);

/* ---- the ZAP handler ------------------------------------------------------------------- */

typedef struct auth auth_t;

/* Counters of ZAP decisions since start. */
typedef struct auth_stats {
    uint64_t accepted;
    uint64_t refused;
} auth_stats_t;

/*
 * Loads the clients file and binds the ZAP handler in zmq_ctx (a void *zmq context, borrowed;
 * it must outlive the auth_t). Must run before any socket of that context binds.
 * Caller owns *out; free with auth_destroy() before terminating the context.
 * @return 0; the errors of auth_clients_load; ERR_INTERNAL (the ZAP endpoint cannot be bound).
 */
int auth_new(void *zmq_ctx, const char *clients_file, auth_t **out, err_detail_t *detail);
void auth_destroy(auth_t **a);

/* The ZAP socket to poll for input. Borrowed; valid until auth_destroy(). */
void *auth_zap_socket(const auth_t *a);

/*
 * Answers one waiting ZAP request without blocking. Accepts a CURVE peer whose key is listed
 * (User-Id: its Z85 key) in domain AUTH_ZAP_DOMAIN; refuses everything else (status 400).
 * @param[out] note a sentence for the log on what was decided (no key material beyond the
 *             public key); may be NULL.
 * @return 1 when a request was answered (*accepted says how), 0 when none was waiting.
 */
int auth_zap_handle(auth_t *a, bool *accepted, char *note, size_t note_size);

/*
 * Re-reads the clients file. On error the old list stays in force and the detail says why.
 * Every auth_client_t pointer obtained before is invalid after a successful reload.
 * @return 0 or the errors of auth_clients_load.
 */
int auth_reload(auth_t *a, err_detail_t *detail);

/* The listed client a message's User-Id (a Z85 public key) names now, or NULL. Borrowed;
 * valid until the next auth_reload(). */
const auth_client_t *auth_lookup_user_id(const auth_t *a, const char *user_id);

/* The current list (borrowed; valid until the next auth_reload) and the ZAP counters. */
const auth_clients_t *auth_clients(const auth_t *a);
auth_stats_t auth_stats(const auth_t *a);

#endif
