#!/usr/bin/env python3
"""Checks schemas/framework.schema.json against the files graph_parse() accepts and refuses.

Run by hand (needs python3-jsonschema; not a build dependency):
    python3 schemas/check_schema.py
The schema is a draft 2020-12 meta-schema-valid document; every framework graph_parse()
accepts (the examples and tests/fuzz/corpus/framework/valid-*) must validate, and the refusals
a schema can express (shape, keys, ranges) must fail. Refusals it cannot express (duplicate
ids, dangling references, cycles, at_least beyond its list, p_guess + p_slip >= 1) are
graph_parse()'s alone.
"""
import glob
import json
import os
import sys

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    schema = json.load(open(os.path.join(ROOT, "schemas/framework.schema.json")))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    accepted = [os.path.join(ROOT, "schemas/examples/fractions.json")]
    accepted += sorted(glob.glob(os.path.join(ROOT, "tests/fuzz/corpus/framework/valid-*")))
    for path in accepted:
        errors = list(validator.iter_errors(json.load(open(path))))
        for e in errors:
            print(f"FAIL {os.path.relpath(path, ROOT)}: {e.json_path}: {e.message}")
        bad += bool(errors)
    base = {"id": "urn:t", "title": "T"}
    refused = {
        "unknown competency key": [{"id": "a", "title": "A", "colour": "red"}],
        "key of another method": [{"id": "a", "title": "A", "rule": {"method": "latest", "weight": 0.5}}],
        "threshold out of range": [{"id": "a", "title": "A", "rule": {"method": "latest", "threshold": 1.5}}],
        "bkt p_guess 0": [{"id": "a", "title": "A", "rule": {"method": "bkt", "p_guess": 0}}],
        "n 0": [{"id": "a", "title": "A", "rule": {"method": "n_mastery", "n": 0}}],
        "unknown method": [{"id": "a", "title": "A", "rule": {"method": "median"}}],
        "children without of": [{"id": "a", "title": "A", "rule": {"method": "children"}}],
        "requires all and at_least": [{"id": "a", "title": "A", "requires": {"all": ["b"], "at_least": 1}}],
        "requires at_least 0": [{"id": "a", "title": "A", "requires": {"at_least": 0, "of": ["b"]}}],
        "id listed twice": [{"id": "a", "title": "A", "requires": {"all": ["b", "b"]}}],
        "empty id": [{"id": "", "title": "A"}],
        "control character in id": [{"id": "a\u0001", "title": "A"}],
        "missing title": [{"id": "a"}],
        "achievement name not a string": [{"id": "a", "title": "A", "achievement": {"name": 5}}],
    }
    for name, comps in refused.items():
        if validator.is_valid(dict(base, competencies=comps)):
            print(f"FAIL schema accepts: {name}")
            bad += 1
    if validator.is_valid({"title": "T", "competencies": []}):
        print("FAIL schema accepts a framework without id")
        bad += 1
    print(f"{len(accepted)} accepted files, {len(refused) + 1} refusals checked, {bad} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
