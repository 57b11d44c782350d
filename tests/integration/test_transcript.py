"""The CLR 2.0 transcript (issue 14 item 4): IssueTranscript issues a signed ClrCredential of a
learner's active badges with the framework's precedes / isChildOf associations; mastery-verify
checks its proof and every embedded badge's; tampering and revocation are named; masteryctl
writes it as JSON or baked into a PNG or SVG."""
import json
import os
import subprocess

import pytest

from conftest import BIN, Client, Daemon, evidence, pb

VERIFY = os.path.join(BIN, "mastery-verify")
CTL = os.path.join(BIN, "masteryctl")


def ach(name):
    return {"name": name, "description": f"Did {name}."}


FW = {"id": "urn:test:clr", "title": "Fractions", "version": "1", "competencies": [
    {"id": "a", "title": "A", "achievement": ach("Badge A")},
    {"id": "b", "title": "B", "requires": {"all": ["a"]}, "achievement": ach("Badge B")},
    {"id": "c", "title": "C", "achievement": ach("Badge C")},
    {"id": "p", "title": "P", "rule": {"method": "children", "of": ["b", "c"]},
     "achievement": ach("Badge P")},
    {"id": "n", "title": "N (no badge)"}]}
OTHER = {"id": "urn:test:other", "title": "Other", "competencies": [
    {"id": "x", "title": "X", "achievement": ach("Badge X")}]}
LEARNER = "s-4242-private"


def verify(*args):
    r = subprocess.run([VERIFY, "--json"] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=120)
    return r.returncode, json.loads(r.stdout)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clr")
    d = Daemon(str(tmp / "data")).start()
    c = Client(d.endpoint)
    for fw in (FW, OTHER):
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw))).status.code == pb.STATUS_OK
    for i, comp in enumerate(["a", "b", "c", "n", "x"]):
        c.submit(evidence(f"e{i}", LEARNER, comp, 0.95, 1000 + i))
    yield tmp, d, c
    c.close()
    assert d.stop() == 0


def transcript(c, learner=LEARNER, framework=""):
    return c.call(issue_transcript=pb.IssueTranscript(learner_id=learner, framework_id=framework))


def status_list(c, tmp, name="list.json"):
    p = tmp / name
    p.write_text(c.call(export_status_list=pb.ExportStatusList(purpose="revocation")).status_list.json)
    return p


def test_transcript_holds_every_badge_and_the_associations(env):
    tmp, d, c = env
    rep = transcript(c)
    assert rep.status.code == pb.STATUS_OK, rep.status.message
    t = rep.transcript
    doc = json.loads(t.document)
    assert t.id == doc["id"] and t.id.startswith("urn:uuid:")
    assert doc["type"] == ["VerifiableCredential", "ClrCredential"]
    assert doc["@context"][:2] == ["https://www.w3.org/ns/credentials/v2",
                                   "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"]
    subj = doc["credentialSubject"]
    assert subj["type"] == ["ClrSubject"]
    vcs = subj["verifiableCredential"]
    names = sorted(v["credentialSubject"]["achievement"]["name"] for v in vcs)
    assert names == ["Badge A", "Badge B", "Badge C", "Badge P", "Badge X"]
    assert t.credentials == 5 and len(subj["achievement"]) == 5
    # each embedded badge is the stored one, byte for byte (its proof still verifies)
    listed = c.call(list_credentials=pb.ListCredentials(learner_id=LEARNER)).credential_list
    stored = {x.credential_id: json.loads(c.call(get_credential=pb.GetCredential(
        credential_id=x.credential_id)).credential.document) for x in listed.credentials}
    assert all(stored[v["id"]] == v for v in vcs)
    by_comp = {v["credentialSubject"]["achievement"]["name"][-1].lower():
               v["credentialSubject"]["achievement"]["id"] for v in vcs}
    assocs = {(a["associationType"], a["sourceId"], a["targetId"]) for a in subj["association"]}
    assert assocs == {("precedes", by_comp["a"], by_comp["b"]),
                      ("isChildOf", by_comp["b"], by_comp["p"]),
                      ("isChildOf", by_comp["c"], by_comp["p"])}
    assert t.associations == 3
    assert all(a["type"] == "Association" for a in subj["association"])
    # the learner is a salted hash, never the raw id
    assert LEARNER not in t.document
    [io] = subj["identifier"]
    assert io["hashed"] is True and io["identityHash"].startswith("sha256$")
    assert doc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert doc["issuer"]["id"] == vcs[0]["issuer"]["id"]


def test_mastery_verify_reports_the_transcript_and_each_badge(env):
    tmp, d, c = env
    doc = transcript(c).transcript.document
    f = tmp / "clr.json"
    f.write_text(doc)
    rc, out = verify(f, "--status-list", status_list(c, tmp), "--recipient", LEARNER)
    assert rc == 0 and out["verdict"] == "VALID", out
    checks = out["checks"]
    assert checks["proof"] == "ok" and checks["ob3_shape"] == "ok"
    assert checks["clr_credentials"] == "ok" and checks["recipient"] == "ok"
    per = [r for r in out["results"] if r["check"].startswith("clr_credential_")]
    assert len(per) == 5 and all(r["result"] == "ok" and "VALID" in r["detail"] for r in per)


def test_tampered_transcripts_are_invalid_with_the_check_named(env):
    tmp, d, c = env
    lst = status_list(c, tmp)
    good = json.loads(transcript(c).transcript.document)
    # the transcript's own statement changed: its proof fails
    t1 = json.loads(json.dumps(good))
    t1["name"] = "Forged record"
    # an embedded badge changed: its own proof fails, and so does the transcript's
    t2 = json.loads(json.dumps(good))
    t2["credentialSubject"]["verifiableCredential"][1]["credentialSubject"]["achievement"][
        "name"] = "Forged badge"
    # an association added that the school never stated
    t3 = json.loads(json.dumps(good))
    a = t3["credentialSubject"]["association"][0]
    t3["credentialSubject"]["association"].append(
        {"type": "Association", "associationType": "exactMatchOf", "sourceId": a["targetId"],
         "targetId": a["sourceId"]})
    for name, doc in (("t1", t1), ("t2", t2), ("t3", t3)):
        f = tmp / f"{name}.json"
        f.write_text(json.dumps(doc))
        rc, out = verify(f, "--status-list", lst)
        assert rc == 1 and out["verdict"] == "INVALID", (name, out)
        assert out["checks"]["proof"] == "failed", (name, out)
    rc, out = verify(tmp / "t2.json", "--status-list", lst)
    assert out["checks"]["clr_credentials"] == "failed"
    assert any("credential 2 of the transcript" in x for x in out["reasons"]), out


def test_revoked_badge_leaves_new_transcripts_and_fails_old_ones(tmp_path):
    d = Daemon(str(tmp_path / "data")).start()
    c = Client(d.endpoint)
    try:
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == pb.STATUS_OK
        c.submit(evidence("r1", "r-1", "a", 0.9, 1000))
        c.submit(evidence("r2", "r-1", "c", 0.9, 1001))
        old = transcript(c, "r-1").transcript
        assert old.credentials == 2
        victim = json.loads(old.document)["credentialSubject"]["verifiableCredential"][0]["id"]
        assert c.call(set_credential_status=pb.SetCredentialStatus(
            credential_id=victim, purpose="revocation", set=True,
            reason="issued in error")).status.code == pb.STATUS_OK
        new = transcript(c, "r-1").transcript
        assert new.credentials == 1 and victim not in new.document
        f = tmp_path / "old.json"
        f.write_text(old.document)
        rc, out = verify(f, "--status-list", status_list(c, tmp_path))
        assert rc == 1 and out["checks"]["clr_credentials"] == "failed", out
        assert any("REVOKED" in x for x in out["reasons"]), out
        f2 = tmp_path / "new.json"
        f2.write_text(new.document)
        rc, out = verify(f2, "--status-list", status_list(c, tmp_path))
        assert rc == 0, out
    finally:
        c.close()
        assert d.stop() == 0


def test_framework_filter_and_refusals(env):
    tmp, d, c = env
    t = transcript(c, framework="urn:test:other").transcript
    doc = json.loads(t.document)
    assert t.credentials == 1 and t.associations == 0 and "association" not in doc[
        "credentialSubject"]
    rep = transcript(c, framework="urn:test:none")
    assert rep.status.code == pb.STATUS_NOT_FOUND
    assert rep.status.field == "issue_transcript.framework_id"
    rep = transcript(c, learner="nobody")
    assert rep.status.code == pb.STATUS_NOT_FOUND
    assert rep.status.field == "issue_transcript.learner_id"
    rep = transcript(c, learner="")
    assert rep.status.code == pb.STATUS_INVALID
    assert rep.status.field == "issue_transcript.learner_id"


@pytest.mark.parametrize("form", ["json", "png", "svg"])
def test_masteryctl_writes_and_bakes_a_transcript(env, form):
    tmp, d, c = env
    out = tmp / f"record.{form}"
    args = [CTL, "-e", d.endpoint, "learner", "transcript", LEARNER, "--clr", "-o", str(out)]
    if form != "json":
        args.append(f"--{form}")
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "5 credentials, 3 associations" in r.stderr
    data = out.read_bytes()
    if form == "png":
        assert data.startswith(b"\x89PNG") and b"clrcredential\x00" in data
    elif form == "svg":
        assert b'xmlns:clr="https://purl.imsglobal.org/clr/v2p0"' in data
        assert b"<clr:credential>" in data
    else:
        assert json.loads(data)["type"] == ["VerifiableCredential", "ClrCredential"]
    rc, res = verify(out, "--status-list", status_list(c, tmp))
    assert rc == 0 and res["verdict"] == "VALID", res
    if form != "json":
        assert res["checks"]["baked"] == form
    # without --clr the command is a usage error (2)
    r = subprocess.run([CTL, "-e", d.endpoint, "learner", "transcript", LEARNER], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
