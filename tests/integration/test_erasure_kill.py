"""Erasure is a write path like any other: SIGKILL the daemon at random moments while one client
erases learners (with retries until acknowledged) and others submit evidence for the rest, then
restart and check that every acknowledged erasure holds (GONE, nothing of theirs readable, the
ids nowhere in data.mdb), that every acknowledged item of the other learners is stored exactly
once, and that `masteryd --check` agrees (states equal a from-scratch recomputation; the
transparency log rebuilds to its stored hashes)."""
import json
import os
import random
import socket
import subprocess
import tempfile
import threading
import time

from conftest import BIN, EXAMPLES, Client, Daemon, pb

KILLS = int(os.environ.get("MASTERY_ERASE_KILLS", "8"))
LEARNERS = 40
ERASED = 16  # learners ek-0 .. ek-15 are erased, one request each, during the load


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call_until_acked(endpoint_ref, stop, **op):
    """Sends one request until the daemon answers it (a kill may eat the reply)."""
    while not stop.is_set():
        c = Client(endpoint_ref[0], timeout_ms=400)
        try:
            rep = c.call(**op)
        except TimeoutError:
            continue
        finally:
            c.close()
        if rep.status.code == pb.STATUS_UNAVAILABLE:
            time.sleep(0.05)
            continue
        return rep
    return None


def test_sigkill_mid_erasure_keeps_every_acknowledged_erasure():
    with open(os.path.join(EXAMPLES, "fractions.json")) as f:
        doc = json.load(f)
    comps = [c["id"] for c in doc["competencies"] if c.get("rule", {}).get("method") != "children"]
    rng = random.Random(16)
    learners = [f"ek-{i}" for i in range(LEARNERS)]
    ports = (free_port(), free_port())
    listen, events = f"tcp://127.0.0.1:{ports[0]}", f"tcp://127.0.0.1:{ports[1]}"
    with tempfile.TemporaryDirectory(prefix="masteryd-erase-kill-") as data:
        d = Daemon(data).start(listen, events)
        endpoint = [d.endpoint]
        c = Client(d.endpoint)
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(doc))).status.code == 0
        # every learner starts with evidence, narratives that name them, and an override
        for i, l in enumerate(learners):
            items = [pb.Evidence(evidence_id=f"seed-{l}-{k}", learner_id=l,
                                 competency_id=rng.choice(comps), score=round(rng.random(), 3),
                                 narrative=f"note about {l}", source="seed",
                                 observed_at_ms=1_700_000_000_000 + k, observed_at_set=True)
                     for k in range(6)]
            rep = c.call(submit_evidence=pb.SubmitEvidence(items=items))
            assert rep.status.code == 0 and rep.evidence_results.accepted == 6, rep
        c.close()

        stop = threading.Event()
        erased, acked, failures = [], [], []

        def guarded(fn):
            def run():
                try:
                    fn()
                except BaseException as e:  # a thread's failure fails the test, at once
                    failures.append(repr(e))
                    stop.set()
            return run

        def eraser():
            for i in range(ERASED):
                rep = call_until_acked(endpoint, stop, erase_learner=pb.EraseLearner(
                    learner_id=f"ek-{i}", reason=f"request for ek-{i}"))
                if rep is None:
                    return
                assert rep.status.code == 0, rep.status
                erased.append(f"ek-{i}")
                time.sleep(0.1)  # room for the kills between erasures

        def submitter():
            k = 0
            while not stop.is_set() and len(erased) < ERASED and threads[0].is_alive():
                l = f"ek-{ERASED + k % (LEARNERS - ERASED)}"
                item = pb.Evidence(evidence_id=f"live-{k}", learner_id=l, source="live",
                                   competency_id=comps[k % len(comps)], score=0.9,
                                   observed_at_ms=1_700_100_000_000 + k, observed_at_set=True)
                rep = call_until_acked(endpoint, stop,
                                       submit_evidence=pb.SubmitEvidence(items=[item]))
                if rep is None:
                    return
                assert rep.status.code == 0, rep.status
                code = rep.evidence_results.items[0].status.code
                assert code in (pb.STATUS_OK, pb.STATUS_DUPLICATE), rep
                acked.append(item)
                k += 1

        threads = [threading.Thread(target=guarded(eraser)),
                   threading.Thread(target=guarded(submitter))]
        [t.start() for t in threads]
        kills = 0
        krng = random.Random(61)
        while kills < KILLS and threads[0].is_alive():
            if len(erased) < (kills + 1) * ERASED // (KILLS + 2):
                time.sleep(0.005)
                continue
            time.sleep(krng.uniform(0.0, 0.03))
            d.kill()
            kills += 1
            d = Daemon(data).start(listen, events)
            endpoint[0] = d.endpoint
        deadline = time.time() + 300
        for t in threads:
            t.join(max(1, deadline - time.time()))
        stop.set()
        assert not failures, failures
        assert not any(t.is_alive() for t in threads), "clients did not finish"
        assert kills == KILLS and len(erased) == ERASED, (kills, len(erased))
        d.stop()

        d = Daemon(data).start()
        c = Client(d.endpoint)
        for l in erased:
            rep = c.call(get_learner=pb.GetLearner(learner_id=l))
            assert (rep.status.code, rep.status.field) == (pb.STATUS_GONE,
                                                            "get_learner.learner_id"), l
            again = c.call(erase_learner=pb.EraseLearner(learner_id=l))
            assert again.status.code == 0 and again.erasure.already_erased, l
        want = {it.evidence_id: it for it in acked}
        stored = {}
        for l in learners[ERASED:]:
            rep = c.call(list_evidence=pb.ListEvidence(learner_id=l, limit=100000))
            assert rep.status.code == 0
            for e in rep.evidence.items:
                assert e.evidence_id not in stored, f"{e.evidence_id} stored twice"
                stored[e.evidence_id] = e
        missing = [e for e in want if e not in stored]
        assert not missing, f"{len(missing)} acknowledged items lost, e.g. {missing[:3]}"
        d.stop()

        blob = open(os.path.join(data, "data.mdb"), "rb").read()
        for l in learners:
            assert l.encode() not in blob, f"{l} in data.mdb"
        conf = os.path.join(data, "check.conf")
        with open(conf, "w") as f:
            f.write(f"data_dir = {data}\n")
        check = subprocess.run([os.path.join(BIN, "masteryd"), "--check", "-c", conf],
                               capture_output=True, text=True, timeout=300)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "states that disagree: 0" in check.stdout, check.stdout
        assert "0 hashes or roots that disagree" in check.stdout, check.stdout
