import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reconnectSchedule, RoutingIdGenerator, routingIdKey } from "../../src/transport/common.ts";

describe("TCP transport helpers", () => {
  it("reconnect delay is the interval plus jitter in [0, interval), like libzmq (100 ms → 100..199 ms)", () => {
    assert.equal(reconnectSchedule(100, 0, 0).delay, 100);
    assert.equal(reconnectSchedule(100, 0, 0.999).delay, 199);
    assert.equal(reconnectSchedule(100, 0, 0.5).delay, 150);
  });

  it("reconnect backoff doubles up to reconnectIntervalMax, and not at all when max is 0", () => {
    let interval = 100;
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      interval = reconnectSchedule(interval, 1000, 0).next;
      seen.push(interval);
    }
    assert.deepEqual(seen, [200, 400, 800, 1000, 1000, 1000]);
    assert.equal(reconnectSchedule(100, 0, 0).next, 100);
    assert.equal(reconnectSchedule(100, 50, 0).next, 100);
  });

  it("generated routing ids are 00 + a big-endian u32 counter, incrementing and wrapping", () => {
    const gen = new RoutingIdGenerator();
    const a = gen.next();
    const b = gen.next();
    assert.equal(a.length, 5);
    assert.equal(a[0], 0);
    const n = (id: Uint8Array) => new DataView(id.buffer, id.byteOffset + 1, 4).getUint32(0);
    assert.equal(n(b), (n(a) + 1) >>> 0);
  });

  it("routing id keys are distinct for distinct ids (including a leading zero byte)", () => {
    const keys = new Set([
      routingIdKey(new Uint8Array([0, 1])), routingIdKey(new Uint8Array([1])), routingIdKey(new Uint8Array([1, 0])),
      routingIdKey(new Uint8Array([])), routingIdKey(new Uint8Array([0])),
    ]);
    assert.equal(keys.size, 5);
  });
});
