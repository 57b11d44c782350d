/*
 * masteryctl framework load|show|list: framework documents in, as loaded out.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "isotime.h"
#include "masteryctl.h"

json_t *framework_info_json(const Mastery__V1__FrameworkInfo *fi)
{
    return json_pack("{s:o,s:o,s:o,s:I,s:I,s:o}", "framework", jstr(fi->framework_id), "title",
                     jstr(fi->title), "version", jstr(fi->version), "revision",
                     (json_int_t)fi->revision, "competency_count", (json_int_t)fi->competency_count,
                     "loaded_at", jtime(fi->loaded_at_ms));
}

int cmd_framework_load(ctl_t *ctl, const args_t *a)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(a->pos[0], MAX_FILE_BYTES, &text, &len);
    if (rc != 0)
        return rc;
    Mastery__V1__PutFramework put = MASTERY__V1__PUT_FRAMEWORK__INIT;
    put.json = text;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_PUT_FRAMEWORK;
    req.put_framework = &put;
    Mastery__V1__Reply *rep = NULL;
    /* Not resent: every load makes a new revision. */
    rc = request(ctl, &req, false, MASTERY__V1__REPLY__RESULT_FRAMEWORK_INFO, &rep);
    free(text);
    if (rc != 0)
        return rc;
    const Mastery__V1__FrameworkInfo *fi = rep->framework_info;
    if (ctl->json)
        emit_json(framework_info_json(fi));
    else
        printf("loaded %s revision %" PRIu32 ": %" PRIu32 " competencies\n", fi->framework_id,
               fi->revision, fi->competency_count);
    mc_reply_free(rep);
    return 0;
}

int cmd_framework_show(ctl_t *ctl, const args_t *a)
{
    uint64_t revision = 0;
    int rc = opt_u64(ctl, a, OPT_REVISION, 1, UINT32_MAX, &revision);
    if (rc != 0)
        return rc;
    Mastery__V1__GetFramework get = MASTERY__V1__GET_FRAMEWORK__INIT;
    get.framework_id = a->pos[0];
    get.revision = (uint32_t)revision;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_GET_FRAMEWORK;
    req.get_framework = &get;
    Mastery__V1__Reply *rep = NULL;
    rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK, &rep);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loads(rep->framework->json, 0, &jerr);
    if (doc == NULL)
        printf("%s\n", rep->framework->json); /* not ours to judge: print as stored */
    else if (ctl->json)
        emit_json(doc);
    else {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        fputc('\n', stdout);
        json_decref(doc);
    }
    mc_reply_free(rep);
    return 0;
}

int cmd_framework_list(ctl_t *ctl, const args_t *a)
{
    (void)a;
    Mastery__V1__ListFrameworks list = MASTERY__V1__LIST_FRAMEWORKS__INIT;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_LIST_FRAMEWORKS;
    req.list_frameworks = &list;
    Mastery__V1__Reply *rep = NULL;
    int rc = request(ctl, &req, true, MASTERY__V1__REPLY__RESULT_FRAMEWORK_LIST, &rep);
    if (rc != 0)
        return rc;
    const Mastery__V1__FrameworkList *fl = rep->framework_list;
    if (ctl->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < fl->n_frameworks; i++)
            json_array_append_new(arr, framework_info_json(fl->frameworks[i]));
        emit_json(json_pack("{s:o}", "frameworks", arr));
    } else {
        table_t t = {
            .ncols = 6,
            .head = {"FRAMEWORK", "REVISION", "VERSION", "COMPETENCIES", "LOADED AT", "TITLE"},
            .right = {false, true, false, true, false, false}};
        for (size_t i = 0; i < fl->n_frameworks; i++) {
            const Mastery__V1__FrameworkInfo *fi = fl->frameworks[i];
            char rev[16], count[16], at[ISOTIME_BUFSZ];
            snprintf(rev, sizeof rev, "%" PRIu32, fi->revision);
            snprintf(count, sizeof count, "%" PRIu32, fi->competency_count);
            text_time(fi->loaded_at_ms, at, sizeof at);
            table_row(&t, fi->framework_id, rev, fi->version, count, at, fi->title);
        }
        table_print(&t, stdout);
        table_free(&t);
    }
    mc_reply_free(rep);
    return 0;
}
