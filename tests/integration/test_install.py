"""Install and run as a service: the man pages render cleanly and document every flag and
setting the programs know; `masteryd -n` prints a config that reads back to the same settings;
`cmake --install` into a DESTDIR gives the expected tree; the systemd unit passes
`systemd-analyze verify`; readiness reaches a real $NOTIFY_SOCKET datagram socket."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from conftest import BIN, SRC

BUILD = os.path.dirname(os.path.abspath(BIN))
DOC = os.path.join(SRC, "doc")
MASTERYD = os.path.join(BIN, "masteryd")
PAGES = ["masteryd.8", "masteryd.conf.5", "masteryctl.1", "mastery-verify.1"]


def run(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(list(args), **kw)


def page(name):
    with open(os.path.join(DOC, name)) as f:
        return f.read()


@pytest.mark.parametrize("name", PAGES)
def test_man_page_renders_cleanly(name):
    lint = run("groff", "-mandoc", "-Tutf8", "-ww", "-z", os.path.join(DOC, name))
    assert lint.returncode == 0 and lint.stderr == "", lint.stderr
    shown = run("man", "-l", os.path.join(DOC, name), env=dict(os.environ, MANWIDTH="80",
                                                                MANPAGER="cat", PAGER="cat"))
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    assert "NAME" in shown.stdout and "SEE ALSO" in shown.stdout


def settings_known():
    """The settings the config parser knows: every one is in `masteryd -n`."""
    out = run(MASTERYD, "-n").stdout
    return [m.group(1) for m in re.finditer(r"^([a-z_]+)\s*=", out, re.M)]


def test_every_setting_is_documented_and_in_the_example():
    known = settings_known()
    assert len(known) >= 25 and "clients_file" in known
    documented = re.findall(r"^\.It Cm ([a-z_]+) No =", page("masteryd.conf.5"), re.M)
    assert sorted(documented) == sorted(known)
    example = re.findall(r"^#([a-z_]+) =", page("masteryd.conf.example"), re.M)
    assert sorted(example) == sorted(known)
    # the commented example is a valid config that changes nothing
    default = run(MASTERYD, "-n").stdout
    with_example = run(MASTERYD, "-n", "-c", os.path.join(DOC, "masteryd.conf.example"))
    assert with_example.returncode == 0 and with_example.stdout == default


def long_options(help_text):
    return set(re.findall(r"(?<![\w-])--([a-z][a-z-]+)", help_text))


def test_every_flag_and_command_is_documented():
    d = run(MASTERYD, "--help").stdout
    man8 = page("masteryd.8")
    for opt in long_options(d):
        assert "Fl -%s" % opt in man8, opt
    for short in re.findall(r"^\s+-([a-z])\b", d, re.M):
        assert re.search(r"\.It Fl %s\b" % short, man8), short
    c = run(os.path.join(BIN, "masteryctl"), "--help").stdout
    man1 = page("masteryctl.1")
    for opt in long_options(c):
        assert "Fl -%s" % opt in man1, opt
    for line in c.split("commands:")[1].split("global options")[0].splitlines():
        words = re.match(r"\s+([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", line)
        if words and not line.startswith("       "):
            name = " ".join(w for w in words.groups() if w and not w.isupper())
            assert re.search(r"^\.It Cm %s\b" % re.escape(name), man1, re.M), name
    v = run(os.path.join(BIN, "mastery-verify"), "--help")
    man_v = page("mastery-verify.1")
    for opt in long_options(v.stdout + v.stderr):
        assert "Fl -%s" % opt in man_v, opt


def test_n_prints_a_config_that_reads_back(tmp_path):
    conf = tmp_path / "in.conf"
    conf.write_text("\n".join([
        "data_dir = %s" % (tmp_path / "data"),
        "listen = tcp://127.0.0.1:17000",
        "max_group = 64",
        "issuer_name = Riverside Middle School",
        "issuer_url = https://riverside.example/#about   # a '#' inside a value is kept",
        "status_base_url = https://riverside.example/status",
        "credential_suspension = 1",
        "credential_proofs = rdfc,jcs",
        "verbose = 1",
    ]) + "\n")
    first = run(MASTERYD, "-n", "-c", str(conf))
    assert first.returncode == 0, first.stderr
    assert re.search(r"^issuer_url\s+= https://riverside.example/#about\s+#", first.stdout, re.M)
    assert re.search(r"^issuer_name\s+= Riverside Middle School\s+#", first.stdout, re.M)
    saved = tmp_path / "saved.conf"
    saved.write_text(first.stdout)
    second = run(MASTERYD, "-n", "-c", str(saved))
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert first.stdout.rstrip().endswith("# configuration OK")


def test_cmake_install_into_destdir(tmp_path):
    dest = tmp_path / "dest"
    r = run("cmake", "--install", BUILD, "--prefix", "/usr",
            env=dict(os.environ, DESTDIR=str(dest)))
    assert r.returncode == 0, r.stdout + r.stderr
    tree = sorted(os.path.relpath(os.path.join(d, f), dest)
                  for d, _, files in os.walk(dest) for f in files)
    want = ["etc/masteryd/masteryd.conf",
            "usr/bin/mastery-verify", "usr/bin/masteryctl",
            "usr/include/masteryclient/err.h",
            "usr/include/masteryclient/mastery/v1/mastery.pb-c.h",
            "usr/include/masteryclient/masteryclient.h",
            "usr/lib/libmastery_base.a", "usr/lib/libmastery_curve.a",
            "usr/lib/libmastery_proto.a", "usr/lib/libmasteryclient.a",
            "usr/lib/pkgconfig/masteryclient.pc",
            "usr/lib/systemd/system/masteryd.service", "usr/lib/sysusers.d/masteryd.conf",
            "usr/sbin/masteryd",
            "usr/share/doc/masteryd/masteryd.conf.example",
            "usr/share/man/man1/mastery-verify.1", "usr/share/man/man1/masteryctl.1",
            "usr/share/man/man5/masteryd.conf.5", "usr/share/man/man8/masteryd.8"]
    # The offline verifier page (clients/web), where `masteryctl credential page/publish` look
    # for it once installed (MASTERY_WEB_INSTALL_DIR); built only where node and npm are.
    if os.path.exists(os.path.join(BUILD, "web", "verify.html")):
        want.append("usr/share/masteryd/verify.html")
    assert tree == sorted(want)
    unit = (dest / "usr/lib/systemd/system/masteryd.service").read_text()
    assert "ExecStart=/usr/sbin/masteryd -d -c /etc/masteryd/masteryd.conf" in unit
    for key in ("Type=notify", "User=masteryd", "StateDirectory=masteryd", "ProtectSystem=strict",
                "NoNewPrivileges=yes", "PrivateTmp=yes", "Restart=on-failure"):
        assert re.search(r"^%s$" % re.escape(key), unit, re.M), key
    assert os.access(dest / "usr/sbin/masteryd", os.X_OK)
    # an edited config is never overwritten by a later install
    conf = dest / "etc/masteryd/masteryd.conf"
    conf.write_text("max_group = 8\n")
    r = run("cmake", "--install", BUILD, "--prefix", "/usr",
            env=dict(os.environ, DESTDIR=str(dest)))
    assert r.returncode == 0 and conf.read_text() == "max_group = 8\n"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_unit_verifies(tmp_path):
    prefix = tmp_path / "prefix"  # a real prefix, so ExecStart names an existing binary
    r = run("cmake", "--install", BUILD, "--prefix", str(prefix))
    assert r.returncode == 0, r.stderr
    unit = prefix / "lib/systemd/system/masteryd.service"
    assert ("ExecStart=%s/sbin/masteryd -d -c %s/etc/masteryd/masteryd.conf"
            % (prefix, prefix)) in unit.read_text()
    # Documentation= is checked too: the installed man pages must resolve.
    v = run("systemd-analyze", "verify", str(unit),
            env=dict(os.environ, MANPATH=str(prefix / "share/man")))
    assert v.returncode == 0 and v.stdout + v.stderr == "", v.stdout + v.stderr


def test_readiness_over_notify_socket(tmp_path):
    """Type=notify: masteryd (not detached, no -d) stays in the foreground and sends READY=1
    with its endpoints once it serves, and STOPPING=1 on SIGTERM, as datagrams."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    proc = subprocess.Popen([MASTERYD, "--data", str(tmp_path / "data"), "--listen",
                             "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        msg, _ = sock.recvfrom(4096)
        fields = dict(line.split("=", 1) for line in msg.decode().split("\n"))
        assert fields["READY"] == "1"
        assert int(fields["MAINPID"]) == proc.pid  # the process systemd started: no fork
        assert re.fullmatch(r"requests on tcp://127\.0\.0\.1:\d+, events on "
                            r"tcp://127\.0\.0\.1:\d+", fields["STATUS"])
        proc.send_signal(signal.SIGTERM)
        msg, _ = sock.recvfrom(4096)
        assert msg == b"STOPPING=1"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    assert "ready" in proc.stderr.read()  # under systemd the log goes to stderr (the journal)
