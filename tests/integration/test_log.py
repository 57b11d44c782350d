"""The transparency log against a real daemon, checked by an independent verifier written from
RFC 9162 and the C2SP signed-note / tlog-checkpoint / tlog-proof texts (tlogverify.py: Python's
hashlib and the cryptography package's Ed25519; nothing of lib/tlog)."""
import base64
import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, Daemon, ctl, evidence
from tlogverify import (leaf_hash, mth, open_note, parse_checkpoint, parse_tlog_proof,  # noqa: F401
                        verify_consistency, verify_inclusion)

FW = {"id": "urn:test:log", "title": "Log", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge A", "description": "Did A."}},
    {"id": "b", "title": "B", "requires": {"all": ["a"]},
     "achievement": {"name": "Badge B", "description": "Did B."}}]}

SECRET_LEARNER = "alice.secret-learner-4711"
SECRET_NARRATIVE = "Alice wrote a very private reflection about her family"
SECRET_URL = "https://lms.example.edu/private/alice-submission-99"
SECRET_EVIDENCE_ID = "quiz-77-alice.secret-learner-4711-q3"


# ---- helpers ---------------------------------------------------------------------------------

def jctl(daemon, *args):
    r = ctl(daemon, "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def load_fw(daemon, tmp_path):
    f = tmp_path / "fw.json"
    f.write_text(json.dumps(FW))
    assert ctl(daemon, "framework", "load", str(f)).returncode == 0


def all_entries(daemon, size):
    out = []
    for i in range(size):
        e = jctl(daemon, "log", "entry", str(i))
        raw = base64.b64decode(e["bytes"])
        assert base64.b64decode(e["leaf_hash"]) == leaf_hash(raw)
        assert e["index"] == i and e["entry"]["seq"] >= 1
        out.append(raw)
    return out


def checkpoint(daemon):
    cp = jctl(daemon, "log", "checkpoint")
    text = open_note(cp["note"], cp["verifier_keys"][-1])
    assert text is not None, "the checkpoint's signature verifies with the issuer's key"
    origin, size, root = parse_checkpoint(text)
    assert origin == cp["origin"] and size == cp["size"]
    assert root == base64.b64decode(cp["root"])
    return cp, size, root


# ---- tests -----------------------------------------------------------------------------------

def test_checkpoint_entries_and_proofs(daemon, client, tmp_path):
    load_fw(daemon, tmp_path)
    for i in range(25):
        client.submit(evidence(f"e{i}", f"s{i % 4}", "a" if i % 3 else "b", 0.3 + (i % 7) / 10))
    cp, size, root = checkpoint(daemon)
    # every event is a leaf: framework_loaded, 25 accepted, unlocks, masteries, badges
    events = [json.loads(x) for x in ctl(daemon, "events", "--from", "1").stdout.splitlines()]
    assert size == len(events) and size > 26
    entries = all_entries(daemon, size)
    leaves = [leaf_hash(e) for e in entries]
    assert mth(leaves) == root, "the root recomputed from every entry equals the checkpoint's"
    for i in range(size):
        p = jctl(daemon, "log", "prove", str(i))
        index, hashes, note = parse_tlog_proof(p["tlog_proof"])
        assert index == i and note == cp["note"]
        assert verify_inclusion(i, size, leaves[i], hashes, root)
        bad = list(hashes)
        if bad:
            bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
            assert not verify_inclusion(i, size, leaves[i], bad, root)
    for old in (1, 2, 7, 16, size - 1, size):
        p = jctl(daemon, "log", "consistency", str(old), str(size))
        hashes = [base64.b64decode(h) for h in p["hashes"]]
        assert base64.b64decode(p["root1"]) == mth(leaves[:old])
        assert verify_consistency(old, size, mth(leaves[:old]), root, hashes)
    r = ctl(daemon, "log", "entry", str(size))
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr
    r = ctl(daemon, "log", "consistency", str(size), "1")
    assert r.returncode == 1 and "size1" in r.stderr


def test_entries_name_no_one(daemon, client, tmp_path):
    load_fw(daemon, tmp_path)
    client.submit(evidence(SECRET_EVIDENCE_ID, SECRET_LEARNER, "a", 0.95,
                           narrative=SECRET_NARRATIVE, url=SECRET_URL, source="quiz"))
    _, size, _ = checkpoint(daemon)
    blob = b"".join(all_entries(daemon, size))
    for secret in (SECRET_LEARNER, SECRET_NARRATIVE, SECRET_URL, SECRET_EVIDENCE_ID, "alice"):
        assert secret.encode() not in blob, secret
    # the badge's public part names log entries, not the tool's evidence id or its text
    [cred] = jctl(daemon, "credential", "list", "--learner", SECRET_LEARNER)["credentials"]
    doc = ctl(daemon, "credential", "get", cred["id"]).stdout
    for secret in (SECRET_NARRATIVE, SECRET_URL, SECRET_EVIDENCE_ID):
        assert secret not in doc, secret
    ev = json.loads(doc)["evidence"]
    assert len(ev) == 1 and ev[0]["id"].startswith("urn:tlog:")
    _, index, hexhash = ev[0]["id"].rsplit(":", 2)
    entry = base64.b64decode(jctl(daemon, "log", "entry", index)["bytes"])
    assert leaf_hash(entry).hex() == hexhash
    assert entry[0] == 1 and entry[1] == 1  # version 1, evidence_accepted
    # the accepted event carries the leaf, and the commitment is the same for the same learner
    fields = jctl(daemon, "log", "entry", index)["entry"]
    assert fields["kind"] == "evidence_accepted" and fields["competency"] == "a"


def test_credential_proof_bundle(daemon, client, tmp_path):
    load_fw(daemon, tmp_path)
    for i in range(5):
        client.submit(evidence(f"p{i}", "s1", "a", 0.5 + i / 10))
    [cred] = jctl(daemon, "credential", "list", "--learner", "s1")["credentials"]
    out = tmp_path / "bundle.json"
    r = ctl(daemon, "credential", "proof", cred["id"], "-o", str(out))
    assert r.returncode == 0, r.stderr
    bundle = json.loads(out.read_text())
    assert bundle["type"] == "MasterydLogProof" and bundle["version"] == 1
    refs = {int(e["id"].split(":")[2]): e["id"].split(":")[3]
            for e in bundle["credential"]["evidence"]}
    # the items up to the mastery (the badge is issued in that transaction), each with an entry
    assert 1 <= len(refs) <= 5 and {e["index"] for e in bundle["entries"]} == set(refs)
    for e in bundle["entries"]:
        entry = base64.b64decode(e["entry"])
        assert leaf_hash(entry).hex() == refs[e["index"]]
        index, hashes, note = parse_tlog_proof(e["proof"])
        text = open_note(note, bundle["log"]["verifier_key"])
        origin, size, root = parse_checkpoint(text)
        assert origin == bundle["log"]["origin"] and index == e["index"]
        assert verify_inclusion(index, size, leaf_hash(entry), hashes, root)


def test_log_survives_restart_and_grows_consistently(data_dir, tmp_path):
    d = Daemon(data_dir)
    d.start()
    try:
        load_fw(d, tmp_path)
        for i in range(10):
            assert ctl(d, "evidence", "add", "--learner", "r1", "--competency", "a", "--score",
                       "0.4", "--id", f"r{i}").returncode == 0
        cp1, size1, root1 = checkpoint(d)
    finally:
        d.stop()
    d = Daemon(data_dir)
    d.start()
    try:
        cp, size, root = checkpoint(d)
        assert (size, root) == (size1, root1) and cp["note"] == cp1["note"]
        assert ctl(d, "evidence", "add", "--learner", "r2", "--competency", "a", "--score",
                   "0.9", "--id", "after").returncode == 0
        cp2, size2, root2 = checkpoint(d)
        assert size2 > size1
        p = jctl(d, "log", "consistency", str(size1), str(size2))
        assert verify_consistency(size1, size2, root1, root2,
                                  [base64.b64decode(h) for h in p["hashes"]])
        leaves = [leaf_hash(e) for e in all_entries(d, size2)]
        assert mth(leaves[:size1]) == root1 and mth(leaves) == root2
    finally:
        d.stop()


def test_rotation_keeps_old_checkpoints_verifiable(daemon, client, tmp_path):
    load_fw(daemon, tmp_path)
    client.submit(evidence("k1", "s1", "a", 0.3))
    cp1, _, _ = checkpoint(daemon)
    assert ctl(daemon, "keys", "rotate").returncode == 0
    client.submit(evidence("k2", "s1", "a", 0.3))
    cp2 = jctl(daemon, "log", "checkpoint")
    keys = cp2["verifier_keys"]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert open_note(cp1["note"], keys[0]) and not open_note(cp1["note"], keys[1])
    assert open_note(cp2["note"], keys[1])
    kinds = [json.loads(x)["kind"] for x in ctl(daemon, "events", "--from", "1").stdout.splitlines()]
    assert "keys_rotated" in kinds
    info = jctl(daemon, "issuer", "show")
    assert info.get("log_origin") == cp2["origin"]


def test_python_client_reads_the_log(daemon, client, tmp_path):
    import sys
    from conftest import SRC
    sys.path.insert(0, os.path.join(SRC, "clients", "python"))
    from masteryd_client import Client as PyClient, NotFoundError
    load_fw(daemon, tmp_path)
    client.submit(evidence("py1", "s1", "a", 0.95))
    with PyClient(daemon.endpoint) as md:
        cp = md.checkpoint()
        text = open_note(cp["note"], cp["verifier_keys"][-1])
        origin, size, root = parse_checkpoint(text)
        assert (origin, size, root) == (cp["origin"], cp["size"], cp["root"])
        leaves = [leaf_hash(md.log_entry(i)["entry"]) for i in range(size)]
        assert mth(leaves) == root
        p = md.prove_inclusion(size - 1)
        assert verify_inclusion(size - 1, size, leaves[-1], p["hashes"], root)
        c = md.prove_consistency(1)
        assert verify_consistency(1, size, c["root1"], root, c["hashes"])
        with pytest.raises(NotFoundError):
            md.log_entry(size)
