"""Badges issued by the daemon on mastery: once, signed, listed, revocable, with status lists.

Signatures here are checked with an independent implementation (Python's `cryptography`
verifying the EdDSA VC-JWT against the issuer's did:key); the Data Integrity proofs are
checked by mastery-verify and by the Digital Bazaar stack in their own tests."""
import base64
import gzip
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from conftest import Client, Daemon, evidence, pb, states

FW = {"id": "urn:test:badges", "title": "Badges", "version": "1", "competencies": [
    {"id": "a", "title": "A", "source_uri": "http://corestandards.org/Math/Content/4/NF/A/1",
     "achievement": {"name": "Badge A", "description": "Did A.", "criteria": "Latest 80%+."}},
    {"id": "b", "title": "B", "requires": {"all": ["a"]},
     "achievement": {"name": "Badge B", "description": "Did B.", "valid_for_days": 365}},
    {"id": "c", "title": "C (no badge)", "requires": {"all": ["a"]}},
]}
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(s):
    n = 0
    for ch in s:
        n = n * 58 + B58.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(s) - len(s.lstrip("1"))) + raw


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def did_key_public(did):
    raw = b58decode(did.split(":")[2][1:])
    assert raw[:2] == b"\xed\x01"
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def load(c, doc=FW):
    rep = c.call(put_framework=pb.PutFramework(json=json.dumps(doc)))
    assert rep.status.code == pb.STATUS_OK, rep.status
    return rep.framework_info


def creds(c, learner):
    rep = c.call(list_credentials=pb.ListCredentials(learner_id=learner))
    assert rep.status.code == pb.STATUS_OK, rep.status
    return list(rep.credential_list.credentials)


def get(c, cid, fmt=pb.FORMAT_JSON):
    rep = c.call(get_credential=pb.GetCredential(credential_id=cid, format=fmt))
    assert rep.status.code == pb.STATUS_OK, rep.status
    return rep.credential


def status_bit(c, purpose, index):
    rep = c.call(export_status_list=pb.ExportStatusList(purpose=purpose))
    assert rep.status.code == pb.STATUS_OK, rep.status
    doc = json.loads(rep.status_list.json)
    assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert doc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    enc = doc["credentialSubject"]["encodedList"]
    assert enc[0] == "u"
    bits = gzip.decompress(b64url(enc[1:]))
    assert len(bits) * 8 >= 131072
    return (bits[index // 8] >> (7 - index % 8)) & 1


def test_issued_once_on_mastery_with_event_and_valid_jwt(client):
    load(client)
    client.submit(evidence("e1", "s1", "c", 0.9, 1000))  # no badge for c, ever
    client.submit(evidence("e2", "s1", "a", 0.95, 2000, url="https://quiz.example/r/2"))
    [cred] = creds(client, "s1")
    assert cred.competency_id == "a" and cred.achievement_name == "Badge A"
    assert cred.state == pb.CREDENTIAL_ACTIVE and cred.revision == 1
    evs = client.events().events.events
    kinds = [e.WhichOneof("kind") for e in evs]
    assert kinds.index("credential_issued") == kinds.index("mastered") + 1
    issued = [e.credential_issued for e in evs if e.WhichOneof("kind") == "credential_issued"]
    assert issued[0].credential_id == cred.credential_id

    doc = json.loads(get(client, cred.credential_id).document)
    assert doc["@context"] == ["https://www.w3.org/ns/credentials/v2",
                               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["id"] == cred.credential_id
    subj = doc["credentialSubject"]
    assert "s1" not in json.dumps(subj)  # never the raw school id
    ident = subj["identifier"][0]
    import hashlib
    assert ident["identityHash"] == "sha256$" + hashlib.sha256(("s1" + ident["salt"]).encode()).hexdigest()
    ach = subj["achievement"]
    assert ach["achievementType"] == "Competency" and ach["name"] == "Badge A"
    assert ach["alignment"][0]["targetUrl"] == FW["competencies"][0]["source_uri"]
    # The evidence is named by its transparency log entry, never by the tool's id or URL.
    [ev] = doc["evidence"]
    assert ev["id"].startswith("urn:tlog:") and ev["name"] == "Log entry " + ev["id"].split(":")[2]
    assert "quiz.example" not in json.dumps(doc) and '"e2"' not in json.dumps(doc)
    assert isinstance(doc["proof"], list) and doc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert doc["credentialStatus"]["statusPurpose"] == "revocation"
    assert "validUntil" not in doc

    # The JWT form: EdDSA, kid names the issuer's key, the signature verifies.
    jwt = get(client, cred.credential_id, pb.FORMAT_JWT).document
    h, p, s = jwt.split(".")
    header, claims = json.loads(b64url(h)), json.loads(b64url(p))
    assert header["alg"] == "EdDSA" and header["kid"].startswith(doc["issuer"]["id"] + "#")
    assert claims["iss"] == doc["issuer"]["id"] and claims["jti"] == doc["id"]
    assert claims["vc"]["credentialSubject"] == subj and "proof" not in claims["vc"]
    did_key_public(doc["issuer"]["id"]).verify(b64url(s), (h + "." + p).encode())
    with pytest.raises(Exception):
        did_key_public(doc["issuer"]["id"]).verify(b64url(s), (h + "." + p[:-2] + "xx").encode())

    # More evidence, a withdrawal and a re-mastery: still one credential for a.
    client.submit(evidence("e3", "s1", "a", 0.99, 3000))
    client.call(override=pb.Override(learner_id="s1", framework_id=FW["id"], competency_id="a",
                                     mastered=False, reason="check"))
    client.submit(evidence("e4", "s1", "a", 0.99))
    assert states(client.learner("s1"))["a"][0] == "MASTERED"
    assert [x.competency_id for x in creds(client, "s1")] == ["a"]


def test_expiry_and_cascade_issue_several(client):
    load(client)
    client.submit(evidence("x1", "s2", "b", 0.9, 1000))           # b locked, prior evidence
    client.submit(evidence("x2", "s2", "a", 0.9, 2000))           # a -> unlocks b -> masters b
    got = sorted(c.competency_id for c in creds(client, "s2"))
    assert got == ["a", "b"]
    b = [c for c in creds(client, "s2") if c.competency_id == "b"][0]
    doc = json.loads(get(client, b.credential_id).document)
    assert doc["validUntil"] > doc["validFrom"]


def test_revoke_is_final_and_idempotent_and_listed(client):
    load(client)
    client.submit(evidence("r1", "s3", "a", 0.9, 1000))
    [cred] = creds(client, "s3")
    assert status_bit(client, "revocation", cred.status_index) == 0
    call = lambda **kw: client.call(set_credential_status=pb.SetCredentialStatus(
        credential_id=cred.credential_id, **kw))
    rep = call(purpose="revocation", set=True, reason="issued in error")
    assert rep.status.code == pb.STATUS_OK and rep.credential_info.state == pb.CREDENTIAL_REVOKED
    assert rep.credential_info.reason == "issued in error"
    again = call(purpose="revocation", set=True, reason="issued in error")
    assert again.status.code == pb.STATUS_OK and "no change" in again.status.message
    undo = call(purpose="revocation", set=False)
    assert undo.status.code == pb.STATUS_INVALID and undo.status.field == "set_credential_status.set"
    assert status_bit(client, "revocation", cred.status_index) == 1
    assert creds(client, "s3")[0].state == pb.CREDENTIAL_REVOKED
    evs = [e.credential_status for e in client.events().events.events
           if e.WhichOneof("kind") == "credential_status"]
    assert len(evs) == 1 and evs[0].purpose == "revocation" and evs[0].set
    # Suspension needs a suspension entry, which this daemon's defaults leave out.
    sus = call(purpose="suspension", set=True, reason="x")
    assert sus.status.code == pb.STATUS_INVALID
    nf = client.call(set_credential_status=pb.SetCredentialStatus(
        credential_id="urn:uuid:nope", purpose="revocation", set=True, reason="x"))
    assert nf.status.code == pb.STATUS_NOT_FOUND
    bad = call(purpose="expiry", set=True, reason="x")
    assert bad.status.code == pb.STATUS_INVALID and bad.status.field == "set_credential_status.purpose"
    assert client.call(get_credential=pb.GetCredential(credential_id="urn:uuid:nope")).status.code == pb.STATUS_NOT_FOUND


def test_suspension_when_configured_and_both_proofs(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("credential_suspension = 1\ncredential_proofs = rdfc,jcs\n"
                    "issuer_did_web = school.example\nissuer_name = Example School\n"
                    "status_base_url = https://school.example/status\n")
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    try:
        load(c)
        c.submit(evidence("s1", "s4", "a", 0.9, 1000))
        [cred] = creds(c, "s4")
        doc = json.loads(get(c, cred.credential_id).document)
        assert [p["cryptosuite"] for p in doc["proof"]] == ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
        assert doc["issuer"]["id"] == "did:web:school.example" and doc["issuer"]["name"] == "Example School"
        assert {s["statusPurpose"] for s in doc["credentialStatus"]} == {"revocation", "suspension"}
        call = lambda **kw: c.call(set_credential_status=pb.SetCredentialStatus(
            credential_id=cred.credential_id, **kw))
        assert call(purpose="suspension", set=True, reason="investigation").credential_info.state == pb.CREDENTIAL_SUSPENDED
        assert status_bit(c, "suspension", cred.status_index) == 1
        assert call(purpose="suspension", set=False).credential_info.state == pb.CREDENTIAL_ACTIVE
        assert status_bit(c, "suspension", cred.status_index) == 0
        # did:web: the DID document lists every key under assertionMethod, old ones after rotation.
        issuer = c.call(get_issuer=pb.GetIssuer()).issuer
        assert issuer.did == "did:web:school.example"
        before = json.loads(issuer.did_document)
        rot = c.call(rotate_keys=pb.RotateKeys()).issuer
        after = json.loads(rot.did_document)
        assert len(after["assertionMethod"]) == len(before["assertionMethod"]) + 2
        assert set(before["assertionMethod"]) <= set(after["assertionMethod"])
        assert sum(k.current for k in rot.keys) == 2 and len(rot.keys) == 4
    finally:
        c.close()
        assert d.stop() == 0


def test_learner_did_and_new_revision_keeps_badges(client):
    load(client)
    rep = client.call(register_learner_did=pb.RegisterLearnerDid(
        learner_id="s5", did="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"))
    assert rep.status.code == pb.STATUS_OK
    bad = client.call(register_learner_did=pb.RegisterLearnerDid(learner_id="s5", did="not-a-did"))
    assert bad.status.code == pb.STATUS_INVALID and bad.status.field == "register_learner_did.did"
    client.submit(evidence("d1", "s5", "a", 0.9, 1000))
    [cred] = creds(client, "s5")
    doc = json.loads(get(client, cred.credential_id).document)
    assert doc["credentialSubject"]["id"].startswith("did:key:z6Mkha")
    jwt = get(client, cred.credential_id, pb.FORMAT_JWT).document
    assert json.loads(b64url(jwt.split(".")[1]))["sub"] == doc["credentialSubject"]["id"]
    # A new framework revision: nothing revoked, nothing re-issued.
    doc2 = json.loads(json.dumps(FW))
    doc2["version"] = "2"
    assert load(client, doc2).revision == 2
    after = creds(client, "s5")
    assert [(c.credential_id, c.state) for c in after] == [(cred.credential_id, pb.CREDENTIAL_ACTIVE)]


def test_case_import_with_badges_aligns_to_cfitem(client):
    import os
    from conftest import VECTORS
    path = os.path.join(VECTORS, "case", "SmartLevelFramework.json")
    with open(path) as f:
        pkg = f.read()
    rep = client.call(import_case=pb.ImportCase(package_json=pkg, badges=True))
    assert rep.status.code == pb.STATUS_OK, rep.status
    res = rep.import_case
    assert res.info.competency_count == 14 and res.summary
    leaf = json.loads(pkg)["CFItems"][-1]
    fwdoc = json.loads(client.call(get_framework=pb.GetFramework(
        framework_id=res.info.framework_id)).framework.json)
    comp = [c for c in fwdoc["competencies"] if c["id"] == leaf["identifier"]][0]
    # Master every competency the leaf needs by overrides, then the leaf by evidence.
    for c in fwdoc["competencies"]:
        if c["id"] != leaf["identifier"] and c.get("rule", {}).get("method") != "children":
            client.call(override=pb.Override(learner_id="cs1", framework_id=res.info.framework_id,
                                             competency_id=c["id"], mastered=True, reason="setup"))
    client.submit(evidence("case-1", "cs1", leaf["identifier"], 0.95, 1000))
    got = {c.competency_id: c for c in creds(client, "cs1")}
    assert leaf["identifier"] in got
    doc = json.loads(get(client, got[leaf["identifier"]].credential_id).document)
    al = doc["credentialSubject"]["achievement"]["alignment"][0]
    assert al["targetType"] == "CFItem" and al["targetUrl"] == leaf["uri"] == comp["source_uri"]
    bad = client.call(import_case=pb.ImportCase(package_json='{"CFItems": []}'))
    assert bad.status.code == pb.STATUS_INVALID and bad.status.field.startswith("import_case")
