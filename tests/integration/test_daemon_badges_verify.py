"""Badges issued by the daemon, checked the way an auditor does: offline, with mastery-verify,
the exported status list and (for did:web) the published DID document."""
import json
import os
import subprocess

import pytest

from conftest import BIN, Client, Daemon, evidence, pb

VERIFY = os.path.join(BIN, "mastery-verify")
FW = {"id": "urn:test:verify", "title": "Verify", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge A", "description": "Did A."}}]}


def verify(*args):
    return subprocess.run([VERIFY, "--json"] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=60)


def issue(c, learner):
    assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == pb.STATUS_OK
    c.submit(evidence(f"{learner}-e", learner, "a", 0.9, 1000))
    [cred] = c.call(list_credentials=pb.ListCredentials(learner_id=learner)).credential_list.credentials
    return cred.credential_id


def files(c, tmp_path, cid, name="badge"):
    doc = c.call(get_credential=pb.GetCredential(credential_id=cid)).credential.document
    jwt = c.call(get_credential=pb.GetCredential(credential_id=cid, format=pb.FORMAT_JWT)).credential.document
    lst = c.call(export_status_list=pb.ExportStatusList(purpose="revocation")).status_list.json
    paths = {}
    for k, v in (("json", doc), ("jwt", jwt), ("list", lst)):
        paths[k] = tmp_path / f"{name}.{k}"
        paths[k].write_text(v)
    return paths


@pytest.mark.parametrize("proofs", ["rdfc", "jcs", "rdfc,jcs"])
def test_issued_badges_verify_offline_and_revocation_shows(tmp_path, proofs):
    conf = tmp_path / "m.conf"
    conf.write_text(f"credential_proofs = {proofs}\n")
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    try:
        cid = issue(c, "v1")
        p = files(c, tmp_path, cid)
        for form in ("json", "jwt"):
            r = verify(p[form], "--status-list", p["list"])
            out = json.loads(r.stdout)
            assert r.returncode == 0 and out["valid"], (form, r.stdout, r.stderr)
        # Tampered: one character of the achievement name.
        tampered = tmp_path / "t.json"
        tampered.write_text(p["json"].read_text().replace("Badge A", "Badge B"))
        r = verify(tampered, "--status-list", p["list"])
        assert r.returncode == 1 and not json.loads(r.stdout)["valid"]
        # Revoked: the new list says so; the old list (before revocation) still says valid.
        c.call(set_credential_status=pb.SetCredentialStatus(credential_id=cid, purpose="revocation",
                                                            set=True, reason="test"))
        p2 = files(c, tmp_path, cid, "after")
        r = verify(p2["json"], "--status-list", p2["list"])
        out = json.loads(r.stdout)
        assert r.returncode == 1 and any("revoked" in x for x in out["reasons"]), out
    finally:
        c.close()
        assert d.stop() == 0


def test_did_web_badge_needs_the_did_document(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("issuer_did_web = school.example\n")
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    try:
        cid = issue(c, "w1")
        p = files(c, tmp_path, cid)
        didf = tmp_path / "did.json"
        didf.write_text(c.call(get_issuer=pb.GetIssuer()).issuer.did_document)
        r = verify(p["json"], "--status-list", p["list"], "--did-document", didf)
        assert r.returncode == 0, r.stdout
        r = verify(p["json"], "--status-list", p["list"])  # no document: cannot bind the key
        assert r.returncode == 1
        # After a rotation, the published document still lists the old key: old badges verify.
        c.call(rotate_keys=pb.RotateKeys())
        didf.write_text(c.call(get_issuer=pb.GetIssuer()).issuer.did_document)
        lst2 = tmp_path / "list2.json"
        lst2.write_text(c.call(export_status_list=pb.ExportStatusList(purpose="revocation")).status_list.json)
        r = verify(p["json"], "--status-list", lst2, "--did-document", didf)
        assert r.returncode == 0, r.stdout
    finally:
        c.close()
        assert d.stop() == 0


def test_rs256_jwt_with_did_web(tmp_path):
    import base64
    conf = tmp_path / "m.conf"
    conf.write_text("issuer_did_web = school.example\ncredential_jwt_alg = RS256\n")
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    try:
        cid = issue(c, "rs1")
        p = files(c, tmp_path, cid)
        h = json.loads(base64.urlsafe_b64decode(p["jwt"].read_text().split(".")[0] + "=="))
        assert h["alg"] == "RS256" and h["kid"].startswith("did:web:school.example#")
        didf = tmp_path / "did.json"
        didf.write_text(c.call(get_issuer=pb.GetIssuer()).issuer.did_document)
        r = verify(p["jwt"], "--status-list", p["list"], "--did-document", didf)
        assert r.returncode == 0, r.stdout
    finally:
        c.close()
        assert d.stop() == 0


def test_rs256_needs_did_web(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("credential_jwt_alg = RS256\n")
    r = subprocess.run([os.path.join(BIN, "masteryd"), "-d", "-c", str(conf), "--data",
                        str(tmp_path / "data"), "--listen", "tcp://127.0.0.1:*", "--events",
                        "tcp://127.0.0.1:*"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "did:web" in r.stderr
