/*
 * masteryctl credential bake: badges people can show. The signed credential, exactly as the
 * daemon holds it, baked into a picture (lib/vc/bake.h) that any Open Badges 3.0 tool, and
 * mastery-verify, reads back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bake.h"
#include "masteryctl.h"

int fetch_credential(ctl_t *ctl, const char *id, bool jwt, Mastery__V1__Reply **rep)
{
    Mastery__V1__GetCredential op = MASTERY__V1__GET_CREDENTIAL__INIT;
    op.credential_id = (char *)id;
    op.format = jwt ? MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JWT
                    : MASTERY__V1__CREDENTIAL_FORMAT__FORMAT_JSON;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_CREDENTIAL;
    req.get_credential = &op;
    return request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_CREDENTIAL, rep);
}

uint32_t fnv1a(const char *a, const char *b)
{
    uint32_t h = 2166136261u;
    for (const char *s = a; s && *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    h = (h ^ 0) * 16777619u;
    for (const char *s = b; s && *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int write_output(ctl_t *ctl, const char *path, const void *data, size_t len)
{
    if (path == NULL || strcmp(path, "-") == 0) {
        if (isatty(STDOUT_FILENO))
            return usage_error(ctl, "standard output is a terminal: name a file with -o FILE");
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "%s: standard output: %s\n", progname, strerror(errno));
            return CTL_ERR_REPLY;
        }
        return 0;
    }
    size_t n = strlen(path) + 16;
    char *tmp = xcalloc(1, n);
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (f == NULL || fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        rc = CTL_ERR_REPLY;
    }
    if (f != NULL && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        rc = CTL_ERR_REPLY;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        rc = CTL_ERR_REPLY;
    }
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int cmd_credential_bake(ctl_t *ctl, const args_t *a)
{
    bool png = a->set[OPT_PNG], svg = a->set[OPT_SVG];
    if (png && svg)
        return usage_error(ctl, "--png and --svg: give one");
    const char *format = opt_str(a, OPT_FORMAT, "json");
    bool jwt = strcmp(format, "jwt") == 0;
    if (!jwt && strcmp(format, "json") != 0)
        return usage_error(ctl, "--format: \"%s\" is not json or jwt", format);
    char *image = NULL;
    size_t image_len = 0;
    int rc;
    if (a->set[OPT_IMAGE]) {
        if ((rc = read_file(a->val[OPT_IMAGE], BAKE_MAX_IMAGE, &image, &image_len)) != 0)
            return rc;
        bake_format_t f = bake_sniff(image, image_len);
        if (f == BAKE_FORMAT_UNKNOWN) {
            free(image);
            return usage_error(ctl, "--image: %s is neither a PNG nor an SVG", a->val[OPT_IMAGE]);
        }
        if ((png && f != BAKE_FORMAT_PNG) || (svg && f != BAKE_FORMAT_SVG)) {
            free(image);
            return usage_error(ctl, "--image: %s is %s, not %s", a->val[OPT_IMAGE],
                               f == BAKE_FORMAT_PNG ? "a PNG" : "an SVG", png ? "a PNG" : "an SVG");
        }
    } else if (!png && !svg) {
        return usage_error(ctl, "give --png or --svg (or --image FILE)");
    }

    Mastery__V1__Reply *rep = NULL;
    if ((rc = fetch_credential(ctl, a->pos[0], jwt, &rep)) != 0) {
        free(image);
        return rc;
    }
    const Mastery__V1__CredentialDoc *doc = rep->credential;
    const Mastery__V1__CredentialInfo *info = doc->info;
    err_detail_t d;
    buf_t pic, out;
    buf_init(&pic, BAKE_MAX_IMAGE);
    buf_init(&out, BAKE_MAX_IMAGE);
    if (image == NULL) {
        uint32_t seed = info ? fnv1a(info->framework_id, info->competency_id) : 0;
        const char *title = info && info->achievement_name[0] ? info->achievement_name : NULL;
        rc = png ? bake_default_png(seed, &pic, &d) : bake_default_svg(seed, title, &pic, &d);
        if (rc != 0) {
            fprintf(stderr, "%s: default picture: %s\n", progname, d.message);
            rc = CTL_ERR_REPLY;
            goto out;
        }
    }
    const char *img = image ? image : pic.data;
    size_t img_len = image ? image_len : pic.len;
    if (bake_image(img, img_len, BAKE_OPEN_BADGE, doc->document, strlen(doc->document), &out, &d) !=
        0) {
        fprintf(stderr, "%s: %s: %s\n", progname, a->set[OPT_IMAGE] ? a->val[OPT_IMAGE] : "bake",
                d.message);
        rc = d.code == ERR_NOMEM ? CTL_ERR_REPLY : CTL_USAGE;
        goto out;
    }
    rc = write_output(ctl, opt_str(a, OPT_OUTPUT, NULL), out.data, out.len);
    if (rc == 0 && a->set[OPT_OUTPUT] && ctl->json)
        emit_json(json_pack(
            "{s:s,s:s,s:s,s:I}", "credential", a->pos[0], "output", a->val[OPT_OUTPUT], "format",
            bake_format_name(bake_sniff(out.data, out.len)), "bytes", (json_int_t)out.len));
out:
    buf_free(&pic);
    buf_free(&out);
    free(image);
    mc_reply_free(rep);
    return rc;
}

int cmd_learner_transcript(ctl_t *ctl, const args_t *a)
{
    bool png = a->set[OPT_PNG], svg = a->set[OPT_SVG];
    if (png && svg)
        return usage_error(ctl, "--png and --svg: give one");
    char *image = NULL;
    size_t image_len = 0;
    int rc;
    if (a->set[OPT_IMAGE]) {
        if ((rc = read_file(a->val[OPT_IMAGE], BAKE_MAX_IMAGE, &image, &image_len)) != 0)
            return rc;
        bake_format_t f = bake_sniff(image, image_len);
        if (f == BAKE_FORMAT_UNKNOWN || (png && f != BAKE_FORMAT_PNG) ||
            (svg && f != BAKE_FORMAT_SVG)) {
            free(image);
            return usage_error(ctl, "--image: %s is not %s", a->val[OPT_IMAGE],
                               png   ? "a PNG"
                               : svg ? "an SVG"
                                     : "a PNG or an SVG");
        }
    }
    Mastery__V1__IssueTranscript op = MASTERY__V1__ISSUE_TRANSCRIPT__INIT;
    op.learner_id = a->pos[0];
    op.framework_id = (char *)opt_str(a, OPT_FRAMEWORK, "");
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_ISSUE_TRANSCRIPT;
    req.issue_transcript = &op;
    Mastery__V1__Reply *rep = NULL;
    if ((rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_TRANSCRIPT, &rep)) != 0) {
        free(image);
        return rc;
    }
    const Mastery__V1__TranscriptDoc *t = rep->transcript;
    const char *path = opt_str(a, OPT_OUTPUT, NULL);
    err_detail_t d;
    buf_t pic, out;
    buf_init(&pic, BAKE_MAX_IMAGE);
    buf_init(&out, BAKE_MAX_IMAGE);
    const char *data = t->document;
    size_t len = strlen(t->document);
    if (png || svg || image != NULL) {
        if (image == NULL) {
            uint32_t seed = fnv1a("transcript", a->pos[0]);
            rc = png ? bake_default_png(seed, &pic, &d)
                     : bake_default_svg(seed, "Learner record", &pic, &d);
            if (rc != 0) {
                fprintf(stderr, "%s: default picture: %s\n", progname, d.message);
                rc = CTL_ERR_REPLY;
                goto out;
            }
        }
        if (bake_image(image ? image : pic.data, image ? image_len : pic.len, BAKE_CLR, data, len,
                       &out, &d) != 0) {
            fprintf(stderr, "%s: %s: %s\n", progname,
                    a->set[OPT_IMAGE] ? a->val[OPT_IMAGE] : "bake", d.message);
            rc = d.code == ERR_NOMEM ? CTL_ERR_REPLY : CTL_USAGE;
            goto out;
        }
        data = out.data;
        len = out.len;
        rc = write_output(ctl, path, data, len);
    } else if (path != NULL && strcmp(path, "-") != 0) {
        rc = write_output(ctl, path, data, len);
    } else {
        /* JSON on a terminal is readable: print it as credential get does */
        if (fwrite(data, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
            fflush(stdout) != 0) {
            fprintf(stderr, "%s: standard output: %s\n", progname, strerror(errno));
            rc = CTL_ERR_REPLY;
        }
    }
    if (rc == 0 && path != NULL) {
        if (ctl->json)
            emit_json(json_pack("{s:s,s:s,s:I,s:I,s:I}", "transcript", t->id, "output", path,
                                "credentials", (json_int_t)t->credentials, "associations",
                                (json_int_t)t->associations, "bytes", (json_int_t)len));
        else
            fprintf(stderr, "%s: transcript %s: %u credentials, %u associations, %zu bytes -> %s\n",
                    progname, t->id, t->credentials, t->associations, len, path);
    }
out:
    buf_free(&pic);
    buf_free(&out);
    free(image);
    mc_reply_free(rep);
    return rc;
}
