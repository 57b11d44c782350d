"""masteryctl for people: --version, --json anywhere on the line, `evidence add` without --id
that a re-run does not count twice, and a progress line on a terminal for long imports that
is erased before the summary (and absent when standard error is not a terminal)."""
import json
import os
import pty
import re
import subprocess

from conftest import BIN, EXAMPLES, ctl, pb

CTL = os.path.join(BIN, "masteryctl")


def test_version():
    r = subprocess.run([CTL, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and re.fullmatch(r"masteryctl \d+\.\d+\.\d+\n", r.stdout)


def test_json_anywhere_on_the_line(daemon):
    for args in (["--json", "health"], ["health", "--json"]):
        r = ctl(daemon, *args)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["events_endpoint"] == daemon.events_endpoint
    r = ctl(daemon, "framework", "load", "--json", os.path.join(EXAMPLES, "fractions.json"))
    assert r.returncode == 0 and json.loads(r.stdout)["framework"] == \
        "urn:example:math:fractions-g5", r.stdout + r.stderr
    # after "--" it is an operand again
    r = ctl(daemon, "framework", "load", "--", "--json")
    assert r.returncode == 2 and "--json" in r.stderr


def test_evidence_add_twice_counts_once(daemon, client):
    ctl(daemon, "framework", "load", os.path.join(EXAMPLES, "fractions.json"))
    cmd = ["evidence", "add", "--learner", "s-1001", "--competency", "frac.equivalent",
           "--score", "0.92", "--source", "quiz-engine"]      # the README's first command
    first, again = ctl(daemon, *cmd), ctl(daemon, *cmd)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    eid = re.match(r"evidence (ctl-[0-9a-f]{32}): OK$", first.stdout.strip()).group(1)
    assert again.stdout.strip() == "evidence %s: DUPLICATE" % eid
    assert client.call(health=pb.Health()).health.evidence_count == 1
    # other content, or an explicit time, is another observation
    other = ctl(daemon, *cmd[:-3], "0.5", "--source", "quiz-engine")
    timed = ctl(daemon, *cmd, "--observed-at", "2026-11-20T10:15:00Z")
    for r in (other, timed):
        assert r.returncode == 0 and r.stdout.strip().endswith(": OK"), r.stdout + r.stderr
    assert len({eid, other.stdout.split()[1], timed.stdout.split()[1]}) == 3
    assert client.call(health=pb.Health()).health.evidence_count == 3
    # the mastery from two items, not from the same one counted twice
    items = client.call(list_evidence=pb.ListEvidence(learner_id="s-1001")).evidence.items
    assert sorted(i.evidence_id for i in items) == sorted(
        [eid, other.stdout.split()[1][:-1], timed.stdout.split()[1][:-1]])


def run_on_terminal(args):
    """Runs masteryctl with standard error on a pseudo-terminal; returns (rc, stdout, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read()
    rc = proc.wait(timeout=120)
    os.close(master)
    return rc, out, err.decode()


def test_progress_line_on_a_terminal(daemon, tmp_path):
    ctl(daemon, "framework", "load", os.path.join(EXAMPLES, "fractions.json"))
    lines = tmp_path / "many.jsonl"
    with open(lines, "w") as f:
        for i in range(20000):
            f.write(json.dumps({"id": "p-%d" % i, "learner": "s-%d" % (i % 700),
                                "competency": "frac.equivalent", "score": 0.5,
                                "observed_at": "2026-11-20T10:15:00Z", "source": "bench"}) + "\n")
        f.write("{not json\n")
    rc, out, err = run_on_terminal([CTL, "-e", daemon.endpoint, "evidence", "import",
                                    str(lines), "--batch", "100", "--window", "1"])
    assert rc == 1  # one line rejected
    assert "20001 lines in" in out and "20000 accepted" in out and "1 rejected" in out
    draws = re.findall(r"\r(\d+) lines  (\d+)/s(?:  (\d+)%  ETA (\d+):(\d\d))?\x1b\[K", err)
    assert draws, repr(err[:500])
    counts = [int(d[0]) for d in draws]
    assert counts == sorted(counts) and counts[-1] <= 20001
    assert any(d[2] for d in draws)  # a regular file: share done and ETA
    # the rejected line's report is on a clean line, and the last progress line is erased
    assert re.search(r"(^|\r\x1b\[K|\n)line 20001: INVALID", err), repr(err[-500:])
    assert err.rstrip("\r\n").endswith("\x1b[K") or "\r\x1b[K" in err
    # not a terminal (a pipe, or --json): no progress line at all
    r = ctl(daemon, "evidence", "import", str(lines))
    assert "\r" not in r.stderr and "\x1b" not in r.stderr and "20001 lines in" in r.stdout
    rc, out, err = run_on_terminal([CTL, "-e", daemon.endpoint, "--json", "evidence", "import",
                                    str(lines)])
    assert "\x1b[K" not in err and json.loads(out.strip().splitlines()[-1])["duplicates"] == 20000
