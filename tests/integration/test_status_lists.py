"""Status lists that outlive key rotations and fill up without blocking issuance.

A status list is signed as the issuer its badges name: under a did:key issuer a key rotation
changes the DID, so new badges go on a new list and the old lists stay signed by the retired
key; under did:web the DID stays and so do the lists. A list that is full (status_list_size
badges) is followed by the next one. Every badge is checked the way an auditor does: offline,
with mastery-verify and the lists as exported."""
import json
import os
import subprocess

import pytest

from conftest import BIN, Client, Daemon, ctl, evidence, pb

VERIFY = os.path.join(BIN, "mastery-verify")
FW = {"id": "urn:test:lists", "title": "Lists", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge A", "description": "Did A."}}]}


def verify(badge, lists, *extra):
    args = [VERIFY, "--json", str(badge)]
    for lst in lists:
        args += ["--status-list", str(lst)]
    r = subprocess.run(args + [str(x) for x in extra], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def start(tmp_path, conf_text, name="data"):
    conf = tmp_path / f"{name}.conf"
    conf.write_text(conf_text)
    return Daemon(str(tmp_path / name), extra_args=["-c", str(conf)]).start()


def issue(c, learners):
    """One badge per learner, all in one request: a batch may cross into a new list."""
    rep = c.submit(*[evidence(f"{l}-e", l, "a", 0.9, 1000) for l in learners])
    assert all(i.status.code == pb.STATUS_OK for i in rep.evidence_results.items), rep
    out = {}
    for l in learners:
        [cred] = c.call(list_credentials=pb.ListCredentials(learner_id=l)).credential_list.credentials
        out[l] = cred
    return out


def badge_doc(c, cid):
    rep = c.call(get_credential=pb.GetCredential(credential_id=cid))
    assert rep.status.code == pb.STATUS_OK, rep.status
    return json.loads(rep.credential.document)


def export_all(c, tmp_path, purpose="revocation"):
    """Every list of a purpose, as the school publishes them: {number: (path, doc, reply)}."""
    first = c.call(export_status_list=pb.ExportStatusList(purpose=purpose, list=1))
    assert first.status.code == pb.STATUS_OK, first.status
    lists = {}
    for n in range(1, first.status_list.lists + 1):
        rep = c.call(export_status_list=pb.ExportStatusList(purpose=purpose, list=n))
        assert rep.status.code == pb.STATUS_OK, rep.status
        sl = rep.status_list
        assert sl.list == n
        doc = json.loads(sl.json)
        assert doc["id"] == sl.url and doc["issuer"] == sl.issuer
        p = tmp_path / f"{purpose}-{n}.json"
        p.write_text(sl.json)
        lists[n] = (p, doc, sl)
    missing = c.call(export_status_list=pb.ExportStatusList(purpose=purpose,
                                                            list=first.status_list.lists + 1))
    assert missing.status.code == pb.STATUS_NOT_FOUND and missing.status.field == \
        "export_status_list.list", missing.status
    return lists


@pytest.mark.parametrize("did_web", [False, True])
def test_rotations_keep_every_badge_verifiable_with_its_status(tmp_path, did_web):
    d = start(tmp_path, "issuer_did_web = school.example\n" if did_web else "")
    c = Client(d.endpoint)
    try:
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == 0
        creds = issue(c, ["r0"])
        assert c.call(rotate_keys=pb.RotateKeys()).status.code == 0
        creds.update(issue(c, ["r1"]))
        assert c.call(rotate_keys=pb.RotateKeys()).status.code == 0
        creds.update(issue(c, ["r2"]))
        docs = {l: badge_doc(c, cr.credential_id) for l, cr in creds.items()}
        issuers = [docs[l]["issuer"]["id"] for l in ("r0", "r1", "r2")]
        if did_web:
            assert len(set(issuers)) == 1  # one DID: one list, signed by the current key
            assert [creds[l].status_list for l in ("r0", "r1", "r2")] == [1, 1, 1]
        else:
            assert len(set(issuers)) == 3  # each rotation is a new did:key: a list each
            assert [creds[l].status_list for l in ("r0", "r1", "r2")] == [1, 2, 3]
        # Revoke the oldest badge after both rotations.
        rep = c.call(set_credential_status=pb.SetCredentialStatus(
            credential_id=creds["r0"].credential_id, purpose="revocation", set=True,
            reason="issued in error"))
        assert rep.status.code == pb.STATUS_OK, rep.status
        lists = export_all(c, tmp_path)
        assert len(lists) == (1 if did_web else 3)
        # Each list is signed as the issuer its badges name.
        for l, doc in docs.items():
            entry = doc["credentialStatus"]
            _, ldoc, _ = lists[creds[l].status_list]
            assert entry["statusListCredential"] == ldoc["id"]
            assert ldoc["issuer"] == doc["issuer"]["id"]
        extra = []
        if did_web:
            didf = tmp_path / "did.json"
            didf.write_text(c.call(get_issuer=pb.GetIssuer()).issuer.did_document)
            extra = ["--did-document", didf]
        paths = [p for p, _, _ in lists.values()]
        for l in ("r0", "r1", "r2"):
            bf = tmp_path / f"{l}.json"
            bf.write_text(json.dumps(docs[l]))
            rc, out = verify(bf, paths, *extra)
            if l == "r0":
                assert rc == 1 and any("revoked" in x for x in out["reasons"]), out
                assert not any("not by the badge's issuer" in x for x in out["reasons"]), out
            else:
                assert rc == 0 and out["valid"], (l, out)
        # masteryctl exports by number too, naming where to publish each list.
        r = ctl(d, "status-list", "export", "revocation", "--list", "1")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["id"] == lists[1][1]["id"]
        assert lists[1][1]["id"] in r.stderr and f"of {len(lists)}" in r.stderr
    finally:
        c.close()
        assert d.stop() == 0


def test_full_lists_roll_over_and_never_block_issuance(tmp_path):
    d = start(tmp_path, "status_list_size = 8\ncredential_suspension = 1\n")
    c = Client(d.endpoint)
    try:
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == 0
        learners = [f"s{i:02d}" for i in range(30)]
        creds = {}
        for chunk in (learners[:5], learners[5:21], learners[21:]):  # batches cross lists
            creds.update(issue(c, chunk))
        assert len(creds) == 30
        on = {}
        for l, cr in creds.items():
            assert 0 <= cr.status_index < 8, cr
            on.setdefault(cr.status_list, []).append(l)
        assert sorted(on) == [1, 2, 3, 4]
        assert [len(on[n]) for n in (1, 2, 3, 4)] == [8, 8, 8, 6]
        for n, ls in on.items():  # one index per badge within its list
            assert len({creds[l].status_index for l in ls}) == len(ls)
        docs = {l: badge_doc(c, cr.credential_id) for l, cr in creds.items()}
        for l, doc in docs.items():
            for entry in doc["credentialStatus"] if isinstance(doc["credentialStatus"], list) \
                    else [doc["credentialStatus"]]:
                assert entry["statusListCredential"].endswith(
                    f"/{entry['statusPurpose']}/{creds[l].status_list}"), entry
                assert entry["statusListIndex"] == str(creds[l].status_index)
        # Revoke one badge on each of lists 1, 2 and 4; suspend one on list 3.
        revoked = {on[1][0], on[2][3], on[4][5]}
        suspended = on[3][2]
        for l in revoked:
            rep = c.call(set_credential_status=pb.SetCredentialStatus(
                credential_id=creds[l].credential_id, purpose="revocation", set=True, reason="x"))
            assert rep.status.code == pb.STATUS_OK, rep.status
        rep = c.call(set_credential_status=pb.SetCredentialStatus(
            credential_id=creds[suspended].credential_id, purpose="suspension", set=True,
            reason="y"))
        assert rep.status.code == pb.STATUS_OK, rep.status
        rev = export_all(c, tmp_path, "revocation")
        sus = export_all(c, tmp_path, "suspension")
        assert sorted(rev) == sorted(sus) == [1, 2, 3, 4]
        for n, (_, ldoc, _) in rev.items():  # padded to the spec's minimum length
            assert ldoc["credentialSubject"]["statusPurpose"] == "revocation"
        for l in learners:
            bf = tmp_path / f"{l}.json"
            bf.write_text(json.dumps(docs[l]))
            n = creds[l].status_list
            rc, out = verify(bf, [rev[n][0], sus[n][0]])
            if l in revoked:
                assert rc == 1 and any("revoked" in x for x in out["reasons"]), (l, out)
            elif l == suspended:
                assert rc == 1 and any("suspended" in x for x in out["reasons"]), (l, out)
            else:
                assert rc == 0 and out["valid"], (l, out)
            # Against another list of the same purpose, the status is not checked (wrong URL).
            other = rev[n % 4 + 1][0]
            rc, out = verify(bf, [other])
            assert any("no status list given" in w for w in out.get("warnings", [])), out
        # The lists survive a restart, and issuance continues on the newest one.
        c.close()
        assert d.stop() == 0
        d = Daemon(d.data_dir, extra_args=d.extra_args).start()
        c = Client(d.endpoint)
        more = issue(c, ["t0", "t1", "t2"])
        assert sorted(cr.status_list for cr in more.values()) == [4, 4, 5]
    finally:
        c.close()
        assert d.stop() == 0
