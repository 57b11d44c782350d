"""mastery-verify, the auditor's offline verifier, on real badges from make_badge (the same
library the daemon issues with): valid badges in every form, then each kind of bad input,
which must be INVALID with its reason (exit 1), never a crash; usage and I/O errors exit 2."""
import base64
import hashlib
import json
import os
import re
import struct
import subprocess
import zlib

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
    lines = r.stdout.splitlines()
    assert lines[-1] == "VALID"
    # the issuer is named first, then every check with its result
    assert lines[0] == "issuer:      Lincoln Elementary"
    assert lines[1].startswith("  DID:       did:key:z6Mk")
    assert any(ln.split()[:2] == ["proof", "ok"] for ln in lines)
    assert any(ln.split()[:2] == ["trust", "unknown"] for ln in lines)


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


# ---- the auditor's options (issue 11 item 7) -------------------------------------------------

def results(out):
    """--json: one entry per check, in the order run."""
    names = [e["check"] for e in out["results"]]
    assert len(names) == len(set(names)), names
    assert {e["check"]: e["result"] for e in out["results"]} == out["checks"]
    return {e["check"]: e for e in out["results"]}


def issuer_did(text):
    return json.loads(text)["issuer"]["id"]


def test_help_is_a_manual():
    r = subprocess.run([os.path.join(BIN, "mastery-verify"), "--help"], capture_output=True,
                       text=True)
    assert r.returncode == 0
    for opt in ("--trust", "--recipient", "--max-status-age", "--status-list", "--did-document",
                "--json", "--now", "exit:"):
        assert opt in r.stdout, opt


def test_json_names_issuer_and_every_check(tmp_path):
    text = badge()
    out = json.loads(verify(write(tmp_path, "b.json", text), "--json").stdout)
    assert out["verdict"] == "VALID"
    assert out["issuer"] == {"id": issuer_did(text), "name": "Lincoln Elementary",
                             "url": "https://lincoln.example.edu"}
    assert out["credential"]["achievement"] == "Adding fractions"
    res = results(out)
    for name in ("format", "parse", "structure", "ob3_shape", "proof", "proof_purpose",
                 "issuer_key", "trust", "valid_from", "valid_until", "revocation"):
        assert name in res, name
    assert res["proof"]["result"] == "ok" and "signature verifies" in res["proof"]["detail"]
    assert res["trust"]["result"] == "unknown"
    assert any("not known" in w for w in out["warnings"])


def test_trust_file_lines_and_did_documents(tmp_path):
    text = badge()
    b = write(tmp_path, "b.json", text)
    good = write(tmp_path, "t1", f"# issuers we accept\n\n  {issuer_did(text)}  # Lincoln\n")
    out = json.loads(verify(b, "--trust", good, "--json").stdout)
    assert out["valid"] and results(out)["trust"]["result"] == "ok"
    assert not any("not known" in w for w in out["warnings"])
    # an issuer not in the file: INVALID, the check named, the issuer named
    other = write(tmp_path, "t2", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK\n")
    r = verify(b, "--trust", other, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["verdict"] == "INVALID"
    assert results(out)["trust"]["result"] == "failed"
    assert any("unknown issuer" in x and issuer_did(text) in x for x in out["reasons"])
    # an empty trust file trusts nobody
    assert_invalid(verify(b, "--trust", write(tmp_path, "t3", "# nobody yet\n")), "unknown issuer")
    # did:web: the trust file holds the DID document, which also binds the key
    web = write(tmp_path, "w.json", badge("--did-web", WEB))
    doc = make("did-document", "--did-web", WEB)
    r = verify(web, "--trust", write(tmp_path, "t4.json", doc))
    assert r.returncode == 0, r.stdout
    arr = write(tmp_path, "t5.json", json.dumps(["did:example:x", json.loads(doc)]))
    assert verify(web, "--trust", arr).returncode == 0
    # a malformed trust file is a usage error naming the file
    r = verify(b, "--trust", write(tmp_path, "t6", "did:key:a did:key:b\n"))
    assert r.returncode == 2 and "t6:1" in r.stderr
    r = verify(b, "--trust", write(tmp_path, "t7.json", "[1]"))
    assert r.returncode == 2 and "entry 1" in r.stderr


def test_trust_applies_to_jwt(tmp_path):
    token = badge("--format", "jwt")
    b = write(tmp_path, "b.jwt", token)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert verify(b, "--trust", write(tmp_path, "t", claims["iss"])).returncode == 0
    assert_invalid(verify(b, "--trust", write(tmp_path, "u", "did:web:x.example")),
                   "unknown issuer")


def test_self_signed_impostor_is_not_trusted(tmp_path):
    """issue 11: a badge self-signed by any did:key printed VALID. It still verifies
    cryptographically, but names its issuer, and fails against the school's trust file."""
    school = issuer_did(badge())
    forged = write(tmp_path, "f.json", badge("--seed-byte", "77", "--issuer-seed-byte", "77"))
    assert issuer_did(open(forged).read()) != school
    r = verify(forged)
    assert r.returncode == 0 and "DID:       " + issuer_did(open(forged).read()) in r.stdout
    assert "not known" in r.stderr
    assert_invalid(verify(forged, "--trust", write(tmp_path, "t", school)), "unknown issuer")


def test_recipient_against_hashed_identity(tmp_path):
    text = badge()
    doc = json.loads(text)
    ident = doc["credentialSubject"]["identifier"][0]
    # make_badge's learner: find it by the hash, as a school would know it
    learner = "s-1001"
    assert ident["identityHash"] == "sha256$" + hashlib.sha256(
        (learner + ident["salt"]).encode()).hexdigest()
    b = write(tmp_path, "b.json", text)
    out = json.loads(verify(b, "--recipient", learner, "--json").stdout)
    assert out["valid"] and results(out)["recipient"]["result"] == "ok"
    r = verify(b, "--recipient", "s-1002", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and results(out)["recipient"]["result"] == "failed"
    # the presented id is never echoed (it is the learner's raw id)
    assert "s-1002" not in r.stdout
    # JWT too
    j = write(tmp_path, "b.jwt", badge("--format", "jwt"))
    assert verify(j, "--recipient", learner).returncode == 0
    assert_invalid(verify(j, "--recipient", "someone-else"), "does not match")


def test_stale_and_expired_status_list(tmp_path):
    b = write(tmp_path, "b.json", badge("--revocation-list", REV, "--revocation-index", "5"))
    lst = write(tmp_path, "l.json", status_list("revocation", REV))  # signed at FROM
    # 19 days after FROM: fine without a limit, stale with --max-status-age 7d
    assert verify(b, "--status-list", lst).returncode == 0
    r = verify(b, "--status-list", lst, "--max-status-age", "7d", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and results(out)["status_fresh"]["result"] == "failed"
    assert any("stale" in x for x in out["reasons"])
    assert verify(b, "--status-list", lst, "--max-status-age", "30d").returncode == 0
    assert verify(b, "--status-list", lst, "--max-status-age", "soon").returncode == 2
    # a list past its own validUntil
    old = write(tmp_path, "o.json", status_list("revocation", REV, "--valid-until",
                                                "2026-11-10T00:00:00Z"))
    r = verify(b, "--status-list", old, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and results(out)["status_fresh"]["result"] == "failed"


def test_revoked_verdict(tmp_path):
    b = write(tmp_path, "b.json", badge("--revocation-list", REV, "--revocation-index", "9"))
    lst = write(tmp_path, "l.json", status_list("revocation", REV, "--set", "9"))
    r = verify(b, "--status-list", lst)
    assert r.returncode == 1 and r.stdout.splitlines()[-1] == "REVOKED"
    out = json.loads(verify(b, "--status-list", lst, "--json").stdout)
    assert out["verdict"] == "REVOKED" and results(out)["revocation"]["result"] == "revoked"


# ---- baked badges (an independent baker: Python's own PNG and SVG writing) -------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bake_png(text, keyword=b"openbadgecredential"):
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\0\xff\x80\x00"))
    itxt = png_chunk(b"iTXt", keyword + b"\0\0\0\0\0" + text.encode())
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + itxt + png_chunk(b"IEND", b"")


def test_baked_png_and_svg(tmp_path):
    text = badge()
    p = tmp_path / "b.png"
    p.write_bytes(bake_png(text))
    out = json.loads(verify(str(p), "--json").stdout)
    assert out["valid"], out
    assert results(out)["baked"]["result"] == "png"
    cdata = text.replace("]]>", "]]]]><![CDATA[>")
    svg = ('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
           'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">\n<openbadges:credential>'
           f'<![CDATA[\n{cdata}\n]]></openbadges:credential><circle r="4"/></svg>')
    s = write(tmp_path, "b.svg", svg)
    out = json.loads(verify(s, "--json").stdout)
    assert out["valid"] and results(out)["baked"]["result"] == "svg"
    jwt = badge("--format", "jwt")
    s2 = write(tmp_path, "j.svg", '<svg xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
                                  f'<openbadges:credential verify="{jwt}"/></svg>')
    assert verify(s2).returncode == 0


def test_baked_tampering_rejected(tmp_path):
    text = badge()
    raw = bytearray(bake_png(text))
    at = raw.index(b"Adding fractions")
    # one bit of the payload: the PNG CRC catches it
    bad = bytearray(raw)
    bad[at] ^= 0x01
    p = tmp_path / "bit.png"
    p.write_bytes(bytes(bad))
    out = json.loads(verify(str(p), "--json").stdout)
    assert not out["valid"] and results(out)["baked"]["result"] == "failed"
    assert any("CRC" in x for x in out["reasons"])
    # the same change with a fresh CRC: the signature catches it
    p.write_bytes(bake_png(text.replace("Adding fractions", "Adding fractionz")))
    out = json.loads(verify(str(p), "--json").stdout)
    assert not out["valid"] and results(out)["proof"]["result"] == "failed"
    # a second credential chunk, a picture without one, an OB 2.0 SVG
    two = bake_png(text)
    two = two[:-12] + png_chunk(b"iTXt", b"openbadgecredential\0\0\0\0\0{}") + two[-12:]
    p.write_bytes(two)
    assert_invalid(verify(str(p)), "more than one")
    p.write_bytes(bake_png(text)[:33] + png_chunk(b"IEND", b""))
    assert_invalid(verify(str(p)), "no baked credential")
    ob2 = write(tmp_path, "o.svg", '<svg xmlns:openbadges="http://openbadges.org">'
                                  '<openbadges:credential>{}</openbadges:credential></svg>')
    assert_invalid(verify(ob2), "namespace")
