// The core's BrokerObserver hook: queue wait and round trip on the core's clock, CONFIRM
// statuses, and the messages of watched streams only.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BrokerObserver } from "../../src/broker/types.ts";
import { confirm, credit, Harness, offer, publish, request, text, write } from "./harness.ts";

function recorder(watched: string[] = []) {
  const calls: unknown[][] = [];
  const observer: BrokerObserver = {
    dispatched: (...a) => void calls.push(["dispatched", ...a]),
    confirmed: (...a) => void calls.push(["confirmed", ...a]),
    watched: new Set(watched),
    published: (stream, subject, sender, content) => void calls.push(["published", stream, subject, sender, text(content[0])]),
  };
  return { calls, observer };
}

describe("BrokerCore observer", () => {
  it("reports the queue wait and the round trip (dispatch to CONFIRM) of a held request", () => {
    const h = new Harness();
    const { calls, observer } = recorder();
    h.core.observe(observer);
    h.open("c1", "client");
    h.send("c1", request("echo", "s", "body", "t1"));
    h.advance(40);
    h.open("w1", "worker");
    h.send("w1", credit(1));
    h.send("w1", offer("echo", ".*"));
    h.now += 15;
    h.send("w1", confirm("t1", 200));
    assert.deepEqual(calls, [["dispatched", "echo", 40], ["confirmed", 200, "echo", 15]]);
  });

  it("reports a request delivered at once with 0 wait, and the broker's own failure CONFIRMs", () => {
    const h = new Harness();
    const { calls, observer } = recorder();
    h.core.observe(observer);
    h.worker("w1", "worker", "echo");
    h.open("c1", "client");
    h.send("c1", request("echo", "s", "body"));
    h.send("c1", request("nobody", "s", "body", "t2", 10));
    h.advance(20);
    assert.deepEqual(calls, [["dispatched", "echo", 0], ["confirmed", 301, "nobody", undefined]]);
  });

  it("passes on messages of watched streams only, and nothing once the observer is removed", () => {
    const h = new Harness();
    const { calls, observer } = recorder(["jobs"]);
    h.core.observe(observer);
    h.open("p1", "producer");
    h.ok("p1", write("jobs"));
    h.send("p1", publish("a.started", "{}"));
    h.open("p2", "other");
    h.ok("p2", write("quiet"));
    h.send("p2", publish("b.started", "secret"));
    h.core.observe(undefined);
    h.send("p1", publish("a.done", "{}"));
    h.send("p1", credit(1));
    assert.deepEqual(calls, [["published", "jobs", "a.started", "producer", "{}"]]);
  });
});
