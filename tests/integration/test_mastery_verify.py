"""mastery-verify, the auditor's offline verifier, on real badges from make_badge (the same
library the daemon issues with): valid badges in every form, then each kind of bad input,
which must be INVALID with its reason (exit 1), never a crash; usage and I/O errors exit 2."""
import base64
import json
import os
import subprocess

import pytest

BIN = os.environ.get("MASTERY_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
NOW = "2026-11-20T10:15:00Z"
FROM = "2026-11-01T00:00:00Z"
REV = "https://lincoln.example.edu/status/revocation"
SUS = "https://lincoln.example.edu/status/suspension"
WEB = "lincoln.example.edu"


def make(*args):
    r = subprocess.run([os.path.join(BIN, "make_badge"), *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def verify(*args, now=NOW, stdin=None):
    cmd = [os.path.join(BIN, "mastery-verify"), *args]
    if now is not None:
        cmd += ["--now", now]
    r = subprocess.run(cmd, capture_output=True, text=True, input=stdin, timeout=60)
    assert r.returncode in (0, 1, 2), f"crashed: {r.returncode}\n{r.stderr}"
    return r


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text if isinstance(text, str) else json.dumps(text))
    return str(p)


def badge(*extra):
    return make("badge", "--valid-from", FROM, *extra)


def status_list(purpose, url, *extra):
    return make("status-list", "--valid-from", FROM, "--purpose", purpose, "--url", url, *extra)


def assert_invalid(r, *fragments):
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("INVALID: ")]
    assert lines, r.stdout
    for f in fragments:
        assert any(f in ln for ln in lines), f"{f!r} not in:\n{r.stdout}"
    return lines


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("rsa") / "rsa.pem")
    make("rsa-keygen", path)
    return path


# ---- valid badges ---------------------------------------------------------------------------

def test_valid_json_badge(tmp_path):
    r = verify(write(tmp_path, "b.json", badge()))
    assert r.returncode == 0, r.stdout
    assert r.stdout.strip() == "VALID"


def test_valid_jwt_eddsa(tmp_path):
    r = verify(write(tmp_path, "b.jwt", badge("--format", "jwt")))
    assert r.returncode == 0, r.stdout


def test_valid_did_web_json_and_rs256_jwt(tmp_path, rsa_key):
    doc = write(tmp_path, "did.json", make("did-document", "--did-web", WEB, "--seed-byte", "9",
                                           "--seed-byte", "1", "--rsa-key", rsa_key))
    b = write(tmp_path, "b.json", badge("--did-web", WEB))
    assert verify(b, "--did-document", doc).returncode == 0
    jwt = write(tmp_path, "b.jwt", badge("--did-web", WEB, "--format", "jwt-rs256",
                                         "--rsa-key", rsa_key))
    header = json.loads(base64.urlsafe_b64decode(open(jwt).read().split(".")[0] + "=="))
    assert header["alg"] == "RS256" and header["kid"].startswith("did:web:" + WEB + "#")
    r = verify(jwt, "--did-document", doc)
    assert r.returncode == 0, r.stdout
    # an old key (seed 9) listed in the document still verifies its earlier badges
    old = write(tmp_path, "old.json", badge("--did-web", WEB, "--seed-byte", "9"))
    assert verify(old, "--did-document", doc).returncode == 0


def test_badge_from_stdin():
    r = verify("-", stdin=badge())
    assert r.returncode == 0, r.stdout


def test_json_output(tmp_path):
    r = verify(write(tmp_path, "b.json", badge()), "--json")
    out = json.loads(r.stdout)
    assert out["valid"] is True and out["reasons"] == []
    assert out["checks"]["proof"] == "ok" and out["checks"]["issuer_key"] == "ok"
    assert out["checks"]["format"] == "json"


# ---- status lists ---------------------------------------------------------------------------

def test_revoked_suspended_and_clear(tmp_path):
    b = write(tmp_path, "b.json", badge("--revocation-list", REV, "--revocation-index", "4711",
                                        "--suspension-list", SUS, "--suspension-index", "99"))
    clear_rev = write(tmp_path, "rev0.json", status_list("revocation", REV, "--set", "4712"))
    clear_sus = write(tmp_path, "sus0.json", status_list("suspension", SUS))
    r = verify(b, "--status-list", clear_rev, "--status-list", clear_sus, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 0, out
    assert out["checks"]["revocation"] == "ok" and out["checks"]["suspension"] == "ok"

    revoked = write(tmp_path, "rev1.json", status_list("revocation", REV, "--set", "4711"))
    assert_invalid(verify(b, "--status-list", revoked, "--status-list", clear_sus),
                   "the credential is revoked")
    suspended = write(tmp_path, "sus1.json", status_list("suspension", SUS, "--set", "99"))
    lines = assert_invalid(verify(b, "--status-list", revoked, "--status-list", suspended),
                           "revoked", "suspended")
    assert len(lines) == 2  # every reason, one per line


def test_unchecked_status_is_a_warning(tmp_path):
    b = write(tmp_path, "b.json", badge("--revocation-list", REV))
    r = verify(b, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 0
    assert out["checks"]["revocation"] == "unchecked"
    assert any(REV in w for w in out["warnings"])


def test_status_list_signed_by_another_key(tmp_path):
    b = write(tmp_path, "b.json", badge("--revocation-list", REV))
    # a list issued by someone else entirely
    other = write(tmp_path, "o.json", status_list("revocation", REV, "--seed-byte", "3"))
    assert_invalid(verify(b, "--status-list", other), "not by the badge's issuer")
    # a list claiming the badge's issuer but signed with another key
    forged = write(tmp_path, "f.json", status_list("revocation", REV, "--seed-byte", "3",
                                                   "--issuer-seed-byte", "1"))
    assert_invalid(verify(b, "--status-list", forged), "does not belong to the issuer")


def test_status_list_tampered_bits(tmp_path):
    b = write(tmp_path, "b.json", badge("--revocation-list", REV, "--revocation-index", "7"))
    lst = json.loads(status_list("revocation", REV, "--set", "7"))
    clear = json.loads(status_list("revocation", REV))
    lst["credentialSubject"]["encodedList"] = clear["credentialSubject"]["encodedList"]
    assert_invalid(verify(b, "--status-list", write(tmp_path, "t.json", lst)),
                   "signature does not verify")


def test_status_list_wrong_purpose_and_malformed(tmp_path):
    b = write(tmp_path, "b.json", badge("--revocation-list", REV))
    sus = write(tmp_path, "s.json", status_list("suspension", REV))
    assert_invalid(verify(b, "--status-list", sus), "statusPurpose is suspension")
    junk = write(tmp_path, "j.json", '{"id": "' + REV + '", "credentialSubject": ')
    assert_invalid(verify(b, "--status-list", junk), "status list 1: malformed JSON")


# ---- bad input: each INVALID with its reason ------------------------------------------------

def test_tampered_json(tmp_path):
    doc = json.loads(badge())
    doc["credentialSubject"]["achievement"]["name"] = "Calculus"
    assert_invalid(verify(write(tmp_path, "t.json", doc)), "signature does not verify")


def test_truncated_json(tmp_path):
    text = badge()
    assert_invalid(verify(write(tmp_path, "t.json", text[: len(text) // 2])), "malformed JSON")


def test_not_a_credential(tmp_path):
    assert_invalid(verify(write(tmp_path, "x", "hello world")), "neither a JSON credential")
    assert_invalid(verify(write(tmp_path, "e", "")), "empty")
    assert_invalid(verify(write(tmp_path, "a", "[1,2]")), "not a JSON object")
    r = verify(write(tmp_path, "bin", os.urandom(4096).decode("latin-1")))
    assert r.returncode == 1


def test_jwt_alg_none(tmp_path):
    token = badge("--format", "jwt")
    h, p, _ = token.split(".")
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    assert_invalid(verify(write(tmp_path, "n.jwt", f"{none}.{p}.")), "alg none is refused")
    hs = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"x"}').rstrip(b"=").decode()
    assert_invalid(verify(write(tmp_path, "h.jwt", f"{hs}.{p}.AAAA")), "alg HS256 is refused")


def test_jwt_tampered_payload_and_missing_kid(tmp_path):
    token = badge("--format", "jwt")
    h, p, s = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["vc"]["name"] = "Calculus"
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_invalid(verify(write(tmp_path, "t.jwt", f"{h}.{p2}.{s}")), "signature does not verify")
    hdr = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
    del hdr["kid"]
    h2 = base64.urlsafe_b64encode(json.dumps(hdr).encode()).rstrip(b"=").decode()
    assert_invalid(verify(write(tmp_path, "k.jwt", f"{h2}.{p}.{s}")), "no kid")
    assert_invalid(verify(write(tmp_path, "c.jwt", f"{h}.{p}")), "malformed JWT")


def test_wrong_cryptosuite(tmp_path):
    doc = json.loads(badge())
    doc["proof"][0]["cryptosuite"] = "ecdsa-jcs-2019"
    assert_invalid(verify(write(tmp_path, "c.json", doc)), "unsupported cryptosuite ecdsa-jcs-2019")
    # A jcs proof relabelled rdfc: rdfc is supported, so the signature is checked and fails.
    doc["proof"][0]["cryptosuite"] = "eddsa-rdfc-2022"
    assert_invalid(verify(write(tmp_path, "r.json", doc)), "the signature does not verify")
    doc["proof"] = []
    assert_invalid(verify(write(tmp_path, "p.json", doc)), "no proof")


def test_wrong_proof_purpose(tmp_path):
    doc = json.loads(badge())
    doc["proof"][0]["proofPurpose"] = "authentication"
    r = verify(write(tmp_path, "p.json", doc), "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["checks"]["proof_purpose"] == "failed"
    assert any("expected assertionMethod" in x for x in out["reasons"])


def test_unknown_did_method(tmp_path):
    doc = json.loads(badge())
    doc["issuer"]["id"] = "did:example:lincoln"
    assert_invalid(verify(write(tmp_path, "u.json", doc)), 'unknown DID method "example"')
    jwt = badge("--format", "jwt")
    h, p, s = jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["iss"] = "did:ion:abc"
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_invalid(verify(write(tmp_path, "u.jwt", f"{h}.{p2}.{s}")), 'unknown DID method "ion"')


def test_issuer_does_not_control_the_key(tmp_path):
    # the issuer DID is key 2's, the proof is made (validly) by key 1
    b = write(tmp_path, "b.json", badge("--seed-byte", "1", "--issuer-seed-byte", "2"))
    r = verify(b, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["checks"]["issuer_key"] == "failed"
    assert any("does not belong to the issuer" in x for x in out["reasons"])
    j = write(tmp_path, "b.jwt", badge("--seed-byte", "1", "--issuer-seed-byte", "2",
                                       "--format", "jwt"))
    assert_invalid(verify(j), "does not belong to the issuer")


def test_did_web_needs_its_document(tmp_path):
    b = write(tmp_path, "b.json", badge("--did-web", WEB))
    assert_invalid(verify(b), "give its DID document")
    other = write(tmp_path, "o.json", make("did-document", "--did-web", "other.example"))
    assert_invalid(verify(b, "--did-document", other), "not the issuer")
    # the key is in the document, but not under assertionMethod
    doc = json.loads(make("did-document", "--did-web", WEB))
    doc["assertionMethod"] = []
    assert_invalid(verify(b, "--did-document", write(tmp_path, "d.json", doc)),
                   "not listed under assertionMethod")
    # a document that does not list this key at all
    doc = json.loads(make("did-document", "--did-web", WEB, "--seed-byte", "5"))
    assert_invalid(verify(b, "--did-document", write(tmp_path, "e.json", doc)),
                   "is not in the issuer's DID document")
    assert_invalid(verify(b, "--did-document", write(tmp_path, "m.json", "{")),
                   "DID document: malformed JSON")


def test_validity_window(tmp_path):
    b = write(tmp_path, "b.json", badge("--valid-until", "2026-12-01T00:00:00Z"))
    assert verify(b).returncode == 0
    assert_invalid(verify(b, now="2026-12-02T00:00:00Z"), "expired")
    assert_invalid(verify(b, now="2026-10-01T00:00:00Z"), "not valid yet")
    j = write(tmp_path, "b.jwt", badge("--valid-until", "2026-12-01T00:00:00Z",
                                       "--format", "jwt"))
    assert verify(j).returncode == 0
    assert_invalid(verify(j, now="2026-12-02T00:00:00Z"), "JWT: expired", "credential: expired")


def test_many_faults_all_reported(tmp_path):
    doc = json.loads(badge("--valid-until", "2026-11-10T00:00:00Z"))
    doc["name"] = "changed"
    doc["proof"][0]["proofPurpose"] = "authentication"
    lines = assert_invalid(verify(write(tmp_path, "m.json", doc)), "expired",
                           "expected assertionMethod")
    assert len(lines) >= 2


def test_usage_and_io_errors(tmp_path):
    assert verify(now=None).returncode == 2
    assert verify(str(tmp_path / "missing.json")).returncode == 2
    b = write(tmp_path, "b.json", badge())
    assert verify(b, now="yesterday").returncode == 2
    assert verify(b, "--status-list", str(tmp_path / "nope")).returncode == 2
    assert verify(b, "--bogus").returncode == 2


def test_not_an_open_badge(tmp_path):
    doc = json.loads(badge())
    doc["type"] = ["VerifiableCredential", "AlumniCredential"]
    doc["@context"] = doc["@context"][:1]
    r = verify(write(tmp_path, "a.json", doc), "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["checks"]["ob3_shape"] == "failed"
    assert any("neither OpenBadgeCredential" in x for x in out["reasons"])
    assert any("Open Badges 3.0 context" in x for x in out["reasons"])


def test_w3c_vector_fails_on_issuer_binding():
    """The vc-di-eddsa example's proof is mechanically right, but its issuer is a URL that does
    not control the did:key that signed it: a full verifier must refuse it, saying why."""
    src = os.environ.get("MASTERY_SRC", os.path.join(os.path.dirname(__file__), "../.."))
    vec = os.path.join(src, "tests", "vectors", "vc-di-eddsa", "eddsa-jcs-2022",
                       "signedJCS.json")
    r = verify(vec, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1
    assert out["checks"]["issuer_key"] == "failed"
    assert any("is not a DID" in x for x in out["reasons"])
