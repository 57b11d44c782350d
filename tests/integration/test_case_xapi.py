"""CASE import and xAPI evidence through masteryctl against the real daemon.

CASE: an OpenSALT vector package and our precedes chain import (summary, warnings, metadata,
gates that really lock), a precedes cycle is refused with its ids. xAPI: every score path,
every learner identification path, every "not mapped" reason counted, a replayed statement
counted once (DUPLICATE), a voiding statement retracting evidence and the learner's state
re-evaluated, CASE item URIs matching imported competencies, and `xapi follow` as a bridge.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BIN, SRC, ctl, pb, states

VECTORS = os.environ.get("MASTERY_VECTORS", os.path.join(SRC, "tests", "vectors"))
CASE_DATA = os.path.join(SRC, "tests", "data", "case")
ADL = "http://adlnet.gov/expapi/verbs/"
CHAIN_DOC = "d1000000-0000-4000-8000-000000000001"


def item(n):
    return "c1000000-0000-4000-8000-%012d" % n


STRAND, COUNT, ADD, SUB, PLACE = item(1), item(2), item(3), item(4), item(5)
CHAIN_URI = "https://case.example.org/ims/case/v1p0/CFItems/"

# A small framework for the xAPI tests: "avg" averages (so a retraction visibly changes the
# score), "gate" is locked until "avg" is mastered.
XFW = {"id": "urn:test:xapi", "title": "xAPI test", "competencies": [
    {"id": "avg", "title": "Averaged", "rule": {"method": "average", "threshold": 0.8,
                                                "min_evidence": 1}},
    {"id": "latest", "title": "Latest", "source_uri": "https://case.example.org/items/L1"},
    {"id": "gate", "title": "Gated", "requires": {"all": ["avg"]}},
]}

MAPPING = {
    "verbs": {ADL + "passed": {}, ADL + "failed": {}, ADL + "scored": {},
              ADL + "completed": {}, ADL + "mastered": {"score": 1}},
    "activities": {"https://quiz.example/avg": "avg", "https://quiz.example/latest": "latest",
                   "https://course.example/fractions": "latest"},
    "learners": {
        "lookup": {"mailto:dan@parents.example": "s-dan",
                   "e9ab820dd0bb2c826acdaf1f8ca18c346c4b3d14": "s-cara",
                   "https://lms.other.example|77": "s-77"},
        "account": [{"homePage": "https://lms.school.example", "use": "name"}],
        "mbox": "local_part", "mbox_domains": ["school.example"], "openid": "as_is"},
    "source": "test-lrs",
}


def stmt(sid, learner="ann", verb="scored", obj="https://quiz.example/avg", result=None,
         ts="2026-11-20T10:00:00Z", actor=None, **extra):
    s = {"id": sid,
         "actor": actor or {"objectType": "Agent",
                            "account": {"homePage": "https://lms.school.example",
                                        "name": learner}},
         "verb": {"id": ADL + verb, "display": {"en-US": verb}},
         "object": {"objectType": "Activity", "id": obj}}
    if result is not None:
        s["result"] = result
    if ts is not None:
        s["timestamp"] = ts
    s.update(extra)
    return s


def void(sid, target):
    return {"id": sid, "actor": {"mbox": "mailto:teacher@school.example"},
            "verb": {"id": ADL + "voided"},
            "object": {"objectType": "StatementRef", "id": target},
            "timestamp": "2026-11-21T08:00:00Z"}


@pytest.fixture
def xenv(daemon, client, tmp_path):
    rep = client.call(put_framework=pb.PutFramework(json=json.dumps(XFW)))
    assert rep.status.code == 0, rep.status
    mp = tmp_path / "map.json"
    mp.write_text(json.dumps(MAPPING))
    return daemon, client, tmp_path, str(mp)


def xapi_import(daemon, tmp_path, statements, mapping, as_array=False, name="st"):
    path = tmp_path / (name + (".json" if as_array else ".jsonl"))
    if as_array:
        path.write_text(json.dumps(statements, indent=1))
    else:
        path.write_text("".join((s if isinstance(s, str) else json.dumps(s)) + "\n"
                                for s in statements))
    r = ctl(daemon, "--json", "xapi", "import", str(path), "--mapping", mapping)
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert lines, r.stderr
    return r, lines[-1], lines[:-1]


def evidence_of(client, learner, competency=""):
    rep = client.call(list_evidence=pb.ListEvidence(learner_id=learner,
                                                    competency_id=competency))
    assert rep.status.code == 0, rep.status
    return {e.evidence_id: e for e in rep.evidence.items}


# ---- xAPI -----------------------------------------------------------------------------------

def test_xapi_score_paths(xenv):
    daemon, client, tmp, mp = xenv
    sts = [
        stmt("sc-scaled", result={"score": {"scaled": 0.85, "raw": 1, "min": 0, "max": 20},
                                  "success": True}),
        stmt("sc-raw", result={"score": {"raw": 7, "min": 2, "max": 12}}),
        stmt("sc-success", verb="failed", result={"success": False, "score": {"raw": 3}}),
        stmt("sc-default", verb="mastered", obj="https://quiz.example/latest"),
        stmt("sc-negative", result={"score": {"scaled": -0.4}}),
    ]
    r, summary, reports = xapi_import(daemon, tmp, sts, mp)
    assert r.returncode == 0, r.stderr
    assert summary["statements"] == 5 and summary["evidence"] == 5
    assert summary["accepted"] == 5 and summary["warnings"] == 1
    assert [x["code"] for x in reports] == ["warning"]
    assert "negative" in reports[0]["message"] and reports[0]["statement"] == 4
    ev = evidence_of(client, "ann")
    assert ev["sc-scaled"].score == pytest.approx(0.85)
    assert ev["sc-scaled"].outcome == pb.OUTCOME_PASSED
    assert ev["sc-raw"].score == pytest.approx(0.5)
    assert ev["sc-raw"].outcome == pb.OUTCOME_UNSPECIFIED
    assert ev["sc-success"].score == 0 and ev["sc-success"].outcome == pb.OUTCOME_FAILED
    assert ev["sc-default"].score == 1 and ev["sc-default"].competency_id == "latest"
    assert ev["sc-negative"].score == 0
    assert ev["sc-scaled"].source == "test-lrs"
    assert ev["sc-scaled"].observed_at_ms == 1795168800000  # 2026-11-20T10:00:00Z


def test_xapi_learner_paths(xenv):
    daemon, client, tmp, mp = xenv
    actors = {
        "lp-account": {"account": {"homePage": "https://lms.school.example", "name": "s-1001"}},
        "lp-lookup-account": {"account": {"homePage": "https://lms.other.example",
                                          "name": "77"}},
        "lp-mbox-local": {"mbox": "mailto:bea@School.Example"},
        "lp-mbox-lookup": {"mbox": "mailto:dan@parents.example"},
        "lp-sha1": {"mbox_sha1sum": "E9AB820DD0BB2C826ACDAF1F8CA18C346C4B3D14"},
        "lp-openid": {"openid": "https://id.school.example/eve"},
        "lp-unknown-mbox": {"mbox": "mailto:zed@elsewhere.example"},
        "lp-other-account": {"account": {"homePage": "https://lms.other.example",
                                         "name": "78"}},
        "lp-group": {"objectType": "Group", "member": [{"mbox": "mailto:a@school.example"}]},
    }
    sts = [stmt(k, actor=a, result={"score": {"scaled": 0.9}}) for k, a in actors.items()]
    r, summary, reports = xapi_import(daemon, tmp, sts, mp, as_array=True)
    assert r.returncode == 0, r.stderr  # not mapped by design is not a failure
    assert summary["evidence"] == 6 and summary["accepted"] == 6
    assert summary["not_mapped"]["no_learner"] == 3
    assert sorted(x["id"] for x in reports) == ["lp-group", "lp-other-account",
                                                 "lp-unknown-mbox"]
    assert {x["statement"] for x in reports} == {6, 7, 8}
    assert all("line" not in x for x in reports)  # an array has indexes, not lines
    expected = {"s-1001": "lp-account", "s-77": "lp-lookup-account", "bea": "lp-mbox-local",
                "s-dan": "lp-mbox-lookup", "s-cara": "lp-sha1",
                "https://id.school.example/eve": "lp-openid"}
    for learner, sid in expected.items():
        assert list(evidence_of(client, learner)) == [sid], learner


def test_xapi_unmapped_reasons_counted(xenv):
    daemon, client, tmp, mp = xenv
    sts = [
        stmt("um-ok", result={"success": True}),
        stmt("um-verb", verb="experienced"),
        stmt("um-verb2", verb="launched"),
        stmt("um-comp", obj="https://quiz.example/unknown", result={"success": True}),
        stmt("um-context", obj="https://quiz.example/unknown/q1", result={"success": True},
             context={"contextActivities": {"grouping": [
                 {"id": "https://course.example/fractions"}]}}),
        stmt("um-learner", actor={"name": "anonymous"}, result={"success": True}),
        stmt("um-score", verb="completed", result={"completion": True}),
        stmt("um-scaled", result={"score": {"scaled": 1.5}}),
        "{\"id\": \"broken\", ",
        stmt("um-time", ts="yesterday", result={"success": True}),
    ]
    r, summary, reports = xapi_import(daemon, tmp, sts, mp)
    assert r.returncode == 1, r.stderr  # malformed statements fail the import
    assert summary["statements"] == 10
    assert summary["evidence"] == 2 and summary["accepted"] == 2
    assert summary["not_mapped"] == {"verb_not_mapped": 2, "no_competency": 1,
                                     "no_learner": 1, "no_score": 1, "malformed": 3,
                                     "not_completed": 0}
    by_index = {x["statement"]: x for x in reports}
    assert by_index[7]["code"] == "malformed" and by_index[7]["field"] == "result.score.scaled"
    assert by_index[8]["code"] == "malformed" and by_index[8]["line"] == 9
    assert by_index[8]["id"] is None and "not JSON" in by_index[8]["message"]
    assert by_index[9]["field"] == "timestamp"
    assert by_index[3]["code"] == "no_competency"
    # the question inside the mapped course counted for the course's competency
    assert evidence_of(client, "ann")["um-context"].competency_id == "latest"
    # text mode: the same report on stderr, the summary on stdout
    r = ctl(daemon, "xapi", "import", str(tmp / "st.jsonl"), "--mapping", mp)
    assert r.returncode == 1
    assert "statement 7 (line 8): malformed result.score.scaled: scaled 1.5 is outside -1..1" \
        in r.stderr
    assert "2 verb_not_mapped, 1 no_competency, 1 no_learner, 1 no_score, 3 malformed" \
        in r.stdout
    assert "2 duplicates" in r.stdout


def test_xapi_replay_counted_once(xenv):
    daemon, client, tmp, mp = xenv
    sts = [stmt("rp-%d" % i, result={"score": {"scaled": 0.5 + i / 10}},
                ts="2026-11-20T10:0%d:00Z" % i) for i in range(3)]
    sts.append(sts[1])  # replayed within the file
    r, summary, _ = xapi_import(daemon, tmp, sts, mp)
    assert r.returncode == 0, r.stderr
    assert (summary["accepted"], summary["duplicates"]) == (3, 1)
    r, summary, _ = xapi_import(daemon, tmp, sts, mp)  # the whole export replayed
    assert (summary["accepted"], summary["duplicates"]) == (0, 4)
    assert len(evidence_of(client, "ann")) == 3
    c = client.learner("ann", "urn:test:xapi").learner.frameworks[0].competencies
    avg = [x for x in c if x.competency_id == "avg"][0]
    assert avg.evidence_count == 3 and avg.score == pytest.approx(0.6)


def test_xapi_voiding_retracts_and_reevaluates(xenv):
    daemon, client, tmp, mp = xenv
    # avg = (0.2 + 0.9) / 2 = 0.55: not mastered, gate locked
    sts = [stmt("vd-low", result={"score": {"scaled": 0.2}}, ts="2026-11-20T10:00:00Z"),
           stmt("vd-high", result={"score": {"scaled": 0.9}}, ts="2026-11-20T10:05:00Z")]
    r, summary, _ = xapi_import(daemon, tmp, sts, mp, name="before")
    assert summary["accepted"] == 2
    st = states(client.learner("ann", "urn:test:xapi"))
    assert st["avg"] == ("UNLOCKED", pytest.approx(0.55)) and st["gate"][0] == "LOCKED"
    # the teacher voids the low score: only 0.9 counts, the rule is met, the gate unlocks
    r, summary, reports = xapi_import(daemon, tmp, [void("vd-void", "vd-low"),
                                                    void("vd-void-missing", "no-such")], mp,
                                      name="void")
    assert r.returncode == 0, r.stderr
    assert (summary["retractions"], summary["retracted"], summary["retract_not_found"]) == \
        (2, 1, 1)
    assert [x["id"] for x in reports] == ["vd-void-missing"]
    assert reports[0]["code"] == "NOT_FOUND"
    st = states(client.learner("ann", "urn:test:xapi"))
    assert st["avg"] == ("MASTERED", pytest.approx(0.9))
    assert st["gate"][0] == "UNLOCKED"
    ev = evidence_of(client, "ann")
    assert ev["vd-low"].retracted and not ev["vd-high"].retracted
    # voiding again is idempotent
    r, summary, _ = xapi_import(daemon, tmp, [void("vd-void", "vd-low")], mp, name="again")
    assert r.returncode == 0 and summary["retracted"] == 1


def test_xapi_void_after_evidence_in_one_file(xenv):
    daemon, client, tmp, mp = xenv
    # the voided statement is in the same batch window: it must be stored first
    sts = [stmt("same-%d" % i, result={"score": {"scaled": 0.3}}) for i in range(5)]
    sts.append(void("same-void", "same-4"))
    r, summary, _ = xapi_import(daemon, tmp, sts, mp)
    assert r.returncode == 0, r.stderr
    assert summary["accepted"] == 5 and summary["retracted"] == 1
    assert evidence_of(client, "ann")["same-4"].retracted


def test_xapi_lrs_statement_result(xenv):
    """An LRS answer to GET /statements ({"statements": [...], "more": ...}) imports as is."""
    daemon, client, tmp, mp = xenv
    sts = [stmt("sr-%d" % i, result={"score": {"scaled": 0.9}}) for i in range(3)]
    for name, text in (("pretty", json.dumps({"statements": sts, "more": "/xapi/statements?"
                                              "more=abc"}, indent=2)),
                       ("compact", json.dumps({"statements": sts[:2], "more": ""}))):
        path = tmp / (name + ".json")
        path.write_text(text)
        r = ctl(daemon, "--json", "xapi", "import", str(path), "--mapping", mp)
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout.splitlines()[-1])
        assert summary["statements"] == (3 if name == "pretty" else 2)
        assert summary["accepted"] + summary["duplicates"] == summary["statements"]
        assert summary.get("more", "") == ("/xapi/statements?more=abc" if name == "pretty"
                                           else "")
    assert sorted(evidence_of(client, "ann")) == ["sr-0", "sr-1", "sr-2"]
    bad = tmp / "unclosed.json"
    bad.write_text(json.dumps({"statements": sts[:1]})[:-1])
    r = ctl(daemon, "--json", "xapi", "import", str(bad), "--mapping", mp)
    assert r.returncode == 1
    assert "not closed" in r.stdout.splitlines()[0]


def test_xapi_follow_bridge(xenv):
    daemon, client, tmp, mp = xenv
    cmd = [os.path.join(BIN, "masteryctl"), "-e", daemon.endpoint, "--json", "xapi", "follow",
           "--mapping", mp]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write(json.dumps(stmt("fl-1", result={"success": True})) + "\n")
        p.stdin.flush()
        deadline = time.time() + 10  # sent on the flush timer, while the pipe stays open
        while time.time() < deadline and "fl-1" not in evidence_of(client, "ann"):
            time.sleep(0.05)
        assert "fl-1" in evidence_of(client, "ann")
        p.stdin.write(json.dumps(stmt("fl-2", result={"success": False})) + "\n")
        p.stdin.flush()
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["statements"] == 2 and summary["accepted"] == 2


def test_xapi_bad_mapping_is_a_usage_error(xenv):
    daemon, client, tmp, mp = xenv
    bad = tmp / "bad.json"
    bad.write_text(json.dumps({"learner": {}}))
    (tmp / "s.jsonl").write_text("")
    r = ctl(daemon, "xapi", "import", str(tmp / "s.jsonl"), "--mapping", str(bad))
    assert r.returncode == 2 and "unknown key 'learner'" in r.stderr
    r = ctl(daemon, "xapi", "import", str(tmp / "s.jsonl"))
    assert r.returncode == 2 and "--mapping" in r.stderr


# ---- CASE -----------------------------------------------------------------------------------

def import_case(daemon, path, *args):
    return ctl(daemon, "--json", "framework", "import-case", path, *args)


def test_import_case_vector(daemon, client):
    r = import_case(daemon, os.path.join(VECTORS, "case", "SmartLevelFramework.json"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["framework"] == "d0000000-0000-0000-0000-000000000000"
    assert out["competency_count"] == 14 and out["revision"] == 1
    assert "14 items (2 top-level), 2 parents with 12 children" in out["summary"]
    assert out["warnings"] == []
    doc = json.loads(ctl(daemon, "--json", "framework", "show", out["framework"]).stdout)
    one = [c for c in doc["competencies"]
           if c["id"] == "00000000-0000-0000-0000-000000000001"][0]
    assert one["rule"]["method"] == "children" and len(one["rule"]["of"]) == 10
    assert one["metadata"]["case"]["alignment_target_type"] == "CFItem"
    assert one["source_uri"].endswith("/CFItems/00000000-0000-0000-0000-000000000001")
    # text mode prints the summary line
    r = ctl(daemon, "framework", "import-case",
            os.path.join(VECTORS, "case", "SequenceNumberFramework.json"), "--id", "urn:seq")
    assert r.returncode == 0, r.stderr
    assert "imported urn:seq revision 1: 2 competencies" in r.stdout


def test_import_case_chain_gates(daemon, client):
    path = os.path.join(CASE_DATA, "precedes-chain.json")
    r = import_case(daemon, path, "--rule", "*=latest:0.7", "--rule", STRAND + "=children")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["framework"] == CHAIN_DOC and out["competency_count"] == 5
    assert "4 gates (precedes); kept 2 exactMatchOf, 1 isRelatedTo" in out["summary"]
    assert len(out["warnings"]) == 2 and all("outside the package" in w
                                             for w in out["warnings"])
    st = states(client.learner("kim", CHAIN_DOC))
    assert st[COUNT][0] == "UNLOCKED" and st[PLACE][0] == "LOCKED" and st[SUB][0] == "LOCKED"
    # count -> place -> add; sub needs add and place
    for i, comp in enumerate([COUNT, PLACE, ADD, SUB]):
        rep = client.submit(pb.Evidence(evidence_id="ch-%d" % i, learner_id="kim",
                                        competency_id=comp, score=0.75,
                                        observed_at_ms=1795168800000 + i))
        assert rep.evidence_results.items[0].status.code == 0
    st = states(client.learner("kim", CHAIN_DOC))
    assert all(st[c][0] == "MASTERED" for c in (COUNT, PLACE, ADD, SUB, STRAND)), st
    # --gate none: a new revision without prerequisites
    r = import_case(daemon, path, "--gate", "none")
    assert r.returncode == 0 and json.loads(r.stdout)["revision"] == 2
    st = states(client.learner("lee", CHAIN_DOC))
    assert st[SUB][0] == "UNLOCKED"


def test_import_case_refusals(daemon):
    r = ctl(daemon, "framework", "import-case", os.path.join(CASE_DATA, "precedes-cycle.json"))
    assert r.returncode == 1
    assert "precedes cycle: c2000000-0000-4000-8000-000000000001 -> " \
           "c2000000-0000-4000-8000-000000000002 -> c2000000-0000-4000-8000-000000000003 -> " \
           "c2000000-0000-4000-8000-000000000001" in r.stderr
    r = ctl(daemon, "framework", "import-case", os.path.join(CASE_DATA, "no-document.json"))
    assert r.returncode == 1 and "no CFDocument" in r.stderr
    r = ctl(daemon, "framework", "import-case", os.path.join(CASE_DATA, "precedes-chain.json"),
            "--rule", COUNT + "=children")
    assert r.returncode == 1 and "has no children" in r.stderr
    r = ctl(daemon, "framework", "import-case", os.path.join(CASE_DATA, "precedes-chain.json"),
            "--gate", "maybe")
    assert r.returncode == 2
    assert "FRAMEWORK" in ctl(daemon, "framework", "list").stdout  # the header, nothing loaded
    assert CHAIN_DOC not in ctl(daemon, "framework", "list").stdout


def test_import_case_quirks_warn(daemon):
    r = import_case(daemon, os.path.join(CASE_DATA, "quirks.json"))
    assert r.returncode == 0, r.stderr
    w = "\n".join(json.loads(r.stdout)["warnings"])
    assert "has no time zone" in w and "did you mean 'humanCodingScheme'" in w
    assert "is a string: read as 2" in w and "ELA.K.W.1 lies outside the package" in w


def test_xapi_case_item_uris(daemon, client, tmp_path):
    r = import_case(daemon, os.path.join(CASE_DATA, "precedes-chain.json"))
    assert r.returncode == 0, r.stderr
    mp = tmp_path / "map.json"
    mp.write_text(json.dumps({"frameworks": [CHAIN_DOC]}))
    sts = [stmt("ci-1", learner="kim", obj=CHAIN_URI + COUNT, result={"success": True}),
           stmt("ci-2", learner="kim", obj="https://bank.example/q/9", result={"success": True},
                context={"contextActivities": {"other": [{"id": CHAIN_URI + PLACE}]}})]
    r, summary, _ = xapi_import(daemon, tmp_path, sts, str(mp))
    assert r.returncode == 0, r.stderr
    assert summary["case_uris"] == 5 and summary["accepted"] == 2
    ev = evidence_of(client, "kim")
    assert ev["ci-1"].competency_id == COUNT and ev["ci-2"].competency_id == PLACE
