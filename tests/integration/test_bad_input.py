"""Bad input gets a clear error naming the field, nothing is written, and everyone else is
served as if nothing happened."""
import json
import threading
import time

import pytest
import zmq

from conftest import Client, evidence, pb, states

FW = {"id": "urn:test:bad", "title": "Bad input", "version": "1",
      "competencies": [{"id": "a", "title": "A"}, {"id": "b", "title": "B", "requires": {"all": ["a"]}}]}


class Steady:
    """A well-formed client submitting evidence in the background, recording every reply."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.stop = threading.Event()
        self.sent = 0
        self.failures = []
        self.thread = threading.Thread(target=self.run)

    def run(self):
        c = Client(self.endpoint)
        try:
            while not self.stop.is_set():
                rep = c.submit(evidence(f"steady-{self.sent}", "steady", "a", 0.5, 1000 + self.sent))
                if rep.status.code != pb.STATUS_OK or rep.evidence_results.accepted != 1:
                    self.failures.append(rep)
                self.sent += 1
        except Exception as e:  # a timeout is a disturbance too
            self.failures.append(e)
        finally:
            c.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


@pytest.fixture
def loaded(client):
    rep = client.call(put_framework=pb.PutFramework(json=json.dumps(FW)))
    assert rep.status.code == pb.STATUS_OK
    return client


def evidence_count(client):
    return client.call(health=pb.Health()).health.evidence_count


def raw(client, payload):
    client.send_raw(payload)
    return client.recv_reply()


def item_status(rep, i=0):
    s = rep.evidence_results.items[i].status
    return pb.StatusCode.Name(s.code), s.field, s.message


def test_envelope_errors(daemon, loaded):
    c = loaded
    before = evidence_count(c)
    with Steady(daemon.endpoint) as steady:
        rep = raw(c, b"\xff\xfe this is not a protobuf")
        assert rep.status.code == pb.STATUS_INVALID and rep.status.message
        rep = raw(c, b"")
        assert rep.status.code == pb.STATUS_INVALID and rep.status.field == "request"
        rep = raw(c, pb.Request(request_id="x").SerializeToString())
        assert rep.status.code == pb.STATUS_INVALID and rep.status.field == "op"
        # An op number this daemon does not know is an unknown field: refused, not ignored.
        rep = raw(c, pb.Request(request_id="y").SerializeToString() + b"\xb2\x06\x00")
        assert rep.status.code == pb.STATUS_INVALID and "unknown field" in rep.status.message
        # Unknown field inside an item, named by its path.
        good = pb.Request(request_id="z", submit_evidence=pb.SubmitEvidence(
            items=[evidence("u1", "s", "a", 0.5, 1000)])).SerializeToString()
        item = evidence("u2", "s", "a", 0.5, 1000).SerializeToString() + b"\xf8\x07\x01"
        sub = b"\x0a" + bytes([len(item)]) + item
        bad = pb.Request(request_id="z").SerializeToString() + b"\x6a" + bytes([len(sub)]) + sub
        rep = raw(c, bad)
        assert rep.status.code == pb.STATUS_INVALID
        assert rep.status.field == "submit_evidence.items[0]", rep.status
        # Invalid UTF-8 and an embedded NUL in an id.
        for blob in (b"s\xc3\x28", b"s\x00x"):
            ev = pb.Evidence(evidence_id="n1", competency_id="a", score=0.5).SerializeToString()
            ev += b"\x12" + bytes([len(blob)]) + blob
            sub = b"\x0a" + bytes([len(ev)]) + ev
            rep = raw(c, pb.Request(request_id="n").SerializeToString() + b"\x6a" + bytes([len(sub)]) + sub)
            assert rep.status.code == pb.STATUS_INVALID
            assert rep.status.field == "submit_evidence.items[0].learner_id", rep.status
        assert good  # the well-formed variant of the same request still works:
        assert raw(c, good).evidence_results.accepted == 1
    assert not steady.failures and steady.sent > 0
    assert evidence_count(c) == before + steady.sent + 1


def test_wrong_envelope_frames(daemon, loaded):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(daemon.endpoint)
    s.send(pb.Request(request_id="nodelim", health=pb.Health()).SerializeToString())
    assert s.poll(5000)
    frames = s.recv_multipart()
    rep = pb.Reply()
    rep.ParseFromString(frames[-1])
    assert rep.status.code == pb.STATUS_INVALID and rep.status.field == "envelope"
    s.close()


def test_oversize_frames(daemon, loaded):
    c = loaded
    with Steady(daemon.endpoint) as steady:
        # Over max_frame (1 MiB) but under the hard limit: refused with a reply.
        big = pb.Request(request_id="big", put_framework=pb.PutFramework(json="x" * (1536 * 1024)))
        rep = raw(c, big.SerializeToString())
        assert rep.status.code == pb.STATUS_INVALID and rep.status.field == "frame"
        # Beyond twice max_frame: libzmq drops the connection before buffering it all.
        huge = Client(daemon.endpoint, timeout_ms=1500)
        huge.send_raw(b"\x00" * (3 * 1024 * 1024))
        with pytest.raises(TimeoutError):
            huge.recv_reply()
        huge.close()
        assert c.call(health=pb.Health()).status.code == pb.STATUS_OK
    assert not steady.failures


def test_batch_limits(loaded):
    c = loaded
    before = evidence_count(c)
    rep = c.call(submit_evidence=pb.SubmitEvidence(items=[]))
    assert rep.status.code == pb.STATUS_INVALID and rep.status.field == "submit_evidence.items"
    items = [evidence(f"big-{i}", "s", "a", 0.5, 1000) for i in range(1001)]
    rep = c.submit(*items)
    assert rep.status.code == pb.STATUS_INVALID and rep.status.field == "submit_evidence.items"
    assert "1001" in rep.status.message
    assert evidence_count(c) == before
    rep = c.submit(*items[:1000])
    assert rep.evidence_results.accepted == 1000


@pytest.mark.parametrize("kw,field,code", [
    ({"score": float("nan")}, "items[0].score", "STATUS_INVALID"),
    ({"score": -0.1}, "items[0].score", "STATUS_INVALID"),
    ({"score": 1.01}, "items[0].score", "STATUS_INVALID"),
    ({"score": float("inf")}, "items[0].score", "STATUS_INVALID"),
    ({"observed_at_ms": int(time.time() * 1000) + 25 * 3600 * 1000}, "items[0].observed_at_ms", "STATUS_INVALID"),
    ({"observed_at_ms": -5}, "items[0].observed_at_ms", "STATUS_INVALID"),
    ({"evidence_id": ""}, "items[0].evidence_id", "STATUS_INVALID"),
    ({"evidence_id": "e" * 257}, "items[0].evidence_id", "STATUS_INVALID"),
    ({"learner_id": ""}, "items[0].learner_id", "STATUS_INVALID"),
    ({"learner_id": "l" * 257}, "items[0].learner_id", "STATUS_INVALID"),
    ({"learner_id": "tab\there"}, "items[0].learner_id", "STATUS_INVALID"),
    ({"competency_id": "nope"}, "items[0].competency_id", "STATUS_NOT_FOUND"),
    ({"competency_id": ""}, "items[0].competency_id", "STATUS_INVALID"),
    ({"weight": -1.0}, "items[0].weight", "STATUS_INVALID"),
])
def test_item_validation(loaded, kw, field, code):
    c = loaded
    before = evidence_count(c)
    args = {"evidence_id": "v1", "learner_id": "s", "competency_id": "a", "score": 0.5,
            "observed_at_ms": 1000}
    args.update(kw)
    rep = c.submit(pb.Evidence(**args), evidence("v-ok", "s", "a", 0.9, 2000))
    got = item_status(rep, 0)
    assert got[0] == code and got[1] == field and got[2], got
    # The other item of the same request is unaffected.
    assert item_status(rep, 1)[0] == "STATUS_OK"
    assert evidence_count(c) == before + 1
    assert states(c.learner("s"))["a"] == ("MASTERED", 0.9)


def test_utf8_ids_up_to_256_bytes(loaded):
    c = loaded
    lid = "é" * 128  # 256 bytes
    rep = c.submit(evidence("ü" * 128, lid, "a", 0.9, 1000))
    assert item_status(rep)[0] == "STATUS_OK"
    assert states(c.learner(lid))["a"] == ("MASTERED", 0.9)


@pytest.mark.parametrize("doc,field,words", [
    ("{not json", "put_framework.json", ["line"]),
    (json.dumps({"id": "f", "title": "t", "competencies": [
        {"id": "a", "title": "A", "requires": {"all": ["c"]}},
        {"id": "b", "title": "B", "requires": {"all": ["a"]}},
        {"id": "c", "title": "C", "requires": {"all": ["b"]}}]}), "", ["cycle", "a", "b", "c"]),
    (json.dumps({"id": "f", "title": "t", "competencies": [
        {"id": "a", "title": "A", "requires": {"all": ["ghost"]}}]}), "", ["ghost"]),
    (json.dumps({"id": "f", "title": "t", "competencies": [
        {"id": "a", "title": "A"}, {"id": "a", "title": "A again"}]}), "", ["a", "duplicate"]),
    (json.dumps({"id": "f", "title": "t", "competencies": [
        {"id": "a", "title": "A"},
        {"id": "b", "title": "B", "requires": {"at_least": 3, "of": ["a"]}}]}), "", ["3"]),
])
def test_framework_refusals(daemon, client, doc, field, words):
    client.call(put_framework=pb.PutFramework(json=json.dumps(FW)))
    rep = client.call(put_framework=pb.PutFramework(json=doc))
    assert rep.status.code in (pb.STATUS_INVALID, pb.STATUS_CONFLICT), rep
    assert rep.status.field, rep.status
    if field:
        assert rep.status.field == field
    for w in words:
        assert w in rep.status.message.lower() or w in rep.status.field, (w, rep.status)
    # Nothing written: still only the good framework.
    lst = client.call(list_frameworks=pb.ListFrameworks()).framework_list.frameworks
    assert [f.framework_id for f in lst] == ["urn:test:bad"]


def test_unknown_ids(loaded):
    c = loaded
    assert c.call(get_learner=pb.GetLearner(learner_id="s", framework_id="nope")).status.code == pb.STATUS_NOT_FOUND
    assert c.call(get_framework=pb.GetFramework(framework_id="urn:test:bad", revision=9)).status.code == pb.STATUS_NOT_FOUND
    rep = c.call(get_learner=pb.GetLearner(learner_id=""))
    assert rep.status.code == pb.STATUS_INVALID and rep.status.field == "get_learner.learner_id"
