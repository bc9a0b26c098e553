// malamute.MlmClient (python/malamute/mlm.py) on our broker: mailbox, CONFIRM forwarding,
// streams, services with credit, and re-opening the session after a broker restart.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { type Broker, startBroker } from "../../src/broker/server.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { contractJsonSchema } from "../../src/rpc/json-schema.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { qwen3vl } from "../rpc/contracts.ts";
import { gate, noTokens, rig, type Rig, until } from "../rpc/harness.ts";
import { type AddressInfo, createConnection, createServer, type Socket } from "node:net";
import { serve } from "../../src/rpc/worker/worker.ts";
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

  test("a Python caller whose connection drops re-opens its session and sends its unfinished call again", async () => {
    // A TCP proxy between the caller and the broker: destroying its sockets loses the caller's
    // session abruptly (a broker shutdown would instead fail the call with CONFIRM 304).
    const sockets: Socket[] = [];
    const [host, port] = r.endpoint.replace("tcp://", "").split(":") as [string, string];
    const proxy = createServer((inbound) => {
      const outbound = createConnection(Number(port), host);
      sockets.push(inbound, outbound);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on("error", () => outbound.destroy());
      outbound.on("error", () => inbound.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const dir = mkdtempSync(join(tmpdir(), "malamute-py-"));
    const schemaPath = join(dir, "qwen3vl.schema.json");
    writeFileSync(schemaPath, JSON.stringify(contractJsonSchema(qwen3vl)));
    let runs = 0;
    const firstRun = gate();
    const release = gate();
    try {
      r.own(await serve(r.endpoint, qwen3vl, {
        infer: async ({ prompt }) => {
          const run = ++runs;
          if (run === 1) {
            firstRun.open();
            await release.promise;
          }
          return { text: `ts:${prompt}`, tokens: run };
        },
        tokens: noTokens,
      }, { concurrency: 2 }));
      const via = `tcp://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const caller = r.own(new Py(python(), "py_client.py", [via, schemaPath, "resend"]));
      await firstRun.promise;
      for (const socket of sockets.splice(0)) socket.destroy();
      await until(() => runs === 2, "the call sent again after the re-open");
      release.open();
      await caller.exited();
      assert.equal(caller.child.exitCode, 0, caller.stderr);
      const lines = caller.lines.filter(Boolean).map((l) => JSON.parse(l) as { name: string; value: unknown });
      const result = (lines[0]?.value as { ok: { text: string } }).ok;
      assert.equal(result.text, "ts:survive", caller.stderr);
      assert.ok((lines[1]?.value as number) >= 1);
    } finally {
      release.open();
      for (const socket of sockets) socket.destroy();
      proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
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
