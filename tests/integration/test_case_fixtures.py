"""The CASE packages under tests/data/case/ checked against the CASE 1.0 CFPackage schema.

The well-formed fixtures must validate; the ones that carry a real export's quirks must fail
the schema for exactly those quirks (so the unit tests in tests/unit/test_casepkg.c really
exercise what the schema refuses and the import accepts with warnings). Uses Debian's
python3-jsonschema. The schema (tests/vectors/case/) has no $schema keyword and uses
"definitions": it is read as draft 7. Its "format" keywords are not checked (jsonschema checks
date-time only with optional packages), so timestamps are checked here with a pattern.
"""
import glob
import json
import os
import re

import jsonschema
import pytest

SRC = os.environ.get("MASTERY_SRC", os.path.join(os.path.dirname(__file__), "../.."))
DATA = os.path.join(SRC, "tests", "data", "case")
VECTORS = os.environ.get("MASTERY_VECTORS", os.path.join(SRC, "tests", "vectors"))
SCHEMA = os.path.join(VECTORS, "case", "case-v1p0-cfpackage-schema.json")

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# fixture -> the schema errors it must have, as (JSON path, message fragment)
EXPECTED = {
    "precedes-chain.json": [],
    "precedes-cycle.json": [],  # a cycle is meaning, not shape: only the import refuses it
    "mixed-cycle.json": [],
    "no-document.json": [("", "'CFDocument' is a required property")],
    "quirks.json": [
        ("CFItems/0/identifier", "does not match"),  # non-UUID identifiers
        ("CFItems/1/identifier", "does not match"),
        ("CFItems/2/identifier", "does not match"),
        ("CFAssociations/0/sequenceNumber", "is not of type 'integer'"),  # "2"
        ("CFAssociations/1/sequenceNumber", "is not of type 'integer'"),
    ],
}


@pytest.fixture(scope="module")
def validator():
    schema = json.load(open(SCHEMA))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def timestamps(doc):
    """Every lastChangeDateTime in a package, with its place."""
    out = []
    if isinstance(doc.get("CFDocument"), dict):
        out.append(("CFDocument", doc["CFDocument"].get("lastChangeDateTime")))
    for key in ("CFItems", "CFAssociations"):
        for i, x in enumerate(doc.get(key, [])):
            out.append((f"{key}/{i}", x.get("lastChangeDateTime")))
    return out


def test_every_fixture_is_listed():
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DATA, "*.json")))
    assert names == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_against_schema(validator, name):
    doc = json.load(open(os.path.join(DATA, name)))
    got = sorted(("/".join(str(p) for p in e.absolute_path), e.message)
                 for e in validator.iter_errors(doc))
    want = sorted(EXPECTED[name])
    assert len(got) == len(want), got
    for (gp, gm), (wp, wm) in zip(got, want):
        assert gp == wp and wm in gm, (gp, gm, wp, wm)


def test_well_formed_fixtures_have_rfc3339_times():
    for name, errors in EXPECTED.items():
        if errors:
            continue
        doc = json.load(open(os.path.join(DATA, name)))
        for where, t in timestamps(doc):
            assert t is not None and RFC3339.match(t), (name, where, t)


def test_quirks_fixture_has_its_quirks():
    doc = json.load(open(os.path.join(DATA, "quirks.json")))
    bad_times = [w for w, t in timestamps(doc) if t is None or not RFC3339.match(t)]
    # the document and all three items carry times without a time zone
    assert bad_times == ["CFDocument", "CFItems/0", "CFItems/1", "CFItems/2"]
    # the misspelt optional field: the schema allows unknown keys, so only the import sees it
    assert "humanCodingSchema" in doc["CFItems"][1]
    # associations to items outside the package
    inside = {i["identifier"] for i in doc["CFItems"]} | {doc["CFDocument"]["identifier"]}
    ends = [a[k]["identifier"] for a in doc["CFAssociations"]
            for k in ("originNodeURI", "destinationNodeURI")]
    assert sorted(set(ends) - inside) == ["ELA.K.W.1", "ELA.W", "ccss-w-3-1-b"]


def test_vector_packages_validate(validator):
    paths = sorted(glob.glob(os.path.join(VECTORS, "case", "*Framework.json")))
    assert len(paths) == 4
    for p in paths:
        assert list(validator.iter_errors(json.load(open(p)))) == [], p
