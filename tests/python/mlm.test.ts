// malamute.MlmClient (python/malamute/mlm.py) on our broker: mailbox, CONFIRM forwarding,
// streams, services with credit, and re-opening the session after a broker restart.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { type Broker, startBroker } from "../../src/broker/server.ts";
import { connect } from "../../src/rpc/client.ts";
import { contractJsonSchema } from "../../src/rpc/json-schema.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { qwen3vl } from "../rpc/contracts.ts";
import { rig, type Rig } from "../rpc/harness.ts";
import { findPython, NEED_PYTHON, Py } from "./helpers.ts";

describe("python MlmClient", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(() => r.close());

  function python(): string {
    const found = findPython();
    assert.ok(found, NEED_PYTHON);
    return found;
  }

  test("mailbox with a forwarded CONFIRM, stream read/write, service offer/request held by credit", async () => {
    const script = r.own(new Py(python(), "py_mlm.py", [r.endpoint]));
    await script.exited();
    assert.equal(script.child.exitCode, 0, script.stderr);
    const steps = Object.fromEntries(script.lines.filter(Boolean).map((l) => {
      const { name, value } = JSON.parse(l) as { name: string; value: unknown };
      return [name, value];
    }));
    assert.ok((steps["features"] as string[]).includes("confirm"));
    assert.deepEqual(steps["mailbox"], { id: 10, sender: "py-a", address: "py-b", subject: "hello", tracker: "t1", content: ["x", "y"] });
    assert.deepEqual(steps["confirm"], { id: 17, tracker: "t1", code: 200, reason: "done", content: [] });
    assert.deepEqual(steps["stream"], { id: 8, address: "weather", sender: "py-a", subject: "temp.x", content: ["21"] });
    assert.deepEqual(steps["service"], { id: 13, sender: "py-a", address: "echo", subject: "ping", tracker: "s1", content: ["p1"] });
    assert.equal(steps["held-by-credit"], 0);
    assert.deepEqual(steps["service-2"], { id: 13, sender: "py-a", address: "echo", subject: "ping", tracker: "s2", content: ["p2"] });
    assert.equal(steps["proto-ping"], "aaa802");
  });

  test("a Python worker re-opens its session after a broker restart and serves again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "malamute-py-"));
    const schemaPath = join(dir, "qwen3vl.schema.json");
    writeFileSync(schemaPath, JSON.stringify(contractJsonSchema(qwen3vl)));
    let second: Broker | undefined;
    try {
      const worker = r.own(new Py(python(), "py_worker.py", [r.endpoint, schemaPath, "W"]));
      await worker.waitFor("ready");
      const endpoint = r.endpoint;
      await r.broker.close();
      second = await startBroker({ endpoints: [endpoint] });
      const client = await connect(endpoint, { qwen3vl });
      try {
        assert.deepEqual(await client.qwen3vl.infer({ prompt: "again" }, { timeout: 9000 }), { text: "W:again:0", tokens: 0 });
      } finally {
        await client.close();
      }
    } finally {
      await second?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
