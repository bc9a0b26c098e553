import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { afterEach, beforeEach, describe, it } from "node:test";
import { connect } from "../../src/rpc/client/client.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { gate, type Rig, rig, until } from "./harness.ts";
import { job } from "./job-contract.ts";

const childFile = fileURLToPath(new URL("./child-worker.ts", import.meta.url));

/** The same runtime as this test, running child-worker.ts. */
function spawnWorker(endpoint: string): ChildProcess {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const args = g.Deno !== undefined
    ? ["run", "-A", childFile, endpoint]
    : g.Bun !== undefined
    ? [childFile, endpoint]
    : ["--import", "tsx", childFile, endpoint];
  return spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
}

/** Resolves with the first stdout line matching `pattern`. */
function line(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const onData = (chunk: Uint8Array) => {
      buffer += new TextDecoder().decode(chunk);
      for (const l of buffer.split("\n")) {
        if (pattern.test(l)) {
          child.stdout?.off("data", onData);
          resolve(l);
          return;
        }
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before printing ${pattern}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

describe("rpc worker loss", () => {
  let r: Rig;
  let child: ChildProcess | undefined;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    if (child !== undefined) {
      child.kill("SIGKILL");
      await exited(child);
      child.stdout?.destroy();
      child = undefined;
    }
    await r.close();
  });

  it("a worker process killed mid-call: the broker requeues the call, another worker completes it, the caller gets one result", async () => {
    child = spawnWorker(r.endpoint);
    await line(child, /^ready$/);
    const client = r.own(await connect(r.endpoint, { job }, { defaultTimeout: 30_000 }));
    const started = line(child, /^started /);
    const call = client.job.run({ n: 7 });
    const callId = (await started).slice("started ".length);

    // The survivor joins only now, so the first delivery surely went to the child.
    const survivorCalls: string[] = [];
    r.own(await serve(r.endpoint, job, {
      run: async ({ n }, ctx) => {
        survivorCalls.push(ctx.callId);
        return { n: n * 2, worker: "survivor" };
      },
    }));
    child.kill("SIGKILL");
    await exited(child);

    assert.deepEqual(await call, { n: 14, worker: "survivor" });
    assert.deepEqual(survivorCalls, [callId], "the survivor ran the same call, once");
    assert.ok(r.broker.stats().counters.requeued >= 1);
    assert.equal(client.stats().pending, 0);
    // Nothing else arrives for the call: a follow-up call is answered normally and alone.
    assert.deepEqual(await client.job.run({ n: 1 }), { n: 2, worker: "survivor" });
  });

  it("closing a worker with a call still running hands the call to another worker", async () => {
    const started = gate();
    const first = await serve(r.endpoint, job, {
      run: async (_input, ctx) => {
        started.open();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        return { n: -1, worker: "first" };
      },
    }, { drainTimeout: 20 });
    const client = r.own(await connect(r.endpoint, { job }));
    const call = client.job.run({ n: 3 });
    await started.promise;
    r.own(await serve(r.endpoint, job, { run: async ({ n }) => ({ n, worker: "second" }) }));
    await first.close();
    assert.deepEqual(await call, { n: 3, worker: "second" });
    await until(() => r.broker.stats().counters.requeued >= 1, "the requeue");
  });
});
