"""masteryctl's credential, issuer, key and retraction commands against a real daemon."""
import json

from conftest import ctl, pb

FW = {"id": "urn:test:ctlbadges", "title": "Badges", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge A", "description": "Did A."}}]}


def issue_one(daemon, tmp_path):
    f = tmp_path / "fw.json"
    f.write_text(json.dumps(FW))
    assert ctl(daemon, "framework", "load", str(f)).returncode == 0
    r = ctl(daemon, "evidence", "add", "--learner", "s1", "--competency", "a", "--score", "0.9",
            "--id", "ev-1")
    assert r.returncode == 0, r.stderr
    r = ctl(daemon, "--json", "credential", "list", "--learner", "s1")
    assert r.returncode == 0, r.stderr
    [cred] = json.loads(r.stdout)["credentials"]
    return cred


def test_credential_lifecycle(daemon, tmp_path):
    cred = issue_one(daemon, tmp_path)
    assert cred["achievement"] == "Badge A" and cred["state"] == "active"
    r = ctl(daemon, "credential", "list", "--learner", "s1")
    assert cred["id"] in r.stdout and "active" in r.stdout
    doc = json.loads(ctl(daemon, "credential", "get", cred["id"]).stdout)
    assert doc["id"] == cred["id"] and doc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    jwt = ctl(daemon, "credential", "get", cred["id"], "--format", "jwt").stdout.strip()
    assert jwt.count(".") == 2
    assert ctl(daemon, "credential", "get", cred["id"], "--format", "xml").returncode == 2
    r = ctl(daemon, "credential", "revoke", cred["id"])
    assert r.returncode == 2 and "--reason" in r.stderr
    r = ctl(daemon, "credential", "revoke", cred["id"], "--reason", "issued in error")
    assert r.returncode == 0 and "revoked" in r.stdout
    r = ctl(daemon, "credential", "revoke", cred["id"], "--reason", "issued in error")
    assert r.returncode == 0 and "unchanged" in r.stdout
    r = ctl(daemon, "credential", "suspend", cred["id"], "--reason", "x")
    assert r.returncode == 1 and "INVALID" in r.stderr
    r = ctl(daemon, "credential", "get", "urn:uuid:nope")
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr
    lst = json.loads(ctl(daemon, "status-list", "export", "revocation").stdout)
    assert lst["credentialSubject"]["statusPurpose"] == "revocation"
    assert ctl(daemon, "status-list", "export", "other").returncode == 2


def test_issuer_keys_did_and_retract(daemon, tmp_path):
    issue_one(daemon, tmp_path)
    info = json.loads(ctl(daemon, "--json", "issuer", "show").stdout)
    assert info["did"].startswith("did:key:z6Mk") and len(info["keys"]) == 2
    r = ctl(daemon, "issuer", "did-document")
    assert r.returncode == 1 and "did:key" in r.stderr  # nothing to publish for did:key
    rot = json.loads(ctl(daemon, "--json", "keys", "rotate").stdout)
    assert len(rot["keys"]) == 4 and rot["did"] != info["did"]  # did:key is the key itself
    r = ctl(daemon, "learner", "register-did", "s2", "did:example:123")
    assert r.returncode == 0 and "did:example:123" in r.stdout
    assert ctl(daemon, "learner", "register-did", "s2", "nope").returncode == 1
    r = ctl(daemon, "evidence", "retract", "ev-1", "--reason", "voided")
    assert r.returncode == 0 and "retracted" in r.stdout
    r = ctl(daemon, "--json", "evidence", "list", "--learner", "s1")
    assert r.returncode == 0
    assert ctl(daemon, "evidence", "retract", "nope", "--reason", "x").returncode == 1


def test_events_show_credential_kinds(daemon, tmp_path):
    cred = issue_one(daemon, tmp_path)
    ctl(daemon, "credential", "revoke", cred["id"], "--reason", "test")
    ctl(daemon, "evidence", "retract", "ev-1", "--reason", "voided")
    lines = [json.loads(x) for x in ctl(daemon, "events", "--from", "0").stdout.splitlines()]
    kinds = {e["kind"] for e in lines}
    assert {"credential_issued", "credential_status", "evidence_retracted"} <= kinds
    assert "unknown" not in kinds
    issued = [e for e in lines if e["kind"] == "credential_issued"][0]
    assert issued["credential"] == cred["id"] and issued["achievement"] == "Badge A"
    r = ctl(daemon, "events", "--kind", "credential_status", "--learner", "s1")
    [st] = [json.loads(x) for x in r.stdout.splitlines()]
    assert st["purpose"] == "revocation" and st["set"] and st["reason"] == "test"
