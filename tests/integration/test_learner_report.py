"""`masteryctl learner report L --html` opened in headless chromium from file:// (issue 15 item
6, the learner half): one self-contained page whose SVG map has a node per competency, coloured
by status (mastered / unlocked / locked / review due) and placed in layers by the prerequisite
order, the next steps highlighted with their rank, a table of scores and dates; no network
request, no script; readable on a phone-sized viewport (no horizontal page scroll, text at
least 14 px). Screenshots go under the build tree (build/web/screenshots)."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import BIN, SRC, Client, Daemon, ctl, evidence, pb

WEB = os.path.join(BIN, "..", "web")
DRIVER = os.path.join(SRC, "clients", "web", "test", "report.mjs")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FW = "urn:test:report"
DOC = {"id": FW, "title": "Fractions <strand> & co", "review_after": "P7D", "competencies": [
    {"id": "a", "title": "Equivalent fractions"},
    {"id": "b", "title": "Add like denominators", "requires": {"all": ["a"]}},
    {"id": "c", "title": "Compare fractions", "requires": {"all": ["a"]}},
    {"id": "d", "title": "Add unlike denominators with a long title that gets cut",
     "requires": {"all": ["b", "c"]}},
    {"id": "e", "title": "Word problems", "requires": {"all": ["d"]}},
    {"id": "f", "title": "Fractions as division"},
    {"id": "g", "title": "Strand", "rule": {"method": "children", "of": ["a", "f"]}},
]}
DAY = 86400000


@pytest.fixture(scope="module")
def chromium_ready():
    if shutil.which("node") is None or not os.path.exists(CHROMIUM):
        pytest.skip("report page: node or chromium (Debian package) is not installed")
    mods = os.path.join(SRC, "clients", "web", "node_modules", "playwright-core")
    if not os.path.isdir(mods):
        pytest.skip("report page: clients/web/node_modules has no playwright-core "
                    "(build the web_verify target: it runs npm ci)")


def drive(tmp_path, cases):
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps({"chromium": CHROMIUM, "cases": cases}))
    r = subprocess.run(["node", DRIVER, str(spec)], capture_output=True, text=True, timeout=600,
                       cwd=os.path.dirname(DRIVER))
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["errors"] == [], out["errors"]
    assert out["blocked"] == [], out["blocked"]
    assert all(u.startswith(("file://", "data:")) for u in out["requests"]), out["requests"]
    return {x["name"]: x for x in out["results"]}


def test_learner_report_page(chromium_ready, tmp_path):
    d = Daemon(str(tmp_path / "d")).start()
    try:
        c = Client(d.endpoint)
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(DOC))).status.code == 0
        now = int(time.time() * 1000)
        # a: mastered 10 days ago (review due: P7D); c: mastered now; b unlocked with a try
        rep = c.submit(evidence("i1", "s-7", "a", 0.9, now - 10 * DAY, observed_at_set=True),
                       evidence("i2", "s-7", "c", 0.95, now, observed_at_set=True),
                       evidence("i3", "s-7", "b", 0.4, now, observed_at_set=True))
        assert rep.status.code == 0
        c.close()
        page = tmp_path / "report.html"
        r = ctl(d, "learner", "report", "s-7", "--html", "-o", str(page))
        assert r.returncode == 0, r.stderr
        assert ctl(d, "learner", "report", "s-7").returncode == 2  # --html is required
        r = ctl(d, "learner", "report", "nobody", "--html", "-o", str(tmp_path / "x.html"))
        assert r.returncode == 1 and "next.learner_id" in r.stderr
    finally:
        assert d.stop() == 0
    html = page.read_text()
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "Fractions &lt;strand&gt; &amp; co" in html  # titles are escaped
    shots = os.path.join(WEB, "screenshots")
    os.makedirs(shots, exist_ok=True)
    desk = os.path.join(shots, "learner-report.png")
    phone = os.path.join(shots, "learner-report-phone.png")
    res = drive(tmp_path, [
        {"name": "desktop", "page": str(page), "width": 1100, "height": 900, "screenshot": desk},
        {"name": "phone", "page": str(page), "width": 390, "height": 844, "screenshot": phone}])
    p = res["desktop"]
    nodes = {n["id"]: n for n in p["nodes"]}
    assert set(nodes) == {"a", "b", "c", "d", "e", "f", "g"}
    status = {k: v["status"] for k, v in nodes.items()}
    assert status == {"a": "review", "b": "unlocked", "c": "mastered", "d": "locked",
                      "e": "locked", "f": "unlocked", "g": "unlocked"}, status
    # four colours, one per status, as rendered
    fills = {v["status"]: v["fill"] for v in nodes.values()}
    assert len(set(fills.values())) == 4, fills
    # layers from the prerequisite order: each prerequisite is drawn above what needs it
    assert nodes["a"]["y"] < nodes["b"]["y"] == nodes["c"]["y"] < nodes["d"]["y"] < nodes["e"]["y"]
    assert nodes["f"]["y"] == nodes["a"]["y"] and nodes["g"]["y"] > nodes["f"]["y"]
    assert p["edges"] == 7  # b-a, c-a, d-b, d-c, e-d, g-a, g-f
    # the next steps, highlighted with their rank: the review first, then b and f
    assert [s["id"] for s in p["steps"]] == ["a", "b", "f"], p["steps"]
    assert [s["kind"] for s in p["steps"]] == ["review", "learn", "learn"]
    assert {k: v["rank"] for k, v in nodes.items() if v["rank"]} == {"a": "1", "b": "2", "f": "3"}
    assert p["learner"] == "s-7" and "2 of 7 competencies mastered; 1 review due" in p["summary"]
    rows = {r["id"]: r["cells"] for r in p["rows"]}
    assert rows["c"][1] == "mastered" and rows["c"][2] == "0.95" and rows["c"][4] != "-"
    # a phone: no horizontal page scroll (the map scrolls in its own box), readable text,
    # the table's date columns folded away
    ph = res["phone"]
    assert ph["scrollWidth"] <= ph["viewport"], (ph["scrollWidth"], ph["viewport"])
    assert ph["fontPx"] >= 14
    assert all(r["visible"] == [True, True, True, False, False] for r in ph["rows"])
    print(f"\nlearner report: {len(html)} bytes; screenshots: {desk} {phone}")
