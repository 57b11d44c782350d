"""Shared fixtures: a real masteryd on ephemeral loopback ports, a protocol client, masteryctl.

Environment (set by ctest): MASTERY_BIN (build/bin), MASTERY_PYGEN (generated *_pb2.py),
MASTERY_SRC (the source tree).
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import zmq

BIN = os.environ.get("MASTERY_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
SRC = os.environ.get("MASTERY_SRC", os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.environ.get("MASTERY_PYGEN", os.path.join(BIN, "../gen/python")))

from mastery.v1 import mastery_pb2 as pb  # noqa: E402

EXAMPLES = os.path.join(SRC, "schemas", "examples")
# Public test vectors, copied into the repository with their provenance (tests/vectors/README.md).
VECTORS = os.path.abspath(os.path.join(SRC, "tests", "vectors"))


_LIVE = set()


def _kill_leftovers():
    """A test that fails between start() and stop() must not leave a daemon running."""
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()


import atexit  # noqa: E402

atexit.register(_kill_leftovers)


# Secure mode refuses the development placeholders for the issuer: a school's identity.
SCHOOL_ISSUER = ("issuer_name = Lincoln Elementary\n"
                 "issuer_url = https://lincoln.example.edu\n"
                 "status_base_url = https://lincoln.example.edu/masteryd/status\n")


class Daemon:
    """One masteryd process. start() waits for its "ready" log line and learns the endpoints."""

    def __init__(self, data_dir, extra_args=(), wrapper=()):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.wrapper = list(wrapper)  # e.g. valgrind and its flags
        self.proc = None
        self.endpoint = None
        self.events_endpoint = None
        self.log = []

    def start(self, listen="tcp://127.0.0.1:*", events="tcp://127.0.0.1:*"):
        args = self.wrapper + [os.path.join(BIN, "masteryd"), "-d", "-v", "--data", self.data_dir,
                               "--listen", listen, "--events", events] + self.extra_args
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        _LIVE.add(self.proc)
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"requests on (\S+)", line)
            if m:
                self.endpoint = m.group(1)
            m = re.search(r"events on (\S+)", line)
            if m:
                self.events_endpoint = m.group(1)
            if "ready" in line:
                break
        if self.endpoint is None or self.proc.poll() is not None:
            raise RuntimeError("masteryd did not start:\n" + "".join(self.log))
        # Keep draining stderr so the daemon never blocks on a full pipe.
        import threading
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        _LIVE.discard(self.proc)
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)


class Client:
    """A DEALER speaking the masteryd protocol: one request, one reply."""

    def __init__(self, endpoint, timeout_ms=10000):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.timeout_ms = timeout_ms

    def close(self):
        self.sock.close(0)

    def send_raw(self, payload):
        self.sock.send_multipart([b"", payload])

    def recv_reply(self):
        if not self.sock.poll(self.timeout_ms):
            raise TimeoutError("no reply")
        frames = self.sock.recv_multipart()
        assert frames[0] == b"", frames
        rep = pb.Reply()
        rep.ParseFromString(frames[-1])
        return rep

    def call(self, **op):
        req = pb.Request(request_id=uuid.uuid4().hex, **op)
        self.send_raw(req.SerializeToString())
        rep = self.recv_reply()
        assert rep.request_id == req.request_id
        return rep

    # Conveniences
    def put_framework_file(self, path):
        with open(path) as f:
            return self.call(put_framework=pb.PutFramework(json=f.read()))

    def submit(self, *items):
        return self.call(submit_evidence=pb.SubmitEvidence(items=list(items)))

    def learner(self, learner_id, framework_id=""):
        return self.call(get_learner=pb.GetLearner(learner_id=learner_id,
                                                   framework_id=framework_id))

    def events(self, from_seq=1, limit=0):
        return self.call(read_events=pb.ReadEvents(from_seq=from_seq, limit=limit))


def evidence(eid, learner, competency, score, observed_at_ms=0, **kw):
    return pb.Evidence(evidence_id=eid, learner_id=learner, competency_id=competency,
                       score=score, observed_at_ms=observed_at_ms, **kw)


def states(reply, framework_id=None):
    """{competency_id: (status name, score)} from a GetLearner reply."""
    out = {}
    for fw in reply.learner.frameworks:
        if framework_id and fw.framework_id != framework_id:
            continue
        for c in fw.competencies:
            out[c.competency_id] = (pb.CompetencyStatus.Name(c.status), c.score)
    return out


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="masteryd-test-") as d:
        yield d


@pytest.fixture
def daemon(data_dir):
    d = Daemon(data_dir).start()
    yield d
    rc = d.stop()
    assert rc == 0, "masteryd did not shut down cleanly:\n" + "".join(d.log)


@pytest.fixture
def client(daemon):
    c = Client(daemon.endpoint)
    yield c
    c.close()


def ctl(daemon, *args, input=None, timeout=60):
    """Runs masteryctl against the daemon; returns CompletedProcess (text)."""
    cmd = [os.path.join(BIN, "masteryctl"), "-e", daemon.endpoint] + list(args)
    return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
