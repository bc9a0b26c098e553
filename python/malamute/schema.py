"""Validation against the JSON Schema document that the TypeScript ``contractJsonSchema()`` exports.

A small validator for the subset that export uses (type, properties, required,
additionalProperties, items, min/maxItems, min/maxLength, pattern, minimum, maximum,
exclusiveMinimum/Maximum, multipleOf, const, enum, anyOf, allOf, $ref to ``#/$defs/...``) plus
``x-malamute-bytes`` with ``minBytes``/``maxBytes``. Unknown keywords are ignored.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
MAX_SAFE_INTEGER = 2**53 - 1
_BYTES = (bytes, bytearray, memoryview)


@dataclass
class Issue:
    """One mismatch: a JSON pointer ``path`` and a ``message``."""

    path: str
    message: str


@dataclass
class MethodSpec:
    """What the export says about one method (the ``x-malamute-rpc.methods`` entry, resolved)."""

    name: str
    kind: str  # "unary" or "stream"
    input: JSON
    output: JSON | None
    chunk: JSON | None
    progress: JSON | None
    timeout: int | None


class Contract:
    """A contract loaded from its JSON Schema export.

    Example::

        contract = Contract(json.load(open("qwen3vl.schema.json")))
        issues = contract.validate(contract.methods["infer"].input, {"prompt": "hi"})
    """

    def __init__(self, document: JSON) -> None:
        rpc = document.get("x-malamute-rpc")
        if not isinstance(rpc, dict) or rpc.get("envelope") != 2 or rpc.get("encoding") != "msgpack":
            raise ValueError("not a malamute RPC contract export (x-malamute-rpc envelope 2, msgpack)")
        self.document = document
        self.service: str = rpc["service"]
        self.cancel_stream: str = rpc.get("cancelStream", "malamute.rpc.cancel")
        self.methods: dict[str, MethodSpec] = {}
        for name, entry in rpc["methods"].items():
            def ref(key: str) -> JSON | None:
                return self.resolve(entry[key]) if key in entry else None
            self.methods[name] = MethodSpec(name, entry.get("kind", "unary"), ref("input") or {},
                                            ref("output"), ref("chunk"), ref("progress"), entry.get("timeout"))
        self._patterns: dict[str, re.Pattern[str]] = {}

    def resolve(self, schema: JSON) -> JSON:
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return schema
        if not ref.startswith("#/"):
            raise ValueError(f"unsupported $ref {ref}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return self.resolve(node)

    def validate(self, schema: JSON, value: Any, limit: int = 10) -> list[Issue]:
        """Issues of ``value`` against ``schema`` (at most ``limit``); empty when it matches."""
        issues: list[Issue] = []
        self._check(schema, value, "", issues, limit)
        return issues

    def _check(self, schema: JSON, value: Any, path: str, issues: list[Issue], limit: int) -> None:
        if len(issues) >= limit:
            return
        schema = self.resolve(schema)

        def fail(message: str) -> None:
            issues.append(Issue(path or "/", message))

        if schema.get("x-malamute-bytes") is True:
            if not isinstance(value, _BYTES):
                return fail("must be binary data (msgpack bin)")
            if "minBytes" in schema and len(value) < schema["minBytes"]:
                fail(f"must have at least {schema['minBytes']} bytes")
            if "maxBytes" in schema and len(value) > schema["maxBytes"]:
                fail(f"must have at most {schema['maxBytes']} bytes")
            return
        if "anyOf" in schema:
            if not any(not self.validate(option, value, 1) for option in schema["anyOf"]):
                return fail("must match one of the allowed shapes")
        for option in schema.get("allOf", []):
            self._check(option, value, path, issues, limit)
        if "const" in schema and not _equal(value, schema["const"]):
            return fail(f"must be {schema['const']!r}")
        if "enum" in schema and not any(_equal(value, v) for v in schema["enum"]):
            return fail("must be one of the allowed values")
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if kind else []
        if kinds and not any(_is_type(value, k) for k in kinds):
            return fail(f"must be {' or '.join(kinds)}")
        if "integer" in kinds and abs(value) > MAX_SAFE_INTEGER:
            # As the TypeScript side: beyond 2^53 - 1 a JavaScript number is no longer exact.
            return fail("must be a safe integer (at most 2^53 - 1 in magnitude)")
        if isinstance(value, str):
            length = len(value)  # code points, as JSON Schema (and TypeBox) count
            if "minLength" in schema and length < schema["minLength"]:
                fail(f"must have at least {schema['minLength']} characters")
            if "maxLength" in schema and length > schema["maxLength"]:
                fail(f"must have at most {schema['maxLength']} characters")
            if "pattern" in schema and not self._pattern(schema["pattern"]).search(value):
                fail(f"must match {schema['pattern']}")
        elif _is_type(value, "number"):
            if "minimum" in schema and value < schema["minimum"]:
                fail(f"must be >= {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                fail(f"must be <= {schema['maximum']}")
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                fail(f"must be > {schema['exclusiveMinimum']}")
            if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
                fail(f"must be < {schema['exclusiveMaximum']}")
            if "multipleOf" in schema and not _multiple(value, schema["multipleOf"]):
                fail(f"must be a multiple of {schema['multipleOf']}")
        elif isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                fail(f"must have at least {schema['minItems']} items")
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                fail(f"must have at most {schema['maxItems']} items")
            if isinstance(schema.get("items"), dict):
                for i, item in enumerate(value):
                    self._check(schema["items"], item, f"{path}/{i}", issues, limit)
        elif isinstance(value, dict):
            properties: JSON = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    issues.append(Issue(f"{path}/{_escape(key)}", "is required"))
            for key, item in value.items():
                if key in properties:
                    self._check(properties[key], item, f"{path}/{_escape(key)}", issues, limit)
                elif schema.get("additionalProperties") is False:
                    issues.append(Issue(f"{path}/{_escape(str(key))}", "is not allowed"))
                elif isinstance(schema.get("additionalProperties"), dict):
                    self._check(schema["additionalProperties"], item, f"{path}/{_escape(str(key))}", issues, limit)

    def _pattern(self, source: str) -> re.Pattern[str]:
        if source not in self._patterns:
            self._patterns[source] = re.compile(_ecma_pattern(source))
        return self._patterns[source]


def _ecma_pattern(source: str) -> str:
    # ECMAScript `$` (no multiline flag) matches only at the very end; Python's also before a
    # final newline, so it becomes `\Z` outside character classes.
    out: list[str] = []
    escaped = in_class = False
    for char in source:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append("\\Z")
            continue
        out.append(char)
    return "".join(out)


def _is_type(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":  # msgpack may carry 2.0 as an int: both are numbers
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    return True


def _multiple(value: float, step: float) -> bool:
    quotient = value / step
    return abs(quotient - round(quotient)) < 1e-9


def _equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
