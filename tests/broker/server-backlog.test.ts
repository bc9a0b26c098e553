// A backlog longer than a peer's send high-water mark (peerSendMessages) reaches it whole: a
// mailbox drained when its owner connects, a service queue handed to a worker that offers,
// recovered mail after a restart. Before, all of it went to the transport in one go and what did
// not fit under the mark was dropped there, while the broker counted it delivered.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Broker, type BrokerOptions, startBroker } from "../../src/broker/server.ts";
import { HelloFlag } from "../../src/broker/extensions.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { RawClient } from "./raw-client.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const utf8 = new TextEncoder();
/** Clients of the running test, closed by `closeAll` even when it fails. */
const open: RawClient[] = [];

async function closeAll(broker: Broker): Promise<void> {
  for (const c of open.splice(0)) await c.close();
  await broker.close();
}

async function client(endpoint: string, address: string, flags?: number): Promise<RawClient> {
  const c = new RawClient(zmtp, endpoint);
  open.push(c);
  if (flags !== undefined) {
    c.send({ type: "CONFIRM", tracker: "", code: flags, reason: "" });
    assert.equal((await c.next()).type, "OK");
  }
  await c.open(address);
  return c;
}

/** Sends `count` tracked messages (waits for each window of 202s, so the sender's own queue stays small). */
async function fill(c: RawClient, type: "MAILBOX_SEND" | "SERVICE_SEND", address: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i);
    for (let j = i; j < i + n; j++) c.send({ type, address, subject: `m${j}`, tracker: `t${j}`, timeout: 0, content: [utf8.encode(String(j))] });
    for (let j = 0; j < n; j++) assert.equal((await c.next()).type, "CONFIRM");
  }
}

async function expectAll(c: RawClient, type: "MAILBOX_DELIVER" | "SERVICE_DELIVER", count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const m = await c.next();
    assert.equal(m.type, type);
    assert.equal((m as { subject: string }).subject, `m${i}`, `delivery ${i} of ${count}`);
  }
  await c.expectOnlyPong();
}

const setups: [string, () => Partial<BrokerOptions>][] = [
  ["in memory", () => ({})],
  ["with a data directory (fsync interval)", () => {
    const dir = mkdtempSync(join(tmpdir(), "mlm-backlog-"));
    dirs.push(dir);
    return { storage: { dir } };
  }],
  ["with a data directory (fsync always)", () => {
    const dir = mkdtempSync(join(tmpdir(), "mlm-backlog-"));
    dirs.push(dir);
    return { storage: { dir, fsync: "always" } };
  }],
];

for (const [name, options] of setups) {
  describe(`a backlog beyond peerSendMessages reaches the peer whole (${name})`, () => {
    it("drains a mailbox of 3x peerSendMessages to its owner when it connects", async () => {
      const broker = await startBroker({
        endpoints: ["tcp://127.0.0.1:0"], limits: { peerSendMessages: 1000, mailboxMessages: 3000 }, ...options(),
      });
      try {
        const endpoint = broker.endpoints[0] as string;
        const sender = await client(endpoint, "a", HelloFlag.STORED_CONFIRMS);
        await fill(sender, "MAILBOX_SEND", "box", 3000);
        const owner = await client(endpoint, "box");
        await expectAll(owner, "MAILBOX_DELIVER", 3000);
      } finally {
        await closeAll(broker);
      }
    });

    it("hands a full service queue (default limits: 10,000) to a worker without CREDIT that offers", async () => {
      const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], ...options() });
      try {
        const endpoint = broker.endpoints[0] as string;
        const requester = await client(endpoint, "r", HelloFlag.STORED_CONFIRMS);
        await fill(requester, "SERVICE_SEND", "svc", 10_000);
        const worker = await client(endpoint, "w");
        await worker.ok({ type: "SERVICE_OFFER", address: "svc", pattern: ".*" });
        await expectAll(worker, "SERVICE_DELIVER", 10_000);
      } finally {
        await closeAll(broker);
      }
    });
  });
}
