import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextTurn } from "../../src/util/next-turn.ts";

const isDeno = "Deno" in globalThis;
const realSetTimeout = globalThis.setTimeout;

/** `nextTurn`, counting the timers it starts (Deno's continuation after a long chain). */
function countingNextTurn(counter: { timers: number }, callback: () => void): void {
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    counter.timers++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  try {
    nextTurn(callback);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

describe("nextTurn: continuations on later turns", () => {
  it("short chains separated by other turns never wait for a timer, however long they go on", async () => {
    // Deno once timed a chain from its first continuation until a timer ran, even after the
    // chain had ended: 1 ms after the first, every later continuation waited for a zero timer
    // (~2 ms there), which cut a busy connection to a third of its rate.
    const counter = { timers: 0 };
    for (let i = 0; i < 30; i++) {
      await new Promise<void>((resolve) => countingNextTurn(counter, resolve));
      busy(0.2);
      await new Promise<void>((resolve) => realSetTimeout(resolve, 0));
    }
    assert.equal(counter.timers, 0);
  });

  it("one chain that keeps continuing for over 1 ms lets I/O in through a timer on Deno, and runs in order", async () => {
    const counter = { timers: 0 };
    const order: number[] = [];
    await new Promise<void>((resolve) => {
      let step = 0;
      const next = (): void => {
        order.push(step);
        busy(0.1);
        if (++step === 40) resolve();
        else countingNextTurn(counter, next);
      };
      countingNextTurn(counter, next);
    });
    assert.deepEqual(order, Array.from({ length: 40 }, (_, i) => i));
    // Node and Bun poll I/O between immediates, so they never need the timer.
    if (isDeno) assert.ok(counter.timers >= 1, "a 4 ms chain took no timer");
    else assert.equal(counter.timers, 0);
  });
});
