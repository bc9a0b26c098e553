// Test harness for the sans-I/O broker core: a fake clock, typed MLM messages in,
// decoded actions out.
import assert from "node:assert/strict";
import { BrokerCore } from "../../src/broker/core/broker-core.ts";
import type { BrokerAction, BrokerConfig, BrokerEvent } from "../../src/broker/types.ts";
import type { BrokerStore } from "../../src/storage/types.ts";
import { decode, encode } from "../../src/proto/mod.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";

export const utf8 = new TextEncoder();
export const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** A decoded `send` action. */
export interface Sent {
  conn: string;
  message: MlmMessage;
  frames: Uint8Array[];
}

export class Harness {
  readonly core: BrokerCore;
  now = 1_000;
  /** Every action of the last `handle` calls since the last `take()`. */
  actions: BrokerAction[] = [];
  /** Content frames the core has released so far: never to be released or sent again. */
  readonly released = new Set<Uint8Array>();

  /** Journal reads the core asked for and that `settle()` has not answered yet. */
  readonly reads: Extract<BrokerAction, { type: "read" }>[] = [];

  /** With `store`, the core's `store` actions are applied to it and its `read` actions answered by `settle()`. */
  constructor(config: BrokerConfig = {}, readonly store?: BrokerStore) {
    this.core = new BrokerCore(config);
  }

  /** Answer the journal reads the core asked for (and those their answers ask for), in order; returns what was sent. */
  async settle(): Promise<Sent[]> {
    const out: Sent[] = [];
    for (let read = this.reads.shift(); read; read = this.reads.shift()) {
      const entries = await (this.store as BrokerStore).read(read.stream, read.from, read.maxEntries, read.maxBytes);
      out.push(...this.event({ type: "journal", ticket: read.ticket, entries }));
    }
    return out;
  }

  /** Feed raw frames from `conn`; returns the decoded messages sent by the broker. */
  raw(conn: string, frames: Uint8Array[]): Sent[] {
    return this.#run(this.core.handle({ type: "frames", conn, frames }, this.now));
  }

  /** Encode and feed one message from `conn`. */
  send(conn: string, message: MlmMessage): Sent[] {
    return this.raw(conn, encode(message));
  }

  /** Advance the fake clock by `ms` and tick. */
  advance(ms: number): Sent[] {
    this.now += ms;
    return this.#run(this.core.handle({ type: "tick" }, this.now));
  }

  /** Feed any event (congested, drained, continue...) at the current time. */
  event(event: BrokerEvent): Sent[] {
    return this.#run(this.core.handle(event, this.now));
  }

  /** Whether the last `handle` calls asked for a `continue` event. */
  continueAsked(): boolean {
    return this.actions.some((a) => a.type === "continue");
  }

  disconnect(conn: string): Sent[] {
    return this.#run(this.core.handle({ type: "disconnect", conn }, this.now));
  }

  shutdown(): Sent[] {
    return this.#run(this.core.handle({ type: "shutdown" }, this.now));
  }

  /**
   * HELLO (docs/mlm-extensions.md §1) on `conn` before its OPEN, as extension-aware clients
   * send it; asserts the broker's OK. Only such recipients get CONFIRM routes.
   */
  hello(conn: string, flags = 0): void {
    const out = this.send(conn, { type: "CONFIRM", tracker: "", code: flags, reason: "" });
    assert.equal(out.length, 1, "HELLO got no reply");
    assert.equal((out[0] as Sent).message.type, "OK");
  }

  /** OPEN `conn` with `address`; asserts the OK and returns what followed it. */
  open(conn: string, address: string): Sent[] {
    const out = this.send(conn, { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address });
    assert.ok(out.length >= 1, "OPEN got no reply");
    assert.deepEqual((out[0] as Sent).message, { type: "OK", code: 200, reason: "" });
    return out.slice(1);
  }

  /**
   * OPEN `conn` as `address` and offer `service` for every subject; with `credit`, then send
   * CREDIT, making it a credit-aware worker.
   */
  worker(conn: string, address: string, service: string, credit?: number): void {
    this.open(conn, address);
    this.ok(conn, { type: "SERVICE_OFFER", address: service, pattern: ".*" });
    if (credit !== undefined) this.send(conn, { type: "CREDIT", amount: credit });
  }

  /** Expect exactly one OK 200 from a set-up command. */
  ok(conn: string, message: MlmMessage): void {
    const out = this.send(conn, message);
    assert.equal(out.length, 1, `expected one reply to ${message.type}, got ${out.length}`);
    assert.deepEqual((out[0] as Sent).message, { type: "OK", code: 200, reason: "" });
  }

  disconnects(): string[] {
    return this.actions.filter((a) => a.type === "disconnect").map((a) => (a as { conn: string }).conn);
  }

  #run(actions: BrokerAction[]): Sent[] {
    this.actions.push(...actions);
    const sent: Sent[] = [];
    for (const [i, action] of actions.entries()) {
      // The buffer-recycling contract, checked in every scenario: a release is the last action,
      // lists a frame at most once ever, and a released frame is never sent again.
      if (action.type === "release") {
        assert.equal(i, actions.length - 1, "release must be the last action");
        for (const frame of action.frames) {
          assert.ok(!this.released.has(frame), "content frame released twice");
          this.released.add(frame);
        }
        continue;
      }
      if (action.type === "store") this.store?.apply(action.ops);
      if (action.type === "read") this.reads.push(action);
      if (action.type !== "send") continue;
      for (const frame of action.frames) assert.ok(!this.released.has(frame), "released content frame sent again");
      const result = decode(action.frames);
      assert.ok(result.ok, `broker sent an undecodable message: ${result.ok ? "" : result.error.message}`);
      sent.push({ conn: action.conn, message: result.message, frames: action.frames });
    }
    return sent;
  }
}

// Message builders.
export const ping = (): MlmMessage => ({ type: "CONNECTION_PING" });
export const close = (): MlmMessage => ({ type: "CONNECTION_CLOSE" });
export const write = (stream: string): MlmMessage => ({ type: "STREAM_WRITE", stream });
export const read = (stream: string, pattern: string): MlmMessage => ({ type: "STREAM_READ", stream, pattern });
export const cancel = (stream: string): MlmMessage => ({ type: "STREAM_CANCEL", stream });
export const publish = (subject: string, ...content: string[]): MlmMessage => ({
  type: "STREAM_SEND", subject, content: content.map((c) => utf8.encode(c)),
});
export const mail = (address: string, subject: string, body: string, tracker = "", timeout = 0): MlmMessage => ({
  type: "MAILBOX_SEND", address, subject, tracker, timeout, content: [utf8.encode(body)],
});
export const request = (address: string, subject: string, body: string, tracker = "", timeout = 0): MlmMessage => ({
  type: "SERVICE_SEND", address, subject, tracker, timeout, content: [utf8.encode(body)],
});
export const offer = (address: string, pattern: string): MlmMessage => ({ type: "SERVICE_OFFER", address, pattern });
export const credit = (amount: number): MlmMessage => ({ type: "CREDIT", amount });
export const confirm = (tracker: string, code = 200, reason = ""): MlmMessage => ({ type: "CONFIRM", tracker, code, reason });

export const OK = { type: "OK", code: 200, reason: "" } as const;
export const INVALID = { type: "ERROR", code: 500, reason: "" } as const;
export const FAILED = { type: "ERROR", code: 300, reason: "" } as const;
export const PONG = { type: "CONNECTION_PONG" } as const;

/** Subjects of the deliveries in `out`, in order. */
export function subjects(out: Sent[]): string[] {
  return out.map((s) => (s.message as { subject: string }).subject);
}

/** Hex of a frame. */
export function hex(frame: Uint8Array | undefined): string {
  let out = "";
  for (const byte of frame ?? new Uint8Array()) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Bytes of a hex string. */
export function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}
