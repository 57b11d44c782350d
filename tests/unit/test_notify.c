/*
 * Unit tests for notify (systemd readiness without libsystemd): the datagram arrives, whole,
 * on a real AF_UNIX datagram socket, by path and in the abstract namespace; without
 * $NOTIFY_SOCKET nothing is sent; a malformed variable is refused; a socket nobody listens on
 * is an error, not a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "notify.h"

/* Binds a datagram socket to name (a path, or "@name": abstract). Returns the fd. */
static int listener(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    assert_int_equal(
        bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
        0);
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    char got[512];
    ssize_t n = recv(fd, got, sizeof got - 1, MSG_DONTWAIT);
    assert_int_equal(n, (ssize_t)strlen(want));
    got[n] = '\0';
    assert_string_equal(got, want);
}

static void test_path_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/notify-test-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = listener(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(notify_send("READY=1\nSTATUS=serving"), 1);
    expect_datagram(fd, "READY=1\nSTATUS=serving");
    assert_int_equal(notify_send("STOPPING=1"), 1);
    expect_datagram(fd, "STOPPING=1");
    close(fd);
    /* nobody listening any more: an error the daemon logs, never a crash */
    assert_int_equal(notify_send("READY=1"), ERR_UNAVAILABLE);
    unlink(path);
    rmdir(dir);
    unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@masteryd-notify-test-%ld", (long)getpid());
    int fd = listener(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(notify_send("READY=1"), 1);
    expect_datagram(fd, "READY=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

static void test_not_under_systemd(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(notify_send("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(notify_send("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(notify_send("READY=1"), ERR_INVALID);
    char longp[300];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    setenv("NOTIFY_SOCKET", longp, 1);
    assert_int_equal(notify_send("READY=1"), ERR_INVALID);
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_not_under_systemd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
