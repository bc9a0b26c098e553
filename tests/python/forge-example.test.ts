// The Python Forge example (examples/forge/python/kokoro_worker.py) serves kokoro.synthesize to
// the TypeScript client, from the committed schema export, which must match the contract.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { kokoro } from "../../src/forge/contracts/services.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { contractJsonSchema } from "../../src/rpc/json-schema.ts";
import { rejection, rig, type Rig } from "../rpc/harness.ts";
import { findPython, NEED_PYTHON, Py } from "./helpers.ts";

const schemaFile = new URL("../../examples/forge/python/kokoro.schema.json", import.meta.url);

describe("python Forge example: kokoro worker", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(() => r.close());

  test("the committed kokoro.schema.json is the contract's export (regenerate with export-schema.ts)", () => {
    assert.deepEqual(JSON.parse(readFileSync(schemaFile, "utf8")), contractJsonSchema(kokoro));
  });

  test("a TypeScript client gets a WAV with progress from the Python worker, and its error codes", async () => {
    const python = findPython();
    assert.ok(python, NEED_PYTHON);
    const worker = r.own(new Py(python, "../../examples/forge/python/kokoro_worker.py", ["--endpoint", r.endpoint]));
    await worker.waitFor(`kokoro worker ready on ${r.endpoint}`);
    const client = r.own(await connect(r.endpoint, { kokoro }));
    const progress: number[] = [];
    const out = await client.kokoro.synthesize({ text: "hello forge world" }, { onProgress: (p) => progress.push(p.done) });
    assert.equal(out.format, "wav");
    assert.equal(new TextDecoder().decode(out.audio.subarray(0, 4)), "RIFF");
    assert.equal(out.sampleRate, 24_000);
    assert.equal(out.duration, 0.75);
    assert.deepEqual(progress, [1, 2, 3]);
    const unsupported = await rejection(client.kokoro.synthesize({ text: "hi", format: "mp3" }));
    assert.equal(unsupported.code, "UNSUPPORTED_FORMAT");

    const dir = mkdtempSync(join(tmpdir(), "malamute-kokoro-"));
    try {
      const caller = r.own(new Py(python, "../../examples/forge/python/kokoro_call.py", ["two words", join(dir, "out.wav"), "--endpoint", r.endpoint]));
      await caller.exited();
      assert.equal(caller.child.exitCode, 0, caller.stderr);
      assert.deepEqual(caller.lines.slice(0, 2), ["1/2", "2/2"]);
      assert.equal(readFileSync(join(dir, "out.wav")).subarray(0, 4).toString("latin1"), "RIFF");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
