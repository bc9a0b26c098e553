// A ROUTER with a BufferPool (Node only) holds each pooled frame it sends until the kernel has
// the bytes, then lets go of it exactly once: at once when the write completes during the
// flush, or when a queued write completes later.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RECYCLES_BUFFERS, TcpRouter } from "../../src/transport/tcp/router.ts";
import type { Frames } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { BufferPool } from "../../src/util/buffer-pool.ts";
import { bytesEqual, next, until } from "./helpers.ts";
import { handshakeBytes, Raw } from "./raw-peer.ts";

const skip = RECYCLES_BUFFERS ? false : "the ROUTER recycles buffers on Node only";
const SIZE = 64 * 1024;

function patterned(seed: number): Uint8Array {
  const out = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) out[i] = (seed * 31 + i * 7) & 255;
  return out;
}

/** Let every write callback and tick queued so far run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe("zmtp ROUTER over TCP: pooled frames it sends", { skip }, () => {
  it("are back in the pool once written, so 20 echoed 64 KiB frames share one buffer, each intact", async () => {
    const pool = new BufferPool();
    const router = new TcpRouter({ pool });
    const received: Uint8Array[] = [];
    router.on("message", (id, frames) => {
      const body = frames[0] as Uint8Array;
      received.push(body);
      router.send(id, frames);
      pool.release(body); // the listener's reference; the connection holds its own until written
    });
    const endpoint = await router.bind("tcp://127.0.0.1:0");
    const dealer = zmtp.dealer();
    dealer.connect(endpoint);
    try {
      for (let i = 0; i < 20; i++) {
        const echoed = next<[Frames]>(dealer, "message", 5000);
        dealer.send([patterned(i)]);
        const [frames] = await echoed;
        assert.ok(bytesEqual(frames[0] as Uint8Array, patterned(i)), `echo #${i} differs`);
        await settle();
        assert.equal(pool.holds(received[i] as Uint8Array), false, `frame #${i} still held after its write`);
      }
      assert.deepEqual(pool.stats(), { taken: 20, reused: 19, returned: 20, idleBytes: SIZE });
    } finally {
      await dealer.close();
      await router.close();
    }
  });

  it("stay held while a peer that does not read backs the writes up, and are released once, when it reads", async () => {
    const pool = new BufferPool();
    const router = new TcpRouter({ pool });
    const copies = 300; // ~20 MB: more than the kernel's socket buffers take
    let stalledId: Uint8Array | undefined;
    router.on("connect", (id) => {
      if (stalledId === undefined) stalledId = id;
    });
    let body: Uint8Array | undefined;
    router.on("message", (_id, frames) => {
      body = frames[0] as Uint8Array;
      for (let i = 0; i < copies; i++) router.send(stalledId as Uint8Array, [body]);
      pool.release(body);
    });
    const endpoint = await router.bind("tcp://127.0.0.1:0");
    const stalled = new Raw(endpoint, { keep: false });
    const sender = zmtp.dealer();
    try {
      await stalled.connected();
      stalled.write(...handshakeBytes());
      await until(() => stalledId !== undefined, 5000, "the stalled peer's handshake");
      stalled.socket.pause();
      sender.connect(endpoint);
      sender.send([patterned(1)]);
      await until(() => body !== undefined, 5000, "the frame to fan out");
      await settle();
      assert.equal(pool.holds(body as Uint8Array), true, "released while its writes were still waiting");
      stalled.socket.resume();
      await until(() => !pool.holds(body as Uint8Array), 10_000, "the release once everything is written");
      assert.deepEqual(pool.stats(), { taken: 1, reused: 0, returned: 1, idleBytes: SIZE });
      // The buffer has a new owner now: no late release of the old holds may take it away.
      const reused = pool.take(SIZE);
      await settle();
      assert.equal(pool.holds(reused), true);
      assert.equal(pool.stats().returned, 1);
    } finally {
      await sender.close();
      await router.close();
      stalled.socket.destroy();
    }
  });
});
