"""Events retention: events_keep_count bounds the log; readers within the window replay without
gaps, a reader before it gets NOT_FOUND naming the first kept seq, and state (kept in state
records and recomputed from evidence, never from events) is untouched."""
import json

from conftest import Client, Daemon, evidence, pb, states

KEEP = 20


def fw(threshold):
    return {"id": "urn:test:retention", "title": "Retention", "version": str(threshold),
            "competencies": [{"id": f"c{i}", "title": f"C{i}",
                              "rule": {"method": "latest", "threshold": 0.5}}
                             for i in range(30)] +
            [{"id": "late", "title": "Late", "rule": {"method": "latest",
                                                     "threshold": threshold}}]}


def read(c, from_seq, limit=0):
    return c.call(read_events=pb.ReadEvents(from_seq=from_seq, limit=limit))


def test_retention_keeps_a_window_readers_know_where_it_starts(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text(f"events_keep_count = {KEEP}\n")
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    try:
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw(0.9)))).status.code == 0
        c.submit(evidence("late-1", "ann", "late", 0.6, 1000))  # not mastered at 0.9
        for i in range(30):
            c.submit(evidence(f"e{i}", "ann", f"c{i}", 0.8, 2000 + i))  # a mastery event each
        page = read(c, 0)
        assert page.status.code == pb.STATUS_OK, page.status
        ev = page.events
        last = ev.last_seq
        assert last > KEEP + 10
        assert ev.first_seq == last - KEEP + 1
        assert [e.seq for e in ev.events] == list(range(ev.first_seq, last + 1))  # no gaps
        # A reader that fell behind the window is told, with the first kept seq.
        for stale in (1, ev.first_seq - 1):
            r = read(c, stale)
            assert r.status.code == pb.STATUS_NOT_FOUND, r.status
            assert r.status.field == "read_events.from_seq"
            assert f"read from {ev.first_seq}" in r.status.message, r.status.message
        # A subscriber within the window pages on without gaps while new events arrive.
        pos = ev.first_seq + 5
        got = []
        for i in range(10):
            c.submit(evidence(f"again-{i}", f"bob{i}", "c0", 0.9, 5000 + i))
            r = read(c, pos, limit=3)
            assert r.status.code == pb.STATUS_OK, r.status
            got += [e.seq for e in r.events.events]
            pos = r.events.next_seq
        while True:
            r = read(c, pos)
            if not r.events.events:
                break
            got += [e.seq for e in r.events.events]
            pos = r.events.next_seq
        assert got == list(range(ev.first_seq + 5, got[-1] + 1)) and got[-1] == r.events.last_seq
        # State does not come from events: every mastery stands, and a new revision re-evaluates
        # from the stored evidence (late: 0.6 meets the lowered threshold).
        st = states(c.learner("ann"))
        assert all(st[f"c{i}"][0] == "MASTERED" for i in range(30))
        assert st["late"][0] == "UNLOCKED"
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw(0.5)))).status.code == 0
        assert states(c.learner("ann"))["late"] == ("MASTERED", 0.6)
        final = read(c, 0).events
        assert final.last_seq - final.first_seq + 1 == KEEP
        c.close()
        assert d.stop() == 0
        # Numbering continues across a restart.
        d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
        c = Client(d.endpoint)
        c.submit(evidence("after", "carl", "c1", 0.9, 9000))
        after = read(c, 0).events
        assert after.last_seq > final.last_seq and after.first_seq == after.last_seq - KEEP + 1
    finally:
        c.close()
        assert d.stop() == 0


def test_no_retention_keeps_everything(tmp_path):
    d = Daemon(str(tmp_path / "data")).start()
    c = Client(d.endpoint)
    try:
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw(0.9)))).status.code == 0
        for i in range(30):
            c.submit(evidence(f"e{i}", "ann", f"c{i}", 0.8, 2000 + i))
        ev = read(c, 1).events
        assert ev.first_seq == 1 and ev.events[0].seq == 1
    finally:
        c.close()
        assert d.stop() == 0
