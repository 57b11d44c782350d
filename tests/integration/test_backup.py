"""masteryctl backup: a hot copy taken while clients submit, restored as the README says.

The restored daemon must hold every item acknowledged before the backup was asked for (it
answers DUPLICATE for each one sent again), issue as the same issuer, and its badges must
verify offline. In secure mode only an admin may take a backup, and secrets stay 0600."""
import json
import os
import shutil
import stat
import subprocess
import threading
import time

from conftest import BIN, Client, Daemon, ctl, evidence, pb
from secure import School

FW = {"id": "urn:test:backup", "title": "Backup", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge", "description": "Kept."}},
    {"id": "b", "title": "B"}]}


def restore(backup, data):
    """README, Backup and restore: data.mdb and keys/ into the (new) data directory."""
    os.makedirs(data, mode=0o700)
    shutil.copy2(os.path.join(backup, "data.mdb"), os.path.join(data, "data.mdb"))
    shutil.copytree(os.path.join(backup, "keys"), os.path.join(data, "keys"))
    os.chmod(os.path.join(data, "keys"), 0o700)


def test_backup_under_load_restores_every_acknowledged_item(tmp_path):
    d = Daemon(str(tmp_path / "data")).start()
    admin = Client(d.endpoint)
    assert admin.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == 0
    admin.submit(evidence("badge-e", "badge-learner", "a", 0.95, 1000))
    [cred] = admin.call(list_credentials=pb.ListCredentials(
        learner_id="badge-learner")).credential_list.credentials
    did = admin.call(get_issuer=pb.GetIssuer()).issuer.did
    acked = []  # (time acknowledged, item)
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(w):
        c = Client(d.endpoint)
        n = 0
        while not stop.is_set():
            items = [evidence(f"w{w}-{n + i}", f"l{w}-{(n + i) % 40}", "b", 0.5, 2000 + n + i)
                     for i in range(20)]
            n += 20
            rep = c.submit(*items)
            now = time.monotonic()
            with lock:
                for it, st in zip(items, rep.evidence_results.items):
                    if st.status.code in (pb.STATUS_OK, pb.STATUS_DUPLICATE):
                        acked.append((now, it))
        c.close()

    workers = [threading.Thread(target=submitter, args=(w,)) for w in range(4)]
    for t in workers:
        t.start()
    try:
        time.sleep(1.0)
        asked = time.monotonic()
        r = ctl(d, "--json", "backup", str(tmp_path / "bk"))
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        time.sleep(0.5)  # the load goes on after the copy
    finally:
        stop.set()
        for t in workers:
            t.join()
    admin.close()
    assert d.stop() == 0
    before = [it for at, it in acked if at < asked]
    assert len(before) > 100 and len(acked) > len(before), (len(before), len(acked))
    bk = tmp_path / "bk"
    assert set(out["files"]) >= {"data.mdb", "keys/keyring.json", "masteryd.conf"}
    manifest = json.loads((bk / "backup.json").read_text())
    assert manifest["files"] == out["files"] and manifest["data_bytes"] == out["data_bytes"]

    restore(bk, tmp_path / "restored")
    # The saved settings load as a config file; flags put the copy on its own ports.
    r2 = Daemon(str(tmp_path / "restored"), extra_args=["-c", str(bk / "masteryd.conf")]).start()
    c = Client(r2.endpoint)
    try:
        assert c.call(get_issuer=pb.GetIssuer()).issuer.did == did
        for i in range(0, len(before), 500):
            chunk = before[i:i + 500]
            rep = c.submit(*chunk)
            codes = [st.status.code for st in rep.evidence_results.items]
            missing = [it.evidence_id for it, code in zip(chunk, codes)
                       if code != pb.STATUS_DUPLICATE]
            assert not missing, f"{len(missing)} acknowledged items not in the backup: {missing[:5]}"
        doc = c.call(get_credential=pb.GetCredential(credential_id=cred.credential_id)).credential
        lst = c.call(export_status_list=pb.ExportStatusList(purpose="revocation"))
        (tmp_path / "b.json").write_text(doc.document)
        (tmp_path / "l.json").write_text(lst.status_list.json)
        v = subprocess.run([os.path.join(BIN, "mastery-verify"), "--json", str(tmp_path / "b.json"),
                            "--status-list", str(tmp_path / "l.json")],
                           capture_output=True, text=True, timeout=60)
        assert v.returncode == 0 and json.loads(v.stdout)["valid"], v.stdout
    finally:
        c.close()
        assert r2.stop() == 0
    print(f"backup under load: {len(before)} items acknowledged before it, all restored; "
          f"{len(acked)} acknowledged in all; data.mdb copy {out['data_bytes']} bytes")


def test_backup_is_admin_only_and_keeps_secrets_private(tmp_path):
    school = School(tmp_path / "school", [("admin", "admin", None), ("quiz", "tool", "*"),
                                          ("auditor", "auditor", None)])
    school.start()
    try:
        for name in ("quiz", "auditor"):
            c = school.client(name)
            rep = c.call(backup=pb.Backup(dir=str(tmp_path / f"bk-{name}")))
            c.close()
            assert rep.status.code == pb.STATUS_FORBIDDEN, rep.status
            assert not os.path.exists(tmp_path / f"bk-{name}")
        c = school.client("admin")
        rep = c.call(backup=pb.Backup(dir="relative/dir"))
        assert rep.status.code == pb.STATUS_INVALID and rep.status.field == "backup.dir"
        bk = tmp_path / "bk"
        rep = c.call(backup=pb.Backup(dir=str(bk)))
        assert rep.status.code == pb.STATUS_OK, rep.status
        files = set(rep.backup.files)
        assert {"data.mdb", "curve.key", "curve.key.pub", "clients", "masteryd.conf"} <= files
        rep2 = c.call(backup=pb.Backup(dir=str(bk)))  # never over an earlier backup
        assert rep2.status.code == pb.STATUS_INVALID and "not empty" in rep2.status.message
        c.close()
    finally:
        assert school.daemon.stop() == 0

    def mode(p):
        return stat.S_IMODE(os.stat(p).st_mode)
    assert mode(bk) == 0o700 and mode(bk / "keys") == 0o700
    assert mode(bk / "data.mdb") == 0o600 and mode(bk / "curve.key") == 0o600
    keys = os.listdir(bk / "keys")
    assert any(k.endswith(".pem") for k in keys)
    assert all(mode(bk / "keys" / k) == 0o600 for k in keys)
    assert "clients_file" in (bk / "masteryd.conf").read_text()
