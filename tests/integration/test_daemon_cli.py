"""masteryd as an administrator meets it: flags, config file, -n, refusals, map growth."""
import json
import os
import subprocess

from conftest import BIN, Client, Daemon, evidence, pb

MASTERYD = os.path.join(BIN, "masteryd")


def run(*args, timeout=30):
    return subprocess.run([MASTERYD] + list(args), capture_output=True, text=True, timeout=timeout)


def test_check_config_prints_settings(tmp_path):
    conf = tmp_path / "masteryd.conf"
    conf.write_text("# a school's settings\nmax_batch_items = 500   # smaller batches\n"
                    "data_dir = /var/lib/masteryd\n")
    r = run("-n", "-c", str(conf))
    assert r.returncode == 0, r.stderr
    assert "max_batch_items  = 500" in r.stdout and "/var/lib/masteryd" in r.stdout
    assert "configuration OK" in r.stdout


def test_config_errors_name_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("max_frame = 1048576\nmax_batch_items = lots\n")
    r = run("-n", "-c", str(conf))
    assert r.returncode == 1
    assert f"{conf}:2" in r.stderr and "max_batch_items" in r.stderr
    conf.write_text("no_such_setting = 1\n")
    r = run("-n", "-c", str(conf))
    assert r.returncode == 1 and "unknown setting 'no_such_setting'" in r.stderr
    r = run("-n", "-c", str(tmp_path / "missing.conf"))
    assert r.returncode == 1 and "cannot open" in r.stderr


def test_usage_and_version():
    assert run("--version").stdout.startswith("masteryd ")
    r = run("--bogus")
    assert r.returncode == 2 and "usage:" in r.stderr


def test_refuses_non_loopback_without_keys(tmp_path):
    r = run("-d", "--data", str(tmp_path / "d"), "--listen", "tcp://0.0.0.0:7411")
    assert r.returncode == 1
    assert "loopback" in r.stderr and "development mode" in r.stderr
    r = run("-n", "--listen", "tcp://0.0.0.0:7411")
    assert r.returncode == 1 and "loopback" in r.stderr


def test_map_grows_transparently(tmp_path):
    conf = tmp_path / "small.conf"
    conf.write_text("map_size = 1048576\n")  # 1 MiB: full after a few thousand items
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    fw = {"id": "urn:test:grow", "title": "Grow", "competencies": [{"id": "a", "title": "A"}]}
    assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw))).status.code == pb.STATUS_OK
    for b in range(20):
        items = [evidence(f"grow-{b}-{i}", f"learner-{b}-{i}", "a", 0.5, 1000, narrative="n" * 200)
                 for i in range(500)]
        rep = c.submit(*items)
        assert rep.evidence_results.accepted == 500, rep.status
    h = c.call(health=pb.Health()).health
    assert h.evidence_count == 10000 and h.map_size > 1048576
    c.close()
    assert d.stop() == 0
    assert any("map grown" in line for line in d.log)


def test_secure_mode_refuses_the_placeholder_issuer(tmp_path):
    clients = tmp_path / "clients"
    clients.write_text("")
    os.chmod(clients, 0o644)
    conf = tmp_path / "masteryd.conf"
    conf.write_text(f"clients_file = {clients}\n")
    for args in (["-n"], ["-d", "--data", str(tmp_path / "data")]):
        r = run(*args, "-c", str(conf))
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "issuer_name, issuer_url, status_base_url are still the development " \
               "placeholders" in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "data")  # refused before anything was made
    conf.write_text(f"clients_file = {clients}\nissuer_name = Lincoln Elementary\n"
                    "issuer_url = https://lincoln.example.edu\n"
                    "status_base_url = https://school.example/status\n")
    r = run("-n", "-c", str(conf))
    assert r.returncode == 1 and "status_base_url is still the development placeholder" in \
        r.stderr, r.stderr
    conf.write_text(f"clients_file = {clients}\nissuer_name = Lincoln Elementary\n"
                    "issuer_url = https://lincoln.example.edu\n"
                    "status_base_url = https://lincoln.example.edu/masteryd/status\n")
    r = run("-n", "-c", str(conf))
    assert r.returncode == 0 and "configuration OK" in r.stdout, r.stderr
