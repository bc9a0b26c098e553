// Issue 18 item 3: who may connect with CURVE (any key, a zcert directory, a callback), with
// refusals reported to the broker; and the key reaching the broker's client list and ACL.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../../src/broker/server.ts";
import { allowAnyCurveKey, curveAuthorizer, curveKeyDirectory, reportingAuthorizer } from "../../src/broker/security/server-curve-auth.ts";
import { ACL_REFUSED } from "../../src/broker/status.ts";
import type { CurveAuthorizer, RouterOptions, Transport } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { curveKeyPair, encodeZ85 } from "../../src/zmtp/mod.ts";
import { until, zeromqSkip } from "../transport/helpers.ts";
import { RawClient } from "./raw-client.ts";

const peer = { address: "127.0.0.1:1" };
const cert = (key: Uint8Array) => `#   ZeroMQ CURVE Public Certificate\nmetadata\ncurve\n    public-key = "${encodeZ85(key)}"\n`;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "mlm-curve-certs-"));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("CURVE authorization policies", () => {
  it("allow any: every key", async () => {
    assert.equal(await allowAnyCurveKey()(curveKeyPair().publicKey, peer), true);
  });

  it("directory: a key is allowed while a zcert file names it (added, then removed)", async () => {
    const dir = tempDir();
    const a = curveKeyPair().publicKey;
    const b = curveKeyPair().publicKey;
    const authorize = curveKeyDirectory(dir, { reloadMs: 0 });
    assert.equal(await authorize(a, peer), false);
    writeFileSync(join(dir, "a.pub"), cert(a));
    writeFileSync(join(dir, "b_secret"), cert(b).replace("curve\n", "curve\n    secret-key = \"0000000000000000000000000000000000000000\"\n"));
    writeFileSync(join(dir, "junk.txt"), "not a certificate");
    writeFileSync(join(dir, ".hidden"), cert(curveKeyPair().publicKey));
    assert.equal(await authorize(a, peer), true);
    assert.equal(await authorize(b, peer), true);
    assert.equal((await authorize.keys()).size, 2, "junk and hidden files name no key");
    unlinkSync(join(dir, "a.pub"));
    assert.equal(await authorize(a, peer), false);
  });

  it("directory: re-read only once reloadMs has passed since the last read", async () => {
    const dir = tempDir();
    const a = curveKeyPair().publicKey;
    let now = 0;
    const authorize = curveKeyDirectory(dir, { reloadMs: 1000, now: () => now });
    assert.equal(await authorize(a, peer), false);
    writeFileSync(join(dir, "a"), cert(a));
    now = 999;
    assert.equal(await authorize(a, peer), false, "still the old listing");
    now = 1000;
    assert.equal(await authorize(a, peer), true);
  });

  it("curveAuthorizer: \"any\", a directory, a function", async () => {
    const dir = tempDir();
    const a = curveKeyPair().publicKey;
    writeFileSync(join(dir, "a"), cert(a));
    const other = curveKeyPair().publicKey;
    assert.equal(await curveAuthorizer("any")(other, peer), true);
    assert.equal(await curveAuthorizer(undefined)(other, peer), true);
    assert.equal(await curveAuthorizer({ directory: dir })(a, peer), true);
    assert.equal(await curveAuthorizer({ directory: dir, reloadMs: 0 })(other, peer), false);
    const fn = () => false;
    assert.equal(curveAuthorizer(fn), fn);
  });

  it("directory: one that does not exist allows no one", async () => {
    assert.equal(await curveKeyDirectory(join(tempDir(), "missing"), { reloadMs: 0 })(curveKeyPair().publicKey, peer), false);
  });

  it("callback: async allow and deny; a rejection or throw refuses; refusals are reported with the key", async () => {
    const allowed = curveKeyPair().publicKey;
    const reported: string[] = [];
    const policy: CurveAuthorizer = async (key) => {
      await new Promise((r) => setTimeout(r, 1));
      if (key[0] === 0 && key[1] === 0) throw new Error("lookup failed");
      return encodeZ85(key) === encodeZ85(allowed);
    };
    const authorize = reportingAuthorizer(policy, (key, address) => reported.push(`${encodeZ85(key)} ${address}`));
    const other = curveKeyPair().publicKey;
    const zeros = new Uint8Array(32);
    assert.equal(await authorize(allowed, peer), true);
    assert.equal(await authorize(other, peer), false);
    assert.equal(await authorize(zeros, peer), false);
    assert.deepEqual(reported, [`${encodeZ85(other)} ${peer.address}`, `${encodeZ85(zeros)} ${peer.address}`]);
  });
});

/** The zmtp transport with CURVE on its ROUTER (what startBroker's `curve` option will do) and a reporting authorizer. */
function curveTransport(server: { publicKey: Uint8Array; secretKey: Uint8Array }, policy: CurveAuthorizer, refused: (key: Uint8Array, address: string) => void): Transport {
  return {
    name: "zmtp",
    router: (o?: RouterOptions) => zmtp.router({ ...o, curve: { ...server, authorize: reportingAuthorizer(policy, refused) } }),
    dealer: zmtp.dealer,
  };
}

const clientTransport = (serverKey: Uint8Array, keys: { publicKey: Uint8Array; secretKey: Uint8Array }): Transport => ({
  name: "zmtp",
  router: zmtp.router,
  dealer: (o) => zmtp.dealer({ ...o, curve: { serverKey, ...keys } }),
});

describe("broker over CURVE: the client key in stats and in the ACL", () => {
  it("clientList shows the key; the ACL refuses by it; a refused key is counted as curveRefused", async () => {
    const server = curveKeyPair();
    const gpu = curveKeyPair();
    const stranger = curveKeyPair();
    const dir = tempDir();
    writeFileSync(join(dir, "gpu"), cert(gpu.publicKey));
    let broker: { curveRefused(key: Uint8Array, address: string): void } | undefined;
    const b = await startBroker({
      endpoints: ["tcp://127.0.0.1:0"],
      transport: curveTransport(server, curveKeyDirectory(dir, { reloadMs: 0 }), (k, a) => broker?.curveRefused(k, a)),
      acl: { default: "deny", clients: [{ key: encodeZ85(gpu.publicKey), mailbox: "gpu", offer: "qwen3vl" }] },
    });
    broker = b as unknown as typeof broker;
    const endpoint = b.endpoints[0] as string;
    const c = new RawClient(clientTransport(server.publicKey, gpu), endpoint);
    try {
      c.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "gpu" });
      assert.deepEqual(await c.next(), { type: "OK", code: 200, reason: "" });
      assert.equal(b.stats().clientList[0]?.curveKey, encodeZ85(gpu.publicKey));
      c.send({ type: "SERVICE_OFFER", address: "qwen3vl", pattern: ".*" });
      assert.deepEqual(await c.next(), { type: "OK", code: 200, reason: "" });
      c.send({ type: "STREAM_READ", stream: "forge.events", pattern: ".*" });
      assert.deepEqual(await c.next(), { type: "ERROR", code: 300, reason: ACL_REFUSED });
      assert.equal(b.stats().counters.aclRefused, 1);

      const s = new RawClient(clientTransport(server.publicKey, stranger), endpoint);
      await until(() => b.stats().counters.curveRefused === 1, 5000, "the stranger's key refused");
      await s.dealer.close();
      assert.equal(b.stats().connections, 1, "only the authorized client is connected");
    } finally {
      await c.dealer.close();
      await b.close();
    }
  });

  it("a libzmq client with an unauthorized key gets ERROR 400; an authorized one talks MLM", { skip: zeromqSkip }, async () => {
    const zmq = await import("zeromq");
    const server = curveKeyPair();
    const ok = zmq.curveKeyPair();
    const bad = zmq.curveKeyPair();
    const dir = tempDir();
    writeFileSync(join(dir, "ok.pub"), `curve\n    public-key = "${ok.publicKey}"\n`);
    const refused: string[] = [];
    const b = await startBroker({
      endpoints: ["tcp://127.0.0.1:0"],
      transport: curveTransport(server, curveKeyDirectory(dir, { reloadMs: 0 }), (k) => refused.push(encodeZ85(k))),
    });
    const endpoint = b.endpoints[0] as string;
    const dealer = (keys: { publicKey: string; secretKey: string }) =>
      new zmq.Dealer({ linger: 0, curveServerKey: encodeZ85(server.publicKey), curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey });
    const denied = dealer(bad);
    const allowed = dealer(ok);
    try {
      const events = denied.events;
      const failed = (async () => {
        for await (const e of events) {
          if (e.type === "handshake:error:auth") return `${e.type} ${(e.error as { status?: number }).status ?? ""}`.trim();
          if (e.type.startsWith("handshake:error")) return e.type;
        }
        return "none";
      })();
      denied.connect(endpoint);
      assert.equal(await failed, "handshake:error:auth 400");
      assert.deepEqual(refused.slice(0, 1), [bad.publicKey]);
      allowed.connect(endpoint);
      const { encode } = await import("../../src/proto/mod.ts");
      await allowed.send(encode({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "z" }).map((f) => Buffer.from(f)));
      const [reply] = await allowed.receive();
      assert.equal(reply?.[0], 0xaa, "an MLM reply (signature)");
      assert.equal(b.stats().clientList.find((c) => c.address === "z")?.curveKey, ok.publicKey);
    } finally {
      denied.close();
      allowed.close();
      await b.close();
    }
  });
});
