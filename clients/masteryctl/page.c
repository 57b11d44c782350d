/*
 * masteryctl credential page and publish: what a student shows and a school hosts.
 *
 * A badge page is the verifier page (build/web/verify.html, made at build time) with the badge
 * put into it: the signed credential, the revocation list and (did:web) the DID document as of
 * now in a script#embedded-badge element the page checks the moment it opens; above it the
 * picture, the description, downloads of the baked PNG and of the JSON, and a QR code of the
 * page's public address when the school says where it publishes (libqrencode, drawn as SVG).
 * Everything is inline (data: URLs): the page works from a USB stick, an e-mail, or a server.
 *
 * Public parts hold only what the signed credential already holds (the learner appears as a
 * salted hash, never as the school's id). File names come from the credential's UUID.
 */
#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bake.h"
#include "masteryctl.h"

#define PAGE_MAX     (64u << 20)
#define VERIFIER_MAX (8u << 20)

static int b64(buf_t *b, const void *data, size_t n)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {T[v >> 18], T[(v >> 12) & 63], i + 1 < n ? T[(v >> 6) & 63] : '=',
                     i + 2 < n ? T[v & 63] : '='};
        int rc = buf_append(b, q, 4);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int html_text(buf_t *b, const char *s)
{
    for (; s != NULL && *s; s++) {
        const char *rep = *s == '<'    ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '&'  ? "&amp;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&#39;"
                                       : NULL;
        int rc = rep ? buf_append_str(b, rep) : buf_append_byte(b, *s);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Appends with a sticky error (the first failure is kept; later calls do nothing), so a page
 * is written as a flat list of pieces and checked once. */
typedef struct html {
    buf_t *b;
    int rc;
} html_t;

static void put(html_t *h, const char *s)
{
    if (h->rc == 0)
        h->rc = buf_append_str(h->b, s);
}

static void put_text(html_t *h, const char *s)
{
    if (h->rc == 0)
        h->rc = html_text(h->b, s);
}

static void put_b64(html_t *h, const void *p, size_t n)
{
    if (h->rc == 0)
        h->rc = b64(h->b, p, n);
}

/* JSON for a <script type="application/json">: "<" written as \u003c, so no "</script>"
 * inside a string can end the element. */
static int script_json(buf_t *b, const json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT);
    if (t == NULL)
        return ERR_NOMEM;
    int rc = 0;
    for (const char *s = t; *s && rc == 0; s++)
        rc = *s == '<' ? buf_append_str(b, "\\u003c") : buf_append_byte(b, *s);
    free(t);
    return rc;
}

/* The page built at build time: $MASTERYD_WEB_DIR, the build tree, then the install. */
static int load_verifier(char **html, size_t *len)
{
    const char *env = getenv("MASTERYD_WEB_DIR");
    const char *dirs[] = {env, MASTERY_WEB_BUILD_DIR, MASTERY_WEB_INSTALL_DIR};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (dirs[i] == NULL || dirs[i][0] == '\0')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/verify.html", dirs[i]);
        struct stat st;
        if (stat(path, &st) == 0 && read_file(path, VERIFIER_MAX, html, len) == 0)
            return 0;
    }
    fprintf(stderr,
            "%s: the verifier page (verify.html) is not installed: it is built with node and "
            "npm (see %s/UNAVAILABLE); or set MASTERYD_WEB_DIR\n",
            progname, MASTERY_WEB_BUILD_DIR);
    return CTL_ERR_REPLY;
}

/* Replaces the first occurrence of marker in tpl with with; appends the result to out. */
static int splice(buf_t *out, const char *tpl, const char *marker, const char *with)
{
    const char *m = strstr(tpl, marker);
    if (m == NULL)
        return ERR_INVALID;
    int rc;
    if ((rc = buf_append(out, tpl, (size_t)(m - tpl))) != 0 ||
        (rc = buf_append_str(out, with)) != 0 ||
        (rc = buf_append_str(out, m + strlen(marker))) != 0)
        return rc;
    return 0;
}

/* The QR code of url as an inline SVG (a path of dark modules, a 4-module quiet zone). */
static int qr_svg(const char *url, buf_t *b)
{
    QRcode *q = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (q == NULL)
        return ERR_INVALID;
    int w = q->width, rc = 0;
    char tmp[320];
    snprintf(tmp, sizeof tmp,
             "<svg id=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "width=\"160\" height=\"160\" role=\"img\" aria-label=\"QR code\" "
             "shape-rendering=\"crispEdges\">",
             w + 8, w + 8);
    rc = buf_append_str(b, tmp);
    if (rc == 0)
        rc = buf_append_str(b, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"");
    for (int y = 0; y < w && rc == 0; y++)
        for (int x = 0; x < w && rc == 0; x++)
            if (q->data[y * w + x] & 1) {
                snprintf(tmp, sizeof tmp, "M%d %dh1v1h-1z", x + 4, y + 4);
                rc = buf_append_str(b, tmp);
            }
    if (rc == 0)
        rc = buf_append_str(b, "\"/></svg>");
    QRcode_free(q);
    return rc;
}

/* The credential's UUID (urn:uuid:X -> X), else a hash: a file name without surprises. */
static void slug_of(const char *id, char *out, size_t cap)
{
    const char *u = strncmp(id, "urn:uuid:", 9) == 0 ? id + 9 : id;
    bool ok = *u != '\0';
    for (const char *s = u; *s; s++)
        ok = ok && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || *s == '-');
    if (ok && strlen(u) < cap) {
        snprintf(out, cap, "%s", u);
        return;
    }
    snprintf(out, cap, "badge-%08x", fnv1a(id, NULL));
}

static const char *jget(const json_t *o, const char *path)
{
    /* "a.b.c" of objects */
    char key[64];
    const json_t *v = o;
    while (path != NULL && v != NULL) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        v = json_object_get(v, key);
        path = dot ? dot + 1 : NULL;
    }
    if (json_is_object(v))
        v = json_object_get(v, "id"); /* an Image object */
    return json_string_value(v);
}

/* Decodes a data:image/png|svg+xml;base64 URI into *out (the achievement's own picture). */
static bool data_image(const char *uri, buf_t *out)
{
    const char *p;
    if (uri == NULL)
        return false;
    if (strncmp(uri, "data:image/png;base64,", 22) == 0)
        p = uri + 22;
    else if (strncmp(uri, "data:image/svg+xml;base64,", 26) == 0)
        p = uri + 26;
    else
        return false;
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    for (; *p && *p != '='; p++) {
        const char *c = strchr(T, *p);
        if (c == NULL || *p == '\0')
            return false;
        acc = acc << 6 | (uint32_t)(c - T);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (buf_append_byte(out, (char)((acc >> bits) & 0xff)) != 0)
                return false;
        }
    }
    return bake_sniff(out->data, out->len) != BAKE_FORMAT_UNKNOWN;
}

typedef struct page_parts {
    char slug[80];
    char *json;    /* the signed credential, as stored */
    buf_t png;     /* the baked PNG */
    buf_t html;    /* the page */
    json_t *lists; /* [status list JSON text] */
    char *did_doc; /* did:web: its DID document; else NULL */
} page_parts_t;

static void parts_free(page_parts_t *p)
{
    free(p->json);
    free(p->did_doc);
    buf_free(&p->png);
    buf_free(&p->html);
    json_decref(p->lists);
    memset(p, 0, sizeof *p);
}

/* Every revocation list (1..lists: badges name the one they are on, and key rotations or full
 * lists start new ones) and the issuer's did:web document, as the daemon has them now. */
static int fetch_public(ctl_t *ctl, json_t **lists, char **did_doc)
{
    *lists = json_array();
    *did_doc = NULL;
    Mastery__V1__Reply *rep = NULL;
    uint32_t count = 1;
    int rc = 0;
    for (uint32_t n = 1; rc == 0 && n <= count; n++) {
        Mastery__V1__ExportStatusList op = MASTERY__V1__EXPORT_STATUS_LIST__INIT;
        op.purpose = "revocation";
        op.list = n;
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_EXPORT_STATUS_LIST;
        req.export_status_list = &op;
        if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_STATUS_LIST, &rep)) != 0)
            return rc;
        count = rep->status_list->lists;
        json_array_append_new(*lists, json_string(rep->status_list->json));
        mc_reply_free(rep);
    }
    Mastery__V1__GetIssuer gi = MASTERY__V1__GET_ISSUER__INIT;
    Mastery__V1__Request r2 = MASTERY__V1__REQUEST__INIT;
    r2.op_case = MASTERY__V1__REQUEST__OP_GET_ISSUER;
    r2.get_issuer = &gi;
    if ((rc = request(ctl, &r2, true, MASTERY__V1__REPLY__RESULT_ISSUER, &rep)) != 0)
        return rc;
    if (strncmp(rep->issuer->did, "did:web:", 8) == 0 && rep->issuer->did_document[0] != '\0')
        *did_doc = xstrdup(rep->issuer->did_document);
    mc_reply_free(rep);
    return 0;
}

static int build_page(ctl_t *ctl, const char *id, const char *public_url, const char *verifier,
                      json_t *lists, const char *did_doc, page_parts_t *p)
{
    Mastery__V1__Reply *rep = NULL;
    int rc = fetch_credential(ctl, id, false, &rep);
    if (rc != 0)
        return rc;
    p->json = xstrdup(rep->credential->document);
    const Mastery__V1__CredentialInfo *info = rep->credential->info;
    uint32_t seed = info ? fnv1a(info->framework_id, info->competency_id) : 0;
    mc_reply_free(rep);
    slug_of(id, p->slug, sizeof p->slug);
    json_t *doc = json_loads(p->json, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        fprintf(stderr, "%s: %s: the daemon returned a credential that is not JSON\n", progname,
                id);
        return CTL_ERR_REPLY;
    }
    const char *name = jget(doc, "credentialSubject.achievement.name");
    const char *desc = jget(doc, "credentialSubject.achievement.description");
    const char *crit = jget(doc, "credentialSubject.achievement.criteria.narrative");
    const char *img = jget(doc, "credentialSubject.achievement.image");
    const char *issuer = jget(doc, "issuer.name");
    const char *from = jget(doc, "validFrom");

    /* the picture: the achievement's own (a data: URI), or the default medal */
    buf_t pic, svg, card, data;
    buf_init(&pic, BAKE_MAX_IMAGE);
    buf_init(&svg, BAKE_MAX_IMAGE);
    buf_init(&card, PAGE_MAX);
    buf_init(&data, PAGE_MAX);
    buf_init(&p->png, BAKE_MAX_IMAGE);
    buf_init(&p->html, PAGE_MAX);
    err_detail_t d;
    bool own = data_image(img, &pic) && bake_sniff(pic.data, pic.len) == BAKE_FORMAT_PNG;
    if (!own) {
        buf_reset(&pic);
        rc = bake_default_png(seed, &pic, &d);
    }
    if (rc == 0)
        rc = bake_png(pic.data, pic.len, BAKE_OPEN_BADGE, p->json, strlen(p->json), &p->png, &d);
    if (rc == 0 && !(img != NULL && strncmp(img, "data:image/", 11) == 0))
        rc = bake_default_svg(seed, name, &svg, &d);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, id, d.message);
        rc = CTL_ERR_REPLY;
        goto out;
    }

    /* the card above the verifier */
    html_t c = {&card, 0};
    put(&c, "<article id=\"badge-card\" style=\"background:#fff;border-radius:.75rem;"
            "padding:1rem 1.5rem;margin:1rem 0\">\n<img id=\"badge-image\" "
            "style=\"float:right;max-width:10rem\" alt=\"\" src=\"");
    if (svg.len > 0) {
        put(&c, "data:image/svg+xml;base64,");
        put_b64(&c, svg.data, svg.len);
    } else
        put_text(&c, img);
    put(&c, "\">\n<h1 id=\"badge-name\">");
    put_text(&c, name ? name : "Badge");
    put(&c, "</h1>\n");
    if (desc != NULL) {
        put(&c, "<p>");
        put_text(&c, desc);
        put(&c, "</p>\n");
    }
    if (crit != NULL) {
        put(&c, "<p><b>What it took:</b> ");
        put_text(&c, crit);
        put(&c, "</p>\n");
    }
    put(&c, "<p>Awarded by <b>");
    put_text(&c, issuer ? issuer : "the issuer");
    put(&c, "</b>");
    if (from != NULL) {
        put(&c, " on ");
        put_text(&c, from);
    }
    put(&c, ".</p>\n<p><a id=\"download-png\" download=\"");
    put_text(&c, p->slug);
    put(&c, ".png\" href=\"data:image/png;base64,");
    put_b64(&c, p->png.data, p->png.len);
    put(&c, "\">Download the badge image (PNG, the credential inside)</a> &middot; "
            "<a id=\"download-json\" download=\"");
    put_text(&c, p->slug);
    put(&c, ".json\" href=\"data:application/json;base64,");
    put_b64(&c, p->json, strlen(p->json));
    put(&c, "\">Download the credential (JSON, for a wallet)</a></p>\n");
    if (public_url != NULL) {
        char url[2048];
        snprintf(url, sizeof url, "%s%sbadges/%s.html", public_url,
                 public_url[strlen(public_url) - 1] == '/' ? "" : "/", p->slug);
        put(&c, "<figure style=\"margin:0\">");
        if (c.rc == 0)
            c.rc = qr_svg(url, &card);
        put(&c, "<figcaption>This page: <a id=\"public-url\" href=\"");
        put_text(&c, url);
        put(&c, "\">");
        put_text(&c, url);
        put(&c, "</a></figcaption></figure>\n");
    }
    put(&c, "</article>\n");

    /* what the page checks when it opens */
    json_t *emb = json_pack("{s:s,s:O,s:o}", "badge", p->json, "statusLists", lists, "didDocuments",
                            did_doc ? json_pack("[s]", did_doc) : json_array());
    html_t e = {&data, emb == NULL ? ERR_NOMEM : 0};
    put(&e, "<script type=\"application/json\" id=\"embedded-badge\">");
    if (e.rc == 0)
        e.rc = script_json(&data, emb);
    put(&e, "</script>");
    json_decref(emb);

    buf_t t1, t2, tt;
    buf_init(&t1, PAGE_MAX);
    buf_init(&t2, PAGE_MAX);
    buf_init(&tt, 4096);
    html_t t = {&tt, 0};
    put(&t, "<title>");
    put_text(&t, name ? name : "Badge");
    put(&t, " &middot; badge</title>");
    rc = c.rc != 0 ? c.rc : e.rc != 0 ? e.rc : t.rc;
    if (rc == 0)
        rc = splice(&t1, verifier, "<title>Check a badge</title>", tt.data);
    if (rc == 0)
        rc = splice(&t2, t1.data, "<!--BEFORE-->", card.data);
    if (rc == 0)
        rc = splice(&p->html, t2.data, "<!--DATA-->", data.data);
    buf_free(&t1);
    buf_free(&t2);
    buf_free(&tt);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: the verifier page has no place for the badge (rebuild it)\n",
                progname, id);
        rc = CTL_ERR_REPLY;
    }
out:
    json_decref(doc);
    buf_free(&pic);
    buf_free(&svg);
    buf_free(&card);
    buf_free(&data);
    return rc;
}

int cmd_credential_page(ctl_t *ctl, const args_t *a)
{
    const char *url = opt_str(a, OPT_PUBLIC_URL, NULL);
    if (url != NULL && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return usage_error(ctl, "--public-url: \"%s\" is not an http(s) URL", url);
    char *verifier = NULL;
    size_t vlen = 0;
    int rc = load_verifier(&verifier, &vlen);
    if (rc != 0)
        return rc;
    page_parts_t p;
    memset(&p, 0, sizeof p);
    rc = fetch_public(ctl, &p.lists, &p.did_doc);
    if (rc == 0)
        rc = build_page(ctl, a->pos[0], url, verifier, p.lists, p.did_doc, &p);
    if (rc == 0)
        rc = write_output(ctl, opt_str(a, OPT_OUTPUT, NULL), p.html.data, p.html.len);
    parts_free(&p);
    free(verifier);
    return rc;
}

static int write_in(ctl_t *ctl, const char *dir, const char *rel, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    /* the directories on the way */
    for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
            return CTL_ERR_REPLY;
        }
        *s = '/';
    }
    return write_output(ctl, path, data, len);
}

/* The path a status list is served at: its id's path ("https://s.example/status/revocation"
 * -> "status/revocation"); a non-http id goes to status/<purpose>.json. */
static void list_path(const char *list_json, char *out, size_t cap)
{
    json_t *l = json_loads(list_json, 0, NULL);
    const char *id = json_string_value(json_object_get(l, "id"));
    const char *p = NULL;
    if (id != NULL && (strncmp(id, "https://", 8) == 0 || strncmp(id, "http://", 7) == 0))
        p = strchr(strstr(id, "//") + 2, '/');
    if (p != NULL && p[1] != '\0' && strstr(p, "..") == NULL && strchr(p, '?') == NULL)
        snprintf(out, cap, "%s", p + 1);
    else
        snprintf(out, cap, "status/revocation.json");
    json_decref(l);
}

int cmd_credential_publish(ctl_t *ctl, const args_t *a)
{
    const char *dir = a->pos[0];
    const char *url = opt_str(a, OPT_PUBLIC_URL, NULL);
    if (url != NULL && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return usage_error(ctl, "--public-url: \"%s\" is not an http(s) URL", url);
    if (a->npos < 2 && !a->set[OPT_LEARNER])
        return usage_error(ctl, "name credentials (IDs) or --learner L");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s: %s\n", progname, dir, strerror(errno));
        return CTL_USAGE;
    }
    char *verifier = NULL;
    size_t vlen = 0;
    int rc = load_verifier(&verifier, &vlen);
    if (rc != 0)
        return rc;
    json_t *ids = json_array(), *lists = NULL;
    char *did_doc = NULL;
    for (int i = 1; i < a->npos; i++)
        json_array_append_new(ids, json_string(a->pos[i]));
    if (a->set[OPT_LEARNER]) {
        Mastery__V1__ListCredentials op = MASTERY__V1__LIST_CREDENTIALS__INIT;
        op.learner_id = (char *)a->val[OPT_LEARNER];
        Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
        req.op_case = MASTERY__V1__REQUEST__OP_LIST_CREDENTIALS;
        req.list_credentials = &op;
        Mastery__V1__Reply *rep = NULL;
        if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL_LIST, &rep)) != 0)
            goto out;
        for (size_t i = 0; i < rep->credential_list->n_credentials; i++)
            json_array_append_new(ids,
                                  json_string(rep->credential_list->credentials[i]->credential_id));
        mc_reply_free(rep);
    }
    if ((rc = fetch_public(ctl, &lists, &did_doc)) != 0)
        goto out;
    size_t i;
    json_t *v;
    size_t n = 0;
    json_array_foreach(ids, i, v)
    {
        page_parts_t p;
        memset(&p, 0, sizeof p);
        rc = build_page(ctl, json_string_value(v), url, verifier, lists, did_doc, &p);
        char rel[160];
        if (rc == 0) {
            snprintf(rel, sizeof rel, "badges/%s.html", p.slug);
            rc = write_in(ctl, dir, rel, p.html.data, p.html.len);
        }
        if (rc == 0) {
            snprintf(rel, sizeof rel, "badges/%s.json", p.slug);
            rc = write_in(ctl, dir, rel, p.json, strlen(p.json));
        }
        if (rc == 0) {
            snprintf(rel, sizeof rel, "badges/%s.png", p.slug);
            rc = write_in(ctl, dir, rel, p.png.data, p.png.len);
        }
        parts_free(&p);
        if (rc != 0)
            goto out;
        n++;
    }
    json_array_foreach(lists, i, v)
    {
        char rel[1024];
        list_path(json_string_value(v), rel, sizeof rel);
        if ((rc = write_in(ctl, dir, rel, json_string_value(v), strlen(json_string_value(v)))) != 0)
            goto out;
    }
    if (did_doc != NULL &&
        (rc = write_in(ctl, dir, ".well-known/did.json", did_doc, strlen(did_doc))) != 0)
        goto out;
    if ((rc = write_in(ctl, dir, "verify.html", verifier, vlen)) != 0)
        goto out;
    if (ctl->json)
        emit_json(json_pack("{s:s,s:I,s:b}", "dir", dir, "credentials", (json_int_t)n,
                            "did_document", did_doc != NULL));
    else
        printf("%s: %zu badge page(s), status list, %sverify.html\n", dir, n,
               did_doc ? ".well-known/did.json, " : "");
out:
    json_decref(ids);
    json_decref(lists);
    free(did_doc);
    free(verifier);
    return rc;
}
