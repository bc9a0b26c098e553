import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startBroker } from "../../src/broker/server.ts";
import { MlmError } from "../../src/client/errors.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { curveKeyPair } from "../../src/zmtp/mechanism/curve/box.ts";
import { encodeZ85 } from "../../src/zmtp/z85.ts";
import { qwen3vl } from "./contracts.ts";
import { noTokens } from "./harness.ts";

describe("rpc over CURVE", () => {
  it("serve({ curve }) and connect({ curve }): calls with progress and a large binary input; the broker sees both keys", async () => {
    const server = curveKeyPair();
    const workerKeys = curveKeyPair();
    const clientKeys = curveKeyPair();
    const admitted = new Set([encodeZ85(workerKeys.publicKey), encodeZ85(clientKeys.publicKey)]);
    const broker = await startBroker({
      endpoints: ["tcp://127.0.0.1:0"],
      curve: { ...server, authorize: (key) => admitted.has(encodeZ85(key)) },
    });
    const endpoint = broker.endpoints[0]!;
    const worker = await serve(endpoint, qwen3vl, {
      infer: async ({ prompt, image }, ctx) => {
        ctx.progress({ tokens: 1 });
        return { text: prompt.toUpperCase(), tokens: image?.length ?? 0 };
      },
      tokens: noTokens,
    }, { curve: { serverKey: server.publicKey, ...workerKeys } });
    const client = await connect(endpoint, { qwen3vl }, { curve: { serverKey: encodeZ85(server.publicKey), ...clientKeys } });
    try {
      const progress: number[] = [];
      const out = await client.qwen3vl.infer({ prompt: "secret", image: new Uint8Array(300_000).fill(1) }, { onProgress: (p) => progress.push(p.tokens) });
      assert.deepEqual(out, { text: "SECRET", tokens: 300_000 });
      assert.deepEqual(progress, [1]);
      const keys = new Set(broker.stats().clientList.map((c) => c.curveKey));
      assert.deepEqual([...admitted].filter((k) => !keys.has(k)), [], "every admitted key has a connection");
      assert.ok(!keys.has(undefined), "no connection without a key");
    } finally {
      await client.close();
      await worker.close();
      await broker.close();
    }
  });

  it("connect() with a key the broker refuses rejects with MLM_REFUSED (mlm.curve works too)", { timeout: 10_000 }, async () => {
    const server = curveKeyPair();
    const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], curve: { ...server, authorize: () => false } });
    try {
      await assert.rejects(
        connect(broker.endpoints[0]!, { qwen3vl }, { mlm: { timeout: 60_000, curve: { serverKey: server.publicKey, ...curveKeyPair() } } }),
        (e: unknown) => e instanceof MlmError && e.code === "MLM_REFUSED",
      );
    } finally {
      await broker.close();
    }
  });
});
