import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferPool } from "../../src/util/buffer-pool.ts";

describe("BufferPool", () => {
  it("serves sizes inside [minSize, maxSize] from power-of-two classes, exact length", () => {
    const pool = new BufferPool({ minSize: 1024, maxSize: 8192 });
    const a = pool.take(3000);
    assert.equal(a.byteLength, 3000);
    assert.equal(a.buffer.byteLength, 4096);
    assert.equal(pool.holds(a), true);
    assert.equal(pool.stats().taken, 1);
  });

  it("sizes outside the range get fresh buffers the pool does not track", () => {
    const pool = new BufferPool({ minSize: 1024, maxSize: 8192 });
    const small = pool.take(100);
    const big = pool.take(10_000);
    assert.equal(small.byteLength, 100);
    assert.equal(big.byteLength, 10_000);
    assert.equal(pool.holds(small), false);
    assert.equal(pool.holds(big), false);
    pool.release(big); // ignored
    assert.equal(pool.stats().returned, 0);
    assert.equal(pool.ref(big), false, "nothing to hold");
  });

  it("a buffer is reused only after its last holder released it", () => {
    const pool = new BufferPool({ minSize: 1024 });
    const a = pool.take(2048);
    assert.equal(pool.ref(a), true);
    pool.release(a);
    const b = pool.take(2048);
    assert.notEqual(b.buffer, a.buffer, "still held once: must not be handed out again");
    pool.release(a);
    const c = pool.take(2000);
    assert.equal(c.buffer, a.buffer, "released by every holder: reused for the same class");
    assert.deepEqual(pool.stats(), { taken: 3, reused: 1, returned: 1, idleBytes: 0 });
  });

  it("release of a buffer that is already back in the pool is ignored (no double reuse)", () => {
    const pool = new BufferPool({ minSize: 1024 });
    const a = pool.take(2048);
    pool.release(a);
    pool.release(a);
    const b = pool.take(2048);
    const c = pool.take(2048);
    assert.notEqual(b.buffer, c.buffer);
  });

  it("views of a pooled buffer count against that buffer", () => {
    const pool = new BufferPool({ minSize: 1024 });
    const a = pool.take(4096);
    pool.ref(a.subarray(0, 2048));
    pool.release(a);
    assert.equal(pool.holds(a), true);
    pool.release(a.subarray(0, 2048));
    assert.equal(pool.holds(a), false);
  });

  it("keeps at most maxIdleBytes of released buffers", () => {
    const pool = new BufferPool({ minSize: 1024, maxIdleBytes: 4096 });
    const bufs = [pool.take(2048), pool.take(2048), pool.take(2048)];
    pool.releaseAll(bufs);
    assert.equal(pool.stats().idleBytes, 4096);
    assert.equal(pool.stats().returned, 2);
  });
});
