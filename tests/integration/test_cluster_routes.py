"""Cluster mode's routes (issue 17): what reaches a node that does not hold the learner.

Two masteryd nodes on one nats-server (JetStream, one replica) on loopback. A framework taken in
by one node is applied by both; a read about a learner is forwarded to the node holding its
partition and answered as that node answers it; a learner write (an override) sent to the other
node rides the stream and is answered by the holder; a retraction must name its learner; and
nothing of a learner (id, narrative) is readable in the stream's files, which hold sealed boxes.
"""
import hashlib
import json
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import _LIVE, Client, Daemon, evidence, pb

PARTITIONS = 4
FW = {"id": "urn:test:routes", "title": "Routes", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge A", "description": "Did A."}},
    {"id": "b", "title": "B", "requires": {"all": ["a"]}},
]}
NARRATIVE = "wrote-a-sonnet-about-fractions"


def partition_of(learner):
    h = hashlib.sha256(b"masteryd-partition\x00" + learner.encode()).digest()
    return int.from_bytes(h[:8], "big") % PARTITIONS


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def held(c):
    text = c.call(metrics=pb.Metrics()).metrics.text
    return {int(p) for p, v in
            re.findall(r'masteryd_cluster_partition_held\{partition="(\d+)"\} (\d+)', text)
            if v == "1"}


def wait(pred, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture
def cluster(tmp_path):
    port = free_port()
    nats = subprocess.Popen(["nats-server", "-js", "-sd", str(tmp_path / "js"), "-a", "127.0.0.1",
                             "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _LIVE.add(nats)
    wait(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, "nats-server")
    nodes = []
    for i in range(2):
        conf = tmp_path / ("node%d.conf" % i)
        conf.write_text("key_dir = %s\ncluster_nats = nats://127.0.0.1:%d\ncluster_node = %d\n"
                        "cluster_nodes = 2\ncluster_replicas = 1\ncluster_partitions = %d\n"
                        "cluster_lease_ms = 1500\n" % (tmp_path / "keys", port, i, PARTITIONS))
        nodes.append(Daemon(str(tmp_path / ("data%d" % i)), ["-c", str(conf)]).start())
    clients = [Client(d.endpoint, timeout_ms=20000) for d in nodes]
    wait(lambda: held(clients[0]) == {0, 2} and held(clients[1]) == {1, 3},
         "each node to hold its preferred partitions")
    yield nodes, clients, tmp_path
    for c in clients:
        c.close()
    for d in nodes:
        d.stop()
    nats.kill()
    nats.wait()
    _LIVE.discard(nats)


def test_routes(cluster):
    nodes, (c0, c1), tmp_path = cluster
    # a learner node 0 holds, and one node 1 holds
    l0 = next("s-%d" % i for i in range(100) if partition_of("s-%d" % i) % 2 == 0)
    l1 = next("s-%d" % i for i in range(100) if partition_of("s-%d" % i) % 2 == 1)

    # A framework sent to node 1 is applied by both; node 1's answer is its own application.
    rep = c1.call(put_framework=pb.PutFramework(json=json.dumps(FW)))
    assert rep.status.code == pb.STATUS_OK, rep.status
    assert rep.framework_info.revision == 1
    wait(lambda: len(c0.call(list_frameworks=pb.ListFrameworks()).framework_list.frameworks) == 1,
         "node 0 to apply the framework")

    # Evidence for both learners, each sent to the node that does not hold it.
    for c, l in ((c1, l0), (c0, l1)):
        rep = c.submit(evidence("e-" + l, l, "a", 0.95, observed_at_ms=1000,
                                observed_at_set=True, source="quiz", narrative=NARRATIVE))
        assert [i.status.code for i in rep.evidence_results.items] == [pb.STATUS_OK], rep

    def states(c, l):
        rep = c.call(get_learner=pb.GetLearner(learner_id=l))
        assert rep.status.code == pb.STATUS_OK, rep.status
        return sorted((x.competency_id, x.status) for fw in rep.learner.frameworks
                      for x in fw.competencies)

    mastered = ("a", pb.MASTERED)
    wait(lambda: mastered in states(c0, l0), "node 0 to apply l0's item")
    wait(lambda: mastered in states(c1, l1), "node 1 to apply l1's item")
    # Reads at the other node are forwarded to the holder: the same answer, not an empty one.
    for l in (l0, l1):
        assert states(c0, l) == states(c1, l)
        e0 = c0.call(list_evidence=pb.ListEvidence(learner_id=l)).evidence.items
        e1 = c1.call(list_evidence=pb.ListEvidence(learner_id=l)).evidence.items
        assert [e.evidence_id for e in e0] == [e.evidence_id for e in e1] == ["e-" + l]
        b0 = c0.call(list_credentials=pb.ListCredentials(learner_id=l)).credential_list
        b1 = c1.call(list_credentials=pb.ListCredentials(learner_id=l)).credential_list
        assert [x.credential_id for x in b0.credentials] == \
            [x.credential_id for x in b1.credentials]
        assert len(b0.credentials) == 1
    # Only the holder stored it: node 1's own store has no item of l0 (its Health counts).
    h0 = c0.call(health=pb.Health()).health
    h1 = c1.call(health=pb.Health()).health
    assert h0.evidence_count == 1 and h1.evidence_count == 1

    # A learner write sent to the other node rides the stream; the holder answers.
    rep = c1.call(override=pb.Override(learner_id=l0, framework_id=FW["id"], competency_id="b",
                                       mastered=True, reason="shown in class", actor="ms-lee"))
    assert rep.status.code == pb.STATUS_OK, rep.status
    assert ("b", pb.MASTERED) in states(c0, l0)
    # A retraction must name its learner in cluster mode: the node to apply it is found by it.
    rep = c1.call(retract_evidence=pb.RetractEvidence(evidence_id="e-" + l0, source="quiz",
                                                      reason="voided"))
    assert rep.status.code == pb.STATUS_INVALID
    assert rep.status.field == "retract_evidence.learner_id"
    rep = c1.call(retract_evidence=pb.RetractEvidence(evidence_id="e-" + l0, source="quiz",
                                                      reason="voided", learner_id=l0))
    assert rep.status.code == pb.STATUS_OK, rep.status
    e0 = c0.call(list_evidence=pb.ListEvidence(learner_id=l0)).evidence.items
    assert [e.retracted for e in e0] == [True]

    # Erasure rides the stream to the holder, which re-keys its own store key: each node keeps
    # its own in the shared key_dir, so two nodes re-keying never overwrite each other's.
    rep = c1.call(erase_learner=pb.EraseLearner(learner_id=l0, reason="parent's request"))
    assert rep.status.code == pb.STATUS_OK, rep.status
    assert c0.call(get_learner=pb.GetLearner(learner_id=l0)).status.code == pb.STATUS_GONE
    assert c1.call(get_learner=pb.GetLearner(learner_id=l0)).status.code == pb.STATUS_GONE
    keys = sorted(os.listdir(tmp_path / "keys"))
    assert "store-node0.key" in keys and "store-node1.key" in keys and "cluster.key" in keys
    assert "store.key" not in keys

    # The stream's files (and its replicas') hold sealed boxes: no learner id, no narrative.
    seen = b""
    for root, _, files in os.walk(tmp_path / "js"):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                seen += fh.read()
    assert len(seen) > 1000  # the stream really is there
    for secret in (l0, l1, NARRATIVE, "shown in class"):
        assert secret.encode() not in seen, secret


def applied_total(c):
    text = c.call(metrics=pb.Metrics()).metrics.text
    return int(re.search(r"^masteryd_cluster_applied_total (\d+)$", text, re.M).group(1))


def test_restore_from_backup_replays_only_the_tail(cluster):
    """A shard whose disk is lost is restored from its last backup and replays only what the
    stream holds after it: the backup carries each partition's applied sequence."""
    nodes, (c0, c1), tmp_path = cluster
    assert c0.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == pb.STATUS_OK
    wait(lambda: len(c1.call(list_frameworks=pb.ListFrameworks()).framework_list.frameworks) == 1,
         "node 1 to apply the framework")
    mine = [l for l in ("s-%d" % i for i in range(200)) if partition_of(l) % 2 == 0][:20]

    def submit(tag):
        for l in mine:
            rep = c1.submit(evidence("%s-%s" % (tag, l), l, "a", 0.5, observed_at_ms=1000,
                                     observed_at_set=True, source="quiz"))
            assert [i.status.code for i in rep.evidence_results.items] == [pb.STATUS_OK], rep

    def count(c):
        return sum(len(c.call(list_evidence=pb.ListEvidence(learner_id=l)).evidence.items)
                   for l in mine)

    submit("before")
    wait(lambda: count(c0) == len(mine), "node 0 to apply the first items")
    rep = c0.call(backup=pb.Backup(dir=str(tmp_path / "bk")))
    assert rep.status.code == pb.STATUS_OK, rep.status
    submit("after")  # the tail the backup does not hold
    wait(lambda: count(c0) == 2 * len(mine), "node 0 to apply the tail")

    # The disk is lost: node 0 dies, its store is replaced by the backup's.
    nodes[0].kill()
    data0 = nodes[0].data_dir
    os.remove(os.path.join(data0, "data.mdb"))
    import shutil
    shutil.copy2(str(tmp_path / "bk" / "data.mdb"), os.path.join(data0, "data.mdb"))
    restored = Daemon(data0, nodes[0].extra_args).start()
    nodes[0] = restored  # the fixture stops it
    c0.close()
    c0 = Client(restored.endpoint, timeout_ms=20000)
    try:
        wait(lambda: held(c0) == {0, 2}, "node 0 to hold its partitions again")
        wait(lambda: count(c0) == 2 * len(mine), "node 0 to replay the tail")
        # Every item once, and only the tail (and no more) applied after the restore.
        for l in mine:
            ids = sorted(e.evidence_id for e in
                         c0.call(list_evidence=pb.ListEvidence(learner_id=l)).evidence.items)
            assert ids == ["after-" + l, "before-" + l]
        assert applied_total(c0) == len(mine)
    finally:
        c0.close()
