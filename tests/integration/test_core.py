"""The daemon core over real ZeroMQ and LMDB: frameworks, evidence, rules, unlocks, events."""
import json
import os
import threading
import time

import zmq

from conftest import EXAMPLES, Client, Daemon, evidence, pb, states

CHAIN = {
    "id": "urn:test:chain",
    "title": "Chain",
    "version": "1",
    "competencies": [
        {"id": "a", "title": "A", "rule": {"method": "latest", "threshold": 0.8}},
        {"id": "b", "title": "B", "requires": {"all": ["a"]},
         "rule": {"method": "average", "threshold": 0.7, "min_evidence": 2}},
        {"id": "c", "title": "C", "requires": {"all": ["b"]},
         "rule": {"method": "highest", "threshold": 0.9}},
        {"id": "d", "title": "D", "requires": {"at_least": 1, "of": ["a", "c"]}},
        {"id": "all", "title": "All", "rule": {"method": "children", "of": ["a", "b", "c"]}},
    ],
}


def load(client, doc):
    rep = client.call(put_framework=pb.PutFramework(json=json.dumps(doc)))
    assert rep.status.code == pb.STATUS_OK, rep
    return rep.framework_info


def ok_items(rep):
    return [pb.StatusCode.Name(i.status.code) for i in rep.evidence_results.items]


def test_framework_load_get_list(client):
    info = client.put_framework_file(os.path.join(EXAMPLES, "fractions.json")).framework_info
    assert info.framework_id == "urn:example:math:fractions-g5"
    assert info.revision == 1 and info.competency_count >= 12
    # The same document again is idempotent: no new revision.
    again = client.put_framework_file(os.path.join(EXAMPLES, "fractions.json")).framework_info
    assert again.revision == 1
    got = client.call(get_framework=pb.GetFramework(framework_id=info.framework_id))
    with open(os.path.join(EXAMPLES, "fractions.json")) as f:
        assert got.framework.json == f.read()
    lst = client.call(list_frameworks=pb.ListFrameworks())
    assert [f.framework_id for f in lst.framework_list.frameworks] == [info.framework_id]
    missing = client.call(get_framework=pb.GetFramework(framework_id="nope"))
    assert missing.status.code == pb.STATUS_NOT_FOUND
    assert missing.status.field == "get_framework.framework_id"


def test_prior_evidence_counts_and_cascade(client):
    load(client, CHAIN)
    # Evidence on locked b and c first: recorded, still locked.
    rep = client.submit(evidence("e1", "s1", "b", 0.9, 1000), evidence("e2", "s1", "b", 0.6, 2000),
                        evidence("e3", "s1", "c", 0.95, 3000))
    assert ok_items(rep) == ["STATUS_OK"] * 3
    st = states(client.learner("s1"))
    assert st["b"] == ("LOCKED", 0.75) and st["c"] == ("LOCKED", 0.95)
    assert st["a"][0] == "UNLOCKED" and st["d"][0] == "LOCKED"
    # Mastering a unlocks b, whose prior evidence masters it, which unlocks and masters c,
    # and the roll-up: one evidence, one transaction.
    seq_before = client.events().events.last_seq
    rep = client.submit(evidence("e4", "s1", "a", 0.85, 4000))
    assert ok_items(rep) == ["STATUS_OK"]
    st = states(client.learner("s1"))
    assert st["a"][0] == st["b"][0] == st["c"][0] == st["all"][0] == "MASTERED"
    assert st["d"][0] == "UNLOCKED"  # its own rule (latest >= 0.8) has no evidence yet
    evs = client.events(seq_before + 1).events.events
    got = [(e.WhichOneof("kind"), getattr(e, e.WhichOneof("kind")).competency_id) for e in evs]
    # Causal order: what a mastery unlocks follows it; every competency unlocks before it is
    # mastered; the roll-up comes after its last child.
    # The item's own event comes first (every accepted item is an event: the log's trail).
    assert got[0] == ("evidence_accepted", "a")
    got = got[1:]
    assert sorted(got) == sorted([("mastered", "a"), ("unlocked", "b"), ("mastered", "b"),
                                  ("unlocked", "c"), ("mastered", "c"), ("mastered", "all"),
                                  ("unlocked", "d")]), got
    assert got[0] == ("mastered", "a")
    assert got.index(("unlocked", "b")) < got.index(("mastered", "b")) < got.index(("unlocked", "c"))
    assert got.index(("unlocked", "c")) < got.index(("mastered", "c")) < got.index(("mastered", "all"))
    assert all(getattr(e, e.WhichOneof("kind")).evidence_id == "e4" for e in evs)
    assert [e.seq for e in evs] == list(range(seq_before + 1, seq_before + 1 + len(evs)))


def test_mastery_is_sticky_and_score_still_reported(client):
    load(client, CHAIN)
    client.submit(evidence("x1", "s2", "a", 0.9, 1000))
    client.submit(evidence("x2", "s2", "a", 0.1, 2000))
    st = states(client.learner("s2"))
    assert st["a"] == ("MASTERED", 0.1)
    comp = [c for c in client.learner("s2").learner.frameworks[0].competencies if c.competency_id == "a"][0]
    assert comp.rule_met is False and comp.evidence_count == 2


def test_late_evidence_lands_in_order(client):
    load(client, CHAIN)
    # latest rule: the item observed last counts, whatever the arrival order.
    client.submit(evidence("l2", "s3", "a", 0.5, 5000))
    client.submit(evidence("l1", "s3", "a", 0.95, 1000))
    assert states(client.learner("s3"))["a"] == ("UNLOCKED", 0.5)
    lst = client.call(list_evidence=pb.ListEvidence(learner_id="s3", competency_id="a"))
    assert [e.evidence_id for e in lst.evidence.items] == ["l1", "l2"]


def test_duplicate_and_conflict(client):
    load(client, CHAIN)
    e = evidence("dup-1", "s4", "a", 0.5, 1000, source="quiz")
    assert ok_items(client.submit(e)) == ["STATUS_OK"]
    rep = client.submit(e)
    assert ok_items(rep) == ["STATUS_DUPLICATE"]
    assert rep.evidence_results.duplicates == 1 and rep.evidence_results.accepted == 0
    rep = client.submit(evidence("dup-1", "s4", "a", 0.6, 1000, source="quiz"))
    assert ok_items(rep) == ["STATUS_CONFLICT"]
    assert rep.evidence_results.items[0].status.field == "items[0].evidence_id"
    # Counted once.
    assert states(client.learner("s4"))["a"] == ("UNLOCKED", 0.5)
    lst = client.call(list_evidence=pb.ListEvidence(learner_id="s4"))
    assert len(lst.evidence.items) == 1
    # Same id twice inside one batch: the second is a duplicate.
    rep = client.submit(evidence("dup-2", "s4", "a", 0.5, 2000), evidence("dup-2", "s4", "a", 0.5, 2000))
    assert ok_items(rep) == ["STATUS_OK", "STATUS_DUPLICATE"]
    # A retry of an item the daemon timestamped (observed_at 0) is a duplicate, not a conflict.
    assert ok_items(client.submit(evidence("now-1", "s4", "a", 0.4))) == ["STATUS_OK"]
    time.sleep(0.01)
    assert ok_items(client.submit(evidence("now-1", "s4", "a", 0.4))) == ["STATUS_DUPLICATE"]


def test_override_grant_and_withdraw_audited(client):
    load(client, CHAIN)
    rep = client.call(override=pb.Override(learner_id="s5", framework_id="urn:test:chain",
                                           competency_id="a", mastered=True,
                                           reason="showed it in class", actor="ms.lee"))
    assert rep.status.code == pb.STATUS_OK and rep.competency.status == pb.MASTERED
    assert rep.competency.overridden
    st = states(client.learner("s5"))
    assert st["a"][0] == "MASTERED" and st["b"][0] == "UNLOCKED"
    evs = client.events().events.events
    ov = [e.override for e in evs if e.WhichOneof("kind") == "override"]
    assert ov[-1].actor == "ms.lee" and ov[-1].reason == "showed it in class" and ov[-1].mastered
    # Withdraw: back to UNLOCKED; old evidence does not re-master, newer evidence does.
    client.submit(evidence("o1", "s5", "a", 0.9, 1000))
    rep = client.call(override=pb.Override(learner_id="s5", framework_id="urn:test:chain",
                                           competency_id="a", mastered=False, reason="copied"))
    assert rep.competency.status == pb.UNLOCKED
    assert states(client.learner("s5"))["a"][0] == "UNLOCKED"
    client.submit(evidence("o2", "s5", "a", 0.95))  # observed now, after the withdrawal
    assert states(client.learner("s5"))["a"][0] == "MASTERED"
    bad = client.call(override=pb.Override(learner_id="s5", framework_id="urn:test:chain",
                                           competency_id="a", mastered=True))
    assert bad.status.code == pb.STATUS_INVALID and bad.status.field == "override.reason"
    nf = client.call(override=pb.Override(learner_id="s5", framework_id="urn:test:chain",
                                          competency_id="zz", mastered=True, reason="r"))
    assert nf.status.code == pb.STATUS_NOT_FOUND and nf.status.field == "override.competency_id"


def test_new_revision_reevaluates_never_takes_back(client):
    load(client, CHAIN)
    client.submit(evidence("r1", "s6", "a", 0.9, 1000), evidence("r2", "s7", "a", 0.5, 1000),
                  evidence("r3", "s7", "d", 0.9, 1000))
    assert states(client.learner("s6"))["a"][0] == "MASTERED"
    # Revision 2: a now requires d (s6 has not mastered d), and d's threshold drops to 0.5.
    doc = json.loads(json.dumps(CHAIN))
    doc["version"] = "2"
    doc["competencies"] = [
        {"id": "d", "title": "D", "rule": {"method": "latest", "threshold": 0.5}},
        {"id": "a", "title": "A", "requires": {"all": ["d"]}, "rule": {"method": "latest", "threshold": 0.4}},
        {"id": "b", "title": "B", "requires": {"all": ["a"]}},
    ]
    info = load(client, doc)
    assert info.revision == 2
    s6 = states(client.learner("s6"))
    assert s6["a"][0] == "MASTERED"          # never taken back
    s7 = states(client.learner("s7"))
    assert s7["d"][0] == "MASTERED"          # root now, evidence 0.9 >= 0.5
    assert s7["a"][0] == "MASTERED"          # unlocked by d; 0.5 >= new threshold 0.4
    assert s7["b"][0] == "UNLOCKED"
    evs = client.events().events.events
    assert any(e.WhichOneof("kind") == "framework_loaded" and e.framework_loaded.revision == 2
               for e in evs)
    old = client.call(get_framework=pb.GetFramework(framework_id="urn:test:chain", revision=1))
    assert json.loads(old.framework.json)["version"] == "1"


def test_events_paging_and_pub(daemon, client):
    load(client, CHAIN)
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"mastered/s8/")
    sub.setsockopt(zmq.SUBSCRIBE, b"mastered/warm-")
    sub.connect(daemon.events_endpoint)
    # PUB drops what it sends before a subscription arrives: warm up with throwaway learners
    # until one event comes through; subscriptions travel in order, so s8's is in place too.
    for k in range(100):
        client.submit(evidence(f"warm-{k}", f"warm-{k}", "a", 0.9, 1000))
        if sub.poll(200):
            sub.recv_multipart()
            break
    else:
        raise AssertionError("the subscription never took effect")
    while sub.poll(100):
        sub.recv_multipart()
    client.submit(evidence("p1", "s8", "a", 0.9, 1000), evidence("p2", "s9", "a", 0.9, 1000))
    assert sub.poll(5000)
    topic, payload = sub.recv_multipart()
    ev = pb.Event()
    ev.ParseFromString(payload)
    assert topic == b"mastered/s8/" and ev.mastered.learner_id == "s8"
    assert not sub.poll(300)  # s9's event filtered out by the topic prefix
    sub.close()
    # Paging: two events per page reach the end without gaps.
    seqs, nxt = [], 1
    while True:
        page = client.events(nxt, limit=2).events
        if not page.events:
            break
        assert len(page.events) <= 2
        seqs += [e.seq for e in page.events]
        nxt = page.next_seq
    assert seqs == list(range(1, page.last_seq + 1))


def test_state_survives_restart(data_dir):
    d = Daemon(data_dir).start()
    c = Client(d.endpoint)
    load(c, CHAIN)
    c.submit(evidence("k1", "s10", "a", 0.9, 1000))
    before = states(c.learner("s10"))
    last = c.events().events.last_seq
    c.close()
    assert d.stop() == 0
    d = Daemon(data_dir).start()
    c = Client(d.endpoint)
    assert states(c.learner("s10")) == before
    assert c.events().events.last_seq == last
    c.submit(evidence("k2", "s10", "b", 0.9, 2000), evidence("k3", "s10", "b", 0.9, 3000))
    assert c.events(last + 1).events.events[0].seq == last + 1  # numbering continues
    c.close()
    assert d.stop() == 0


def test_health(client):
    h = client.call(health=pb.Health()).health
    assert h.dev_mode and h.version and h.map_size > 0 and h.requests >= 1


def test_pipelined_clients_group_commit(daemon):
    """Many requests in flight from several clients: every one answered, all stored."""
    c = Client(daemon.endpoint)
    load(c, CHAIN)
    n_clients, per = 4, 200
    errors = []

    def worker(k):
        cl = Client(daemon.endpoint)
        try:
            for i in range(per):
                req = pb.Request(request_id=f"{k}-{i}", submit_evidence=pb.SubmitEvidence(
                    items=[evidence(f"g-{k}-{i}", f"gl-{k}-{i % 10}", "a", 0.5, 1000 + i)]))
                cl.send_raw(req.SerializeToString())
            got = set()
            for _ in range(per):
                rep = cl.recv_reply()
                if rep.evidence_results.accepted != 1:
                    errors.append(rep)
                got.add(rep.request_id)
            if got != {f"{k}-{i}" for i in range(per)}:
                errors.append("missing replies")
        finally:
            cl.close()

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(n_clients)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert not errors, errors[:3]
    h = c.call(health=pb.Health()).health
    assert h.evidence_count == n_clients * per
    assert h.commits < n_clients * per  # batched: fewer commits than requests
    c.close()


def test_retract_evidence_reevaluates(client):
    load(client, CHAIN)
    client.submit(evidence("rt1", "s11", "b", 0.9, 1000), evidence("rt2", "s11", "b", 0.3, 2000))
    assert states(client.learner("s11"))["b"] == ("LOCKED", 0.6)
    rep = client.call(retract_evidence=pb.RetractEvidence(evidence_id="rt2", reason="voided"))
    assert rep.status.code == pb.STATUS_OK, rep.status
    st = states(client.learner("s11"))["b"]
    assert st == ("LOCKED", 0.9)  # only rt1 counts now
    comp = [c for c in client.learner("s11").learner.frameworks[0].competencies if c.competency_id == "b"][0]
    assert comp.evidence_count == 1
    lst = client.call(list_evidence=pb.ListEvidence(learner_id="s11")).evidence.items
    assert {e.evidence_id: e.retracted for e in lst} == {"rt1": False, "rt2": True}
    evs = client.events().events.events
    r = [e.evidence_retracted for e in evs if e.WhichOneof("kind") == "evidence_retracted"]
    assert r and r[-1].evidence_id == "rt2" and r[-1].learner_id == "s11" and r[-1].reason == "voided"
    # Idempotent; the item itself stays a duplicate if resent.
    again = client.call(retract_evidence=pb.RetractEvidence(evidence_id="rt2", reason="voided"))
    assert again.status.code == pb.STATUS_OK and "already" in again.status.message
    assert ok_items(client.submit(evidence("rt2", "s11", "b", 0.3, 2000))) == ["STATUS_DUPLICATE"]
    nf = client.call(retract_evidence=pb.RetractEvidence(evidence_id="nope", reason="x"))
    assert nf.status.code == pb.STATUS_NOT_FOUND and nf.status.field == "retract_evidence.evidence_id"
    # Mastery stays after a retraction (sticky); the rule value reflects it.
    client.submit(evidence("rt3", "s12", "a", 0.9, 1000))
    client.call(retract_evidence=pb.RetractEvidence(evidence_id="rt3", reason="voided"))
    assert states(client.learner("s12"))["a"] == ("MASTERED", 0.0)
