"""The student's badge page and the published site, opened in chromium from file:// (the
browser harness of test_web_verify.py): `masteryctl credential page` writes one HTML file that
verifies its own embedded credential offline (VALID, no network request), offers the baked PNG
and the JSON as downloads (each verifies with mastery-verify), and shows a QR code of its public
URL when --public-url is given; an edited copy of the page shows INVALID. `credential publish`
writes the static site: a page, a JSON and a PNG per badge, the status list at its URL path, the
did:web DID document at .well-known/did.json, and verify.html; nothing else, and no learner id.
"""
import base64
import json
import os
import subprocess

import pytest

from conftest import BIN, Daemon, ctl
from test_web_verify import WEB, browser, drive, issue  # noqa: F401 (fixture)

VERIFY = os.path.join(BIN, "mastery-verify")


def mv(path, *extra):
    r = subprocess.run([VERIFY, "--json", str(path), *extra], capture_output=True, text=True,
                       timeout=60)
    return json.loads(r.stdout)


def start(tmp_path, name, conf=""):
    c = tmp_path / f"{name}.conf"
    c.write_text(conf)
    return Daemon(str(tmp_path / name), extra_args=["-c", str(c)]).start()


def test_badge_page_verifies_itself(browser, tmp_path):  # noqa: F811
    d = start(tmp_path, "d")
    try:
        cid = issue(d, tmp_path, learner="s-4242")
        page = tmp_path / "badge.html"
        r = ctl(d, "credential", "page", cid, "--public-url", "https://school.example/badges-site",
                "-o", str(page))
        assert r.returncode == 0, r.stderr
        plain = tmp_path / "plain.html"
        assert ctl(d, "credential", "page", cid, "-o", str(plain)).returncode == 0
        rid = issue(d, tmp_path, learner="s-4242", competency="b")
        assert ctl(d, "credential", "revoke", rid, "--reason", "test").returncode == 0
        revoked = tmp_path / "revoked.html"
        assert ctl(d, "credential", "page", rid, "-o", str(revoked)).returncode == 0
        assert ctl(d, "credential", "page", cid, "--public-url", "ftp://x").returncode == 2
    finally:
        assert d.stop() == 0
    html = page.read_text()
    assert "s-4242" not in html  # the learner's school id is never public
    # an edited copy: the embedded credential's achievement renamed
    edited = tmp_path / "edited.html"
    edited.write_text(html.replace("Adding fractions\\u0022", "Adding fractionz\\u0022")
                      .replace('Adding fractions\\"', 'Adding fractionz\\"'))
    assert edited.read_text() != html
    shots = os.path.join(WEB, "screenshots")
    os.makedirs(shots, exist_ok=True)
    res = drive(tmp_path, [{"name": "page", "page": str(page),
                            "screenshot": os.path.join(shots, "badge-page.png")},
                           {"name": "plain", "page": str(plain)},
                           {"name": "revoked", "page": str(revoked)},
                           {"name": "edited", "page": str(edited)}])
    p = res["page"]
    assert p["verdict"] == "VALID", p["reasons"]
    assert all(v in ("ok", "json", "unknown", "absent") for v in p["checks"].values()), p["checks"]
    assert p["checks"]["revocation"] == "ok"  # the list embedded at generation
    assert p["card"] == "Adding fractions" and "Adding fractions" in p["title"]
    assert p["qr"] and p["publicUrl"].startswith("https://school.example/badges-site/badges/")
    assert not res["plain"]["qr"]
    print(f"badge page: {page.stat().st_size} bytes, verified in {p['ms']:.1f} ms")
    assert res["revoked"]["verdict"] == "REVOKED"
    assert res["edited"]["verdict"] == "INVALID"
    assert res["edited"]["checks"]["proof"] == "failed"
    # the downloads: a baked PNG and the JSON, each a badge mastery-verify accepts
    dl = {x["name"].rsplit(".", 1)[1]: x["href"] for x in p["downloads"]}
    pngf = tmp_path / "dl.png"
    pngf.write_bytes(base64.b64decode(dl["png"].split(",", 1)[1]))
    out = mv(pngf)
    assert out["verdict"] == "VALID" and out["checks"]["baked"] == "png", out
    jsonf = tmp_path / "dl.json"
    jsonf.write_bytes(base64.b64decode(dl["json"].split(",", 1)[1]))
    assert mv(jsonf)["verdict"] == "VALID"


def test_publish_static_site(browser, tmp_path):  # noqa: F811
    d = start(tmp_path, "w", "issuer_did_web = school.example\n"
                             "status_base_url = https://school.example/status\n")
    try:
        a = issue(d, tmp_path, learner="s-77")
        b = issue(d, tmp_path, learner="s-77", competency="b")
        site = tmp_path / "site"
        r = ctl(d, "--json", "credential", "publish", str(site), "--learner", "s-77",
                "--public-url", "https://school.example")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["credentials"] == 2
        assert ctl(d, "credential", "publish", str(site)).returncode == 2
    finally:
        assert d.stop() == 0
    files = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    uuids = [x.split(":")[-1] for x in (a, b)]
    want = sorted([f"badges/{u}.{e}" for u in uuids for e in ("html", "json", "png")] +
                  [".well-known/did.json", "status/revocation/1", "verify.html"])
    assert files == want, files
    for f in files:
        assert "s-77" not in (site / f).read_bytes().decode("latin-1"), f
    lst = json.loads((site / "status/revocation/1").read_text())
    assert lst["id"] == "https://school.example/status/revocation/1"
    did = json.loads((site / ".well-known/did.json").read_text())
    assert did["id"] == "did:web:school.example"
    # every published JSON and PNG verifies with the published list and DID document
    for u in uuids:
        for e in ("json", "png"):
            out = mv(site / "badges" / f"{u}.{e}", "--status-list", site / "status/revocation/1",
                     "--did-document", site / ".well-known/did.json")
            assert out["verdict"] == "VALID", (e, out["reasons"])
    res = drive(tmp_path, [{"name": u, "page": str(site / "badges" / f"{u}.html")}
                           for u in uuids])
    for u in uuids:
        assert res[u]["verdict"] == "VALID", res[u]["reasons"]
        assert res[u]["checks"]["issuer_key"] == "ok"  # did:web, from the embedded document
