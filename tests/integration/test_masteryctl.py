"""masteryctl against a real masteryd: every command, its output, and its exit codes.

Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error, 3 unreachable.
"""
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BIN, EXAMPLES, Daemon, ctl

CTL = os.path.join(BIN, "masteryctl")
CONTENT_ID_RE = r"ctl-[0-9a-f]{32}"  # evidence add without --id: a hash of the content

# A small framework with a known cascade: mastering "a" (latest >= 0.8) unlocks "b".
FRAMEWORK = {
    "id": "urn:test:ctl",
    "title": "masteryctl test framework",
    "version": "t1",
    "competencies": [
        {"id": "a", "title": "A", "rule": {"method": "latest", "threshold": 0.8}},
        {"id": "b", "title": "B", "requires": {"all": ["a"]},
         "rule": {"method": "latest", "threshold": 0.8}},
        {"id": "c", "title": "C", "requires": {"all": ["b"]},
         "rule": {"method": "latest", "threshold": 0.8}},
    ],
}
FW = FRAMEWORK["id"]


def line(eid, learner, competency, score, at="2026-10-20T10:15:00Z", **kw):
    d = {"id": eid, "learner": learner, "competency": competency, "score": score,
         "observed_at": at, "source": "pytest"}
    d.update(kw)
    return json.dumps(d)


@pytest.fixture
def fw_file(tmp_path):
    p = tmp_path / "framework.json"
    p.write_text(json.dumps(FRAMEWORK))
    return str(p)


@pytest.fixture
def loaded(daemon, fw_file):
    r = ctl(daemon, "framework", "load", fw_file)
    assert r.returncode == 0, r.stderr
    return daemon


@pytest.fixture
def small_daemon(data_dir, fw_file, tmp_path):
    """A daemon with tiny limits: 3 evidence items per request, pages of 2."""
    conf = tmp_path / "masteryd.conf"
    conf.write_text("max_batch_items = 3\npage_size = 2\n")
    d = Daemon(data_dir, extra_args=["-c", str(conf)]).start()
    r = ctl(d, "framework", "load", fw_file)
    assert r.returncode == 0, r.stderr
    yield d
    assert d.stop() == 0, "".join(d.log)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def learner_states(daemon, learner):
    r = ctl(daemon, "--json", "learner", "show", learner, "--framework", FW)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["learner"] == learner
    [fw] = doc["frameworks"]
    assert fw["framework"] == FW
    return {c["competency"]: c for c in fw["competencies"]}


def event_lines(text):
    return [json.loads(x) for x in text.splitlines() if x.strip()]


class LineReader:
    """Reads a subprocess's stdout lines on a thread, so a test can wait with a deadline."""

    def __init__(self, stream):
        self.q = queue.Queue()
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def _run(self, stream):
        for raw in stream:
            self.q.put(raw)
        self.q.put(None)

    def next(self, timeout=10):
        return self.q.get(timeout=timeout)

    def until(self, pred, timeout=15):
        got, end = [], time.time() + timeout
        while time.time() < end:
            try:
                raw = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if raw is None:
                break
            ev = json.loads(raw)
            got.append(ev)
            if pred(ev):
                return got
        raise AssertionError("wanted event not seen; got %r" % got)


# ---- usage and reachability ------------------------------------------------------------

def test_help_exits_0():
    r = subprocess.run([CTL, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "usage: masteryctl" in r.stdout
    for cmd in ("framework load", "evidence import", "learner show", "events", "override",
                "health"):
        assert cmd in r.stdout
    r = subprocess.run([CTL, "evidence", "add", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--score X" in r.stdout


@pytest.mark.parametrize("args,message", [
    ([], "no command given"),
    (["frob"], 'unknown command "frob"'),
    (["evidence"], "evidence needs a subcommand"),
    (["evidence", "add", "--learner", "s", "--competency", "a"],
     "missing required option --score"),
    (["evidence", "add", "--learner", "s", "--competency", "a", "--score", "1.5"],
     "--score: 1.5 is out of range 0..1"),
    (["evidence", "add", "--learner", "s", "--competency", "a", "--score", "high"],
     '--score: "high" is not a number'),
    (["evidence", "add", "--learner", "s", "--competency", "a", "--score", "0.5",
      "--observed-at", "yesterday"], "--observed-at: not an RFC 3339 timestamp"),
    (["evidence", "add", "--learner", "s", "--competency", "a", "--score", "0.5",
      "--outcome", "maybe"], "--outcome"),
    (["evidence", "import", "x.jsonl", "--batch", "5000"], "--batch: 5000 is out of range"),
    (["evidence", "list"], "missing required option --learner"),
    (["learner", "show"], "missing argument"),
    (["framework", "show", "a", "b"], 'unexpected argument "b"'),
    (["events", "--kind", "exploded"], '--kind: "exploded"'),
    (["override", "--learner", "s", "--framework", "f", "--competency", "a", "--reason", "r"],
     "exactly one of --grant or --withdraw"),
    (["health", "--bogus"], "unknown option --bogus"),
    (["-t", "zero", "health"], '-t: "zero" is not a whole number'),
])
def test_usage_errors_exit_2(args, message):
    # No daemon needed: usage is checked before anything is sent.
    r = subprocess.run([CTL, "-e", "tcp://127.0.0.1:%d" % free_port()] + args,
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr
    assert r.stderr.startswith("masteryctl: ")


def test_unreachable_exits_3():
    ep = "tcp://127.0.0.1:%d" % free_port()
    t0 = time.time()
    r = subprocess.run([CTL, "-e", ep, "-t", "300", "health"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 3, r.stderr
    assert "no reply from " + ep in r.stderr
    assert time.time() - t0 < 5
    r = subprocess.run([CTL, "-e", ep, "-t", "300", "evidence", "add", "--learner", "s",
                        "--competency", "a", "--score", "0.5"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 3


def test_endpoint_from_environment(daemon):
    env = dict(os.environ, MASTERYD_ENDPOINT=daemon.endpoint)
    r = subprocess.run([CTL, "health"], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "evidence" in r.stdout


# ---- frameworks -------------------------------------------------------------------------

def test_framework_load_show_list(daemon, fw_file):
    r = ctl(daemon, "framework", "load", fw_file)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "loaded urn:test:ctl revision 1: 3 competencies"

    # The same document again is idempotent; a changed one is the next revision.
    r = ctl(daemon, "--json", "framework", "load", fw_file)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["revision"] == 1
    r = ctl(daemon, "--json", "framework", "load", "-",
            input=json.dumps(dict(FRAMEWORK, version="t2")))
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["framework"] == FW and info["revision"] == 2
    assert info["competency_count"] == 3 and info["version"] == "t2"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", info["loaded_at"])

    r = ctl(daemon, "framework", "show", FW)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["id"] == FW
    assert [c["id"] for c in doc["competencies"]] == ["a", "b", "c"]
    r = ctl(daemon, "--json", "framework", "show", FW, "--revision", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == FW

    r = ctl(daemon, "framework", "list")
    assert r.returncode == 0, r.stderr
    assert FW in r.stdout and "FRAMEWORK" in r.stdout
    r = ctl(daemon, "--json", "framework", "list")
    [fw] = json.loads(r.stdout)["frameworks"]
    assert fw["framework"] == FW and fw["revision"] == 2


def test_framework_load_from_stdin(daemon):
    r = ctl(daemon, "framework", "load", "-", input=json.dumps(FRAMEWORK))
    assert r.returncode == 0, r.stderr
    assert "revision 1" in r.stdout


def test_not_found_exits_1_with_message(daemon):
    r = ctl(daemon, "framework", "show", "urn:no:such")
    assert r.returncode == 1
    assert r.stdout == ""
    assert re.match(r"masteryctl: NOT_FOUND( \S+)?: .+", r.stderr.strip()), r.stderr


def test_invalid_framework_exits_1(daemon, tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"id": "urn:bad", "title": "x", "competencies": [')
    r = ctl(daemon, "framework", "load", str(p))
    assert r.returncode == 1
    assert r.stderr.startswith("masteryctl: INVALID")


def test_missing_file_is_a_usage_error(daemon, tmp_path):
    r = ctl(daemon, "framework", "load", str(tmp_path / "nope.json"))
    assert r.returncode == 2
    assert "nope.json" in r.stderr


@pytest.mark.skipif(not os.path.exists(os.path.join(EXAMPLES, "fractions.json")),
                    reason="schemas/examples/fractions.json not on this branch yet")
def test_fractions_example(daemon):
    r = ctl(daemon, "--json", "framework", "load", os.path.join(EXAMPLES, "fractions.json"))
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["framework"] == "urn:example:math:fractions-g5"
    assert info["competency_count"] == 17
    ev = os.path.join(EXAMPLES, "fractions-evidence.jsonl")
    if os.path.exists(ev):
        r = ctl(daemon, "--json", "evidence", "import", ev)
        assert r.returncode == 0, r.stdout + r.stderr
        summary = json.loads(r.stdout.splitlines()[-1])
        assert summary["rejected"] == 0 and summary["accepted"] == summary["lines"]
    r = ctl(daemon, "learner", "show", "s-1001")
    assert r.returncode == 0, r.stderr
    assert "frac.equivalent" in r.stdout


# ---- evidence ---------------------------------------------------------------------------

def test_evidence_add_then_learner_show(loaded):
    d = loaded
    r = ctl(d, "evidence", "add", "--learner", "s-1", "--competency", "a", "--score", "0.9",
            "--observed-at", "2026-11-20T10:15:00Z", "--source", "quiz")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"evidence (%s): OK\n" % CONTENT_ID_RE, r.stdout)
    assert m, r.stdout

    r = ctl(d, "learner", "show", "s-1")
    assert r.returncode == 0, r.stderr
    rows = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines() if ln[:2] in ("a ", "b ",
                                                                                    "c ")}
    assert "COMPETENCY" in r.stdout and "framework " + FW in r.stdout
    assert rows["a"][1] == "MASTERED" and rows["a"][2] == "0.900" and rows["a"][3] == "1"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows["a"][4])
    assert rows["b"][1:] == ["UNLOCKED", "0.000", "0", "-"]
    assert rows["c"][1] == "LOCKED"

    st = learner_states(d, "s-1")
    assert st["a"]["status"] == "MASTERED" and st["a"]["score"] == pytest.approx(0.9)
    assert st["a"]["evidence_count"] == 1 and st["a"]["mastered_at"]
    assert st["b"]["status"] == "UNLOCKED" and st["b"]["mastered_at"] is None
    assert st["c"]["status"] == "LOCKED" and st["c"]["unlocked_at"] is None


def test_evidence_add_json_and_optional_fields(loaded):
    r = ctl(loaded, "--json", "evidence", "add", "--learner", "s-2", "--competency", "a",
            "--score", "0.4", "--id", "ev-opt-1", "--outcome", "failed", "--weight", "2",
            "--url", "https://lms.example/w/1", "--narrative", "first try",
            "--observed-at", "2026-11-20T11:15:00+01:00")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"id": "ev-opt-1", "status": "OK"}
    r = ctl(loaded, "--json", "evidence", "list", "--learner", "s-2")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    [item] = doc["items"]
    assert item["id"] == "ev-opt-1" and item["competency"] == "a"
    assert item["observed_at"] == "2026-11-20T10:15:00.000Z"
    assert item["outcome"] == "failed" and item["weight"] == 2
    assert item["url"] == "https://lms.example/w/1" and item["narrative"] == "first try"
    assert doc["truncated"] is False
    # Listed items are import lines: importing them back finds them already stored.
    r = ctl(loaded, "evidence", "import", "-", input="\n".join(map(json.dumps, doc["items"])))
    assert r.returncode == 0, r.stderr
    assert "0 accepted, 1 duplicates, 0 rejected" in r.stdout
    r = ctl(loaded, "evidence", "list", "--learner", "s-2", "--competency", "a")
    assert "ev-opt-1" in r.stdout and "failed" in r.stdout


def test_duplicate_add_prints_duplicate(loaded):
    args = ["evidence", "add", "--learner", "s-3", "--competency", "a", "--score", "0.5",
            "--id", "dup-1", "--observed-at", "2026-11-20T10:00:00Z"]
    r = ctl(loaded, *args)
    assert r.returncode == 0 and r.stdout.strip() == "evidence dup-1: OK"
    r = ctl(loaded, *args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "evidence dup-1: DUPLICATE"
    # The same id with other content is a conflict, not a duplicate.
    args[args.index("0.5")] = "0.6"
    r = ctl(loaded, *args)
    assert r.returncode == 1
    assert "masteryctl: CONFLICT" in r.stderr


def test_evidence_rejected_by_daemon_exits_1(loaded):
    r = ctl(loaded, "evidence", "add", "--learner", "s-4", "--competency", "no-such",
            "--score", "0.5")
    assert r.returncode == 1
    assert re.search(r"masteryctl: (NOT_FOUND|INVALID) \S+: ", r.stderr), r.stderr


def test_retry_after_timeout_is_idempotent(loaded):
    """The daemon stalls past the first timeout; the resent request (same ids) is stored once."""
    d = loaded
    cmd = [CTL, "-e", d.endpoint, "-t", "700", "evidence", "add", "--learner", "s-5",
           "--competency", "a", "--score", "0.3", "--id", "retry-1"]
    d.proc.send_signal(signal.SIGSTOP)
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)  # past the first attempt's deadline: a second copy is queued
    finally:
        d.proc.send_signal(signal.SIGCONT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert out.strip() in ("evidence retry-1: OK", "evidence retry-1: DUPLICATE")
    r = ctl(d, "--json", "evidence", "list", "--learner", "s-5")
    assert [i["id"] for i in json.loads(r.stdout)["items"]] == ["retry-1"]


# ---- import -----------------------------------------------------------------------------

def test_import_reports_bad_lines_by_number(loaded, tmp_path):
    lines = [
        line("imp-1", "s-10", "a", 0.9),                     # 1 ok
        line("imp-2", "s-10", "b", 0.5),                     # 2 ok
        "{not json",                                         # 3 bad JSON
        "",                                                  # 4 blank: skipped silently
        json.dumps({"id": "imp-3", "learner": "s-10", "competency": "a",
                    "observed_at": "2026-11-20T10:15:00Z", "source": "t"}),  # 5 no score
        line("imp-4", "s-10", "a", 1.5),                     # 6 score out of range (daemon)
        line("imp-5", "s-11", "a", 0.7),                     # 7 ok
        line("imp-6", "s-11", "a", "high"),                  # 8 score not a number
        line("imp-7", "s-11", "a", 0.7, at="last tuesday"),  # 9 bad time
        line("imp-8", "s-11", "a", 0.7, scroe=1),            # 10 unknown field
        line("imp-9", "s-12", "no-such", 0.7),               # 11 unknown competency (daemon)
        line("imp-10", "s-12", "a", 0.8),                    # 12 ok
        "[1, 2]",                                            # 13 not an object
        line("imp-11", "s-12", "b", 0.8),                    # 14 ok
    ]
    p = tmp_path / "ev.jsonl"
    p.write_text("\n".join(lines) + "\n")
    r = ctl(loaded, "evidence", "import", str(p), "--batch", "2", "--window", "3")
    assert r.returncode == 1, r.stdout + r.stderr
    reported = [int(m) for m in re.findall(r"^line (\d+): ", r.stderr, re.M)]
    assert reported == [3, 5, 6, 8, 9, 10, 11, 13], r.stderr  # in line order, each once
    err = r.stderr
    assert re.search(r"^line 3: INVALID json: ", err, re.M)
    assert re.search(r"^line 5: INVALID score: missing", err, re.M)
    assert re.search(r"^line 6: INVALID items\[\d+\]\.score: ", err, re.M), err
    assert re.search(r"^line 8: INVALID score: must be a number", err, re.M)
    assert re.search(r"^line 9: INVALID observed_at: ", err, re.M)
    assert re.search(r"^line 10: INVALID scroe: unknown field", err, re.M)
    assert re.search(r"^line 11: (NOT_FOUND|INVALID) items\[\d+\]\.competency", err, re.M), err
    assert re.search(r"^line 13: INVALID: a line must be a JSON object", err, re.M)
    assert re.search(r"13 lines in [\d.]+ s \(\d+ lines/s\): 5 accepted, 0 duplicates, "
                     r"8 rejected", r.stdout), r.stdout
    assert learner_states(loaded, "s-10")["a"]["status"] == "MASTERED"

    # Again, as JSON lines: the good ones are now duplicates (ids make imports idempotent).
    r = ctl(loaded, "--json", "evidence", "import", str(p))
    assert r.returncode == 1
    docs = event_lines(r.stdout)
    assert [x["line"] for x in docs[:-1]] == [3, 5, 6, 8, 9, 10, 11, 13]
    assert docs[1] == {"line": 5, "code": "INVALID", "field": "score", "message": "missing"}
    s = docs[-1]
    assert (s["lines"], s["accepted"], s["duplicates"], s["rejected"]) == (13, 0, 5, 8)
    assert s["lines_per_s"] > 0


def test_import_many_lines_from_stdin(loaded):
    n = 2500
    text = "\n".join(line("bulk-%05d" % i, "s-%03d" % (i % 50), "a", (i % 10) / 10,
                          at="2026-10-%02dT10:00:00Z" % (1 + i % 28)) for i in range(n))
    r = ctl(loaded, "--json", "evidence", "import", "-", "--batch", "300", input=text,
            timeout=120)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert (s["lines"], s["accepted"], s["duplicates"], s["rejected"]) == (n, n, 0, 0)
    r = ctl(loaded, "--json", "evidence", "list", "--learner", "s-007")
    assert len(json.loads(r.stdout)["items"]) == n // 50


def test_import_batch_refused_as_a_whole(small_daemon, tmp_path):
    p = tmp_path / "ev.jsonl"
    p.write_text("\n".join(line("w-%d" % i, "s-50", "a", 0.5) for i in range(5)) + "\n")
    r = ctl(small_daemon, "evidence", "import", str(p), "--batch", "4")
    assert r.returncode == 1
    # One report for the refused request, naming its lines, not four copies of it.
    assert re.fullmatch(r"lines 1-4 \(4 items\): INVALID \S+: .+\n", r.stderr), r.stderr
    assert "1 accepted, 0 duplicates, 4 rejected" in r.stdout
    r = ctl(small_daemon, "evidence", "import", str(p), "--batch", "3")
    assert r.returncode == 0, r.stderr
    assert "4 accepted, 1 duplicates, 0 rejected" in r.stdout


def test_import_batches_stay_under_the_frame_limit(loaded, tmp_path):
    """200 items of ~8 KB are 1.6 MB: more than the daemon's 1 MiB frame limit in one batch."""
    p = tmp_path / "big.jsonl"
    p.write_text("\n".join(line("big-%d" % i, "s-60", "a", 0.5, narrative="n" * 8000)
                           for i in range(200)) + "\n")
    r = ctl(loaded, "evidence", "import", str(p))
    assert r.returncode == 0, r.stderr
    assert "200 accepted" in r.stdout


def test_paging_with_small_pages(small_daemon):
    d = small_daemon
    for i, (learner, comp, score) in enumerate([("s-70", "a", 0.9), ("s-70", "b", 0.9),
                                                ("s-71", "a", 0.2), ("s-71", "a", 0.3)]):
        r = ctl(d, "evidence", "add", "--learner", learner, "--competency", comp, "--score",
                str(score), "--id", "pg-%d" % i)
        assert r.returncode == 0, r.stderr
    r = ctl(d, "events")
    seqs = [e["seq"] for e in event_lines(r.stdout)]
    assert len(seqs) >= 5 and seqs == list(range(1, len(seqs) + 1))
    r = ctl(d, "--json", "evidence", "list", "--learner", "s-71")
    doc = json.loads(r.stdout)
    assert len(doc["items"]) == 2
    r = ctl(d, "--json", "evidence", "list", "--learner", "s-70", "--limit", "1")
    doc = json.loads(r.stdout)
    assert len(doc["items"]) == 1 and doc["truncated"] is True
    r = ctl(d, "evidence", "list", "--learner", "s-70", "--limit", "1")
    assert "more evidence exists" in r.stdout
    # Without --limit every page is followed (page_size is 2 here).
    for i in range(3):
        assert ctl(d, "evidence", "add", "--learner", "s-70", "--competency", "a", "--score",
                   "0.5", "--id", "pg-more-%d" % i).returncode == 0
    r = ctl(d, "--json", "evidence", "list", "--learner", "s-70")
    doc = json.loads(r.stdout)
    assert doc["truncated"] is False and len(doc["items"]) == 5
    assert len({i["id"] for i in doc["items"]}) == 5
    r = ctl(d, "--json", "evidence", "list", "--learner", "s-70", "--limit", "3")
    doc = json.loads(r.stdout)
    assert doc["truncated"] is True and len(doc["items"]) == 3


def test_import_missing_file_exits_2(daemon, tmp_path):
    r = ctl(daemon, "evidence", "import", str(tmp_path / "none.jsonl"))
    assert r.returncode == 2


# ---- events -----------------------------------------------------------------------------

def make_history(d):
    """Produces events: framework_loaded, then for s-20 mastered a, unlocked b, mastered b,
    unlocked c; for s-21 mastered a, unlocked b."""
    for eid, learner, comp, score in [("h1", "s-20", "a", 0.9), ("h2", "s-20", "b", 0.95),
                                      ("h3", "s-21", "a", 0.85)]:
        r = ctl(d, "evidence", "add", "--learner", learner, "--competency", comp, "--score",
                str(score), "--id", eid)
        assert r.returncode == 0, r.stderr


def test_events_paging(loaded):
    make_history(loaded)
    r = ctl(loaded, "events")
    assert r.returncode == 0, r.stderr
    evs = event_lines(r.stdout)
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    assert evs[0]["kind"] == "framework_loaded" and evs[0]["framework"] == FW
    assert evs[0]["revision"] == 1 and evs[0]["competency_count"] == 3
    kinds = [(e["kind"], e.get("learner"), e.get("competency")) for e in evs]
    for k in [("mastered", "s-20", "a"), ("unlocked", "s-20", "b"), ("mastered", "s-20", "b"),
              ("unlocked", "s-20", "c"), ("mastered", "s-21", "a"), ("unlocked", "s-21", "b")]:
        assert k in kinds, kinds
    for e in evs:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["at"])
    m = next(e for e in evs if e["kind"] == "mastered" and e["learner"] == "s-20"
             and e["competency"] == "a")
    assert m["framework"] == FW and m["score"] == pytest.approx(0.9) and m["evidence"] == "h1"

    r = ctl(loaded, "events", "--from", "3")
    assert [e["seq"] for e in event_lines(r.stdout)] == list(range(3, len(evs) + 1))
    r = ctl(loaded, "events", "--from", "0")  # the README's spelling of "from the start"
    assert [e["seq"] for e in event_lines(r.stdout)] == list(range(1, len(evs) + 1))
    r = ctl(loaded, "events", "--from", str(len(evs) + 100))
    assert r.returncode == 0 and r.stdout == ""
    r = ctl(loaded, "events", "--kind", "mastered", "--learner", "s-20")
    got = [(e["kind"], e["learner"], e["competency"]) for e in event_lines(r.stdout)]
    assert got == [("mastered", "s-20", "a"), ("mastered", "s-20", "b")]


def test_events_follow_receives_live_events(loaded):
    d = loaded
    make_history(d)
    p = subprocess.Popen([CTL, "-e", d.endpoint, "--events-endpoint", d.events_endpoint,
                          "events", "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        rd = LineReader(p.stdout)
        seen = rd.until(lambda e: e["kind"] == "unlocked" and e.get("learner") == "s-21")
        # Live now: s-22 masters a, which unlocks b.
        r = ctl(d, "evidence", "add", "--learner", "s-22", "--competency", "a", "--score", "1",
                "--id", "live-1")
        assert r.returncode == 0, r.stderr
        seen += rd.until(lambda e: e["kind"] == "unlocked" and e.get("learner") == "s-22")
        # An override, to see that kind as well.
        r = ctl(d, "override", "--learner", "s-22", "--framework", FW, "--competency", "b",
                "--grant", "--reason", "oral exam", "--actor", "ms-smith")
        assert r.returncode == 0, r.stderr
        seen += rd.until(lambda e: e["kind"] == "override")
        ov = seen[-1]
        assert (ov["learner"], ov["competency"], ov["mastered"], ov["reason"], ov["actor"]) == \
            ("s-22", "b", True, "oral exam", "ms-smith")
        # Stored and live together: every seq once, none missing.
        assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    finally:
        p.send_signal(signal.SIGINT)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
    assert rc == 0, p.stderr.read()


def test_events_follow_with_filter_and_sigterm(loaded):
    d = loaded
    p = subprocess.Popen([CTL, "-e", d.endpoint, "--events-endpoint", d.events_endpoint,
                          "events", "--follow", "--kind", "mastered", "--learner", "s-30"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        rd = LineReader(p.stdout)
        time.sleep(0.3)
        for learner in ("s-31", "s-30"):
            r = ctl(d, "evidence", "add", "--learner", learner, "--competency", "a",
                    "--score", "0.9")
            assert r.returncode == 0, r.stderr
        [ev] = rd.until(lambda e: True)
        assert (ev["kind"], ev["learner"], ev["competency"]) == ("mastered", "s-30", "a")
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=10)
    assert rc == 0


# ---- override, health -------------------------------------------------------------------

def test_override_grant_and_withdraw(loaded):
    d = loaded
    r = ctl(d, "override", "--learner", "s-40", "--framework", FW, "--competency", "a",
            "--grant", "--reason", "transfer credit")
    assert r.returncode == 0, r.stderr
    assert "MASTERED" in r.stdout
    st = learner_states(d, "s-40")
    assert st["a"]["status"] == "MASTERED" and st["a"]["overridden"] is True
    r = ctl(d, "learner", "show", "s-40")
    assert "MASTERED*" in r.stdout and "teacher override" in r.stdout
    r = ctl(d, "--json", "override", "--learner", "s-40", "--framework", FW, "--competency",
            "a", "--withdraw", "--reason", "recorded in error", "--actor", "registrar")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["competency"] == "a" and doc["status"] != "MASTERED" and doc["overridden"]
    r = ctl(d, "override", "--learner", "s-40", "--framework", "urn:no:such", "--competency",
            "a", "--grant", "--reason", "x")
    assert r.returncode == 1 and r.stderr.startswith("masteryctl: ")


def test_health(loaded):
    r = ctl(loaded, "--json", "health")
    assert r.returncode == 0, r.stderr
    h = json.loads(r.stdout)
    assert h["framework_count"] == 1 and h["last_seq"] >= 1 and h["dev_mode"] is True
    assert h["version"]
    r = ctl(loaded, "health")
    assert r.returncode == 0 and "frameworks" in r.stdout


# ---- the switch from stored to live events, against a scripted server --------------------

class ScriptedEvents:
    """A stand-in for the daemon's event side (ROUTER answering ReadEvents, XPUB publishing),
    so a test can drop and repeat live events on purpose and see which pages were asked for."""

    def __init__(self, page_limit=2):
        import zmq
        from conftest import pb
        self.pb, self.zmq = pb, zmq
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.bind("tcp://127.0.0.1:*")
        self.xpub = self.ctx.socket(zmq.XPUB)
        self.xpub.bind("tcp://127.0.0.1:*")
        self.endpoint = self.router.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.events_endpoint = self.xpub.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.page_limit = page_limit
        self.store = []
        self.reads = []  # from_seq of every ReadEvents
        self.pending = []  # seqs to publish
        self.lock = threading.Lock()
        self.stop = False
        self.subscribed = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def event(self, seq):
        pb = self.pb
        return pb.Event(seq=seq, at_ms=1795169700000 + seq, mastered=pb.Mastered(
            learner_id="s-%d" % seq, framework_id=FW, competency_id="a", score=0.9,
            evidence_id="e-%d" % seq))

    def add(self, *seqs):
        with self.lock:
            self.store.extend(self.event(s) for s in seqs)

    def publish(self, seq):
        with self.lock:
            self.pending.append(seq)

    def _serve(self):
        zmq, pb = self.zmq, self.pb
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.xpub, zmq.POLLIN)
        while not self.stop:
            for sock, _ in poller.poll(20):
                if sock is self.xpub:
                    if self.xpub.recv()[:1] == b"\x01":
                        self.subscribed.set()
                    continue
                ident, _, raw = self.router.recv_multipart()
                req = pb.Request()
                req.ParseFromString(raw)
                rep = pb.Reply(request_id=req.request_id)
                with self.lock:
                    fr = max(1, req.read_events.from_seq)
                    self.reads.append(fr)
                    page = [e for e in self.store if e.seq >= fr][:self.page_limit]
                    rep.events.events.extend(page)
                    rep.events.next_seq = page[-1].seq + 1 if page else fr
                    rep.events.last_seq = self.store[-1].seq if self.store else 0
                self.router.send_multipart([ident, b"", rep.SerializeToString()])
            with self.lock:
                todo, self.pending[:] = list(self.pending), []
            for seq in todo:
                ev = self.event(seq)
                self.xpub.send_multipart([b"mastered/s-%d/" % seq, ev.SerializeToString()])

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.ctx.destroy(linger=0)


def test_follow_switch_has_no_gaps_or_duplicates():
    srv = ScriptedEvents(page_limit=2)
    srv.add(1, 2, 3)
    p = subprocess.Popen([CTL, "-e", srv.endpoint, "--events-endpoint", srv.events_endpoint,
                          "events", "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        rd = LineReader(p.stdout)
        seen = rd.until(lambda e: e["seq"] == 3)          # stored, in pages of two
        assert srv.subscribed.wait(10)                    # SUB came first
        srv.add(4, 5, 6, 7, 8)
        t0 = time.time()
        for seq in (3, 4, 6, 8):                          # 3 again, 5 and 7 lost on PUB
            srv.publish(seq)
        seen += rd.until(lambda e: e["seq"] == 8)
        # Filled from the store at once, not by the idle catch-up a second later.
        assert time.time() - t0 < 0.9
        assert [e["seq"] for e in seen] == [1, 2, 3, 4, 5, 6, 7, 8]
        assert 5 in srv.reads and 7 in srv.reads
        srv.add(9)
        srv.publish(9)
        seen += rd.until(lambda e: e["seq"] == 9)
        assert seen[-1] == {"seq": 9, "at": "2026-11-20T10:15:00.009Z", "kind": "mastered",
                            "learner": "s-9", "framework": FW, "competency": "a", "score": 0.9,
                            "evidence": "e-9", "evidence_source": ""}
        # An event that PUB dropped with nothing after it is found by the idle catch-up.
        srv.add(10)
        seen += rd.until(lambda e: e["seq"] == 10, timeout=5)
        assert [e["seq"] for e in seen] == list(range(1, 11))
    finally:
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=10)
        srv.close()
    assert rc == 0, p.stderr.read()
