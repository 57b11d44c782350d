"""Erasure, legal hold and retention (issue 16), checked from the outside.

Two parts:
- The offline checks of an erasure receipt (mastery-verify --erasure-receipt, the npm peer),
  masteryctl's argument handling and the Python client's models, on receipts made here with
  the `cryptography` package and a did:key (receipts.py): these need no daemon support.
- The daemon's behaviour against a real masteryd: after EraseLearner the learner's ids and
  texts are nowhere (data.mdb, a backup taken afterwards, the daemon's log, any reply); every
  request about them answers GONE; their events read back shredded; the other learner is
  untouched; every checkpoint and proof taken before still verifies (tlogverify.py, an
  independent RFC 9162 verifier); the receipt verifies with mastery-verify and the npm peer;
  badges issued before stay valid unless revoked; a legal hold blocks erasure and retention;
  erasing twice is idempotent; re-enrolment starts the id afresh; `masteryd --check` passes.
  Every assertion says what the daemon must do, so a failure names the missing behaviour.
"""
import base64
import copy
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import receipts
from conftest import BIN, SRC, VECTORS, Client, Daemon, ctl, evidence, pb
from tlogverify import (leaf_hash, mth, open_note, parse_checkpoint, parse_tlog_proof,
                        verify_consistency, verify_inclusion)

VERIFY = os.path.join(BIN, "mastery-verify")
INTEROP = os.path.join(SRC, "tests", "interop")
DAY_MS = 86400 * 1000

FW = {"id": "urn:test:erasure", "title": "Erasure", "competencies": [
    {"id": "frac", "title": "Fractions",
     "achievement": {"name": "Fractions badge", "description": "Adds fractions."}},
    {"id": "dec", "title": "Decimals", "requires": {"all": ["frac"]}}]}

# Distinctive strings: none is a substring of an id that stays in clear (framework,
# competency, source, credential ids), so a hit in a file is a leak.
GONE_ID = "zq-erasee-5d81f0"
KEPT_ID = "zq-keeper-93be27"
THIRD_ID = "zq-third-0c11aa"  # probes that must not touch KEPT_ID
SECRETS = {
    GONE_ID: {"evidence": ["zq-ev-erasee-a1", "zq-ev-erasee-a2"],
              "narrative": "zq narrative erasee: wrote about her grandmother's farm",
              "url": "https://lms.example.edu/zq/erasee-submission-4417",
              "override": "zq override reason erasee: oral exam passed",
              "did": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
              "hold": "zq hold reason erasee: court order 12-B"},
    KEPT_ID: {"evidence": ["zq-ev-keeper-b1", "zq-ev-keeper-b2"],
              "narrative": "zq narrative keeper: measured the school garden",
              "url": "https://lms.example.edu/zq/keeper-submission-8812",
              "override": "zq override reason keeper: portfolio review"},
}
ERASE_REASON = "zq erasure reason: parent request 2026-11-30"
ERASE_REF = "zq-ticket-4711"


def secrets_of(learner, with_reason=True):
    s = SECRETS[learner]
    out = [learner, s["narrative"], s["url"], s["override"]] + s["evidence"]
    if with_reason and "hold" in s:
        out.append(s["hold"])
    if "did" in s:
        out.append(s["did"])  # a registered DID is sealed like every personal field
    return out


def verify(*args):
    return subprocess.run([VERIFY] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=60)


def verify_json(*args):
    r = verify("--json", *args)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text if isinstance(text, str) else json.dumps(text))
    return str(p)


def ok(rep, what):
    assert rep.status.code == pb.STATUS_OK, "%s: %s" % (what, rep.status)
    return rep


def assert_gone(rep, what, field="learner_id"):
    assert rep.status.code == pb.STATUS_GONE, (
        "%s for an erased learner must answer STATUS_GONE, got %s" % (what, rep.status))
    assert rep.status.field.endswith(field), (
        "%s: STATUS_GONE must name the field %s, not %r" % (what, field, rep.status.field))


# ---- an RFC 9162 tree and a C2SP checkpoint, made here for receipts' log proofs ----------------

def path(m, leaves):
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def signed_checkpoint(key, origin, leaves):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    text = "%s\n%d\n%s\n" % (origin, len(leaves), base64.b64encode(mth(leaves)).decode())
    khash = hashlib.sha256(origin.encode() + b"\n\x01" + pub).digest()[:4]
    sig = base64.b64encode(khash + key.sign(text.encode())).decode()
    vkey = "%s+%s+%s" % (origin, khash.hex(), base64.b64encode(b"\x01" + pub).decode())
    return text + "\n\u2014 %s %s\n" % (origin, sig), vkey


def tlog_proof(index, leaves, note):
    hashes = "".join(base64.b64encode(h).decode() + "\n" for h in path(index, leaves))
    return "c2sp.org/tlog-proof@v1\nindex %d\n%s\n%s" % (index, hashes, note)


# ---- part 1: offline, no daemon support needed ---------------------------------------------------

def test_receipt_made_here_verifies_and_names_only_its_learner(tmp_path):
    key = receipts.new_key(7)
    doc = receipts.make_receipt(key, "s-1001")
    good = write(tmp_path, "r.json", doc)
    rc, out = verify_json("--erasure-receipt", good, "--learner", "s-1001")
    assert rc == 0 and out["valid"] and out["verdict"] == "VALID", out
    assert out["checks"]["proof"] == "ok" and out["checks"]["learner"] == "ok"
    assert out["checks"]["receipt_shape"] == "ok" and out["checks"]["issuer_key"] == "ok"
    assert out["receipt"]["learnerCommitment"] == doc["credentialSubject"]["learnerCommitment"]
    assert out["receipt"]["log"]["index"] == 42 and out["issuer"]["id"] == doc["issuer"]
    # without --learner the commitment is not checked (and says so)
    rc, out = verify_json("--erasure-receipt", good)
    assert rc == 0 and out["checks"]["learner"] == "unchecked"
    # another learner: INVALID, naming the check
    rc, out = verify_json("--erasure-receipt", good, "--learner", "s-1002")
    assert rc == 1 and out["checks"]["learner"] == "failed"
    assert any("not about the given learner" in x for x in out["reasons"]), out["reasons"]
    # the text form: the issuer first, each check, the verdict last
    r = verify("--erasure-receipt", good, "--learner", "s-1001")
    assert r.returncode == 0 and r.stdout.splitlines()[0].startswith("issuer:")
    assert r.stdout.splitlines()[-1] == "VALID" and "learner" in r.stdout


def test_receipt_tampered_or_misshapen_fails_naming_why(tmp_path):
    key = receipts.new_key(7)
    doc = receipts.make_receipt(key, "s-1001")
    # one count changed after signing
    t = copy.deepcopy(doc)
    t["credentialSubject"]["scope"]["records"] += 1
    rc, out = verify_json("--erasure-receipt", write(tmp_path, "t.json", t))
    assert rc == 1 and out["checks"]["proof"] == "failed"
    assert any("signature does not verify" in x for x in out["reasons"])
    # a well-signed receipt of the wrong shape: each missing part named
    bad = receipts.make_receipt(key, "s-1001", sign_it=False)
    del bad["credentialSubject"]["scope"]["records"]
    bad["credentialSubject"]["log"]["leafHash"] = "xyz"
    bad["type"] = ["VerifiableCredential"]
    receipts.sign(bad, key, receipts.did_key(key)[1])
    rc, out = verify_json("--erasure-receipt", write(tmp_path, "b.json", bad))
    assert rc == 1 and out["checks"]["proof"] == "ok", out
    reasons = " | ".join(out["reasons"])
    for field in ("credentialSubject.scope.records", "credentialSubject.log.leafHash",
                  "type"):
        assert field in reasons, (field, reasons)
    # signed by a key that is not the issuer's
    other = receipts.new_key(9)
    forged = receipts.make_receipt(key, "s-1001", sign_it=False)
    receipts.sign(forged, other, receipts.did_key(other)[1])
    rc, out = verify_json("--erasure-receipt", write(tmp_path, "f.json", forged))
    assert rc == 1 and out["checks"]["issuer_key"] == "failed", out
    # another cryptosuite or purpose
    for k, v in (("cryptosuite", "eddsa-rdfc-2022"), ("proofPurpose", "authentication")):
        x = copy.deepcopy(doc)
        x["proof"][k] = v
        rc, out = verify_json("--erasure-receipt", write(tmp_path, "x.json", x))
        assert rc == 1 and not out["valid"], (k, out)
    # a future validFrom, checked at --now
    rc, out = verify_json("--erasure-receipt", write(tmp_path, "r.json", doc), "--now",
                          "2026-11-01T00:00:00Z")
    assert rc == 1 and out["checks"]["valid_from"] == "failed"
    # malformed JSON, not an object, empty
    for name, text in (("m.json", '{"type": '), ("a.json", "[1]"), ("e.json", "")):
        rc, out = verify_json("--erasure-receipt", write(tmp_path, name, text))
        assert rc == 1 and out["checks"]["parse"] == "failed", (name, out)


def test_receipt_issuer_and_trust(tmp_path):
    key = receipts.new_key(7)
    doc = receipts.make_receipt(key, "s-1001")
    r = write(tmp_path, "r.json", doc)
    rc, out = verify_json("--erasure-receipt", r, "--issuer", write(tmp_path, "i", doc["issuer"]))
    assert rc == 0 and out["checks"]["trust"] == "ok", out
    other = receipts.did_key(receipts.new_key(9))[0]
    rc, out = verify_json("--erasure-receipt", r, "--issuer", write(tmp_path, "o", other))
    assert rc == 1 and out["checks"]["trust"] == "failed"
    assert any("unknown issuer" in x for x in out["reasons"])
    rc, out = verify_json("--erasure-receipt", r)
    assert out["checks"]["trust"] == "unknown" and out["warnings"], out


def test_receipt_log_proof(tmp_path):
    key = receipts.new_key(7)
    origin = "lincoln.example.edu/mastery-log"
    entries = [b"\x01\x0d entry %d" % i for i in range(11)]
    leaves = [leaf_hash(e) for e in entries]
    index = 6
    doc = receipts.make_receipt(key, "s-1001", log_index=index, origin=origin,
                                leaf_hash=leaves[index].hex())
    r = write(tmp_path, "r.json", doc)
    note, _ = signed_checkpoint(key, origin, leaves)
    proof = write(tmp_path, "p.txt", tlog_proof(index, leaves, note))
    rc, out = verify_json("--erasure-receipt", r, "--log-proof", proof)
    assert rc == 0 and out["checks"]["log_proof"] == "ok", out
    # the proof of another entry
    rc, out = verify_json("--erasure-receipt", r, "--log-proof",
                          write(tmp_path, "p2.txt", tlog_proof(index + 1, leaves, note)))
    assert rc == 1 and out["checks"]["log_proof"] == "failed", out
    # a checkpoint signed by a key the receipt does not name: refused, unless given
    other = receipts.new_key(9)
    note2, vkey2 = signed_checkpoint(other, origin, leaves)
    p3 = write(tmp_path, "p3.txt", tlog_proof(index, leaves, note2))
    rc, out = verify_json("--erasure-receipt", r, "--log-proof", p3)
    assert rc == 1 and out["checks"]["log_proof"] == "failed"
    rc, out = verify_json("--erasure-receipt", r, "--log-proof", p3, "--log-key", vkey2)
    assert rc == 0 and out["checks"]["log_proof"] == "ok", out
    # a leaf not in the tree
    doc2 = receipts.make_receipt(key, "s-1001", log_index=index, origin=origin,
                                 leaf_hash=hashlib.sha256(b"elsewhere").hexdigest())
    rc, out = verify_json("--erasure-receipt", write(tmp_path, "r2.json", doc2), "--log-proof",
                          proof)
    assert rc == 1 and out["checks"]["log_proof"] == "failed"


def test_mastery_verify_receipt_usage_errors(tmp_path):
    r = write(tmp_path, "r.json", receipts.make_receipt(receipts.new_key(7), "s-1"))
    for args, words in ((["--erasure-receipt"], "needs a value"),
                        (["--erasure-receipt", r, "--learner", ""], "--learner"),
                        (["--erasure-receipt", r, "--status-list", r], "does not apply"),
                        (["--erasure-receipt", r, "extra.json"], "no BADGE operand"),
                        (["--erasure-receipt", str(tmp_path / "missing.json")], "missing.json"),
                        (["--erasure-receipt", r, "--issuer", r, "--trust", r], "once")):
        p = verify(*args)
        assert p.returncode == 2 and words in p.stderr, (args, p.stderr)
    assert "--erasure-receipt" in verify("--help").stdout


def node_peer():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("npm peer skipped: node and npm are not installed")
    marker = os.path.join(INTEROP, "node_modules", ".package-lock.json")
    lock = os.path.join(INTEROP, "package-lock.json")
    if not os.path.exists(marker) or os.path.getmtime(marker) < os.path.getmtime(lock):
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=INTEROP,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            pytest.skip("npm peer skipped: `npm ci` in tests/interop failed:\n" + r.stderr[-2000:])
    return node


def peer_verify(node, path, *extra):
    r = subprocess.run([node, os.path.join(INTEROP, "verify.mjs"), "--vectors", VECTORS, *extra,
                        path], capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    out = json.loads(r.stdout)
    assert out["verified"] == (r.returncode == 0)
    return out


def test_npm_peer_verifies_receipt_made_here(tmp_path):
    node = node_peer()
    key = receipts.new_key(7)
    doc = receipts.make_receipt(key, "s-1001")
    r = write(tmp_path, "r.json", doc)
    assert peer_verify(node, r)["verified"]
    assert peer_verify(node, r, "--learner", "s-1001")["verified"]
    out = peer_verify(node, r, "--learner", "s-1002")
    assert not out["verified"] and "learnerCommitment" in out["error"]
    t = copy.deepcopy(doc)
    t["credentialSubject"]["erasedAt"] = "2026-12-02T10:00:00Z"
    assert not peer_verify(node, write(tmp_path, "t.json", t))["verified"]


def test_masteryctl_erase_arguments(tmp_path):
    exists = tmp_path / "receipt.json"
    exists.write_text("{}")
    # nothing listens here: a usage error must come before any request (exit 2, not 3)
    base = [os.path.join(BIN, "masteryctl"), "-e", "tcp://127.0.0.1:9", "-t", "200"]

    def run(*args):
        return subprocess.run(base + list(args), capture_output=True, text=True, timeout=60)

    r = run("learner", "erase", "s1", "--receipt", str(exists))
    assert r.returncode == 2 and "exists" in r.stderr, r.stderr
    assert exists.read_text() == "{}", "an existing receipt file is never touched"
    r = run("learner", "erase", "s1", "--receipt", str(tmp_path / "no" / "dir" / "r.json"))
    assert r.returncode == 2 and "cannot write" in r.stderr, r.stderr
    r = run("learner", "erase")
    assert r.returncode == 2 and "usage: masteryctl learner erase" in r.stderr
    r = run("learner", "erase", "s1", "--bogus")
    assert r.returncode == 2
    r = run("learner", "hold", "s1", "--ref", "x")  # --ref belongs to erase only
    assert r.returncode == 2
    r = run("learner", "release")
    assert r.returncode == 2
    r = run("learner", "reenrol", "a", "b")
    assert r.returncode == 2
    r = run("events", "--kind", "nope")
    assert r.returncode == 2 and "learner_erased" in r.stderr and "shredded" in r.stderr
    r = run("learner", "erase", "s1")
    assert r.returncode == 3, "a well-formed erase reaches for the daemon (none here)"
    r = run("--help")
    for cmd in ("learner erase", "learner hold", "learner release", "learner reenrol"):
        assert cmd in r.stdout + r.stderr, cmd


def test_masteryctl_events_accepts_new_kinds(daemon):
    for kind in ("learner_erased", "legal_hold", "learner_reenrolled", "shredded"):
        r = ctl(daemon, "events", "--kind", kind)
        assert r.returncode == 0 and r.stdout == "", (kind, r.stderr)


def test_python_client_models():
    sys.path.insert(0, os.path.join(SRC, "clients", "python"))
    import masteryd_client as mc
    from masteryd_client.client import _event
    from masteryd_client.errors import error_for
    e = error_for("GONE", "erased", "items[2].learner_id")
    assert isinstance(e, mc.GoneError) and isinstance(e, mc.MasterydError)
    assert e.field == "items[2].learner_id" and "GONE" in str(e)
    for kind in ("learner_erased", "legal_hold", "learner_reenrolled", "shredded"):
        assert kind in mc.EVENT_KINDS
    ev = pb.Event(seq=7, at_ms=1000)
    ev.shredded.kind = "mastered"
    got = _event(ev)
    assert got.kind == "shredded" and got.shredded_kind == "mastered" and got.learner is None
    ev = pb.Event(seq=8, at_ms=2000)
    ev.learner_erased.learner_commitment = "ab" * 32
    ev.learner_erased.log_index = 5
    got = _event(ev)
    assert got.kind == "learner_erased" and got.learner is None and got.shredded_kind is None
    assert got.data["learner_commitment"] == "ab" * 32 and got.data["log_index"] == 5
    r = mc.ErasureReceipt(already_erased=False, erased_at_ms=1000, receipt_json='{"a": 1}',
                          log_index=3, evidence_erased=2, records_erased=9,
                          credentials_revoked=0, credentials_kept=1)
    assert r.receipt == {"a": 1} and r.erased_at.year == 1970
    assert mc.ErasureReceipt(True, 1000, "", 3, 0, 0, 0, 0).receipt is None
    assert mc.LegalHoldResult(hold=True, changed=True, since_ms=0).since is None


# ---- part 2: the daemon's behaviour ----------------------------------------------------------------

def jctl(d, *args):
    r = ctl(d, "--json", *args)
    assert r.returncode == 0, (args, r.stderr)
    return json.loads(r.stdout)


def checkpoint(d):
    cp = jctl(d, "log", "checkpoint")
    text = open_note(cp["note"], cp["verifier_keys"][-1])
    assert text is not None, "the checkpoint's signature verifies with the issuer's key"
    origin, size, root = parse_checkpoint(text)
    assert (origin, size) == (cp["origin"], cp["size"])
    return cp, size, root


def entries(c, size):
    out = []
    for i in range(size):
        e = ok(c.call(get_log_entry=pb.GetLogEntry(index=i)), "GetLogEntry %d" % i).log_entry
        assert bytes(e.leaf_hash) == leaf_hash(bytes(e.entry))
        out.append(bytes(e.entry))
    return out


def file_hits(paths, secrets):
    """{secret: [files holding it]} over the given files."""
    hits = {}
    for p in paths:
        if not os.path.isfile(p):
            continue
        with open(p, "rb") as f:
            blob = f.read()
        for s in secrets:
            if s.encode() in blob:
                hits.setdefault(s, []).append(p)
    return hits


def populate(c, d, tmp_path):
    """Two learners with evidence (ids, narratives, urls), overrides, a DID, a class, a badge."""
    ok(c.call(put_framework=pb.PutFramework(json=json.dumps(FW))), "PutFramework")
    now = int(time.time() * 1000)
    for learner in (GONE_ID, KEPT_ID):
        s = SECRETS[learner]
        rep = ok(c.submit(*[evidence(eid, learner, "frac", 0.95, now - (2 - i) * 60000,
                                     observed_at_set=True, narrative=s["narrative"],
                                     url=s["url"], source="quiz")
                            for i, eid in enumerate(s["evidence"])]), "SubmitEvidence")
        assert all(it.status.code == pb.STATUS_OK for it in rep.evidence_results.items)
        ok(c.call(override=pb.Override(learner_id=learner, framework_id=FW["id"],
                                       competency_id="dec", mastered=True,
                                       reason=s["override"], actor="teacher-t1")), "Override")
    ok(c.call(register_learner_did=pb.RegisterLearnerDid(
        learner_id=GONE_ID, did=SECRETS[GONE_ID]["did"])), "RegisterLearnerDid")
    ok(c.call(import_roster=pb.ImportRoster(classes=[pb.RosterClass(
        group_id="7A", title="Math 7A", learner_ids=[GONE_ID, KEPT_ID],
        teacher_ids=["teacher-t1"])])), "ImportRoster")
    creds = {}
    for learner in (GONE_ID, KEPT_ID):
        [cred] = ok(c.call(list_credentials=pb.ListCredentials(learner_id=learner)),
                    "ListCredentials").credential_list.credentials
        creds[learner] = cred.credential_id
    return creds


def snapshot(c, learner):
    """What must not change for a learner another's erasure leaves alone."""
    return {
        "state": ok(c.learner(learner), "GetLearner").learner.SerializeToString(),
        "evidence": ok(c.call(list_evidence=pb.ListEvidence(learner_id=learner)),
                       "ListEvidence").evidence.SerializeToString(),
        "credentials": ok(c.call(list_credentials=pb.ListCredentials(learner_id=learner)),
                          "ListCredentials").credential_list.SerializeToString(),
    }


def test_erasure_end_to_end(tmp_path):
    data = str(tmp_path / "data")
    conf = tmp_path / "m.conf"
    conf.write_text("credential_suspension = 1\n")  # badges that can be suspended, too
    d = Daemon(data, extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    replies = []  # every reply after the erasure: none may name the erased learner

    def call(**op):
        rep = c.call(**op)
        replies.append(rep.SerializeToString())
        return rep

    try:
        creds = populate(c, d, tmp_path)
        gone_cred = creds[GONE_ID]
        # the erased learner's badge, kept by the learner before the erasure
        badge = write(tmp_path, "badge.json", ok(c.call(get_credential=pb.GetCredential(
            credential_id=gone_cred)), "GetCredential").credential.document)
        ok(c.call(set_legal_hold=pb.SetLegalHold(learner_id=GONE_ID, hold=True,
                                                 reason=SECRETS[GONE_ID]["hold"])), "hold")
        ok(c.call(set_legal_hold=pb.SetLegalHold(learner_id=GONE_ID, hold=False)), "release")
        mdb = os.path.join(data, "data.mdb")
        everyone = secrets_of(GONE_ID) + secrets_of(KEPT_ID)
        hits = file_hits([mdb], everyone)
        assert not hits, "data.mdb must hold no learner id or text in clear (sealed): %s" % hits

        before_kept = snapshot(c, KEPT_ID)
        cp1, size1, root1 = checkpoint(d)
        old_entries = entries(c, size1)
        old_leaves = [leaf_hash(e) for e in old_entries]
        assert mth(old_leaves) == root1
        old_proofs = {i: ok(c.call(prove_log=pb.ProveLog(index=i)), "ProveLog").log_proof
                      for i in range(size1)}
        issuer = ok(c.call(get_issuer=pb.GetIssuer()), "GetIssuer").issuer

        # ---- erase (masteryctl, the receipt to a file) ----
        rfile = tmp_path / "receipt.json"
        r = ctl(d, "--json", "learner", "erase", GONE_ID, "--reason", ERASE_REASON, "--ref",
                ERASE_REF, "--receipt", str(rfile))
        assert r.returncode == 0, "EraseLearner must succeed for an admin: " + r.stderr
        summary = json.loads(r.stdout)
        assert summary["already_erased"] is False and summary["receipt_file"] == str(rfile)
        assert summary["evidence_erased"] == 2, summary
        assert summary["records_erased"] >= summary["evidence_erased"]
        assert summary["credentials_kept"] == 1 and summary["credentials_revoked"] == 0
        assert os.stat(rfile).st_mode & 0o777 == 0o600, "the receipt file is 0600"
        receipt = json.loads(rfile.read_text())
        subject = receipt["credentialSubject"]
        assert receipt["type"] == ["VerifiableCredential", "ErasureReceipt"]
        assert receipt["issuer"] == issuer.did
        assert subject["requestRef"] == ERASE_REF and subject["reason"] == ERASE_REASON
        assert subject["scope"]["evidence"] == 2 and subject["scope"]["credentialsKept"] == 1
        assert subject["learnerCommitment"] == hashlib.sha256(
            bytes.fromhex(subject["commitmentSalt"]) + GONE_ID.encode()).hexdigest()
        assert GONE_ID not in rfile.read_text(), "the receipt never names the learner"
        assert subject["log"]["index"] == summary["log_index"]

        # ---- nothing of theirs answers ----
        gone_ops = [
            ("GetLearner", dict(get_learner=pb.GetLearner(learner_id=GONE_ID))),
            ("ListEvidence", dict(list_evidence=pb.ListEvidence(learner_id=GONE_ID))),
            ("Next", dict(next=pb.Next(learner_id=GONE_ID))),
            ("Explain", dict(explain=pb.Explain(learner_id=GONE_ID, framework_id=FW["id"],
                                                competency_id="frac"))),
            ("ListCredentials", dict(list_credentials=pb.ListCredentials(learner_id=GONE_ID))),
            ("IssueTranscript", dict(issue_transcript=pb.IssueTranscript(learner_id=GONE_ID))),
            ("Override", dict(override=pb.Override(learner_id=GONE_ID, framework_id=FW["id"],
                                                   competency_id="frac", mastered=True,
                                                   reason="x", actor="t"))),
            ("RegisterLearnerDid", dict(register_learner_did=pb.RegisterLearnerDid(
                learner_id=GONE_ID, did=SECRETS[GONE_ID]["did"]))),
        ]
        for what, op in gone_ops:
            assert_gone(call(**op), what)
        for what, op in (("GetCredential", dict(get_credential=pb.GetCredential(
                credential_id=gone_cred))),
                         ("GetCredentialProof", dict(get_credential_proof=pb.GetCredentialProof(
                             credential_id=gone_cred)))):
            assert_gone(call(**op), what, "credential_id")
        # a batch: the erased learner's item refused, the other's accepted
        rep = ok(call(submit_evidence=pb.SubmitEvidence(items=[
            evidence("zq-late-1", GONE_ID, "frac", 0.5),
            evidence("zq-late-2", THIRD_ID, "frac", 0.5)])), "SubmitEvidence")
        first, second = rep.evidence_results.items
        assert first.status.code == pb.STATUS_GONE and \
            first.status.field == "items[0].learner_id", first.status
        assert second.status.code == pb.STATUS_OK, second.status
        rep = call(import_roster=pb.ImportRoster(classes=[pb.RosterClass(
            group_id="7B", learner_ids=[THIRD_ID, GONE_ID])]))
        assert_gone(rep, "ImportRoster listing an erased learner", "classes[0].learner_ids[1]")
        # the admin may still change the status of a badge the erased learner kept
        ok(call(set_credential_status=pb.SetCredentialStatus(
            credential_id=gone_cred, purpose="suspension", set=True, reason="check")),
            "SetCredentialStatus on an erased learner's badge")
        ok(call(set_credential_status=pb.SetCredentialStatus(
            credential_id=gone_cred, purpose="suspension", set=False, reason="check")),
            "unsuspend an erased learner's badge")

        # ---- events: shredded, plus learner_erased; no id ----
        evs = ok(call(read_events=pb.ReadEvents(from_seq=1)), "ReadEvents").events.events
        kinds = [e.WhichOneof("kind") for e in evs]
        shredded = [e.shredded.kind for e in evs if e.WhichOneof("kind") == "shredded"]
        assert "mastered" in shredded and "evidence_accepted" in shredded, (
            "the erased learner's stored events read back as shredded{kind}: %s" % shredded)
        [erased_ev] = [e for e in evs if e.WhichOneof("kind") == "learner_erased"]
        assert erased_ev.learner_erased.learner_commitment == subject["learnerCommitment"]
        assert erased_ev.learner_erased.log_index == summary["log_index"]
        assert "evidence_accepted" in kinds, "the other learner's events stay readable"
        r = ctl(d, "events", "--kind", "learner_erased")
        assert r.returncode == 0 and subject["learnerCommitment"] in r.stdout

        # ---- the other learner is untouched ----
        after_kept = snapshot(c, KEPT_ID)
        for k in ("state", "evidence", "credentials"):
            assert after_kept[k] == before_kept[k], "the other learner's %s changed" % k

        # ---- the log: every old proof verifies against the new checkpoint ----
        cp2, size2, root2 = checkpoint(d)
        assert size2 > size1 and cp2["origin"] == cp1["origin"]
        new_entries = entries(c, size2)
        assert new_entries[:size1] == old_entries, "the log keeps every entry as it was"
        new_leaves = [leaf_hash(e) for e in new_entries]
        assert mth(new_leaves) == root2
        cons = ok(c.call(prove_log=pb.ProveLog(size1=size1, size=size2)), "consistency").log_proof
        assert verify_consistency(size1, size2, root1, root2, [bytes(h) for h in cons.hashes])
        for i, p in old_proofs.items():
            index, hashes, note = parse_tlog_proof(p.tlog_proof)
            assert index == i and open_note(note, cp1["verifier_keys"][-1])
            assert verify_inclusion(i, size1, old_leaves[i], hashes, root1)
            now = ok(c.call(prove_log=pb.ProveLog(index=i)), "ProveLog").log_proof
            assert verify_inclusion(i, size2, old_leaves[i], [bytes(h) for h in now.hashes],
                                    root2)
        li = summary["log_index"]
        assert subject["log"]["leafHash"] == new_leaves[li].hex()
        assert subject["log"]["origin"] == cp2["origin"]
        digest = hashlib.sha256(bytes.fromhex(subject["commitmentSalt"]) + GONE_ID.encode())
        assert digest.digest() in new_entries[li], "the erasure entry carries the commitment"
        kind = jctl(d, "log", "entry", str(li))["entry"]["kind"]
        assert kind == 13 or "erase" in str(kind), "entry %d is the erasure: %r" % (li, kind)

        # ---- the receipt verifies offline ----
        r = verify("--erasure-receipt", rfile, "--learner", GONE_ID)
        assert r.returncode == 0, r.stdout + r.stderr
        r = verify("--erasure-receipt", rfile, "--learner", KEPT_ID)
        assert r.returncode == 1 and "learner" in r.stdout
        proof = tmp_path / "erasure.tlog-proof"
        proof.write_text(jctl(d, "log", "prove", str(li))["tlog_proof"])
        rc, out = verify_json("--erasure-receipt", rfile, "--learner", GONE_ID, "--issuer",
                              write(tmp_path, "issuer", issuer.did), "--log-proof", proof)
        assert rc == 0 and out["checks"]["log_proof"] == "ok", out
        t = json.loads(rfile.read_text())
        t["credentialSubject"]["scope"]["evidence"] = 0
        assert verify("--erasure-receipt", write(tmp_path, "t.json", t)).returncode == 1
        if shutil.which("node"):
            node = node_peer()
            assert peer_verify(node, str(rfile), "--learner", GONE_ID)["verified"]
            assert not peer_verify(node, write(tmp_path, "t2.json", t))["verified"]

        # ---- the badge issued before stays valid ----
        lst = write(tmp_path, "list.json", ok(c.call(export_status_list=pb.ExportStatusList(
            purpose="revocation")), "ExportStatusList").status_list.json)
        r = verify(badge, "--status-list", lst)
        assert r.returncode == 0, "a badge issued before the erasure stays valid:\n" + r.stdout

        # ---- idempotent ----
        again = ok(call(erase_learner=pb.EraseLearner(learner_id=GONE_ID)), "erase again").erasure
        assert again.already_erased and again.receipt_json == ""
        assert abs(again.erased_at_ms - receipt_erased_ms(subject)) < 1000

        # ---- a backup taken afterwards holds nothing of theirs ----
        bk = tmp_path / "backup"
        ok(call(backup=pb.Backup(dir=str(bk))), "Backup")
        files = [p for p in glob.glob(str(bk / "**"), recursive=True) if os.path.isfile(p)]
        assert any(p.endswith("data.mdb") for p in files)
        hits = file_hits(files + [mdb], secrets_of(GONE_ID) + [ERASE_REASON, ERASE_REF])
        assert not hits, "after erasure the learner is in no stored file: %s" % hits
        hits = file_hits(files + [mdb], secrets_of(KEPT_ID))
        assert not hits, "the other learner is sealed in the backup too: %s" % hits
        for rep in replies:
            assert GONE_ID.encode() not in rep, "a reply named the erased learner"
    finally:
        c.close()
        rc = d.stop()
    assert rc == 0, "masteryd shuts down cleanly"
    log = "".join(d.log)
    for s in secrets_of(GONE_ID) + [ERASE_REASON, ERASE_REF]:
        assert s not in log, "the daemon's log names %r" % s
    r = subprocess.run([os.path.join(BIN, "masteryd"), "--check", "--data", data],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "masteryd --check after an erasure:\n" + r.stdout + r.stderr


def receipt_erased_ms(subject):
    from datetime import datetime
    t = subject["erasedAt"].replace("Z", "+00:00")
    return int(round(datetime.fromisoformat(t).timestamp() * 1000))


def test_revoke_credentials_sets_the_revocation_bit(tmp_path):
    d = Daemon(str(tmp_path / "data")).start()
    c = Client(d.endpoint)
    try:
        creds = populate(c, d, tmp_path)
        badge = write(tmp_path, "b.json", ok(c.call(get_credential=pb.GetCredential(
            credential_id=creds[GONE_ID])), "GetCredential").credential.document)
        rep = ok(c.call(erase_learner=pb.EraseLearner(learner_id=GONE_ID,
                                                      revoke_credentials=True)), "erase")
        e = rep.erasure
        assert e.credentials_revoked == 1 and e.credentials_kept == 0, e
        assert json.loads(e.receipt_json)["credentialSubject"]["scope"]["credentialsRevoked"] == 1
        lst = write(tmp_path, "l.json", ok(c.call(export_status_list=pb.ExportStatusList(
            purpose="revocation")), "ExportStatusList").status_list.json)
        r = verify("--json", badge, "--status-list", lst)
        out = json.loads(r.stdout)
        assert r.returncode == 1 and out["verdict"] == "REVOKED", out
        # the other learner's badge is not revoked
        other = write(tmp_path, "o.json", ok(c.call(get_credential=pb.GetCredential(
            credential_id=creds[KEPT_ID])), "GetCredential").credential.document)
        assert verify(other, "--status-list", lst).returncode == 0
    finally:
        c.close()
        assert d.stop() == 0


def test_legal_hold_idempotence_and_reenrolment(daemon, tmp_path):
    sys.path.insert(0, os.path.join(SRC, "clients", "python"))
    import masteryd_client as mc
    c = Client(daemon.endpoint)
    try:
        populate(c, daemon, tmp_path)
    finally:
        c.close()
    with mc.Client(daemon.endpoint) as md:
        h = md.set_legal_hold(GONE_ID, True, reason=SECRETS[GONE_ID]["hold"])
        assert h.hold and h.changed and h.since_ms > 0, h
        assert md.set_legal_hold(GONE_ID, True).changed is False
        with pytest.raises(mc.ConflictError) as ei:
            md.erase_learner(GONE_ID, reason="r")
        assert ei.value.field.endswith("learner_id"), "a hold refuses erasure naming learner_id"
        assert md.learner_state(GONE_ID).frameworks, "refused: nothing was erased"
        r = ctl(daemon, "learner", "erase", GONE_ID)
        assert r.returncode == 1 and "CONFLICT" in r.stderr
        r = ctl(daemon, "learner", "release", GONE_ID)
        assert r.returncode == 0 and "released" in r.stdout, r.stdout + r.stderr
        first = md.erase_learner(GONE_ID, reason="r", request_ref="t-1")
        assert not first.already_erased and first.receipt["credentialSubject"]["requestRef"] == "t-1"
        second = md.erase_learner(GONE_ID)
        assert second.already_erased and second.receipt is None
        assert second.erased_at_ms == first.erased_at_ms
        r = ctl(daemon, "learner", "erase", GONE_ID)
        assert r.returncode == 0 and "already erased" in r.stdout
        with pytest.raises(mc.GoneError) as ei:
            md.submit_evidence("zq-after-1", GONE_ID, "frac", 0.7)
        assert ei.value.field.endswith("learner_id")
        with pytest.raises(mc.GoneError):
            md.learner_state(GONE_ID)
        r = ctl(daemon, "learner", "show", GONE_ID)
        assert r.returncode == 1 and "GONE" in r.stderr and "reenrol" in r.stderr
        evs = list(md.events(follow=False))
        kinds = [e.kind for e in evs]
        assert "learner_erased" in kinds and "shredded" in kinds, kinds
        # the hold named the learner: it was sealed with their data and is shredded with it
        assert "legal_hold" in [e.shredded_kind for e in evs], "the hold's event is shredded"
        assert md.reenrol_learner(GONE_ID).was_erased
        assert not md.reenrol_learner(GONE_ID).was_erased
        assert not md.reenrol_learner(KEPT_ID).was_erased
        assert md.submit_evidence("zq-after-2", GONE_ID, "frac", 0.4).code == "OK"
        st = md.learner_state(GONE_ID).get("frac")
        assert st.evidence_count == 1 and not st.mastered, "re-enrolled: starts with nothing"
        assert [e.evidence_id for e in md.evidence(GONE_ID)] == ["zq-after-2"]
        assert md.credentials(GONE_ID) == []
        r = ctl(daemon, "--json", "events", "--kind", "learner_reenrolled")
        assert r.returncode == 0 and GONE_ID in r.stdout


def test_retention_shreds_old_payloads_but_not_held_ones(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("retention_days = 30\nretention_sweep_seconds = 1\n")
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    try:
        ok(c.call(put_framework=pb.PutFramework(json=json.dumps(FW))), "PutFramework")
        now = int(time.time() * 1000)
        old, recent = now - 400 * DAY_MS, now - DAY_MS
        held = KEPT_ID
        for learner in (GONE_ID, KEPT_ID):
            s = SECRETS[learner]
            rep = ok(c.submit(
                evidence(s["evidence"][1], learner, "frac", 0.91, recent, observed_at_set=True,
                         narrative=s["narrative"] + " (recent)", url=s["url"] + "/recent",
                         source="quiz")), "SubmitEvidence")
            assert all(i.status.code == pb.STATUS_OK for i in rep.evidence_results.items)
            if learner == held:  # held before its old evidence exists: no race with the sweep
                ok(c.call(set_legal_hold=pb.SetLegalHold(learner_id=held, hold=True)), "hold")
            rep = ok(c.submit(
                evidence(s["evidence"][0], learner, "frac", 0.93, old, observed_at_set=True,
                         narrative=s["narrative"], url=s["url"], source="quiz")),
                "SubmitEvidence")
            assert all(i.status.code == pb.STATUS_OK for i in rep.evidence_results.items)
        states_before = {lid: c.learner(lid).learner.SerializeToString()
                         for lid in (GONE_ID, KEPT_ID)}

        def items(learner):
            ev = ok(c.call(list_evidence=pb.ListEvidence(learner_id=learner)), "ListEvidence")
            return {i.observed_at_ms: i for i in ev.evidence.items}

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and items(GONE_ID)[old].narrative:
            time.sleep(0.2)
        swept = items(GONE_ID)
        assert swept[old].narrative == "" and swept[old].url == "", (
            "retention_days = 30 shreds the payload of evidence observed 400 days ago "
            "(polled 60 s with retention_sweep_seconds = 1)")
        assert swept[old].score == pytest.approx(0.93), "the score stays"
        assert swept[recent].narrative.endswith("(recent)"), "recent evidence is kept whole"
        kept = items(held)
        assert kept[old].narrative == SECRETS[held]["narrative"], "a legal hold blocks retention"
        assert kept[old].url == SECRETS[held]["url"]
        for lid in (GONE_ID, KEPT_ID):
            assert c.learner(lid).learner.SerializeToString() == states_before[lid], (
                "retention never changes a state")
    finally:
        c.close()
        assert d.stop() == 0
    assert SECRETS[GONE_ID]["narrative"] not in "".join(d.log)
