"""Next and Explain against the real daemon (issue 15 items 1 and 2): the ranking and its
reasons, Explain's arithmetic against the stored state for every rule over random evidence,
overrides and retractions in Explain, bad input naming the field, and roles/scopes in secure
mode (a tool outside its scope: FORBIDDEN; inside it: no evidence ids or narratives)."""
import json
import math
import os
import random
import time

import pytest

from conftest import Client, EXAMPLES, ctl, evidence, pb, states
from secure import GEOMETRY, School

FW = "urn:test:next"
GRAPH = {"id": FW, "title": "Next test", "competencies": [
    {"id": "a", "title": "A"},
    {"id": "b", "title": "B", "requires": {"all": ["a"]}},
    {"id": "c", "title": "C", "requires": {"all": ["a"]},
     "rule": {"method": "average", "threshold": 0.8, "min_evidence": 2}},
    {"id": "d", "title": "D", "requires": {"all": ["b", "c"]}},
    {"id": "e", "title": "E", "requires": {"all": ["d"]}},
    {"id": "f", "title": "F"},
    {"id": "roll", "title": "Roll-up", "rule": {"method": "children", "of": ["a", "f"]}},
]}

DAY = 86400000


def put(client, doc):
    rep = client.call(put_framework=pb.PutFramework(json=json.dumps(doc)))
    assert rep.status.code == pb.STATUS_OK, rep.status
    return rep


def ok(rep):
    assert rep.status.code == pb.STATUS_OK, rep.status
    return rep


def next_steps(client, learner, **kw):
    return client.call(next=pb.Next(learner_id=learner, **kw))


def explain(client, learner, competency, framework=""):
    return client.call(explain=pb.Explain(learner_id=learner, competency_id=competency,
                                          framework_id=framework))


def test_next_ranking_reasons_and_locked(client):
    put(client, GRAPH)
    now = int(time.time() * 1000)
    ok(client.submit(evidence("e1", "s1", "a", 0.9, now - 1000),
                     evidence("e2", "s1", "f", 0.5, now - 1000),
                     evidence("e3", "s1", "c", 0.7, now - 900)))
    rep = ok(next_steps(client, "s1"))
    ns = rep.next_steps
    got = [(s.competency_id, s.kind, s.items_needed) for s in ns.steps]
    # b: 1 item, unlocks d and e; f: 1 item, unlocks nothing; c: average of 0.7 and x >= 0.8
    # needs x >= 0.9 (one item, min_evidence 2 met then), unlocks d, e. Ranking: fewest items,
    # then most unlocked transitively (b, c before f), then higher score (c's 0.7 before b's 0).
    assert got == [("c", pb.STEP_LEARN, 1), ("b", pb.STEP_LEARN, 1), ("f", pb.STEP_LEARN, 1)], got
    c, b, f = ns.steps
    assert [s.rank for s in ns.steps] == [1, 2, 3]
    assert abs(c.min_next_score - 0.9) < 2e-6 and c.evidence_count == 1 and c.min_evidence == 2
    assert abs(b.min_next_score - 0.8) < 2e-6 and b.score == 0 and b.threshold == 0.8
    assert (b.unlocks_direct, b.unlocks_transitive) == (1, 2)
    assert (f.unlocks_direct, f.unlocks_transitive) == (0, 0)
    assert any("unlocks 1 directly, 2 in all downstream" in r for r in b.reasons), b.reasons
    assert any("prerequisites met (1 of 1 mastered)" in r for r in b.reasons), b.reasons
    assert any("no prerequisites" in r for r in f.reasons), f.reasons
    # the roll-up is never a step (its children are); counts cover the whole framework
    assert "roll" not in [s.competency_id for s in ns.steps]
    assert (ns.mastered, ns.total, ns.reviews_due) == (1, 7, 0)
    locked = [(l.competency_id, l.missing, list(l.missing_ids)) for l in ns.nearest_locked]
    assert locked == [("e", 1, ["d"]), ("d", 2, ["b", "c"])], locked
    # limits cut the ranked list
    short = ok(next_steps(client, "s1", limit=1, locked_limit=1)).next_steps
    assert [s.competency_id for s in short.steps] == ["c"]
    assert [l.competency_id for l in short.nearest_locked] == ["e"]
    # mastering b moves it out and d nearer
    ok(client.submit(evidence("e4", "s1", "b", 1.0, now - 500)))
    ns = ok(next_steps(client, "s1")).next_steps
    assert [s.competency_id for s in ns.steps] == ["c", "f"]
    assert [(l.competency_id, l.missing) for l in ns.nearest_locked] == [("d", 1), ("e", 1)]
    # deterministic: the same question twice, the same answer
    again = ok(next_steps(client, "s1")).next_steps
    assert [s.SerializeToString() for s in again.steps] == [s.SerializeToString() for s in ns.steps]
    print("\nnext: " + ", ".join(f"{s.rank}. {s.competency_id} ({'; '.join(s.reasons)})"
                                 for s in ns.steps))


def test_next_and_explain_bad_input(client):
    put(client, GRAPH)
    ok(client.submit(evidence("e1", "s1", "a", 0.9)))
    cases = [
        (next_steps(client, "nobody"), pb.STATUS_NOT_FOUND, "next.learner_id"),
        (next_steps(client, ""), pb.STATUS_INVALID, "next.learner_id"),
        (next_steps(client, "s1", framework_id="urn:nope"), pb.STATUS_NOT_FOUND,
         "next.framework_id"),
        (next_steps(client, "s1", limit=1001), pb.STATUS_INVALID, "next.limit"),
        (next_steps(client, "s1", locked_limit=5000), pb.STATUS_INVALID, "next.locked_limit"),
        (explain(client, "nobody", "a"), pb.STATUS_NOT_FOUND, "explain.learner_id"),
        (explain(client, "s1", "zzz"), pb.STATUS_NOT_FOUND, "explain.competency_id"),
        (explain(client, "s1", "a", "urn:nope"), pb.STATUS_NOT_FOUND, "explain.framework_id"),
        (explain(client, "s1", "frac.equivalent", FW), pb.STATUS_NOT_FOUND,
         "explain.competency_id"),
        (explain(client, "s1", ""), pb.STATUS_INVALID, "explain.competency_id"),
        (explain(client, "x" * 300, "a"), pb.STATUS_INVALID, "explain.learner_id"),
    ]
    for rep, code, field in cases:
        assert (rep.status.code, rep.status.field) == (code, field), rep.status
        assert rep.status.message
    # the learner id is not echoed in the error (it is personal data; the field names it)
    rep = explain(client, "secret-learner-77", "a")
    assert "secret-learner-77" not in rep.status.message


RULES = [
    {"method": "latest", "threshold": 0.7},
    {"method": "highest", "threshold": 0.9, "min_evidence": 2},
    {"method": "average", "threshold": 0.6, "min_evidence": 3},
    {"method": "weighted_average", "weight": 0.5, "threshold": 0.75},
    {"method": "decaying_average", "weight": 0.3, "threshold": 0.7},
    {"method": "n_mastery", "n": 2, "threshold": 0.8},
    {"method": "bkt", "p_init": 0.1, "p_transit": 0.2, "p_guess": 0.25, "p_slip": 0.1,
     "p_forget": 0.05, "threshold": 0.9, "correct_at": 0.6},
    {"method": "bkt"},
]


def test_explain_agrees_with_the_stored_state_for_every_rule(client):
    """Explain's score is computed by the evaluator that decided the state: for random evidence
    sequences (out of order, weights, outcomes, retractions) and every rule, its score, verdict
    and count equal the stored state's, the contributions sum to the score (linear rules), and
    BKT's steps chain from p_init to the score."""
    comps = [{"id": f"r{i}", "title": f"Rule {i}", "rule": r} for i, r in enumerate(RULES)]
    comps.append({"id": "kids", "title": "Kids", "rule": {"method": "children",
                                                          "of": ["r0", "r1"], "at_least": 1}})
    put(client, {"id": "urn:test:rules", "title": "Rules", "competencies": comps})
    rnd = random.Random(15)
    base = int(time.time() * 1000) - 30 * DAY
    learners = [f"L{i}" for i in range(25)]
    n = 0
    for learner in learners:
        for i in range(len(RULES)):
            items = []
            for _ in range(rnd.randint(0, 9)):
                n += 1
                kw = {}
                if rnd.random() < 0.3:
                    kw["outcome"] = rnd.choice([pb.OUTCOME_PASSED, pb.OUTCOME_FAILED])
                if rnd.random() < 0.3:
                    kw["weight"], kw["weight_set"] = rnd.choice([0.5, 2.0, 3.0]), True
                items.append(evidence(f"x{n}", learner, f"r{i}", round(rnd.random(), 3),
                                      base + rnd.randint(0, 20 * DAY), observed_at_set=True,
                                      source="gen", **kw))
            if items:
                rep = ok(client.submit(*items))
                assert all(s.status.code == pb.STATUS_OK for s in rep.evidence_results.items)
        for eid in rnd.sample(range(1, n + 1), 2):
            client.call(retract_evidence=pb.RetractEvidence(evidence_id=f"x{eid}", source="gen",
                                                            reason="test"))
    checked = 0
    for learner in learners:
        st = {c.competency_id: c for fw in client.learner(learner, "urn:test:rules").learner.frameworks
              for c in fw.competencies}
        for cid in [f"r{i}" for i in range(len(RULES))] + ["kids"]:
            x = ok(explain(client, learner, cid)).explanation
            s = st[cid]
            assert x.state == s
            assert x.score == s.score, (learner, cid, x.score, s.score)
            assert x.rule_met == s.rule_met, (learner, cid)
            if cid == "kids":
                assert [p.competency_id for p in x.children] == ["r0", "r1"]
                continue
            assert x.counted == s.evidence_count
            counted = [i for i in x.items if i.counted]
            assert len(counted) == x.counted
            assert all(i.evidence_id.startswith("x") and i.source == "gen" for i in x.items)
            assert [i.observed_at_ms for i in x.items] == sorted(i.observed_at_ms for i in x.items)
            if counted:
                assert abs(counted[-1].score_after - x.score) < 1e-12
            if x.method == "bkt":
                rule = json.loads(x.rule_json)
                p = rule["p_init"]
                for i in counted:
                    assert i.p_before == p and math.isnan(i.coefficient)
                    p = i.score_after
            elif counted:
                total = sum(i.contribution for i in counted)
                assert abs(total - x.score) < 1e-9, (cid, total, x.score)
            for i in x.items:
                if not i.counted:
                    assert i.not_counted == "retracted" and math.isnan(i.score_after)
            checked += 1
    assert checked >= 150
    print(f"\nexplain: {checked} (learner, rule) pairs agree with the stored state, "
          f"{n} evidence items")


def test_explain_override_withdrawal_prerequisites(client, daemon):
    put(client, GRAPH)
    t0 = int(time.time() * 1000) - 10000
    ok(client.submit(evidence("e1", "s1", "a", 0.9, t0, narrative="fluent at the board")))
    ok(client.call(override=pb.Override(learner_id="s1", framework_id=FW, competency_id="b",
                                        mastered=True, reason="oral exam", actor="ms.lee")))
    x = ok(explain(client, "s1", "b")).explanation
    assert x.overridden and x.override_granted and x.override_actor == "ms.lee"
    assert x.override_reason == "oral exam" and x.override_at_ms > 0
    assert x.state.status == pb.MASTERED and "override" in x.summary
    assert [(p.competency_id, p.status) for p in x.prerequisites] == [("a", pb.MASTERED)]
    assert x.requires_kind == "all" and x.requires_k == 1
    a = ok(explain(client, "s1", "a")).explanation
    assert a.items[0].narrative == "fluent at the board" and a.items[0].evidence_id == "e1"
    # withdraw a: the earlier item stops counting, named as such
    ok(client.call(override=pb.Override(learner_id="s1", framework_id=FW, competency_id="a",
                                        mastered=False, reason="copied", actor="ms.lee")))
    a = ok(explain(client, "s1", "a")).explanation
    assert a.withdrawn and not a.override_granted and a.state.status == pb.UNLOCKED
    assert not a.items[0].counted and "withdrawal" in a.items[0].not_counted
    assert a.counted == 0 and a.score == 0 and "withdrawn" in a.summary
    # a locked one says how many prerequisites it still needs
    d = ok(explain(client, "s1", "d")).explanation
    assert d.state.status == pb.LOCKED and d.summary.startswith("locked: 1 of the 2")
    # survives a restart (the override record is stored, not in memory)
    daemon.stop()
    daemon.start()
    c2 = Client(daemon.endpoint)
    x = ok(explain(c2, "s1", "b")).explanation
    assert x.override_actor == "ms.lee" and x.override_reason == "oral exam"
    c2.close()


def test_masteryctl_next_and_explain(daemon, client):
    put(client, GRAPH)
    ok(client.submit(evidence("e1", "s1", "a", 0.9), evidence("e2", "s1", "c", 0.5)))
    r = ctl(daemon, "learner", "next", "s1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [s["competency"] for s in doc["steps"]] == ["b", "f", "c"]
    assert doc["steps"][2]["items_needed"] == 2 and doc["steps"][2]["min_next_score"] is None
    r = ctl(daemon, "learner", "next", "s1")
    assert r.returncode == 0 and "1. LEARN  b" in r.stdout, r.stdout
    r = ctl(daemon, "learner", "explain", "s1", "c", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["rule"] == {"method": "average", "threshold": 0.8, "min_evidence": 2}
    assert doc["items"][0]["id"] == "e2" and doc["items"][0]["contribution"] == 0.5
    r = ctl(daemon, "learner", "explain", "s1", "c")
    assert r.returncode == 0 and "unlocked: 1 of the 2 items min_evidence asks for" in r.stdout
    r = ctl(daemon, "learner", "explain", "s1", "nope")
    assert r.returncode == 1 and "explain.competency_id" in r.stderr


def test_python_client_next_and_explain(daemon, client):
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))
    from masteryd_client import Client as PyClient, NotFoundError
    put(client, GRAPH)
    ok(client.submit(evidence("e1", "s1", "a", 0.9)))
    with PyClient(daemon.endpoint) as md:
        n = md.next_steps("s1", framework=FW)
        assert [s.competency for s in n.steps] == ["b", "f", "c"]  # c needs 2 items
        assert n.steps[0].items_needed == 1 and n.steps[0].kind == "learn"
        x = md.explain("s1", "a")
        assert x.state.mastered and x.rule == {"method": "latest", "threshold": 0.8,
                                               "min_evidence": 1}
        assert x.items[0].evidence_id == "e1" and x.items[0].coefficient == 1.0
        with pytest.raises(NotFoundError):
            md.explain("s1", "zzz")


CLIENTS = [("quiz", "tool", "urn:example:math:fractions-g5"),
           ("geo", "tool", "urn:example:geometry"),
           ("oth", "tool", "urn:example:other"),
           ("ms-lee", "teacher", None),
           ("admin", "admin", None),
           ("inspector", "auditor", None)]


def test_roles_and_scopes(tmp_path):
    school = School(tmp_path, CLIENTS)
    school.start()
    try:
        school.load_frameworks()
        quiz = school.client("quiz")
        geo = school.client("geo")
        ok(quiz.submit(evidence("q1", "s-9", "frac.equivalent", 0.9, narrative="private note"),
                       evidence("q2", "s-9", "frac.equivalent", 0.95)))
        ok(geo.submit(evidence("g1", "s-9", "geo.angles", 0.4)))
        # a tool inside its scope: Next over its frameworks only, Explain without ids/narrative
        n = ok(next_steps(quiz, "s-9")).next_steps
        assert n.steps and {s.framework_id for s in n.steps} == {"urn:example:math:fractions-g5"}
        x = ok(explain(quiz, "s-9", "frac.equivalent")).explanation
        assert x.items_redacted and len(x.items) == 2
        assert all(i.evidence_id == "" and i.narrative == "" and i.source == "" for i in x.items)
        assert x.score == x.state.score and x.items[1].contribution > 0
        # outside its scope: FORBIDDEN naming the field
        rep = next_steps(quiz, "s-9", framework_id="urn:example:geometry")
        assert (rep.status.code, rep.status.field) == (pb.STATUS_FORBIDDEN, "next.framework_id")
        rep = explain(quiz, "s-9", "geo.angles")
        assert (rep.status.code, rep.status.field) == (pb.STATUS_FORBIDDEN, "explain.framework_id")
        rep = explain(geo, "s-9", "frac.equivalent")
        assert rep.status.code == pb.STATUS_FORBIDDEN
        # readers of learners get everything
        for name in ("ms-lee", "inspector", "admin"):
            c = school.client(name)
            x = ok(explain(c, "s-9", "frac.equivalent")).explanation
            # items observed in the same millisecond are ordered by their sealed id's keyed hash
            q1 = [i for i in x.items if i.evidence_id == "q1"]
            assert not x.items_redacted and len(q1) == 1
            assert q1[0].narrative == "private note" and q1[0].source == "quiz"
            n = ok(next_steps(c, "s-9")).next_steps
            assert {s.framework_id for s in n.steps} == {"urn:example:math:fractions-g5",
                                                          "urn:example:geometry"}
            c.close()
        quiz.close()
        geo.close()
        # a competency in two frameworks: a tool is explained the one in its scope
        admin = school.client("admin")
        ok(admin.call(put_framework=pb.PutFramework(json=json.dumps(
            {"id": "urn:example:other", "title": "Other", "competencies": [
                {"id": "frac.equivalent", "title": "Equivalent fractions, again"}]}))))
        admin.close()
        oth = school.client("oth")
        x = ok(explain(oth, "s-9", "frac.equivalent")).explanation
        assert x.framework_id == "urn:example:other" and x.items_redacted
        oth.close()
        # refusals are logged (who, which framework), and no learner id ever is
        school.wait_log(r"FORBIDDEN: quiz next: framework urn:example:geometry outside its scope")
        school.wait_log(r"FORBIDDEN: geo explain: framework urn:example:math:fractions-g5 outside")
        assert not any("s-9" in line for line in school.daemon.log), "a learner id was logged"
    finally:
        assert school.daemon.stop() == 0
