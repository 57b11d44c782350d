"""A daemon-issued CLR 2.0 transcript against the 1EdTech JSON Schemas.

- Every achievement credential embedded in the transcript validates against the 1EdTech Open
  Badges 3.0 AchievementCredential JSON Schema (tests/vectors/ob3), exactly as stored.
- The ClrCredential itself validates against the 1EdTech CLR 2.0 ClrCredential JSON Schema
  (clr_v2p0_clrcredential_schema.json) when a copy sits in tests/vectors/clr/: that file is
  published only at purl.imsglobal.org, which this repository's sources could not reach
  offline, so until it is committed (unchanged, with provenance) that one test skips and says
  so. The CLR's shape is otherwise checked by test_transcript.py and mastery-verify.
"""
import json
import os

import pytest

from conftest import SRC, Client, Daemon, evidence, pb

jsonschema = pytest.importorskip("jsonschema", reason="needs Debian's python3-jsonschema")

VECTORS = os.path.abspath(os.path.join(SRC, "tests", "vectors"))
OB3 = os.path.join(VECTORS, "ob3", "achievementcredential-schema.json")
CLR = os.path.join(VECTORS, "clr", "clrcredential-schema.json")

FW = {"id": "urn:test:clr-schema", "title": "Schema", "competencies": [
    {"id": "a", "title": "A", "source_uri": "https://case.example.org/uri/a",
     "achievement": {"name": "A", "description": "Did A.", "criteria": "80%."}},
    {"id": "b", "title": "B", "requires": {"all": ["a"]},
     "achievement": {"name": "B", "description": "Did B.", "image": "https://s.example/b.png"}},
    {"id": "p", "title": "P", "rule": {"method": "children", "of": ["b"]},
     "achievement": {"name": "P", "description": "All of it.", "valid_for_days": 365}}]}


def validator(path):
    with open(path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=jsonschema.FormatChecker())


def problems(v, doc):
    return [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(doc)]


@pytest.fixture(scope="module")
def transcript(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clr-schema")
    d = Daemon(str(tmp / "data")).start()
    c = Client(d.endpoint)
    try:
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == 0
        c.submit(evidence("s-1", "learner-9", "a", 0.9, 1000, url="https://quiz.example/r/1"))
        c.submit(evidence("s-2", "learner-9", "b", 0.9, 1001))
        rep = c.call(issue_transcript=pb.IssueTranscript(learner_id="learner-9"))
        assert rep.status.code == 0, rep.status.message
        return json.loads(rep.transcript.document)
    finally:
        c.close()
        assert d.stop() == 0


def test_every_embedded_credential_validates_against_the_ob3_schema(transcript):
    v = validator(OB3)
    vcs = transcript["credentialSubject"]["verifiableCredential"]
    assert len(vcs) == 3
    for vc in vcs:
        assert problems(v, vc) == [], vc["id"]
    # the schema is not a rubber stamp: a transcript is not an AchievementCredential
    assert problems(v, transcript)


def test_transcript_validates_against_the_clr_schema(transcript):
    if not os.path.exists(CLR):
        pytest.skip("tests/vectors/clr/clrcredential-schema.json is not committed: the 1EdTech "
                    "CLR 2.0 ClrCredential JSON Schema is published only at "
                    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/"
                    "clr_v2p0_clrcredential_schema.json")
    v = validator(CLR)
    assert problems(v, transcript) == []
    broken = json.loads(json.dumps(transcript))
    broken["credentialSubject"]["type"] = ["AchievementSubject"]
    assert problems(v, broken)
