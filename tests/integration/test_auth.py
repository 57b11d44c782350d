"""Authentication and authorization (issue 5): T1, T2, T3, T14, and masteryctl with CURVE.

A school in secure mode: a clients file lists public keys with a name, a role and (tools) the
frameworks they may submit for. Every figure printed here goes into the closing note."""
import os
import signal
import socket
import subprocess
import time

import pytest
import zmq
import zmq.utils.z85

from conftest import BIN, Client, Daemon, evidence, pb
from secure import CurveClient, School

MASTERYD = os.path.join(BIN, "masteryd")
MASTERYCTL = os.path.join(BIN, "masteryctl")

CLIENTS = [("quiz", "tool", "urn:example:math:fractions-g5"),
           ("geo", "tool", "urn:example:geometry"),
           ("ms-lee", "teacher", None),
           ("admin", "admin", None),
           ("inspector", "auditor", None)]


@pytest.fixture
def school(tmp_path):
    s = School(tmp_path, CLIENTS)
    s.start()
    s.load_frameworks()
    yield s
    rc = s.daemon.stop()
    assert rc == 0, "".join(s.daemon.log)


def evidence_count(school):
    c = school.client("inspector")
    n = c.call(health=pb.Health()).health.evidence_count
    c.close()
    return n


def test_t1_unauthenticated_peers_write_nothing(school):
    """400 submissions: from keys not in the clients file, from NULL-mechanism clients, and
    from a listed key that trusts the wrong server key. None is answered, none is written."""
    ep = school.daemon.endpoint
    tool_pub, tool_sec = school.keys["quiz"]
    wrong_server = zmq.curve_keypair()[0]
    socks = []
    for i in range(400):
        if i < 150:
            pub, sec = zmq.curve_keypair()
            c = CurveClient(ep, school.server_public, pub, sec)
        elif i < 300:
            c = Client(ep)  # NULL mechanism
        else:
            c = CurveClient(ep, wrong_server, tool_pub, tool_sec)
        c.send_raw(pb.Request(request_id=f"t1-{i}", submit_evidence=pb.SubmitEvidence(items=[
            evidence(f"t1-ev-{i}", "t1-learner", "frac.equivalent", 0.9)])).SerializeToString())
        socks.append(c)
    poller = zmq.Poller()
    for c in socks:
        poller.register(c.sock, zmq.POLLIN)
    replies = len(poller.poll(3000))
    for c in socks:
        c.close()
    written = evidence_count(school)
    print(f"\nT1: 400 submissions (150 unknown keys, 150 NULL mechanism, 100 wrong server key): "
          f"{replies} replies, {written} written")
    assert replies == 0 and written == 0
    log = "".join(school.daemon.log)
    assert 1 <= log.count("is not in the clients file") <= 10  # refusals logged, rate-limited
    # The daemon still serves the listed tool.
    c = school.client("quiz")
    rep = c.submit(evidence("t1-ok", "t1-learner", "frac.equivalent", 0.9))
    assert rep.status.code == pb.STATUS_OK and rep.evidence_results.accepted == 1
    c.close()


def test_t2_refuses_curve_off_on_non_loopback(tmp_path):
    r = subprocess.run([MASTERYD, "-d", "--data", str(tmp_path / "d"),
                        "--listen", "tcp://0.0.0.0:0"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "loopback" in r.stderr
    r = subprocess.run([MASTERYD, "-d", "--data", str(tmp_path / "d"), "--events", "tcp://0.0.0.0:0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "loopback" in r.stderr
    # With a clients file (CURVE on) a non-loopback address is fine, and the log says CURVE.
    s = School(tmp_path / "s", CLIENTS)
    d = s.start(listen="tcp://0.0.0.0:*", events="tcp://0.0.0.0:*")
    log = "".join(d.log)
    assert "CURVE on" in log and "DEVELOPMENT MODE" not in log
    assert d.stop() == 0
    # Development mode says so in the log.
    d = Daemon(str(tmp_path / "dev")).start()
    assert "DEVELOPMENT MODE" in "".join(d.log)
    c = Client(d.endpoint)
    assert c.call(health=pb.Health()).health.dev_mode
    c.close()
    assert d.stop() == 0
    print("\nT2: CURVE off on 0.0.0.0 refused (listen and events); CURVE on: starts")


def test_t3_roles_and_scope(school):
    quiz, teacher, inspector = school.client("quiz"), school.client("ms-lee"), school.client("inspector")
    # A tool outside its scope: FORBIDDEN per item, nothing of it written.
    rep = quiz.submit(evidence("t3-geo", "t3-l", "geo.angles", 0.9),
                      evidence("t3-frac", "t3-l", "frac.equivalent", 0.9, source="someone-else"))
    assert rep.status.code == pb.STATUS_OK
    items = rep.evidence_results.items
    assert items[0].status.code == pb.STATUS_FORBIDDEN
    assert items[0].status.field == "items[0].competency_id"
    assert "urn:example:geometry" in items[0].status.message
    assert items[1].status.code == pb.STATUS_OK
    listed = inspector.call(list_evidence=pb.ListEvidence(learner_id="t3-l")).evidence.items
    assert [e.evidence_id for e in listed] == ["t3-frac"]
    assert listed[0].source == "quiz"  # the authenticated name, not the claim
    # Roles per operation.
    forbidden = [
        (quiz, dict(put_framework=pb.PutFramework(json="{}"))),
        (quiz, dict(get_learner=pb.GetLearner(learner_id="t3-l"))),
        (quiz, dict(issue_transcript=pb.IssueTranscript(learner_id="t3-l"))),
        (teacher, dict(submit_evidence=pb.SubmitEvidence(items=[
            evidence("t3-t", "t3-l", "frac.equivalent", 1.0)]))),
        (teacher, dict(put_framework=pb.PutFramework(json="{}"))),
        (inspector, dict(override=pb.Override(learner_id="t3-l", framework_id="x",
                                              competency_id="y", mastered=True, reason="r"))),
    ]
    for c, op in forbidden:
        rep = c.call(**op)
        assert rep.status.code == pb.STATUS_FORBIDDEN, (op, rep)
        assert rep.status.field == "op"
    # a transcript is read like a credential: an auditor may ask (this learner has none)
    rep = inspector.call(issue_transcript=pb.IssueTranscript(learner_id="t3-l"))
    assert rep.status.code == pb.STATUS_NOT_FOUND, rep
    rep = teacher.call(override=pb.Override(
        learner_id="t3-l", framework_id="urn:example:math:fractions-g5",
        competency_id="frac.compare", mastered=True, reason="oral exam", actor="claimed"))
    assert rep.status.code == pb.STATUS_OK, rep
    ev = inspector.events().events.events
    assert [e.override.actor for e in ev if e.HasField("override")] == ["ms-lee"]
    assert inspector.call(list_frameworks=pb.ListFrameworks()).status.code == pb.STATUS_OK
    assert quiz.call(list_frameworks=pb.ListFrameworks()).status.code == pb.STATUS_OK
    written_before = evidence_count(school)

    # Remove the quiz key, SIGHUP: its next message on the same connection is refused.
    n = len(school.daemon.log)
    school.write_clients([k for k in school.keys if k != "quiz"])
    school.daemon.proc.send_signal(signal.SIGHUP)
    school.wait_log(r"SIGHUP: 4 clients", after=n)
    rep = quiz.submit(evidence("t3-after", "t3-l", "frac.equivalent", 0.9))
    assert rep.status.code == pb.STATUS_UNAUTHENTICATED, rep
    quiz.close()
    fresh = school.client("quiz", timeout_ms=1500)  # a new connection: the handshake fails
    with pytest.raises(TimeoutError):
        fresh.submit(evidence("t3-after2", "t3-l", "frac.equivalent", 0.9))
    fresh.close()
    assert evidence_count(school) == written_before
    # A broken clients file on SIGHUP: the old list stays in force.
    n = len(school.daemon.log)
    with open(school.clients_file, "a") as f:
        f.write("not-a-key someone admin\n")
    school.daemon.proc.send_signal(signal.SIGHUP)
    line = school.wait_log(r"clients file not reloaded", after=n)
    assert "clients:" in line or ":7" in line
    assert teacher.call(health=pb.Health()).status.code == pb.STATUS_OK
    teacher.close()
    inspector.close()
    print("\nT3: out-of-scope item FORBIDDEN (its sibling stored, source = authenticated name); "
          f"6 role violations FORBIDDEN; removed key + SIGHUP: UNAUTHENTICATED, "
          f"{evidence_count(school) - written_before} written")


def test_t14_key_files_logs_data_and_core_dumps(tmp_path):
    s = School(tmp_path, CLIENTS)
    d = s.start()
    key = os.path.join(s.data, "curve.key")
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert os.stat(key + ".pub").st_mode & 0o777 == 0o644
    secret = s.secret_z85()
    pid = d.proc.pid
    with open(f"/proc/{pid}/limits") as f:
        core = [l for l in f if l.startswith("Max core file size")][0]
    assert core.split()[4:6] == ["0", "0"], core
    s.load_frameworks()
    c = s.client("quiz")
    for i in range(50):
        c.submit(evidence(f"t14-{i}", "t14-l", "frac.equivalent", 0.5))
    c.close()
    assert d.stop() == 0
    # No key material in the logs or the LMDB data.
    log = "".join(d.log)
    client_secrets = [sec for _, sec in s.keys.values()]
    raws = [zmq.utils.z85.decode(k) for k in [secret] + client_secrets]
    for blob in [secret] + client_secrets:
        assert blob.decode() not in log
    with open(os.path.join(s.data, "data.mdb"), "rb") as f:
        data = f.read()
    for blob in [secret] + raws + client_secrets:
        assert blob not in data
    assert s.server_public.decode() in log  # the public key is logged, on purpose
    # A secret key others may read: refused at start, naming the mode.
    os.chmod(key, 0o640)
    r = subprocess.run([MASTERYD, "-d", "-c", s.conf, "--data", s.data,
                        "--listen", "tcp://127.0.0.1:0", "--events", "tcp://127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "640" in r.stderr and "chmod 600" in r.stderr, r.stderr
    assert secret.decode() not in r.stderr
    r = subprocess.run([MASTERYD, "-n", "-c", s.conf, "--data", s.data], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "chmod 600" in r.stderr and "INVALID" in r.stdout
    os.chmod(key, 0o600)
    r = subprocess.run([MASTERYD, "-n", "-c", s.conf, "--data", s.data], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and "configuration OK" in r.stdout, r.stderr
    # A clients file others may write: refused.
    os.chmod(s.clients_file, 0o666)
    r = subprocess.run([MASTERYD, "-n", "-c", s.conf], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "chmod go-w" in r.stderr
    print(f"\nT14: secret key mode 0600 (0640 refused), clients file 0666 refused; key bytes in "
          f"log: 0, in data.mdb ({len(data)} bytes): 0; core limit 0 and PR_SET_DUMPABLE 0")


def test_masteryctl_keygen_and_curve(school, tmp_path):
    key = str(tmp_path / "lee.key")
    r = subprocess.run([MASTERYCTL, "keygen", key], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.stat(key).st_mode & 0o777 == 0o600
    pub = open(key + ".pub").read().strip()
    assert pub in r.stdout
    r = subprocess.run([MASTERYCTL, "keygen", key], capture_output=True, text=True)
    assert r.returncode == 2 and "exists" in r.stderr
    # List the new key as a teacher, reload, and use it.
    school.keys["lee2"] = (pub.encode(), b"")
    school.roles["lee2"] = ("teacher", None)
    school.write_clients()
    n = len(school.daemon.log)
    school.daemon.proc.send_signal(signal.SIGHUP)
    school.wait_log(r"SIGHUP: 6 clients", after=n)
    server_pub = os.path.join(school.data, "curve.key.pub")
    base = [MASTERYCTL, "-e", school.daemon.endpoint, "-t", "2000"]
    r = subprocess.run(base + ["-k", key, "--server-key", server_pub, "--json", "health"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(base + ["-k", key, "--server-key", server_pub, "framework", "load", "-"],
                       input="{}", capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "FORBIDDEN" in r.stderr, (r.stdout, r.stderr)
    # Without keys: no answer (exit 3); -k without --server-key: usage error.
    r = subprocess.run(base + ["health"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 3
    r = subprocess.run(base + ["-k", key, "health"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2


def test_events_need_a_listed_key(school):
    """The PUB socket is a CURVE server too: a listed key receives events, others nothing."""
    ctx = zmq.Context.instance()

    def sub(curve_keys=None):
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        if curve_keys:
            s.curve_serverkey = school.server_public
            s.curve_publickey, s.curve_secretkey = curve_keys
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(school.daemon.events_endpoint)
        return s

    listed, anonymous, stranger = sub(school.keys["inspector"]), sub(), sub(zmq.curve_keypair())
    quiz = school.client("quiz")
    got = False
    for i in range(50):  # until the listed subscriber's subscription has reached the daemon
        quiz.submit(evidence(f"ev-{i}", f"ev-l{i}", "frac.equivalent", 1.0),
                    evidence(f"ev-{i}b", f"ev-l{i}", "frac.equivalent", 1.0))
        if listed.poll(100):
            got = True
            break
    assert got, "the listed subscriber received no event"
    assert not anonymous.poll(200) and not stranger.poll(200)
    inspector = school.client("inspector")
    assert not inspector.call(health=pb.Health()).health.dev_mode
    inspector.close()
    quiz.close()
    for s in (listed, anonymous, stranger):
        s.close()


def test_retraction_by_role(school):
    """A tool retracts only evidence it submitted, and cannot even learn that another tool's
    id exists (ids are scoped to their source); a teacher any, naming the source; an auditor
    none."""
    quiz, geo, teacher, inspector = (school.client(n) for n in ("quiz", "geo", "ms-lee", "inspector"))
    assert quiz.submit(evidence("r-1", "r-l", "frac.equivalent", 0.4),
                       evidence("r-2", "r-l", "frac.equivalent", 0.4)).evidence_results.accepted == 2

    def retract(c, eid, source=""):
        return c.call(retract_evidence=pb.RetractEvidence(evidence_id=eid, reason="typo",
                                                          source=source)).status

    st = retract(geo, "r-1")  # in geo's scope there is no r-1: quiz's item stays unknown to it
    assert st.code == pb.STATUS_NOT_FOUND and "'geo'" in st.message and "quiz" not in st.message
    st = retract(geo, "r-1", source="quiz")  # nor may it name quiz's scope
    assert st.code == pb.STATUS_FORBIDDEN and st.field == "retract_evidence.source"
    assert retract(inspector, "r-1", source="quiz").code == pb.STATUS_FORBIDDEN
    assert retract(quiz, "r-1").code == pb.STATUS_OK
    assert retract(teacher, "r-2").code == pb.STATUS_NOT_FOUND  # the teacher's own scope
    assert retract(teacher, "r-2", source="quiz").code == pb.STATUS_OK
    for c in (quiz, geo, teacher, inspector):
        c.close()


def test_evidence_ids_are_scoped_to_their_source(school):
    """Two tools may use the same evidence id: each is its own item, neither hears CONFLICT or
    learns of the other; idempotency holds per tool; events name the source of the id."""
    quiz, geo, teacher = (school.client(n) for n in ("quiz", "geo", "ms-lee"))
    rep = quiz.submit(evidence("same-1", "sc-l", "frac.equivalent", 0.3))
    assert rep.evidence_results.accepted == 1
    rep = geo.submit(evidence("same-1", "sc-l", "geo.angles", 0.95))  # other content
    assert rep.evidence_results.accepted == 1, rep
    # Per source: the same content again is a duplicate, other content a conflict.
    rep = quiz.submit(evidence("same-1", "sc-l", "frac.equivalent", 0.3))
    assert rep.evidence_results.duplicates == 1
    rep = geo.submit(evidence("same-1", "sc-l", "geo.angles", 0.1))
    st = rep.evidence_results.items[0].status
    assert st.code == pb.STATUS_CONFLICT and "quiz" not in st.message
    listed = teacher.call(list_evidence=pb.ListEvidence(learner_id="sc-l")).evidence.items
    assert sorted((e.evidence_id, e.source, e.score) for e in listed) == [
        ("same-1", "geo", 0.95), ("same-1", "quiz", 0.3)]
    # Retracting geo's leaves quiz's counted.
    st = geo.call(retract_evidence=pb.RetractEvidence(evidence_id="same-1", reason="typo")).status
    assert st.code == pb.STATUS_OK
    listed = teacher.call(list_evidence=pb.ListEvidence(learner_id="sc-l")).evidence.items
    assert {e.source: e.retracted for e in listed} == {"geo": True, "quiz": False}
    evs = teacher.events(1).events.events
    retracted = [e.evidence_retracted for e in evs if e.WhichOneof("kind") == "evidence_retracted"]
    assert [(r.evidence_id, r.source) for r in retracted] == [("same-1", "geo")]
    for c in (quiz, geo, teacher):
        c.close()


def test_events_by_role(school):
    """Issue 11 item 4: a subscription is authorized by the subscriber's key, as ReadEvents is.
    Tools (FORBIDDEN on ReadEvents) receive nothing, whatever topic they ask for, including one
    naming a kind and learner exactly; an auditor and a teacher receive every event."""
    ctx = zmq.Context.instance()

    def sub(name, *topics):
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.curve_serverkey = school.server_public
        s.curve_publickey, s.curve_secretkey = school.keys[name]
        for t in topics:
            s.setsockopt(zmq.SUBSCRIBE, t)
        s.connect(school.daemon.events_endpoint)
        return s

    def drain(s, wait_ms=300):
        out = []
        while s.poll(wait_ms):
            topic, body = s.recv_multipart()
            ev = pb.Event()
            ev.ParseFromString(body)
            out.append((topic, ev))
            wait_ms = 50
        return out

    tools = [sub("quiz", b""), sub("quiz", b"mastered/", b"credential_issued/"),
             sub("geo", b"mastered/ev-role-0/"), sub("geo", b"")]
    auditor, teacher = sub("inspector", b""), sub("ms-lee", b"mastered/")
    quiz = school.client("quiz")
    for i in range(50):  # until the auditor's subscription has reached the daemon
        quiz.submit(evidence(f"warm-{i}", f"warm-l{i}", "frac.equivalent", 1.0))
        if auditor.poll(100) and teacher.poll(100):
            break
    drain(auditor), drain(teacher)
    inspector = school.client("inspector")
    first = inspector.events().events.last_seq + 1
    for i in range(10):
        quiz.submit(evidence(f"ev-role-{i}", f"ev-role-{i}", "frac.equivalent", 1.0),
                    evidence(f"ev-role-{i}b", f"ev-role-{i}", "frac.equivalent", 1.0))
    stored = [e for e in inspector.events(from_seq=first).events.events]
    got = drain(auditor, 2000)
    # Checkpoints of the transparency log are published too (seq 0, never stored).
    checkpoints = [e for t, e in got if t.startswith(b"checkpoint/")]
    got = [(t, e) for t, e in got if not t.startswith(b"checkpoint/")]
    assert checkpoints and all(e.seq == 0 and e.checkpoint.size for e in checkpoints)
    assert [e.seq for _, e in got] == [e.seq for e in stored] and len(stored) >= 10
    mastered = [e.seq for e in stored if e.WhichOneof("kind") == "mastered"]
    assert [e.seq for _, e in drain(teacher, 2000)] == mastered and mastered
    leaked = sum(len(drain(t, 500)) for t in tools)
    assert leaked == 0, f"{leaked} events reached tool keys"
    assert school.wait_log(r"events: quiz \(tool\) may not subscribe")
    # The teacher's key is removed: SIGHUP makes every subscriber authorize again, so the
    # teacher's live subscription ends while the auditor's resumes after its reconnect.
    n = len(school.daemon.log)
    school.write_clients([k for k in school.keys if k != "ms-lee"])
    school.daemon.proc.send_signal(signal.SIGHUP)
    school.wait_log(r"SIGHUP: 4 clients", after=n)
    for i in range(100):  # until the auditor's new subscription is in place
        quiz.submit(evidence(f"after-{i}", f"after-{i}", "frac.equivalent", 1.0),
                    evidence(f"after-{i}b", f"after-{i}", "frac.equivalent", 1.0))
        if auditor.poll(100):
            break
    assert drain(auditor), "the auditor receives events again after the reload"
    assert drain(teacher, 500) == []
    print(f"\nevents by role: auditor received {len(got)} of {len(stored)} events, teacher "
          f"{len(mastered)} mastered; 4 tool subscriptions (all, forged kind and learner "
          f"topics) received 0")
    for s in tools + [auditor, teacher]:
        s.close()
    quiz.close()
    inspector.close()
