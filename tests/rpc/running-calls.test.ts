import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MethodInfo } from "../../src/rpc/shared/method-info.ts";
import type { Reply } from "../../src/rpc/worker/reply.ts";
import { RunningCall, RunningCalls } from "../../src/rpc/worker/running.ts";

const call = (): RunningCall => new RunningCall({} as Reply, {} as MethodInfo, 0, {}, 0);

describe("RunningCalls (a worker's running calls)", () => {
  it("adds, removes from any position and lists what is left", () => {
    const running = new RunningCalls();
    const [a, b, c, d] = [call(), call(), call(), call()];
    for (const run of [a, b, c, d]) running.add(run);
    assert.equal(running.size, 4);
    running.remove(c);
    running.remove(d);
    assert.deepEqual(new Set(running.list()), new Set([a, b]));
    running.remove(a);
    assert.deepEqual(running.list(), [b]);
    running.remove(b);
    assert.deepEqual(running.list(), []);
    assert.equal(running.size, 0);
  });

  it("removing a call twice, or one never added, changes nothing", () => {
    const running = new RunningCalls();
    const [a, b, stranger] = [call(), call(), call()];
    running.add(a);
    running.add(b);
    running.remove(a);
    running.remove(a);
    running.remove(stranger);
    assert.deepEqual(running.list(), [b]);
    assert.equal(running.size, 1);
  });

  it("a listed snapshot is safe to walk while calls leave", () => {
    const running = new RunningCalls();
    const calls = Array.from({ length: 5 }, call);
    for (const run of calls) running.add(run);
    for (const run of running.list()) running.remove(run);
    assert.equal(running.size, 0);
    assert.deepEqual(running.list(), []);
  });
});
