#!/usr/bin/python3
"""Cluster mode: how long a node takes to rebuild partitions from the stream, and how long a
failover takes (issue 17). Prints numbers; asserts only that every item came back.

One nats-server (JetStream, one replica: the rebuild is bound by masteryd's application, not by
replication) on loopback, in a temporary directory.

rebuild: one node (cluster_nodes 1) takes --items evidence items (batches of 100 over
  --learners learners of schemas/examples/fractions.json), applies them, stops; its data.mdb
  is removed (the keys stay) and it starts again: it claims every partition from the stream's
  first message. Reported: items applied per second and seconds per million items, from its
  start to every partition's applied sequence equal to the one before (medians of --runs).
failover: two nodes (lease --lease-ms); node 0 is SIGKILLed; reported: the time from the kill
  until node 1 holds node 0's partitions, and until an item sent to node 1 for a learner of one
  of them is readable (applied by node 1).

    MASTERY_BIN=build-rel/bin /usr/bin/python3 tests/bench/bench_cluster_rebuild.py
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MASTERY_BIN", os.path.join(HERE, "../../build/bin"))
os.environ.setdefault("MASTERY_PYGEN", os.path.join(os.environ["MASTERY_BIN"], "../gen/python"))
os.environ.setdefault("MASTERY_SRC", os.path.join(HERE, "../.."))
from conftest import EXAMPLES, Client, Daemon, evidence, pb  # noqa: E402

PARTITIONS = 6
FW = os.path.join(EXAMPLES, "fractions.json")
COMPETENCIES = ["frac.equivalent", "frac.compare", "frac.common-denominator", "frac.add-like",
                "frac.subtract-like"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def partition_of(learner):
    import hashlib
    h = hashlib.sha256(b"masteryd-partition\x00" + learner.encode()).digest()
    return int.from_bytes(h[:8], "big") % PARTITIONS


def metrics(client):
    text = client.call(metrics=pb.Metrics()).metrics.text
    held = {int(p): int(v) for p, v in
            re.findall(r'masteryd_cluster_partition_held\{partition="(\d+)"\} (\d+)', text)}
    applied = {int(p): int(v) for p, v in
               re.findall(r'masteryd_cluster_applied_seq\{partition="(\d+)"\} (\d+)', text)}
    return held, applied


class Nats:
    def __init__(self, root):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["nats-server", "-js", "-sd", os.path.join(root, "js"), "-a", "127.0.0.1",
             "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def node(root, i, nodes, nats, lease_ms):
    conf = os.path.join(root, "node%d.conf" % i)
    with open(conf, "w") as f:
        f.write("key_dir = %s\ncluster_nats = nats://127.0.0.1:%d\ncluster_node = %d\n"
                "cluster_nodes = %d\ncluster_replicas = 1\ncluster_partitions = %d\n"
                "cluster_lease_ms = %d\n" % (os.path.join(root, "keys"), nats.port, i, nodes,
                                             PARTITIONS, lease_ms))
    return Daemon(os.path.join(root, "data%d" % i), ["-c", conf])


def load(client, items, learners):
    sent = 0
    n = 0
    while sent < items:
        batch = []
        for _ in range(min(100, items - sent)):
            learner = "s-%06d" % (n % learners)
            batch.append(evidence("e-%d" % n, learner, COMPETENCIES[(n // learners) % 5],
                                  0.5 + (n % 50) / 100, source="bench"))
            n += 1
        rep = client.submit(*batch)
        assert rep.status.code == pb.STATUS_OK and rep.evidence_results.accepted == len(batch), rep
        sent += len(batch)


def wait_applied(client, want, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        held, applied = metrics(client)
        if all(applied.get(p, 0) >= s for p, s in want.items()):
            return
        time.sleep(0.02)
    raise RuntimeError("not applied in time")


def rebuild(args, root):
    nats = Nats(root)
    try:
        d = node(root, 0, 1, nats, args.lease_ms).start()
        c = Client(d.endpoint, timeout_ms=60000)
        assert c.put_framework_file(FW).status.code == pb.STATUS_OK
        load(c, args.items, args.learners)
        while True:  # every partition applied: the stream's sequences stop moving
            _, before = metrics(c)
            time.sleep(0.5)
            if metrics(c)[1] == before:
                break
        c.close()
        d.stop()
        os.remove(os.path.join(root, "data0", "data.mdb"))
        t0 = time.time()
        d = node(root, 0, 1, nats, args.lease_ms).start()
        c = Client(d.endpoint, timeout_ms=60000)
        wait_applied(c, before)
        seconds = time.time() - t0
        learner = c.learner("s-000000")
        assert learner.status.code == pb.STATUS_OK
        c.close()
        d.stop()
        return seconds
    finally:
        nats.stop()


def failover(args, root):
    nats = Nats(root)
    try:
        d0 = node(root, 0, 2, nats, args.lease_ms).start()
        c0 = Client(d0.endpoint, timeout_ms=60000)
        assert c0.put_framework_file(FW).status.code == pb.STATUS_OK
        d1 = node(root, 1, 2, nats, args.lease_ms).start()
        c1 = Client(d1.endpoint, timeout_ms=60000)
        while True:  # both hold their preferred partitions
            h0, _ = metrics(c0)
            h1, _ = metrics(c1)
            if all(h0.get(p) == (p % 2 == 0) and h1.get(p) == (p % 2 == 1)
                   for p in range(PARTITIONS)):
                break
            time.sleep(0.05)
        learner = next("s-f%04d" % i for i in range(1000) if partition_of("s-f%04d" % i) == 0)
        d0.kill()
        t0 = time.time()
        while not all(metrics(c1)[0].get(p) == 1 for p in range(PARTITIONS)):
            time.sleep(0.01)
        held = time.time() - t0
        n = 0
        while True:
            n += 1
            rep = c1.submit(evidence("f-%d" % n, learner, "frac.equivalent", 0.9, source="bench"))
            if rep.status.code == pb.STATUS_OK and rep.evidence_results.accepted == 1:
                break
            time.sleep(0.01)
        while True:
            ev = c1.call(list_evidence=pb.ListEvidence(learner_id=learner))
            if ev.status.code == pb.STATUS_OK and len(ev.evidence.items) >= 1:
                break
            time.sleep(0.01)
        readable = time.time() - t0
        c0.close()
        c1.close()
        d1.stop()
        return held, readable
    finally:
        nats.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50000)
    ap.add_argument("--learners", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lease-ms", type=int, default=1500)
    args = ap.parse_args()
    rb, fo_held, fo_read = [], [], []
    for r in range(args.runs):
        root = tempfile.mkdtemp(prefix="bench-cluster-")
        try:
            rb.append(rebuild(args, root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        root = tempfile.mkdtemp(prefix="bench-cluster-")
        try:
            h, rd = failover(args, root)
            fo_held.append(h)
            fo_read.append(rd)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print("run %d: rebuild %.2f s (%d items), failover held %.2f s, readable %.2f s" %
              (r + 1, rb[-1], args.items, fo_held[-1], fo_read[-1]), flush=True)
    m = statistics.median(rb)
    print("rebuild from the stream: %d items in %.2f s (median of %d): %.0f items/s, "
          "%.1f s per million items" % (args.items, m, args.runs, args.items / m,
                                        m / args.items * 1e6))
    print("failover (lease %d ms): partitions held after %.2f s, a new item readable after "
          "%.2f s (medians)" % (args.lease_ms, statistics.median(fo_held),
                                statistics.median(fo_read)))
    print("load average: %s" % open("/proc/loadavg").read().split()[0])


if __name__ == "__main__":
    main()
