// Log fields carry the names of the metrics' labels (service, stream, status), so logs and
// /metrics can be joined.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Harness, request } from "./harness.ts";

describe("log fields use the metric label names", () => {
  it("a full service queue logs service and the CONFIRM status its senders get", () => {
    const h = new Harness({ limits: { serviceQueueMessages: 1 } });
    h.open("c1", "client");
    h.send("c1", request("echo", "s", "a", "t1"));
    h.send("c1", request("echo", "s", "b", "t2"));
    const log = h.actions.find((a) => a.type === "log" && a.message === "service queue full: refusing requests");
    assert.ok(log && log.type === "log");
    assert.deepEqual({ service: log.fields?.service, status: log.fields?.status }, { service: "echo", status: 302 });
  });
});
