"""Wallet readiness: a badge the daemon issues carries what the DCC Learner Credential Wallet
and LearnCard show on a credential card (name, issuer name and image, achievement name,
description, criteria and image, dates) and the proof they accept (eddsa-rdfc-2022: LCW and
VerifierPlus accept only it and Ed25519Signature2020), as the JSON a student imports and as the
JSON of a published badge page."""
import json

from conftest import Daemon, ctl

FW = {"id": "urn:test:wallet", "title": "Wallet", "competencies": [
    {"id": "a", "title": "A", "achievement": {
        "name": "Adding fractions", "description": "Adds fractions with like denominators.",
        "criteria": "Latest score 80% or better.",
        "image": "https://school.example/badges/add.png"}}]}
CONF = ("issuer_name = Lincoln Elementary\nissuer_url = https://lincoln.example.edu\n"
        "issuer_image = https://lincoln.example.edu/logo.png\n")


def test_badge_has_what_wallets_display(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text(CONF)
    d = Daemon(str(tmp_path / "data"), extra_args=["-c", str(conf)]).start()
    try:
        f = tmp_path / "fw.json"
        f.write_text(json.dumps(FW))
        assert ctl(d, "framework", "load", str(f)).returncode == 0
        assert ctl(d, "evidence", "add", "--learner", "s1", "--competency", "a", "--score",
                   "0.95").returncode == 0
        [c] = json.loads(ctl(d, "--json", "credential", "list", "--learner", "s1").stdout)[
            "credentials"]
        doc = json.loads(ctl(d, "credential", "get", c["id"]).stdout)
    finally:
        assert d.stop() == 0
    # the card: title, issuer line with logo, picture, description, criteria, date
    assert doc["name"] == "Adding fractions"
    assert "OpenBadgeCredential" in doc["type"]
    assert doc["issuer"]["name"] == "Lincoln Elementary"
    assert doc["issuer"]["image"]["id"] == "https://lincoln.example.edu/logo.png"
    assert doc["issuer"]["url"] == "https://lincoln.example.edu"
    ach = doc["credentialSubject"]["achievement"]
    assert ach["name"] == "Adding fractions"
    assert ach["description"] == "Adds fractions with like denominators."
    assert ach["criteria"]["narrative"] == "Latest score 80% or better."
    assert ach["image"]["id"] == "https://school.example/badges/add.png"
    assert ach["image"]["type"] == "Image"
    assert doc["validFrom"].endswith("Z")
    # the proof the wallets verify
    assert [p["cryptosuite"] for p in doc["proof"]] == ["eddsa-rdfc-2022"]
    assert doc["issuer"]["id"].startswith("did:key:z6Mk")
    # the learner is a salted hash, not the school id, in what the wallet shows and shares
    assert "s1" not in json.dumps(doc["credentialSubject"])
