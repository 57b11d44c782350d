"""Issue 11, item 3: stored damage is caught, named and contained.

Bytes are flipped in a stopped daemon's data.mdb (LMDB has no checksums of its own): the
damaged record is reported (DATA_LOSS naming the database and key, never served), every other
learner is still served, `masteryd --check` finds it, and a damaged LMDB meta page is refused
at start instead of opening an empty store.

The store is populated with write-behind off, so each record sits in one place in the file
(with write-behind its write-ahead copy also lingers in a freed page); damage to write-ahead
records has its own test (test_store.c: test_write_behind_damaged_record)."""
import hashlib
import json
import os
import struct
import subprocess

import zmq

from conftest import BIN, Client, Daemon, evidence, pb

FW = {"id": "urn:test:damage", "title": "Damage", "version": "1", "competencies": [
    {"id": "d.x", "title": "X", "rule": {"method": "average", "threshold": 0.8}},
    {"id": "d.y", "title": "Y", "requires": {"all": ["d.x"]},
     "rule": {"method": "latest", "threshold": 0.8}}]}
SECRET_LEARNERS = ["learner-secret-alpha", "learner-secret-bravo", "learner-secret-charlie"]
MARK = "NARRATIVE-TO-DAMAGE-0001"


def populate(data_dir):
    conf = os.path.join(os.path.dirname(data_dir), "populate.conf")
    with open(conf, "w") as f:
        f.write("write_behind_bytes = 0\n")
    d = Daemon(data_dir, ["-c", conf]).start()
    c = Client(d.endpoint)
    try:
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == 0
        items = []
        for i, learner in enumerate(SECRET_LEARNERS):
            for j in range(3):
                items.append(evidence("dm-%d-%d" % (i, j), learner, "d.x", 0.9, 1000 + j,
                                      observed_at_set=True))
        items.append(evidence("dm-mark", SECRET_LEARNERS[0], "d.x", 0.95, 5000,
                              observed_at_set=True, narrative=MARK))
        assert c.submit(*items).evidence_results.accepted == len(items)
    finally:
        c.close()
        assert d.stop() == 0


def flip(path, offset, bit=0x04):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ bit]))


def check(data_dir):
    return subprocess.run([os.path.join(BIN, "masteryd"), "--check", "--data", data_dir],
                          capture_output=True, text=True, timeout=300)


def test_check_passes_on_a_whole_store(tmp_path):
    data = str(tmp_path / "d")
    populate(data)
    r = check(data)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 damaged" in r.stdout and "states that disagree: 0" in r.stdout
    assert "learners x frameworks re-evaluated: 3" in r.stdout
    assert r.stdout.strip().splitlines()[-1].startswith("OK")


def test_damaged_record_is_named_not_served_and_others_are(tmp_path):
    data = str(tmp_path / "d")
    populate(data)
    path = os.path.join(data, "data.mdb")
    raw = open(path, "rb").read()
    # The marked item's record, found by its key (its narrative is sealed, so not by content):
    # H(learner) 'E' H(competency) observed_at (be64, sign bit flipped), then H(source) X(id);
    # in an LMDB leaf the value follows the key, and the flip lands in its sealed item.
    h = lambda s: hashlib.sha256(s.encode()).digest()[:16]
    key = h(SECRET_LEARNERS[0]) + b"E" + h("d.x") + struct.pack(">Q", 5000 ^ (1 << 63))
    at = raw.find(key)
    assert at > 0 and raw.count(key) == 1 and MARK.encode() not in raw
    flip(path, at + len(key) + 32 + 32 + 40)

    r = check(data)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 damaged" in r.stdout and "skipped for damage: 1" in r.stdout
    assert "learners key" in r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("DAMAGED")
    for learner in SECRET_LEARNERS:  # named by key hash, never by id or content
        assert learner not in r.stdout + r.stderr
    assert MARK[:10] not in r.stdout + r.stderr

    d = Daemon(data).start()
    c = Client(d.endpoint)
    try:
        damaged, whole = SECRET_LEARNERS[0], SECRET_LEARNERS[1]
        rep = c.call(list_evidence=pb.ListEvidence(learner_id=damaged))
        assert rep.status.code == pb.STATUS_DATA_LOSS
        assert rep.status.field == "store" and "learners key" in rep.status.message
        assert rep.status.message.encode("utf-8")  # decodes: the reply is valid UTF-8
        # A write that would read the damaged record is refused whole, nothing half-written.
        rep = c.submit(evidence("dm-new-0", damaged, "d.x", 0.1, 9000, observed_at_set=True))
        assert rep.status.code == pb.STATUS_DATA_LOSS
        # Everyone else is served, reads and writes, even when batched with the damaged one.
        ctx = zmq.Context.instance()
        socks = []
        for learner in (damaged, whole, damaged, SECRET_LEARNERS[2]):
            s = ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(d.endpoint)
            socks.append(s)
        reqs = [pb.Request(request_id="r%d" % i, submit_evidence=pb.SubmitEvidence(items=[
            evidence("dm-b-%d" % i, learner, "d.x", 0.9, 9100 + i, observed_at_set=True)]))
            for i, learner in enumerate((damaged, whole, damaged, SECRET_LEARNERS[2]))]
        for s, rq in zip(socks, reqs):
            s.send_multipart([b"", rq.SerializeToString()])
        codes = []
        for s in socks:
            assert s.poll(10000)
            rep = pb.Reply()
            rep.ParseFromString(s.recv_multipart()[-1])
            codes.append(rep.status.code)
            s.close(0)
        assert codes == [pb.STATUS_DATA_LOSS, pb.STATUS_OK, pb.STATUS_DATA_LOSS, pb.STATUS_OK]
        rep = c.call(list_evidence=pb.ListEvidence(learner_id=whole))
        assert rep.status.code == pb.STATUS_OK and len(rep.evidence.items) == 4
        assert "damaged record in learners key" in "".join(d.log)
        assert damaged not in "".join(d.log)
    finally:
        c.close()
        assert d.stop() == 0


def test_damaged_meta_page_is_refused_not_emptied(tmp_path):
    data = str(tmp_path / "d")
    populate(data)
    path = os.path.join(data, "data.mdb")
    raw = open(path, "rb").read()
    psize = 4096
    # LMDB's two meta pages: page header (16 bytes), then MDB_meta; the main database's root
    # page number is at 16 + 112, the transaction id at 16 + 128. Damage the current one's root.
    txn = [struct.unpack_from("<Q", raw, p * psize + 16 + 128)[0] for p in (0, 1)]
    cur = 0 if txn[0] > txn[1] else 1
    root_at = cur * psize + 16 + 112
    root = struct.unpack_from("<Q", raw, root_at)[0]
    assert 2 <= root < len(raw) // psize
    # Point it at an existing page of another tree, inside the file: the learners' leaf that
    # holds a record (a flipped low bit can land on a freed older copy of the root itself,
    # which LMDB opens as an older, whole catalogue).
    h = lambda s: hashlib.sha256(s.encode()).digest()[:16]
    leaf = raw.find(h(SECRET_LEARNERS[0]) + b"E") // psize
    assert 2 <= leaf < len(raw) // psize and leaf != root
    with open(path, "r+b") as f:
        f.seek(root_at)
        f.write(struct.pack("<Q", leaf))
    d = Daemon(data)
    try:
        d.start()
        started = True
    except RuntimeError:
        started = False
    log = "".join(d.log)
    if started:
        d.stop()
    assert not started, "a damaged store must not start:\n" + log
    assert d.proc is None or d.proc.returncode not in (-7, -11)  # no SIGBUS, no SIGSEGV
    assert "data.mdb" in log or "lmdb" in log
    r = check(data)
    assert r.returncode == 2, r.stdout + r.stderr
