// Connect and role commands against a scripted broker (inproc).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MlmClient } from "../../src/client/client.ts";
import { MlmError } from "../../src/client/errors.ts";
import { inproc } from "../../src/transport/inproc.ts";
import { connectFake, eachTestWithFakeBroker, FakeBroker, sleep } from "./fixtures/fake-broker.ts";

const isMlm = (code: string, status?: number) => (e: unknown) =>
  e instanceof MlmError && e.code === code && (status === undefined || e.status === status);

describe("connect", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  it("resolves only once the broker has answered OK to CONNECTION-OPEN", async () => {
    let openPeer: Uint8Array | undefined;
    broker.handle = (_b, r) => {
      if (r.message.type !== "CONNECTION_OPEN") return "default";
      openPeer = r.peer;
    };
    let resolved = false;
    const connecting = MlmClient.connect(broker.endpoint, { transport: inproc, address: "late", heartbeat: 0 }).then((c) => {
      resolved = true;
      return c;
    });
    await broker.waitFor((r) => r.message.type === "CONNECTION_OPEN", "OPEN");
    await sleep(20);
    assert.equal(resolved, false, "connect() resolved before OK");
    broker.reply(openPeer!, { type: "OK", code: 200, reason: "" });
    const client = await connecting;
    assert.equal(client.connected, true);
    assert.equal(client.address, "late");
    await client.close();
    assert.equal(client.connected, false);
  });

  it("rejects with MLM_TIMEOUT when the broker never answers, and closes its socket", async () => {
    broker.handle = (_b, r) => (r.message.type === "CONNECTION_OPEN" ? undefined : "default");
    let disconnected = false;
    broker.router.on("disconnect", () => (disconnected = true));
    await assert.rejects(MlmClient.connect(broker.endpoint, { transport: inproc, timeout: 50 }), isMlm("MLM_TIMEOUT"));
    assert.equal(disconnected, true, "the client's socket is still connected");
  });

  it("rejects with MLM_TIMEOUT when nothing listens at the endpoint", async () => {
    await assert.rejects(
      MlmClient.connect("inproc://nobody-listens-here", { transport: inproc, timeout: 50 }),
      isMlm("MLM_TIMEOUT"),
    );
  });

  it("rejects a malformed endpoint or option with MLM_BAD_ARGUMENT", async () => {
    await assert.rejects(MlmClient.connect("nonsense", { transport: inproc }), isMlm("MLM_BAD_ARGUMENT"));
    await assert.rejects(MlmClient.connect(broker.endpoint, { transport: inproc, timeout: -1 }), isMlm("MLM_BAD_ARGUMENT"));
    await assert.rejects(MlmClient.connect(broker.endpoint, { transport: inproc, credit: 1.5 }), isMlm("MLM_BAD_ARGUMENT"));
  });
});

describe("role commands", () => {
  let broker!: FakeBroker;
  eachTestWithFakeBroker((b) => (broker = b));

  it("setProducer, setConsumer, removeConsumer and setWorker send their command and resolve on OK", async () => {
    const { client, mine } = await connectFake(broker, { credit: false });
    await client.setProducer("weather");
    await client.setConsumer("weather", "temp.*");
    await client.removeConsumer("weather");
    await client.setWorker("echo", "ping|pong");
    const sent = broker.received.filter(mine).map((r) => r.message);
    assert.deepEqual(sent.slice(1), [
      { type: "STREAM_WRITE", stream: "weather" },
      { type: "STREAM_READ", stream: "weather", pattern: "temp.*" },
      { type: "STREAM_CANCEL", stream: "weather" },
      { type: "SERVICE_OFFER", address: "echo", pattern: "ping|pong" },
    ]);
    await client.close();
  });

  it("an invalid pattern is refused up front with MLM_BAD_ARGUMENT and never sent (issue 20 item 9)", async () => {
    const { client, mine } = await connectFake(broker, { credit: false });
    for (const attempt of [
      () => client.setConsumer("weather", "(("),
      () => client.setConsumer("weather", "[", { from: "new" }),
      () => client.setWorker("echo", "a)"),
    ]) {
      const err = await attempt().then(() => undefined, (e: unknown) => e);
      assert.ok(isMlm("MLM_BAD_ARGUMENT")(err), String(err));
      assert.match((err as Error).message, /invalid pattern/);
    }
    const sent = broker.received.filter(mine).map((r) => r.message.type);
    assert.ok(!sent.includes("STREAM_READ") && !sent.includes("SERVICE_OFFER"), sent.join(" "));
    await client.close();
  });

  it("a role command answered with ERROR 300 rejects with MlmError MLM_FAILED carrying status 300", async () => {
    broker.handle = (b, r) => {
      if (r.message.type !== "STREAM_READ") return "default";
      b.reply(r.peer, { type: "ERROR", code: 300, reason: "nope" });
    };
    const { client } = await connectFake(broker, { credit: false });
    const err = await client.setConsumer("weather", "x").then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof MlmError);
    assert.equal(err.code, "MLM_FAILED");
    assert.equal(err.status, 300);
    assert.match(err.message, /nope/);
    // The client probes with a PING: C malamute forgets a client after ERROR 300.
    await broker.waitFor((r) => r.message.type === "CONNECTION_PING", "probe PING");
    await client.close();
  });

  it("a role command with no answer rejects with MLM_TIMEOUT after `timeout`", async () => {
    broker.handle = (_b, r) => (r.message.type === "SERVICE_OFFER" ? undefined : "default");
    const { client } = await connectFake(broker, { credit: false, timeout: 40 });
    await assert.rejects(client.setWorker("svc", ".*"), isMlm("MLM_TIMEOUT"));
    await client.close();
  });

  it("replies are matched to commands in order, and sends expect no reply (C broker sends no OK after sends)", async () => {
    const replies: Array<() => void> = [];
    broker.handle = (b, r) => {
      if (r.message.type === "STREAM_WRITE" || r.message.type === "STREAM_READ") {
        const code = r.message.type === "STREAM_WRITE" ? 200 : 300;
        replies.push(() => b.reply(r.peer, code === 200 ? { type: "OK", code, reason: "" } : { type: "ERROR", code, reason: "" }));
        return;
      }
      return "default";
    };
    const { client } = await connectFake(broker, { credit: false });
    const write = client.setProducer("s");
    client.sendTo("nobody", "a", "1");
    client.send("subj", "2");
    client.sendFor("svc", "b", "3");
    const read = client.setConsumer("s", "p");
    await broker.waitFor((r) => r.message.type === "STREAM_READ", "READ");
    for (const reply of replies) reply();
    await write;
    await assert.rejects(read, isMlm("MLM_FAILED", 300));
    await client.close();
  });

  it("commands after close() reject with MLM_CLOSED; sends throw MLM_CLOSED", async () => {
    const { client } = await connectFake(broker, { credit: false });
    await client.close();
    await client.close(); // idempotent
    await assert.rejects(client.setProducer("x"), isMlm("MLM_CLOSED"));
    assert.throws(() => client.sendTo("a", "b", "c"), isMlm("MLM_CLOSED"));
    assert.throws(() => client.sendFor("a", "b", "c"), isMlm("MLM_CLOSED"));
  });

  it("send() before setProducer() throws MLM_BAD_ARGUMENT instead of getting the session dropped", async () => {
    const { client } = await connectFake(broker, { credit: false });
    assert.throws(() => client.send("subj", "x"), isMlm("MLM_BAD_ARGUMENT"));
    await client.close();
  });

  it("too-long strings and bad numbers throw MLM_BAD_ARGUMENT and send nothing", async () => {
    const { client, mine } = await connectFake(broker, { credit: false });
    const before = broker.received.filter(mine).length;
    assert.throws(() => client.sendTo("a".repeat(256), "s", "c"), isMlm("MLM_BAD_ARGUMENT"));
    assert.throws(() => client.sendFor("svc", "s", "c", { timeout: -5 }), isMlm("MLM_BAD_ARGUMENT"));
    assert.throws(() => client.sendFor("svc", "s", [42 as unknown as string]), isMlm("MLM_BAD_ARGUMENT"));
    await assert.rejects(client.setConsumer("s", "é".repeat(128)), isMlm("MLM_BAD_ARGUMENT"));
    assert.throws(() => client.confirm("t", { code: 70000 }), isMlm("MLM_BAD_ARGUMENT"));
    assert.throws(() => client.addCredit(-1), isMlm("MLM_BAD_ARGUMENT"));
    await sleep(10);
    assert.equal(broker.received.filter(mine).length, before);
    await client.close();
  });
});
