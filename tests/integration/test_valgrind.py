"""The daemon under valgrind: a real session (framework, evidence with cascades, bad input,
events, learner reads), then SIGTERM: no invalid access, no leak, exit 0.
Skipped in the sanitizer build (ASan and valgrind do not mix); labelled noasan in ctest."""
import json
import os
import shutil

import pytest

from conftest import EXAMPLES, Client, Daemon, evidence, pb

VALGRIND = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible", "--errors-for-leak-kinds=definite,indirect,possible"]


@pytest.mark.skipif(os.environ.get("MASTERY_SANITIZE") == "1", reason="sanitizer build")
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_valgrind_clean_session_and_shutdown(data_dir):
    d = Daemon(data_dir, wrapper=VALGRIND).start()
    c = Client(d.endpoint, timeout_ms=60000)
    assert c.put_framework_file(os.path.join(EXAMPLES, "fractions.json")).status.code == pb.STATUS_OK
    items = [evidence(f"vg-{i}", f"s{i % 3}", comp, 0.9, 1000 + i)
             for i, comp in enumerate(["frac.equivalent"] * 6 + ["frac.add-like", "frac.as-division"] * 3)]
    rep = c.submit(*items)
    assert rep.evidence_results.accepted == len(items)
    assert c.submit(*items[:2]).evidence_results.duplicates == 2
    c.send_raw(b"\x01garbage")
    assert c.recv_reply().status.code == pb.STATUS_INVALID
    assert c.call(get_learner=pb.GetLearner(learner_id="s0")).status.code == pb.STATUS_OK
    assert len(c.events().events.events) > 0
    assert c.call(list_evidence=pb.ListEvidence(learner_id="s1")).status.code == pb.STATUS_OK
    assert c.call(override=pb.Override(learner_id="s2", framework_id="urn:example:math:fractions-g5",
                                       competency_id="frac.compare", mastered=True,
                                       reason="oral exam")).status.code == pb.STATUS_OK
    doc = json.load(open(os.path.join(EXAMPLES, "fractions.json")))
    doc["version"] = "2026.2"
    assert c.call(put_framework=pb.PutFramework(json=json.dumps(doc))).framework_info.revision == 2
    c.close()
    rc = d.stop(timeout=120)
    assert rc == 0, "valgrind reported errors:\n" + "".join(d.log[-80:])
