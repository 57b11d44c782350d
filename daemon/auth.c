#include "auth.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

struct auth_clients {
    auth_client_t *v; /* sorted by key, so lookups are a binary search */
    size_t n;
};

struct auth {
    void *zap;
    char *path;
    auth_clients_t *clients;
    auth_stats_t stats;
};

/* ---- the clients file ---------------------------------------------------------------------- */

const char *auth_role_name(auth_role_t role)
{
    switch (role) {
    case AUTH_ROLE_TOOL:
        return "tool";
    case AUTH_ROLE_TEACHER:
        return "teacher";
    case AUTH_ROLE_ADMIN:
        return "admin";
    case AUTH_ROLE_AUDITOR:
        return "auditor";
    }
    return "?";
}

void auth_roles_format(unsigned roles, char *buf, size_t size)
{
    static const auth_role_t all[] = {AUTH_ROLE_TOOL, AUTH_ROLE_TEACHER, AUTH_ROLE_ADMIN,
                                      AUTH_ROLE_AUDITOR};
    size_t used = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!(roles & (unsigned)all[i]))
            continue;
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", auth_role_name(all[i]));
        if (n < 0 || (size_t)n >= size - used) {
            buf[used] = '\0'; /* whole names only */
            return;
        }
        used += (size_t)n;
    }
}

static void client_free(auth_client_t *c)
{
    free(c->frameworks);
    c->frameworks = NULL;
    free(c->groups);
    c->groups = NULL;
}

void auth_clients_destroy(auth_clients_t **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    auth_clients_t *c = *cp;
    for (size_t i = 0; i < c->n; i++)
        client_free(&c->v[i]);
    free(c->v);
    free(c);
    *cp = NULL;
}

size_t auth_clients_count(const auth_clients_t *c)
{
    return c ? c->n : 0;
}

const auth_client_t *auth_clients_at(const auth_clients_t *c, size_t i)
{
    return c && i < c->n ? &c->v[i] : NULL;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(((const auth_client_t *)a)->key, ((const auth_client_t *)b)->key, AUTH_KEY_LEN);
}

/*
 * Public keys are not secrets, so the lookup is an ordinary binary search. (masteryd compares
 * no secret anywhere: CURVE and its key agreement happen inside libzmq/libsodium.)
 */
const auth_client_t *auth_clients_find(const auth_clients_t *c, const uint8_t key[AUTH_KEY_LEN])
{
    if (c == NULL || c->n == 0)
        return NULL;
    auth_client_t probe;
    memcpy(probe.key, key, AUTH_KEY_LEN);
    return bsearch(&probe, c->v, c->n, sizeof *c->v, key_cmp);
}

bool auth_client_class_scoped(const auth_client_t *c)
{
    return c != NULL && c->role == AUTH_ROLE_TEACHER && c->n_groups > 0;
}

bool auth_client_in_scope(const auth_client_t *c, const char *framework_id)
{
    if (c->role != AUTH_ROLE_TOOL)
        return false;
    if (c->all_frameworks)
        return true;
    for (size_t i = 0; i < c->n_frameworks; i++)
        if (strcmp(c->frameworks[i], framework_id) == 0)
            return true;
    return false;
}

/* A line cut into blank-separated fields (pointers into the text, not NUL-terminated). */
typedef struct field {
    const char *p;
    size_t len;
} field_t;

#define LINE_FIELDS 5 /* key name role frameworks, and one more to detect extras */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Splits [s, end) into fields; a field that is exactly "#" starts a comment. */
static size_t split_fields(const char *s, const char *end, field_t *f)
{
    size_t n = 0;
    while (s < end && n < LINE_FIELDS) {
        while (s < end && is_blank(*s))
            s++;
        if (s == end)
            break;
        const char *start = s;
        while (s < end && !is_blank(*s))
            s++;
        if (s - start == 1 && *start == '#')
            break;
        f[n].p = start;
        f[n].len = (size_t)(s - start);
        n++;
    }
    return n;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '@' || c == '-';
}

static int parse_role(const field_t *f, auth_role_t *role)
{
    static const auth_role_t all[] = {AUTH_ROLE_TOOL, AUTH_ROLE_TEACHER, AUTH_ROLE_ADMIN,
                                      AUTH_ROLE_AUDITOR};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *name = auth_role_name(all[i]);
        if (strlen(name) == f->len && memcmp(name, f->p, f->len) == 0) {
            *role = all[i];
            return 0;
        }
    }
    return ERR_INVALID;
}

/* Parses "a,b,c" (or "*" when star is given) into *list (one allocation: pointers, then the
 * strings); what names the field in messages ("frameworks", "class"). */
static int parse_list(const field_t *f, const char *what, bool *star, const char ***list,
                      size_t *count, const char *where, err_detail_t *d)
{
    if (star && f->len == 1 && f->p[0] == '*') {
        *star = true;
        return 0;
    }
    size_t n = 1;
    for (size_t i = 0; i < f->len; i++) {
        unsigned char ch = (unsigned char)f->p[i];
        if (ch == ',')
            n++;
        else if (ch < 0x21 || ch == 0x7f || ch == '*')
            return err_set(d, ERR_INVALID, where,
                           "%s: byte %zu is not allowed in an id (a list is comma-separated ids "
                           "without blanks%s)",
                           what, i + 1, star ? ", or * alone" : "");
    }
    if (n > AUTH_SCOPE_MAX)
        return err_set(d, ERR_INVALID, where, "%s: %zu ids; at most %d", what, n, AUTH_SCOPE_MAX);
    char **v = malloc(n * sizeof *v + f->len + 1);
    if (v == NULL)
        return err_set(d, ERR_NOMEM, where, "out of memory");
    char *text = (char *)(v + n);
    memcpy(text, f->p, f->len);
    text[f->len] = '\0';
    size_t k = 0;
    char *start = text;
    for (char *p = text;; p++) {
        if (*p != ',' && *p != '\0')
            continue;
        size_t len = (size_t)(p - start);
        bool last = *p == '\0';
        *p = '\0';
        if (len == 0 || len > AUTH_FRAMEWORK_MAX) {
            free(v);
            return err_set(d, ERR_INVALID, where, "%s: id %zu is %s; ids are 1 to %d bytes", what,
                           k + 1, len == 0 ? "empty" : "too long", AUTH_FRAMEWORK_MAX);
        }
        v[k++] = start;
        start = p + 1;
        if (last)
            break;
    }
    *list = (const char **)v;
    *count = k;
    return 0;
}

static int parse_line(const field_t *f, size_t nf, unsigned lineno, auth_client_t *c,
                      const char *where, err_detail_t *d)
{
    memset(c, 0, sizeof *c);
    c->line = lineno;
    if (f[0].len != AUTH_Z85_LEN || curvekey_z85_decode(f[0].p, f[0].len, c->key) != 0)
        return err_set(d, ERR_INVALID, where,
                       "public key: expected %d Z85 characters, got %zu%s (to comment a line "
                       "out, start it with '# ')",
                       AUTH_Z85_LEN, f[0].len,
                       f[0].len == AUTH_Z85_LEN ? " that are not a Z85 key" : "");
    curvekey_z85_encode(c->key, c->key_z85);
    if (nf < 3)
        return err_set(d, ERR_INVALID, where, "expected: PUBLIC_KEY NAME ROLE [FRAMEWORKS]");
    if (f[1].len == 0 || f[1].len > AUTH_NAME_MAX)
        return err_set(d, ERR_INVALID, where, "name: 1 to %d characters", AUTH_NAME_MAX);
    for (size_t i = 0; i < f[1].len; i++)
        if (!name_char(f[1].p[i]))
            return err_set(d, ERR_INVALID, where,
                           "name: character %zu is not one of A-Z a-z 0-9 . _ @ -", i + 1);
    memcpy(c->name, f[1].p, f[1].len);
    c->name[f[1].len] = '\0';
    if (parse_role(&f[2], &c->role) != 0)
        return err_set(d, ERR_INVALID, where,
                       "role: '%.*s' is not one of tool, teacher, admin, auditor",
                       (int)(f[2].len > 32 ? 32 : f[2].len), f[2].p);
    if (nf > 4)
        return err_set(d, ERR_INVALID, where, "unexpected text after the frameworks");
    static const char CLASS_PREFIX[] = "class=";
    const size_t cp = sizeof CLASS_PREFIX - 1;
    if (c->role == AUTH_ROLE_TEACHER && nf == 4 && f[3].len >= cp &&
        memcmp(f[3].p, CLASS_PREFIX, cp) == 0) {
        field_t classes = {f[3].p + cp, f[3].len - cp};
        if (classes.len == 0)
            return err_set(d, ERR_INVALID, where, "class: give the class ids after class=");
        return parse_list(&classes, "class", NULL, &c->groups, &c->n_groups, where, d);
    }
    if (c->role != AUTH_ROLE_TOOL) {
        if (nf > 3)
            return err_set(d, ERR_INVALID, where,
                           "frameworks: only tools have frameworks (this client is %s%s)",
                           auth_role_name(c->role),
                           c->role == AUTH_ROLE_TEACHER ? "; a teacher may have class=IDS" : "");
        return 0;
    }
    if (nf < 4)
        return err_set(d, ERR_INVALID, where,
                       "frameworks: a tool needs the frameworks it may submit evidence for "
                       "(comma-separated ids, or * for all)");
    return parse_list(&f[3], "frameworks", &c->all_frameworks, &c->frameworks, &c->n_frameworks,
                      where, d);
}

int auth_clients_parse(const char *text, size_t len, const char *origin, auth_clients_t **out,
                       err_detail_t *d)
{
    *out = NULL;
    char where[160];
    snprintf(where, sizeof where, "%s", origin);
    if (len > AUTH_FILE_MAX)
        return err_set(d, ERR_INVALID, where, "%zu bytes; a clients file holds at most %u", len,
                       AUTH_FILE_MAX);
    auth_clients_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return err_set(d, ERR_NOMEM, where, "out of memory");
    size_t cap = 0;
    int rc = 0;
    const char *p = text, *end = text + len;
    for (unsigned lineno = 1; p < end; lineno++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        snprintf(where, sizeof where, "%.120s:%u", origin, lineno);
        if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
            rc = err_set(d, ERR_INVALID, where, "contains a NUL byte");
            goto out;
        }
        field_t f[LINE_FIELDS];
        size_t nf = split_fields(p, eol, f);
        p = eol < end ? eol + 1 : end;
        if (nf == 0)
            continue;
        if (c->n == AUTH_CLIENTS_MAX) {
            rc = err_set(d, ERR_INVALID, where, "more than %d clients", AUTH_CLIENTS_MAX);
            goto out;
        }
        if (c->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            auth_client_t *v = realloc(c->v, ncap * sizeof *v);
            if (v == NULL) {
                rc = err_set(d, ERR_NOMEM, where, "out of memory");
                goto out;
            }
            c->v = v;
            cap = ncap;
        }
        if ((rc = parse_line(f, nf, lineno, &c->v[c->n], where, d)) != 0) {
            client_free(&c->v[c->n]);
            goto out;
        }
        c->n++;
    }
    if (c->n > 1) {
        qsort(c->v, c->n, sizeof *c->v, key_cmp);
        for (size_t i = 1; i < c->n; i++) {
            if (key_cmp(&c->v[i - 1], &c->v[i]) == 0) {
                const auth_client_t *a = &c->v[i - 1], *b = &c->v[i];
                snprintf(where, sizeof where, "%.120s:%u", origin,
                         a->line > b->line ? a->line : b->line);
                rc = err_set(d, ERR_INVALID, where,
                             "public key %s is listed twice (lines %u and %u)", a->key_z85,
                             a->line < b->line ? a->line : b->line,
                             a->line > b->line ? a->line : b->line);
                goto out;
            }
        }
    }
    *out = c;
    return 0;
out:
    auth_clients_destroy(&c);
    return rc;
}

int auth_clients_load(const char *path, auth_clients_t **out, err_detail_t *d)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(d, ERR_NOT_FOUND, "clients_file", "cannot open %s: %s", path,
                       strerror(errno));
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int rc;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = err_set(d, ERR_FORBIDDEN, "clients_file", "%s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        rc = err_set(d, ERR_FORBIDDEN, "clients_file",
                     "%s has mode %03o: group or others may write it, and whoever can write it "
                     "can let anyone in (chmod go-w)",
                     path, (unsigned)(st.st_mode & 0777));
        goto out;
    }
    if ((rc = fileio_read_fd(fd, AUTH_FILE_MAX, &buf, &len, path, d)) != 0)
        goto out;
    rc = auth_clients_parse(buf, len, path, out, d);
out:
    free(buf);
    close(fd);
    return rc;
}

/* ---- ZAP ----------------------------------------------------------------------------------- */

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES   8 /* version, id, domain, address, identity, mechanism, credentials... */

int auth_new(void *ctx, const char *clients_file, auth_t **out, err_detail_t *d)
{
    *out = NULL;
    auth_t *a = calloc(1, sizeof *a);
    if (a == NULL)
        return err_set(d, ERR_NOMEM, "auth", "out of memory");
    int rc;
    if ((a->path = strdup(clients_file)) == NULL) {
        rc = err_set(d, ERR_NOMEM, "auth", "out of memory");
        goto fail;
    }
    if ((rc = auth_clients_load(clients_file, &a->clients, d)) != 0)
        goto fail;
    a->zap = zmq_socket(ctx, ZMQ_REP);
    int linger = 0;
    if (a->zap == NULL || zmq_setsockopt(a->zap, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(a->zap, ZAP_ENDPOINT) != 0) {
        rc = err_set(d, ERR_INTERNAL, "auth", "cannot bind the ZAP handler: %s",
                     zmq_strerror(zmq_errno()));
        goto fail;
    }
    *out = a;
    return 0;
fail:
    auth_destroy(&a);
    return rc;
}

void auth_destroy(auth_t **ap)
{
    if (ap == NULL || *ap == NULL)
        return;
    auth_t *a = *ap;
    if (a->zap)
        zmq_close(a->zap);
    auth_clients_destroy(&a->clients);
    free(a->path);
    free(a);
    *ap = NULL;
}

void *auth_zap_socket(const auth_t *a)
{
    return a->zap;
}

const auth_clients_t *auth_clients(const auth_t *a)
{
    return a->clients;
}

auth_stats_t auth_stats(const auth_t *a)
{
    return a->stats;
}

int auth_reload(auth_t *a, err_detail_t *d)
{
    auth_clients_t *fresh = NULL;
    int rc = auth_clients_load(a->path, &fresh, d);
    if (rc != 0)
        return rc;
    auth_clients_destroy(&a->clients);
    a->clients = fresh;
    return 0;
}

const auth_client_t *auth_lookup_user_id(const auth_t *a, const char *user_id)
{
    uint8_t key[AUTH_KEY_LEN];
    if (user_id == NULL || curvekey_z85_decode(user_id, strlen(user_id), key) != 0)
        return NULL;
    return auth_clients_find(a->clients, key);
}

static bool frame_is(const zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size((zmq_msg_t *)m) == n && memcmp(zmq_msg_data((zmq_msg_t *)m), s, n) == 0;
}

/* "tcp://..."-style text of a frame, printable and bounded, for notes. */
static void frame_text(zmq_msg_t *m, char *buf, size_t size)
{
    size_t n = zmq_msg_size(m), k = 0;
    const unsigned char *p = zmq_msg_data(m);
    for (size_t i = 0; i < n && k + 1 < size; i++)
        buf[k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    buf[k] = '\0';
}

int auth_zap_handle(auth_t *a, bool *accepted, char *note, size_t note_size)
{
    zmq_msg_t f[ZAP_FRAMES];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, a->zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n && i < ZAP_FRAMES; i++)
                zmq_msg_close(&f[i]);
            if (n == 0)
                return 0;
            /* a request cut short cannot be answered on a REP socket; libzmq never does it */
            *accepted = false;
            return 1;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_FRAMES) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n], &m);
        }
        zmq_msg_close(&m);
        n++;
    }
    int kept = n < ZAP_FRAMES ? n : ZAP_FRAMES;
    const char *status = "400", *text = "not allowed";
    const auth_client_t *c = NULL;
    char addr[64] = "?", why[160] = "";
    if (kept >= 4)
        frame_text(&f[3], addr, sizeof addr);
    if (kept < 6 || !frame_is(&f[0], "1.0")) {
        status = "500";
        text = "malformed ZAP request";
        snprintf(why, sizeof why, "malformed ZAP request");
    } else if (!frame_is(&f[2], AUTH_ZAP_DOMAIN)) {
        snprintf(why, sizeof why, "wrong ZAP domain");
    } else if (!frame_is(&f[5], "CURVE")) {
        snprintf(why, sizeof why, "mechanism is not CURVE");
    } else if (n != 7 || zmq_msg_size(&f[6]) != AUTH_KEY_LEN) {
        snprintf(why, sizeof why, "malformed CURVE credentials");
    } else if ((c = auth_clients_find(a->clients, zmq_msg_data(&f[6]))) == NULL) {
        char z85[AUTH_Z85_LEN + 1];
        curvekey_z85_encode(zmq_msg_data(&f[6]), z85);
        snprintf(why, sizeof why, "public key %s is not in the clients file", z85);
    } else {
        status = "200";
        text = "OK";
    }
    *accepted = c != NULL;
    if (c)
        a->stats.accepted++;
    else
        a->stats.refused++;
    if (note && note_size) {
        if (c)
            snprintf(note, note_size, "client %s (%s) connected from %s", c->name,
                     auth_role_name(c->role), addr);
        else
            snprintf(note, note_size, "refused a connection from %s: %s", addr, why);
    }
    /* Reply: version, request id, status code, status text, user id, metadata. */
    const char *user = c ? c->key_z85 : "";
    zmq_send(a->zap, "1.0", 3, ZMQ_SNDMORE);
    if (kept >= 2)
        zmq_send(a->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    else
        zmq_send(a->zap, "", 0, ZMQ_SNDMORE);
    zmq_send(a->zap, status, 3, ZMQ_SNDMORE);
    zmq_send(a->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(a->zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(a->zap, "", 0, 0);
    for (int i = 0; i < kept; i++)
        zmq_msg_close(&f[i]);
    return 1;
}
