import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  decodePng, encodeFrame, ForgeError, FrameDecoder, parseWav, scriptKokoro, scriptQwen3Vl, scriptSam3, scriptZImage, ScriptHost,
  type Progress, type Sam3Chunk, type ScriptHostOptions,
} from "../../src/forge/mod.ts";
import { runScript } from "./runtime.ts";
import { never, pattern } from "./helpers.ts";
import { encodePng } from "../../src/forge/mod.ts";

const worker = fileURLToPath(new URL("./fixtures/script-worker.mjs", import.meta.url));
const pythonWorker = fileURLToPath(new URL("../../examples/forge/scripts/forge_worker.py", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "forge-script-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const code = (c: string) => (e: unknown) => e instanceof ForgeError && e.code === c;

/** Runs `body` with a host on the test worker, always closing it. */
async function withHost(options: Partial<ScriptHostOptions>, body: (host: ScriptHost) => Promise<void>): Promise<void> {
  const host = new ScriptHost({ ...runScript(worker), ...options });
  try {
    await body(host);
  } finally {
    await host.close();
  }
}

const pidOf = async (host: ScriptHost) => ((await host.call("test.pid", {}, { signal: never() })) as { pid: number }).pid;
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
};

describe("script adapter: protocol", () => {
  it("frames messages exactly as the hex example in docs/forge-script-protocol.md", () => {
    const doc = readFileSync(fileURLToPath(new URL("../../docs/forge-script-protocol.md", import.meta.url)), "utf8");
    const hex = /so the frame is\s+```\s+([0-9a-f ]+)\s+```/.exec(doc)?.[1];
    assert.ok(hex, "example not found in the doc");
    const bytes = Uint8Array.from(hex.trim().split(/\s+/).map((h) => parseInt(h, 16)));
    assert.deepEqual(encodeFrame({ type: "ready", protocol: 1 }), bytes);
    assert.deepEqual(new FrameDecoder().push(bytes), [{ type: "ready", protocol: 1 }]);
  });

  it("reassembles frames split at every byte boundary and refuses oversized ones", () => {
    const frames = [encodeFrame({ type: "progress", id: 1, value: { done: 1, total: 2 } }), encodeFrame({ type: "result", id: 1, value: Uint8Array.of(0, 255) })];
    const stream = Uint8Array.from([...frames[0]!, ...frames[1]!]);
    const decoder = new FrameDecoder();
    const got: unknown[] = [];
    for (const byte of stream) got.push(...decoder.push(Uint8Array.of(byte)));
    assert.deepEqual(got, [{ type: "progress", id: 1, value: { done: 1, total: 2 } }, { type: "result", id: 1, value: Uint8Array.of(0, 255) }]);
    assert.equal(decoder.pending, 0);
    assert.throws(() => new FrameDecoder(10).push(Uint8Array.of(0, 0, 0, 11)), (e: unknown) => e instanceof ForgeError && e.code === "FORGE_BAD_RESPONSE");
  });

  it("carries binary payloads intact both ways (every byte value, 1 MiB)", async () => {
    await withHost({}, async (host) => {
      const data = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
      const out = (await host.call("test.echo", { data, text: "héllo" }, { signal: never() })) as { data: Uint8Array; text: string };
      assert.equal(out.text, "héllo");
      assert.ok(out.data instanceof Uint8Array);
      assert.deepEqual(out.data, data);
    });
  });

  it("starts one process lazily and reuses it across calls", async () => {
    await withHost({}, async (host) => {
      assert.equal(host.pid, undefined);
      const a = await pidOf(host);
      const b = await pidOf(host);
      assert.equal(a, b);
    });
  });

  it("turns a script error into a ForgeError with the script's code and details", async () => {
    await withHost({}, async (host) => {
      const err = await host.call("test.error", {}, { signal: never() }).catch((e: unknown) => e);
      assert.ok(err instanceof ForgeError);
      assert.equal(err.code, "MODEL_BUSY");
      assert.equal(err.message, "GPU is busy");
      assert.deepEqual(err.details, { retryAfterMs: 50 });
    });
  });

  it("runs as many calls at once as the script's ready message allows", async () => {
    await withHost({ env: { ...process.env, WORKER_CONCURRENCY: "2" } }, async (host) => {
      const ac = new AbortController();
      const calls = [1, 2, 3].map(() => host.call("test.wait", {}, { signal: ac.signal }).catch(() => {}));
      await until(() => host.load.running === 2);
      assert.deepEqual(host.load, { running: 2, queued: 1 });
      ac.abort();
      await Promise.all(calls);
    });
  });

  it("fails calls beyond maxQueue with RPC_RESOURCE_EXHAUSTED", async () => {
    await withHost({ maxQueue: 1 }, async (host) => {
      const ac = new AbortController();
      const running = host.call("test.wait", {}, { signal: ac.signal }).catch(() => {});
      await until(() => host.load.running === 1);
      const queued = host.call("test.echo", {}, { signal: ac.signal }).catch(() => {});
      await assert.rejects(host.call("test.echo", {}, { signal: never() }), code("RPC_RESOURCE_EXHAUSTED"));
      ac.abort();
      await Promise.all([running, queued]);
    });
  });

  it("fails with RPC_UNAVAILABLE when the command cannot be started", async () => {
    const host = new ScriptHost({ command: join(scratch, "no-such-program") });
    try {
      await assert.rejects(host.call("test.echo", {}, { signal: never() }), code("RPC_UNAVAILABLE"));
    } finally {
      await host.close();
    }
  });

  it("fails pending calls with RPC_UNAVAILABLE on close and rejects later calls", async () => {
    const host = new ScriptHost(runScript(worker));
    const pending = assert.rejects(host.call("test.wait", {}, { signal: never() }), code("RPC_UNAVAILABLE"));
    await until(() => host.load.running === 1);
    await host.close();
    await pending;
    await assert.rejects(host.call("test.echo", {}, { signal: never() }), code("RPC_UNAVAILABLE"));
    assert.equal(host.pid, undefined);
  });
});

describe("script adapter: crashes and restarts", () => {
  it("a crash mid-call fails that call with RPC_UNAVAILABLE (exit code and stderr in details); the next call works in a new process", async () => {
    await withHost({}, async (host) => {
      const before = await pidOf(host);
      const progress: unknown[] = [];
      const err = await host.call("test.crash", {}, { signal: never() }, { onProgress: (p) => progress.push(p) }).catch((e: unknown) => e);
      assert.ok(err instanceof ForgeError);
      assert.equal(err.code, "RPC_UNAVAILABLE");
      const details = err.details as { exitCode: number; stderr: string };
      assert.equal(details.exitCode, 3);
      assert.match(details.stderr, /crashing on purpose/);
      assert.equal(progress.length, 1);
      const after = await pidOf(host);
      assert.notEqual(after, before);
    });
  });

  it("re-runs a call the script crashed under when retries ≥ 1", async () => {
    await withHost({ retries: 1 }, async (host) => {
      const marker = join(scratch, `crash-once-${Date.now()}`);
      const out = (await host.call("test.crashOnce", { marker }, { signal: never() })) as { ok: boolean };
      assert.equal(out.ok, true);
    });
  });

  it("kills and restarts a script that sends bytes that are not msgpack", async () => {
    await withHost({}, async (host) => {
      const err = await host.call("test.garbage", {}, { signal: never() }).catch((e: unknown) => e);
      assert.ok(err instanceof ForgeError && err.code === "RPC_UNAVAILABLE");
      assert.match(err.message, /not valid msgpack/);
      assert.equal(typeof (await pidOf(host)), "number");
    });
  });
});

describe("script adapter: cancellation and deadlines", () => {
  it("cancelling rejects at once with RPC_CANCELLED, tells the script, and frees the slot", async () => {
    await withHost({}, async (host) => {
      const before = await pidOf(host);
      const ac = new AbortController();
      const p = host.call("test.wait", {}, { signal: ac.signal });
      await until(() => host.load.running === 1);
      ac.abort();
      await assert.rejects(p, code("RPC_CANCELLED"));
      await until(() => host.load.running === 0); // the script answered the cancel
      assert.equal(await pidOf(host), before); // same process: nothing was killed
    });
  });

  it("restarts a script that ignores a cancel beyond cancelGraceMs, and the next call works", async () => {
    await withHost({ cancelGraceMs: 100 }, async (host) => {
      const before = await pidOf(host);
      const ac = new AbortController();
      const p = host.call("test.ignoreCancel", {}, { signal: ac.signal });
      await until(() => host.load.running === 1);
      ac.abort();
      await assert.rejects(p, code("RPC_CANCELLED"));
      const after = await pidOf(host);
      assert.notEqual(after, before);
    });
  });

  it("fails with RPC_DEADLINE_EXCEEDED when the deadline passes", async () => {
    await withHost({}, async (host) => {
      await assert.rejects(host.call("test.wait", {}, { signal: never(), deadline: Date.now() + 100 }), code("RPC_DEADLINE_EXCEEDED"));
    });
  });

  it("drops a call cancelled while still queued without sending it", async () => {
    await withHost({}, async (host) => {
      const first = new AbortController();
      const running = host.call("test.wait", {}, { signal: first.signal }).catch(() => {});
      await until(() => host.load.running === 1);
      const second = new AbortController();
      const queued = host.call("test.echo", { n: 1 }, { signal: second.signal });
      assert.equal(host.load.queued, 1);
      second.abort();
      await assert.rejects(queued, code("RPC_CANCELLED"));
      assert.equal(host.load.queued, 0);
      first.abort();
      await running;
    });
  });
});

describe("script adapter: typed backends", () => {
  it("serves qwen3vl.infer with image bytes and progress", async () => {
    const host = new ScriptHost(runScript(worker));
    const backend = scriptQwen3Vl(host);
    try {
      const png = encodePng(pattern(4, 4, () => [1, 2, 3]));
      const progress: Progress[] = [];
      const out = await backend.infer({ images: [{ data: png, mimeType: "image/png" }], prompt: "hi" }, { signal: never(), progress: (p) => progress.push(p) });
      assert.equal(out.text, `script saw 1 image(s), ${png.length} bytes: hi`);
      assert.deepEqual(progress, [{ done: 1, total: 1, stage: "decode" }]);
    } finally {
      await backend.close!();
    }
  });

  it("serves kokoro.synthesize, and one host serves several backends", async () => {
    const host = new ScriptHost(runScript(worker));
    try {
      const out = await scriptKokoro(host).synthesize({ text: "abcd", format: "pcm" }, { signal: never() });
      assert.equal(out.audio.length, 8);
      const again = await scriptQwen3Vl(host).infer({ images: [{ data: Uint8Array.of(1), mimeType: "image/png" }], prompt: "x" }, { signal: never() });
      assert.equal(again.model, "script-echo");
    } finally {
      await host.close();
    }
  });

  it("rejects a result that breaks the contract with FORGE_BAD_RESPONSE", async () => {
    const backend = scriptZImage(runScript(worker));
    try {
      const err = await backend.generate({ prompt: "x" }, { signal: never() }).catch((e: unknown) => e);
      assert.ok(err instanceof ForgeError && err.code === "FORGE_BAD_RESPONSE");
      assert.match(err.message, /\/png/);
    } finally {
      await backend.close!();
    }
  });

  it("streams sam3.segment chunks in order", async () => {
    const backend = scriptSam3(runScript(worker));
    try {
      const frames = [1, 2, 3].map(() => ({ data: Uint8Array.of(1), mimeType: "image/png" }));
      const chunks: Sam3Chunk[] = [];
      for await (const c of backend.segment({ video: { kind: "frames", frames }, prompts: [{ type: "text", text: "x" }] }, { signal: never() })) chunks.push(c);
      assert.deepEqual(chunks.map((c) => c.type), ["progress", "frame", "progress", "frame", "progress", "frame", "summary"]);
    } finally {
      await backend.close!();
    }
  });
});

const python = (() => {
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("script adapter: the Python reference worker", { skip: python ? false : "python3 is not installed" }, () => {
  const options = { command: "python3", args: [pythonWorker] };

  it("answers all four methods with contract-valid results, including a real PNG and WAV", async () => {
    const host = new ScriptHost(options);
    try {
      const png = encodePng(pattern(24, 16, () => [200, 100, 50]));
      const text = await scriptQwen3Vl(host).infer({ images: [{ data: png, mimeType: "image/png" }], prompt: "Size?" }, { signal: never() });
      assert.match(text.text, /24×16/);
      const image = await scriptZImage(host).generate({ prompt: "a gradient", width: 64, height: 48, seed: 3 }, { signal: never() });
      assert.equal(decodePng(image.png).width, 64);
      assert.equal(image.seed, 3);
      const speech = await scriptKokoro(host).synthesize({ text: "Hello.", format: "wav" }, { signal: never() });
      assert.equal(parseWav(speech.audio).sampleRate, speech.sampleRate);
      const chunks: Sam3Chunk[] = [];
      for await (const c of scriptSam3(host).segment({ video: { kind: "frames", frames: [{ data: png, mimeType: "image/png" }] }, prompts: [{ type: "text", text: "x" }] }, { signal: never() })) chunks.push(c);
      assert.equal(chunks.at(-1)!.type, "summary");
    } finally {
      await host.close();
    }
  });
});
