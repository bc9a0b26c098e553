import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ForgeError, pipeline, PipelineError, type StepTiming } from "../../src/forge/mod.ts";

/** Resolves when `signal` aborts, rejecting with its reason (a step that honours cancellation). */
const waitForAbort = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });

describe("pipeline helper", () => {
  it("passes each step's result to the next and keeps every result by name", async () => {
    const flow = pipeline<number>()
      .step("double", (n) => n * 2)
      .step("text", async (n, ctx) => `${n}:${ctx.results.double}`)
      .step("length", (s) => s.length);
    const { output, results, steps } = await flow.run(21);
    assert.equal(output, 5);
    assert.deepEqual(results, { double: 42, text: "42:42", length: 5 });
    assert.deepEqual(steps.map((s) => [s.name, s.status]), [["double", "ok"], ["text", "ok"], ["length", "ok"]]);
    for (const s of steps) assert.ok(s.durationMs >= 0 && s.startMs >= 0);
  });

  it("gives every step the same deadline and a signal", async () => {
    const deadlines: number[] = [];
    const flow = pipeline<void>()
      .step("a", (_, ctx) => { deadlines.push(ctx.deadline); return ctx.remainingMs(); })
      .step("b", (_, ctx) => { deadlines.push(ctx.deadline); assert.equal(ctx.signal.aborted, false); });
    const fixed = Date.now() + 60_000;
    await flow.run(undefined, { deadline: fixed, timeoutMs: 120_000 });
    assert.deepEqual(deadlines, [fixed, fixed]);
  });

  it("fails with RPC_DEADLINE_EXCEEDED naming the step when the deadline passes, and skips the rest", async () => {
    const flow = pipeline<void>()
      .step("fast", () => 1)
      .step("stuck", (_, ctx) => waitForAbort(ctx.signal))
      .step("never", () => 2);
    const err = await flow.run(undefined, { timeoutMs: 50 }).catch((e: unknown) => e);
    assert.ok(err instanceof PipelineError);
    assert.equal(err.code, "RPC_DEADLINE_EXCEEDED");
    assert.equal(err.step, "stuck");
    assert.deepEqual(err.steps.map((s) => s.status), ["ok", "failed", "skipped"]);
  });

  it("cuts off a step that ignores its signal when the caller cancels", async () => {
    const ac = new AbortController();
    const flow = pipeline<void>().step("deaf", () => new Promise<void>((resolve) => setTimeout(resolve, 300)));
    const p = flow.run(undefined, { signal: ac.signal });
    ac.abort();
    const err = await p.catch((e: unknown) => e);
    assert.ok(err instanceof PipelineError && err.code === "RPC_CANCELLED");
    await new Promise((r) => setTimeout(r, 310)); // let the deaf step's timer finish before the test ends
  });

  it("keeps a failing step's own error code and cause", async () => {
    const cause = new ForgeError("FORGE_UNSUPPORTED", "no mp3 here");
    const err = await pipeline<void>().step("speak", () => { throw cause; }).run(undefined).catch((e: unknown) => e);
    assert.ok(err instanceof PipelineError);
    assert.equal(err.code, "FORGE_UNSUPPORTED");
    assert.equal(err.cause, cause);
    assert.match(err.message, /step "speak" failed: no mp3 here/);
  });

  it("reports each step to onStep as it finishes", async () => {
    const seen: StepTiming[] = [];
    await pipeline<void>().step("one", () => 1).step("two", () => 2).run(undefined, { onStep: (t) => seen.push(t) });
    assert.deepEqual(seen.map((t) => t.name), ["one", "two"]);
  });

  it("refuses two steps with the same name", () => {
    assert.throws(() => pipeline<void>().step("a", () => 1).step("a", () => 2), RangeError);
  });
});
