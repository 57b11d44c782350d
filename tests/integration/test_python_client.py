"""The Python client (clients/python/masteryd_client) against the real daemon."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import zmq

from conftest import EXAMPLES, SCHOOL_ISSUER, SRC, Client as RawClient, Daemon

sys.path.insert(0, os.path.join(SRC, "clients", "python"))

import masteryd_client  # noqa: E402
from masteryd_client import (Client, ConflictError, ConnectionTimeout, InvalidError,  # noqa: E402
                             MasterydError, NotFoundError)

FRACTIONS = os.path.join(EXAMPLES, "fractions.json")
FW = "urn:example:math:fractions-g5"
PYTHON = "/usr/bin/python3"
QUIZ_TOOL = os.path.join(SRC, "clients", "python", "examples", "quiz_tool.py")
# Sanitized daemons answer more slowly: give every request room.
SLOW = 3 if os.environ.get("MASTERY_SANITIZE") in ("1", "ON", "TRUE") else 1

TWO = {"id": "urn:test:two", "title": "Two", "version": "1",
       "competencies": [{"id": "a", "title": "A", "rule": {"method": "latest", "threshold": 0.8}},
                        {"id": "b", "title": "B", "requires": {"all": ["a"]}}]}


def make_client(daemon, **kw):
    kw.setdefault("timeout", 10.0 * SLOW)
    return Client(daemon.endpoint, events_endpoint=daemon.events_endpoint, **kw)


@pytest.fixture
def md(daemon):
    c = make_client(daemon)
    yield c
    c.close()


def configured_daemon(data_dir, **settings):
    conf = os.path.join(data_dir, "masteryd.conf")
    with open(conf, "w") as f:
        for k, v in settings.items():
            f.write("%s = %s\n" % (k, v))
    return Daemon(os.path.join(data_dir, "db"), extra_args=["-c", conf]).start()


def item(eid, learner, competency="a", score=0.9, **kw):
    return dict(evidence_id=eid, learner=learner, competency=competency, score=score, **kw)


# ---- every method ---------------------------------------------------------------------------

def test_frameworks_health_and_state(md):
    h = md.health()
    assert h.dev_mode is True and h.evidence_count == 0 and h.last_seq == 0
    info = md.load_framework(FRACTIONS)                       # a path
    assert (info.framework, info.revision, info.competency_count) == (FW, 1, 17)
    with open(FRACTIONS) as f:
        text = f.read()
    assert md.load_framework(text).revision == 1              # JSON text: the same, a no-op
    assert md.load_framework(TWO).framework == "urn:test:two"  # a dict
    assert sorted(i.framework for i in md.frameworks()) == sorted([FW, "urn:test:two"])
    doc = md.framework(FW)
    assert doc.json == text and doc.info.title == "Grade 5 fractions"
    assert doc.info.loaded_at is not None

    r = md.submit_evidence("q-1", "s-1", "frac.equivalent", 0.9,
                           observed_at="2026-11-20T10:15:00Z", source="quiz-engine",
                           outcome="passed", weight=2, url="https://quiz.example/1",
                           narrative="three of three")
    assert (r.code, r.acknowledged, r.error) == ("OK", True, None)
    r = md.submit_evidence("q-2", "s-1", "frac.equivalent", 0.95, observed_at=1795169800.0)
    assert r.code == "OK"
    assert md.submit_evidence("q-2", "s-1", "frac.equivalent", 0.95,
                              observed_at=1795169800.0).code == "DUPLICATE"
    page = md.evidence("s-1")
    assert len(page) == 2 and page.truncated is False
    assert [e.evidence_id for e in md.evidence("s-1", limit=1)] == ["q-1"]   # by observed_at
    first = md.evidence("s-1", limit=1)
    assert first.truncated is True and first.next_page_token
    rest = md.evidence("s-1", limit=1, page_token=first.next_page_token)
    assert [e.evidence_id for e in rest] == ["q-2"] and rest.truncated is False
    assert [e.evidence_id for e in md.iter_evidence("s-1")] == ["q-1", "q-2"]
    stored = {e.evidence_id: e for e in page}
    assert stored["q-1"].observed_at_ms == 1795169700000 and stored["q-1"].outcome == "passed"
    assert stored["q-1"].weight == 2 and stored["q-1"].source == "quiz-engine"
    assert stored["q-1"].narrative == "three of three"
    assert stored["q-2"].observed_at_ms == 1795169800000
    assert stored["q-2"].source == "masteryd_client"  # the client's default source

    st = md.learner_state("s-1")
    assert {f.framework for f in st.frameworks} == {FW, "urn:test:two"}
    eq = st.get("frac.equivalent")
    assert eq.mastered and eq.evidence_count == 2 and eq.rule_met and not eq.overridden
    assert eq.mastered_at is not None
    only = md.learner_state("s-1", framework=FW)
    assert [f.framework for f in only.frameworks] == [FW]
    assert only.statuses()["frac.compare"] == "UNLOCKED"
    assert only.statuses()["frac.divide-unit"] == "LOCKED"

    c = md.override("s-1", FW, "frac.compare", mastered=True, reason="oral exam", actor="ms.lee")
    assert c.competency == "frac.compare" and c.mastered and c.overridden
    assert md.learner_state("s-1", FW).get("frac.compare").status == "MASTERED"
    c = md.override("s-1", FW, "frac.compare", mastered=False, reason="re-test", actor="ms.lee")
    assert c.status == "UNLOCKED"

    evs = list(md.events(follow=False))
    assert [e.seq for e in evs] == list(range(1, md.health().last_seq + 1))
    assert evs[0].kind == "framework_loaded" and evs[0].framework == FW
    assert evs[0].data["competency_count"] == 17
    ov = [e for e in evs if e.kind == "override"]
    assert [(e.learner, e.competency, e.data["mastered"], e.data["actor"]) for e in ov] == \
        [("s-1", "frac.compare", True, "ms.lee"), ("s-1", "frac.compare", False, "ms.lee")]
    mastered = list(md.events(follow=False, kinds={"mastered"}, learner="s-1"))
    assert mastered and all(e.kind == "mastered" and e.learner == "s-1" for e in mastered)
    assert [e.seq for e in md.events(from_seq=3, follow=False)][0] == 3

    h = md.health()
    assert h.evidence_count == 2 and h.framework_count == 2 and h.last_seq == evs[-1].seq


def test_retraction_case_import_and_credentials(md):
    import json as _json
    from conftest import VECTORS
    md.load_framework(FRACTIONS)
    md.submit_batch([item("r-1", "s-2", "frac.equivalent", 0.9),
                     item("r-2", "s-2", "frac.equivalent", 0.95)])
    eq = md.learner_state("s-2", FW).get("frac.equivalent")
    assert eq.mastered
    # Mastering a competency with an achievement issues a badge.
    creds = md.credentials("s-2")
    assert [(c.competency, c.state) for c in creds] == [("frac.equivalent", "active")]
    assert creds[0].achievement_name == "Equivalent fractions" and creds[0].issued_at
    doc = md.credential(creds[0].credential_id)
    assert _json.loads(doc.document)["id"] == creds[0].credential_id
    assert md.credential(creds[0].credential_id, format="jwt").document.count(".") == 2
    with pytest.raises(NotFoundError) as e:
        md.credential("urn:uuid:00000000-0000-4000-8000-000000000000")
    assert e.value.field == "get_credential.credential_id"
    # A CLR 2.0 transcript of the learner's badges.
    t = md.transcript("s-2")
    assert t.credentials == 1 and t.transcript_id.startswith("urn:uuid:")
    clr = _json.loads(t.document)
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"] and clr["id"] == t.transcript_id
    assert clr["credentialSubject"]["verifiableCredential"][0]["id"] == creds[0].credential_id
    assert md.transcript("s-2", framework=FW).credentials == 1
    with pytest.raises(NotFoundError) as e:
        md.transcript("nobody")
    assert e.value.field == "issue_transcript.learner_id"
    # Retraction: the item stays listed, marked; a second retraction is a no-op.
    assert md.retract_evidence("r-2", reason="voided by xAPI statement v-1") is True
    assert md.retract_evidence("r-2", reason="again") is False
    listed = {e.evidence_id: e.retracted for e in md.evidence("s-2")}
    assert listed == {"r-1": False, "r-2": True}
    assert md.learner_state("s-2", FW).get("frac.equivalent").evidence_count == 1
    assert [e.data["evidence_id"] for e in md.events(follow=False, kinds="evidence_retracted")] \
        == ["r-2"]
    with pytest.raises(NotFoundError) as e:
        md.retract_evidence("nope", reason="x")
    assert e.value.field == "retract_evidence.evidence_id"
    # CASE import: a package from the spec vectors becomes a framework.
    res = md.import_case(os.path.join(VECTORS, "case", "SequenceNumberFramework.json"),
                         framework_id="urn:test:case")
    assert res.info.framework == "urn:test:case" and res.info.competency_count > 0
    assert res.summary and isinstance(res.warnings, list)
    assert "urn:test:case" in {f.framework for f in md.frameworks()}
    with pytest.raises(InvalidError):
        md.import_case({"CFItems": []})                      # no CFDocument


def test_typed_errors_name_code_and_field(md):
    md.load_framework(TWO)
    with pytest.raises(InvalidError) as e:
        md.submit_evidence("x-1", "s-1", "a", 1.5)
    assert (e.value.code, e.value.field) == ("INVALID", "items[0].score")
    assert "1.5" in e.value.message and isinstance(e.value, MasterydError)
    with pytest.raises(NotFoundError) as e:
        md.submit_evidence("x-2", "s-1", "no-such-competency", 0.5)
    assert (e.value.code, e.value.field) == ("NOT_FOUND", "items[0].competency_id")
    md.submit_evidence("x-3", "s-1", "a", 0.5)
    with pytest.raises(ConflictError) as e:
        md.submit_evidence("x-3", "s-1", "a", 0.6)           # same id, other content
    assert (e.value.code, e.value.field) == ("CONFLICT", "items[0].evidence_id")
    with pytest.raises(NotFoundError) as e:
        md.learner_state("s-1", framework="urn:nope")
    assert e.value.field == "get_learner.framework_id"
    with pytest.raises(NotFoundError) as e:
        md.framework("urn:nope")
    assert e.value.field == "get_framework.framework_id"
    with pytest.raises(InvalidError) as e:
        md.override("s-1", "urn:test:two", "a", True, reason="")
    assert e.value.field == "override.reason"
    cyc = {"id": "urn:test:cyc", "title": "C", "version": "1", "competencies": [
        {"id": "x", "title": "X", "requires": {"all": ["y"]}},
        {"id": "y", "title": "Y", "requires": {"all": ["x"]}}]}
    with pytest.raises(MasterydError) as e:
        md.load_framework(cyc)
    assert e.value.code in ("CONFLICT", "INVALID") and e.value.field
    assert "x" in e.value.message and "y" in e.value.message
    assert str(e.value).startswith(e.value.code + ": " + e.value.field)
    # A batch reports per item and raises nothing; the request-level errors still raise.
    res = md.submit_batch([item("x-4", "s-1"), item("x-5", "s-1", score=-1),
                           item("x-3", "s-1", score=0.5)])
    assert [r.code for r in res] == ["OK", "INVALID", "DUPLICATE"]
    assert res[1].field == "items[1].score" and isinstance(res[1].error, InvalidError)
    assert (res.accepted, res.duplicates, len(res.rejected), res.ok) == (1, 1, 1, False)
    # Client-side checks before anything is sent.
    sends = md.sends
    with pytest.raises(ValueError):
        md.submit_evidence("x-6", "s-1", "a", 0.5, outcome="maybe")
    with pytest.raises(ValueError, match=r"items\[0\]: observed_at 'yesterday'"):
        md.submit_evidence("x-6", "s-1", "a", 0.5, observed_at="yesterday")
    with pytest.raises(TypeError, match=r"items\[1\]: unknown keys: lerner; missing: learner"):
        md.submit_batch([item("x-7", "s-1"), {"id": "x-8", "lerner": "s-1", "competency": "a",
                                              "score": 0.5}])
    assert md.sends == sends
    with pytest.raises(ValueError):
        md.events(kinds={"nonsense"})


def test_unreachable_daemon_is_a_connection_timeout():
    c = Client("tcp://127.0.0.1:%d" % _free_port(), timeout=0.2, retries=2)   # nobody there
    t0 = time.monotonic()
    with pytest.raises(ConnectionTimeout) as e:
        c.health()
    assert e.value.code == "TIMEOUT" and isinstance(e.value, TimeoutError)
    assert isinstance(e.value, MasterydError)
    assert 0.55 < time.monotonic() - t0 < 5 and c.sends == 3
    c.close()


# ---- retries --------------------------------------------------------------------------------

def test_retry_after_sigstop_counts_once(daemon, md):
    md.load_framework(TWO)
    before = md.health()
    c = make_client(daemon, timeout=0.4, retries=20)
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    timer = threading.Timer(1.5, os.kill, (daemon.proc.pid, signal.SIGCONT))
    timer.start()
    try:
        t0 = time.monotonic()
        r = c.submit_evidence("stop-1", "s-9", "a", 0.9)
        waited = time.monotonic() - t0
    finally:
        timer.join()
        os.kill(daemon.proc.pid, signal.SIGCONT)
    assert r.acknowledged and waited >= 1.4
    assert c.sends >= 3                                  # it did send again, same ids
    # Every copy reaches the daemon and is answered (OK once, DUPLICATE for the rest); the
    # late answers are dropped by request id, so the next call gets its own answer.
    after = md.health()
    deadline = time.monotonic() + 10 * SLOW
    while after.requests - before.requests < c.sends + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        after = md.health()
    assert after.requests - before.requests >= c.sends + 1
    assert after.evidence_count == before.evidence_count + 1
    assert [e.evidence_id for e in md.evidence("s-9")] == ["stop-1"]
    assert md.learner_state("s-9").get("a").evidence_count == 1
    assert c.submit_evidence("stop-1", "s-9", "a", 0.9).code == "DUPLICATE"
    assert c.learner_state("s-9").learner == "s-9"
    # A batch of 5 requests submitted while stopped: every item acknowledged, stored once.
    c.close()
    c = make_client(daemon, timeout=0.4, retries=20, max_batch=10)
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    timer = threading.Timer(1.0, os.kill, (daemon.proc.pid, signal.SIGCONT))
    timer.start()
    try:
        res = c.submit_batch([item("stop-b%d" % i, "s-10") for i in range(50)])
    finally:
        timer.join()
        os.kill(daemon.proc.pid, signal.SIGCONT)
    assert res.ok and len(res) == 50 and c.sends >= 6
    assert [r.evidence_id for r in res] == ["stop-b%d" % i for i in range(50)]
    assert md.health().evidence_count == before.evidence_count + 51
    assert len(md.evidence("s-10")) == 50
    c.close()


def test_stopped_past_every_retry_times_out_then_the_same_ids_succeed(daemon, md):
    md.load_framework(TWO)
    c = make_client(daemon, timeout=0.2, retries=1)
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    try:
        with pytest.raises(ConnectionTimeout):
            c.submit_evidence("late-1", "s-1", "a", 0.9)
    finally:
        os.kill(daemon.proc.pid, signal.SIGCONT)
    assert c.sends == 2
    # The daemon gets both copies after all (stored once); sending it again answers DUPLICATE.
    deadline = time.monotonic() + 10 * SLOW
    while md.health().evidence_count < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    r = make_client(daemon).submit_evidence("late-1", "s-1", "a", 0.9)
    assert r.code == "DUPLICATE"
    assert md.health().evidence_count == 1
    c.close()


# ---- batches --------------------------------------------------------------------------------

def test_batch_splitting_by_count_and_size(md):
    md.load_framework(TWO)
    before = md.health().requests
    items = [item("b-%d" % i, "s-%d" % (i % 300), score=(i % 10) / 10) for i in range(2500)]
    items[1500]["score"] = 7                                 # one bad item, deep in chunk 2
    res = md.submit_batch(items)
    assert md.health().requests - before == 3 + 1            # 1000 + 1000 + 500, then health
    assert len(res) == 2500 and [r.evidence_id for r in res] == [i["evidence_id"] for i in items]
    assert res.accepted == 2499 and len(res.rejected) == 1
    assert res[1500].code == "INVALID" and res[1500].field == "items[1500].score"
    assert md.health().evidence_count == 2499
    # The same list again: every stored item is a duplicate, nothing new is stored.
    again = md.submit_batch(items)
    assert again.duplicates == 2499 and md.health().evidence_count == 2499
    # Large items: 300 x 8 KiB narratives do not fit one 1 MiB frame: split by size.
    before = md.health().requests
    big = [item("n-%d" % i, "s-n", narrative="x" * 8000) for i in range(300)]
    res = md.submit_batch(big)
    assert res.ok and res.accepted == 300
    sent = md.health().requests - before - 1
    assert sent == 3, sent                                   # 2.4 MB in frames under 1 MiB
    # Items in the JSON-lines import format ("id") work as they are.
    with open(os.path.join(EXAMPLES, "fractions-evidence.jsonl")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    md.load_framework(FRACTIONS)
    res = md.submit_batch(lines)
    assert res.ok and res.accepted == len(lines)


def test_batch_refused_midway_reports_what_was_answered(data_dir):
    daemon = configured_daemon(data_dir, max_frame=2048)
    try:
        c = make_client(daemon, max_batch=3)             # the client thinks frames may be 1 MiB
        c.load_framework(TWO)
        items = [item("p-%d" % i, "s-p") for i in range(3)]
        items += [item("p-%d" % i, "s-p", narrative="n" * 1000) for i in range(3, 6)]
        with pytest.raises(InvalidError) as e:           # the second request is too large
            c.submit_batch(items)
        assert e.value.field == "frame" and "max_frame" in e.value.message
        assert [r.evidence_id for r in e.value.partial] == ["p-0", "p-1", "p-2"]
        assert e.value.partial.ok and "items[0..2] were answered" in e.value.message
        assert c.health().evidence_count == 3
        c.close()
    finally:
        assert daemon.stop() == 0


# ---- events ---------------------------------------------------------------------------------

def test_events_replay_then_live_without_gap_or_duplicate(data_dir):
    daemon = configured_daemon(data_dir, page_size=25)
    try:
        md, writer = make_client(daemon), make_client(daemon)
        md.load_framework(TWO)
        # Stored history: each learner masters a (and unlocks b): over 200 events, 9+ pages.
        writer.submit_batch([item("h-%d" % i, "h-%d" % i) for i in range(100)])
        stored_last = md.health().last_seq
        assert stored_last > 200
        seqs, n, final_last = [], 0, None
        stream = md.events(from_seq=1, follow=True)
        for ev in stream:
            seqs.append(ev.seq)
            # Submit while replaying, and on after the switch until some events came live:
            # new events are published on PUB while the stream is still reading store pages.
            if final_last is None and (len(seqs) % 6 == 0 or stream.live > 0):
                writer.submit_evidence("w-%d" % n, "w-%d" % n, "a", 0.9)
                n += 1
                if (n >= 40 and stream.live >= 10) or n == 500:
                    final_last = writer.health().last_seq
            if final_last is not None and ev.seq >= final_last:
                break
        stream.close()
        assert seqs == list(range(1, final_last + 1))        # no gap, no duplicate
        assert stream.replayed >= stored_last
        assert stream.live > 0, (stream.replayed, stream.live, stream.filled)
        assert stream.replayed + stream.live + stream.filled == len(seqs)
        # Live filtering by kind and learner.
        stream = md.events(from_seq=final_last + 1, kinds=["mastered"], learner="late")
        writer.submit_batch([item("o-1", "other"), item("l-1", "late")])
        ev = next(stream)
        assert (ev.kind, ev.learner, ev.competency) == ("mastered", "late", "a")
        assert ev.seq > final_last + 2                      # "other"'s events were skipped
        stream.close()
        md.close()
        writer.close()
    finally:
        assert daemon.stop() == 0


def test_events_fill_pub_gaps_and_dropped_tail_from_the_store(daemon, md):
    """A stand-in PUB (the test's) delivers some events and drops others; the stream must
    still produce every seq once, in order: gaps read from the store, the tail by polling."""
    raw = RawClient(daemon.endpoint)
    md.load_framework(TWO)
    md.submit_batch([item("g-%d" % i, "g-%d" % i) for i in range(5)])
    first_last = md.health().last_seq
    pub = zmq.Context.instance().socket(zmq.XPUB)         # XPUB: it sees the subscription
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    c = Client(daemon.endpoint, events_endpoint="tcp://127.0.0.1:%d" % port, timeout=10 * SLOW)
    stream = c.events(from_seq=1, poll_interval=0.5)
    got = [next(stream).seq for _ in range(first_last)]     # the replay
    assert got == list(range(1, first_last + 1)) and stream.replayed == first_last
    md.submit_batch([item("g2-%d" % i, "g2-%d" % i) for i in range(10)])
    last = md.health().last_seq
    stored = raw.events(first_last + 1).events.events
    assert [e.seq for e in stored] == list(range(first_last + 1, last + 1))
    assert pub.poll(10000 * SLOW) and pub.recv() == b"\x01"  # the stream has subscribed
    for e in stored[:2] + stored[6:-4]:                      # drop 4 in the middle, and the tail
        pub.send_multipart([b"unlocked/x/", e.SerializeToString()])
    for e in stored[:3]:                                     # and repeat some (already seen)
        pub.send_multipart([b"unlocked/x/", e.SerializeToString()])
    t0 = time.monotonic()
    got += [next(stream).seq for _ in range(last - first_last)]
    assert got == list(range(1, last + 1))
    assert stream.live == len(stored[:2] + stored[6:-4])
    assert stream.filled == 8                                 # 4 in the gap, 4 in the tail
    assert time.monotonic() - t0 >= 0.4                       # the tail came from the idle poll
    stream.close()
    pub.close(0)
    raw.close()
    c.close()


def _free_port():
    with zmq.Context.instance().socket(zmq.ROUTER) as s:
        return s.bind_to_random_port("tcp://127.0.0.1")


def test_events_and_requests_survive_a_daemon_restart(data_dir):
    listen, events = ("tcp://127.0.0.1:%d" % _free_port() for _ in range(2))
    daemon = Daemon(data_dir).start(listen=listen, events=events)
    md = Client(listen, events_endpoint=events, timeout=10 * SLOW)
    md.load_framework(TWO)
    stream = md.events(from_seq=1, poll_interval=0.3)
    assert next(stream).seq == 1
    assert daemon.stop() == 0
    daemon = Daemon(data_dir).start(listen=listen, events=events)
    try:
        # The same sockets reconnect by themselves; the stream goes on from seq 2.
        res = md.submit_batch([item("re-1", "s-re")])
        assert res.ok
        n = md.health().last_seq - 1  # the item's own event, then what it caused
        got = [next(stream) for _ in range(n)]
        assert [e.seq for e in got] == list(range(2, n + 2)) and n >= 2
        assert {e.learner for e in got} == {"s-re"} and got[0].kind == "evidence_accepted"
        stream.close()
        # A new stream resumes exactly where a closed one stopped.
        assert [e.seq for e in md.events(from_seq=stream.next_seq, follow=False)] == []
        assert stream.next_seq == md.health().last_seq + 1
        md.close()
    finally:
        assert daemon.stop() == 0


def test_events_follow_false_stops_at_the_end_of_the_store(md):
    md.load_framework(TWO)
    assert [e.kind for e in md.events(follow=False)] == ["framework_loaded"]
    assert list(md.events(from_seq=2, follow=False)) == []


# ---- CURVE ----------------------------------------------------------------------------------

def test_curve_round_trip(tmp_path):
    keys = {name: tuple(k.decode() for k in zmq.curve_keypair())
            for name in ("quiz", "admin", "lee", "stranger")}
    roles = {"quiz": "tool " + FW, "admin": "admin", "lee": "teacher"}
    clients_file = tmp_path / "clients"

    def write_clients(names):
        with open(clients_file, "w") as f:
            for n in names:
                f.write("%s  %s  %s\n" % (keys[n][0], n, roles[n]))
        os.chmod(clients_file, 0o644)

    write_clients(["quiz", "admin", "lee"])
    conf = tmp_path / "masteryd.conf"
    conf.write_text("clients_file = %s\n" % clients_file + SCHOOL_ISSUER)
    daemon = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    try:
        with open(tmp_path / "data" / "curve.key.pub") as f:
            server = f.read().strip()

        def client(name, **kw):
            kw.setdefault("timeout", 10.0 * SLOW)
            return Client(daemon.endpoint, events_endpoint=daemon.events_endpoint,
                          curve_keys=keys[name][:2] + (server,), **kw)

        admin, quiz, lee = client("admin"), client("quiz"), client("lee")
        assert admin.health().dev_mode is False
        admin.load_framework(FRACTIONS)
        admin.load_framework(TWO)
        stream = lee.events(from_seq=1)                      # CURVE on the SUB socket too
        assert next(stream).kind == "framework_loaded"
        r = quiz.submit_evidence("c-1", "s-1", "frac.equivalent", 0.9, source="claimed")
        assert r.code == "OK"
        assert [e.source for e in lee.evidence("s-1")] == ["quiz"]   # the key's name
        res = quiz.submit_batch([item("c-2", "s-1", "a")])   # urn:test:two: not its framework
        assert res[0].code == "FORBIDDEN" and res[0].field.startswith("items[0]")
        with pytest.raises(masteryd_client.ForbiddenError):
            quiz.override("s-1", FW, "frac.compare", True, reason="no")
        with pytest.raises(masteryd_client.ForbiddenError):
            list(quiz.events(follow=False))                  # a tool may not replay events
        c = lee.override("s-1", FW, "frac.compare", True, reason="oral exam")
        assert c.mastered
        seen = []
        for ev in stream:
            seen.append((ev.kind, ev.competency))
            if ev.kind == "override":
                break
        assert seen[-1] == ("override", "frac.compare")
        stream.close()
        # The example tool with its key files, as masteryctl takes them.
        key_file = tmp_path / "quiz.key"
        key_file.write_text(keys["quiz"][1] + "\n")
        os.chmod(key_file, 0o600)
        out = subprocess.run([PYTHON, QUIZ_TOOL, "-e", daemon.endpoint, "-k", str(key_file),
                              "--server-key", str(tmp_path / "data" / "curve.key.pub")],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "9 stored, 0 already stored, 0 refused" in out.stdout
        assert lee.learner_state("s-1001", FW).get("frac.equivalent").mastered
        # A key the daemon does not list cannot complete the handshake: nothing is answered.
        with pytest.raises(ConnectionTimeout):
            client("stranger", timeout=0.3, retries=1).health()
        with pytest.raises(ConnectionTimeout):
            Client(daemon.endpoint, timeout=0.3, retries=1).health()   # no CURVE at all
        # A key taken off the list (SIGHUP) is refused from its next request.
        write_clients(["admin", "lee"])
        n = len(daemon.log)
        daemon.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10 * SLOW
        while not any("SIGHUP: 2 clients" in line for line in daemon.log[n:]):
            assert time.monotonic() < deadline, "".join(daemon.log)
            time.sleep(0.02)
        with pytest.raises(masteryd_client.UnauthenticatedError) as e:
            quiz.health()
        assert e.value.code == "UNAUTHENTICATED" and e.value.field == "key"
        for c in (admin, quiz, lee):
            c.close()
    finally:
        assert daemon.stop() == 0


def test_curve_keys_are_set_on_the_sockets():
    pub, sec = zmq.curve_keypair()
    spub, _ = zmq.curve_keypair()
    c = Client("tcp://127.0.0.1:9", curve_keys=(pub.decode(), sec.decode(), spub.decode()),
               timeout=0.1, retries=0)
    assert c._sock.mechanism == zmq.CURVE and c._sock.getsockopt(zmq.CURVE_SERVER) == 0
    with pytest.raises(ValueError):
        Client("tcp://127.0.0.1:9", curve_keys=(pub, sec))
    c.close()


def test_curve_key_files(tmp_path):
    pub, sec = zmq.curve_keypair()
    spub, _ = zmq.curve_keypair()
    key, server = tmp_path / "quiz.key", tmp_path / "curve.key.pub"
    key.write_text(sec.decode() + "\n")
    server.write_text(spub.decode() + "\n")
    os.chmod(key, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        masteryd_client.curve_keys_from_files(str(key), str(server))
    os.chmod(key, 0o600)
    assert masteryd_client.curve_keys_from_files(str(key), str(server)) == \
        (pub.decode(), sec.decode(), spub.decode())
    server.write_text("not a key\n")
    with pytest.raises(ValueError, match="not a CURVE public key"):
        masteryd_client.curve_keys_from_files(str(key), str(server))
    with pytest.raises(FileNotFoundError):
        masteryd_client.curve_keys_from_files(str(tmp_path / "missing"), str(server))
    out = subprocess.run([PYTHON, QUIZ_TOOL, "-k", str(key), "--server-key", str(server)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "not a CURVE public key" in out.stderr


# ---- the example tool -----------------------------------------------------------------------

def test_quiz_tool_example_runs(daemon, md):
    env = dict(os.environ)
    run = [PYTHON, QUIZ_TOOL, "-e", daemon.endpoint, "--load-framework", FRACTIONS]
    out = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "9 stored, 0 already stored, 0 refused" in out.stdout
    assert "s-1001 mastered: frac.add-like, frac.equivalent" in out.stdout
    assert md.learner_state("s-1001", FW).get("frac.equivalent").mastered
    s1002 = md.learner_state("s-1002", FW)      # 1 of 3 equivalent right: not mastered
    assert s1002.get("frac.equivalent").status == "UNLOCKED"
    assert s1002.get("frac.add-like").status == "LOCKED"   # its item is kept while locked
    assert s1002.get("frac.add-like").evidence_count == 1
    again = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 0 and "0 stored, 9 already stored" in again.stdout
    assert md.health().evidence_count == 9
    # Unreachable: exit 3 and a message, quickly.
    down = subprocess.run([PYTHON, QUIZ_TOOL, "-e", "tcp://127.0.0.1:%d" % _free_port(),
                           "-t", "0.2"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert down.returncode == 3 and "no answer" in down.stderr


def test_package_finds_generated_code_without_the_test_path(daemon, tmp_path):
    """A tool run with only the package on its path (and MASTERY_PYGEN, as ctest sets it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.path.join(SRC, "clients", "python")
    code = ("import sys, masteryd_client as m; c = m.Client(sys.argv[1]); "
            "print(c.health().dev_mode)")
    out = subprocess.run([PYTHON, "-c", code, daemon.endpoint], capture_output=True, text=True,
                         env=env, cwd=str(tmp_path), timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr


def test_package_generates_code_with_protoc_when_there_is_no_build(daemon, tmp_path):
    """A checkout without a build tree: the first import runs protoc into the cache dir, the
    next reuses it (even without protoc on PATH)."""
    checkout = tmp_path / "checkout"
    os.makedirs(checkout / "clients" / "python")
    shutil.copytree(os.path.join(SRC, "clients", "python", "masteryd_client"),
                    checkout / "clients" / "python" / "masteryd_client")
    shutil.copytree(os.path.join(SRC, "proto"), checkout / "proto")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MASTERY_PYGEN")}
    env["PYTHONPATH"] = str(checkout / "clients" / "python")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    daemon_version = Client(daemon.endpoint).health().version
    code = ("import sys, masteryd_client as m, masteryd_client._proto as p; "
            "print(p.pb.__file__); print(m.Client(sys.argv[1]).health().version)")
    for path in (env["PATH"], "/nonexistent"):
        env["PATH"] = path
        out = subprocess.run([PYTHON, "-c", code, daemon.endpoint], capture_output=True,
                             text=True, env=env, cwd=str(tmp_path), timeout=60)
        assert out.returncode == 0, out.stderr
        where, version = out.stdout.split()
        assert where.startswith(str(tmp_path / "cache" / "masteryd_client")), where
        assert version == daemon_version
    assert not os.path.exists(checkout / "build")


def test_groups_and_report(md, daemon):
    """import_roster, groups, group, group_report through the Python client."""
    md.load_framework(json.dumps(TWO))
    from masteryd_client import RosterClass
    r = md.import_roster([RosterClass("7A", "Math", learners=["p1", "p2"], teachers=["t"]),
                          {"group": "7B", "learners": ["p3"]}])
    assert (r.created, r.members_added) == (2, 4)
    assert md.import_roster([RosterClass("7A", "Math", learners=["p1", "p2"],
                                         teachers=["t"])]).unchanged == 1
    assert sorted((g.group, g.learner_count) for g in md.groups()) == [("7A", 2), ("7B", 1)]
    g = md.group("7A")
    assert (g.title, g.learners, g.teachers) == ("Math", ["p1", "p2"], ["t"]) or \
        (g.title, sorted(g.learners), g.teachers) == ("Math", ["p1", "p2"], ["t"])
    md.submit_evidence("py-g1", "p1", "a", 0.9)
    rep = md.group_report("7A", cells=True)
    by = {c.competency: c for c in rep.competencies}
    assert (by["a"].mastered, by["a"].unlocked, by["b"].locked, by["b"].unlocked) == (1, 1, 1, 1)
    assert rep.blocking == ["a"] and by["a"].blocked == 1  # p2: a unlocked, b locked
    assert [a.learner for a in rep.at_risk] == ["p2"] and rep.at_risk[0].reasons == ["no_evidence"]
    assert {l.learner: l.status for l in rep.learners}["p1"] == ["MASTERED", "UNLOCKED"]
    with pytest.raises(NotFoundError):
        md.group_report("nope")
