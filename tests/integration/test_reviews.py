"""Reviews and forgetting against the real daemon (issue 15 item 3): review_after on a framework
and per competency, review due computed from the evidence (Next lists it first, Explain says
since when), the review_due event published once per due period by the sweep (also across a
restart, and for a moment that passed while the daemon was down), fresh evidence at or above
the threshold clearing it, repeated failure reported once (review_failed) and never revoking,
and `masteryd --check` agreeing with the stored review records."""
import json
import os
import subprocess
import time

from conftest import BIN, Client, Daemon, evidence, pb

FW = "urn:test:reviews"
DOC = {"id": FW, "title": "Reviews", "review_after": "P1D", "competencies": [
    {"id": "r1", "title": "Reviewed daily", "achievement": {"name": "Daily reviewer"}},
    {"id": "r2", "title": "Never reviewed", "review_after": "P0D"},
    {"id": "r3", "title": "Reviewed after 3 s", "review_after": "PT3S",
     "rule": {"method": "bkt", "p_forget": 0.05, "threshold": 0.8}},
    {"id": "r4", "title": "Needs r1", "requires": {"all": ["r1"]}},
]}
DAY = 86400000


def start(tmp_path, name="d"):
    conf = tmp_path / "masteryd.conf"
    conf.write_text("review_sweep_ms = 50\n")
    return Daemon(str(tmp_path / name), extra_args=["-c", str(conf)]).start()


def ok(rep):
    assert rep.status.code == pb.STATUS_OK, rep.status
    return rep


def review_events(client, kind="review_due"):
    out = []
    seq = 1
    while True:
        page = ok(client.events(from_seq=seq)).events
        for e in page.events:
            if e.WhichOneof("kind") == kind:
                out.append(getattr(e, kind))
        if not page.events or page.next_seq > page.last_seq:
            return out
        seq = page.next_seq


def wait_for(fn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def test_review_due_once_cleared_failed_restart(tmp_path):
    d = start(tmp_path)
    c = Client(d.endpoint)
    ok(c.call(put_framework=pb.PutFramework(json=json.dumps(DOC))))
    now = int(time.time() * 1000)
    three_days = now - 3 * DAY
    ok(c.submit(evidence("a1", "s1", "r1", 0.9, three_days, observed_at_set=True),
                evidence("a2", "s1", "r2", 0.9, three_days, observed_at_set=True),
                evidence("a3", "s2", "r1", 0.85, now - 3600000, observed_at_set=True)))
    # s1's r1 fell due two days ago: one event, whatever the number of sweeps
    ev = wait_for(lambda: review_events(c))
    assert [(e.learner_id, e.competency_id, e.due_at_ms) for e in ev] == \
        [("s1", "r1", three_days + DAY)]
    time.sleep(0.5)  # ten sweeps
    assert len(review_events(c)) == 1
    # s2's period is pending (not due yet); s1's went out
    text = ok(c.call(metrics=pb.Metrics())).metrics.text
    assert "\nmasteryd_reviews_pending 1\n" in text, text
    n = ok(c.call(next=pb.Next(learner_id="s1"))).next_steps
    first = n.steps[0]
    assert (first.kind, first.competency_id, first.review_due_at_ms) == \
        (pb.STEP_REVIEW, "r1", three_days + DAY)
    assert any("review due since" in r for r in first.reasons)
    assert n.reviews_due == 1 and "r2" not in [s.competency_id for s in n.steps]
    x = ok(c.call(explain=pb.Explain(learner_id="s1", competency_id="r1"))).explanation
    assert x.review_due and x.review_after_ms == DAY and x.last_fresh_at_ms == three_days
    assert x.state.status == pb.MASTERED and "review due since" in x.summary
    x2 = ok(c.call(explain=pb.Explain(learner_id="s1", competency_id="r2"))).explanation
    assert x2.review_after_ms == 0 and not x2.review_due
    # s2 mastered an hour ago: not due; Explain says when it will be
    x = ok(c.call(explain=pb.Explain(learner_id="s2", competency_id="r1"))).explanation
    assert not x.review_due and x.review_due_at_ms == now - 3600000 + DAY

    # two items below the threshold while due: review_failed once, still mastered
    ok(c.submit(evidence("a4", "s1", "r1", 0.5, now - 2000, observed_at_set=True),
                evidence("a5", "s1", "r1", 0.4, now - 1000, observed_at_set=True)))
    failed = review_events(c, "review_failed")
    assert [(e.learner_id, e.competency_id, e.failures, e.evidence_id) for e in failed] == \
        [("s1", "r1", 2, "a5")]
    ok(c.submit(evidence("a6", "s1", "r1", 0.3, now - 500, observed_at_set=True)))
    assert len(review_events(c, "review_failed")) == 1
    st = {x.competency_id: x for f in c.learner("s1").learner.frameworks for x in f.competencies}
    assert st["r1"].status == pb.MASTERED and st["r4"].status == pb.UNLOCKED
    n = ok(c.call(next=pb.Next(learner_id="s1"))).next_steps
    assert n.steps[0].review_failed and n.steps[0].review_failures == 3
    creds = ok(c.call(list_credentials=pb.ListCredentials(learner_id="s1"))).credential_list
    assert [(x.competency_id, x.state) for x in creds.credentials] == \
        [("r1", pb.CREDENTIAL_ACTIVE)], creds  # the badge stays valid
    assert any("review failed (still mastered; badge valid)" in r for r in n.steps[0].reasons)

    # the review survives a restart: no second event, still due
    d.stop()
    d.start()
    c.close()
    c = Client(d.endpoint)
    time.sleep(0.3)
    assert len(review_events(c)) == 1
    n = ok(c.call(next=pb.Next(learner_id="s1"))).next_steps
    assert n.steps[0].kind == pb.STEP_REVIEW and n.steps[0].competency_id == "r1"

    # fresh evidence at the threshold clears it, and starts the next period
    t = int(time.time() * 1000)
    ok(c.submit(evidence("a7", "s1", "r1", 0.8, t, observed_at_set=True)))
    n = ok(c.call(next=pb.Next(learner_id="s1"))).next_steps
    assert pb.STEP_REVIEW not in [s.kind for s in n.steps]
    x = ok(c.call(explain=pb.Explain(learner_id="s1", competency_id="r1"))).explanation
    assert not x.review_due and x.review_due_at_ms == t + DAY and x.review_failures == 0

    # a moment that passes while the daemon is down is published once at the next start
    ok(c.submit(evidence("b1", "s3", "r3", 1.0, int(time.time() * 1000), outcome=pb.OUTCOME_PASSED,
                         observed_at_set=True),
                evidence("b2", "s3", "r3", 1.0, int(time.time() * 1000) + 1,
                         outcome=pb.OUTCOME_PASSED, observed_at_set=True)))
    st = {x.competency_id: x for f in c.learner("s3").learner.frameworks for x in f.competencies}
    assert st["r3"].status == pb.MASTERED, st["r3"]
    d.stop()
    time.sleep(3.5)
    d.start()
    c.close()
    c = Client(d.endpoint)
    ev = wait_for(lambda: [e for e in review_events(c) if e.learner_id == "s3"])
    assert [(e.competency_id) for e in ev] == ["r3"]
    time.sleep(0.3)
    assert len([e for e in review_events(c) if e.learner_id == "s3"]) == 1
    c.close()
    assert d.stop() == 0

    # a from-scratch recomputation agrees with every stored state and review record
    r = subprocess.run([os.path.join(BIN, "masteryd"), "--check", "--data", d.data_dir],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout


def test_bad_review_after_is_refused_naming_the_field(tmp_path):
    d = start(tmp_path)
    c = Client(d.endpoint)
    cases = [
        ({"review_after": "30 days"}, "review_after"),
        ({"review_after": "P1Y"}, "review_after"),
        ({"review_after": 30}, "review_after"),
        ({"review_after": "P99999D"}, "review_after"),
        ({"competencies": [{"id": "x", "title": "X", "review_after": "PT"}]},
         "competencies[0].review_after"),
        ({"competencies": [{"id": "x", "title": "X",
                            "rule": {"method": "bkt", "p_forget": 1.0}}]},
         "competencies[0].rule.p_forget"),
        ({"competencies": [{"id": "x", "title": "X",
                            "rule": {"method": "latest", "p_forget": 0.1}}]},
         "competencies[0].rule.p_forget"),
    ]
    for patch, field in cases:
        doc = {"id": "urn:bad", "title": "Bad", "competencies": [{"id": "x", "title": "X"}]}
        doc.update(patch)
        rep = c.call(put_framework=pb.PutFramework(json=json.dumps(doc)))
        assert (rep.status.code, rep.status.field) == (pb.STATUS_INVALID, field), (patch, rep.status)
    c.close()
    assert d.stop() == 0
