import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DeadlineHeap } from "../../src/util/deadline-heap.ts";
import { StoredMessage } from "../../src/broker/model/message.ts";
import { MessageQueue } from "../../src/broker/model/queue.ts";
import { ConfirmRoutes } from "../../src/broker/model/routes.ts";
import { rng } from "../../src/forge/bytes.ts";

function message(deadline: number, tag = ""): StoredMessage {
  return new StoredMessage("mailbox", "c", "s", "a", tag, "", [], 1, deadline);
}

describe("broker structures", () => {
  it("DeadlineHeap pops in deadline order after any mix of adds and deletes", () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.boolean()), { maxLength: 200 }),
      (ops) => {
        const heap = new DeadlineHeap<StoredMessage>();
        const live = new Set<StoredMessage>();
        const all: StoredMessage[] = [];
        for (const [deadline, remove] of ops) {
          if (remove && all.length > 0) {
            const victim = all[deadline % all.length] as StoredMessage;
            heap.delete(victim);
            live.delete(victim);
          } else {
            const m = message(deadline);
            heap.add(m);
            all.push(m);
            live.add(m);
          }
        }
        assert.equal(heap.size, live.size);
        const popped: number[] = [];
        for (let m = heap.pop(); m; m = heap.pop()) {
          assert.ok(live.has(m));
          assert.equal(m.heapIndex, -1);
          popped.push(m.deadline);
        }
        assert.deepEqual(popped, [...live].map((m) => m.deadline).sort((a, b) => a - b));
      },
    ));
  });

  it("MessageQueue keeps FIFO order, count and bytes through unshift and removal from the middle", () => {
    const q = new MessageQueue();
    const [a, b, c, d] = ["a", "b", "c", "d"].map((t) => message(0, t)) as [StoredMessage, StoredMessage, StoredMessage, StoredMessage];
    q.push(a);
    q.push(b);
    q.push(c);
    q.remove(b);
    q.unshift(d);
    const order: string[] = [];
    for (let m = q.head; m; m = m.next) order.push(m.subject);
    assert.deepEqual(order, ["d", "a", "c"]);
    assert.equal(q.count, 3);
    assert.equal(q.bytes, 3);
    q.remove(b); // not a member any more: no effect
    assert.equal(q.count, 3);
    assert.equal(q.shift(), d);
    assert.equal(q.shift(), a);
    assert.equal(q.shift(), c);
    assert.equal(q.shift(), undefined);
    assert.equal(q.bytes, 0);
  });

  it("ConfirmRoutes answers the same tracker oldest first and evicts the oldest beyond its limit", () => {
    const routes = new ConfirmRoutes();
    const o1 = { senderConn: "1", sender: "a" };
    const o2 = { senderConn: "2", sender: "b" };
    const o3 = { senderConn: "3", sender: "c" };
    routes.add("t", o1, 10);
    routes.add("t", o2, 10);
    assert.equal(routes.add("u", o3, 2), o1);
    assert.equal(routes.size, 2);
    assert.equal(routes.take("t"), o2);
    assert.equal(routes.take("t"), undefined);
    assert.equal(routes.take("u"), o3);
    assert.equal(routes.size, 0);
  });

  for (const [name, oldestFirst] of [["random", 0], ["mostly in arrival order", 0.8]] as const) {
    it(`ConfirmRoutes behaves like an ordered list of (tracker, origin) under ${name} add/take`, () => {
      routesAgainstModel(oldestFirst);
    });
  }
});

/** `oldestFirst`: share of takes that name the oldest entry's tracker (as in-order CONFIRMs do). */
function routesAgainstModel(oldestFirst: number): void {
  // mulberry32: a linear congruence on doubles loses its low bits and makes random(4) nearly constant.
  const next = rng(12345);
  const random = (n: number): number => Math.floor(next() * n);
  const routes = new ConfirmRoutes();
  const model: { tracker: string; origin: { senderConn: string; sender: string } }[] = [];
  const limit = 50;
  for (let step = 0; step < 20_000; step++) {
    let tracker = `t${random(30)}`;
    if (random(2) === 0) {
      const origin = { senderConn: String(step), sender: "" };
      const evicted = routes.add(tracker, origin, limit);
      const expected = model.length >= limit ? model.shift()?.origin : undefined;
      assert.equal(evicted, expected, `step ${step}: evicted`);
      model.push({ tracker, origin });
    } else {
      if (oldestFirst > 0 && model.length > 0 && random(100) < oldestFirst * 100) tracker = (model[0] as { tracker: string }).tracker;
      const index = model.findIndex((e) => e.tracker === tracker);
      const expected = index >= 0 ? model.splice(index, 1)[0]?.origin : undefined;
      assert.equal(routes.take(tracker), expected, `step ${step}: take`);
    }
    assert.equal(routes.size, model.length, `step ${step}: size`);
  }
}
