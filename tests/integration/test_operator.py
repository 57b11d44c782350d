"""The operator's surface: the log (one info line per act, no learner id), Prometheus metrics
(parsed strictly; counters move as requests are made) and Health's new fields.

Drives a secure daemon (CURVE, roles, scopes) through every act the log must show: framework
load, evidence that issues a badge, suspension and its lifting, revocation, an override, a
retraction, key rotation, a refused handshake and FORBIDDEN by role and by scope.
"""
import math
import os
import re
import subprocess

import pytest
import zmq

from conftest import BIN, evidence, pb
from secure import CurveClient, School

LEARNER = "s-oplog-7731"  # a raw id that must never reach the log
CLIENTS = [("quiz", "tool", "urn:example:math:fractions-g5"),
           ("ms-lee", "teacher", None),
           ("admin", "admin", None)]


@pytest.fixture
def school(tmp_path):
    s = School(tmp_path, CLIENTS)
    with open(s.conf, "a") as f:
        f.write("credential_suspension = 1\n")
    s.start()
    s.load_frameworks()
    yield s
    rc = s.daemon.stop()
    assert rc == 0, "".join(s.daemon.log)


def learner_ref(school, learner):
    out = subprocess.run([os.path.join(BIN, "masteryd"), "--data", school.data,
                          "--learner-ref", learner], capture_output=True, text=True, check=True)
    ref = out.stdout.strip()
    assert re.fullmatch(r"L-[0-9a-f]{12}", ref), ref
    return ref


def test_every_act_is_one_info_line_and_no_learner_id(school):
    quiz, teacher, admin = school.client("quiz"), school.client("ms-lee"), school.client("admin")
    ref = learner_ref(school, LEARNER)
    assert ref != learner_ref(school, LEARNER + "x")
    school.wait_log(r"framework loaded: urn:example:math:fractions-g5 revision 1 \(version "
                    r"2026\.1, \d+ competencies\) by admin")
    school.wait_log(r"framework loaded: urn:example:geometry revision 1 .* by admin")

    # Two good scores master frac.equivalent, which has an achievement: a badge.
    rep = quiz.submit(evidence("op-1", LEARNER, "frac.equivalent", 1.0, 1000),
                      evidence("op-2", LEARNER, "frac.equivalent", 1.0, 2000))
    assert rep.evidence_results.accepted == 2
    [cred] = admin.call(list_credentials=pb.ListCredentials(learner_id=LEARNER)).credential_list.credentials
    cid = cred.credential_id
    school.wait_log(rf"credential issued: {cid} to learner {ref} for "
                    r"urn:example:math:fractions-g5 frac.equivalent")

    status = lambda purpose, on: admin.call(set_credential_status=pb.SetCredentialStatus(
        credential_id=cid, purpose=purpose, set=on, reason=f"{LEARNER} asked"))
    assert status("suspension", True).status.code == pb.STATUS_OK
    assert status("suspension", False).status.code == pb.STATUS_OK
    assert status("revocation", True).status.code == pb.STATUS_OK
    school.wait_log(rf"credential suspended: {cid} of learner {ref} by admin")
    school.wait_log(rf"credential unsuspended: {cid} of learner {ref} by admin")
    school.wait_log(rf"credential revoked: {cid} of learner {ref} by admin")

    ov = teacher.call(override=pb.Override(learner_id=LEARNER, framework_id="urn:example:math:fractions-g5",
                                           competency_id="frac.compare", mastered=True,
                                           reason=f"oral exam of {LEARNER}"))
    assert ov.status.code == pb.STATUS_OK, ov.status
    school.wait_log(rf"override: granted urn:example:math:fractions-g5 frac.compare for learner "
                    rf"{ref} by ms-lee")

    rt = quiz.call(retract_evidence=pb.RetractEvidence(evidence_id="op-1", reason="typo"))
    assert rt.status.code == pb.STATUS_OK, rt.status
    school.wait_log(rf"evidence retracted: learner {ref}, .* by quiz")

    assert admin.call(rotate_keys=pb.RotateKeys()).status.code == pb.STATUS_OK
    school.wait_log(r"issuer keys rotated by admin")

    # FORBIDDEN: by role, and by scope (one line per request, naming the first item).
    assert quiz.call(put_framework=pb.PutFramework(json="{}")).status.code == pb.STATUS_FORBIDDEN
    school.wait_log(r"FORBIDDEN: quiz may not call put_framework \(role tool\)")
    rep = quiz.submit(evidence("op-3", LEARNER, "geo.angles", 0.5, 3000))
    assert rep.evidence_results.items[0].status.code == pb.STATUS_FORBIDDEN
    school.wait_log(r"FORBIDDEN: quiz submit_evidence: 1 of 1 items outside its scope "
                    r"\(first: items\[0\]\.competency_id\)")

    # A stranger's handshake is refused and logged.
    pub, sec = zmq.curve_keypair()
    stranger = CurveClient(school.daemon.endpoint, school.server_public, pub, sec, timeout_ms=500)
    stranger.send_raw(pb.Request(request_id="x", health=pb.Health()).SerializeToString())
    with pytest.raises(TimeoutError):
        stranger.recv_reply()
    stranger.close()
    school.wait_log(r"refused a connection from .*is not in the clients file")

    for c in (quiz, teacher, admin):
        c.close()
    log = "".join(school.daemon.log)
    assert LEARNER not in log  # neither as an id nor inside a reason
    assert "oral exam" not in log and "asked" not in log  # free text stays out too
    # The issuer's key directory and the log-reference key exist with owner-only modes.
    assert os.stat(os.path.join(school.data, "logref.key")).st_mode & 0o077 == 0


# ---- metrics -------------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)')


def parse_prometheus(text):
    """A strict parser of the text exposition format 0.0.4: every family has HELP and TYPE
    before its samples, samples belong to the last family (histograms: _bucket/_sum/_count),
    labels are well formed, values are floats, histogram buckets are cumulative and end in
    +Inf == _count. Returns {(name, frozenset(labels)): value} and {family: type}."""
    assert text.endswith("\n") and "\r" not in text
    samples, types, helps, family = {}, {}, set(), None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        assert line.strip() == line and line, f"line {n}: stray whitespace or empty: {line!r}"
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helps, f"line {n}: second HELP for {name}"
            helps.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name in helps and name not in types, f"line {n}: TYPE {name}"
            assert kind in ("counter", "gauge", "histogram"), kind
            types[name], family = kind, name
            continue
        assert not line.startswith("#"), f"line {n}: unknown comment"
        m = SAMPLE.match(line)
        assert m, f"line {n}: not a sample: {line!r}"
        name, labels_text, value = m.group(1), m.group(3), m.group(4)
        allowed = {family} if types[family] != "histogram" else \
            {family + "_bucket", family + "_sum", family + "_count"}
        assert name in allowed, f"line {n}: {name} outside its family {family}"
        labels = {}
        if labels_text is not None:
            pos = 0
            while pos < len(labels_text):
                lm = LABEL.match(labels_text, pos)
                assert lm, f"line {n}: bad labels {labels_text!r}"
                assert lm.group(1) not in labels
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        v = float(value)  # raises on anything but a float, +Inf, NaN
        assert not math.isnan(v)
        if types[family] == "counter":
            assert v >= 0 and v == int(v), f"line {n}: counter {v}"
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"line {n}: duplicate sample"
        samples[key] = v
    for fam, kind in types.items():
        if kind != "histogram":
            continue
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in samples.items()
                          if k[0] == fam + "_bucket"))
        assert buckets and buckets[-1][0] == math.inf
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"{fam} not cumulative"
        assert buckets[-1][1] == samples[(fam + "_count", frozenset())]
    return samples, types


def metric(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def scrape(daemon):
    out = subprocess.run([os.path.join(BIN, "masteryctl"), "-e", daemon.endpoint, "metrics"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return parse_prometheus(out.stdout)


def test_metrics_parse_and_move(daemon, client):
    from conftest import EXAMPLES
    s0, types = scrape(daemon)
    for fam, kind in [("masteryd_evidence_items_total", "counter"),
                      ("masteryd_commit_seconds", "histogram"),
                      ("masteryd_batch_requests", "histogram"),
                      ("masteryd_submit_items", "histogram"),
                      ("masteryd_map_used_bytes", "gauge"), ("masteryd_readers", "gauge"),
                      ("masteryd_auth_refusals_total", "counter"),
                      ("masteryd_credentials_issued_total", "counter"),
                      ("masteryd_credentials_revoked_total", "counter"),
                      ("masteryd_events_total", "counter")]:
        assert types[fam] == kind, fam
    assert metric(s0, "masteryd_evidence_items_total", result="accepted") == 0
    assert client.put_framework_file(os.path.join(EXAMPLES, "fractions.json")).status.code == 0
    rep = client.submit(evidence("m-1", "s-m", "frac.equivalent", 1.0, 1000),
                        evidence("m-2", "s-m", "frac.equivalent", 1.0, 2000),
                        evidence("m-3", "s-m", "frac.equivalent", 2.0, 3000),
                        evidence("m-4", "s-m", "no.such", 0.5, 3000))
    assert rep.evidence_results.accepted == 2
    client.submit(evidence("m-1", "s-m", "frac.equivalent", 1.0, 1000),   # duplicate
                  evidence("m-2", "s-m", "frac.equivalent", 0.1, 2000))   # conflict
    s1, _ = scrape(daemon)
    items = lambda s, r: metric(s, "masteryd_evidence_items_total", result=r)
    assert items(s1, "accepted") == 2 and items(s1, "duplicate") == 1
    assert items(s1, "conflict") == 1 and items(s1, "invalid") == 1
    assert items(s1, "not_found") == 1
    assert metric(s1, "masteryd_requests_total", op="submit_evidence") == 2
    assert metric(s1, "masteryd_requests_total", op="metrics") == 2  # both scrapes, this one too
    assert metric(s1, "masteryd_submit_items_count", ) == 2
    assert metric(s1, "masteryd_submit_items_sum") == 6
    assert metric(s1, "masteryd_credentials_issued_total") == 1
    assert metric(s1, "masteryd_acts_total", act="framework_loaded") == 1
    assert metric(s1, "masteryd_events_total") == metric(s1, "masteryd_last_event_seq") >= 3
    assert metric(s1, "masteryd_commit_seconds_count") >= 3 > metric(s0, "masteryd_commit_seconds_count")
    assert metric(s1, "masteryd_commits_total") >= 3
    assert metric(s1, "masteryd_learners") == 1 and metric(s1, "masteryd_credentials") == 1
    assert metric(s1, "masteryd_evidence_items") == 2
    assert metric(s1, "masteryd_map_used_bytes") > 0 and metric(s1, "masteryd_readers") >= 1
    assert metric(s1, "masteryd_dev_mode") == 1

    h = client.call(health=pb.Health()).health
    assert h.learner_count == 1 and h.credential_count == 1
    assert h.error_count == 3  # the refused items: conflict, invalid, not found
    assert h.events_endpoint == daemon.events_endpoint


def test_refusals_counted(school):
    admin = school.client("admin")
    quiz = school.client("quiz")
    assert quiz.call(put_framework=pb.PutFramework(json="{}")).status.code == pb.STATUS_FORBIDDEN
    pub, sec = zmq.curve_keypair()
    stranger = CurveClient(school.daemon.endpoint, school.server_public, pub, sec, timeout_ms=300)
    stranger.send_raw(pb.Request(request_id="x", health=pb.Health()).SerializeToString())
    with pytest.raises(TimeoutError):
        stranger.recv_reply()
    stranger.close()
    text = admin.call(metrics=pb.Metrics()).metrics.text
    s, _ = parse_prometheus(text)
    assert metric(s, "masteryd_auth_refusals_total", reason="forbidden") == 1
    assert metric(s, "masteryd_auth_refusals_total", reason="handshake") >= 1
    assert metric(s, "masteryd_dev_mode") == 0
    admin.close()
    quiz.close()


def test_parser_is_strict():
    good = "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\"} 3\n"
    parse_prometheus(good)
    for bad in [good.replace("3\n", "three\n"), good.replace("# HELP a_total x\n", ""),
                good + "b 1\n", good.replace('{k="v"}', '{k=v}'), good[:-1],
                good + 'a_total{k="v"} 4\n']:
        with pytest.raises((AssertionError, ValueError, KeyError)):
            parse_prometheus(bad)


def test_masteryctl_follows_the_events_endpoint_health_names(daemon, client):
    """events --follow on a daemon whose event port is not 7412: masteryctl asks Health. A
    decoy publisher on the old guess (port 7412) is never read."""
    import json
    import select
    import time
    from conftest import EXAMPLES
    ctx = zmq.Context.instance()
    decoy = ctx.socket(zmq.PUB)
    try:
        decoy.bind("tcp://127.0.0.1:7412")
    except zmq.ZMQError:  # something else listens there: the Health part still holds
        decoy.close(0)
        decoy = None
    assert client.put_framework_file(os.path.join(EXAMPLES, "fractions.json")).status.code == 0
    start = client.call(health=pb.Health()).health.last_seq + 1
    proc = subprocess.Popen([os.path.join(BIN, "masteryctl"), "-e", daemon.endpoint, "--json",
                             "events", "--follow", "--from", str(start)],
                            stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # let it subscribe
        if decoy is not None:
            fake = pb.Event(seq=start, at_ms=1, unlocked=pb.Unlocked(
                learner_id="decoy", framework_id="f", competency_id="c"))
            for _ in range(5):
                decoy.send_multipart([b"unlocked/decoy/", fake.SerializeToString()])
        client.submit(evidence("ctl-1", "s-ctl", "frac.equivalent", 1.0, 1000),
                      evidence("ctl-2", "s-ctl", "frac.equivalent", 1.0, 2000))
        lines, deadline = [], time.time() + 20
        while time.time() < deadline and not any('"mastered"' in ln or "mastered" in ln
                                                  for ln in lines):
            if select.select([proc.stdout], [], [], 1.0)[0]:
                lines.append(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if decoy is not None:
            decoy.close(0)
    events = [json.loads(ln) for ln in lines if ln.strip()]
    assert any("s-ctl" in json.dumps(e) for e in events), lines
    assert not any("decoy" in json.dumps(e) for e in events), lines
