/*
 * notify: systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram of
 * "NAME=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for
 * the abstract namespace). A unit with Type=notify starts its dependents only after READY=1.
 * Outside systemd ($NOTIFY_SOCKET unset) nothing is sent.
 */
#ifndef MASTERY_NOTIFY_H
#define MASTERY_NOTIFY_H

/*
 * Sends state (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET.
 * @return 1 sent; 0 no $NOTIFY_SOCKET (not under systemd); ERR_INVALID (the variable is not an
 *         absolute path or "@name", or too long for sun_path); ERR_UNAVAILABLE (socket/sendto
 *         failed; errno is kept for log_warn).
 */
int notify_send(const char *state);

#endif
