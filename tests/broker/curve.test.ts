// The broker over ZMTP CURVE (startBroker({ curve })): our MlmClient, the config file's
// curve-keys, refusals surfaced as typed errors, and the `zeromq` transport's CURVE mapping.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../../src/broker/server.ts";
import type { Broker, BrokerLogEntry } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import { MlmError } from "../../src/client/errors.ts";
import { loadCurveKeyPair, saveCurveCert } from "../../src/transport/curve-cert-file.ts";
import type { Transport } from "../../src/transport/types.ts";
import { curveKeyPair } from "../../src/zmtp/mechanism/curve/box.ts";
import { encodeZ85 } from "../../src/zmtp/z85.ts";
import { zeromqSkip } from "../transport/helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "malamute-broker-curve-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const refused = (e: unknown) => e instanceof MlmError && e.code === "MLM_REFUSED";

async function exchange(broker: Broker, server: { publicKey: Uint8Array }, transport?: Transport): Promise<[string, string]> {
  const alice = curveKeyPair();
  const bob = curveKeyPair();
  const base = transport ? { transport } : {};
  const a = await MlmClient.connect(broker.endpoints[0]!, { ...base, address: "alice", curve: { serverKey: server.publicKey, ...alice } });
  const b = await MlmClient.connect(broker.endpoints[0]!, { ...base, address: "bob", curve: { serverKey: server.publicKey, ...bob } });
  try {
    a.sendTo("bob", "greeting", ["hello", new Uint8Array(70_000).fill(7)]);
    const d = await b.receive();
    assert.deepEqual([d.kind, d.sender, d.subject, text(d.content[0]), d.content[1]?.length], ["mailbox", "alice", "greeting", "hello", 70_000]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  return [encodeZ85(alice.publicKey), encodeZ85(bob.publicKey)];
}

describe("broker over CURVE", () => {
  it("MlmClients with curve: mailbox traffic; each client's key (Z85) in clientList and the connection log", async () => {
    const server = curveKeyPair();
    const logs: BrokerLogEntry[] = [];
    const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], curve: server, log: (e) => logs.push(e) });
    try {
      const alice = curveKeyPair();
      const a = await MlmClient.connect(broker.endpoints[0]!, { address: "alice", curve: { serverKey: encodeZ85(server.publicKey), ...alice } });
      const entry = broker.stats().clientList.find((c) => c.address === "alice");
      assert.equal(entry?.curveKey, encodeZ85(alice.publicKey));
      assert.ok(logs.some((l) => l.message === "connection opened" && l.fields.curveKey === encodeZ85(alice.publicKey)));
      await a.close();
      const keys = await exchange(broker, server);
      assert.ok(logs.filter((l) => l.message === "connection opened").map((l) => l.fields.curveKey).includes(keys[1]));
    } finally {
      await broker.close();
    }
  });

  it("a wrong server key rejects connect with MLM_REFUSED at once, not after the timeout; others are unaffected", { timeout: 10_000 }, async () => {
    const server = curveKeyPair();
    const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], curve: server });
    try {
      const started = Date.now();
      await assert.rejects(
        MlmClient.connect(broker.endpoints[0]!, { timeout: 60_000, curve: { serverKey: curveKeyPair().publicKey, ...curveKeyPair() } }),
        refused,
      );
      // Under half of the connect timeout: the failure was reported, not waited out.
      assert.ok(Date.now() - started < 30_000);
      await exchange(broker, server);
    } finally {
      await broker.close();
    }
  });

  it("authorize refusing the client key: MLM_REFUSED; an admitted key gets in", { timeout: 10_000 }, async () => {
    const server = curveKeyPair();
    const allowed = curveKeyPair();
    const broker = await startBroker({
      endpoints: ["tcp://127.0.0.1:0"],
      curve: { ...server, authorize: (key) => encodeZ85(key) === encodeZ85(allowed.publicKey) },
    });
    try {
      await assert.rejects(MlmClient.connect(broker.endpoints[0]!, { timeout: 60_000, curve: { serverKey: server.publicKey, ...curveKeyPair() } }), refused);
      const ok = await MlmClient.connect(broker.endpoints[0]!, { curve: { serverKey: server.publicKey, ...allowed } });
      await ok.close();
    } finally {
      await broker.close();
    }
  });

  it("config file: curve-allow names a certificate directory; other keys are refused and counted (curveRefused)", { timeout: 10_000 }, async () => {
    const keys = join(dir, "allow-broker");
    await saveCurveCert(keys, curveKeyPair());
    const clients = mkdtempSync(join(dir, "allowed-"));
    const member = curveKeyPair();
    await saveCurveCert(join(clients, "member"), member);
    const config = join(dir, "allow.cfg");
    writeFileSync(config, `mlm_server\n    bind\n        endpoint = tcp://127.0.0.1:0\n    security\n        curve-keys = ${keys}\n        curve-allow = ${clients}\n`);
    const broker = await startBroker({ config });
    try {
      const server = await loadCurveKeyPair(keys);
      await assert.rejects(MlmClient.connect(broker.endpoints[0]!, { timeout: 60_000, curve: { serverKey: server.publicKey, ...curveKeyPair() } }), refused);
      assert.equal(broker.stats().counters.curveRefused, 1);
      const ok = await MlmClient.connect(broker.endpoints[0]!, { curve: { serverKey: server.publicKey, ...member } });
      assert.equal(broker.stats().clientList.find((c) => c.curveKey !== undefined)?.curveKey, encodeZ85(member.publicKey));
      await ok.close();
    } finally {
      await broker.close();
    }
  });

  it("bad keys: startBroker rejects with BROKER_CONFIG, MlmClient.connect with MLM_BAD_ARGUMENT", async () => {
    const pair = curveKeyPair();
    await assert.rejects(
      startBroker({ endpoints: ["tcp://127.0.0.1:0"], curve: { publicKey: curveKeyPair().publicKey, secretKey: pair.secretKey } }),
      (e: unknown) => (e as { code?: string }).code === "BROKER_CONFIG",
    );
    await assert.rejects(
      MlmClient.connect("tcp://127.0.0.1:1", { curve: { serverKey: "short", ...pair } }),
      (e: unknown) => e instanceof MlmError && e.code === "MLM_BAD_ARGUMENT",
    );
    await assert.rejects(
      MlmClient.connect("tcp://127.0.0.1:1", { plain: { username: "u", password: "p" }, curve: { serverKey: pair.publicKey, ...pair } }),
      (e: unknown) => e instanceof MlmError && e.code === "MLM_BAD_ARGUMENT",
    );
  });

  it("config file: mlm_server/security/curve-keys turns CURVE on with that zcert key pair", async () => {
    const keys = join(dir, "cfg-broker");
    await saveCurveCert(keys, curveKeyPair());
    const config = join(dir, "malamute.cfg");
    writeFileSync(config, `mlm_server\n    bind\n        endpoint = tcp://127.0.0.1:0\n    security\n        curve-keys = ${keys}\n`);
    const broker = await startBroker({ config });
    try {
      const server = await loadCurveKeyPair(keys);
      await exchange(broker, server);
      // A client without CURVE never gets a session (how fast it learns so depends on the runtime's TCP close).
      await assert.rejects(MlmClient.connect(broker.endpoints[0]!, { timeout: 500 }), (e: unknown) => e instanceof MlmError);
    } finally {
      await broker.close();
    }
    writeFileSync(config, "mlm_server\n    security\n        mechanism = curve\n");
    await assert.rejects(startBroker({ config }), (e: unknown) => (e as { code?: string }).code === "BROKER_CONFIG");
    writeFileSync(config, `mlm_server\n    security\n        curve-keys = ${join(dir, "missing")}\n`);
    await assert.rejects(startBroker({ config }), (e: unknown) => /curve-keys/.test((e as Error).message));
  });

  it("zeromq transport: a libzmq broker with curve serves zmtp clients, zeromq clients reach a zmtp broker", { skip: zeromqSkip, timeout: 15_000 }, async () => {
    const { zeromq } = await import("../../src/transport/zeromq.ts");
    const server = curveKeyPair();
    const admitted: string[] = [];
    const libzmqBroker = await startBroker({
      endpoints: ["tcp://127.0.0.1:0"], transport: zeromq,
      curve: { ...server, authorize: (key) => (admitted.push(encodeZ85(key)), true) },
    });
    try {
      const keys = await exchange(libzmqBroker, server);
      assert.deepEqual(admitted, keys, "libzmq asked our authorize (ZAP) for each client key");
      await assert.rejects(MlmClient.connect(libzmqBroker.endpoints[0]!, { timeout: 60_000, curve: { serverKey: curveKeyPair().publicKey, ...curveKeyPair() } }), refused);
    } finally {
      await libzmqBroker.close();
    }
    const zmtpBroker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], curve: server });
    try {
      const keys = await exchange(zmtpBroker, server, zeromq);
      assert.equal(keys.length, 2);
    } finally {
      await zmtpBroker.close();
    }
  });
});
