"""Badges issued by the cred library validate against the 1EdTech Open Badges 3.0
AchievementCredential JSON Schema (draft 2019-09), in every variant the daemon can issue.

make_badge (tests/interop/make_badge.c) issues them through the same code the daemon uses.
"""
import base64
import json
import os
import re
import subprocess

import pytest

jsonschema = pytest.importorskip("jsonschema", reason="needs Debian's python3-jsonschema")

BIN = os.environ.get("MASTERY_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
SRC = os.environ.get("MASTERY_SRC", os.path.join(os.path.dirname(__file__), "../.."))
VECTORS = os.path.abspath(os.path.join(SRC, "tests", "vectors"))
SCHEMA = os.path.join(VECTORS, "ob3", "achievementcredential-schema.json")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def make(*args):
    out = subprocess.run([os.path.join(BIN, "make_badge"), *args], check=True,
                         capture_output=True, text=True).stdout
    return out.strip()


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA) as f:
        schema = json.load(f)
    cls = jsonschema.Draft201909Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=jsonschema.FormatChecker())


def errors(validator, doc):
    return sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))


def assert_valid(validator, doc):
    errs = errors(validator, doc)
    assert not errs, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errs)
    # draft 2019-09 formats are annotations unless a checker is installed: check them here
    for key in ("validFrom", "validUntil"):
        if key in doc:
            assert RFC3339.match(doc[key]), doc[key]
    for p in doc.get("proof", []):
        assert RFC3339.match(p["created"])


FULL = ["--source-uri", "https://case.example.org/uri/6b6d1f1a-frac-add", "--case",
        "--evidence", "quiz-77-s1001-q3=https://quiz.example/r/77", "--evidence", "quiz-78",
        "--revocation-list", "https://lincoln.example.edu/status/revocation",
        "--revocation-index", "94567", "--valid-until", "2030-01-01T00:00:00Z"]


def test_full_badge_validates(validator):
    doc = json.loads(make("badge", *FULL))
    assert_valid(validator, doc)
    assert doc["@context"] == ["https://www.w3.org/ns/credentials/v2",
                               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert isinstance(doc["proof"], list) and doc["proof"][0]["cryptosuite"] == "eddsa-jcs-2022"
    ach = doc["credentialSubject"]["achievement"]
    assert ach["achievementType"] == "Competency"
    assert ach["alignment"][0]["targetType"] == "CFItem"
    assert doc["credentialStatus"]["statusListIndex"] == "94567"
    assert "s-1001" not in json.dumps(doc)


@pytest.mark.parametrize("extra", [
    [],                                                       # minimal: hashed learner, no status
    ["--learner-did", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"],
    ["--source-uri", "https://example.org/competencies/frac-add"],  # not from CASE
    ["--did-web", "lincoln.example.edu"],
    ["--suspension-list", "https://lincoln.example.edu/status/suspension"],
])
def test_variants_validate(validator, extra):
    doc = json.loads(make("badge", *extra))
    assert_valid(validator, doc)


def test_jwt_vc_claim_validates(validator):
    token = make("badge", "--format", "jwt", *FULL)
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    claims = json.loads(base64.urlsafe_b64decode(pad(payload)))
    assert json.loads(base64.urlsafe_b64decode(pad(header)))["alg"] == "EdDSA"
    assert_valid(validator, claims["vc"])
    assert "proof" not in claims["vc"]
    assert claims["iss"] == claims["vc"]["issuer"]["id"]
    assert claims["jti"] == claims["vc"]["id"]
    assert claims["exp"] == 1893456000


def test_two_status_entries_differ_only_in_credential_status(validator):
    """OB 3.0 allows one credentialStatus ([0..1]); revocation AND suspension needs the VCDM 2.0
    array form. The schema must reject that member and nothing else."""
    doc = json.loads(make("badge", "--revocation-list", "https://l.example/status/revocation",
                          "--suspension-list", "https://l.example/status/suspension"))
    assert isinstance(doc["credentialStatus"], list) and len(doc["credentialStatus"]) == 2
    errs = errors(validator, doc)
    assert errs and all(list(e.absolute_path)[:1] == ["credentialStatus"] for e in errs)
    one = dict(doc, credentialStatus=doc["credentialStatus"][0])
    assert_valid(validator, one)


def test_schema_rejects_a_broken_badge(validator):
    """The check is real: the same badge without its issuer, or with a bad type, fails."""
    doc = json.loads(make("badge"))
    broken = dict(doc)
    del broken["issuer"]
    assert errors(validator, broken)
    broken = dict(doc, type=["VerifiableCredential"])
    assert errors(validator, broken)
    broken = dict(doc, proof=doc["proof"][0])
    assert errors(validator, broken)
