"""An acknowledgement means durable: SIGKILL the daemon at random moments while clients submit
with retries, restart it, and check that every acknowledged evidence id is present exactly once
and that learner states equal a from-scratch recomputation.

CI runs 20 kills; `MASTERY_KILLS=200 MASTERY_ITEMS=10000 pytest test_durability.py` is the
long version."""
import json
import os
import random
import re
import socket
import subprocess
import tempfile
import threading
import time

import zmq

from conftest import BIN, EXAMPLES, Client, Daemon, pb

KILLS = int(os.environ.get("MASTERY_KILLS", "20"))
ITEMS = int(os.environ.get("MASTERY_ITEMS", "2000"))
CLIENTS = 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def competencies():
    with open(os.path.join(EXAMPLES, "fractions.json")) as f:
        doc = json.load(f)
    return doc, [c["id"] for c in doc["competencies"] if c.get("rule", {}).get("method") != "children"]


def make_requests(client_no, comps, rng):
    """A client's requests: 1-5 items each, its own learners, deterministic content."""
    reqs, n, k = [], ITEMS // CLIENTS, 0
    while k < n:
        size = min(rng.randint(1, 5), n - k)
        items = []
        for _ in range(size):
            items.append(pb.Evidence(
                evidence_id=f"dur-{client_no}-{k}", learner_id=f"dl-{client_no}-{k % 7}",
                competency_id=rng.choice(comps), score=round(rng.random(), 3),
                observed_at_ms=1_700_000_000_000 + k * 1000, source="durability"))
            k += 1
        reqs.append(pb.Request(request_id=f"r-{client_no}-{len(reqs)}",
                               submit_evidence=pb.SubmitEvidence(items=items)))
    return reqs


def submit_until_acked(endpoint_ref, req, stop):
    """Sends req until the daemon acknowledges every item (OK or DUPLICATE)."""
    payload = req.SerializeToString()
    while not stop.is_set():
        c = Client(endpoint_ref[0], timeout_ms=400)
        try:
            c.send_raw(payload)
            rep = c.recv_reply()
        except TimeoutError:
            continue
        finally:
            c.close()
        if rep.status.code == pb.STATUS_UNAVAILABLE:
            time.sleep(0.05)
            continue
        assert rep.status.code == pb.STATUS_OK, rep.status
        codes = {i.status.code for i in rep.evidence_results.items}
        assert codes <= {pb.STATUS_OK, pb.STATUS_DUPLICATE}, rep
        return True
    return False


def learner_states(client, learners):
    out = {}
    for l in sorted(learners):
        rep = client.call(get_learner=pb.GetLearner(learner_id=l))
        for fw in rep.learner.frameworks:
            for c in fw.competencies:
                out[(l, c.competency_id)] = (c.status, round(c.score, 9), c.evidence_count)
    return out


def test_sigkill_loses_no_acknowledged_evidence():
    doc, comps = competencies()
    rng = random.Random(20261122)
    plans = [make_requests(i, comps, rng) for i in range(CLIENTS)]
    ports = (free_port(), free_port())
    listen, events = f"tcp://127.0.0.1:{ports[0]}", f"tcp://127.0.0.1:{ports[1]}"
    with tempfile.TemporaryDirectory(prefix="masteryd-kill-") as data:
        d = Daemon(data).start(listen, events)
        endpoint = [d.endpoint]
        c = Client(d.endpoint)
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(doc))).status.code == pb.STATUS_OK
        c.close()
        stop = threading.Event()
        acked = [[] for _ in range(CLIENTS)]

        def client_main(i):
            for req in plans[i]:
                if not submit_until_acked(endpoint, req, stop):
                    return
                acked[i].append(req)

        threads = [threading.Thread(target=client_main, args=(i,)) for i in range(CLIENTS)]
        [t.start() for t in threads]
        # Kill k happens once k/(KILLS+1) of the first 90% of the load is acknowledged, plus a
        # random delay: every kill lands mid-load however fast the machine is (the last 10% leave
        # room for the last kill even with 200 of them), at an unpredictable moment (mid-batch,
        # mid-commit, between commit and reply).
        kills = 0
        krng = random.Random(7)
        total = sum(len(p) for p in plans)
        while kills < KILLS and any(t.is_alive() for t in threads):
            if sum(len(a) for a in acked) < (kills + 1) * total * 9 // (10 * (KILLS + 1)):
                time.sleep(0.005)
                continue
            time.sleep(krng.uniform(0.0, 0.03))
            d.kill()
            kills += 1
            d = Daemon(data).start(listen, events)
        deadline = time.time() + 300
        for t in threads:
            t.join(max(1, deadline - time.time()))
        stop.set()
        assert not any(t.is_alive() for t in threads), "clients did not finish"
        assert kills == KILLS, f"only {kills} kills happened before the load finished"
        d.stop()

        # Restart cleanly and check every acknowledged id, exactly once.
        d = Daemon(data).start()
        c = Client(d.endpoint)
        want = {it.evidence_id: it for reqs in acked for r in reqs for it in r.submit_evidence.items}
        learners = {it.learner_id for it in want.values()}
        stored = []
        for l in learners:
            rep = c.call(list_evidence=pb.ListEvidence(learner_id=l, limit=100000))
            assert not rep.evidence.truncated
            stored += [e.evidence_id for e in rep.evidence.items]
        assert len(stored) == len(set(stored)), "an evidence id is stored twice"
        assert set(stored) == set(want), (len(set(want) - set(stored)), len(set(stored) - set(want)))
        assert c.call(health=pb.Health()).health.evidence_count == len(want)
        got = learner_states(c, learners)
        # The transparency log kept pace: one leaf per stored event, none lost or doubled by
        # the kills (leaf i is event i + 1), and the checkpoint names the whole committed tree.
        last_seq = c.call(health=pb.Health()).health.last_seq
        cp = c.call(get_checkpoint=pb.GetCheckpoint()).checkpoint
        assert cp.size == last_seq and cp.base_seq == 1
        c.close()
        assert d.stop() == 0
        # Rebuilt from its entries alone, the tree matches every stored hash and the root.
        r = subprocess.run([os.path.join(BIN, "masteryd"), "--data", data, "--check"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"transparency log: {last_seq} entries rebuilt, 0 hashes" in r.stdout, r.stdout

    # Recompute from scratch: the same requests, in each client's order, on a fresh daemon.
    with tempfile.TemporaryDirectory(prefix="masteryd-recompute-") as data:
        d = Daemon(data).start()
        c = Client(d.endpoint)
        c.call(put_framework=pb.PutFramework(json=json.dumps(doc)))
        for reqs in acked:
            for r in reqs:
                c.send_raw(r.SerializeToString())
                rep = c.recv_reply()
                assert rep.evidence_results.accepted == len(r.submit_evidence.items)
        expect = learner_states(c, learners)
        c.close()
        assert d.stop() == 0
    assert got == expect
    print(f"{kills} kills, {len(want)} acknowledged items, all present once; states equal")
