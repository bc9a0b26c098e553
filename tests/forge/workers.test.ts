import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker, type Broker } from "../../src/broker/server.ts";
import { inproc } from "../../src/transport/inproc.ts";
import { connect, type RpcClient } from "../../src/rpc/client/client.ts";
import { RpcError } from "../../src/rpc/errors.ts";
import {
  demoBackends, encodePng, ForgeError, ForgeEvents, forgeContracts, type ForgeEvent, type ForgeWorkers, type Progress,
  serveForge, watchForgeEvents, type ZImageBackend, type ForgeEventFeed,
} from "../../src/forge/mod.ts";
import { pattern } from "./helpers.ts";

const endpoint = "inproc://forge-workers-test";
let broker: Broker;
let forge: ForgeWorkers;
let events: ForgeEvents;
let client: RpcClient<typeof forgeContracts>;
let feed: ForgeEventFeed;
const seen: ForgeEvent[] = [];

/** A zimage backend that runs until cancelled, to observe cancellation end to end. */
let slowAborted: unknown;
const slow: ZImageBackend = {
  name: "test-slow",
  generate: (_input, ctx) => new Promise((_, reject) => {
    ctx.progress?.({ done: 0, total: 1, stage: "waiting" });
    ctx.signal.addEventListener("abort", () => {
      slowAborted = ctx.signal.reason;
      reject(new ForgeError("RPC_CANCELLED", "stopped"));
    }, { once: true });
  }),
};

before(async () => {
  broker = await startBroker({ endpoints: [endpoint], transport: inproc });
  events = await ForgeEvents.connect(endpoint, { transport: inproc, progressIntervalMs: 0 });
  feed = await watchForgeEvents(endpoint, { transport: inproc });
  void (async () => {
    for await (const e of feed) seen.push(e);
  })();
  forge = await serveForge(endpoint, { ...demoBackends(), zimage: slow }, { events, transport: inproc });
  client = await connect(endpoint, forgeContracts, { transport: inproc });
});

after(async () => {
  await client.close();
  await forge.close();
  await feed.close();
  await events.close();
  await broker.close();
});

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
};

describe("Forge workers over RPC", () => {
  it("serve typed calls with progress, and publish the job on forge.events", async () => {
    const progress: Progress[] = [];
    const png = encodePng(pattern(64, 32, (x) => [x * 4, 100, 200]));
    const out = await client.qwen3vl.infer({ images: [{ data: png, mimeType: "image/png" }], prompt: "Describe." }, { onProgress: (p) => progress.push(p) });
    assert.match(out.text, /64×32/);
    assert.ok(progress.length >= 1);
    await until(() => seen.some((e) => e.service === "qwen3vl" && e.kind === "completed"));
    const job = seen.filter((e) => e.service === "qwen3vl");
    assert.equal(job[0]!.kind, "started");
    assert.equal(job.at(-1)!.summary?.["images"], 1);
    assert.equal(new Set(job.map((e) => e.jobId)).size, 1);
  });

  it("carry a backend's typed error code to the caller and report the failure", async () => {
    const err = await client.kokoro.synthesize({ text: "hi", format: "mp3" }).catch((e: unknown) => e);
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, "FORGE_UNSUPPORTED");
    assert.deepEqual((err.details as { supported: string[] }).supported, ["wav", "pcm"]);
    await until(() => seen.some((e) => e.service === "kokoro" && e.kind === "failed"));
    assert.equal(seen.find((e) => e.service === "kokoro" && e.kind === "failed")!.error?.code, "FORGE_UNSUPPORTED");
  });

  it("reject invalid input before it reaches a backend", async () => {
    const err = await client.zimage.generate({ prompt: "x", width: 100 }).catch((e: unknown) => e);
    assert.ok(err instanceof RpcError && err.code === "RPC_VALIDATION");
  });

  it("pass the caller's cancellation through to the backend's signal", async () => {
    const ac = new AbortController();
    const call = client.zimage.generate({ prompt: "anything", width: 64, height: 64 }, { signal: ac.signal });
    const rejected = assert.rejects(call, (e: unknown) => e instanceof RpcError && e.code === "RPC_CANCELLED");
    await until(() => seen.some((e) => e.service === "zimage" && e.kind === "progress"));
    ac.abort();
    await rejected;
    await until(() => slowAborted !== undefined);
    await until(() => seen.some((e) => e.service === "zimage" && e.kind === "cancelled"));
  });

  it("stream sam3 chunks in order, ending with the summary", async () => {
    const frames = [0, 1, 2, 3].map((f) => ({ data: encodePng(pattern(32, 24, (x, y) => (Math.abs(x - 6 - f * 6) < 3 && Math.abs(y - 12) < 3 ? [250, 0, 0] : [30, 90, 30]))), mimeType: "image/png" }));
    const kinds: string[] = [];
    for await (const c of client.sam3.segment({ video: { kind: "frames", frames, fps: 4 }, prompts: [{ type: "text", text: "red" }] })) kinds.push(c.type);
    assert.equal(kinds.at(-1), "summary");
    assert.equal(kinds.filter((k) => k === "frame").length, 4);
    await until(() => seen.some((e) => e.service === "sam3" && e.kind === "completed"));
  });
});
