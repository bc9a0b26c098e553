// WaitingSends on its own: the "socket queue full" refusal, which a real socket only shows under load.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MlmError } from "../../src/client/errors.ts";
import { WaitingSends } from "../../src/client/send/when-ready.ts";

const full = () => new MlmError("MLM_SEND_QUEUE_FULL", "cannot send now");

describe("WaitingSends", () => {
  it("retries MLM_SEND_QUEUE_FULL until the socket takes it, in call order", async () => {
    const waiting = new WaitingSends(10);
    let room = false;
    const sent: string[] = [];
    const attempt = (name: string) => () => {
      if (!room) throw full();
      sent.push(name);
    };
    const a = waiting.send(attempt("a"), "a");
    const b = waiting.send(attempt("b"), "b");
    room = true;
    // "c" finds room, but must not overtake the two already waiting.
    const c = waiting.send(attempt("c"), "c");
    await Promise.all([a, b, c]);
    assert.deepEqual(sent, ["a", "b", "c"]);
    assert.equal(waiting.size, 0);
  });

  it("rejects other errors at once, and beyond its limit with MLM_LIMIT", async () => {
    const waiting = new WaitingSends(1);
    await assert.rejects(waiting.send(() => { throw new MlmError("MLM_BAD_ARGUMENT", "bad"); }, "x"), { code: "MLM_BAD_ARGUMENT" });
    const stuck = waiting.send(() => { throw full(); }, "stuck", { wait: 50 });
    await assert.rejects(waiting.send(() => {}, "second"), { code: "MLM_LIMIT" });
    await assert.rejects(stuck, { code: "MLM_TIMEOUT" });
    waiting.close(new MlmError("MLM_CLOSED", "closed"));
    await assert.rejects(waiting.send(() => {}, "after"), { code: "MLM_CLOSED" });
  });
});
