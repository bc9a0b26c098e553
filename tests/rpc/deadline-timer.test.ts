import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DeadlineTimer, type DeadlineEntry } from "../../src/rpc/shared/deadline-timer.ts";

interface Item extends DeadlineEntry {
  name: string;
}
const item = (name: string, deadline: number): Item => ({ name, deadline, heapIndex: -1, queuePos: -1 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("rpc deadline timer", () => {
  it("expires entries in deadline order, each once", async () => {
    const expired: string[] = [];
    const heap = new DeadlineTimer<Item>((i) => expired.push(i.name));
    const now = Date.now();
    for (const [name, d] of [["c", 30], ["a", 10], ["d", 40], ["b", 20]] as const) heap.add(item(name, now + d));
    await sleep(80);
    assert.deepEqual(expired, ["a", "b", "c", "d"]);
    assert.equal(heap.size, 0);
    heap.clear();
  });

  it("a removed entry never expires, and the others still do", async () => {
    const expired: string[] = [];
    const heap = new DeadlineTimer<Item>((i) => expired.push(i.name));
    const now = Date.now();
    const items = Array.from({ length: 50 }, (_, i) => item(`i${i}`, now + 5 + (i % 7)));
    for (const x of items) heap.add(x);
    for (const x of items.filter((_, i) => i % 2 === 0)) heap.remove(x);
    assert.equal(heap.size, 25);
    await sleep(60);
    assert.deepEqual(expired.sort(), items.filter((_, i) => i % 2 === 1).map((x) => x.name).sort());
    heap.clear();
  });

  it("a new earlier deadline re-arms the timer", async () => {
    const expired: string[] = [];
    const heap = new DeadlineTimer<Item>((i) => expired.push(i.name));
    heap.add(item("late", Date.now() + 60_000));
    heap.add(item("soon", Date.now() + 5));
    await sleep(40);
    assert.deepEqual(expired, ["soon"]);
    heap.clear();
    assert.equal(heap.size, 0);
  });

  it("removing twice, or an entry never added, is harmless", () => {
    const heap = new DeadlineTimer<Item>(() => {});
    const x = item("x", Date.now() + 1000);
    heap.remove(x);
    heap.add(x);
    heap.remove(x);
    heap.remove(x);
    assert.equal(heap.size, 0);
    heap.clear();
  });

  it("expires exactly the entries left, in deadline order, whatever the order of adds and removes", async () => {
    const op = fc.oneof(
      { weight: 3, arbitrary: fc.record({ add: fc.constant(true), deadline: fc.integer({ min: 0, max: 50 }), monotone: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ add: fc.constant(false), which: fc.nat() }) },
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 300 }), async (ops) => {
      const expired: Item[] = [];
      // A clock far past every deadline: the timer fires on the next turn, after the adds and removes.
      const heap = new DeadlineTimer<Item>((i) => expired.push(i), () => 1e9);
      const live = new Set<Item>();
      const added: Item[] = [];
      let last = 0;
      for (const o of ops) {
        if (o.add) {
          // Mostly in order (one timeout for every call), sometimes earlier than the last.
          last = o.monotone ? last + (o.deadline % 3) : o.deadline;
          const x = item(`i${added.length}`, last);
          heap.add(x);
          live.add(x);
          added.push(x);
        } else if (added.length > 0) {
          const x = added[o.which % added.length]!;
          heap.remove(x);
          live.delete(x);
        }
        assert.equal(heap.size, live.size);
      }
      await sleep(2);
      assert.equal(expired.length, live.size);
      assert.deepEqual(new Set(expired), live);
      for (let i = 1; i < expired.length; i++) assert.ok(expired[i - 1]!.deadline <= expired[i]!.deadline);
      heap.clear();
    }), { numRuns: 60 });
  });

  it("keeps a long-lived entry and thousands of settled ones behind it in bounded space", () => {
    const heap = new DeadlineTimer<Item>(() => {});
    const now = Date.now() + 60_000;
    const long = item("long", now);
    heap.add(long);
    for (let i = 0; i < 20_000; i++) {
      const x = item(`x${i}`, now + i);
      heap.add(x);
      heap.remove(x);
    }
    assert.equal(heap.size, 1);
    assert.ok(heap.queueSlots < 100, `${heap.queueSlots} slots for one entry`);
    heap.remove(long);
    assert.equal(heap.size, 0);
    assert.equal(heap.queueSlots, 0);
    heap.clear();
  });
});
