// The Python package (python/malamute) against our broker, with the TypeScript client and worker
// on the other side. Needs a python3 with pyzmq and msgpack (Debian: python3-zmq python3-msgpack).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect } from "../../src/rpc/client/client.ts";
import { RpcHandlerError } from "../../src/rpc/errors.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { qwen3vl } from "../rpc/contracts.ts";
import { aborted, rejection, until } from "../rpc/harness.ts";
import { findPython, NEED_PYTHON, Py, pythonQwenRig } from "./helpers.ts";

describe("python package interop", () => {
  const python = findPython();
  const fixture = pythonQwenRig();

  function py(script: string, ...args: string[]): Py {
    assert.ok(python, NEED_PYTHON);
    return fixture.rig.own(new Py(python, script, [fixture.rig.endpoint, fixture.schemaPath, ...args]));
  }

  test("a TypeScript client calls a Python worker: unary, binary frames, progress, stream, errors, cancel, deadline", async () => {
    const worker = py("py_worker.py", "A");
    await worker.waitFor("ready");
    const client = fixture.rig.own(await connect(fixture.rig.endpoint, { qwen3vl }, { binaryFrameThreshold: 16 }));

    assert.deepEqual(await client.qwen3vl.infer({ prompt: "hi" }), { text: "A:hi:0", tokens: 0 });

    const image = new Uint8Array(100_000).map((_, i) => i * 7);
    const sum = image.reduce((a, b) => a + b, 0) % 65536;
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "img", image }), { text: `A:img:${sum}`, tokens: 100_000 });

    const progress: number[] = [];
    await client.qwen3vl.infer({ prompt: "progress" }, { onProgress: (p) => progress.push(p.tokens) });
    assert.deepEqual(progress, [0, 1, 2]);

    const words: string[] = [];
    for await (const word of client.qwen3vl.tokens({ prompt: "x y z" })) words.push(word);
    assert.deepEqual(words, ["x", "y", "z"]);

    // Far more chunks than the socket's high-water mark (1000): none may be dropped.
    let many = 0;
    for await (const chunk of client.qwen3vl.tokens({ prompt: "many 5000" })) assert.equal(chunk, String(many++));
    assert.equal(many, 5000);

    const busy = await rejection(client.qwen3vl.infer({ prompt: "fail" }));
    assert.equal(busy.code, "MODEL_BUSY");
    const badOutput = await rejection(client.qwen3vl.infer({ prompt: "bad-output" }));
    assert.equal(badOutput.code, "RPC_VALIDATION");

    const abort = new AbortController();
    const hanging = client.qwen3vl.infer({ prompt: "hang" }, { signal: abort.signal });
    await worker.waitFor("started hang");
    abort.abort();
    assert.equal((await rejection(hanging)).code, "RPC_CANCELLED");
    await worker.waitFor("cancelled hang");

    let chunks = 0;
    for await (const _ of client.qwen3vl.tokens({ prompt: "endless" })) if (++chunks === 3) break;
    await worker.waitFor("cancelled endless");

    const late = await rejection(client.qwen3vl.infer({ prompt: "hang" }, { timeout: 300 }));
    assert.equal(late.code, "RPC_DEADLINE_EXCEEDED");
    await worker.waitFor("cancelled hang", 2);
  });

  test("a Python worker with concurrency 2 runs two calls at once; the third waits for a slot (credit)", async () => {
    const worker = py("py_worker.py", "C");
    await worker.waitFor("ready");
    const client = fixture.rig.own(await connect(fixture.rig.endpoint, { qwen3vl }));
    const aborts = [new AbortController(), new AbortController(), new AbortController()];
    const calls = aborts.map((a) => client.qwen3vl.infer({ prompt: "hang" }, { signal: a.signal }).catch((e: unknown) => e));
    await worker.waitFor("started hang", 2);
    const service = () => fixture.rig.broker.stats().services.find((s) => s.name === "qwen3vl");
    await until(() => service()?.queued === 1, "the third call queued at the broker");
    assert.equal(service()?.inflight, 2);
    assert.equal(worker.count("started hang"), 2);
    aborts[0]!.abort();
    await worker.waitFor("started hang", 3);
    for (const a of aborts) a.abort();
    await Promise.all(calls);
  });

  test("a Python client calls a TypeScript worker", async () => {
    let cancelled = 0;
    fixture.rig.own(await serve(fixture.rig.endpoint, qwen3vl, {
      infer: async ({ prompt, image }, ctx) => {
        if (prompt === "fail") throw new RpcHandlerError("MODEL_BUSY", "busy");
        if (prompt === "hang") {
          await aborted(ctx.signal);
          cancelled++;
          throw ctx.signal.reason;
        }
        for (let i = 0; i < 2; i++) ctx.progress({ tokens: i });
        return { text: `ts:${prompt}:${image ? image.reduce((a, b) => a + b, 0) : 0}`, tokens: image?.length ?? 0 };
      },
      tokens: async function* ({ prompt }) {
        yield* prompt.split(" ");
      },
    }, { binaryFrameThreshold: 16 }));
    const caller = py("py_client.py");
    await caller.exited();
    const results = Object.fromEntries(caller.lines.filter(Boolean).map((l) => {
      const { name, value } = JSON.parse(l) as { name: string; value: unknown };
      return [name, value];
    }));
    assert.deepEqual(results["unary"], { ok: { text: "ts:hello:0", tokens: 0 } }, caller.stderr);
    assert.deepEqual(results["progress"], [{ tokens: 0 }, { tokens: 1 }]);
    const imageSum = Array.from({ length: 1024 }, (_, i) => i % 256).reduce((a, b) => a + b, 0);
    assert.deepEqual(results["binary"], { ok: { text: `ts:img:${imageSum}`, tokens: 1024 } });
    assert.deepEqual(results["stream"], ["a", "b", "c"]);
    assert.equal(results["many"], 3000);
    assert.equal((results["handler-error"] as { code: string }).code, "MODEL_BUSY");
    assert.equal((results["invalid-input"] as { code: string }).code, "RPC_VALIDATION");
    assert.equal((results["deadline"] as { code: string }).code, "RPC_DEADLINE_EXCEEDED");
    assert.equal(results["cancel"], "cancelled");
    assert.equal(caller.child.exitCode, 0, caller.stderr);
    const end = Date.now() + 5000;
    while (cancelled < 2 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(cancelled, 2, "the TS worker saw the deadline and the cancel");
  });

  test("a Python worker SIGKILLed mid-call: a second worker takes the call over, the caller gets exactly one result", async () => {
    const first = py("py_worker.py", "hold-1");
    await first.waitFor("ready");
    const client = fixture.rig.own(await connect(fixture.rig.endpoint, { qwen3vl }));
    const call = client.qwen3vl.infer({ prompt: "hold" }, { timeout: 20_000 });
    await first.waitFor("started hold");
    first.child.kill("SIGKILL");
    await first.exited();
    const second = py("py_worker.py", "B");
    await second.waitFor("ready");
    assert.deepEqual(await call, { text: "B:hold:0", tokens: 0 });
    await second.waitFor("ran hold");
    // Another call round-trips after it, so a duplicate reply would have arrived by now.
    assert.deepEqual(await client.qwen3vl.infer({ prompt: "after" }), { text: "B:after:0", tokens: 0 });
    assert.equal(second.count("ran hold"), 1);
    assert.equal(client.stats().malformed, 0);
  });
});
