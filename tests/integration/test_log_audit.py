"""An auditor's view of the transparency log, end to end: the daemon's proof bundle checked by
mastery-verify --log-proof, its tlog-tiles export followed by mastery-verify log --monitor, and
a dishonest operator caught (a rewritten entry, a re-signed rewritten tree, a history cut back
and grown again)."""
import json
import os
import shutil
import subprocess

from conftest import BIN, Daemon, ctl, evidence, Client

FW = {"id": "urn:test:audit", "title": "Audit", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge A", "description": "Did A."}}]}


def verify(*args):
    return subprocess.run([os.path.join(BIN, "mastery-verify"), *args], capture_output=True,
                          text=True, timeout=60)


def jctl(d, *args):
    r = ctl(d, "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def setup_daemon(data_dir, tmp_path, learners=("s1", "s2"), prefix="e"):
    d = Daemon(data_dir).start()
    f = tmp_path / "fw.json"
    f.write_text(json.dumps(FW))
    assert ctl(d, "framework", "load", str(f)).returncode == 0
    add(d, learners, prefix)
    return d


def add(d, learners, prefix):
    c = Client(d.endpoint)
    for l in learners:
        for i in range(3):
            c.submit(evidence(f"{prefix}-{l}-{i}", l, "a", 0.6 + i / 10))
    c.close()


def monitor(state, export, key=None):
    args = ["log", "--monitor", str(state), "--from", str(export)]
    if key:
        args += ["--key", key]
    return verify(*args)


def bundle_of(d, learner, path):
    [cred] = jctl(d, "credential", "list", "--learner", learner)["credentials"]
    r = ctl(d, "credential", "proof", cred["id"], "-o", str(path))
    assert r.returncode == 0, r.stderr
    return cred["id"]


def test_bundle_and_monitor_accept_an_honest_log(data_dir, tmp_path):
    d = setup_daemon(data_dir, tmp_path)
    try:
        bundle = tmp_path / "bundle.json"
        bundle_of(d, "s1", bundle)
        r = verify("--log-proof", str(bundle), str(bundle))
        assert r.returncode == 0, r.stdout + r.stderr
        for check in ("log_key", "log_entry", "log_proof", "log_evidence"):
            assert check in r.stdout
        key = jctl(d, "log", "checkpoint")["verifier_keys"][-1]
        state, export = tmp_path / "state", tmp_path / "export"
        assert ctl(d, "log", "export", str(export)).returncode == 0
        r = monitor(state, export, key)
        assert r.returncode == 0, r.stdout + r.stderr
        add(d, ("s3",), "more")  # the log grows; the mirror follows; the monitor agrees
        assert ctl(d, "log", "export", str(export)).returncode == 0
        r = monitor(state, export)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        assert d.stop() == 0


def test_rewritten_entry_is_caught(data_dir, tmp_path):
    d = setup_daemon(data_dir, tmp_path)
    key = jctl(d, "log", "checkpoint")["verifier_keys"][-1]
    state, export = tmp_path / "state", tmp_path / "export"
    assert ctl(d, "log", "export", str(export)).returncode == 0
    assert monitor(state, export, key).returncode == 0
    cred = json.loads(ctl(d, "credential", "get", bundle_of(d, "s1", tmp_path / "b0.json")).stdout)
    index = int(cred["evidence"][0]["id"].split(":")[2])
    assert d.stop() == 0
    tamper = os.path.join(BIN, "log_tamper")
    for mode in ("naive", "rebuild"):
        copy = tmp_path / f"copy-{mode}"
        shutil.copytree(data_dir, copy)
        r = subprocess.run([tamper, str(copy), str(copy / "keys"), str(index), mode],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        # The store's own audit: a naive rewrite breaks the stored tree; a rebuilt one is
        # consistent with itself (the operator re-signed it), so only outsiders can tell.
        r = subprocess.run([os.path.join(BIN, "masteryd"), "--data", str(copy), "--check"],
                           capture_output=True, text=True, timeout=120)
        assert (r.returncode == 1) == (mode == "naive"), r.stdout
        t = Daemon(str(copy)).start()
        try:
            bundle = tmp_path / f"bundle-{mode}.json"
            bundle_of(t, "s1", bundle)
            r = verify("--log-proof", str(bundle), str(bundle))
            assert r.returncode == 1 and "INVALID" in r.stdout, r.stdout
            assert "log_evidence" in r.stdout or "log_proof" in r.stdout
            if mode == "rebuild":
                # The auditor who kept a checkpoint sees two different trees of one size.
                ex2 = tmp_path / "export-rebuilt"
                assert ctl(t, "log", "export", str(ex2)).returncode == 0
                r = monitor(state, ex2)
                assert r.returncode == 2 and "FORK" in r.stdout + r.stderr, r.stdout + r.stderr
        finally:
            assert t.stop() == 0
    # The trusted state was kept: the honest export still passes.
    assert monitor(state, export).returncode == 0


def test_history_cut_back_and_regrown_is_a_fork(data_dir, tmp_path):
    d = setup_daemon(data_dir, tmp_path)
    try:
        backup = tmp_path / "backup"
        assert ctl(d, "backup", str(backup)).returncode == 0
        add(d, ("s3", "s4"), "honest")
        key = jctl(d, "log", "checkpoint")["verifier_keys"][-1]
        state, export = tmp_path / "state", tmp_path / "export"
        assert ctl(d, "log", "export", str(export)).returncode == 0
        assert monitor(state, export, key).returncode == 0
    finally:
        assert d.stop() == 0
    # The operator restores the old copy and lets other history grow past the trusted size.
    t = Daemon(str(backup)).start()
    try:
        add(t, ("s5", "s6", "s7"), "other")
        ex2 = tmp_path / "export-regrown"
        assert ctl(t, "log", "export", str(ex2)).returncode == 0
        trusted = int((state / "checkpoint").read_text().splitlines()[1])
        assert jctl(t, "log", "checkpoint")["size"] > trusted  # grown past what was trusted
        r = monitor(state, ex2)
        assert r.returncode == 2 and "FORK" in r.stdout + r.stderr, r.stdout + r.stderr
    finally:
        assert t.stop() == 0
