import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CallTable } from "../../src/rpc/client/call-table.ts";
import { CallIds, callSequence } from "../../src/rpc/wire/ids.ts";

class Call {
  readonly seq: number;
  constructor(readonly callId: string) {
    this.seq = callSequence(callId);
  }
}

describe("rpc call table", () => {
  it("reads the counter of a call id, and -1 for anything else", () => {
    assert.equal(callSequence("k3x9q2.1a"), 46);
    assert.equal(callSequence("k3x9q2.0"), 0);
    assert.equal(callSequence("a.b.zz"), 35 * 36 + 35);
    assert.equal(callSequence("zzzzzzzzzz".replace(/^/, "p.")), 36 ** 10 - 1);
    for (const bad of ["nonsense", "p.", "p.A1", "p.-1", "p.1 ", "p.zzzzzzzzzzz", ""]) assert.equal(callSequence(bad), -1, bad);
    const ids = new CallIds();
    for (let i = 1; i <= 100; i++) {
      assert.equal(callSequence(ids.next()), i);
      assert.equal(ids.seq, i);
    }
  });

  it("finds calls by id, and forgets them", () => {
    const table = new CallTable<Call>();
    const ids = new CallIds();
    const next = () => ids.next();
    const calls = Array.from({ length: 10 }, () => new Call(next()));
    for (const call of calls) table.add(call);
    assert.equal(table.size, 10);
    for (const call of calls) assert.equal(table.get(call.callId.slice()), call);
    assert.equal(table.delete(calls[3]!), true);
    assert.equal(table.delete(calls[3]!), false);
    assert.equal(table.get(calls[3]!.callId), undefined);
    assert.equal(table.size, 9);
    assert.deepEqual(new Set(table.values()), new Set(calls.filter((_, i) => i !== 3)));
  });

  it("keeps a call whose slot is taken by a long-running one, and grows when many are", () => {
    const table = new CallTable<Call>();
    const ids = new CallIds();
    const next = () => ids.next();
    const long = new Call(next());
    table.add(long);
    // 64 slots: the call 64 ids later wants the long call's slot.
    const later = Array.from({ length: 1000 }, () => new Call(next()));
    for (const call of later) table.add(call);
    assert.equal(table.size, 1001);
    assert.equal(table.get(long.callId), long);
    for (const call of later) assert.equal(table.get(call.callId), call);
    for (const call of later) assert.equal(table.delete(call), true);
    assert.deepEqual(table.values(), [long]);
  });

  it("holds ids of another form, and never answers for a different call with the same slot", () => {
    const table = new CallTable<Call>();
    const odd = [new Call("no-counter"), new Call("x.Z"), new Call("")];
    for (const call of odd) table.add(call);
    for (const call of odd) assert.equal(table.get(call.callId), call);
    const held = new Call("p.5");
    table.add(held);
    assert.equal(table.get("q.5"), undefined);
    assert.equal(table.get("p.45"), undefined);
    // Another object with the same id is not the call held.
    assert.equal(table.delete(new Call("p.5")), false);
    assert.equal(table.get("p.5"), held);
  });

  it("behaves like a Map under any sequence of adds, lookups and deletes", () => {
    const id = fc.oneof(fc.nat({ max: 300 }).map((n) => `p.${n.toString(36)}`), fc.constantFrom("a", "b.", "c.Z"));
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), id }),
      fc.record({ kind: fc.constant("delete" as const), id }),
      fc.record({ kind: fc.constant("get" as const), id }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const table = new CallTable<Call>();
      const model = new Map<string, Call>();
      for (const { kind, id } of ops) {
        if (kind === "add" && !model.has(id)) {
          const call = new Call(id);
          table.add(call);
          model.set(id, call);
        } else if (kind === "delete") {
          const call = model.get(id);
          assert.equal(table.delete(call ?? new Call(id)), call !== undefined);
          model.delete(id);
        }
        assert.equal(table.get(id), model.get(id));
        assert.equal(table.size, model.size);
      }
      assert.deepEqual(new Set(table.values()), new Set(model.values()));
    }), { numRuns: 200 });
  });
});
