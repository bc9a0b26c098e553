// python/malamute encodes every example of docs/rpc-wire.md byte for byte as the TypeScript
// code does (the blocks come from tests/rpc/wire-doc.ts, which generates the document's).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { examples } from "../rpc/wire-doc.ts";
import { findPython, NEED_PYTHON, Py } from "./helpers.ts";

/** The frames of a generated block, as hex: the leading byte pairs of each line, per "frame N:" section. */
function framesOf(block: string): string[] {
  const frames: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("frame ")) frames.push("");
    const hex = /^ {2}([0-9a-f]{2}(?: [0-9a-f]{2})*)(?: {2}|$)/.exec(line);
    if (hex && frames.length > 0) frames[frames.length - 1] += (hex[1] as string).replaceAll(" ", "");
  }
  return frames;
}

describe("python wire encoding", () => {
  test("every docs/rpc-wire.md example, encoded by python/malamute, equals the TypeScript bytes", async () => {
    const python = findPython();
    assert.ok(python, NEED_PYTHON);
    const script = new Py(python, "py_wire.py", []);
    await script.exited();
    assert.equal(script.child.exitCode, 0, script.stderr);
    const fromPython = JSON.parse(script.lines.join("")) as Record<string, string[]>;
    const expected = examples();
    assert.deepEqual(Object.keys(fromPython).sort(), [...expected.keys()].sort());
    for (const [name, block] of expected) assert.deepEqual(fromPython[name], framesOf(block), name);
  });
});
