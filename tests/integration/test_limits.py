"""Bounded input and memory (issue 5): T4 (a flood of bad input: RSS bounded, nothing written,
others unaffected) and T10 (idle connections, a slowloris peer and a subscriber that never
reads do not slow a well-behaved client down). Tests never assert timings on the shared 2-core
machine: T10 prints its ratio and asserts only that the client keeps being served."""
import json
import os
import socket
import statistics
import threading
import time

import zmq

from conftest import Client, evidence, pb

FW = {"id": "urn:test:limits", "title": "Limits", "version": "1",
      "competencies": [{"id": "a", "title": "A"}, {"id": "b", "title": "B", "requires": {"all": ["a"]}}]}
SANITIZED = os.environ.get("MASTERY_SANITIZE", "0") in ("1", "ON", "TRUE")
MAX_FRAME = 1 << 20
RSS_BOUND_MIB = 192  # release build; ASan's shadow memory and quarantine are not bounded by us


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def unknown_field_request(i):
    req = pb.Request(request_id=f"unk-{i}", health=pb.Health()).SerializeToString()
    return req + bytes([0xF8, 0x07, 0x01])  # field 127, varint 1: not in the schema


def big_batch(i):
    """1000 items whose ids are 256 bytes (the maximum) and whose competency is unknown."""
    items = [pb.Evidence(evidence_id=(f"big-{i}-{k}-" + "e" * 256)[:256],
                         learner_id=("l" * 256), competency_id=("c" * 256), score=0.5)
             for k in range(1000)]
    return pb.Request(request_id=f"big-{i}", submit_evidence=pb.SubmitEvidence(items=items))


class Flood(threading.Thread):
    """One abusive peer: sends its payloads as fast as the daemon answers them."""

    def __init__(self, endpoint, payloads, expect_reply=True):
        super().__init__()
        self.endpoint, self.payloads, self.expect_reply = endpoint, payloads, expect_reply
        self.codes = []

    def run(self):
        for p in self.payloads:
            c = Client(self.endpoint, timeout_ms=20000)
            try:
                c.send_raw(p)
                if self.expect_reply:
                    self.codes.append(c.recv_reply().status.code)
                else:
                    time.sleep(0.05)
            finally:
                c.close()


def test_t4_flood_of_bad_input_is_bounded(daemon, client):
    assert client.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == pb.STATUS_OK
    pid = daemon.proc.pid
    rss_start = status_kib(pid, "VmRSS")
    big = big_batch(0).SerializeToString()
    assert len(big) <= MAX_FRAME, len(big)
    over = b"\x0a" + b"x" * (MAX_FRAME + MAX_FRAME // 2)  # refused with a reply naming the limit
    huge = b"\x0a" + b"x" * (3 * MAX_FRAME)                # over 2x max_frame: connection dropped
    floods = [Flood(daemon.endpoint, [big_batch(i).SerializeToString() for i in range(k * 25, k * 25 + 25)])
              for k in range(3)]
    floods += [Flood(daemon.endpoint, [over] * 40), Flood(daemon.endpoint, [huge] * 40, False),
               Flood(daemon.endpoint, [unknown_field_request(i) for i in range(200)])]
    steady_ok, steady_bad = 0, 0
    steady = Client(daemon.endpoint)
    [f.start() for f in floods]
    peak = 0
    while any(f.is_alive() for f in floods):
        rep = steady.submit(evidence(f"t4-steady-{steady_ok + steady_bad}", "t4-l", "a", 0.7))
        if rep.status.code == pb.STATUS_OK and rep.evidence_results.accepted == 1:
            steady_ok += 1
        else:
            steady_bad += 1
        peak = max(peak, status_kib(pid, "VmRSS"))
    [f.join() for f in floods]
    hwm = status_kib(pid, "VmHWM")
    big_codes = [c for f in floods[:3] for c in f.codes]
    assert len(big_codes) == 75 and set(big_codes) == {pb.STATUS_OK}  # per-item NOT_FOUND
    assert set(floods[3].codes) == {pb.STATUS_INVALID}
    assert set(floods[5].codes) == {pb.STATUS_INVALID}
    count = client.call(health=pb.Health()).health.evidence_count
    assert count == steady_ok, (count, steady_ok)
    assert steady_bad == 0 and steady_ok > 0
    # The daemon is still fine.
    rep = client.submit(evidence("t4-after", "t4-l", "a", 0.9))
    assert rep.evidence_results.accepted == 1
    steady.close()
    print(f"\nT4: 75 batches of 1000 max-size items ({len(big) >> 10} KiB each), 40 frames of "
          f"1.5 MiB, 40 of 3 MiB, 200 with unknown fields: 0 written by them; steady client "
          f"{steady_ok} acks, 0 failures; RSS {rss_start >> 10} MiB at start, peak sampled "
          f"{peak >> 10} MiB, VmHWM {hwm >> 10} MiB (bound asserted: {RSS_BOUND_MIB} MiB"
          f"{', not under ASan' if SANITIZED else ''})")
    if not SANITIZED:
        assert hwm < RSS_BOUND_MIB * 1024, hwm


def ack_latencies(endpoint, n, tag, min_seconds=0.0):
    c = Client(endpoint)
    out = []
    until = time.time() + min_seconds
    i = 0
    while i < n or time.time() < until:
        t = time.perf_counter()
        rep = c.submit(evidence(f"{tag}-{i}", f"{tag}-l{i % 50}", "a" if i % 2 else "b", 0.9))
        out.append(time.perf_counter() - t)
        assert rep.status.code == pb.STATUS_OK and rep.evidence_results.accepted == 1
        i += 1
    c.close()
    return out


def p99(xs):
    return statistics.quantiles(xs, n=100)[98]


def test_t10_idle_slowloris_and_deaf_subscriber(daemon, client):
    assert client.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == pb.STATUS_OK
    ack_latencies(daemon.endpoint, 50, "warm")
    base = ack_latencies(daemon.endpoint, 300, "base")
    ctx = zmq.Context.instance()
    idle = []
    for _ in range(100):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(daemon.endpoint)
        idle.append(s)
    deaf = ctx.socket(zmq.SUB)
    deaf.setsockopt(zmq.RCVHWM, 1)
    deaf.setsockopt(zmq.LINGER, 0)
    deaf.setsockopt(zmq.SUBSCRIBE, b"")
    deaf.connect(daemon.events_endpoint)
    host, port = daemon.endpoint.replace("tcp://", "").rsplit(":", 1)
    stop = threading.Event()
    slow_bytes = [0]

    def slowloris():
        greeting = b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00NULL" + b"\x00" * 48
        with socket.create_connection((host, int(port))) as sk:
            for b in greeting:
                if stop.is_set():
                    return
                try:
                    sk.send(bytes([b]))
                except OSError:
                    return  # dropped by the handshake timeout: that is the point
                slow_bytes[0] += 1
                stop.wait(1.0)

    slow = threading.Thread(target=slowloris)
    slow.start()
    time.sleep(0.5)
    loaded = ack_latencies(daemon.endpoint, 300, "loaded", min_seconds=8.0)
    stop.set()
    slow.join()
    for s in idle:
        s.close()
    deaf.close()
    ratio = p99(loaded) / p99(base)
    print(f"\nT10: ack p99 {p99(base) * 1000:.2f} ms alone, {p99(loaded) * 1000:.2f} ms with 100 "
          f"idle connections, a slowloris peer ({slow_bytes[0]} bytes at 1/s) and a deaf "
          f"subscriber: ratio {ratio:.2f} over {len(loaded)} acks (target < 2; printed, not asserted)")
    assert len(loaded) >= 300
    assert client.call(health=pb.Health()).status.code == pb.STATUS_OK
