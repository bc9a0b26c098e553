import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HeldRequests } from "../../src/broker/model/held.ts";
import { StoredMessage } from "../../src/broker/model/message.ts";

function request(sender: string, conn: string, tracker: string): StoredMessage {
  return new StoredMessage("service", conn, sender, "svc", "s", tracker, [], 0, Infinity);
}

describe("HeldRequests", () => {
  it("finds what a model finds under random add, delete, find and clear", () => {
    let seed = 777;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return (seed >>> 12) % n;
    };
    const held = new HeldRequests();
    let model: StoredMessage[] = [];
    const all: StoredMessage[] = [];
    for (let step = 0; step < 20_000; step++) {
      const op = random(100);
      const sender = ["", "alice", "bob"][random(3)] as string;
      const conn = ["c1", "c2"][random(2)] as string;
      const tracker = ["", "t1", "t2", "t3"][random(4)] as string;
      if (op < 45) {
        const r = all.length > 0 && random(4) === 0 ? all[random(all.length)] as StoredMessage : request(sender, conn, tracker);
        held.add(r);
        if (r.tracker !== "" && !model.includes(r)) model.push(r);
        all.push(r);
      } else if (op < 80) {
        if (all.length === 0) continue;
        const r = all[random(all.length)] as StoredMessage;
        held.delete(r);
        model = model.filter((m) => m !== r);
      } else if (op < 99) {
        const expected = model.filter((m) =>
          m.tracker === tracker && (sender !== "" ? m.sender === sender : m.sender === "" && m.senderConn === conn)
        );
        assert.deepEqual(held.find(sender, conn, tracker), expected, `step ${step}: find`);
      } else {
        held.clear();
        model = [];
      }
      assert.equal(held.size, model.length, `step ${step}: size`);
    }
  });
});
