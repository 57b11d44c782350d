"""The Python client as a real package: `pip install ./clients/python` into a fresh venv (made
with --system-site-packages, so pyzmq and protobuf come from Debian; PyPI is never asked), from
a directory outside the repository; then the example tool, copied to yet another directory
outside the repository, runs with that venv's interpreter against a real daemon, with no
PYTHONPATH, no MASTERY_PYGEN and no proto/ in reach. The package also finds the event endpoint
from Health instead of guessing a port.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import EXAMPLES, SRC

PKG = os.path.join(SRC, "clients", "python")


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "MASTERY_PYGEN", "MASTERY_PROTO", "PYTHONHOME")}
    env["PIP_NO_INDEX"] = "1"  # prove nothing comes from PyPI
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def venv():
    with tempfile.TemporaryDirectory(prefix="masteryd-venv-") as tmp:
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages",
                        os.path.join(tmp, "venv")], check=True, timeout=300)
        py = os.path.join(tmp, "venv", "bin", "python")
        elsewhere = os.path.join(tmp, "elsewhere")
        os.makedirs(elsewhere)
        out = subprocess.run([py, "-m", "pip", "install", "--no-cache-dir", PKG],
                             cwd=elsewhere, env=clean_env(), capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        yield py, tmp


def test_installed_package_is_self_contained(venv):
    py, tmp = venv
    code = ("import masteryd_client as m, masteryd_client._proto as p; "
            "print(m.__version__); print(m.__file__); print(p.pb.__file__)")
    out = subprocess.run([py, "-c", code], cwd=tmp, env=clean_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    version, module, generated = out.stdout.split()
    site = os.path.join(tmp, "venv")
    assert module.startswith(site) and generated.startswith(site), out.stdout
    assert generated.endswith(os.path.join("masteryd_client", "_gen", "mastery", "v1",
                                           "mastery_pb2.py"))
    assert not module.startswith(os.path.abspath(SRC))
    # The build left nothing behind in the source tree (no build/, egg-info or generated code).
    left = [f for f in os.listdir(PKG) if f == "build" or f.endswith(".egg-info")]
    assert left == [] and not os.path.exists(os.path.join(PKG, "masteryd_client", "_gen"))


def test_example_tool_runs_outside_the_repository(venv, daemon):
    py, tmp = venv
    work = os.path.join(tmp, "tool-host")
    os.makedirs(work, exist_ok=True)
    shutil.copy(os.path.join(PKG, "examples", "quiz_tool.py"), work)
    shutil.copy(os.path.join(EXAMPLES, "fractions.json"), work)
    run = [py, "quiz_tool.py", "-e", daemon.endpoint, "--load-framework", "fractions.json"]
    out = subprocess.run(run, cwd=work, env=clean_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "9 stored, 0 already stored, 0 refused" in out.stdout
    assert "s-1001 mastered: frac.add-like, frac.equivalent" in out.stdout
    again = subprocess.run(run, cwd=work, env=clean_env(), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and "0 stored, 9 already stored" in again.stdout


def test_events_endpoint_comes_from_health(venv, daemon):
    """No events_endpoint given: the client asks Health and follows the live stream there
    (the daemon's event port is ephemeral, so no guess could find it)."""
    py, tmp = venv
    code = """
import sys
from masteryd_client import Client, resolve_events_endpoint
assert resolve_events_endpoint("tcp://10.0.0.5:7411", "tcp://0.0.0.0:9999") == "tcp://10.0.0.5:9999"
assert resolve_events_endpoint("tcp://h:1", "tcp://127.0.0.1:5") == "tcp://127.0.0.1:5"
import threading, time
c = Client(sys.argv[1], timeout=10)
assert c.events_endpoint is None
h = c.health()
stream = c.events(from_seq=h.last_seq + 1, follow=True, poll_interval=30)
print(c.events_endpoint, flush=True)

def submit():  # once the stream is live: these events must come over PUB
    time.sleep(1.0)
    with Client(sys.argv[1], timeout=10) as w:
        w.submit_evidence("pkg-ev-1", "s-pkg", "frac.equivalent", 1.0, observed_at=1)
        w.submit_evidence("pkg-ev-2", "s-pkg", "frac.equivalent", 1.0, observed_at=2)

threading.Thread(target=submit, daemon=True).start()
for ev in stream:
    if ev.kind == "mastered":
        print("mastered", ev.learner, ev.competency, stream.live)
        break
stream.close()
c.close()
"""
    from conftest import Client as Raw
    raw = Raw(daemon.endpoint)
    raw.put_framework_file(os.path.join(EXAMPLES, "fractions.json"))
    raw.close()
    out = subprocess.run([py, "-c", code, daemon.endpoint], cwd=tmp, env=clean_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == daemon.events_endpoint
    kind, learner, comp, live = lines[1].split()
    assert (kind, learner, comp) == ("mastered", "s-pkg", "frac.equivalent")
    assert int(live) >= 1  # it arrived over PUB, not by polling the store
