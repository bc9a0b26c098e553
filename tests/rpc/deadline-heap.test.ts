import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeadlineHeap, type HeapEntry } from "../../src/rpc/deadline-heap.ts";

interface Item extends HeapEntry {
  name: string;
}
const item = (name: string, deadline: number): Item => ({ name, deadline, heapIndex: -1 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("rpc client deadline heap", () => {
  it("expires entries in deadline order, each once", async () => {
    const expired: string[] = [];
    const heap = new DeadlineHeap<Item>((i) => expired.push(i.name));
    const now = Date.now();
    for (const [name, d] of [["c", 30], ["a", 10], ["d", 40], ["b", 20]] as const) heap.add(item(name, now + d));
    await sleep(80);
    assert.deepEqual(expired, ["a", "b", "c", "d"]);
    assert.equal(heap.size, 0);
    heap.clear();
  });

  it("a removed entry never expires, and the others still do", async () => {
    const expired: string[] = [];
    const heap = new DeadlineHeap<Item>((i) => expired.push(i.name));
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
    const heap = new DeadlineHeap<Item>((i) => expired.push(i.name));
    heap.add(item("late", Date.now() + 60_000));
    heap.add(item("soon", Date.now() + 5));
    await sleep(40);
    assert.deepEqual(expired, ["soon"]);
    heap.clear();
    assert.equal(heap.size, 0);
  });

  it("removing twice, or an entry never added, is harmless", () => {
    const heap = new DeadlineHeap<Item>(() => {});
    const x = item("x", Date.now() + 1000);
    heap.remove(x);
    heap.add(x);
    heap.remove(x);
    heap.remove(x);
    assert.equal(heap.size, 0);
    heap.clear();
  });
});
