// The Python validator (python/malamute/schema.py, a subset of JSON Schema) gives the same
// verdict as the TypeScript one (TypeBox) on valid and invalid values of every Forge contract.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { TSchema } from "typebox";
import { kokoro, qwen3vl, sam3, zimage } from "../../src/forge/contracts/services.ts";
import type { ServiceContract } from "../../src/rpc/contract.ts";
import { contractJsonSchema } from "../../src/rpc/json-schema.ts";
import { compiled } from "../../src/rpc/shared/validate.ts";
import { findPython, NEED_PYTHON, Py } from "./helpers.ts";

type Role = "input" | "output" | "chunk" | "progress";
const B = (n: number) => ({ $bytes: n });
const img = (n = 4, mimeType = "image/png") => ({ data: B(n), mimeType });

const cases: Array<[ServiceContract, string, Role, unknown]> = [
  [kokoro, "synthesize", "input", { text: "hi" }],
  [kokoro, "synthesize", "input", { text: "" }],
  [kokoro, "synthesize", "input", { text: "hi", voice: "af_heart" }],
  [kokoro, "synthesize", "input", { text: "hi", voice: "af_bella(0.5)+af_sky" }],
  [kokoro, "synthesize", "input", { text: "hi", voice: "Bad Voice" }],
  [kokoro, "synthesize", "input", { text: "hi", voice: "af_heart\n" }],
  [kokoro, "synthesize", "input", { text: "hi", speed: 2 }],
  [kokoro, "synthesize", "input", { text: "hi", speed: 4.5 }],
  [kokoro, "synthesize", "input", { text: "hi", format: "mp3" }],
  [kokoro, "synthesize", "input", { text: "hi", format: "ogg" }],
  [kokoro, "synthesize", "input", { text: "hi", extra: 1 }],
  [kokoro, "synthesize", "input", { text: 5 }],
  [kokoro, "synthesize", "input", { text: "😀".repeat(5000) }],
  [kokoro, "synthesize", "input", { text: "😀".repeat(5001) }],
  [kokoro, "synthesize", "output", { audio: B(3), format: "wav", sampleRate: 24000, duration: 1.5, model: "m" }],
  [kokoro, "synthesize", "output", { audio: "abc", format: "wav", sampleRate: 24000, duration: 1.5, model: "m" }],
  [kokoro, "synthesize", "output", { audio: B(3), format: "wav", sampleRate: 0, duration: 1.5, model: "m" }],
  [kokoro, "synthesize", "output", { audio: B(3), format: "wav", sampleRate: 1.5, duration: 1.5, model: "m" }],
  [kokoro, "synthesize", "progress", { done: 1, total: 2 }],
  [kokoro, "synthesize", "progress", { done: -1, total: 2 }],
  [kokoro, "synthesize", "progress", { done: 1 }],
  [zimage, "generate", "input", { prompt: "p", width: 1024, height: 512 }],
  [zimage, "generate", "input", { prompt: "p", width: 100 }],
  [zimage, "generate", "input", { prompt: "p", seed: 4294967295 }],
  [zimage, "generate", "input", { prompt: "p", seed: 4294967296 }],
  [zimage, "generate", "input", { prompt: "p", seed: -1 }],
  [zimage, "generate", "input", { prompt: "p", steps: 1.5 }],
  [zimage, "generate", "input", { prompt: "p", guidance: 7.5 }],
  [zimage, "generate", "input", { prompt: "p", negativePrompt: null }],
  [qwen3vl, "infer", "input", { images: [img()], prompt: "what?" }],
  [qwen3vl, "infer", "input", { images: [], prompt: "what?" }],
  [qwen3vl, "infer", "input", { images: [img(0)], prompt: "what?" }],
  [qwen3vl, "infer", "input", { images: [img(4, "text/plain")], prompt: "what?" }],
  [qwen3vl, "infer", "input", { images: [{ ...img(), extra: true }], prompt: "what?" }],
  [qwen3vl, "infer", "input", { images: [img()], prompt: "what?", temperature: 2.5 }],
  [qwen3vl, "infer", "input", { images: [img()], prompt: "what?", maxTokens: 2 ** 60 }],
  [qwen3vl, "infer", "output", { text: "t", finishReason: "stop", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, model: "m" }],
  [qwen3vl, "infer", "output", { text: "t", finishReason: "other", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, model: "m" }],
  [qwen3vl, "infer", "output", { text: "t", finishReason: "stop", usage: { promptTokens: 1, completionTokens: 2 }, model: "m" }],
  [sam3, "segment", "input", { video: { kind: "file", data: B(8), mimeType: "video/mp4" }, prompts: [{ type: "text", text: "dog" }] }],
  [sam3, "segment", "input", { video: { kind: "frames", frames: [img()], fps: 0 }, prompts: [{ type: "text", text: "dog" }] }],
  [sam3, "segment", "input", { video: { kind: "frames", frames: [img()], fps: 30 }, prompts: [{ type: "box", x: 0, y: 0, width: 5, height: 5 }] }],
  [sam3, "segment", "input", { video: { kind: "frames", frames: [img()] }, prompts: [{ type: "box", x: 0, y: 0, width: 0, height: 5 }] }],
  [sam3, "segment", "input", { video: { kind: "file", data: B(8), mimeType: "video/mp4" }, prompts: [{ type: "point", x: 1, y: 2, positive: false }] }],
  [sam3, "segment", "input", { video: { kind: "tape", data: B(8), mimeType: "video/mp4" }, prompts: [{ type: "text", text: "dog" }] }],
  [sam3, "segment", "chunk", { type: "progress", done: 1, total: 4 }],
  [sam3, "segment", "chunk", { type: "summary", frames: 1, width: 2, height: 2, fps: 30, objects: [{ objectId: 1, label: "dog", frames: 1 }], model: "m" }],
  [sam3, "segment", "chunk", { type: "summary", frames: 1, width: 2, height: 2, fps: 30, objects: [{ objectId: 0, label: "dog", frames: 1 }], model: "m" }],
];

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  if (Object.keys(record).length === 1 && typeof record["$bytes"] === "number") return new Uint8Array(record["$bytes"]);
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, revive(v)]));
}

describe("python validator", () => {
  test("agrees with TypeBox on valid and invalid values of every Forge contract", async () => {
    const python = findPython();
    assert.ok(python, NEED_PYTHON);
    const expected = cases.map(([contract, method, role, value]) => {
      const schema = (contract.methods as Record<string, Partial<Record<Role, TSchema>>>)[method]![role] as TSchema;
      return compiled(schema).Check(revive(value));
    });
    assert.ok(expected.includes(true) && expected.includes(false));
    const dir = mkdtempSync(join(tmpdir(), "malamute-pyval-"));
    try {
      const file = join(dir, "cases.json");
      writeFileSync(file, JSON.stringify(cases.map(([contract, method, role, value]) => ({
        service: contract.name, schema: contractJsonSchema(contract), method, role, value,
      }))));
      const script = new Py(python, "py_validate.py", [file]);
      await script.exited();
      assert.equal(script.child.exitCode, 0, script.stderr);
      const verdicts = JSON.parse(script.lines.join("")) as boolean[];
      const differ = cases.flatMap((c, i) => verdicts[i] === expected[i] ? [] : [`${c[0].name}.${c[1]} ${c[2]} ${JSON.stringify(c[3]).slice(0, 120)}: TS ${expected[i]}, Python ${verdicts[i]}`]);
      assert.deepEqual(differ, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
