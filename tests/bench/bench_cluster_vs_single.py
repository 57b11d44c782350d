#!/usr/bin/python3
"""Cluster ingestion vs one masteryd, in the same run on this machine (issue 17). Prints
numbers; asserts nothing beyond every item being acknowledged.

Each run starts fresh: one masteryd without a cluster, then three NATS nodes and three shards
(tests/integration/natscluster.py, test_cluster.Shard), alternating, and sends the same items
from --clients closed-loop clients in batches of --batch (clients spread over the shards). It
reports acknowledged items/s (an acknowledgement: synced in LMDB for one node, stored by a
JetStream quorum for the cluster) and, for the cluster, applied items/s (until every shard
applied its partitions: consumers drained), then the rebuild time of shard 1 after its store
is removed (from its empty start until every partition is caught up again), per million
items of its partitions. Medians of --runs runs, with the load average.

    MASTERY_BIN=build/bin /usr/bin/python3 tests/bench/bench_cluster_vs_single.py [--items 20000]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MASTERY_BIN", os.path.join(HERE, "../../build/bin"))
os.environ.setdefault("MASTERY_PYGEN", os.path.join(os.environ["MASTERY_BIN"], "../gen/python"))
os.environ.setdefault("MASTERY_SRC", os.path.join(HERE, "../.."))
from conftest import Client, Daemon, pb  # noqa: E402
from natscluster import NatsCluster  # noqa: E402
import test_cluster as tc  # noqa: E402


def batches(args):
    """Every client's batches: distinct learners per batch, fixed content."""
    out = [[] for _ in range(args.clients)]
    n = 0
    while n < args.items:
        for c in range(args.clients):
            items = []
            for _ in range(min(args.batch, args.items - n)):
                items.append(pb.Evidence(
                    evidence_id=f"b-{n}", learner_id=f"bl-{n % args.learners}",
                    competency_id=("cl.a", "cl.b", "cl.c")[n % 3], score=0.5 + (n % 50) / 100,
                    observed_at_ms=1_790_000_000_000 + n * 1000, source="bench"))
                n += 1
            if items:
                out[c].append(items)
    return out


def drive(endpoints, plans):
    """Closed loop: client c sends its batches in turn, batch k to endpoints[(c+k) % n],
    resending (same ids) on a timeout or UNAVAILABLE. Returns seconds until all acknowledged."""
    def main(c):
        k = 0
        for items in plans[c]:
            pending = items
            while pending:
                cl = Client(endpoints[(c + k) % len(endpoints)], timeout_ms=10000)
                k += 1
                try:
                    rep = cl.call(submit_evidence=pb.SubmitEvidence(items=pending))
                except TimeoutError:
                    continue
                finally:
                    cl.close()
                if rep.status.code == pb.STATUS_UNAVAILABLE:
                    continue
                assert rep.status.code == pb.STATUS_OK, rep.status
                left = []
                for it, r in zip(pending, rep.evidence_results.items):
                    if r.status.code == pb.STATUS_UNAVAILABLE:
                        left.append(it)
                    else:
                        assert r.status.code in (pb.STATUS_OK, pb.STATUS_DUPLICATE), r
                pending = left

    threads = [threading.Thread(target=main, args=(c,)) for c in range(len(plans))]
    t0 = time.time()
    [t.start() for t in threads]
    [t.join() for t in threads]
    return time.time() - t0


def put_chain(endpoint):
    c = Client(endpoint, timeout_ms=20000)
    rep = c.call(put_framework=pb.PutFramework(json=tc.json.dumps(tc.CHAIN)))
    c.close()
    assert rep.status.code == pb.STATUS_OK, rep.status


def run_single(plans, tmp):
    d = Daemon(os.path.join(tmp, "single")).start()
    try:
        put_chain(d.endpoint)
        return drive([d.endpoint], plans)
    finally:
        d.stop()


def run_cluster(plans, tmp):
    nc = NatsCluster(os.path.join(tmp, "nats"), tc.NODES)
    shards = [tc.Shard(tmp, i, nc.urls(), os.path.join(tmp, "keys")) for i in range(tc.NODES)]
    try:
        nc.start().wait_ready(30)
        for s in shards:
            s.start()
        tc.wait_until(lambda: tc.caught_up(nc, shards), "partitions not spread", 60)
        put_chain(shards[0].endpoint)
        for s in shards:
            tc.wait_until(lambda: tc.CHAIN["id"] in tc.framework_ids(s.endpoint),
                          "framework not everywhere", 60)
        t0 = time.time()
        acked = drive([s.endpoint for s in shards], plans)
        tc.wait_until(lambda: tc.caught_up(nc, shards), "never caught up", 600)
        applied = time.time() - t0
        # Rebuild: shard 1 loses its store (stopped, data removed) and starts empty; it claims
        # its partitions again from the stream's first message.
        mine = {p for p in range(tc.PARTITIONS) if p % tc.NODES == 1}
        items = sum(1 for plan in plans for b in plan for it in b
                    if tc.partition(it.learner_id) in mine)
        shards[1].stop()
        shutil.rmtree(shards[1].data)
        t1 = time.time()
        shards[1].start()
        tc.wait_until(lambda: tc.caught_up(nc, shards), "never rebuilt", 600)
        return acked, applied, items, time.time() - t1
    finally:
        for s in shards:
            s.stop()
        nc.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--learners", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    plans = batches(args)
    single, acked, applied, rebuild = [], [], [], []
    for r in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
            s = run_single(plans, tmp)
            a, ap_, items, rb = run_cluster(plans, tmp)
        single.append(args.items / s)
        acked.append(args.items / a)
        applied.append(args.items / ap_)
        rebuild.append(rb / items * 1e6)
        print(f"run {r + 1}: single {single[-1]:.0f} items/s; cluster acknowledged "
              f"{acked[-1]:.0f} items/s, applied {applied[-1]:.0f} items/s; rebuild of "
              f"{items} items {rb:.2f} s ({rebuild[-1]:.0f} s per million); "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"median of {args.runs}: {args.items} items, batch {args.batch}, {args.clients} clients,"
          f" {os.cpu_count()} cores")
    print(f"  single node          {statistics.median(single):8.0f} items/s (acknowledged)")
    print(f"  cluster, 3+3 nodes   {statistics.median(acked):8.0f} items/s acknowledged, "
          f"{statistics.median(applied):8.0f} items/s applied")
    print(f"  rebuild of an empty shard from the stream: {statistics.median(rebuild):.0f} s per "
          "million items (from its start until every partition is caught up)")


if __name__ == "__main__":
    main()
