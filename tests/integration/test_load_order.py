"""Issue 11, item 2: evidence counts wherever its competency appears, whichever loaded first.

The same frameworks and evidence reach two daemons in different orders; learner states,
credentials and the unlock/mastery/credential events must agree, and stay so after a restart."""
import json

from conftest import Client, Daemon, evidence, pb

# A has a.x; C has a.x too, a dependent c.y (requires a.x) and a badge on a.x.
FW_A = {"id": "urn:test:order:A", "title": "A", "version": "1", "competencies": [
    {"id": "a.x", "title": "X", "rule": {"method": "latest", "threshold": 0.8}},
    {"id": "a.z", "title": "Z", "rule": {"method": "latest", "threshold": 0.8}}]}
FW_C = {"id": "urn:test:order:C", "title": "C", "version": "1", "competencies": [
    {"id": "a.x", "title": "X in C", "rule": {"method": "average", "threshold": 0.9,
                                               "min_evidence": 2},
     "achievement": {"name": "X in C", "description": "Mastered X.", "criteria": "Two items."}},
    {"id": "c.y", "title": "Y", "requires": {"all": ["a.x"]},
     "rule": {"method": "latest", "threshold": 0.8}},
    {"id": "c.w", "title": "W", "requires": {"all": ["c.y"]},
     "rule": {"method": "latest", "threshold": 0.8}}]}

ITEMS = [evidence("o-1", "s-1", "a.x", 0.97, 1000), evidence("o-2", "s-1", "a.x", 0.95, 2000),
         evidence("o-3", "s-2", "a.x", 0.97, 1000),  # s-2: one item, below min_evidence in C
         evidence("o-4", "s-3", "a.z", 0.99, 1000),  # s-3: nothing C has
         evidence("o-5", "s-1", "c.y", 0.85, 1500)]  # only C has c.y: refused until C loads


def put(c, fw):
    rep = c.call(put_framework=pb.PutFramework(json=json.dumps(fw)))
    assert rep.status.code == pb.STATUS_OK, rep.status.message


def snapshot(c):
    """Everything order must not change: states, credentials, and the events that name a
    learner (by kind, learner, framework, competency; seqs and times differ by design)."""
    out = {"states": {}, "credentials": set(), "events": set()}
    for learner in ("s-1", "s-2", "s-3"):
        rep = c.learner(learner)
        assert rep.status.code == pb.STATUS_OK, rep.status.message
        for fw in rep.learner.frameworks:
            for st in fw.competencies:
                out["states"][(learner, fw.framework_id, st.competency_id)] = (
                    pb.CompetencyStatus.Name(st.status), round(st.score, 9), st.evidence_count)
        rep = c.call(list_credentials=pb.ListCredentials(learner_id=learner))
        assert rep.status.code == pb.STATUS_OK
        for cr in rep.credential_list.credentials:
            out["credentials"].add((cr.learner_id, cr.framework_id, cr.competency_id))
    seq = 1
    while True:
        page = c.events(seq).events
        for e in page.events:
            kind = e.WhichOneof("kind")
            if kind in ("unlocked", "mastered", "credential_issued"):
                body = getattr(e, kind)
                out["events"].add((kind, body.learner_id, body.framework_id, body.competency_id))
        if not page.events:
            break
        seq = page.next_seq
    return out


def run(data_dir, frameworks_first):
    d = Daemon(data_dir).start()
    c = Client(d.endpoint)
    try:
        put(c, FW_A)
        if frameworks_first:
            put(c, FW_C)
            assert c.submit(*ITEMS).evidence_results.accepted == len(ITEMS)
        else:
            rep = c.submit(*ITEMS)
            # c.y is in no framework yet: that one item is refused, the rest stored.
            assert rep.evidence_results.accepted == len(ITEMS) - 1
            put(c, FW_C)
            assert c.submit(ITEMS[-1]).evidence_results.accepted == 1
        return snapshot(c)
    finally:
        c.close()
        assert d.stop() == 0


def test_state_does_not_depend_on_load_order(tmp_path):
    before = run(str(tmp_path / "first"), frameworks_first=True)
    after = run(str(tmp_path / "later"), frameworks_first=False)
    # What C must show for stored evidence, stated outright rather than only compared.
    assert after["states"][("s-1", FW_C["id"], "a.x")] == ("MASTERED", 0.96, 2)
    assert after["states"][("s-1", FW_C["id"], "c.y")][0] == "MASTERED"
    assert after["states"][("s-1", FW_C["id"], "c.w")][0] == "UNLOCKED"
    assert after["states"][("s-2", FW_C["id"], "a.x")] == ("UNLOCKED", 0.97, 1)
    assert ("s-1", FW_C["id"], "a.x") in after["credentials"]
    assert ("credential_issued", "s-1", FW_C["id"], "a.x") in after["events"]
    assert before == after
    # And after a restart of the store that saw the evidence first.
    d = Daemon(str(tmp_path / "later")).start()
    c = Client(d.endpoint)
    try:
        assert snapshot(c) == after
    finally:
        c.close()
        assert d.stop() == 0


def test_new_framework_walks_only_learners_with_its_evidence(tmp_path):
    """A learner whose evidence is on none of the new framework's competencies gets no state
    records and no events from its load (the defaults hold)."""
    d = Daemon(str(tmp_path / "d")).start()
    c = Client(d.endpoint)
    try:
        put(c, FW_A)
        assert c.submit(evidence("w-1", "s-9", "a.z", 0.99, 1)).evidence_results.accepted == 1
        last = c.events(1).events.last_seq
        put(c, FW_C)
        page = c.events(last + 1).events
        kinds = [e.WhichOneof("kind") for e in page.events]
        assert kinds == ["framework_loaded"]
        got = {(f.framework_id, s.competency_id): pb.CompetencyStatus.Name(s.status)
               for f in c.learner("s-9").learner.frameworks for s in f.competencies}
        assert got[(FW_C["id"], "a.x")] == "UNLOCKED"
        assert got[(FW_C["id"], "c.y")] == "LOCKED"
    finally:
        c.close()
        assert d.stop() == 0
