#!/usr/bin/python3
"""Writes the seed corpus of fuzz_wire: valid packed mastery.v1.Request messages, a few of
each operation, built with the Python module protoc generates into the build tree.

Usage: tests/fuzz/gen_wire_corpus.py BUILD_DIR [OUT_DIR]
  BUILD_DIR  a configured and built tree (holds gen/python/mastery/v1/mastery_pb2.py)
  OUT_DIR    default: tests/fuzz/corpus/wire beside this script
Needs Debian's python3-protobuf. The output is deterministic; the files are committed.
"""
import os
import sys


def requests(pb):
    R = pb.Request
    fw = ('{"id": "urn:example:fw", "title": "Fractions", "version": "1", "competencies": ['
          '{"id": "a", "title": "A"}, {"id": "b", "title": "B", "requires": {"all": ["a"]}}]}')
    yield "put_framework", R(request_id="r1", put_framework=pb.PutFramework(json=fw))
    yield "put_framework-empty", R(put_framework=pb.PutFramework())
    yield "get_framework", R(request_id="r2",
                             get_framework=pb.GetFramework(framework_id="urn:example:fw"))
    yield "get_framework-rev", R(get_framework=pb.GetFramework(framework_id="fw", revision=7))
    yield "list_frameworks", R(request_id="r3", list_frameworks=pb.ListFrameworks())
    items = [
        pb.Evidence(evidence_id="e1", learner_id="alice", competency_id="a", score=0.9,
                    outcome=pb.OUTCOME_PASSED, observed_at_ms=1700000000000, source="quiz",
                    weight=1.5, url="https://example.org/q/1", narrative="solved"),
        pb.Evidence(evidence_id="e2", learner_id="b\u00e9la", competency_id="b", score=0.25,
                    outcome=pb.OUTCOME_FAILED, observed_at_ms=-1),
        pb.Evidence(evidence_id="e3", learner_id="\U0001f600", competency_id="a"),
    ]
    yield "submit_evidence", R(request_id="r4", submit_evidence=pb.SubmitEvidence(items=items))
    yield "submit_evidence-one", R(submit_evidence=pb.SubmitEvidence(items=items[:1]))
    # the presence flags: an item at the epoch, one with a weight of 0 (refused)
    yield "submit_evidence-flags", R(submit_evidence=pb.SubmitEvidence(items=[
        pb.Evidence(evidence_id="e4", learner_id="alice", competency_id="a", score=0.5,
                    observed_at_ms=0, observed_at_set=True, weight=2.0, weight_set=True),
        pb.Evidence(evidence_id="e5", learner_id="alice", competency_id="a", score=0.5,
                    weight=0.0, weight_set=True)]))
    yield "get_learner", R(request_id="r5", get_learner=pb.GetLearner(learner_id="alice"))
    yield "next", R(request_id="r9", next=pb.Next(learner_id="alice", framework_id="urn:example:fw",
                                                    limit=3, locked_limit=2))
    yield "explain", R(request_id="r10", explain=pb.Explain(learner_id="alice", competency_id="b"))
    yield "get_learner-fw", R(get_learner=pb.GetLearner(learner_id="alice",
                                                        framework_id="urn:example:fw"))
    yield "read_events", R(request_id="r6", read_events=pb.ReadEvents(from_seq=1, limit=100))
    yield "read_events-max", R(read_events=pb.ReadEvents(from_seq=2**64 - 1, limit=2**32 - 1))
    yield "override-grant", R(request_id="r7", override=pb.Override(
        learner_id="alice", framework_id="urn:example:fw", competency_id="b", mastered=True,
        reason="observed in class", actor="ms.smith"))
    yield "override-withdraw", R(override=pb.Override(
        learner_id="alice", framework_id="urn:example:fw", competency_id="a", mastered=False,
        reason="copied", actor="mr.jones"))
    yield "health", R(request_id="r8", health=pb.Health())
    yield "list_evidence", R(request_id="r9", list_evidence=pb.ListEvidence(
        learner_id="alice", competency_id="a", limit=10))
    yield "list_evidence-all", R(list_evidence=pb.ListEvidence(learner_id="alice"))
    yield "issue_transcript", R(request_id="r10", issue_transcript=pb.IssueTranscript(
        learner_id="alice", framework_id="urn:example:fw"))
    # every other operation, so a new one cannot slip in without a seed
    yield "retract_evidence", R(retract_evidence=pb.RetractEvidence(
        evidence_id="e1", source="quiz", reason="voided"))
    yield "import_case", R(import_case=pb.ImportCase(package_json="{}", gate="none", rules=["*=latest:0.8"]))
    yield "list_credentials", R(list_credentials=pb.ListCredentials(learner_id="alice"))
    yield "get_credential", R(get_credential=pb.GetCredential(credential_id="urn:uuid:x"))
    yield "set_credential_status", R(set_credential_status=pb.SetCredentialStatus(
        credential_id="urn:uuid:x", purpose="revocation", set=True, reason="error"))
    yield "export_status_list", R(export_status_list=pb.ExportStatusList(purpose="revocation"))
    yield "get_issuer", R(get_issuer=pb.GetIssuer())
    yield "rotate_keys", R(rotate_keys=pb.RotateKeys())
    yield "register_learner_did", R(register_learner_did=pb.RegisterLearnerDid(
        learner_id="alice", did="did:key:z6Mk"))
    yield "backup", R(backup=pb.Backup(dir="/nonexistent/backup"))
    yield "metrics", R(metrics=pb.Metrics())
    # the transparency log
    yield "get_checkpoint", R(get_checkpoint=pb.GetCheckpoint())
    yield "get_log_entry", R(get_log_entry=pb.GetLogEntry(index=3))
    yield "prove_log", R(prove_log=pb.ProveLog(index=2, size=5))
    yield "prove_log-consistency", R(prove_log=pb.ProveLog(size1=3, size=9))
    yield "get_log_tile", R(get_log_tile=pb.GetLogTile(level=-1, index=0, width=256))
    yield "get_log_tile-hashes", R(get_log_tile=pb.GetLogTile(level=1, index=7, width=3))
    yield "get_credential_proof", R(get_credential_proof=pb.GetCredentialProof(
        credential_id="urn:uuid:x"))
    yield "import_roster", R(request_id="r10", import_roster=pb.ImportRoster(classes=[
        pb.RosterClass(group_id="7A", title="Math 7A", learner_ids=["alice", "b\u00e9la"],
                       teacher_ids=["t1"]),
        pb.RosterClass(group_id="OLD", deleted=True)]))
    yield "list_groups", R(request_id="r11", list_groups=pb.ListGroups())
    yield "list_groups-one", R(list_groups=pb.ListGroups(group_id="7A"))
    yield "group_report", R(request_id="r12", group_report=pb.GroupReport(
        group_id="7A", framework_id="urn:example:fw", cells=True))
    # erasure, legal hold, re-enrolment (issue 16)
    yield "set_legal_hold", R(set_legal_hold=pb.SetLegalHold(
        learner_id="alice", hold=True, reason="records request 12"))
    yield "erase_learner", R(request_id="r13", erase_learner=pb.EraseLearner(
        learner_id="alice", reason="parent request", request_ref="DPR-7",
        revoke_credentials=True))
    yield "reenrol_learner", R(reenrol_learner=pb.ReenrolLearner(learner_id="alice"))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(here, "corpus", "wire")
    sys.path.insert(0, os.path.join(sys.argv[1], "gen", "python"))
    from mastery.v1 import mastery_pb2 as pb
    os.makedirs(out, exist_ok=True)
    seen = set()
    for name, req in requests(pb):
        op = req.WhichOneof("op")
        assert op is not None, name
        seen.add(op)
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(req.SerializeToString(deterministic=True))
    ops = {f.name for f in pb.Request.DESCRIPTOR.oneofs_by_name["op"].fields}
    missing = ops - seen
    if missing:
        sys.exit("no seed for: " + ", ".join(sorted(missing)))


if __name__ == "__main__":
    main()
