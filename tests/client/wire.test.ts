// The client's wire output, byte for byte, against the C codec's golden vectors
// (tests/fixtures/mlm_proto.json) for every message type the client sends.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { MlmClient } from "../../src/client/client.ts";
import { MlmError } from "../../src/client/errors.ts";
import { inproc } from "../../src/transport/inproc.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { FakeBroker, hex } from "./fixtures/fake-broker.ts";

interface Vector {
  name: string;
  command: string;
  fields: Record<string, unknown>;
  frames: string[];
}
const vectors = (JSON.parse(readFileSync(new URL("../fixtures/mlm_proto.json", import.meta.url), "utf8")) as { vectors: Vector[] }).vectors;

function vector(name: string): Vector {
  const v = vectors.find((x) => x.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return v;
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const f = (v: Vector, k: string): string => v.fields[k] as string;
const n = (v: Vector, k: string): number => v.fields[k] as number;
const content = (v: Vector): Uint8Array[] => (v.fields.content as string[]).map(fromHex);

type Action = (client: MlmClient, v: Vector) => Promise<unknown> | void;

/** For each vector of a client-to-broker message: how to make the client emit it through the public API. */
const cases: Array<[name: string, type: MlmMessage["type"], action: Action]> = [
  ["connection_ping", "CONNECTION_PING", () => {}],
  ["connection_close", "CONNECTION_CLOSE", (c) => c.close()],
  ["stream_write", "STREAM_WRITE", (c, v) => c.setProducer(f(v, "stream"))],
  ["stream_write_empty_name", "STREAM_WRITE", (c, v) => c.setProducer(f(v, "stream"))],
  ["stream_read", "STREAM_READ", (c, v) => c.setConsumer(f(v, "stream"), f(v, "pattern"))],
  ["stream_read_empty_pattern", "STREAM_READ", (c, v) => c.setConsumer(f(v, "stream"), f(v, "pattern"))],
  ["stream_send_1_frame", "STREAM_SEND", async (c, v) => { await c.setProducer("s"); c.send(f(v, "subject"), "10"); }],
  ["stream_send_0_frames", "STREAM_SEND", async (c, v) => { await c.setProducer("s"); c.send(f(v, "subject"), []); }],
  ["stream_send_content_unset", "STREAM_SEND", async (c, v) => { await c.setProducer("s"); c.send(f(v, "subject"), [""]); }],
  ["stream_send_3_frames", "STREAM_SEND", async (c, v) => { await c.setProducer("s"); c.send(f(v, "subject"), content(v)); }],
  ["stream_send_utf8_subject", "STREAM_SEND", async (c, v) => { await c.setProducer("s"); c.send(f(v, "subject"), content(v)); }],
  ["stream_send_empty_subject", "STREAM_SEND", async (c, v) => { await c.setProducer("s"); c.send(f(v, "subject"), "x"); }],
  ["mailbox_send", "MAILBOX_SEND", (c, v) => c.sendTo(f(v, "address"), f(v, "subject"), "hi bob")],
  ["mailbox_send_tracker_maxtimeout_utf8_3_frames", "MAILBOX_SEND", (c, v) =>
    c.sendTo(f(v, "address"), f(v, "subject"), content(v), { tracker: f(v, "tracker"), timeout: n(v, "timeout") })],
  ["mailbox_send_all_empty_0_frames", "MAILBOX_SEND", (c, v) =>
    c.sendTo(f(v, "address"), f(v, "subject"), [], { tracker: f(v, "tracker"), timeout: n(v, "timeout") })],
  ["service_send", "SERVICE_SEND", (c, v) => c.sendFor(f(v, "address"), f(v, "subject"), "payload", { timeout: n(v, "timeout") })],
  ["service_send_255_subject_tracker_maxtimeout", "SERVICE_SEND", (c, v) =>
    c.sendFor(f(v, "address"), f(v, "subject"), content(v), { tracker: f(v, "tracker"), timeout: n(v, "timeout") })],
  ["service_offer", "SERVICE_OFFER", (c, v) => c.setWorker(f(v, "address"), f(v, "pattern"))],
  ["service_offer_empty_pattern", "SERVICE_OFFER", (c, v) => c.setWorker(f(v, "address"), f(v, "pattern"))],
  ["credit_max", "CREDIT", (c, v) => c.addCredit(n(v, "amount"))],
  ["confirm", "CONFIRM", (c, v) => c.confirm(f(v, "tracker"))],
  ["confirm_failed", "CONFIRM", (c, v) =>
    c.confirm(f(v, "tracker"), { code: n(v, "status_code"), reason: f(v, "status_reason") })],
  ["stream_cancel", "STREAM_CANCEL", (c, v) => c.removeConsumer(f(v, "stream"))],
];

describe("client wire output matches the C codec vectors byte for byte", () => {
  let broker: FakeBroker;
  before(async () => {
    broker = await FakeBroker.start(inproc);
  });
  after(() => broker.close());

  for (const name of ["connection_open", "connection_open_anonymous", "connection_open_address_255"]) {
    it(`CONNECTION-OPEN: ${name}`, async () => {
      const v = vector(name);
      const client = await MlmClient.connect(broker.endpoint, { transport: inproc, address: f(v, "address"), credit: false, heartbeat: 0 });
      try {
        const open = broker.received.filter((r) => r.message.type === "CONNECTION_OPEN").at(-1);
        assert.ok(open);
        assert.deepEqual(open.frames.map(hex), v.frames);
      } finally {
        await client.close();
      }
    });
  }

  it("CONNECTION-OPEN with a 300-byte address is refused, not truncated as the C setter does", async () => {
    const v = vector("connection_open_address_300_truncated");
    const address = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".repeat(12).slice(0, 300);
    assert.equal(address.slice(0, 255), f(v, "address")); // the vector holds what C kept of this input
    const before = broker.received.length;
    await assert.rejects(
      MlmClient.connect(broker.endpoint, { transport: inproc, address, credit: false }),
      (e: unknown) => e instanceof MlmError && e.code === "MLM_BAD_ARGUMENT",
    );
    assert.equal(broker.received.length, before);
  });

  for (const [name, type, action] of cases) {
    it(`${type}: ${name}`, async () => {
      const v = vector(name);
      const credit = name === "credit_max" ? 0 : false;
      const client = await MlmClient.connect(broker.endpoint, {
        transport: inproc, address: `wire-${name}`, credit, manualCredit: true, heartbeat: name === "connection_ping" ? 5 : 0,
      });
      try {
        const peer = broker.received.find((r) => r.message.type === "CONNECTION_OPEN" && r.message.address === `wire-${name}`)!.peer;
        if (credit === 0) await broker.waitFor((r) => hex(r.peer) === hex(peer) && r.message.type === "CREDIT", "initial CREDIT");
        const start = broker.received.length;
        // Only what the action itself produced (credit_max skips the initial CREDIT 0 of `credit: 0`).
        const mine = (r: { peer: Uint8Array; message: MlmMessage }) =>
          broker.received.indexOf(r as never) >= start && hex(r.peer) === hex(peer) && r.message.type === type;
        await action(client, v);
        const got = await broker.waitFor(mine, type);
        assert.deepEqual(got.frames.map(hex), v.frames);
      } finally {
        await client.close();
      }
    });
  }

  it("CREDIT: credit, credit_zero (the initial window is announced right after OK)", async () => {
    for (const name of ["credit", "credit_zero"]) {
      const v = vector(name);
      const client = await MlmClient.connect(broker.endpoint, { transport: inproc, address: `wire-${name}`, credit: n(v, "amount"), heartbeat: 0 });
      try {
        const peer = broker.received.find((r) => r.message.type === "CONNECTION_OPEN" && r.message.address === `wire-${name}`)!.peer;
        const got = await broker.waitFor((r) => hex(r.peer) === hex(peer) && r.message.type === "CREDIT", "CREDIT");
        assert.deepEqual(got.frames.map(hex), v.frames);
      } finally {
        await client.close();
      }
    }
  });
});
