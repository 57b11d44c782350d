"""Interop with a real, independent peer: badges issued by the cred library (via make_badge)
must verify with Digital Bazaar's @digitalbazaar/vc + eddsa-jcs-2022 stack (JSON) and with
jose (VC-JWT), and a tampered copy must not. The peer is pinned in tests/interop/package.json
and package-lock.json and installed with `npm ci` (the only network access); at test time its
document loader is offline (tests/interop/loader.mjs).

Skipped, saying why, when node/npm are absent or the registry cannot be reached.
"""
import json
import os
import shutil
import subprocess

import pytest

BIN = os.environ.get("MASTERY_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
SRC = os.path.abspath(os.environ.get("MASTERY_SRC",
                                     os.path.join(os.path.dirname(__file__), "../..")))
INTEROP = os.path.join(SRC, "tests", "interop")
VECTORS = os.path.abspath(os.path.join(SRC, "tests", "vectors"))
WEB = "lincoln.example.edu"


@pytest.fixture(scope="module")
def peer():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("interop skipped: node and npm are not installed (the Digital Bazaar / jose "
                    "peer needs them)")
    marker = os.path.join(INTEROP, "node_modules", ".package-lock.json")
    lock = os.path.join(INTEROP, "package-lock.json")
    if not os.path.exists(marker) or os.path.getmtime(marker) < os.path.getmtime(lock):
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=INTEROP,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            pytest.skip("interop skipped: `npm ci` in tests/interop failed (no registry?):\n"
                        + r.stderr[-2000:])
    return node


def make(*args):
    r = subprocess.run([os.path.join(BIN, "make_badge"), *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def peer_verify(node, path, *extra):
    r = subprocess.run([node, os.path.join(INTEROP, "verify.mjs"), "--vectors", VECTORS, *extra,
                        path], capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    out = json.loads(r.stdout)
    assert out["verified"] == (r.returncode == 0)
    return out


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_json_badge_verifies_and_tampered_does_not(peer, tmp_path):
    text = make("badge", "--source-uri", "https://case.example.org/uri/item-1", "--case",
                "--evidence", "quiz-77=https://quiz.example/r/77",
                "--revocation-list", f"https://{WEB}/status/revocation",
                "--valid-until", "2036-01-01T00:00:00Z")
    out = peer_verify(peer, write(tmp_path, "b.json", text))
    assert out["verified"], out
    doc = json.loads(text)
    doc["credentialSubject"]["achievement"]["name"] = "Calculus"
    out = peer_verify(peer, write(tmp_path, "t.json", json.dumps(doc)))
    assert not out["verified"]
    assert "signature" in out["error"].lower()


def test_hashed_and_did_subjects_verify(peer, tmp_path):
    for extra in ([], ["--learner-did", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"]):
        out = peer_verify(peer, write(tmp_path, "b.json", make("badge", *extra)))
        assert out["verified"], out


def test_jwt_eddsa_verifies_and_tampered_does_not(peer, tmp_path):
    token = make("badge", "--format", "jwt")
    assert peer_verify(peer, write(tmp_path, "b.jwt", token))["verified"]
    h, p, s = token.split(".")
    bad = s[:-4] + ("AAAA" if not s.endswith("AAAA") else "BBBB")
    assert not peer_verify(peer, write(tmp_path, "t.jwt", f"{h}.{p}.{bad}"))["verified"]


def test_did_web_json_and_rs256_jwt(peer, tmp_path):
    rsa = str(tmp_path / "rsa.pem")
    make("rsa-keygen", rsa)
    did = write(tmp_path, "did.json", make("did-document", "--did-web", WEB, "--rsa-key", rsa))
    b = write(tmp_path, "b.json", make("badge", "--did-web", WEB))
    assert peer_verify(peer, b, "--did-document", did)["verified"]
    j = write(tmp_path, "b.jwt", make("badge", "--did-web", WEB, "--format", "jwt-rs256",
                                      "--rsa-key", rsa))
    assert peer_verify(peer, j, "--did-document", did)["verified"]


def test_status_list_credential_verifies(peer, tmp_path):
    text = make("status-list", "--purpose", "revocation", "--url",
                f"https://{WEB}/status/revocation", "--set", "4711")
    assert peer_verify(peer, write(tmp_path, "l.json", text))["verified"]


def test_issuer_not_controlling_the_key_fails(peer, tmp_path):
    text = make("badge", "--seed-byte", "1", "--issuer-seed-byte", "2")
    out = peer_verify(peer, write(tmp_path, "b.json", text))
    assert not out["verified"]
    assert "controller" in out["error"]


# ---- badges issued by the daemon itself -------------------------------------------------------

def daemon_badge(tmp_path, proofs, name):
    """A badge issued by a real masteryd on mastery, as the student downloads it."""
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    from conftest import Client, Daemon, evidence, pb
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"credential_proofs = {proofs}\n")
    d = Daemon(str(tmp_path / f"{name}-data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    try:
        fw = {"id": "urn:interop", "title": "Interop", "competencies": [
            {"id": "a", "title": "A", "source_uri": "https://case.example.org/uri/a",
             "achievement": {"name": "Interop badge", "description": "Issued by masteryd.",
                             "valid_for_days": 30}}]}
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw))).status.code == 0
        c.submit(evidence("i-1", "learner-1", "a", 0.9, 1000, url="https://quiz.example/r/1"))
        [cred] = c.call(list_credentials=pb.ListCredentials(learner_id="learner-1")).credential_list.credentials
        doc = c.call(get_credential=pb.GetCredential(credential_id=cred.credential_id)).credential.document
        jwt = c.call(get_credential=pb.GetCredential(credential_id=cred.credential_id,
                                                     format=pb.FORMAT_JWT)).credential.document
    finally:
        c.close()
        assert d.stop() == 0
    return doc, jwt


@pytest.mark.parametrize("proofs", ["rdfc", "jcs", "rdfc,jcs"])
def test_daemon_issued_badges_verify_in_the_peer(peer, tmp_path, proofs):
    doc, jwt = daemon_badge(tmp_path, proofs, proofs.replace(",", "-"))
    suites = [p["cryptosuite"] for p in json.loads(doc)["proof"]]
    assert suites == {"rdfc": ["eddsa-rdfc-2022"], "jcs": ["eddsa-jcs-2022"],
                      "rdfc,jcs": ["eddsa-rdfc-2022", "eddsa-jcs-2022"]}[proofs]
    out = peer_verify(peer, write(tmp_path, "d.json", doc))
    assert out["verified"], out
    out = peer_verify(peer, write(tmp_path, "d.jwt", jwt))
    assert out["verified"], out
    # Tampered: the peer must refuse it, whichever proof it checks.
    bad = json.loads(doc)
    bad["credentialSubject"]["achievement"]["name"] = "Calculus"
    out = peer_verify(peer, write(tmp_path, "t.json", json.dumps(bad)))
    assert not out["verified"], out


def test_rotated_did_key_badges_and_their_lists_verify_in_the_peer(peer, tmp_path):
    """Issue, rotate, issue, rotate, revoke the first: each badge and the status list it names
    verify in the peer, each list signed as the did:key its badges name (the retired key)."""
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    from conftest import Client, Daemon, evidence, pb
    d = Daemon(str(tmp_path / "rot-data")).start()
    c = Client(d.endpoint)
    try:
        fw = {"id": "urn:interop:rot", "title": "Rotation", "competencies": [
            {"id": "a", "title": "A", "achievement": {"name": "Kept", "description": "Stays."}}]}
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw))).status.code == 0
        badges = []
        for i in range(3):
            if i:
                assert c.call(rotate_keys=pb.RotateKeys()).status.code == 0
            c.submit(evidence(f"rot-{i}", f"rot-l{i}", "a", 0.9, 1000))
            [cred] = c.call(list_credentials=pb.ListCredentials(
                learner_id=f"rot-l{i}")).credential_list.credentials
            badges.append((cred, c.call(get_credential=pb.GetCredential(
                credential_id=cred.credential_id)).credential.document))
        assert c.call(set_credential_status=pb.SetCredentialStatus(
            credential_id=badges[0][0].credential_id, purpose="revocation", set=True,
            reason="test")).status.code == 0
        for i, (cred, doc) in enumerate(badges):
            lst = c.call(export_status_list=pb.ExportStatusList(purpose="revocation",
                                                                list=cred.status_list))
            assert lst.status.code == 0, lst.status
            badge = json.loads(doc)
            assert badge["credentialStatus"]["statusListCredential"] == lst.status_list.url
            assert json.loads(lst.status_list.json)["issuer"] == badge["issuer"]["id"]
            out = peer_verify(peer, write(tmp_path, f"rot-{i}.json", doc))
            assert out["verified"], out
            out = peer_verify(peer, write(tmp_path, f"rot-list-{i}.json", lst.status_list.json))
            assert out["verified"], out
        assert len({json.loads(doc)["issuer"]["id"] for _, doc in badges}) == 3
    finally:
        c.close()
        assert d.stop() == 0


def test_daemon_transcript_same_nquads_and_verifies_in_the_peer(peer, tmp_path):
    """A CLR 2.0 transcript (issue 14 item 4): the C expander and canonicalizer produce the
    same canonical N-Quads as jsonld.js + rdf-canonize (every embedded badge's statements in
    the default graph, each embedded proof in its own named graph), and the peer verifies the
    transcript's eddsa-rdfc-2022 proof and each embedded badge's; tampering is refused."""
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    from conftest import Client, Daemon, evidence, pb
    d = Daemon(str(tmp_path / "clr-data")).start()
    c = Client(d.endpoint)
    try:
        fw = {"id": "urn:interop:clr", "title": "CLR", "competencies": [
            {"id": "a", "title": "A", "achievement": {"name": "A", "description": "Did A."}},
            {"id": "b", "title": "B", "requires": {"all": ["a"]},
             "achievement": {"name": "B", "description": "Did B."}},
            {"id": "p", "title": "P", "rule": {"method": "children", "of": ["b"]},
             "achievement": {"name": "P", "description": "Rolled up."}}]}
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw))).status.code == 0
        c.submit(evidence("clr-1", "clr-l", "a", 0.9, 1000, url="https://quiz.example/r/1"))
        c.submit(evidence("clr-2", "clr-l", "b", 0.9, 1001))
        t = c.call(issue_transcript=pb.IssueTranscript(learner_id="clr-l")).transcript
    finally:
        c.close()
        assert d.stop() == 0
    assert t.credentials == 3 and t.associations == 2
    path = write(tmp_path, "clr.json", t.document)
    ours = subprocess.run([os.path.join(BIN, "make_badge"), "canon", path], capture_output=True,
                          text=True, timeout=60)
    theirs = subprocess.run([peer, os.path.join(INTEROP, "canon.mjs"), "--vectors", VECTORS, path],
                            capture_output=True, text=True, timeout=120)
    assert ours.returncode == 0 and theirs.returncode == 0, (ours.stderr, theirs.stderr)
    assert ours.stdout == theirs.stdout
    lines = ours.stdout.splitlines()
    # each embedded proof's value (a literal) sits in a named graph of its own: 3 graphs
    graphs = {x.rsplit(" ", 2)[-2] for x in lines if "security#proofValue" in x}
    assert len(graphs) == 3 and all(g.startswith("_:c14n") for g in graphs), graphs
    assert any("clr/vocab.html#verifiableCredential" in x for x in lines)
    out = peer_verify(peer, path)
    assert out["verified"], out
    doc = json.loads(t.document)
    for i, vc in enumerate(doc["credentialSubject"]["verifiableCredential"]):
        out = peer_verify(peer, write(tmp_path, f"inner-{i}.json", json.dumps(vc)))
        assert out["verified"], out
    doc["credentialSubject"]["association"][0]["associationType"] = "isPeerOf"
    out = peer_verify(peer, write(tmp_path, "t.json", json.dumps(doc)))
    assert not out["verified"], out
