import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { next } from "../transport/helpers.ts";
import { echoRouter, Raw } from "../transport/raw-peer.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("hostile: one connection's burst does not hold up the others (messagesPerTurn)", () => {
  it("a burst read at once is taken in slices, in order, and another peer's message gets in between", async () => {
    const t = await echoRouter({ messagesPerTurn: 10 });
    const raw = new Raw(t.endpoint, { keep: true });
    await raw.handshake();
    const burst: number[] = [];
    let healthyAt = -1;
    t.router.on("message", (_id, frames) => {
      const body = frames[0] as Uint8Array;
      if (body.length === 2) burst.push(((body[0] as number) << 8) | (body[1] as number));
      else if (healthyAt < 0) healthyAt = burst.length;
    });
    const count = 2000;
    const bytes = new Uint8Array(count * 4); // frames of 2 bytes: flags 0, size 2, index
    for (let i = 0; i < count; i++) bytes.set([0, 2, i >> 8, i & 255], i * 4);
    try {
      const echoed = next(t.healthy, "message", 5000);
      raw.socket.write(bytes, () => t.healthy.send([enc("healthy")]));
      await echoed;
      await until(() => burst.length === count, "the whole burst");
      assert.deepEqual(burst, Array.from({ length: count }, (_, i) => i), "burst delivered whole and in order");
      assert.ok(healthyAt >= 0 && healthyAt < count, `the healthy message waited behind the whole burst (at ${healthyAt})`);
    } finally {
      raw.socket.destroy();
      await t.close();
    }
  });

  it("slices follow each other without a timer's delay: 2,000 one-message slices take well under 2 s", async () => {
    // Deno once ran every later slice on a zero timer (1-2 ms each), which capped one
    // connection at ~256 messages per timer tick: 200k msgs/s of small messages.
    const t = await echoRouter({ messagesPerTurn: 1 });
    const raw = new Raw(t.endpoint, { keep: true });
    await raw.handshake();
    let received = 0;
    t.router.on("message", () => received++);
    const count = 2000;
    const bytes = new Uint8Array(count * 3);
    for (let i = 0; i < count; i++) bytes.set([0, 1, i & 255], i * 3);
    try {
      raw.socket.write(bytes);
      await until(() => received === count, `${count} one-message slices`, 2000);
    } finally {
      raw.socket.destroy();
      await t.close();
    }
  });
});
