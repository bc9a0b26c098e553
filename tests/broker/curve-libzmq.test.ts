// libzmq DEALERs (the zeromq package, as C mlm_client programs) speaking MLM to startBroker({ curve }),
// with keys made by `malamute keygen` (read back from its zcert files) and by libzmq's own
// zmq_curve_keypair (zeromq's curveKeyPair()), for the broker and for the clients.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../../src/broker/server.ts";
import { main } from "../../src/cli/main.ts";
import { decode, encode } from "../../src/proto/mod.ts";
import { loadCurveKeyPair } from "../../src/transport/curve-cert-file.ts";
import { zeromqSkip } from "../transport/helpers.ts";
import { memoryIo } from "../cli/memory-io.ts";

type Zmq = typeof import("zeromq");
let zmq: Zmq;
const dir = mkdtempSync(join(tmpdir(), "malamute-curve-libzmq-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Z85Pair {
  publicKey: string;
  secretKey: string;
}

/** `malamute keygen --out NAME`, its keys read from the files as any ZPL reader would (a regex here, not our loader). */
async function keygen(name: string): Promise<Z85Pair> {
  const io = memoryIo();
  assert.equal(await main(["keygen", "--out", join(dir, name)], io), 0, io.err);
  const secret = readFileSync(join(dir, `${name}_secret`), "utf8");
  const value = (key: string) => new RegExp(`^ {4}${key} = "(.{40})"$`, "m").exec(secret)?.[1] as string;
  const pair = { publicKey: value("public-key"), secretKey: value("secret-key") };
  assert.equal(pair.publicKey.length, 40);
  assert.match(readFileSync(join(dir, name), "utf8"), new RegExp(`^ {4}public-key = "${pair.publicKey.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"$`, "m"));
  return pair;
}

async function request(dealer: InstanceType<Zmq["Dealer"]>, frames: Uint8Array[]) {
  await dealer.send(frames);
  const reply = decode((await dealer.receive()).map((f) => new Uint8Array(f)));
  assert.ok(reply.ok, "the broker's answer decodes");
  return reply.message;
}

describe("libzmq CURVE DEALERs run MLM through startBroker({ curve })", () => {
  before(async () => {
    if (!zeromqSkip) zmq = await import("zeromq");
  });

  for (const serverKeys of ["malamute keygen", "zmq_curve_keypair"] as const) {
    it(`broker keys from ${serverKeys}; clients with keygen and curveKeyPair() keys: OPEN, mailbox send and deliver`, { skip: zeromqSkip, timeout: 15_000 }, async () => {
      const server: Z85Pair = serverKeys === "malamute keygen" ? await keygen("broker") : zmq.curveKeyPair() as Z85Pair;
      const brokerCurve = serverKeys === "malamute keygen" ? await loadCurveKeyPair(join(dir, "broker")) : server;
      const fromKeygen = await keygen(`client-${serverKeys.length}`);
      const fromLibzmq = zmq.curveKeyPair() as Z85Pair;
      const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], curve: brokerCurve });
      const dealers = [fromKeygen, fromLibzmq].map((keys) => {
        const dealer = new zmq.Dealer({ linger: 0, curveServerKey: server.publicKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey });
        dealer.connect(broker.endpoints[0] as string);
        return dealer;
      });
      try {
        const [a, b] = dealers as [InstanceType<Zmq["Dealer"]>, InstanceType<Zmq["Dealer"]>];
        for (const [dealer, address] of [[a, "kg"], [b, "lz"]] as const) {
          const ok = await request(dealer, encode({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address }));
          assert.equal(ok.type, "OK");
        }
        const body = new Uint8Array(100_000).fill(5);
        await a.send(encode({ type: "MAILBOX_SEND", address: "lz", subject: "hi", tracker: "", timeout: 0, content: [new TextEncoder().encode("x"), body] }));
        const delivered = decode((await b.receive()).map((f) => new Uint8Array(f)));
        assert.ok(delivered.ok);
        const m = delivered.message;
        assert.equal(m.type, "MAILBOX_DELIVER");
        if (m.type === "MAILBOX_DELIVER") {
          assert.deepEqual([m.sender, m.address, m.subject, m.content.length, m.content[1]?.length], ["kg", "lz", "hi", 2, 100_000]);
        }
        const keys = new Map(broker.stats().clientList.map((c) => [c.address, c.curveKey]));
        assert.deepEqual([keys.get("kg"), keys.get("lz")], [fromKeygen.publicKey, fromLibzmq.publicKey]);
      } finally {
        for (const d of dealers) d.close();
        await broker.close();
      }
    });
  }
});
