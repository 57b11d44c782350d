"""Issue 18: the edges an outside check found. Every instant on the wire means itself (the
epoch too), a weight of 0 is refused, and the rules do what README.md and schemas/ say."""
import json
import os
import sys
import time

import pytest

from conftest import SRC, ctl, evidence, pb, states

sys.path.insert(0, os.path.join(SRC, "clients", "python"))

from masteryd_client import Client as PyClient, InvalidError  # noqa: E402

EPOCH = "1970-01-01T00:00:00Z"

FW = {"id": "urn:test:edges", "title": "Edges", "version": "1", "competencies": [
    {"id": "last", "title": "Latest", "rule": {"method": "latest", "threshold": 0.8}},
    {"id": "avg", "title": "Average", "rule": {"method": "average", "threshold": 0.8}},
    {"id": "nm", "title": "n-mastery",
     "rule": {"method": "n_mastery", "n": 2, "threshold": 0.8}},
    {"id": "bkt", "title": "BKT", "rule": {"method": "bkt", "p_init": 0.2, "p_transit": 0.15,
                                           "p_guess": 0.2, "p_slip": 0.1, "correct_at": 0.7}},
    {"id": "tol", "title": "Tolerance", "rule": {"method": "latest", "threshold": 0.8}},
]}


@pytest.fixture
def loaded(client):
    rep = client.call(put_framework=pb.PutFramework(json=json.dumps(FW)))
    assert rep.status.code == pb.STATUS_OK, rep.status.message
    return client


def item_status(rep, i=0):
    s = rep.evidence_results.items[i].status
    return pb.StatusCode.Name(s.code), s.field, s.message


def listed(client, learner, competency=""):
    rep = client.call(list_evidence=pb.ListEvidence(learner_id=learner, competency_id=competency))
    assert rep.status.code == pb.STATUS_OK
    return {e.evidence_id: e for e in rep.evidence.items}


# ---- 1. observed_at: presence is explicit -------------------------------------------------------

def test_epoch_means_the_epoch_not_now(loaded):
    c = loaded
    # The newer item scores 0.9; the one at the epoch (0.1) is older and must not be "latest".
    rep = c.submit(evidence("ep-new", "s", "last", 0.9, 5000, observed_at_set=True),
                   evidence("ep-zero", "s", "last", 0.1, 0, observed_at_set=True))
    assert [item_status(rep, i)[0] for i in (0, 1)] == ["STATUS_OK"] * 2
    assert states(c.learner("s"))["last"] == ("MASTERED", 0.9)
    got = listed(c, "s", "last")
    assert got["ep-zero"].observed_at_ms == 0 and got["ep-zero"].observed_at_set
    assert got["ep-new"].observed_at_ms == 5000 and got["ep-new"].observed_at_set
    # A resend of the epoch item is a duplicate, not a conflict: its time is its own.
    rep = c.submit(evidence("ep-zero", "s", "last", 0.1, 0, observed_at_set=True))
    assert item_status(rep)[0] == "STATUS_DUPLICATE"


def test_zero_without_the_flag_still_means_now(loaded):
    """Clients written before observed_at_set keep working: 0 is the time of arrival."""
    c = loaded
    before = int(time.time() * 1000)
    rep = c.submit(evidence("old-now", "s2", "last", 0.5, 0))
    assert item_status(rep)[0] == "STATUS_OK"
    at = listed(c, "s2")["old-now"].observed_at_ms
    assert before - 1000 <= at <= int(time.time() * 1000) + 1000
    # and a non-zero time without the flag means itself, as it always did
    rep = c.submit(evidence("old-time", "s2", "last", 0.5, 7000))
    assert item_status(rep)[0] == "STATUS_OK"
    assert listed(c, "s2")["old-time"].observed_at_ms == 7000


def test_epoch_through_masteryctl_and_python_client(daemon, loaded):
    line = {"id": "ctl-epoch", "learner": "s3", "competency": "last", "score": 0.2,
            "observed_at": EPOCH, "source": "t"}
    r = ctl(daemon, "evidence", "import", "-", input=json.dumps(line) + "\n")
    assert r.returncode == 0, r.stdout + r.stderr
    r = ctl(daemon, "evidence", "add", "--learner", "s3", "--competency", "last", "--score",
            "0.3", "--observed-at", EPOCH, "--id", "ctl-epoch-add")
    assert r.returncode == 0, r.stdout + r.stderr
    with PyClient(daemon.endpoint, source="py", timeout=10.0) as md:
        md.submit_evidence("py-epoch", "s3", "last", 0.4, observed_at=EPOCH)
        md.submit_evidence("py-epoch-secs", "s3", "last", 0.4, observed_at=0)
    got = listed(loaded, "s3")
    assert {k: v.observed_at_ms for k, v in got.items()} == {
        "ctl-epoch": 0, "ctl-epoch-add": 0, "py-epoch": 0, "py-epoch-secs": 0}


def test_before_1970_is_refused_naming_the_field(loaded):
    rep = loaded.submit(evidence("pre-epoch", "s4", "last", 0.5, -1, observed_at_set=True))
    code, field, message = item_status(rep)
    assert (code, field) == ("STATUS_INVALID", "items[0].observed_at_ms")
    assert "1970" in message


# ---- 2. weight ------------------------------------------------------------------------------------

def test_weight_zero_is_refused_naming_the_field(loaded):
    c = loaded
    rep = c.submit(evidence("w0", "s5", "avg", 0.5, 1000, weight=0.0, weight_set=True),
                   evidence("wnan", "s5", "avg", 0.5, 1000, weight=float("nan"), weight_set=True))
    for i in (0, 1):
        code, field, message = item_status(rep, i)
        assert (code, field) == ("STATUS_INVALID", "items[%d].weight" % i)
        assert "> 0" in message
    assert listed(c, "s5") == {}


def test_unset_weight_is_the_default_one(loaded):
    c = loaded
    # 1.0 at weight 3 and 0.2 at the default 1: (3 + 0.2) / 4 = 0.8
    rep = c.submit(evidence("wa", "s6", "avg", 1.0, 1000, weight=3.0, weight_set=True),
                   evidence("wb", "s6", "avg", 0.2, 2000))
    assert [item_status(rep, i)[0] for i in (0, 1)] == ["STATUS_OK"] * 2
    st, score = states(c.learner("s6"))["avg"]
    assert st == "MASTERED" and score == pytest.approx(0.8)


def test_weight_zero_from_masteryctl_and_python_client(daemon, loaded):
    line = {"id": "ctl-w0", "learner": "s7", "competency": "avg", "score": 0.5,
            "observed_at": "2026-01-01T00:00:00Z", "source": "t", "weight": 0}
    r = ctl(daemon, "evidence", "import", "-", input=json.dumps(line) + "\n")
    assert r.returncode == 1 and "weight" in r.stdout + r.stderr
    r = ctl(daemon, "evidence", "add", "--learner", "s7", "--competency", "avg", "--score", "0.5",
            "--weight", "0")
    assert r.returncode == 1 and "weight" in r.stdout + r.stderr
    with PyClient(daemon.endpoint, source="py", timeout=10.0) as md:
        with pytest.raises(InvalidError) as e:
            md.submit_evidence("py-w0", "s7", "avg", 0.5, weight=0)
        assert e.value.field == "items[0].weight"
    assert listed(loaded, "s7") == {}


# ---- 3. the rules as documented ---------------------------------------------------------------

def test_children_rule_with_threshold_or_min_evidence_is_refused(client):
    for key, value in (("threshold", 0.8), ("min_evidence", 1)):
        fw = {"id": "urn:test:kids", "title": "Kids", "competencies": [
            {"id": "a", "title": "A"},
            {"id": "all", "title": "All", "rule": {"method": "children", "of": ["a"], key: value}}]}
        rep = client.call(put_framework=pb.PutFramework(json=json.dumps(fw)))
        assert rep.status.code == pb.STATUS_INVALID
        assert key in rep.status.field + rep.status.message


def test_n_mastery_score_is_the_mean_of_the_n_highest(loaded):
    c = loaded
    rep = c.submit(evidence("nm1", "s8", "nm", 1.0, 1000), evidence("nm2", "s8", "nm", 0.9, 2000),
                   evidence("nm3", "s8", "nm", 0.2, 3000))
    assert rep.evidence_results.accepted == 3
    st, score = states(c.learner("s8"))["nm"]
    # the mean of the 2 highest (0.95), not of every score (0.7)
    assert st == "MASTERED" and score == pytest.approx(0.95)


def bkt_step(pl, correct, g=0.2, s=0.1, t=0.15):
    post = pl * (1 - s) / (pl * (1 - s) + (1 - pl) * g) if correct else \
        pl * s / (pl * s + (1 - pl) * (1 - g))
    return post + (1 - post) * t


def test_bkt_correct_at_and_outcome(loaded):
    c = loaded
    # 0.69 < correct_at 0.7: incorrect; 0.7: correct; 0.1 passed: correct; 1.0 failed: incorrect
    rep = c.submit(evidence("b1", "s9", "bkt", 0.69, 1000), evidence("b2", "s9", "bkt", 0.7, 2000),
                   evidence("b3", "s9", "bkt", 0.1, 3000, outcome=pb.OUTCOME_PASSED),
                   evidence("b4", "s9", "bkt", 1.0, 4000, outcome=pb.OUTCOME_FAILED))
    assert rep.evidence_results.accepted == 4
    pl = 0.2
    for correct in (False, True, True, False):
        pl = bkt_step(pl, correct)
    st, score = states(c.learner("s9"))["bkt"]
    assert score == pytest.approx(pl, abs=1e-12) and st == "UNLOCKED"


def test_threshold_tolerance_is_1e_9(loaded):
    c = loaded
    rep = c.submit(evidence("t1", "s10", "tol", 0.8 - 2e-9, 1000))
    assert rep.evidence_results.accepted == 1
    assert states(c.learner("s10"))["tol"][0] == "UNLOCKED"
    rep = c.submit(evidence("t2", "s10", "tol", 0.8 - 5e-10, 2000))
    assert rep.evidence_results.accepted == 1
    assert states(c.learner("s10"))["tol"][0] == "MASTERED"
