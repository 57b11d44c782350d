"""`masteryctl group report G --html` opened in headless chromium from file:// at a phone-sized
viewport (playwright-core, Debian's chromium, as test_web_page.py): the DOM shows the blocking
competencies, the learners at risk and a learners x competencies heat map whose every cell has
the learner's status from GetLearner; the page makes no network request, runs no script, and
does not overflow the phone's width (the heat map scrolls inside its box). A screenshot is saved
under the build tree. Skipped, saying why, when node, playwright-core or chromium is absent."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, SRC, Client, ctl, evidence, pb
from test_groups import FW

BUILD = os.path.abspath(os.path.join(BIN, ".."))
DRIVER = os.path.join(SRC, "clients", "web", "test", "drive-report.mjs")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STATUS = {pb.LOCKED: "s0", pb.UNLOCKED: "s1", pb.MASTERED: "s2"}


@pytest.fixture
def browser():
    if shutil.which("node") is None or not os.path.exists(CHROMIUM):
        pytest.skip("report page test skipped: node or chromium (Debian package) is not installed")
    if not os.path.isdir(os.path.join(SRC, "clients", "web", "node_modules", "playwright-core")):
        pytest.skip("report page test skipped: clients/web/node_modules (npm ci) is not there")


def test_group_report_page_on_a_phone(browser, daemon, tmp_path):
    c = Client(daemon.endpoint)
    assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == 0
    learners = ["s-1", "s-2", "s-3", "<b>s-4</b>"]  # an id that must be escaped, not markup
    assert c.call(import_roster=pb.ImportRoster(classes=[pb.RosterClass(
        group_id="7A", title="Math 7A & friends", learner_ids=learners)])).status.code == 0
    c.submit(evidence("w1", "s-1", "a", 0.9), evidence("w2", "s-1", "b", 0.3),
             evidence("w3", "s-2", "a", 0.95), evidence("w4", "s-2", "b", 0.9),
             evidence("w5", "s-3", "e", 0.2))
    for k in range(5):
        c.submit(evidence(f"w-stuck-{k}", "s-3", "a", 0.1))
    states = {}
    for l in learners:
        [fw] = c.learner(l).learner.frameworks
        states[l] = [STATUS[s.status] for s in fw.competencies]
    report = c.call(group_report=pb.GroupReport(group_id="7A")).group_report
    c.close()
    page = tmp_path / "7A.html"
    r = ctl(daemon, "group", "report", "7A", "--html", "-o", str(page))
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    assert "<b>s-4</b>" not in html and "&lt;b&gt;s-4&lt;/b&gt;" in html
    shots = os.path.join(BUILD, "web", "screenshots")
    os.makedirs(shots, exist_ok=True)
    shot = os.path.join(shots, "group-report-phone.png")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"page": str(page), "chromium": CHROMIUM, "screenshot": shot,
                                "viewport": {"width": 390, "height": 844}}))
    run = subprocess.run(["node", DRIVER, str(spec)], capture_output=True, text=True,
                         timeout=300, cwd=os.path.dirname(DRIVER))
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert out["errors"] == [] and out["blocked"] == []
    assert all(u.startswith(("file://", "data:")) for u in out["requests"]), out["requests"]
    dom = out["dom"]
    assert dom["h1"] == "Math 7A & friends" and dom["scripts"] == 0
    assert [b["competency"] for b in dom["blocking"]] == list(report.blocking)
    want = {s.competency_id: s.blocked for s in report.competencies}
    assert all(b["blocked"] == want[b["competency"]] for b in dom["blocking"])
    assert {a["learner"] for a in dom["at-risk" if "at-risk" in dom else "atRisk"]} == \
        {a.learner_id for a in report.at_risk}
    assert "s-3" in {a["learner"] for a in dom["atRisk"]}
    assert dom["columns"] == len(FW["competencies"])
    assert {row["learner"]: row["cells"] for row in dom["rows"]} == states
    assert len(dom["summary"]) == len(FW["competencies"])
    # A phone: the page itself never wider than the screen; the heat map scrolls in its box.
    assert dom["pageWidth"] <= dom["viewport"], dom
    assert dom["fontPx"] >= 14
    print(f"\ngroup report page: {page.stat().st_size} bytes; screenshot {shot}")
