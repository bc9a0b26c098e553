"""Validates cases with python/malamute's schema subset, for tests/python/validation.test.ts.

Usage: py_validate.py CASES_JSON. Cases: [{"schema": <contract export>, "method", "role", "value"}];
{"$bytes": n} stands for n bytes. Prints a JSON list: true when valid.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from malamute import Contract  # noqa: E402


def revive(value):
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes(value["$bytes"])
        return {k: revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [revive(v) for v in value]
    return value


with open(sys.argv[1]) as f:
    cases = json.load(f)
contracts = {}
verdicts = []
for case in cases:
    contract = contracts.setdefault(case["service"], Contract(case["schema"]))
    spec = contract.methods[case["method"]]
    verdicts.append(not contract.validate(getattr(spec, case["role"]), revive(case["value"])))
print(json.dumps(verdicts))
