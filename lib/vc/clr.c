#include "clr.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "isotime.h"

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static json_t *str_array(const char *a, const char *b)
{
    json_t *arr = json_array();
    if (arr == NULL || json_array_append_new(arr, json_string_nocheck(a)) != 0 ||
        (b != NULL && json_array_append_new(arr, json_string_nocheck(b)) != 0)) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* o[key] = v (taking v); NULL v is out of memory. */
static int put_new(json_t *o, const char *key, json_t *v, err_detail_t *d)
{
    if (v == NULL || json_object_set_new_nocheck(o, key, v) != 0)
        return err_set(d, ERR_NOMEM, key, "out of memory");
    return 0;
}

static int put_str(json_t *o, const char *key, const char *v, const char *field, err_detail_t *d)
{
    json_t *s = json_string(v);
    if (s == NULL)
        return err_set(d, ERR_INVALID, field, "%s must be valid UTF-8 text", field);
    return put_new(o, key, s, d);
}

/* The achievement of one signed credential, or ERR_INVALID naming what is missing. */
static int achievement_of(const json_t *c, size_t i, const json_t **ach, const char **id,
                          err_detail_t *d)
{
    const json_t *subj = json_object_get(c, "credentialSubject");
    *ach = json_object_get(subj, "achievement");
    *id = json_string_value(json_object_get(*ach, "id"));
    const json_t *proof = json_object_get(c, "proof");
    if (!json_is_object(c) || (!json_is_object(proof) && !json_is_array(proof)))
        return err_set(d, ERR_INVALID, "credentials", "credentials[%zu] is not a signed credential",
                       i);
    if (!json_is_object(*ach) || empty(*id))
        return err_set(d, ERR_INVALID, "credentials",
                       "credentials[%zu].credentialSubject.achievement.id is missing", i);
    return 0;
}

static bool listed(const json_t *achievements, const char *id)
{
    size_t i;
    const json_t *a;
    json_array_foreach(achievements, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "id")), id) == 0)
            return true;
    }
    return false;
}

static int build_subject(const clr_input_t *in, json_t *subj, err_detail_t *d)
{
    cred_input_t who;
    cred_input_init(&who);
    who.learner_did = in->learner_did;
    who.learner_id = in->learner_id;
    who.salt = in->salt;
    json_t *vcs = json_array(), *achs = json_array();
    int rc;
    if ((rc = put_new(subj, "type", str_array("ClrSubject", NULL), d)) != 0 ||
        (rc = cred_subject_identity(&who, subj, d)) != 0) {
        json_decref(vcs);
        json_decref(achs);
        return rc;
    }
    if ((rc = put_new(subj, "verifiableCredential", vcs, d)) != 0) {
        json_decref(achs);
        return rc;
    }
    if ((rc = put_new(subj, "achievement", achs, d)) != 0)
        return rc;
    for (size_t i = 0; i < in->n_credentials; i++) {
        const json_t *ach;
        const char *id;
        if ((rc = achievement_of(in->credentials[i], i, &ach, &id, d)) != 0)
            return rc;
        if (json_array_append_new(vcs, json_deep_copy(in->credentials[i])) != 0)
            return err_set(d, ERR_NOMEM, "credentials", "out of memory");
        if (!listed(achs, id) && json_array_append_new(achs, json_deep_copy(ach)) != 0)
            return err_set(d, ERR_NOMEM, "credentials", "out of memory");
    }
    if (in->n_associations == 0)
        return 0;
    json_t *assocs = json_array();
    if ((rc = put_new(subj, "association", assocs, d)) != 0)
        return rc;
    for (size_t i = 0; i < in->n_associations; i++) {
        const clr_association_t *a = &in->associations[i];
        if (empty(a->type) || empty(a->source_id) || empty(a->target_id))
            return err_set(d, ERR_INVALID, "associations",
                           "associations[%zu] needs a type, a source and a target", i);
        if (!listed(achs, a->source_id) || !listed(achs, a->target_id))
            return err_set(d, ERR_INVALID, "associations",
                           "associations[%zu] names an achievement that is not in the transcript",
                           i);
        json_t *o = json_object();
        if (o == NULL || json_array_append_new(assocs, o) != 0)
            return err_set(d, ERR_NOMEM, "associations", "out of memory");
        if ((rc = put_new(o, "type", json_string_nocheck("Association"), d)) != 0 ||
            (rc = put_str(o, "associationType", a->type, "associations", d)) != 0 ||
            (rc = put_str(o, "sourceId", a->source_id, "associations", d)) != 0 ||
            (rc = put_str(o, "targetId", a->target_id, "associations", d)) != 0)
            return rc;
    }
    return 0;
}

int clr_build(const clr_input_t *in, json_t **out, err_detail_t *d)
{
    int rc;
    *out = NULL;
    if (empty(in->id))
        return err_set(d, ERR_INVALID, "id", "the transcript needs an id (urn:uuid:...)");
    if (empty(in->name))
        return err_set(d, ERR_INVALID, "name", "the transcript needs a name");
    if (in->n_credentials == 0)
        return err_set(d, ERR_INVALID, "credentials",
                       "the learner has no signed achievement credential to put in a transcript");
    if (in->n_credentials > CLR_CREDENTIALS_MAX)
        return err_set(d, ERR_INVALID, "credentials",
                       "%zu credentials: a transcript holds at most %d (ask for one framework)",
                       in->n_credentials, CLR_CREDENTIALS_MAX);
    char from[ISOTIME_BUFSZ];
    if (isotime_format_s(in->valid_from_ms, from, sizeof from) != 0)
        return err_set(d, ERR_INVALID, "valid_from", "validFrom is out of range");

    json_t *doc = json_object(), *issuer = json_object(), *subj = json_object();
    json_t *ctx = json_array(), *schema = json_array(), *one = json_object();
    if (doc == NULL || issuer == NULL || subj == NULL || ctx == NULL || schema == NULL ||
        one == NULL) {
        json_decref(doc);
        json_decref(issuer);
        json_decref(subj);
        json_decref(ctx);
        json_decref(schema);
        json_decref(one);
        return err_set(d, ERR_NOMEM, "credential", "out of memory");
    }
    /* Attach at once so one json_decref(doc) frees everything on any later failure. */
    if (json_object_set_new_nocheck(doc, "@context", ctx) != 0 ||
        json_object_set_new_nocheck(doc, "issuer", issuer) != 0 ||
        json_object_set_new_nocheck(doc, "credentialSubject", subj) != 0 ||
        json_object_set_new_nocheck(doc, "credentialSchema", schema) != 0 ||
        json_array_append_new(schema, one) != 0) {
        rc = err_set(d, ERR_NOMEM, "credential", "out of memory");
        goto out;
    }
    if (json_array_append_new(ctx, json_string_nocheck(CRED_CONTEXT_VC2)) != 0 ||
        json_array_append_new(ctx, json_string_nocheck(CLR_CONTEXT)) != 0 ||
        json_array_append_new(ctx, json_string_nocheck(CRED_CONTEXT_OB30)) != 0 ||
        json_array_append_new(ctx, json_string_nocheck(CLR_CONTEXT_OB_EXT)) != 0) {
        rc = err_set(d, ERR_NOMEM, "@context", "out of memory");
        goto out;
    }
    if ((rc = put_str(doc, "id", in->id, "id", d)) != 0 ||
        (rc = put_new(doc, "type", str_array("VerifiableCredential", "ClrCredential"), d)) != 0 ||
        (rc = put_str(doc, "name", in->name, "name", d)) != 0 ||
        (!empty(in->description) &&
         (rc = put_str(doc, "description", in->description, "description", d)) != 0) ||
        (rc = put_new(doc, "validFrom", json_string_nocheck(from), d)) != 0 ||
        (rc = cred_issuer_profile(&in->issuer, issuer, d)) != 0 ||
        (rc = put_new(one, "id", json_string_nocheck(CLR_SCHEMA_URL), d)) != 0 ||
        (rc = put_new(one, "type", json_string_nocheck("1EdTechJsonSchemaValidator2019"), d)) !=
            0 ||
        (rc = build_subject(in, subj, d)) != 0)
        goto out;
    *out = doc;
    doc = NULL;
out:
    json_decref(doc);
    return rc;
}
