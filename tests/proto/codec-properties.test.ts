import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decode, encode, MESSAGE_SPECS, MlmDecodeError } from "../../src/proto/mod.ts";
import type { MlmMessage, MlmMessageType } from "../../src/proto/mod.ts";
import { sampleMessages } from "./vectors.ts";

// Strings that fit the 255-byte limit: any code points up to 63 of them (<= 252 bytes),
// or ASCII right up to the 255-byte boundary.
const mlmString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 63 }),
  fc.string({ unit: "binary-ascii", maxLength: 255 }),
  fc.constantFrom("", "a".repeat(255), "\u6771".repeat(85), "\ufeff", "\u0000"),
);
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const content = fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 5 });

// fc.record may build null-prototype objects; decode returns plain ones, and deepEqual compares prototypes.
function rec<T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model).map((o) => ({ ...o }) as T);
}

const arbitraries: { [T in MlmMessageType]: fc.Arbitrary<Extract<MlmMessage, { type: T }>> } = {
  CONNECTION_OPEN: rec({ type: fc.constant("CONNECTION_OPEN"), protocol: fc.constant("MALAMUTE"), version: fc.constant(1), address: mlmString }),
  CONNECTION_PING: fc.constant({ type: "CONNECTION_PING" }),
  CONNECTION_PONG: fc.constant({ type: "CONNECTION_PONG" }),
  CONNECTION_CLOSE: fc.constant({ type: "CONNECTION_CLOSE" }),
  STREAM_WRITE: rec({ type: fc.constant("STREAM_WRITE"), stream: mlmString }),
  STREAM_READ: rec({ type: fc.constant("STREAM_READ"), stream: mlmString, pattern: mlmString }),
  STREAM_SEND: rec({ type: fc.constant("STREAM_SEND"), subject: mlmString, content }),
  STREAM_DELIVER: rec({ type: fc.constant("STREAM_DELIVER"), address: mlmString, sender: mlmString, subject: mlmString, content }),
  MAILBOX_SEND: rec({ type: fc.constant("MAILBOX_SEND"), address: mlmString, subject: mlmString, tracker: mlmString, timeout: u32, content }),
  MAILBOX_DELIVER: rec({ type: fc.constant("MAILBOX_DELIVER"), sender: mlmString, address: mlmString, subject: mlmString, tracker: mlmString, content }),
  SERVICE_SEND: rec({ type: fc.constant("SERVICE_SEND"), address: mlmString, subject: mlmString, tracker: mlmString, timeout: u32, content }),
  SERVICE_OFFER: rec({ type: fc.constant("SERVICE_OFFER"), address: mlmString, pattern: mlmString }),
  SERVICE_DELIVER: rec({ type: fc.constant("SERVICE_DELIVER"), sender: mlmString, address: mlmString, subject: mlmString, tracker: mlmString, content }),
  OK: rec({ type: fc.constant("OK"), code: u16, reason: mlmString }),
  ERROR: rec({ type: fc.constant("ERROR"), code: u16, reason: mlmString }),
  CREDIT: rec({ type: fc.constant("CREDIT"), amount: u16 }),
  CONFIRM: rec({ type: fc.constant("CONFIRM"), tracker: mlmString, code: u16, reason: mlmString }),
  STREAM_CANCEL: rec({ type: fc.constant("STREAM_CANCEL"), stream: mlmString }),
};
const anyMessage: fc.Arbitrary<MlmMessage> = fc.oneof(...Object.values(arbitraries));

const outcomes = { accepted: 0, rejected: 0 };

function decodeNeverThrows(frames: Uint8Array[]): void {
  let result;
  try {
    result = decode(frames);
  } catch (e) {
    assert.fail(`decode threw ${String(e)}`);
  }
  outcomes[result.ok ? "accepted" : "rejected"]++;
  if (result.ok) {
    // Anything accepted re-encodes to the same header bytes (modulo ignored trailing bytes)
    // and to the same content frame objects, so a broker can forward it without surprises.
    const again = encode(result.message);
    const header = frames[0]!;
    assert.deepEqual(again[0], header.subarray(0, again[0]!.length));
    assert.equal(again.length, frames.length);
    for (let i = 1; i < frames.length; i++) assert.equal(again[i], frames[i]);
  } else {
    assert.ok(result.error instanceof MlmDecodeError);
    assert.match(result.error.code, /^MLM_/);
  }
}

describe("codec properties (fast-check)", () => {
  for (const type of Object.keys(arbitraries) as MlmMessageType[]) {
    it(`round trip: decode(encode(m)) deep-equals m for every ${type}`, () => {
      fc.assert(
        fc.property(arbitraries[type], (m) => {
          const frames = encode(m);
          const result = decode(frames);
          assert.ok(result.ok, result.ok ? "" : result.error.reason);
          assert.deepEqual(result.message, m);
        }),
        { numRuns: 150 },
      );
    });
  }

  it("round trip covers all 18 message types", () => {
    assert.deepEqual(Object.keys(arbitraries).sort(), Object.keys(MESSAGE_SPECS).sort());
  });

  it("decode never throws on 10,000 random frame lists (random bytes, random frame counts)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 48 }), { maxLength: 6 }), decodeNeverThrows),
      { numRuns: 10_000 },
    );
  });

  it("decode never throws on 10,000 random frame lists starting with the MLM signature and a known id", () => {
    const header = fc
      .tuple(fc.integer({ min: 1, max: 18 }), fc.uint8Array({ maxLength: 40 }))
      .map(([id, rest]) => Uint8Array.of(0xaa, 0xa8, id, ...rest));
    fc.assert(
      fc.property(header, fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 }), (h, more) => {
        decodeNeverThrows([h, ...more]);
      }),
      { numRuns: 10_000 },
    );
  });

  it("decode never throws on 10,000 mutated valid encodings (flipped, inserted, deleted bytes; truncation)", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
    );
    outcomes.accepted = 0;
    outcomes.rejected = 0;
    fc.assert(
      fc.property(anyMessage, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (m, mutations, extra) => {
        const frames = encode(m);
        const bytes = [...frames[0]!];
        for (const mu of mutations) {
          const at = bytes.length === 0 ? 0 : mu.at % (bytes.length + (mu.kind === "insert" ? 1 : 0));
          if (mu.kind === "set" && bytes.length > 0) bytes[at] = mu.byte;
          else if (mu.kind === "insert") bytes.splice(at, 0, mu.byte);
          else if (mu.kind === "delete") bytes.splice(at, 1);
          else if (mu.kind === "cut") bytes.length = at;
        }
        const mutated = [Uint8Array.from(bytes), ...frames.slice(1)];
        if (extra) mutated.push(Uint8Array.of(1));
        decodeNeverThrows(mutated);
      }),
      { numRuns: 10_000 },
    );
    // The mutations must exercise both outcomes, or this test proves little.
    assert.ok(outcomes.accepted > 100 && outcomes.rejected > 100, JSON.stringify(outcomes));
  });

  it("a 16 MiB content frame round-trips without being copied (same Uint8Array object)", () => {
    const big = new Uint8Array(16 * 1024 * 1024);
    big[0] = 1;
    big[big.length - 1] = 2;
    const message: MlmMessage = { type: "MAILBOX_SEND", address: "bob", subject: "big", tracker: "t", timeout: 0, content: [big] };
    const frames = encode(message);
    assert.equal(frames[1], big);
    const result = decode(frames);
    assert.ok(result.ok && result.message.type === "MAILBOX_SEND");
    assert.equal(result.message.content[0], big);
    assert.equal(result.message.content.length, 1);
  });

  it("sample messages of every type survive the never-throw check untouched (sanity of the checker)", () => {
    for (const m of sampleMessages()) decodeNeverThrows(encode(m));
  });
});
