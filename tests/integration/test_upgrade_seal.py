"""Issue 16, item 5: a store of the previous format is sealed in place at the first start.

The fixture (tests/data/format6-store, made by masteryd at 697e795) holds learners' ids,
evidence ids, narratives, urls, an override reason, a DID and a revocation reason in clear.
Today's daemon upgrades it in one transaction, compacts the file (LMDB keeps freed pages'
bytes, so without it the clear values would linger), and then serves everything as before;
none of the clear values is left in data.mdb, and the log grows consistently from the old one,
naming the same learner by the same commitment (the commitment key is kept)."""
import os
import shutil
import struct
import subprocess

from conftest import BIN, SRC, Client, Daemon, pb

FIXTURE = os.path.join(SRC, "tests", "data", "format6-store")
LEARNERS = ["fixture-learner-ada", "fixture-learner-bo"]
CLEAR = [b"fixture-learner-ada", b"fixture-learner-bo", b"fixture-evid-", b"fixture-narrative-",
         b"fixture-url.example", b"fixture-override-reason", b"fixture-did-bo",
         b"fixture-revocation-reason"]


def copy_fixture(dst):
    os.makedirs(dst, mode=0o700)
    shutil.copy(os.path.join(FIXTURE, "data.mdb"), dst)
    shutil.copytree(os.path.join(FIXTURE, "keys"), os.path.join(dst, "keys"))
    os.chmod(os.path.join(dst, "keys"), 0o700)
    for f in os.listdir(os.path.join(dst, "keys")):
        os.chmod(os.path.join(dst, "keys", f), 0o600)
    os.chmod(os.path.join(dst, "data.mdb"), 0o600)


def learner_field(entry):
    """The 32-byte learner commitment of a log entry (doc/log-format.md), or None."""
    at = 18
    while at < len(entry):
        tag, n = entry[at], struct.unpack(">H", entry[at + 1:at + 3])[0]
        if tag == 0x01:
            return entry[at + 3:at + 3 + n]
        at += 3 + n
    return None


def test_format6_store_is_sealed_in_place(tmp_path):
    data = str(tmp_path / "data")
    copy_fixture(data)
    before = open(os.path.join(data, "data.mdb"), "rb").read()
    assert all(v in before for v in CLEAR), "the fixture should hold its values in clear"

    d = Daemon(data).start()
    c = Client(d.endpoint)
    try:
        old_cp = c.call(get_checkpoint=pb.GetCheckpoint()).checkpoint
        assert old_cp.size > 0
        seen = {}
        for l in LEARNERS:
            rep = c.call(list_evidence=pb.ListEvidence(learner_id=l))
            assert rep.status.code == 0, rep.status
            items = {(e.evidence_id, e.narrative, e.url, round(e.score, 6)) for e in rep.evidence.items}
            assert items == {(f"fixture-evid-{l}-{k}", f"fixture-narrative-{l}-{k}",
                              f"https://fixture-url.example/{l}/{k}", 0.9) for k in range(3)}
            st = c.call(get_learner=pb.GetLearner(learner_id=l))
            assert st.status.code == 0 and st.learner.frameworks, st
            seen[l] = {s.competency_id: s.status for s in st.learner.frameworks[0].competencies}
        assert seen["fixture-learner-ada"] == {"a": pb.MASTERED, "b": pb.MASTERED}
        assert seen["fixture-learner-bo"] == {"a": pb.MASTERED, "b": pb.UNLOCKED}
        # the override's reason and actor, from its sealed record
        x = c.call(explain=pb.Explain(learner_id="fixture-learner-ada", competency_id="b"))
        assert x.status.code == 0 and "fixture-override-reason" in str(x.explanation), x
        # credentials: learner ids back from their profiles, the revocation reason from its box
        creds = c.call(list_credentials=pb.ListCredentials(learner_id="fixture-learner-bo"))
        assert creds.status.code == 0
        revoked = [k for k in creds.credential_list.credentials if k.state == pb.CREDENTIAL_REVOKED]
        assert revoked and revoked[0].reason == "fixture-revocation-reason"
        assert all(k.learner_id == "fixture-learner-bo" for k in creds.credential_list.credentials)
        # the class, its learners' ids opened from their boxes
        g = c.call(list_groups=pb.ListGroups(group_id="fixture-7A"))
        assert sorted(g.groups.groups[0].learner_ids) == LEARNERS
        # new evidence for ada: her new log entry names her by the same commitment as before
        rep = c.call(submit_evidence=pb.SubmitEvidence(items=[pb.Evidence(
            evidence_id="after-upgrade", learner_id="fixture-learner-ada", competency_id="a",
            score=0.7, source="quiz")]))
        assert rep.evidence_results.accepted == 1
        new_cp = c.call(get_checkpoint=pb.GetCheckpoint()).checkpoint
        assert new_cp.size > old_cp.size
        proof = c.call(prove_log=pb.ProveLog(size1=old_cp.size, size=new_cp.size))
        assert proof.status.code == 0 and proof.log_proof.hashes
        commitments = set()
        for i in range(new_cp.size):
            e = c.call(get_log_entry=pb.GetLogEntry(index=i)).log_entry.entry
            if learner_field(e) is not None:
                commitments.add(learner_field(e))
        assert len(commitments) == 2, "each learner keeps one commitment across the upgrade"
    finally:
        c.close()
        assert d.stop() == 0

    after = open(os.path.join(data, "data.mdb"), "rb").read()
    left = [v for v in CLEAR if v in after]
    assert not left, f"clear values left in data.mdb after the upgrade: {left}"
    key = os.path.join(data, "keys", "store.key")
    assert os.stat(key).st_mode & 0o777 == 0o600
    conf = tmp_path / "check.conf"
    conf.write_text(f"data_dir = {data}\n")
    check = subprocess.run([os.path.join(BIN, "masteryd"), "--check", "-c", str(conf)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "format 8" in check.stdout and "states that disagree: 0" in check.stdout
