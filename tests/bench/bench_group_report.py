#!/usr/bin/python3
"""GroupReport through the daemon (issue 15): a framework the size of a real standards map
(480 competencies, 757 prerequisite edges), classes of 1 000 and 10 000 learners with
evidence, and the time from request to reply (median, p90, max of --runs runs, without and
with --cells). Prints numbers; asserts nothing.

    MASTERY_BIN=build/bin /usr/bin/python3 tests/bench/bench_group_report.py [--learners 1000,10000]
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MASTERY_BIN", os.path.join(HERE, "../../build/bin"))
os.environ.setdefault("MASTERY_PYGEN", os.path.join(os.environ["MASTERY_BIN"], "../gen/python"))
from conftest import Client, Daemon, pb  # noqa: E402


def framework(rng, n=480, edges=757):
    comps = [{"id": f"c{i:03d}", "title": f"Competency {i}"} for i in range(n)]
    req = {i: set() for i in range(n)}
    count = 0
    for i in range(1, n):  # every competency but the first needs one earlier one...
        req[i].add(rng.randrange(max(0, i - 30), i))
        count += 1
    while count < edges:  # ...and some need two
        i = rng.randrange(2, n)
        j = rng.randrange(max(0, i - 30), i)
        if j not in req[i]:
            req[i].add(j)
            count += 1
    for i, c in enumerate(comps):
        if req[i]:
            c["requires"] = {"all": [f"c{j:03d}" for j in sorted(req[i])]}
        c["rule"] = {"method": "latest", "threshold": 0.8}
    return {"id": "urn:bench:map", "title": "Bench map", "version": "1", "competencies": comps}, \
        count


def topo_ready(fw):
    return [c["id"] for c in fw["competencies"]]


def load(client, fw, learners, rng, per_learner):
    order = topo_ready(fw)
    items, n, t0 = [], 0, time.time()
    for li, l in enumerate(learners):
        depth = rng.randrange(0, per_learner)
        for k in range(depth):  # mastered in order: unlocks follow
            n += 1
            items.append(pb.Evidence(evidence_id=f"b{n}", learner_id=l, competency_id=order[k],
                                     score=0.9, observed_at_ms=1_700_000_000_000 + n))
        for k in range(rng.randrange(0, 4)):  # some low scores on what is next
            n += 1
            items.append(pb.Evidence(evidence_id=f"b{n}", learner_id=l,
                                     competency_id=order[min(depth, len(order) - 1)],
                                     score=0.3, observed_at_ms=1_700_000_000_000 + n))
        while len(items) >= 1000 or (li == len(learners) - 1 and items):
            rep = client.submit(*items[:1000])
            assert rep.status.code == pb.STATUS_OK, rep.status
            items = items[1000:]
    return n, time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", default="1000,10000")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--per-learner", type=int, default=40)
    args = ap.parse_args()
    rng = random.Random(15)
    fw, edges = framework(rng)
    with tempfile.TemporaryDirectory(prefix="bench-group-") as d:
        conf = os.path.join(d, "bench.conf")
        with open(conf, "w") as f:  # a sweep every 2 s, to time a few while the report runs
            f.write("risk_sweep_seconds = 2\n")
        daemon = Daemon(os.path.join(d, "data"), extra_args=["-c", conf]).start()
        c = Client(daemon.endpoint, timeout_ms=120000)
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(fw))).status.code == 0
        print(f"framework: {len(fw['competencies'])} competencies, {edges} edges")
        done = []
        for size in (int(x) for x in args.learners.split(",")):
            new = [f"L{len(done) + i:06d}" for i in range(size - len(done))]
            n, secs = load(c, fw, new, rng, args.per_learner)
            done += new
            rep = c.call(import_roster=pb.ImportRoster(classes=[
                pb.RosterClass(group_id=f"g{size}", title=f"{size} learners", learner_ids=done)]))
            assert rep.status.code == 0, rep.status
            for cells in (False, True):
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    rep = c.call(group_report=pb.GroupReport(group_id=f"g{size}", cells=cells))
                    times.append((time.perf_counter() - t0) * 1000)
                    if rep.status.code != 0:
                        break
                if rep.status.code != 0:
                    print(f"{size:>6} learners, cells={cells}: {rep.status.message}")
                    continue
                r = rep.group_report
                times.sort()
                print(f"{size:>6} learners ({n} new evidence items in {secs:.1f} s), "
                      f"cells={str(cells):5}: median {statistics.median(times):.1f} ms, "
                      f"p90 {times[int(0.9 * (len(times) - 1))]:.1f} ms, max {times[-1]:.1f} ms;"
                      f" {len(r.at_risk)} at risk, {rep.ByteSize()} reply bytes")
        c.close()
        daemon.stop()
        sweeps = [line.split("at-risk sweep: ", 1)[1].strip() for line in daemon.log
                  if "at-risk sweep: " in line]
        if sweeps:  # one every risk_sweep_seconds (60), over risk_sweep_learners (1000)
            print(f"at-risk sweeps while it ran ({len(sweeps)}): " + "; ".join(sweeps[-3:]))


if __name__ == "__main__":
    main()
