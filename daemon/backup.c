#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "isotime.h"

#define BACKUP_PATH_MAX 4096
#define BACKUP_DIR_MAX  2048

static int note(backup_report_t *r, const char *rel)
{
    if (r->n_files >= BACKUP_FILES_MAX)
        return ERR_LIMIT;
    snprintf(r->files[r->n_files++], sizeof r->files[0], "%s", rel);
    return 0;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Copies src to a new file dst with mode, fsynced. */
static int copy_file(const char *src, const char *dst, mode_t mode, err_detail_t *d)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err_set(d, ERR_UNAVAILABLE, "backup", "cannot read %s: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        return err_set(d, ERR_UNAVAILABLE, "backup", "cannot create %s: %s", dst, strerror(e));
    }
    char buf[16384];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    }
    if (n < 0 || fchmod(out, mode) != 0 || fsync(out) != 0)
        rc = err_set(d, ERR_UNAVAILABLE, "backup", "cannot copy %s to %s: %s", src, dst,
                     strerror(errno));
    close(in);
    close(out);
    return rc;
}

/* dir: absolute, and new or an empty directory; made 0700. */
static int prepare_dir(const char *dir, err_detail_t *d)
{
    if (dir[0] != '/' || strlen(dir) >= BACKUP_DIR_MAX)
        return err_set(d, ERR_INVALID, "backup.dir",
                       "'%.200s' is not an absolute path (of at most %d bytes) on the daemon's "
                       "host",
                       dir, BACKUP_DIR_MAX - 1);
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return err_set(d, ERR_UNAVAILABLE, "backup.dir", "cannot create %s: %s", dir,
                       strerror(errno));
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return err_set(d, ERR_INVALID, "backup.dir", "%s exists and is not a directory", dir);
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(dp)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = false;
    closedir(dp);
    if (!empty)
        return err_set(d, ERR_INVALID, "backup.dir",
                       "%s is not empty: back up into a new directory", dir);
    if (chmod(dir, 0700) != 0)
        return err_set(d, ERR_UNAVAILABLE, "backup.dir", "cannot chmod %s: %s", dir,
                       strerror(errno));
    return 0;
}

/* Every regular file of the key directory, 0600, into DIR/keys (0700). */
static int copy_keys(const char *key_dir, const char *dir, backup_report_t *r, err_detail_t *d)
{
    char to[BACKUP_PATH_MAX], src[BACKUP_PATH_MAX], dst[BACKUP_PATH_MAX], rel[96];
    snprintf(to, sizeof to, "%s/keys", dir);
    if (mkdir(to, 0700) != 0)
        return err_set(d, ERR_UNAVAILABLE, "backup", "cannot create %s: %s", to, strerror(errno));
    DIR *dp = opendir(key_dir);
    if (dp == NULL)
        return err_set(d, ERR_UNAVAILABLE, "backup", "cannot read %s: %s", key_dir,
                       strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dp)) != NULL) {
        struct stat st;
        snprintf(src, sizeof src, "%.3000s/%.255s", key_dir, e->d_name);
        if (e->d_name[0] == '.' || strlen(e->d_name) > 80 || lstat(src, &st) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        snprintf(dst, sizeof dst, "%.3000s/%.80s", to, e->d_name);
        snprintf(rel, sizeof rel, "keys/%.80s", e->d_name);
        if ((rc = copy_file(src, dst, 0600, d)) == 0 && (rc = note(r, rel)) != 0)
            err_set(d, rc, "backup", "more than %d files to back up", BACKUP_FILES_MAX);
    }
    closedir(dp);
    if (rc == 0 && sync_dir(to) != 0)
        rc = err_set(d, ERR_UNAVAILABLE, "backup", "cannot sync %s: %s", to, strerror(errno));
    return rc;
}

/* Copies src (when it exists) to DIR/name. */
static int copy_optional(const char *src, const char *dir, const char *name, mode_t mode,
                         backup_report_t *r, err_detail_t *d)
{
    char dst[BACKUP_PATH_MAX];
    if (src[0] == '\0' || access(src, F_OK) != 0)
        return 0;
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    int rc = copy_file(src, dst, mode, d);
    return rc ? rc : note(r, name);
}

static int write_conf(const conf_t *conf, const char *dir, backup_report_t *r, err_detail_t *d)
{
    char path[BACKUP_PATH_MAX];
    snprintf(path, sizeof path, "%s/masteryd.conf", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        return err_set(d, ERR_UNAVAILABLE, "backup", "cannot create %s: %s", path, strerror(errno));
    }
    fprintf(f, "# masteryd settings in effect when this backup was taken (masteryd -n)\n");
    conf_dump(conf, f);
    int rc = fflush(f) != 0 || fsync(fileno(f)) != 0;
    rc |= fclose(f) != 0;
    if (rc)
        return err_set(d, ERR_UNAVAILABLE, "backup", "cannot write %s", path);
    return note(r, "masteryd.conf");
}

static int write_manifest(const char *dir, int64_t now, const backup_report_t *r, err_detail_t *d)
{
    char at[ISOTIME_BUFSZ], path[BACKUP_PATH_MAX], tmp[BACKUP_PATH_MAX];
    isotime_format_s(now, at, sizeof at);
    json_t *files = json_array();
    for (uint32_t i = 0; i < r->n_files && files; i++)
        json_array_append_new(files, json_string(r->files[i]));
    json_t *m =
        json_pack("{s:s, s:s, s:I, s:o}", "created", at, "version", MASTERY_VERSION, "data_bytes",
                  (json_int_t)r->data_bytes, "files", files ? files : json_array());
    snprintf(tmp, sizeof tmp, "%s/backup.json.tmp", dir);
    snprintf(path, sizeof path, "%s/backup.json", dir);
    int rc = m == NULL || json_dump_file(m, tmp, JSON_INDENT(2)) != 0;
    json_decref(m);
    int fd = rc ? -1 : open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0 || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0 ||
        sync_dir(dir) != 0)
        rc = 1;
    if (fd >= 0)
        close(fd);
    return rc ? err_set(d, ERR_UNAVAILABLE, "backup", "cannot write %s", path) : 0;
}

int backup_run(store_t *st, const conf_t *conf, const char *dir, int64_t now, backup_report_t *r,
               err_detail_t *d)
{
    char path[BACKUP_PATH_MAX], key_dir[BACKUP_PATH_MAX], curve[BACKUP_PATH_MAX],
        curve_pub[BACKUP_PATH_MAX + 8];
    memset(r, 0, sizeof *r);
    int rc = prepare_dir(dir, d);
    if (rc != 0)
        return rc;
    if (conf->key_dir[0])
        snprintf(key_dir, sizeof key_dir, "%s", conf->key_dir);
    else
        snprintf(key_dir, sizeof key_dir, "%s/keys", conf->data_dir);
    if (conf->curve_secret_key_file[0])
        snprintf(curve, sizeof curve, "%s", conf->curve_secret_key_file);
    else
        snprintf(curve, sizeof curve, "%s/curve.key", conf->data_dir);
    snprintf(curve_pub, sizeof curve_pub, "%s.pub", curve);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if ((rc = store_copy(st, path, &r->data_bytes, d)) != 0 || (rc = note(r, "data.mdb")) != 0 ||
        (rc = copy_keys(key_dir, dir, r, d)) != 0 ||
        (rc = copy_optional(curve, dir, "curve.key", 0600, r, d)) != 0 ||
        (rc = copy_optional(curve_pub, dir, "curve.key.pub", 0644, r, d)) != 0 ||
        (rc = copy_optional(conf->clients_file, dir, "clients", 0644, r, d)) != 0 ||
        (rc = write_conf(conf, dir, r, d)) != 0)
        return rc;
    if (sync_dir(dir) != 0)
        return err_set(d, ERR_UNAVAILABLE, "backup", "cannot sync %s: %s", dir, strerror(errno));
    return write_manifest(dir, now, r, d);
}
