/*
 * rdfc: RDFC-1.0 dataset canonicalization. See rdfc.h.
 *
 * Blank nodes are interned to dense indexes (in order of first appearance: subject, object,
 * graph of each quad); every quad is pre-serialized once into term strings, with holes where
 * blank nodes go, so each hashing step only stitches strings together.
 */
#include "rdfc.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEX_MAX 128 /* SHA-512 in hex */

enum { POS_S = 0, POS_P = 1, POS_O = 2, POS_G = 3 };

/*
 * Appends prefix followed by the decimal n ("_:b" 12 -> "_:b12"), as one append: the
 * permutation search calls this for every element of every permutation.
 */
static int put_id(buf_t *b, const char *prefix, size_t plen, size_t n)
{
    char tmp[8 + 20]; /* prefixes are at most 6 bytes; 2^64 - 1 has 20 digits */
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    memcpy(tmp + i - plen, prefix, plen);
    return buf_append(b, tmp + i - plen, sizeof tmp - i + plen);
}

/* Code point order of UTF-8 strings is their byte order. */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* One quad, pre-serialized: term text in ctx->text, or a blank node index. */
typedef struct cquad {
    size_t off[4], len[4];
    int32_t bn[4]; /* blank node index, or -1 */
    bool has_g;
} cquad_t;

/* An identifier issuer with prefix "_:b": ids[i] is the blank node issued "_:b<i>". */
typedef struct issuer {
    int32_t *ids;
    size_t n, cap;
    int32_t *slots; /* NULL, or a hash table of nslots entries: issued number + 1, 0 = empty */
    size_t nslots;
} issuer_t;

typedef struct line {
    const char *p;
    size_t len;
} line_t;

typedef struct ctx {
    const nquads_dataset_t *ds;
    cquad_t *q;
    size_t nq;
    buf_t text; /* pre-serialized non-blank terms */
    size_t nb;  /* blank nodes */
    const char **label;
    size_t *label_len;
    uint32_t *rank;   /* position of each blank node's label in byte order */
    size_t *bq_start; /* CSR: quads of blank node b are bq[bq_start[b] .. bq_start[b + 1]) */
    uint32_t *bq;
    char (*h1)[HEX_MAX + 1]; /* first-degree hash of each blank node */
    int32_t *canon;          /* canonical number of each blank node, or -1 */
    int32_t *canon_order;    /* blank nodes in the order canonical ids were issued */
    size_t ncanon;
    const EVP_MD *md;
    EVP_MD_CTX *mctx;
    size_t hexlen;
    uint64_t work, work_limit;
    buf_t scratch;
    size_t max_bytes;    /* the bound on each working buffer */
    bool limit_reported; /* a limit already wrote the detail */
    err_detail_t *detail;
} ctx_t;

struct rdfc_result {
    char *nquads;
    size_t nquads_len;
    size_t count;
    char **input;     /* count labels, issue order */
    char **canonical; /* "c14n<i>" */
    char *strings;    /* one block holding every label */
    uint64_t work;
};

/* ---------------------------------------------------------------------------------------- */
/* Hashing.                                                                                 */

static int hash_begin(ctx_t *c)
{
    return EVP_DigestInit_ex2(c->mctx, c->md, NULL) == 1 ? 0 : ERR_INTERNAL;
}

static int hash_update(ctx_t *c, const void *p, size_t n)
{
    return EVP_DigestUpdate(c->mctx, p, n) == 1 ? 0 : ERR_INTERNAL;
}

static int hash_final_hex(ctx_t *c, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(c->mctx, md, &n) != 1 || (size_t)n * 2 != c->hexlen)
        return ERR_INTERNAL;
    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
    return 0;
}

static int hash_hex(ctx_t *c, const void *p, size_t n, char *hex)
{
    int rc = hash_begin(c);
    if (rc == 0)
        rc = hash_update(c, p, n);
    if (rc == 0)
        rc = hash_final_hex(c, hex);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Preparation: intern blank nodes, pre-serialize terms, build the blank node to quads map.  */

typedef struct bn_table {
    int32_t *slots; /* index + 1, 0 = empty */
    size_t n;
} bn_table_t;

static uint64_t label_hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Returns the index of the blank node labelled s, adding it if new (the table has room). */
static int32_t bn_intern(ctx_t *c, bn_table_t *t, const char *s, size_t len)
{
    size_t mask = t->n - 1, j = (size_t)label_hash(s, len) & mask;
    while (t->slots[j] != 0) {
        int32_t b = t->slots[j] - 1;
        if (c->label_len[b] == len && memcmp(c->label[b], s, len) == 0)
            return b;
        j = (j + 1) & mask;
    }
    int32_t b = (int32_t)c->nb++;
    c->label[b] = s;
    c->label_len[b] = len;
    t->slots[j] = b + 1;
    return b;
}

static int term_text(ctx_t *c, const nquads_term_t *t, size_t *off, size_t *len)
{
    *off = c->text.len;
    int rc = nquads_term_append(&c->text, t);
    *len = c->text.len - *off;
    return rc;
}

/*
 * Ranks blank nodes by label. qsort has no context argument, so a merge sort with the context
 * passed explicitly keeps this reentrant.
 */
static void msort_labels(const ctx_t *c, int32_t *a, int32_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    msort_labels(c, a, tmp, h);
    msort_labels(c, a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int32_t x = a[i], y = a[j];
        if (bytes_cmp(c->label[y], c->label_len[y], c->label[x], c->label_len[x]) < 0)
            tmp[k++] = a[j++];
        else
            tmp[k++] = a[i++];
    }
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static int compute_ranks(ctx_t *c)
{
    int32_t *order = malloc((c->nb + 1) * sizeof *order);
    int32_t *tmp = malloc((c->nb + 1) * sizeof *tmp);
    if (order == NULL || tmp == NULL) {
        free(order);
        free(tmp);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < c->nb; i++)
        order[i] = (int32_t)i;
    msort_labels(c, order, tmp, c->nb);
    for (size_t i = 0; i < c->nb; i++)
        c->rank[order[i]] = (uint32_t)i;
    free(order);
    free(tmp);
    return 0;
}

static int prepare(ctx_t *c)
{
    int rc = ERR_NOMEM;
    bn_table_t t = {NULL, 0};
    size_t nq = nquads_dataset_count(c->ds);
    if (nq > INT32_MAX / 4) {
        c->limit_reported = true;
        return err_set(c->detail, ERR_LIMIT, "dataset", "%zu quads are too many", nq);
    }
    size_t maxb = nq * 3 + 1;
    c->nq = nq;
    c->q = calloc(nq + 1, sizeof *c->q);
    c->label = malloc(maxb * sizeof *c->label);
    c->label_len = malloc(maxb * sizeof *c->label_len);
    t.n = 16;
    while (t.n < maxb * 2)
        t.n *= 2;
    t.slots = calloc(t.n, sizeof *t.slots);
    if (c->q == NULL || c->label == NULL || c->label_len == NULL || t.slots == NULL)
        goto out;
    for (size_t i = 0; i < nq; i++) {
        const nquads_quad_t *src = nquads_dataset_quad(c->ds, i);
        const nquads_term_t *terms[4] = {&src->s, &src->p, &src->o, &src->g};
        cquad_t *q = &c->q[i];
        q->has_g = src->g.kind != NQUADS_NONE;
        for (int k = 0; k < 4; k++) {
            q->bn[k] = -1;
            if (terms[k]->kind == NQUADS_BNODE) {
                q->bn[k] = bn_intern(c, &t, terms[k]->value, terms[k]->value_len);
            } else if (terms[k]->kind != NQUADS_NONE) {
                int trc = term_text(c, terms[k], &q->off[k], &q->len[k]);
                if (trc != 0) {
                    rc = trc; /* ERR_LIMIT or ERR_NOMEM */
                    goto out;
                }
            }
        }
    }
    size_t nb = c->nb;
    c->rank = malloc((nb + 1) * sizeof *c->rank);
    c->bq_start = calloc(nb + 2, sizeof *c->bq_start);
    c->h1 = malloc((nb + 1) * sizeof *c->h1);
    c->canon = malloc((nb + 1) * sizeof *c->canon);
    c->canon_order = malloc((nb + 1) * sizeof *c->canon_order);
    if (c->rank == NULL || c->bq_start == NULL || c->h1 == NULL || c->canon == NULL ||
        c->canon_order == NULL)
        goto out;
    for (size_t b = 0; b < nb; b++)
        c->canon[b] = -1;
    /* The blank node to quads map as CSR; a quad is listed once per distinct blank node. */
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nq; i++) {
            const int32_t *bn = c->q[i].bn;
            for (int k = 0; k < 4; k++) {
                if (bn[k] < 0)
                    continue;
                bool seen = false;
                for (int m = 0; m < k; m++)
                    seen = seen || bn[m] == bn[k];
                if (seen)
                    continue;
                if (pass == 0) {
                    c->bq_start[bn[k] + 1]++;
                    total++;
                } else {
                    c->bq[c->bq_start[bn[k]]++] = (uint32_t)i;
                }
            }
        }
        if (pass == 0) {
            for (size_t b = 0; b < nb; b++)
                c->bq_start[b + 1] += c->bq_start[b];
            c->bq = malloc((total + 1) * sizeof *c->bq);
            if (c->bq == NULL)
                goto out;
        } else {
            /* filling advanced each start to the next one's; shift back */
            for (size_t b = nb; b > 0; b--)
                c->bq_start[b] = c->bq_start[b - 1];
            c->bq_start[0] = 0;
        }
    }
    rc = compute_ranks(c);
out:
    free(t.slots);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Serializing quads with blank nodes substituted.                                          */

typedef enum { SUBST_FIRST_DEGREE, SUBST_CANONICAL } subst_t;

static int put_bnode(ctx_t *c, buf_t *b, int32_t bn, subst_t how, int32_t self)
{
    if (how == SUBST_FIRST_DEGREE)
        return buf_append(b, bn == self ? "_:a" : "_:z", 3);
    return put_id(b, "_:c14n", 6, (size_t)c->canon[bn]);
}

static int put_quad(ctx_t *c, buf_t *b, const cquad_t *q, subst_t how, int32_t self)
{
    for (int k = 0; k < 4; k++) {
        if (k == POS_G && !q->has_g)
            break;
        int rc;
        if (k > 0 && (rc = buf_append_byte(b, ' ')) != 0)
            return rc;
        if (q->bn[k] >= 0)
            rc = put_bnode(c, b, q->bn[k], how, self);
        else
            rc = buf_append(b, c->text.data + q->off[k], q->len[k]);
        if (rc != 0)
            return rc;
    }
    return buf_append(b, " .\n", 3);
}

static int line_cmp(const void *a, const void *b)
{
    const line_t *x = a, *y = b;
    return bytes_cmp(x->p, x->len, y->p, y->len);
}

/* Serializes quads idx[0..n) into c->scratch and returns their lines sorted in *lines_out. */
static int sorted_lines(ctx_t *c, const uint32_t *idx, size_t n, subst_t how, int32_t self,
                        line_t **lines_out)
{
    size_t *ends = malloc((n + 1) * sizeof *ends);
    line_t *lines = malloc((n + 1) * sizeof *lines);
    int rc = ERR_NOMEM;
    if (ends == NULL || lines == NULL)
        goto out;
    buf_reset(&c->scratch);
    for (size_t i = 0; i < n; i++) {
        if ((rc = put_quad(c, &c->scratch, &c->q[idx ? idx[i] : i], how, self)) != 0)
            goto out;
        ends[i] = c->scratch.len;
    }
    for (size_t i = 0; i < n; i++) {
        size_t start = i ? ends[i - 1] : 0;
        lines[i].p = c->scratch.data + start;
        lines[i].len = ends[i] - start;
    }
    qsort(lines, n, sizeof *lines, line_cmp);
    *lines_out = lines;
    lines = NULL;
    rc = 0;
out:
    free(ends);
    free(lines);
    return rc;
}

/* Hash First Degree Quads for every blank node, into c->h1. */
static int hash_first_degree_all(ctx_t *c)
{
    for (size_t b = 0; b < c->nb; b++) {
        size_t start = c->bq_start[b], n = c->bq_start[b + 1] - start;
        line_t *lines = NULL;
        int rc = sorted_lines(c, c->bq + start, n, SUBST_FIRST_DEGREE, (int32_t)b, &lines);
        if (rc != 0)
            return rc;
        rc = hash_begin(c);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = hash_update(c, lines[i].p, lines[i].len);
        if (rc == 0)
            rc = hash_final_hex(c, c->h1[b]);
        free(lines);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Issuers.                                                                                 */

static void issue_canonical(ctx_t *c, int32_t b)
{
    if (c->canon[b] >= 0)
        return;
    c->canon[b] = (int32_t)c->ncanon;
    c->canon_order[c->ncanon++] = b;
}

#define ISSUER_LINEAR 16 /* up to this many ids, look up by scanning; beyond, a hash table */

static size_t slot_of(int32_t b, size_t nslots)
{
    return (size_t)(((uint64_t)(uint32_t)b * 0x9E3779B97F4A7C15ull) >> 32) & (nslots - 1);
}

static long issuer_find(const issuer_t *is, int32_t b)
{
    if (is->slots == NULL) {
        for (size_t i = 0; i < is->n; i++)
            if (is->ids[i] == b)
                return (long)i;
        return -1;
    }
    for (size_t j = slot_of(b, is->nslots);; j = (j + 1) & (is->nslots - 1)) {
        int32_t v = is->slots[j];
        if (v == 0)
            return -1;
        if (is->ids[v - 1] == b)
            return (long)(v - 1);
    }
}

/* Rebuilds the hash table with room for the ids issued so far and then some. */
static int issuer_rehash(issuer_t *is, size_t want)
{
    size_t n = 64;
    while (n < want * 2)
        n *= 2;
    int32_t *slots = calloc(n, sizeof *slots);
    if (slots == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < is->n; i++) {
        size_t j = slot_of(is->ids[i], n);
        while (slots[j] != 0)
            j = (j + 1) & (n - 1);
        slots[j] = (int32_t)i + 1;
    }
    free(is->slots);
    is->slots = slots;
    is->nslots = n;
    return 0;
}

/* Issues (or finds) the "_:b" number of b; returns it, or -1 when out of memory. */
static long issuer_issue(issuer_t *is, int32_t b)
{
    long i = issuer_find(is, b);
    if (i >= 0)
        return i;
    if (is->n == is->cap) {
        size_t cap = is->cap ? is->cap * 2 : 8;
        int32_t *ids = realloc(is->ids, cap * sizeof *ids);
        if (ids == NULL)
            return -1;
        is->ids = ids;
        is->cap = cap;
    }
    is->ids[is->n++] = b;
    if (is->n > ISSUER_LINEAR && (is->slots == NULL || is->n * 2 > is->nslots)) {
        if (issuer_rehash(is, is->n) != 0) {
            is->n--;
            return -1;
        }
    } else if (is->slots != NULL) {
        size_t j = slot_of(b, is->nslots);
        while (is->slots[j] != 0)
            j = (j + 1) & (is->nslots - 1);
        is->slots[j] = (int32_t)is->n;
    }
    return (long)is->n - 1;
}

static int issuer_copy(issuer_t *dst, const issuer_t *src)
{
    if (dst->cap < src->n || dst->ids == NULL) {
        size_t cap = src->n > 8 ? src->n : 8;
        int32_t *ids = realloc(dst->ids, cap * sizeof *ids);
        if (ids == NULL)
            return ERR_NOMEM;
        dst->ids = ids;
        dst->cap = cap;
    }
    if (src->n)
        memcpy(dst->ids, src->ids, src->n * sizeof *dst->ids);
    dst->n = src->n;
    if (src->slots == NULL) {
        free(dst->slots);
        dst->slots = NULL;
        dst->nslots = 0;
        return 0;
    }
    if (dst->nslots != src->nslots) {
        int32_t *slots = realloc(dst->slots, src->nslots * sizeof *slots);
        if (slots == NULL)
            return ERR_NOMEM;
        dst->slots = slots;
        dst->nslots = src->nslots;
    }
    memcpy(dst->slots, src->slots, src->nslots * sizeof *dst->slots);
    return 0;
}

static void issuer_swap(issuer_t *a, issuer_t *b)
{
    issuer_t t = *a;
    *a = *b;
    *b = t;
}

static void issuer_free(issuer_t *is)
{
    free(is->ids);
    free(is->slots);
    memset(is, 0, sizeof *is);
}

/* ---------------------------------------------------------------------------------------- */
/* Hash N-Degree Quads.                                                                     */

typedef struct related {
    char hash[HEX_MAX + 1];
    int32_t bn;
    uint32_t seq;
} related_t;

static int related_cmp(const void *a, const void *b)
{
    const related_t *x = a, *y = b;
    int r = strcmp(x->hash, y->hash);
    return r != 0 ? r : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static int charge(ctx_t *c, uint64_t units)
{
    c->work += units;
    if (c->work > c->work_limit) {
        c->limit_reported = true;
        return err_set(c->detail, ERR_LIMIT, "work",
                       "canonicalization needs more than %llu units of work (%zu blank nodes); "
                       "the dataset is too complex (a poison graph?)",
                       (unsigned long long)c->work_limit, c->nb);
    }
    return 0;
}

/* Hash Related Blank Node: the hash of (position, predicate, identifier) into hex. */
static int hash_related(ctx_t *c, int32_t related, const cquad_t *q, int pos,
                        const issuer_t *issuer, char *hex)
{
    buf_t *b = &c->scratch;
    buf_reset(b);
    int rc = buf_append_byte(b, pos == POS_S ? 's' : pos == POS_O ? 'o' : 'g');
    if (rc == 0 && pos != POS_G)
        rc = buf_append(b, c->text.data + q->off[POS_P], q->len[POS_P]); /* "<iri>" */
    if (rc != 0)
        return rc;
    long id;
    if (c->canon[related] >= 0)
        rc = put_id(b, "_:c14n", 6, (size_t)c->canon[related]);
    else if ((id = issuer_find(issuer, related)) >= 0)
        rc = put_id(b, "_:b", 3, (size_t)id);
    else
        rc = buf_append(b, c->h1[related], c->hexlen);
    if (rc != 0)
        return rc;
    return hash_hex(c, b->data, b->len, hex);
}

/*
 * Incremental "path > chosen path" (code point order) for a path that only grows: the bytes
 * compared equal so far are not compared again, so a permutation costs O(path length).
 */
typedef struct pathcmp {
    size_t checked; /* path[0..checked) == chosen[0..checked) */
    int sign;       /* the sign of the first difference, once found */
} pathcmp_t;

/* The spec's test "chosen path is not empty, path is at least as long, and path > chosen". */
static bool path_worse(const buf_t *path, const buf_t *chosen, bool have_chosen, pathcmp_t *pc)
{
    if (!have_chosen)
        return false;
    if (pc->sign == 0) {
        size_t n = path->len < chosen->len ? path->len : chosen->len;
        if (n > pc->checked) {
            const char *x = path->data + pc->checked, *y = chosen->data + pc->checked;
            int r = memcmp(x, y, n - pc->checked);
            if (r != 0)
                pc->sign = r;
            else
                pc->checked = n;
        }
    }
    if (path->len < chosen->len)
        return false;
    return pc->sign > 0 || (pc->sign == 0 && path->len > chosen->len);
}

/*
 * The permutation order of the reference implementation: Steinhaus-Johnson-Trotter starting
 * from the elements sorted by label. dir[i] is the direction of the element at position i
 * (true = looking left); it moves with its element. Equal elements (one blank node related
 * twice) are never mobile against each other and always share a direction, as in the
 * reference, where the direction is kept per value.
 */
typedef struct perm {
    int32_t *cur; /* current permutation (blank node indexes) */
    bool *left;
    size_t n;
    bool done;
} perm_t;

/* Advances to the next permutation (sets done when there is none). O(n). */
static void perm_next(const ctx_t *c, perm_t *p)
{
    const uint32_t *rank = c->rank;
    long k = -1;
    size_t pos = 0;
    for (size_t i = 0; i < p->n; i++) {
        int32_t e = p->cur[i];
        bool left = p->left[i];
        if ((k < 0 || rank[e] > rank[k]) &&
            ((left && i > 0 && rank[e] > rank[p->cur[i - 1]]) ||
             (!left && i + 1 < p->n && rank[e] > rank[p->cur[i + 1]]))) {
            k = e;
            pos = i;
        }
    }
    if (k < 0) {
        p->done = true;
        return;
    }
    size_t swap = p->left[pos] ? pos - 1 : pos + 1;
    bool kd = p->left[pos];
    p->cur[pos] = p->cur[swap];
    p->left[pos] = p->left[swap];
    p->cur[swap] = (int32_t)k;
    p->left[swap] = kd;
    for (size_t i = 0; i < p->n; i++)
        if (rank[p->cur[i]] > rank[k])
            p->left[i] = !p->left[i];
}

typedef struct ranked {
    uint32_t rank;
    int32_t bn;
} ranked_t;

static int ranked_cmp(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int hash_ndegree(ctx_t *c, int32_t self, issuer_t *issuer, char *out_hex, size_t depth);

/*
 * One group of related blank nodes (all with the same related hash): the permutation search.
 * Appends the chosen path to data and replaces *issuer with the chosen issuer.
 */
static int ndegree_group(ctx_t *c, const related_t *rel, size_t n, issuer_t *issuer, buf_t *data,
                         size_t depth)
{
    int rc = ERR_NOMEM;
    perm_t p = {0};
    buf_t path, chosen;
    buf_init(&path, c->max_bytes);
    buf_init(&chosen, c->max_bytes);
    issuer_t copy = {0}, chosen_issuer = {0};
    int32_t *recursion = malloc(n * sizeof *recursion);
    ranked_t *sorted = malloc(n * sizeof *sorted);
    p.cur = malloc(n * sizeof *p.cur);
    p.left = malloc(n * sizeof *p.left);
    if (recursion == NULL || sorted == NULL || p.cur == NULL || p.left == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        sorted[i].rank = c->rank[rel[i].bn];
        sorted[i].bn = rel[i].bn;
    }
    qsort(sorted, n, sizeof *sorted, ranked_cmp);
    p.n = n;
    for (size_t i = 0; i < n; i++) {
        p.cur[i] = sorted[i].bn;
        p.left[i] = true;
    }
    bool have_chosen = false;
    char hex[HEX_MAX + 1];
    for (; !p.done; perm_next(c, &p)) {
        /* one unit per permutation, more for long ones (building one is O(n + issuer)) */
        if ((rc = charge(c, 1 + (n + issuer->n) / 64)) != 0)
            goto out;
        if ((rc = issuer_copy(&copy, issuer)) != 0)
            goto out;
        path.len = 0;
        pathcmp_t pc = {0, 0};
        size_t nrec = 0;
        bool skip = false;
        for (size_t i = 0; i < n && !skip; i++) {
            int32_t r = p.cur[i];
            if (c->canon[r] >= 0) {
                rc = put_id(&path, "_:c14n", 6, (size_t)c->canon[r]);
            } else {
                if (issuer_find(&copy, r) < 0)
                    recursion[nrec++] = r;
                long id = issuer_issue(&copy, r);
                rc = id < 0 ? ERR_NOMEM : put_id(&path, "_:b", 3, (size_t)id);
            }
            if (rc != 0)
                goto out;
            skip = path_worse(&path, &chosen, have_chosen, &pc);
        }
        for (size_t i = 0; i < nrec && !skip; i++) {
            int32_t r = recursion[i];
            if ((rc = hash_ndegree(c, r, &copy, hex, depth + 1)) != 0)
                goto out;
            long id = issuer_issue(&copy, r);
            if (id < 0) {
                rc = ERR_NOMEM;
                goto out;
            }
            if ((rc = put_id(&path, "_:b", 3, (size_t)id)) != 0 ||
                (rc = buf_append_byte(&path, '<')) != 0 ||
                (rc = buf_append(&path, hex, c->hexlen)) != 0 ||
                (rc = buf_append_byte(&path, '>')) != 0)
                goto out;
            skip = path_worse(&path, &chosen, have_chosen, &pc);
        }
        if (skip)
            continue;
        if (!have_chosen || bytes_cmp(path.data, path.len, chosen.data, chosen.len) < 0) {
            buf_t t = chosen;
            chosen = path;
            path = t;
            issuer_swap(&chosen_issuer, &copy);
            have_chosen = true;
        }
    }
    if ((rc = buf_append(data, chosen.data, chosen.len)) != 0)
        goto out;
    issuer_swap(issuer, &chosen_issuer);
    rc = 0;
out:
    free(recursion);
    free(sorted);
    free(p.cur);
    free(p.left);
    buf_free(&path);
    buf_free(&chosen);
    issuer_free(&copy);
    issuer_free(&chosen_issuer);
    return rc;
}

static int hash_ndegree(ctx_t *c, int32_t self, issuer_t *issuer, char *out_hex, size_t depth)
{
    int rc;
    if ((rc = charge(c, 1)) != 0)
        return rc;
    if (depth > RDFC_MAX_DEPTH) {
        c->limit_reported = true;
        return err_set(c->detail, ERR_LIMIT, "work", "blank node relations nest deeper than %u",
                       RDFC_MAX_DEPTH);
    }
    size_t start = c->bq_start[self], nquads = c->bq_start[self + 1] - start;
    related_t *rel = malloc((nquads * 3 + 1) * sizeof *rel);
    buf_t data;
    buf_init(&data, c->max_bytes);
    size_t nrel = 0;
    rc = ERR_NOMEM;
    if (rel == NULL)
        goto out;
    static const int positions[3] = {POS_S, POS_O, POS_G};
    for (size_t i = 0; i < nquads; i++) {
        const cquad_t *q = &c->q[c->bq[start + i]];
        for (int k = 0; k < 3; k++) {
            int32_t r = q->bn[positions[k]];
            if (r < 0 || r == self)
                continue;
            if ((rc = hash_related(c, r, q, positions[k], issuer, rel[nrel].hash)) != 0)
                goto out;
            rel[nrel].bn = r;
            rel[nrel].seq = (uint32_t)nrel;
            nrel++;
        }
    }
    /* a call with many related nodes costs more: one more unit per 16 related hashes */
    if ((rc = charge(c, nrel / 16)) != 0)
        goto out;
    qsort(rel, nrel, sizeof *rel, related_cmp);
    for (size_t i = 0; i < nrel;) {
        size_t j = i + 1;
        while (j < nrel && strcmp(rel[j].hash, rel[i].hash) == 0)
            j++;
        if ((rc = buf_append(&data, rel[i].hash, c->hexlen)) != 0)
            goto out;
        if ((rc = ndegree_group(c, rel + i, j - i, issuer, &data, depth)) != 0)
            goto out;
        i = j;
    }
    rc = hash_hex(c, data.data ? data.data : "", data.len, out_hex);
out:
    free(rel);
    buf_free(&data);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* The canonicalization algorithm.                                                          */

typedef struct order {
    const char *hash;
    int32_t bn;
} order_t;

static int order_cmp(const void *a, const void *b)
{
    const order_t *x = a, *y = b;
    int r = strcmp(x->hash, y->hash);
    return r != 0 ? r : (x->bn < y->bn ? -1 : x->bn > y->bn);
}

typedef struct path_result {
    char hash[HEX_MAX + 1];
    issuer_t issuer;
    size_t seq;
} path_result_t;

static int path_result_cmp(const void *a, const void *b)
{
    const path_result_t *x = a, *y = b;
    int r = strcmp(x->hash, y->hash);
    return r != 0 ? r : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* Step 5: the groups of blank nodes sharing a first-degree hash. */
static int issue_shared(ctx_t *c, const order_t *ord, size_t n)
{
    int rc = 0;
    path_result_t *res = calloc(n + 1, sizeof *res);
    size_t nres = 0;
    if (res == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int32_t b = ord[i].bn;
        if (c->canon[b] >= 0)
            continue;
        path_result_t *r = &res[nres];
        if (issuer_issue(&r->issuer, b) < 0) {
            rc = ERR_NOMEM;
            goto out;
        }
        nres++;
        if ((rc = hash_ndegree(c, b, &r->issuer, r->hash, 0)) != 0)
            goto out;
        r->seq = nres;
    }
    qsort(res, nres, sizeof *res, path_result_cmp);
    for (size_t i = 0; i < nres; i++)
        for (size_t k = 0; k < res[i].issuer.n; k++)
            issue_canonical(c, res[i].issuer.ids[k]);
out:
    for (size_t i = 0; i < n; i++)
        issuer_free(&res[i].issuer);
    free(res);
    return rc;
}

static int issue_all(ctx_t *c)
{
    order_t *ord = malloc((c->nb + 1) * sizeof *ord);
    if (ord == NULL)
        return ERR_NOMEM;
    for (size_t b = 0; b < c->nb; b++) {
        ord[b].hash = c->h1[b];
        ord[b].bn = (int32_t)b;
    }
    qsort(ord, c->nb, sizeof *ord, order_cmp);
    /* Step 4: unique first-degree hashes get canonical ids in hash order. */
    for (size_t i = 0; i < c->nb;) {
        size_t j = i + 1;
        while (j < c->nb && strcmp(ord[j].hash, ord[i].hash) == 0)
            j++;
        if (j - i == 1)
            issue_canonical(c, ord[i].bn);
        i = j;
    }
    /* Step 5: the shared ones, group by group in hash order. */
    int rc = 0;
    for (size_t i = 0; i < c->nb && rc == 0;) {
        size_t j = i + 1;
        while (j < c->nb && strcmp(ord[j].hash, ord[i].hash) == 0)
            j++;
        if (j - i > 1)
            rc = issue_shared(c, ord + i, j - i);
        i = j;
    }
    free(ord);
    return rc;
}

static int build_result(ctx_t *c, rdfc_result_t **out)
{
    int rc = ERR_NOMEM;
    line_t *lines = NULL;
    rdfc_result_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        goto out;
    if ((rc = sorted_lines(c, NULL, c->nq, SUBST_CANONICAL, -1, &lines)) != 0)
        goto out;
    rc = ERR_NOMEM;
    r->nquads = malloc(c->scratch.len + 1);
    if (r->nquads == NULL)
        goto out;
    size_t at = 0;
    for (size_t i = 0; i < c->nq; i++) {
        if (i > 0 && line_cmp(&lines[i - 1], &lines[i]) == 0)
            continue; /* cannot happen for a set, but a duplicate line is never emitted */
        memcpy(r->nquads + at, lines[i].p, lines[i].len);
        at += lines[i].len;
    }
    r->nquads[at] = '\0';
    r->nquads_len = at;
    /* the map: every label and "c14nN" in one block */
    size_t bytes = 0;
    for (size_t i = 0; i < c->ncanon; i++)
        bytes += c->label_len[c->canon_order[i]] + 1 + 4 + 21 + 1;
    r->count = c->ncanon;
    r->input = malloc((c->ncanon + 1) * sizeof *r->input);
    r->canonical = malloc((c->ncanon + 1) * sizeof *r->canonical);
    r->strings = malloc(bytes + 1);
    if (r->input == NULL || r->canonical == NULL || r->strings == NULL)
        goto out;
    char *s = r->strings;
    for (size_t i = 0; i < c->ncanon; i++) {
        int32_t b = c->canon_order[i];
        r->input[i] = s;
        memcpy(s, c->label[b], c->label_len[b]);
        s[c->label_len[b]] = '\0';
        s += c->label_len[b] + 1;
        r->canonical[i] = s;
        s += (size_t)snprintf(s, 4 + 21 + 1, "c14n%zu", i) + 1; /* room reserved above */
    }
    r->work = c->work;
    *out = r;
    r = NULL;
    rc = 0;
out:
    free(lines);
    rdfc_result_destroy(&r);
    return rc;
}

static void ctx_free(ctx_t *c)
{
    free(c->q);
    buf_free(&c->text);
    free(c->label);
    free(c->label_len);
    free(c->rank);
    free(c->bq_start);
    free(c->bq);
    free(c->h1);
    free(c->canon);
    free(c->canon_order);
    buf_free(&c->scratch);
    EVP_MD_CTX_free(c->mctx);
}

/*
 * The digests are fetched from OpenSSL once per process (a fetch takes locks and allocates)
 * and kept for its lifetime; EVP_MD objects are safe to share between threads.
 */
static const char *const md_names[] = {"SHA256", "SHA384", "SHA512"};
static EVP_MD *digests[3];
static pthread_once_t digests_once = PTHREAD_ONCE_INIT;

static void digests_fetch(void)
{
    for (size_t i = 0; i < 3; i++)
        digests[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
}

int rdfc_hash_from_name(const char *name, rdfc_hash_t *out)
{
    static const struct {
        const char *name;
        rdfc_hash_t hash;
    } names[] = {
        {"SHA256", RDFC_SHA256},  {"SHA-256", RDFC_SHA256}, {"SHA384", RDFC_SHA384},
        {"SHA-384", RDFC_SHA384}, {"SHA512", RDFC_SHA512},  {"SHA-512", RDFC_SHA512},
    };
    if (name == NULL)
        return ERR_INVALID;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].hash;
            return 0;
        }
    }
    return ERR_INVALID;
}

int rdfc_canonicalize(const nquads_dataset_t *ds, const rdfc_options_t *opt, rdfc_result_t **out,
                      err_detail_t *detail)
{
    static const size_t hexlens[] = {64, 96, 128};
    ctx_t c;
    memset(&c, 0, sizeof c);
    c.ds = ds;
    c.detail = detail;
    c.max_bytes = opt && opt->max_bytes ? opt->max_bytes : RDFC_MAX_BYTES;
    buf_init(&c.text, c.max_bytes);
    buf_init(&c.scratch, c.max_bytes);
    int rc;
    rdfc_hash_t h = opt ? opt->hash : RDFC_SHA256;
    if ((unsigned)h > RDFC_SHA512) {
        rc = err_set(detail, ERR_INVALID, "hash", "unknown hash algorithm %d", (int)h);
        goto done;
    }
    c.hexlen = hexlens[h];
    pthread_once(&digests_once, digests_fetch);
    c.md = digests[h];
    c.mctx = EVP_MD_CTX_new();
    if (c.md == NULL || c.mctx == NULL) {
        rc = err_set(detail, ERR_INTERNAL, "hash", "%s is not available", md_names[h]);
        goto done;
    }
    if ((rc = prepare(&c)) != 0)
        goto out;
    c.work_limit = opt && opt->work_limit ? opt->work_limit
                                          : RDFC_WORK_BASE + (uint64_t)RDFC_WORK_PER_BNODE * c.nb;
    if ((rc = hash_first_degree_all(&c)) != 0 || (rc = issue_all(&c)) != 0)
        goto out;
    rc = build_result(&c, out);
out:
    /* The detail of the failures that did not write one where they happened. */
    if (rc == ERR_NOMEM)
        err_set(detail, rc, "dataset", "out of memory");
    else if (rc == ERR_INTERNAL)
        err_set(detail, rc, "hash", "the hash function failed");
    else if (rc == ERR_LIMIT && !c.limit_reported)
        err_set(detail, rc, "dataset", "a working buffer would pass %zu bytes", c.max_bytes);
done:
    ctx_free(&c);
    return rc;
}

const char *rdfc_result_nquads(const rdfc_result_t *r, size_t *len)
{
    if (len != NULL)
        *len = r->nquads_len;
    return r->nquads;
}

size_t rdfc_result_map_count(const rdfc_result_t *r)
{
    return r->count;
}

int rdfc_result_map_entry(const rdfc_result_t *r, size_t i, const char **input,
                          const char **canonical)
{
    if (i >= r->count)
        return ERR_NOT_FOUND;
    if (input != NULL)
        *input = r->input[i];
    if (canonical != NULL)
        *canonical = r->canonical[i];
    return 0;
}

const char *rdfc_result_map_find(const rdfc_result_t *r, const char *input)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->input[i], input) == 0)
            return r->canonical[i];
    return NULL;
}

uint64_t rdfc_result_work(const rdfc_result_t *r)
{
    return r->work;
}

void rdfc_result_destroy(rdfc_result_t **r)
{
    if (r == NULL || *r == NULL)
        return;
    free((*r)->nquads);
    free((*r)->input);
    free((*r)->canonical);
    free((*r)->strings);
    free(*r);
    *r = NULL;
}

int rdfc_canonicalize_nquads(const char *in, size_t len, const rdfc_options_t *opt, char **out,
                             size_t *out_len, err_detail_t *detail)
{
    int rc;
    rdfc_result_t *res = NULL;
    nquads_dataset_t *ds = nquads_dataset_new();
    if (ds == NULL)
        return err_set(detail, ERR_NOMEM, "dataset", "out of memory");
    if ((rc = nquads_parse(ds, in, len, opt ? &opt->limits : NULL, detail)) != 0)
        goto out;
    if ((rc = rdfc_canonicalize(ds, opt, &res, detail)) != 0)
        goto out;
    *out = res->nquads;
    *out_len = res->nquads_len;
    res->nquads = NULL;
out:
    rdfc_result_destroy(&res);
    nquads_dataset_destroy(&ds);
    return rc;
}
