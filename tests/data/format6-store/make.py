"""Makes tests/data/format6-store: a store written by masteryd at 697e795 (store format 6)."""
import json, os, sys, tempfile, shutil, time
sys.path.insert(0, os.getcwd())
from conftest import Client, Daemon, pb
out = sys.argv[1]
t = tempfile.mkdtemp()
d = Daemon(os.path.join(t, "data")).start()
c = Client(d.endpoint)
fw = {"id": "urn:fixture:fw", "title": "Fixture", "version": "1", "competencies": [
    {"id": "a", "title": "A", "rule": {"method": "latest", "threshold": 0.5},
     "achievement": {"name": "A badge"}, "review_after": "P30D"},
    {"id": "b", "title": "B", "requires": {"all": ["a"]}, "rule": {"method": "latest", "threshold": 0.5}}]}
r = c.call(put_framework=pb.PutFramework(json=json.dumps(fw))); assert r.status.code == 0, r
for L in ["fixture-learner-ada", "fixture-learner-bo"]:
    items = [pb.Evidence(evidence_id=f"fixture-evid-{L}-{k}", learner_id=L, competency_id="a", score=0.9,
                         source="quiz", narrative=f"fixture-narrative-{L}-{k}", url=f"https://fixture-url.example/{L}/{k}",
                         observed_at_ms=1_790_000_000_000 + k, observed_at_set=True) for k in range(3)]
    r = c.call(submit_evidence=pb.SubmitEvidence(items=items)); assert r.evidence_results.accepted == 3, r
r = c.call(override=pb.Override(learner_id="fixture-learner-ada", framework_id="urn:fixture:fw", competency_id="b",
                                mastered=True, reason="fixture-override-reason", actor="ms.fixture")); assert r.status.code == 0, r
r = c.call(register_learner_did=pb.RegisterLearnerDid(learner_id="fixture-learner-bo", did="did:example:fixture-did-bo")); assert r.status.code == 0, r
r = c.call(import_roster=pb.ImportRoster(classes=[pb.RosterClass(group_id="fixture-7A", title="7A",
           learner_ids=["fixture-learner-ada", "fixture-learner-bo"], teacher_ids=["t.fixture"])])); assert r.status.code == 0, r
creds = c.call(list_credentials=pb.ListCredentials(learner_id="fixture-learner-bo")).credential_list.credentials
r = c.call(set_credential_status=pb.SetCredentialStatus(credential_id=creds[0].credential_id, purpose="revocation", set=True,
                                                         reason="fixture-revocation-reason")); assert r.status.code == 0, r
r = c.call(backup=pb.Backup(dir=out)); assert r.status.code == 0, r
d.stop()
print(os.listdir(out))
