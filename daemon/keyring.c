#include "keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYRING_PATH_MAX 4096
#define KEYRING_MAX_KEYS 1024

#define KEYRING_DIR_MAX 2048 /* leaves room for file names under KEYRING_PATH_MAX */

struct keyring {
    char dir[KEYRING_DIR_MAX];
    keyring_entry_t *keys;
    uint32_t count, cap;
};

static const char *alg_name(keys_alg_t alg)
{
    return alg == KEYS_RSA ? "RSA" : "Ed25519";
}

static int entry_add(keyring_t *kr, keys_t **key, keys_alg_t alg, int64_t created, bool current)
{
    if (kr->count == kr->cap) {
        uint32_t cap = kr->cap ? kr->cap * 2 : 8;
        keyring_entry_t *grown = realloc(kr->keys, cap * sizeof *grown);
        if (grown == NULL)
            return ERR_NOMEM;
        kr->keys = grown;
        kr->cap = cap;
    }
    keyring_entry_t *e = &kr->keys[kr->count];
    memset(e, 0, sizeof *e);
    if (keys_id(*key, e->id, sizeof e->id) != 0)
        return ERR_INTERNAL;
    e->key = *key;
    e->alg = alg;
    e->created_at = created;
    e->current = current;
    *key = NULL;
    kr->count++;
    return 0;
}

static void file_name(char *out, size_t cap, keys_alg_t alg, int64_t created)
{
    snprintf(out, cap, "%s-%lld.pem", alg == KEYS_RSA ? "rsa" : "ed25519", (long long)created);
}

/* Writes keyring.json atomically: temp file, fsync, rename, fsync the directory. */
static int registry_save(const keyring_t *kr, err_detail_t *d)
{
    json_t *list = json_array();
    for (uint32_t i = 0; i < kr->count && list; i++) {
        const keyring_entry_t *e = &kr->keys[i];
        char name[64];
        file_name(name, sizeof name, e->alg, e->created_at);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:b}", "id", e->id, "alg",
                                              alg_name(e->alg), "file", name, "created_ms",
                                              (json_int_t)e->created_at, "current", e->current));
    }
    char *text = list ? json_dumps(list, JSON_INDENT(2)) : NULL;
    json_decref(list);
    if (text == NULL)
        return err_set(d, ERR_NOMEM, "keyring", "out of memory");
    char tmp[KEYRING_PATH_MAX], path[KEYRING_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/keyring.json.tmp", kr->dir);
    snprintf(path, sizeof path, "%s/keyring.json", kr->dir);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0 || rename(tmp, path) != 0)
        rc = err_set(d, ERR_UNAVAILABLE, "keyring", "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(text);
    if (rc == 0) {
        int dfd = open(kr->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

static int generate_pair(keyring_t *kr, int64_t now, err_detail_t *d)
{
    static const keys_alg_t algs[] = {KEYS_ED25519, KEYS_RSA};
    for (size_t i = 0; i < 2; i++) {
        keys_t *k = NULL;
        char name[64], path[KEYRING_PATH_MAX];
        int rc = keys_generate(algs[i], &k, d);
        if (rc != 0)
            return rc;
        file_name(name, sizeof name, algs[i], now);
        snprintf(path, sizeof path, "%s/%s", kr->dir, name);
        if ((rc = keys_save(k, path, 0, d)) != 0 ||
            (rc = entry_add(kr, &k, algs[i], now, true)) != 0) {
            keys_destroy(&k);
            return rc;
        }
    }
    return 0;
}

static int registry_load(keyring_t *kr, const char *path, err_detail_t *d)
{
    json_error_t je;
    json_t *list = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (list == NULL || !json_is_array(list) || json_array_size(list) > KEYRING_MAX_KEYS) {
        json_decref(list);
        return err_set(d, ERR_INVALID, path, "not a key list: %s", list ? "" : je.text);
    }
    int rc = 0;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *alg = NULL, *file = NULL;
        char kpath[KEYRING_PATH_MAX];
        json_int_t created = 0;
        int current = 0;
        if (json_unpack(item, "{s:s, s:s, s:I, s:b}", "alg", &alg, "file", &file, "created_ms",
                        &created, "current", &current) != 0 ||
            strchr(file, '/') != NULL || strlen(file) > 256) {
            rc = err_set(d, ERR_INVALID, path, "entry %zu is malformed", i);
            break;
        }
        snprintf(kpath, sizeof kpath, "%s/%.256s", kr->dir, file);
        keys_t *k = NULL;
        if ((rc = keys_load(kpath, &k, d)) != 0)
            break;
        keys_alg_t a = keys_alg(k);
        if (strcmp(alg, alg_name(a)) != 0) {
            keys_destroy(&k);
            rc = err_set(d, ERR_INVALID, kpath, "is not an %s key", alg);
            break;
        }
        if ((rc = entry_add(kr, &k, a, created, current != 0)) != 0) {
            keys_destroy(&k);
            break;
        }
    }
    json_decref(list);
    return rc;
}

int keyring_open(const char *dir, int64_t now, keyring_t **out, err_detail_t *d)
{
    keyring_t *kr = calloc(1, sizeof *kr);
    if (kr == NULL)
        return err_set(d, ERR_NOMEM, "keyring", "out of memory");
    int rc;
    if (strlen(dir) >= sizeof kr->dir) {
        rc = err_set(d, ERR_INVALID, "keyring", "key directory path too long");
        goto fail;
    }
    snprintf(kr->dir, sizeof kr->dir, "%s", dir);
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = err_set(d, ERR_UNAVAILABLE, "keyring", "cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = err_set(d, ERR_UNAVAILABLE, "keyring", "%s is not a directory", dir);
        goto fail;
    }
    if (st.st_mode & 077) {
        rc = err_set(d, ERR_FORBIDDEN, "keyring",
                     "%s is open to group or others (mode %03o): chmod 700 it", dir,
                     st.st_mode & 0777);
        goto fail;
    }
    char path[KEYRING_PATH_MAX];
    snprintf(path, sizeof path, "%s/keyring.json", dir);
    if (access(path, F_OK) == 0) {
        if ((rc = registry_load(kr, path, d)) != 0)
            goto fail;
    } else if ((rc = generate_pair(kr, now, d)) != 0 || (rc = registry_save(kr, d)) != 0) {
        goto fail;
    }
    if (keyring_current(kr, KEYS_ED25519) == NULL || keyring_current(kr, KEYS_RSA) == NULL) {
        rc = err_set(d, ERR_INVALID, "keyring", "%s names no current Ed25519 and RSA key", path);
        goto fail;
    }
    *out = kr;
    return 0;
fail:
    keyring_destroy(&kr);
    return rc;
}

bool keyring_present(const char *dir)
{
    char path[KEYRING_PATH_MAX];
    snprintf(path, sizeof path, "%s/keyring.json", dir);
    return access(path, F_OK) == 0;
}

void keyring_destroy(keyring_t **krp)
{
    if (krp == NULL || *krp == NULL)
        return;
    keyring_t *kr = *krp;
    for (uint32_t i = 0; i < kr->count; i++)
        keys_destroy(&kr->keys[i].key);
    free(kr->keys);
    free(kr);
    *krp = NULL;
}

keyring_entry_t *keyring_current(keyring_t *kr, keys_alg_t alg)
{
    keyring_entry_t *found = NULL;
    for (uint32_t i = 0; i < kr->count; i++)
        if (kr->keys[i].current && kr->keys[i].alg == alg)
            found = &kr->keys[i]; /* the newest current one wins */
    return found;
}

keyring_entry_t *keyring_find(keyring_t *kr, const char *id)
{
    for (uint32_t i = 0; i < kr->count; i++)
        if (strcmp(kr->keys[i].id, id) == 0)
            return &kr->keys[i];
    return NULL;
}

uint32_t keyring_count(const keyring_t *kr)
{
    return kr->count;
}

keyring_entry_t *keyring_at(keyring_t *kr, uint32_t i)
{
    return i < kr->count ? &kr->keys[i] : NULL;
}

int keyring_rotate(keyring_t *kr, int64_t now, err_detail_t *d)
{
    uint32_t before = kr->count;
    bool *was = calloc(before ? before : 1, sizeof *was);
    if (was == NULL)
        return err_set(d, ERR_NOMEM, "keyring", "out of memory");
    for (uint32_t i = 0; i < before; i++) {
        was[i] = kr->keys[i].current;
        kr->keys[i].current = false;
    }
    int rc = generate_pair(kr, now, d);
    if (rc == 0)
        rc = registry_save(kr, d);
    if (rc != 0) { /* back to what it was; new key files may remain, unreferenced */
        while (kr->count > before)
            keys_destroy(&kr->keys[--kr->count].key);
        for (uint32_t i = 0; i < before; i++)
            kr->keys[i].current = was[i];
    }
    free(was);
    return rc;
}
