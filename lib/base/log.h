/*
 * log: OpenBSD-style logging. To stderr in the foreground, to syslog otherwise; and to stderr
 * when there is no syslog to write to (no /dev/log, e.g. in a container), so nothing is lost.
 *
 * log_warn() appends strerror(errno); log_warnx() does not. log_debug() prints only at
 * verbosity >= 1. fatal()/fatalx() log and exit(1). Never pass key material to these.
 */
#ifndef MASTERY_LOG_H
#define MASTERY_LOG_H

#include <stdbool.h>

/* foreground: stderr instead of syslog; verbose: 0 quiet debug, 1 debug on. Without a
 * syslog socket (/dev/log) it logs to stderr whatever foreground says. */
void log_init(bool foreground, int verbose, const char *ident);

/* Whether lines go to syslog (false: to stderr). */
bool log_to_syslog(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
