"""Issue 16, item 3: retention per framework. A framework's retention_days overrides the
daemon's setting for evidence on its competencies; an item on a competency of several
frameworks keeps its payload for the longest of their periods (0 or unset with no setting:
forever). Scores stay, so states do not change."""
import json
import time

from conftest import Client, Daemon, pb

OLD = int(time.time() * 1000) - 400 * 86400000  # observed 400 days ago


def fw(fid, comps, retention=None):
    doc = {"id": fid, "title": fid, "version": "1", "competencies": [
        {"id": c, "title": c, "rule": {"method": "latest", "threshold": 0.5}} for c in comps]}
    if retention is not None:
        doc["retention_days"] = retention
    return json.dumps(doc)


def item(eid, comp):
    return pb.Evidence(evidence_id=eid, learner_id="rf-learner", competency_id=comp, score=0.9,
                       source="quiz", narrative="narr-" + eid, url="https://x.example/" + eid,
                       observed_at_ms=OLD, observed_at_set=True)


def test_framework_retention_and_the_longest_period(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("retention_sweep_seconds = 1\n")  # no global retention: forever
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    c = Client(d.endpoint)
    try:
        bad = c.call(put_framework=pb.PutFramework(json=fw("urn:rf:bad", ["x"], retention=-1)))
        assert (bad.status.code, bad.status.field) == (pb.STATUS_INVALID, "retention_days")
        assert c.call(put_framework=pb.PutFramework(json=fw("urn:rf:short", ["only-short", "shared"],
                                                               retention=30))).status.code == 0
        assert c.call(put_framework=pb.PutFramework(json=fw("urn:rf:long", ["only-long", "shared"]))
                      ).status.code == 0
        rep = c.call(submit_evidence=pb.SubmitEvidence(items=[
            item("e-short", "only-short"), item("e-long", "only-long"), item("e-shared", "shared")]))
        assert rep.evidence_results.accepted == 3
        before = c.call(get_learner=pb.GetLearner(learner_id="rf-learner")).learner
        deadline = time.time() + 30
        while True:
            items = c.call(list_evidence=pb.ListEvidence(learner_id="rf-learner")).evidence.items
            by_comp = {e.competency_id: e for e in items}
            if by_comp["only-short"].evidence_id == "" or time.time() > deadline:
                break
            time.sleep(0.2)
        short = by_comp["only-short"]
        assert (short.evidence_id, short.narrative, short.url) == ("", "", "")
        assert round(short.score, 6) == 0.9
        assert by_comp["only-long"].narrative == "narr-e-long"
        assert by_comp["shared"].narrative == "narr-e-shared"  # the longer framework wins
        after = c.call(get_learner=pb.GetLearner(learner_id="rf-learner")).learner
        assert after == before
        # a tool resending the shredded item is told DUPLICATE, not CONFLICT
        again = c.call(submit_evidence=pb.SubmitEvidence(items=[item("e-short", "only-short")]))
        assert again.evidence_results.items[0].status.code == pb.STATUS_DUPLICATE, again
    finally:
        c.close()
        d.stop()
