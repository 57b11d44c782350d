/*
 * masteryctl framework import-case: a 1EdTech CASE package becomes a framework (the daemon
 * converts it; lib/import/casepkg.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "masteryctl.h"

int cmd_framework_import_case(ctl_t *ctl, const args_t *a)
{
    const char *gate = opt_str(a, OPT_GATE, "precedes");
    if (strcmp(gate, "precedes") != 0 && strcmp(gate, "none") != 0)
        return usage_error(ctl, "--gate: \"%s\" is not precedes or none", gate);
    for (size_t i = 0; i < a->n_multi; i++)
        if (strchr(a->multi[i], '=') == NULL)
            return usage_error(ctl, "--rule: \"%s\" is not ITEM_ID=METHOD[:threshold]",
                               a->multi[i]);
    if (a->set[OPT_CASE_ID] && a->val[OPT_CASE_ID][0] == '\0')
        return usage_error(ctl, "--id: must not be empty");
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(a->pos[0], MAX_FILE_BYTES, &text, &len);
    if (rc != 0)
        return rc;
    Mastery__V1__ImportCase imp = MASTERY__V1__IMPORT_CASE__INIT;
    imp.package_json = text;
    imp.framework_id = (char *)opt_str(a, OPT_CASE_ID, "");
    imp.gate = (char *)gate;
    imp.badges = a->set[OPT_BADGES];
    imp.n_rules = a->n_multi;
    imp.rules = (char **)a->multi;
    Mastery__V1__Request req = MASTERY__V1__REQUEST__INIT;
    req.op_case = MASTERY__V1__REQUEST__OP_IMPORT_CASE;
    req.import_case = &imp;
    Mastery__V1__Reply *rep = NULL;
    /* Not resent: every import makes a new revision. */
    rc = request(ctl, &req, false, MASTERY__V1__REPLY__RESULT_IMPORT_CASE, &rep);
    free(text);
    if (rc != 0)
        return rc;
    const Mastery__V1__ImportCaseResult *r = rep->import_case;
    const Mastery__V1__FrameworkInfo *fi = r->info;
    if (ctl->json) {
        json_t *o = fi ? framework_info_json(fi) : json_object();
        json_t *w = json_array();
        for (size_t i = 0; i < r->n_warnings; i++)
            json_array_append_new(w, jstr(r->warnings[i]));
        json_object_set_new(o, "summary", jstr(r->summary));
        json_object_set_new(o, "warnings", w);
        emit_json(o);
    } else {
        if (fi)
            printf("imported %s revision %" PRIu32 ": %" PRIu32 " competencies\n", fi->framework_id,
                   fi->revision, fi->competency_count);
        printf("%s\n", r->summary);
        for (size_t i = 0; i < r->n_warnings; i++)
            printf("warning: %s\n", r->warnings[i]);
    }
    mc_reply_free(rep);
    return 0;
}
