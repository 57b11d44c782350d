"""The mapping example in clients/XAPI.md, read from the page as it is written, run against the
shipped schemas/examples/fractions.json: every kind of learner rule and activity lookup it
shows, the verb default score, and the not-completed and failed statements of issue 18."""
import json
import os
import re

from conftest import EXAMPLES, SRC, ctl, pb

ADL = "http://adlnet.gov/expapi/verbs/"
FRACTIONS = os.path.join(EXAMPLES, "fractions.json")


def example_mapping():
    with open(os.path.join(SRC, "clients", "XAPI.md")) as f:
        page = f.read()
    section = page[page.index("## The mapping file"):]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block, "no JSON example under 'The mapping file'"
    return block.group(1)


def stmt(sid, actor, verb, obj, result=None, context=None):
    s = {"id": sid, "actor": actor, "verb": {"id": ADL + verb},
         "object": {"objectType": "Activity", "id": obj},
         "timestamp": "2026-11-20T10:%02d:00Z" % (len(sid) % 60)}
    if result is not None:
        s["result"] = result
    if context is not None:
        s["context"] = context
    return s


def account(home, name):
    return {"objectType": "Agent", "account": {"homePage": home, "name": name}}


def test_the_xapi_md_mapping_example_runs_as_written(daemon, client, tmp_path):
    r = ctl(daemon, "framework", "load", FRACTIONS)
    assert r.returncode == 0, r.stdout + r.stderr
    mapping = tmp_path / "xapi-map.json"
    mapping.write_text(example_mapping())
    json.loads(mapping.read_text())  # the page's example is valid JSON
    lms, sims = "https://lms.school.example", "https://sims.example.org"
    quiz = "https://lms.school.example/quiz/77"
    unit = "https://lms.school.example/unit/adding-like"
    case_equivalent = "http://corestandards.org/Math/Content/4/NF/A/1"  # frac.equivalent's URI
    sts = [
        # an account on the school's LMS: the account name is the learner
        stmt("ex-account", account(lms, "s-1001"), "passed", quiz,
             {"score": {"scaled": 0.92}, "success": True}),
        # a parent's address from the lookup table; the verb's default score; a CASE item URI
        # found through "frameworks"
        stmt("ex-lookup", {"mbox": "mailto:dan.o@parents.example"}, "mastered", case_equivalent),
        # a school address: its local part; a question inside a mapped unit (parent)
        stmt("ex-mbox", {"mbox": "mailto:bea@school.example"}, "scored", unit + "/q3",
             {"score": {"raw": 8, "min": 0, "max": 10}},
             {"contextActivities": {"parent": [{"id": unit}]}}),
        # a second account rule with its prefix; success false: failed, score 0
        stmt("ex-prefix", account(sims, "42"), "completed", quiz, {"success": False}),
        # completion false under "completed": not evidence ("incomplete": "skip")
        stmt("ex-incomplete", account(lms, "s-1001"), "completed", quiz, {"completion": False}),
        # an address on another domain: no learner ("mbox_domains")
        stmt("ex-domain", {"mbox": "mailto:eve@elsewhere.example"}, "passed", quiz,
             {"success": True}),
        # a verb the mapping does not list
        stmt("ex-verb", account(lms, "s-1001"), "experienced", quiz),
    ]
    path = tmp_path / "statements.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in sts))
    r = ctl(daemon, "--json", "xapi", "import", str(path), "--mapping", str(mapping))
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["evidence"] == 4 and summary["accepted"] == 4, summary
    assert summary["not_mapped"] == {"verb_not_mapped": 1, "no_competency": 0, "no_learner": 1,
                                     "no_score": 0, "malformed": 0, "not_completed": 1}

    def one(learner):
        rep = client.call(list_evidence=pb.ListEvidence(learner_id=learner))
        assert rep.status.code == pb.STATUS_OK and len(rep.evidence.items) == 1, learner
        e = rep.evidence.items[0]
        assert e.source == "lrs-east"
        return e.evidence_id, e.competency_id, round(e.score, 9), e.outcome

    assert one("s-1001") == ("ex-account", "frac.equivalent", 0.92, pb.OUTCOME_PASSED)
    assert one("s-1004") == ("ex-lookup", "frac.equivalent", 1.0, pb.OUTCOME_UNSPECIFIED)
    assert one("bea") == ("ex-mbox", "frac.add-like", 0.8, pb.OUTCOME_UNSPECIFIED)
    assert one("sim-42") == ("ex-prefix", "frac.equivalent", 0.0, pb.OUTCOME_FAILED)


def test_incomplete_failed_and_category(daemon, client, tmp_path):
    """The example with "incomplete": "failed" and "category" in look_in."""
    r = ctl(daemon, "framework", "load", FRACTIONS)
    assert r.returncode == 0, r.stdout + r.stderr
    m = json.loads(example_mapping())
    m["incomplete"] = "failed"
    m["look_in"] = ["object", "category"]
    m["activities"]["https://tags.school.example/skill/compare"] = "frac.compare"
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps(m))
    lms = "https://lms.school.example"
    sts = [
        stmt("cf-incomplete", account(lms, "s-2001"), "completed",
             "https://lms.school.example/quiz/77", {"completion": False, "score": {"scaled": 1}}),
        stmt("cf-category", account(lms, "s-2002"), "scored", "https://lms.school.example/q/5",
             {"score": {"scaled": 0.7}},
             {"contextActivities": {"category": [
                 {"id": "https://tags.school.example/skill/compare"}]}}),
    ]
    path = tmp_path / "statements.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in sts))
    r = ctl(daemon, "--json", "xapi", "import", str(path), "--mapping", str(mapping))
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["evidence"] == 2 and summary["accepted"] == 2, summary
    rep = client.call(list_evidence=pb.ListEvidence(learner_id="s-2001"))
    (e,) = rep.evidence.items
    assert (e.competency_id, e.score, e.outcome) == ("frac.equivalent", 0.0, pb.OUTCOME_FAILED)
    rep = client.call(list_evidence=pb.ListEvidence(learner_id="s-2002"))
    (e,) = rep.evidence.items
    assert (e.competency_id, round(e.score, 9)) == ("frac.compare", 0.7)


def test_the_xapi_md_commands_run_as_written(daemon, tmp_path):
    """Every command of the page's first shell block, as written, from the repository root:
    only `masteryctl` gains the path and the test daemon's endpoint. The shipped statements
    give the summary the page shows (rates aside); the bridge re-sends them as duplicates."""
    import subprocess
    from conftest import BIN
    with open(os.path.join(SRC, "clients", "XAPI.md")) as f:
        page = f.read()
    block = re.search(r"```sh\n(.*?)```", page, re.S).group(1)
    commands = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(commands) == 3, commands
    exe = "%s -e %s" % (os.path.join(BIN, "masteryctl"), daemon.endpoint)
    outs = []
    for cmd in commands:
        assert cmd.startswith("masteryctl ")
        r = subprocess.run(["bash", "-c", exe + cmd[len("masteryctl"):]], cwd=SRC,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, cmd + "\n" + r.stdout + r.stderr
        outs.append(r)
    shown = re.search(r"for the shipped example:\n\n```\n(.*?)```", page, re.S).group(1)
    rate = re.compile(r"in [\d.]+ s \(\d+/s\)")
    assert rate.sub("", " ".join(outs[1].stdout.split())) == rate.sub("", " ".join(shown.split()))
    assert "6 evidence (0 accepted, 6 duplicates, 0 rejected)" in outs[2].stdout
    # every warning counted in the summary is listed above it
    warned = len(re.findall(r"^statement \d+: warning", outs[1].stderr, re.M))
    assert re.search(r"; %d warnings$" % warned, outs[1].stdout.strip())
    # the shipped mapping file is the page's example
    with open(os.path.join(EXAMPLES, "xapi-map.json")) as f:
        assert json.loads(f.read()) == json.loads(example_mapping())
    with open(os.path.join(EXAMPLES, "xapi-statements.json")) as f:
        array = json.load(f)
    with open(os.path.join(EXAMPLES, "xapi-statements.jsonl")) as f:
        assert [json.loads(ln) for ln in f] == array
