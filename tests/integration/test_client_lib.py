"""libmasteryclient against the real daemon, through client_drive (tests/integration/client_drive.c):
a window of requests in flight, resubmission answered DUPLICATE, the stored-then-live event
stream without gaps or repeats while evidence keeps coming, no reply, and CURVE."""
import json
import os
import queue
import signal
import subprocess
import threading
import time

import zmq
import zmq.utils.z85

from conftest import BIN, evidence, pb
from secure import School

DRIVE = os.path.join(BIN, "client_drive")


def drive(endpoint, *args, events=None, timeout=120):
    cmd = [DRIVE, "-e", endpoint] + (["-E", events] if events else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


# Mastering "a" (latest >= 0.8) unlocks "b": every first good score on "a" makes events.
FRAMEWORK = {"id": "urn:test:lib", "title": "client library test", "competencies": [
    {"id": "a", "title": "A", "rule": {"method": "latest", "threshold": 0.8}},
    {"id": "b", "title": "B", "requires": {"all": ["a"]},
     "rule": {"method": "latest", "threshold": 0.8}}]}


def load_framework(client):
    rep = client.call(put_framework=pb.PutFramework(json=json.dumps(FRAMEWORK)))
    assert rep.status.code == 0, rep.status


def accepted(rep):
    return rep.status.code == 0 and rep.evidence_results.accepted == len(rep.evidence_results.items)


def test_window_submits_then_duplicates(daemon, client):
    load_framework(client)
    r = drive(daemon.endpoint, "submit", "3000", "100", "8", "w", "a")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "accepted 3000 duplicates 0 rejected 0\n"
    # The same ids again (a client that lost its acknowledgements): nothing new is written.
    r = drive(daemon.endpoint, "submit", "3000", "250", "4", "w", "a")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "accepted 0 duplicates 3000 rejected 0\n"
    r = drive(daemon.endpoint, "health")
    assert r.returncode == 0 and "evidence 3000 dev_mode 1" in r.stdout, r.stdout
    # Items the daemon refuses are counted, each once.
    r = drive(daemon.endpoint, "submit", "10", "10", "1", "x", "no.such.competency")
    assert r.returncode == 0 and r.stdout == "accepted 0 duplicates 0 rejected 10\n", r.stdout


def test_events_stored_then_live_without_gaps(daemon, client):
    load_framework(client)
    for i in range(10):
        assert accepted(client.submit(evidence(f"pre-{i}", f"s{i}", "a", 0.95)))
    p = subprocess.Popen([DRIVE, "-e", daemon.endpoint, "-E", daemon.events_endpoint, "events", "1",
                          "follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in p.stdout], daemon=True).start()
    try:
        # Evidence keeps coming while the reader replays the store and switches to PUB.
        for i in range(40):
            assert accepted(client.submit(evidence(f"live-{i}", f"s{i % 10}", "b", 0.95),
                                          evidence(f"live-{i}b", f"t{i}", "a", 0.9)))
        last = client.call(health=pb.Health()).health.last_seq
        seqs, deadline = [], time.time() + 30
        while (not seqs or seqs[-1] < last) and time.time() < deadline:
            try:
                seq, kind = lines.get(timeout=1).split()
            except queue.Empty:
                continue
            assert seq != "gap", "a gap the store should have filled"
            seqs.append(int(seq))
        assert last > 80 and seqs == list(range(1, last + 1))
        # The stored page agrees with what came live.
        stored = client.events(last, 1).events.events
        assert stored[0].seq == last
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=10)
    assert rc == 0, p.stderr.read()


def test_stored_events_end(daemon, client):
    load_framework(client)
    assert accepted(client.submit(evidence("e1", "s1", "a", 0.95)))
    last = client.call(health=pb.Health()).health.last_seq
    assert last >= 3
    r = drive(daemon.endpoint, "events", "2")
    assert r.returncode == 0, r.stderr
    assert [int(x.split()[0]) for x in r.stdout.splitlines()] == list(range(2, last + 1))
    assert r.stdout.splitlines()[0].split()[1] in ("evidence_accepted", "unlocked", "mastered")


def test_no_reply():
    r = drive("tcp://127.0.0.1:1", "-t", "100", "health")
    assert r.returncode == 3
    assert "no reply from tcp://127.0.0.1:1 within 100 ms (3 attempts)" in r.stderr


def write_keys(path, public, secret):
    with open(path, "wb") as f:
        f.write(secret + b"\n")
    os.chmod(path, 0o600)
    with open(path + ".pub", "wb") as f:
        f.write(public + b"\n")


def test_curve(tmp_path):
    school = School(tmp_path / "school", [("inspector", "auditor", None)])
    daemon = school.start()
    try:
        key = str(tmp_path / "inspector.key")
        write_keys(key, *school.keys["inspector"])
        server_pub = os.path.join(school.data, "curve.key.pub")
        r = drive(daemon.endpoint, "-k", key, "-s", server_pub, "health")
        assert r.returncode == 0 and "dev_mode 0" in r.stdout, r.stderr
        r = drive(daemon.endpoint, "-k", key, "-s", server_pub, "events", "1")
        assert r.returncode == 0, r.stderr  # a reading role may replay events
        stranger = str(tmp_path / "stranger.key")
        write_keys(stranger, *zmq.curve_keypair())
        r = drive(daemon.endpoint, "-t", "200", "-k", stranger, "-s", server_pub, "health")
        assert r.returncode == 3, r.stderr  # an unlisted key never finishes the handshake
        r = drive(daemon.endpoint, "-t", "200", "health")
        assert r.returncode == 3, r.stderr  # nor does a client without CURVE
    finally:
        assert daemon.stop() == 0
