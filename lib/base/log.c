#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool log_foreground = true;
static int log_verbose = 0;

void log_init(bool foreground, int verbose, const char *ident)
{
    log_foreground = foreground || access("/dev/log", W_OK) != 0;
    log_verbose = verbose;
    if (!log_foreground)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool log_to_syslog(void)
{
    return !log_foreground;
}

__attribute__((format(printf, 3, 0))) static void log_vwrite(int priority, const char *errtext,
                                                             const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    if (log_foreground) {
        struct timespec now;
        struct tm tm;
        char stamp[32];
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        if (errtext)
            fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, now.tv_nsec / 1000000, line, errtext);
        else
            fprintf(stderr, "%s.%03ldZ %s\n", stamp, now.tv_nsec / 1000000, line);
        fflush(stderr);
    } else if (errtext) {
        syslog(priority, "%s: %s", line, errtext);
    } else {
        syslog(priority, "%s", line);
    }
}

void log_warn(const char *fmt, ...)
{
    const char *errtext = strerror(errno);
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_WARNING, errtext, fmt, ap);
    va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_WARNING, NULL, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_INFO, NULL, fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    if (log_verbose < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_DEBUG, NULL, fmt, ap);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    const char *errtext = strerror(errno);
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_CRIT, errtext, fmt, ap);
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_CRIT, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}
