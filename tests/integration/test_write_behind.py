"""Write-behind (issue 12): a group commit appends write-ahead records; learners' records are
written back later by a sweep. A SIGKILL between the two loses nothing: the restart replays the
records to the same evidence, states, events and badges (none issued twice), and a sweep killed
half-way leaves a store that replays to the same again."""
import json
import os
import re
import subprocess

from conftest import BIN, Client, Daemon, evidence, pb

FW = {"id": "urn:test:wb", "title": "Write-behind", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge A", "description": "Did A."}},
    {"id": "b", "title": "B", "requires": {"all": ["a"]},
     "achievement": {"name": "Badge B", "description": "Did B."}},
    {"id": "c", "title": "C", "requires": {"all": ["b"]}},
]}
VERIFY = os.path.join(BIN, "mastery-verify")
# No sweep starts on its own: every change stays in memory and in the write-ahead records.
NO_SWEEP = ("write_behind_bytes = 1073741824\nwrite_behind_seconds = 86400\n"
            "write_behind_idle_ms = 0\n")


def conf(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return ["-c", str(p)]


def metrics(c):
    text = c.call(metrics=pb.Metrics()).metrics.text
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(masteryd_[a-z_]+) ([0-9.e+-]+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def snapshot(c, learners):
    """Everything a restart must give back the same: evidence, states, badges, events."""
    out = {}
    for l in learners:
        ev = c.call(list_evidence=pb.ListEvidence(learner_id=l, limit=100000)).evidence
        assert not ev.truncated
        rep = c.call(get_learner=pb.GetLearner(learner_id=l))
        assert rep.status.code == pb.STATUS_OK, rep.status
        st = sorted((x.competency_id, x.status, round(x.score, 9), x.evidence_count)
                    for fw in rep.learner.frameworks for x in fw.competencies)
        cr = c.call(list_credentials=pb.ListCredentials(learner_id=l)).credential_list.credentials
        out[l] = (sorted((e.evidence_id, e.competency_id, round(e.score, 9)) for e in ev.items),
                  st, sorted((x.credential_id, x.competency_id, x.state) for x in cr))
    h = c.call(health=pb.Health()).health
    out["health"] = (h.evidence_count, h.last_seq)
    return out


def load_and_submit(c, learners, per_learner):
    assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == pb.STATUS_OK
    t = 1_000
    for i in range(per_learner):
        items = []
        for n, l in enumerate(learners):
            comp = "abc"[(i + n) % 3]
            items.append(evidence(f"{l}-{i}", l, comp, 0.5 + 0.5 * ((i * 7 + n) % 10) / 10, t))
            t += 1000
        rep = c.call(submit_evidence=pb.SubmitEvidence(items=items))
        assert rep.status.code == pb.STATUS_OK, rep.status
        assert rep.evidence_results.accepted == len(items)


def check_store(data):
    r = subprocess.run([os.path.join(BIN, "masteryd"), "--data", data, "--check"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "states that disagree: 0" in r.stdout, r.stdout
    return r.stdout


def test_sigkill_between_commit_and_write_back_replays_the_same(tmp_path):
    data = str(tmp_path / "data")
    learners = [f"wb-learner-{i}" for i in range(12)]
    args = conf(tmp_path, "nosweep.conf", NO_SWEEP)
    d = Daemon(data, args).start()
    c = Client(d.endpoint)
    load_and_submit(c, learners, 12)
    m = metrics(c)
    # Acknowledged, and not yet written back: only the write-ahead records hold it on disk.
    assert m["masteryd_write_behind_written_total"] == 0
    assert m["masteryd_write_ahead_bytes"] > 0 and m["masteryd_write_behind_bytes"] > 0
    before = snapshot(c, learners)
    assert sum(len(before[l][2]) for l in learners) > 0, "no badge was issued"
    c.close()
    d.kill()
    with open(os.path.join(data, "data.mdb"), "rb") as f:
        raw = f.read()
    assert b"wb-learner-" not in raw  # sealed, in the records as everywhere

    # The check reads through the records without writing them back.
    out = check_store(data)
    assert re.search(r"write-ahead records: \d+ replayed", out), out

    d = Daemon(data, args).start()
    assert any("write-ahead records replayed" in line for line in d.log), "".join(d.log)
    c = Client(d.endpoint)
    assert snapshot(c, learners) == before
    # More evidence on top of the replayed state: the next mastery's badge is issued once.
    rep = c.call(submit_evidence=pb.SubmitEvidence(items=[
        evidence("late-1", learners[0], "a", 1.0, 10_000_000),
        evidence("late-2", learners[0], "b", 1.0, 10_000_001)]))
    assert rep.evidence_results.accepted == 2
    after = snapshot(c, learners)
    c.close()
    d.kill()

    # Without write-behind, the start writes everything back first; then nothing is left to
    # replay and the same data is there.
    d = Daemon(data, conf(tmp_path, "off.conf", "write_behind_bytes = 0\n")).start()
    c = Client(d.endpoint)
    assert snapshot(c, learners) == after
    m = metrics(c)
    assert m["masteryd_write_ahead_bytes"] == 0 and m["masteryd_write_behind_bytes"] == 0
    creds = c.call(list_credentials=pb.ListCredentials(learner_id=learners[0])).credential_list
    cid = creds.credentials[0].credential_id
    doc = c.call(get_credential=pb.GetCredential(credential_id=cid)).credential.document
    lst = c.call(export_status_list=pb.ExportStatusList(purpose="revocation")).status_list.json
    c.close()
    assert d.stop() == 0
    (tmp_path / "badge.json").write_text(doc)
    (tmp_path / "list.json").write_text(lst)
    r = subprocess.run([VERIFY, "--json", str(tmp_path / "badge.json"), "--status-list",
                        str(tmp_path / "list.json")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["verdict"] == "VALID", r.stdout
    out = check_store(data)
    assert "write-ahead records" not in out, out


def test_clean_stop_writes_everything_back(tmp_path):
    data = str(tmp_path / "data")
    learners = [f"stop-learner-{i}" for i in range(5)]
    d = Daemon(data, conf(tmp_path, "nosweep.conf", NO_SWEEP)).start()
    c = Client(d.endpoint)
    load_and_submit(c, learners, 6)
    before = snapshot(c, learners)
    c.close()
    assert d.stop() == 0
    assert any("written back" in line for line in d.log), "".join(d.log)
    d = Daemon(data).start()
    assert not any("replayed" in line for line in d.log), "".join(d.log)
    c = Client(d.endpoint)
    assert snapshot(c, learners) == before
    c.close()
    assert d.stop() == 0


def test_sweeps_killed_half_way_lose_nothing(tmp_path):
    """Tiny budget and steps: sweeps run all the time, and each kill lands inside one."""
    data = str(tmp_path / "data")
    learners = [f"sweep-learner-{i}" for i in range(40)]
    args = conf(tmp_path, "tiny.conf", "write_behind_bytes = 65536\n"
                                       "write_behind_step_bytes = 4096\n")
    d = Daemon(data, args).start()
    c = Client(d.endpoint)
    assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == pb.STATUS_OK
    acked = []
    for k in range(8):
        for i in range(5):
            items = [evidence(f"s{k}-{i}-{n}", l, "abc"[(k + i + n) % 3],
                              0.4 + 0.6 * ((k * 5 + i + n) % 7) / 6, 1000 * (k * 100 + i * 10 + n))
                     for n, l in enumerate(learners)]
            rep = c.call(submit_evidence=pb.SubmitEvidence(items=items))
            assert rep.evidence_results.accepted == len(items)
            acked += items
        m = metrics(c)
        assert m["masteryd_write_behind_written_total"] > 0  # sweeps are running
        c.close()
        d.kill()
        d = Daemon(data, args).start()
        c = Client(d.endpoint)
    got = snapshot(c, learners)
    c.close()
    assert d.stop() == 0
    stored = {e[0] for l in learners for e in got[l][0]}
    assert stored == {it.evidence_id for it in acked}
    assert got["health"][0] == len(acked)
    check_store(data)

    # The same evidence on a daemon that never wrote behind: the same states and badges.
    fresh = str(tmp_path / "fresh")
    d = Daemon(fresh, conf(tmp_path, "off.conf", "write_behind_bytes = 0\n")).start()
    c = Client(d.endpoint)
    assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == pb.STATUS_OK
    for i in range(0, len(acked), len(learners)):
        rep = c.call(submit_evidence=pb.SubmitEvidence(items=acked[i:i + len(learners)]))
        assert rep.evidence_results.accepted == len(learners)
    expect = snapshot(c, learners)
    c.close()
    assert d.stop() == 0
    for l in learners:
        assert got[l][0] == expect[l][0] and got[l][1] == expect[l][1]
        assert sorted(x[1:] for x in got[l][2]) == sorted(x[1:] for x in expect[l][2])


def test_a_budget_smaller_than_the_empty_overlay_still_serves(tmp_path):
    """A budget below the overlay's fixed part: every batch is written back at once, and the
    loop never spins on it."""
    data = str(tmp_path / "data")
    learners = [f"tiny-learner-{i}" for i in range(4)]
    d = Daemon(data, conf(tmp_path, "tiny.conf", "write_behind_bytes = 1\n")).start()
    c = Client(d.endpoint, timeout_ms=5000)
    load_and_submit(c, learners, 5)
    m = metrics(c)
    assert m["masteryd_write_behind_written_total"] > 0
    assert m["masteryd_write_behind_bytes"] < 64 * 1024
    got = snapshot(c, learners)
    assert got["health"][0] == 20
    c.close()
    assert d.stop() == 0
