"""The offline verifier page (build/web/verify.html) in a real browser: Debian's chromium,
headless, driven by playwright-core (clients/web/test/drive.mjs) from file://. Badges issued by
real daemons in every form (eddsa-rdfc-2022, eddsa-jcs-2022, VC-JWT EdDSA and RS256, baked
PNG and SVG) must show VALID with every check passed; mutated copies (subject, dates, issuer,
proof swapped, one bit of a baked image) INVALID with the failing check named; a revoked badge
with its status list REVOKED. The browser's request log must hold nothing but the page itself.
Prints the page's size and the verification time per badge (not asserted); screenshots of a
valid and an invalid result go to build/web/screenshots/.

Skipped, saying why, when chromium, node or the built page are absent."""
import base64
import json
import os
import shutil
import subprocess
import zlib

import pytest

from conftest import BIN, Daemon, ctl

SRC = os.path.abspath(os.environ.get("MASTERY_SRC",
                                     os.path.join(os.path.dirname(__file__), "../..")))
BUILD = os.path.abspath(os.path.join(BIN, ".."))
WEB = os.path.join(BUILD, "web")
PAGE = os.path.join(WEB, "verify.html")
DRIVER = os.path.join(SRC, "clients", "web", "test", "drive.mjs")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

FW = {"id": "urn:test:web", "title": "Web", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Adding fractions",
                                             "description": "Adds like fractions.",
                                             "criteria": "Latest score 80% or better."}},
    {"id": "b", "title": "B", "achievement": {"name": "Comparing fractions",
                                             "description": "Compares fractions."}}]}
PASS = {"ok", "json", "jwt", "png", "svg"}
NOTE = {"unknown", "absent"}  # trust without a trust list; no validUntil


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(PAGE):
        why = open(os.path.join(WEB, "UNAVAILABLE")).read().strip() if os.path.exists(
            os.path.join(WEB, "UNAVAILABLE")) else "build/web/verify.html was not built"
        pytest.skip(f"verifier page skipped: {why}")
    if shutil.which("node") is None or not os.path.exists(CHROMIUM):
        pytest.skip("verifier page skipped: node or chromium (Debian package) is not installed")
    size = os.path.getsize(PAGE)
    print(f"\nverify.html: {size} bytes ({size / 1024:.0f} KiB), self-contained")
    return PAGE


def drive(tmp_path, cases):
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps({"page": PAGE, "chromium": CHROMIUM, "cases": cases}))
    r = subprocess.run(["node", DRIVER, str(spec)], capture_output=True, text=True, timeout=600,
                       cwd=os.path.dirname(DRIVER))
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["errors"] == [], out["errors"]
    # nothing but file:// pages (and data: URLs of the page's own images) was ever requested
    assert out["blocked"] == [], out["blocked"]
    assert all(u.startswith(("file://", "data:", "blob:")) for u in out["requests"]), \
        out["requests"]
    return {x["name"]: x for x in out["results"]}


def issue(d, tmp_path, learner="s1", competency="a", score="0.9"):
    f = tmp_path / "fw.json"
    f.write_text(json.dumps(FW))
    assert ctl(d, "framework", "load", str(f)).returncode == 0
    r = ctl(d, "evidence", "add", "--learner", learner, "--competency", competency, "--score",
            score)
    assert r.returncode == 0, r.stderr
    creds = json.loads(ctl(d, "--json", "credential", "list", "--learner", learner).stdout)[
        "credentials"]
    return [c["id"] for c in creds if c["competency"] == competency][0]


def save(tmp_path, name, data):
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(p)


def start(tmp_path, name, conf):
    c = tmp_path / f"{name}.conf"
    c.write_text(conf)
    return Daemon(str(tmp_path / name), extra_args=["-c", str(c)]).start()


def assert_valid(res, name):
    r = res[name]
    assert r["verdict"] == "VALID", (name, r["reasons"], r["checks"])
    bad = {k: v for k, v in r["checks"].items() if v not in PASS | NOTE}
    assert bad == {}, (name, bad)
    assert r["checks"]["proof"] == "ok" and r["checks"]["issuer_key"] == "ok", name


def assert_invalid(res, name, check, verdict="INVALID"):
    r = res[name]
    assert r["verdict"] == verdict, (name, r["verdict"], r["reasons"])
    assert r["checks"].get(check) not in PASS | NOTE | {None}, (name, check, r["checks"])
    return r


def test_every_form_and_every_tamper(browser, tmp_path):
    shots = os.path.join(WEB, "screenshots")
    os.makedirs(shots, exist_ok=True)
    cases, files = [], {}
    d_rdfc = start(tmp_path, "rdfc", "")
    d_jcs = start(tmp_path, "jcs", "credential_proofs = jcs\n")
    d_web = start(tmp_path, "web", "issuer_did_web = school.example\n"
                                   "credential_jwt_alg = RS256\n")
    try:
        # -- daemon 1: rdfc JSON, EdDSA JWT, baked PNG and SVG, a revoked badge, its list
        cid = issue(d_rdfc, tmp_path)
        doc = ctl(d_rdfc, "credential", "get", cid).stdout.strip()
        assert json.loads(doc)["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
        files["rdfc"] = save(tmp_path, "rdfc.json", doc)
        files["jwt"] = save(tmp_path, "eddsa.jwt",
                            ctl(d_rdfc, "credential", "get", cid, "--format", "jwt").stdout)
        for form in ("png", "svg"):
            p = str(tmp_path / f"baked.{form}")
            assert ctl(d_rdfc, "credential", "bake", cid, f"--{form}", "-o", p).returncode == 0
            files[form] = p
        jp = str(tmp_path / "baked-jwt.png")
        assert ctl(d_rdfc, "credential", "bake", cid, "--png", "--format", "jwt", "-o",
                   jp).returncode == 0
        files["png-jwt"] = jp
        clear = save(tmp_path, "list-clear.json",
                     ctl(d_rdfc, "status-list", "export", "revocation").stdout)
        rid = issue(d_rdfc, tmp_path, competency="b")
        revoked = save(tmp_path, "revoked.json", ctl(d_rdfc, "credential", "get", rid).stdout)
        assert ctl(d_rdfc, "credential", "revoke", rid, "--reason", "test").returncode == 0
        rlist = save(tmp_path, "list-revoked.json",
                     ctl(d_rdfc, "status-list", "export", "revocation").stdout)
        other_doc = json.loads(ctl(d_rdfc, "credential", "get", rid).stdout)
        # -- daemon 2: jcs JSON
        jid = issue(d_jcs, tmp_path)
        jdoc = ctl(d_jcs, "credential", "get", jid).stdout.strip()
        assert json.loads(jdoc)["proof"][0]["cryptosuite"] == "eddsa-jcs-2022"
        files["jcs"] = save(tmp_path, "jcs.json", jdoc)
        jcs_issuer = json.loads(jdoc)["issuer"]["id"]
        jlist = save(tmp_path, "list-jcs.json",
                     ctl(d_jcs, "status-list", "export", "revocation").stdout)
        # -- daemon 3: did:web with RS256 JWT (the DID document supplied by hand)
        wid = issue(d_web, tmp_path)
        files["rs256"] = save(tmp_path, "rs256.jwt",
                              ctl(d_web, "credential", "get", wid, "--format", "jwt").stdout)
        files["web-json"] = save(tmp_path, "web.json", ctl(d_web, "credential", "get", wid).stdout)
        did = save(tmp_path, "did.json", ctl(d_web, "issuer", "did-document").stdout)
        wlist = save(tmp_path, "list-web.json",
                     ctl(d_web, "status-list", "export", "revocation").stdout)
        hdr = json.loads(base64.urlsafe_b64decode(open(files["rs256"]).read().split(".")[0] + "=="))
        assert hdr["alg"] == "RS256"
    finally:
        for d in (d_rdfc, d_jcs, d_web):
            assert d.stop() == 0

    # valid forms
    cases += [{"name": "rdfc", "files": [files["rdfc"], clear],
               "screenshot": os.path.join(shots, "valid.png"), "recipient": "s1"},
              {"name": "jcs", "files": [files["jcs"], jlist], "trust": jcs_issuer},
              {"name": "jwt-eddsa", "files": [files["jwt"], clear]},
              {"name": "jwt-rs256", "files": [files["rs256"], did, wlist]},
              {"name": "did-web-rdfc", "files": [files["web-json"], did, wlist]},
              {"name": "baked-png", "files": [files["png"], clear]},
              {"name": "baked-svg", "files": [files["svg"], clear]},
              {"name": "baked-png-jwt", "files": [files["png-jwt"], clear]},
              {"name": "revoked", "files": [revoked, rlist]},
              {"name": "revoked-unchecked", "files": [revoked]}]

    # tampered copies
    base = json.loads(doc)
    t = json.loads(doc)
    t["credentialSubject"]["identifier"][0]["identityHash"] = "sha256$" + "0" * 64
    cases.append({"name": "subject", "files": [save(tmp_path, "t-subject.json", t)],
                  "screenshot": os.path.join(shots, "invalid.png")})
    t = json.loads(doc)
    t["validFrom"] = "2020-01-01T00:00:00Z"
    cases.append({"name": "dates", "files": [save(tmp_path, "t-dates.json", t)]})
    t = json.loads(doc)
    t["issuer"]["id"] = jcs_issuer
    cases.append({"name": "issuer", "files": [save(tmp_path, "t-issuer.json", t)]})
    t = json.loads(doc)
    t["proof"] = other_doc["proof"]
    cases.append({"name": "proof-swapped", "files": [save(tmp_path, "t-proof.json", t)]})
    t = json.loads(doc)
    t["credentialSubject"]["achievement"]["name"] = "Calculus"
    cases.append({"name": "achievement", "files": [save(tmp_path, "t-ach.json", t)]})
    tok = open(files["jwt"]).read().strip().split(".")
    claims = json.loads(base64.urlsafe_b64decode(tok[1] + "=="))
    claims["vc"]["validFrom"] = "2020-01-01T00:00:00Z"
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    cases.append({"name": "jwt-payload", "files": [save(tmp_path, "t.jwt",
                                                        f"{tok[0]}.{p2}.{tok[2]}")]})
    png = bytearray(open(files["png"], "rb").read())
    at = png.index(b"Adding fractions")
    png[at] ^= 0x01  # one bit of the payload; the chunk's CRC now disagrees
    cases.append({"name": "png-bit", "files": [save(tmp_path, "t-bit.png", bytes(png))]})
    # the same bit with the CRC made right again: the signature catches it
    off = png.rfind(b"iTXt", 0, at) - 4
    n = int.from_bytes(png[off:off + 4], "big")
    crc = zlib.crc32(bytes(png[off + 4:off + 8 + n]))
    png[off + 8 + n:off + 12 + n] = crc.to_bytes(4, "big")
    cases.append({"name": "png-bit-crc", "files": [save(tmp_path, "t-bitcrc.png", bytes(png))]})
    svg = open(files["svg"]).read().replace("Adding fractions", "Adding fractionz", 1)
    cases.append({"name": "svg-edit", "files": [save(tmp_path, "t.svg", svg)]})
    cases.append({"name": "untrusted", "files": [files["jcs"]], "trust": "did:web:other.example"})
    cases.append({"name": "rs256-no-did", "files": [files["rs256"]]})
    assert base["credentialSubject"]["identifier"][0]["hashed"] is True
    # not badges at all: each refused with the check that saw it, never a crash
    cases.append({"name": "garbage", "files": [save(tmp_path, "g.bin", os.urandom(4096))]})
    raw = open(files["png"], "rb").read()
    cases.append({"name": "png-truncated", "files": [save(tmp_path, "t-half.png",
                                                          raw[:len(raw) // 2])]})
    cases.append({"name": "json-not-vc", "files": [save(tmp_path, "x.json", '{"a": 1}')]})
    none = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    cases.append({"name": "jwt-alg-none", "files": [save(tmp_path, "n.jwt",
                                                         f"{none}.{tok[1]}.")]})

    res = drive(tmp_path, cases)
    for name in ("rdfc", "jcs", "jwt-eddsa", "jwt-rs256", "did-web-rdfc", "baked-png",
                 "baked-svg", "baked-png-jwt"):
        assert_valid(res, name)
        print(f"{name:16s} VALID   {res[name]['ms']:7.1f} ms in chromium")
    assert res["rdfc"]["checks"]["revocation"] == "ok"
    assert res["rdfc"]["recipient"] == "ok"
    assert res["jcs"]["checks"]["trust"] == "ok"
    assert res["baked-png"]["checks"]["baked"] == "png"
    assert res["baked-svg"]["checks"]["baked"] == "svg"
    assert res["jwt-rs256"]["checks"]["jwt_alg"] == "ok"
    assert "Adding fractions" in res["rdfc"]["text"]
    assert res["rdfc"]["issuer"].startswith("did:key:z6Mk")

    r = assert_invalid(res, "revoked", "revocation", verdict="REVOKED")
    assert r["checks"]["revocation"] == "revoked"
    assert res["revoked-unchecked"]["verdict"] == "VALID"
    assert res["revoked-unchecked"]["checks"]["revocation"] == "unchecked"

    expect = {"subject": "proof", "dates": "proof", "issuer": "issuer_key",
              "proof-swapped": "proof", "achievement": "proof", "jwt-payload": "proof",
              "png-bit": "baked", "png-bit-crc": "proof", "svg-edit": "proof",
              "untrusted": "trust", "rs256-no-did": "issuer_key", "garbage": "format",
              "png-truncated": "baked", "json-not-vc": "structure", "jwt-alg-none": "jwt_alg"}
    for name, check in expect.items():
        r = assert_invalid(res, name, check)
        print(f"{name:16s} INVALID {check:11s} {r['reasons'][0][:70]}")
    assert any("CRC" in x for x in res["png-bit"]["reasons"])
    assert os.path.getsize(os.path.join(shots, "valid.png")) > 0
    assert os.path.getsize(os.path.join(shots, "invalid.png")) > 0
    print(f"screenshots: {shots}/valid.png, {shots}/invalid.png")


CLR_FW = {"id": "urn:test:web-clr", "title": "Web CLR", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Adding fractions",
                                             "description": "Adds like fractions."}},
    {"id": "b", "title": "B", "requires": {"all": ["a"]},
     "achievement": {"name": "Comparing fractions", "description": "Compares fractions."}}]}


def test_clr_transcript_in_the_page(browser, tmp_path):
    """A CLR 2.0 transcript (issue 14 item 4) as JSON, baked PNG and baked SVG: VALID with its
    own proof and every embedded badge's checked; a tampered embedded badge, and a transcript
    holding a badge revoked since, INVALID with the check named."""
    d = start(tmp_path, "clr", "")
    try:
        f = tmp_path / "clr-fw.json"
        f.write_text(json.dumps(CLR_FW))
        assert ctl(d, "framework", "load", str(f)).returncode == 0
        for comp in ("a", "b"):
            assert ctl(d, "evidence", "add", "--learner", "s9", "--competency", comp, "--score",
                       "0.9").returncode == 0
        files = {}
        for form in ("json", "png", "svg"):
            p = str(tmp_path / f"clr.{form}")
            args = ["learner", "transcript", "s9", "--clr", "-o", p]
            r = ctl(d, *args, *([f"--{form}"] if form != "json" else []))
            assert r.returncode == 0, r.stderr
            files[form] = p
        clear = save(tmp_path, "clr-list.json", ctl(d, "status-list", "export",
                                                    "revocation").stdout)
        doc = json.load(open(files["json"]))
        victim = doc["credentialSubject"]["verifiableCredential"][0]["id"]
        assert ctl(d, "credential", "revoke", victim, "--reason", "test").returncode == 0
        rlist = save(tmp_path, "clr-list-revoked.json", ctl(d, "status-list", "export",
                                                            "revocation").stdout)
    finally:
        assert d.stop() == 0
    t = json.loads(json.dumps(doc))
    t["credentialSubject"]["verifiableCredential"][1]["credentialSubject"]["achievement"][
        "name"] = "Calculus"
    cases = [{"name": "clr-json", "files": [files["json"], clear], "recipient": "s9"},
             {"name": "clr-png", "files": [files["png"], clear]},
             {"name": "clr-svg", "files": [files["svg"], clear]},
             {"name": "clr-tampered", "files": [save(tmp_path, "clr-t.json", t), clear]},
             {"name": "clr-revoked-inside", "files": [files["json"], rlist]}]
    res = drive(tmp_path, cases)
    for name in ("clr-json", "clr-png", "clr-svg"):
        assert_valid(res, name)
        assert res[name]["checks"]["clr_credentials"] == "ok", res[name]["checks"]
        assert res[name]["checks"]["ob3_shape"] == "ok"
        print(f"{name:16s} VALID   {res[name]['ms']:7.1f} ms in chromium")
    assert res["clr-json"]["recipient"] == "ok"
    assert res["clr-png"]["checks"]["baked"] == "png"
    assert res["clr-svg"]["checks"]["baked"] == "svg"
    r = assert_invalid(res, "clr-tampered", "proof")
    assert res["clr-tampered"]["checks"]["clr_credentials"] == "failed"
    print(f"{'clr-tampered':16s} INVALID proof       {r['reasons'][0][:70]}")
    r = assert_invalid(res, "clr-revoked-inside", "clr_credentials")
    assert any("REVOKED" in x for x in r["reasons"]), r["reasons"]
    print(f"{'clr-revoked-in':16s} INVALID clr_credentials {r['reasons'][0][:60]}")
