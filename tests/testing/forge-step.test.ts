// The example of docs/testing.md, run as written (imports aside): a Forge pipeline step tested
// with no model at all — mocked services on an in-process broker.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../../mod.ts";
import { ForgeError, ForgeEvents, forgePipeline, kokoro, qwen3vl, serveZImage, zimage } from "../../src/forge/mod.ts";
import { fail, mockService, recordForgeEvents, reply, testBroker } from "../../src/testing/mod.ts";

const image = { data: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), mimeType: "image/png" };

describe("forge pipeline, no models", () => {
  it("generate paints what describe saw, within the pipeline's deadline", async () => {
    const t = await testBroker();
    try {
      await mockService(t, qwen3vl, {
        infer: reply({ text: "a red kite", finishReason: "stop", model: "mock", usage: { promptTokens: 1, completionTokens: 3, totalTokens: 4 } }),
      });
      const painter = await mockService(t, zimage, {
        generate: reply({ png: new Uint8Array([1]), seed: 7, width: 64, height: 64, model: "mock" }),
      });
      await mockService(t, kokoro, {
        synthesize: reply({ audio: new Uint8Array([2]), format: "wav", sampleRate: 8000, duration: 0.5, model: "mock" }),
      });
      const client = t.own(await connect(t.endpoint, { qwen3vl, zimage, kokoro }, t.options));

      const deadline = Date.now() + 5_000;
      const { results } = await forgePipeline(client, { width: 64, height: 64, seed: 7 }).run(image, { deadline });

      const [call] = painter.callsOf("generate");
      assert.equal(call?.input.prompt, "a red kite");
      assert.equal(call?.input.seed, 7);
      assert.equal(call?.deadline, deadline);
      assert.equal(results.generate.seed, 7);
    } finally {
      await t.close();
    }
  });

  it("a failing generate backend is reported on forge.events", async () => {
    const t = await testBroker();
    try {
      const events = await recordForgeEvents(t);
      const forgeEvents = t.own(await ForgeEvents.connect(t.endpoint, t.options));
      t.own(await serveZImage(t.endpoint, {
        name: "stub",
        generate: () => Promise.reject(new ForgeError("FORGE_UNSUPPORTED", "no GPU in tests")),
      }, { ...t.options, events: forgeEvents }));
      const client = t.own(await connect(t.endpoint, { zimage }, t.options));

      await assert.rejects(client.zimage.generate({ prompt: "sea" }), { code: "FORGE_UNSUPPORTED" });

      const job = await events.job();
      assert.deepEqual(job.map((e) => e.kind), ["started", "failed"]);
      assert.equal(job[1]?.error?.code, "FORGE_UNSUPPORTED");
    } finally {
      await t.close();
    }
  });

  it("a step that fails on demand stops the pipeline there", async () => {
    const t = await testBroker();
    try {
      const vision = await mockService(t, qwen3vl, {});
      vision.next("infer", fail(new ForgeError("FORGE_BAD_RESPONSE", "model crashed")));
      const painter = await mockService(t, zimage, {});
      const client = t.own(await connect(t.endpoint, { qwen3vl, zimage, kokoro }, t.options));

      await assert.rejects(forgePipeline(client).run(image, { timeoutMs: 5_000 }), { step: "describe", code: "FORGE_BAD_RESPONSE" });
      assert.equal(painter.calls.length, 0);
    } finally {
      await t.close();
    }
  });
});
