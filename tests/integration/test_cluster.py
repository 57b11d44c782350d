"""Cluster mode (issue 17): three nats-server nodes and three masteryd shards on loopback.

test_nats_harness checks the harness alone (natscluster.py): a 3-node JetStream cluster
forms, keeps an R3 stream's messages and a consumer's state through a SIGKILL of the stream's
leader, and the node rejoins on restart.

test_cluster_kills_lose_nothing is the issue's must-show: under load from concurrent clients
spread over the three shards it SIGKILLs shards and NATS nodes mid-load (each restarted after
about two seconds), and leaves one shard dead past its lease so that another takes its
partitions over. Afterwards every acknowledged evidence id is stored exactly once at the owner
of its learner's partition, learner states there equal a single-node masteryd fed the same
evidence, the owners issued the same badges as that single node, and every badge verifies.

MASTERY_CLUSTER_LEARNERS and MASTERY_CLUSTER_ROUNDS (items per learner) scale the load.
"""
import hashlib
import json
import os
import random
import re
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BIN, EXAMPLES, Client, Daemon, pb
from natscluster import MiniNats, NatsCluster, free_port

NODES = 3
PARTITIONS = 6
LEASE_MS = 1500
PREFIX = "masteryd"  # cluster_prefix's default: the stream's name and the consumers' prefix
CLIENTS = 6
SANITIZE = os.environ.get("MASTERY_SANITIZE", "0") in ("1", "ON", "TRUE", "true")
LEARNERS = int(os.environ.get("MASTERY_CLUSTER_LEARNERS", "300"))
ROUNDS = int(os.environ.get("MASTERY_CLUSTER_ROUNDS", "4" if SANITIZE else "8"))
PER_REQUEST = 10  # items per SubmitEvidence, each of another learner
CLIENT_TIMEOUT_MS = 4000
START_TRIES = 4
VERIFY = os.path.join(BIN, "mastery-verify")
SOURCE = "cluster-test"

# A chain that unlocks quickly, so masteries and badges happen at every shard.
CHAIN = {"id": "urn:test:cluster-chain", "title": "Cluster chain", "version": "1",
         "competencies": [
             {"id": "cl.a", "title": "A", "rule": {"method": "latest", "threshold": 0.7},
              "achievement": {"name": "Chain A", "description": "Did A."}},
             {"id": "cl.b", "title": "B", "requires": {"all": ["cl.a"]},
              "rule": {"method": "average", "threshold": 0.7, "min_evidence": 2},
              "achievement": {"name": "Chain B", "description": "Did B."}},
             {"id": "cl.c", "title": "C", "requires": {"all": ["cl.b"]},
              "rule": {"method": "highest", "threshold": 0.9}},
             {"id": "cl.all", "title": "All", "rule": {"method": "children",
                                                       "of": ["cl.a", "cl.b", "cl.c"]},
              "achievement": {"name": "Chain", "description": "Did the chain."}}]}


def partition(learner_id, partitions=PARTITIONS):
    """daemon/cluster.h cluster_partition(): SHA-256 of the label and the id, first 8 bytes
    big-endian, modulo partitions."""
    h = hashlib.sha256(b"masteryd-partition\x00" + learner_id.encode()).digest()
    return int.from_bytes(h[:8], "big") % partitions


def metrics(endpoint):
    """(held: {partition: 0|1}, applied: {partition: seq}, flat: {name: value}) of one shard."""
    c = Client(endpoint, timeout_ms=3000)
    try:
        text = c.call(metrics=pb.Metrics()).metrics.text
    finally:
        c.close()
    held, applied, flat = {}, {}, {}
    for line in text.splitlines():
        m = re.match(r'^masteryd_cluster_partition_held\{partition="(\d+)"\} (\d+)$', line)
        if m:
            held[int(m.group(1))] = int(m.group(2))
        m = re.match(r'^masteryd_cluster_applied_seq\{partition="(\d+)"\} (\d+)$', line)
        if m:
            applied[int(m.group(1))] = int(m.group(2))
        m = re.match(r"^(masteryd_[a-z_]+) ([0-9.e+-]+)$", line)
        if m:
            flat[m.group(1)] = float(m.group(2))
    return held, applied, flat


# ---- the harness alone --------------------------------------------------------------------

def test_nats_harness(tmp_path):
    nc = NatsCluster(str(tmp_path / "nats"), NODES).start()
    try:
        nc.wait_ready(30)
        for i in range(NODES):
            assert nc.routes(i) == sorted(f"n{j}" for j in range(NODES) if j != i)
        assert nc.urls().count("nats://127.0.0.1:") == NODES
        m = MiniNats(nc.url(0))
        r = m.js("STREAM.CREATE.H", {"name": "H", "subjects": ["h.>"], "num_replicas": 3,
                                      "storage": "file", "duplicate_window": 60 * 10**9})
        assert "error" not in r, r
        for k in range(20):
            ack = m.js_publish(f"h.{k % 2}", b"m%d" % k, msg_id=f"h-{k}")
            assert ack.get("seq") == k + 1, ack
        assert m.js_publish("h.0", b"m0", msg_id="h-0").get("duplicate") is True
        r = m.js("CONSUMER.DURABLE.CREATE.H.hc", {"stream_name": "H", "config": {
            "durable_name": "hc", "ack_policy": "explicit", "filter_subject": "h.0",
            "num_replicas": 3}})
        assert "error" not in r, r
        got = []
        for _ in range(4):
            data, reply = m.fetch("H", "hc")
            got.append((data, reply))
        for _, reply in got[:3]:
            m.ack(reply)
        assert [d for d, _ in got] == [b"m0", b"m2", b"m4", b"m6"]
        m.close()

        def settled(want_pending, want_ack_pending):
            c = nc.consumers("H").get("hc")
            return c is not None and c["num_pending"] == want_pending and \
                c["num_ack_pending"] == want_ack_pending

        def wait_for(cond, what, timeout=20):
            deadline = time.time() + timeout
            while not cond():
                assert time.time() < deadline, what + "\n" + nc.logs_tail()
                time.sleep(0.1)

        wait_for(lambda: settled(6, 1), "consumer hc: 6 pending, 1 unacknowledged")
        # SIGKILL the stream's leader: the other two keep the messages and the consumer.
        leader = int(next(st for i, jz in nc._live_jsz() for st in nc._streams(jz)
                          if st["name"] == "H")["cluster"]["leader"][1:])
        nc.kill(leader)
        other = (leader + 1) % NODES
        wait_for(lambda: nc.streams().get("H", {}).get("messages") == 20 and settled(6, 1),
                 "after the kill: 20 messages, consumer state kept")
        m = MiniNats(nc.url(other))
        wait_for(lambda: m.js_publish("h.0", b"m20", msg_id="h-20").get("seq") == 21,
                 "a publish is acknowledged by the two left")
        nc.restart(leader)
        assert nc.routes(leader) == sorted(f"n{j}" for j in range(NODES) if j != leader)
        wait_for(lambda: settled(7, 1), "after the restart: 7 pending, 1 unacknowledged")
        # The restarted node has the stream again, the message published while it was down too.
        wait_for(lambda: ((nc.jsz(leader) or {}).get("messages") == 21),
                 "the restarted node caught up")
        m.close()
    finally:
        nc.stop()
    assert all(not nc.alive(i) for i in range(NODES))


# ---- the must-show ----------------------------------------------------------------------

class Shard:
    """One masteryd in cluster mode, on fixed ports so that a restart keeps its endpoint."""

    def __init__(self, root, i, nats_urls, key_dir):
        self.i = i
        self.data = os.path.join(root, f"shard{i}")
        self.listen = f"tcp://127.0.0.1:{free_port()}"
        self.events = f"tcp://127.0.0.1:{free_port()}"
        self.endpoint = self.listen
        self.conf = os.path.join(root, f"shard{i}.conf")
        with open(self.conf, "w") as f:
            f.write(f"cluster_nats = {nats_urls}\n"
                    f"cluster_node = {i}\n"
                    f"cluster_nodes = {NODES}\n"
                    f"cluster_partitions = {PARTITIONS}\n"
                    f"cluster_replicas = 3\n"
                    f"cluster_lease_ms = {LEASE_MS}\n"
                    f"cluster_publish_ms = 2000\n"
                    f"key_dir = {key_dir}\n")
        self.d = None
        self.logs = []
        self.start_retries = []  # why a start had to be tried again

    def start(self):
        """Starts the shard; a start that fails is tried again after a second, up to
        START_TRIES times, as the shipped unit's Restart=on-failure would: a start while
        JetStream is still electing leaders after a NATS node's death can time out on the
        lease bucket ("cluster_nats: lease bucket ...: Timeout"). Each retry is counted."""
        # Shards 1 and 2 start with empty stores beside shard 0's keys: cluster mode adopts
        # them (the stream refills a store), no --adopt-keys.
        args = ["-c", self.conf]
        for attempt in range(START_TRIES):
            d = Daemon(self.data, args)
            try:
                self.d = d.start(self.listen, self.events)
                return self
            except RuntimeError as e:
                if d.proc is not None and d.proc.poll() is None:
                    d.kill()
                self.logs += d.log
                if attempt + 1 == START_TRIES:
                    raise
                self.start_retries.append(str(e).strip().splitlines()[-1][:200])
                time.sleep(1)

    def alive(self):
        return self.d is not None and self.d.proc is not None and self.d.proc.poll() is None

    def kill(self):
        self.d.kill()
        self.logs += self.d.log
        self.d = None

    def stop(self):
        if self.d is None:
            return 0
        rc = self.d.stop()
        self.logs += self.d.log
        self.d = None
        return rc

    def log_text(self):
        return "".join(self.logs + (self.d.log if self.d else []))


def cluster_mode_missing(tmp, shard0):
    """Why this masteryd cannot run the test (None when it can): the daemon side of issue 17
    (daemon/cluster.c) is being built on another branch."""
    r = subprocess.run([os.path.join(BIN, "masteryd"), "-n", "-c", shard0.conf,
                        "--data", os.path.join(tmp, "probe")],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return "masteryd -n refuses the cluster settings: " + (r.stdout + r.stderr).strip()
    return None


def make_plan(t, learners, comps, rng):
    """Client t's requests: ROUNDS rounds over its learners, PER_REQUEST items a request, every
    item of a request for another learner (so a partial retry cannot reorder a learner's items),
    deterministic content, times increasing with the plan."""
    reqs = []
    for r in range(ROUNDS):
        for k in range(0, len(learners), PER_REQUEST):
            items = []
            for j, l in enumerate(learners[k:k + PER_REQUEST]):
                n = r * len(learners) + k + j
                items.append(pb.Evidence(
                    evidence_id=f"cl-{t}-{r}-{k + j}", learner_id=l,
                    competency_id=rng.choice(comps), score=round(rng.uniform(0.4, 1.0), 3),
                    observed_at_ms=1_790_000_000_000 + (t * 100_000 + n) * 1000, source=SOURCE))
            reqs.append(items)
    return reqs


class Load:
    """CLIENTS threads, each sending its plan in order over the shards (request k of client t
    goes to shard (t + k) % 3; a timeout or UNAVAILABLE moves it to the next shard). An item is
    acknowledged when its status is OK or DUPLICATE; the others are sent again, same ids."""

    def __init__(self, shards, plans):
        self.shards = shards
        self.plans = plans
        self.acked = [[] for _ in plans]  # per client, in the order acknowledged
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.count = 0
        self.limit = None  # clients wait while count >= limit (None: no limit)
        self.stop = threading.Event()
        self.retries = {"timeout": 0, "unavailable": 0, "item_unavailable": 0}
        self.retry_times = []  # when each retry happened (figures: how long intake stalled)
        self.errors = []
        self.threads = [threading.Thread(target=self._main, args=(t,), daemon=True)
                        for t in range(len(plans))]

    def total(self):
        return sum(len(r) for p in self.plans for r in p)

    def start(self):
        [t.start() for t in self.threads]

    def set_limit(self, limit):
        with self.cond:
            self.limit = limit
            self.cond.notify_all()

    def wait_count(self, n):
        with self.cond:
            while self.count < n and self.running():
                self.cond.wait(0.2)

    def running(self):
        return any(t.is_alive() for t in self.threads)

    def _count_retry(self, kind):
        with self.lock:
            self.retries[kind] += 1
            self.retry_times.append(time.time())

    def _gate(self):
        with self.cond:
            while self.limit is not None and self.count >= self.limit and not self.stop.is_set():
                self.cond.wait(0.2)

    def _main(self, t):
        try:
            k = 0
            for items in self.plans[t]:
                self._gate()
                pending = list(items)
                while pending:
                    if self.stop.is_set():
                        return
                    shard = self.shards[(t + k) % len(self.shards)]
                    k += 1
                    c = Client(shard.endpoint, timeout_ms=CLIENT_TIMEOUT_MS)
                    try:
                        rep = c.call(submit_evidence=pb.SubmitEvidence(items=pending))
                    except TimeoutError:
                        self._count_retry("timeout")
                        continue
                    finally:
                        c.close()
                    if rep.status.code == pb.STATUS_UNAVAILABLE:
                        self._count_retry("unavailable")
                        time.sleep(0.05)
                        continue
                    assert rep.status.code == pb.STATUS_OK, rep.status
                    assert len(rep.evidence_results.items) == len(pending), rep
                    left = []
                    for it, res in zip(pending, rep.evidence_results.items):
                        assert res.evidence_id == it.evidence_id, (res, it)
                        if res.status.code in (pb.STATUS_OK, pb.STATUS_DUPLICATE):
                            with self.cond:
                                self.acked[t].append(it)
                                self.count += 1
                                self.cond.notify_all()
                        elif res.status.code == pb.STATUS_UNAVAILABLE:
                            self._count_retry("item_unavailable")
                            left.append(it)
                        else:
                            raise AssertionError(f"{it.evidence_id}: {res.status}")
                    if left:
                        time.sleep(0.05)  # the stream has no quorum or leader yet: not a spin
                    pending = left
        except BaseException as e:  # reported by the test, not lost in a thread
            self.errors.append(repr(e))


def wait_until(cond, what, timeout, diag=lambda: ""):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"{what} (after {timeout} s)\n{diag()}")
        time.sleep(0.2)


def holders(shards):
    """{partition: [indices of live shards that say they hold it]}, and {shard: applied}."""
    held, applied = {p: [] for p in range(PARTITIONS)}, {}
    for s in shards:
        if not s.alive():
            continue
        try:
            h, a, _ = metrics(s.endpoint)
        except TimeoutError:
            continue
        applied[s.i] = a
        for p, v in h.items():
            if v:
                held[p].append(s.i)
    return held, applied


def last_seqs(nc):
    """{partition: the stream sequence of its last message (0: none)}, asked of any live node."""
    for i in range(nc.n):
        if not nc.alive(i):
            continue
        try:
            m = MiniNats(nc.url(i), timeout=3)
        except OSError:
            continue
        try:
            out = {}
            for p in range(PARTITIONS):
                r = m.js(f"STREAM.MSG.GET.{PREFIX}", {"last_by_subj": f"{PREFIX}.ev.{p}"})
                if "error" in r:
                    if r["error"].get("code") != 404:
                        raise OSError(str(r["error"]))
                    out[p] = 0
                else:
                    out[p] = r["message"]["seq"]
            return out
        except (OSError, ValueError):
            continue
        finally:
            m.close()
    return None


WHY = {"not_caught_up": ""}  # what the last caught_up() found missing (for diagnostics)


def caught_up(nc, shards):
    """Every partition held by exactly one live shard, which applied its last message, and its
    consumer has nothing pending or unacknowledged. Returns the owners {partition: shard}."""
    def no(why):
        kind = why.split(" ", 1)[0]
        if kind != WHY["not_caught_up"].split(" ", 1)[0]:  # shown with a failure's output
            print(f"{time.strftime('%H:%M:%S')} not caught up: {why[:300]}", flush=True)
        WHY["not_caught_up"] = why
        return None

    nc.check_alive()
    held, applied = holders(shards)
    if any(len(v) != 1 for v in held.values()):
        return no(f"holders {held}")
    owners = {p: v[0] for p, v in held.items()}
    last = last_seqs(nc)
    if last is None:
        return no("no NATS node answered")
    behind = {p: (applied[owners[p]].get(p, 0), last[p]) for p in range(PARTITIONS)
              if applied[owners[p]].get(p, 0) != last[p]}
    if behind:
        return no(f"applied vs last {behind}")
    cons = nc.consumers(PREFIX)
    names = [f"{PREFIX}-p{p}" for p in range(PARTITIONS)] + [f"{PREFIX}-fw-{s.i}" for s in shards]
    for name in names:
        c = cons.get(name)
        if c is None or c["num_pending"] or c["num_ack_pending"]:
            return no(f"consumer {name}: {c}")
    return owners


def learner_view(endpoint, learner):
    """(stored evidence ids, states, badges) of a learner as one shard has them."""
    c = Client(endpoint, timeout_ms=10000)
    try:
        ev = c.call(list_evidence=pb.ListEvidence(learner_id=learner, limit=100000))
        assert ev.status.code == pb.STATUS_OK, ev.status
        assert not ev.evidence.truncated
        rep = c.call(get_learner=pb.GetLearner(learner_id=learner))
        assert rep.status.code == pb.STATUS_OK, (learner, rep.status)
        st = sorted((x.competency_id, x.status, round(x.score, 9), x.evidence_count)
                    for fw in rep.learner.frameworks for x in fw.competencies)
        cr = c.call(list_credentials=pb.ListCredentials(learner_id=learner))
        assert cr.status.code == pb.STATUS_OK, cr.status
        return ([e.evidence_id for e in ev.evidence.items], st, list(cr.credential_list.credentials))
    finally:
        c.close()


def put_frameworks(endpoint_of):
    """fractions.json through shard 1 and the chain through shard 2: any node takes them."""
    with open(os.path.join(EXAMPLES, "fractions.json")) as f:
        fractions = f.read()
    docs = [(1, fractions), (2, json.dumps(CHAIN))]
    for node, doc in docs:
        c = Client(endpoint_of(node), timeout_ms=20000)
        rep = c.call(put_framework=pb.PutFramework(json=doc))
        c.close()
        assert rep.status.code == pb.STATUS_OK, rep.status
    return [doc for _, doc in docs]


def framework_ids(endpoint):
    c = Client(endpoint, timeout_ms=5000)
    try:
        rep = c.call(list_frameworks=pb.ListFrameworks())
        return {f.framework_id for f in rep.framework_list.frameworks}
    finally:
        c.close()


def verify_badges(tmp, shards, owners_of, views):
    """Every badge at the owners verifies offline against its owner's status lists; all name
    one issuer. Returns how many were checked."""
    lists = {}
    for s in shards:
        c = Client(s.endpoint, timeout_ms=10000)
        first = c.call(export_status_list=pb.ExportStatusList(purpose="revocation"))
        assert first.status.code == pb.STATUS_OK, first.status
        paths = []
        for n in range(1, first.status_list.lists + 1):
            rep = c.call(export_status_list=pb.ExportStatusList(purpose="revocation", list=n))
            path = os.path.join(tmp, f"status-{s.i}-{n}.json")
            with open(path, "w") as f:
                f.write(rep.status_list.json)
            paths.append(path)
        c.close()
        lists[s.i] = paths
    issuers, checked = set(), 0
    for learner, (_, _, creds) in sorted(views.items()):
        s = shards[owners_of(learner)]
        c = Client(s.endpoint, timeout_ms=10000)
        for cr in creds:
            doc = c.call(get_credential=pb.GetCredential(credential_id=cr.credential_id))
            assert doc.status.code == pb.STATUS_OK, doc.status
            path = os.path.join(tmp, "badge.json")
            with open(path, "w") as f:
                f.write(doc.credential.document)
            args = [VERIFY, "--json", path]
            for lp in lists[s.i]:
                args += ["--status-list", lp]
            r = subprocess.run(args, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, (learner, cr.credential_id, r.stdout + r.stderr)
            out = json.loads(r.stdout)
            assert out["verdict"] == "VALID", r.stdout
            issuer = json.loads(doc.credential.document).get("issuer")
            issuers.add(json.dumps(issuer.get("id") if isinstance(issuer, dict) else issuer))
            checked += 1
        c.close()
    assert len(issuers) <= 1, f"badges name {len(issuers)} issuers: {issuers}"
    return checked


def test_cluster_kills_lose_nothing():
    rng = random.Random(20261206)
    comps = [c["id"] for c in json.load(open(os.path.join(EXAMPLES, "fractions.json")))
             ["competencies"] if c.get("rule", {}).get("method") != "children"]
    comps += ["cl.a", "cl.a", "cl.b", "cl.b", "cl.b", "cl.c", "cl.c"] * 2
    learners = [f"cl-learner-{n}" for n in range(LEARNERS)]
    per = [learners[t::CLIENTS] for t in range(CLIENTS)]
    plans = [make_plan(t, per[t], comps, rng) for t in range(CLIENTS)]
    figures = {}

    with tempfile.TemporaryDirectory(prefix="masteryd-cluster-") as tmp:
        nc = NatsCluster(os.path.join(tmp, "nats"), NODES)
        key_dir = os.path.join(tmp, "keys")
        shards = [Shard(tmp, i, nc.urls(), key_dir) for i in range(NODES)]
        why = cluster_mode_missing(tmp, shards[0])
        if why:
            pytest.skip(why)
        load = None
        try:
            nc.start().wait_ready(30)
            shards[0].start()  # creates the issuer keys the other two share
            held, _, _ = metrics(shards[0].endpoint)
            if not held:
                pytest.skip("this masteryd has no cluster mode yet (no "
                            "masteryd_cluster_partition_held in its metrics)")
            shards[1].start()
            shards[2].start()
            wait_until(lambda: caught_up(nc, shards), "the partitions were never spread", 60,
                       lambda: WHY["not_caught_up"] + "\n" + nc.logs_tail())
            put_frameworks(lambda i: shards[i].endpoint)
            want_fw = {"urn:example:math:fractions-g5", CHAIN["id"]}
            for s in shards:
                wait_until(lambda: want_fw <= framework_ids(s.endpoint),
                           f"shard {s.i} never had both frameworks", 60)

            load = Load(shards, plans)
            total = load.total()
            # The kills, in order. "shard"/"nats": SIGKILL, ~2 s, restart; "takeover": SIGKILL a
            # shard and leave it dead until the others hold all its partitions, then restart.
            events = [("shard", 1), ("nats", 0), ("shard", 2), ("nats", 2), ("takeover", 0),
                      ("nats", 1), ("shard", 0)]
            marks = [(k + 1) * total * 9 // (10 * (len(events) + 1)) for k in range(len(events))]
            load.set_limit(marks[1])
            t0 = time.time()
            load.start()
            spans = []  # (kind, kill time, next event's time)
            for k, (kind, i) in enumerate(events):
                load.wait_count(marks[k])
                nc.check_alive()
                assert load.running() and load.count < total, "the load ended before the kills"
                spans.append([kind, time.time(), None])
                if k:
                    spans[k - 1][2] = spans[k][1]
                if kind == "shard":
                    shards[i].kill()
                    time.sleep(2)
                    shards[i].start()
                elif kind == "nats":
                    nc.kill(i)
                    time.sleep(2)
                    nc.restart(i)
                else:
                    shards[i].kill()
                    tk = time.time()
                    mine = [p for p in range(PARTITIONS) if p % NODES == i]
                    wait_until(lambda: all(len(v) == 1 and v[0] != i for p, v in
                                           holders(shards)[0].items() if p in mine),
                               f"nobody took over shard {i}'s partitions {mine}", 60,
                               lambda: str(holders(shards)))
                    figures["takeover_s"] = round(time.time() - tk, 2)
                    shards[i].start()
                # Clients may run ahead to the next kill's mark, not beyond, so every kill lands
                # while they are sending.
                load.set_limit(marks[k + 2] if k + 2 < len(events) else None)
            for t in load.threads:
                t.join(240)
            figures["load_s"] = round(time.time() - t0, 2)
            spans[-1][2] = time.time()
            # Per kind of kill, the longest time from a kill to the last retry before the next
            # kill: how long clients could not get items acknowledged (a figure, not asserted).
            stall = {}
            for kind, start, end in spans:
                ts = [x for x in load.retry_times if start <= x < end]
                stall[kind] = max(stall.get(kind, 0), round(max(ts) - start, 2) if ts else 0)
            figures["longest_stall_s"] = stall
            assert not load.errors, load.errors
            assert not load.running(), "clients did not finish"
            assert load.count == total, (load.count, total)

            tc = time.time()
            owners = wait_until(lambda: caught_up(nc, shards), "the shards never caught up", 120,
                                lambda: WHY["not_caught_up"])
            figures["catch_up_s"] = round(time.time() - tc, 2)
            # Preferred owners are back: partition p at shard p % 3.
            assert owners == {p: p % NODES for p in range(PARTITIONS)}, owners

            acked = {it.evidence_id: it for a in load.acked for it in a}
            assert len(acked) == total
            by_learner = {}
            for it in acked.values():
                by_learner.setdefault(it.learner_id, set()).add(it.evidence_id)
            views = {}
            for l in learners:
                views[l] = learner_view(shards[owners[partition(l)]].endpoint, l)
                stored = views[l][0]
                assert len(stored) == len(set(stored)), f"{l}: an evidence id is stored twice"
                assert set(stored) == by_learner.get(l, set()), (
                    l, sorted(by_learner.get(l, set()) - set(stored)),
                    sorted(set(stored) - by_learner.get(l, set())))
            takeovers = sum(metrics(s.endpoint)[2].get("masteryd_cluster_takeovers_total", 0)
                            for s in shards)
            nbadges = verify_badges(tmp, shards, lambda l: owners[partition(l)], views)
            assert nbadges > 0, "no badge was issued"
            figures["badges"] = nbadges
        except pytest.skip.Exception:
            raise
        except BaseException:
            for s in shards:
                print(f"---- shard {s.i}\n" + s.log_text()[-4000:])
            print(nc.logs_tail())
            raise
        finally:
            if load is not None:
                load.stop.set()
            rcs = [s.stop() for s in shards]
            nc.stop()
        assert rcs == [0] * NODES, rcs

        # The same evidence, each client's in its order, on one masteryd without a cluster.
        single = Daemon(os.path.join(tmp, "single")).start()
        try:
            c = Client(single.endpoint, timeout_ms=30000)
            with open(os.path.join(EXAMPLES, "fractions.json")) as f:
                assert c.call(put_framework=pb.PutFramework(json=f.read())).status.code == 0
            assert c.call(put_framework=pb.PutFramework(json=json.dumps(CHAIN))).status.code == 0
            ts = time.time()
            for plan in plans:
                for items in plan:
                    rep = c.call(submit_evidence=pb.SubmitEvidence(items=items))
                    assert rep.evidence_results.accepted == len(items), rep
            figures["single_node_one_client_items_per_s"] = round(total / (time.time() - ts))
            for l in learners:
                _, st, creds = learner_view(single.endpoint, l)
                assert views[l][1] == st, (l, views[l][1], st)
                got = sorted((x.framework_id, x.competency_id, x.state) for x in views[l][2])
                want = sorted((x.framework_id, x.competency_id, x.state) for x in creds)
                assert got == want, (l, got, want)
            c.close()
        finally:
            assert single.stop() == 0

    figures["items"] = total
    figures["shard_start_retries"] = [r for s in shards for r in s.start_retries]
    figures["retries"] = load.retries
    figures["takeovers_total"] = takeovers
    print("cluster:", json.dumps(figures, sort_keys=True))
