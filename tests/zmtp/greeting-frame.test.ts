import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  decodeCommand, decodeMetadata, decodePing, encodeCommand, encodeError, encodeGreeting, encodeMetadata, encodePing,
  encodePong, FLAG_COMMAND, FLAG_MORE, FrameDecoder, FrameWriter, GreetingParser, ZmtpError,
} from "../../src/zmtp/mod.ts";
import { concatBytes } from "../../src/util/bytes.ts";

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
const fromHex = (s: string): Uint8Array => new Uint8Array(s.trim().split(/\s+/).map((x) => parseInt(x, 16)));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const code = (c: string) => (e: unknown) => e instanceof ZmtpError && e.code === c;

/** A greeting as libzmq 4.3 writes it: padding holds identity length + 1, as-server always 0. */
function libzmqGreeting(mech = "NULL", major = 3, minor = 1): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[8] = 0x01;
  g[9] = 0x7f;
  g[10] = major;
  g[11] = minor;
  g.set(ascii(mech), 12);
  return g;
}

describe("ZMTP greeting", () => {
  it("our NULL greeting is the canonical 64 bytes (signature, 3.1, NULL, as-server 0)", () => {
    const g = encodeGreeting("NULL", false);
    assert.equal(g.length, 64);
    assert.equal(hex(g.subarray(0, 16)), "ff 00 00 00 00 00 00 00 00 7f 03 01 4e 55 4c 4c");
    assert.ok(g.subarray(16).every((b) => b === 0));
  });

  it("the PLAIN greeting carries the mechanism name padded with zeros", () => {
    const g = encodeGreeting("PLAIN", true);
    assert.equal(hex(g.subarray(12, 18)), "50 4c 41 49 4e 00");
    assert.equal(g[32], 1);
  });

  it("parses libzmq's greeting sent as 10 + 1 + 53 bytes, ignoring the padding and the as-server bit", () => {
    const g = libzmqGreeting();
    const p = new GreetingParser("NULL");
    assert.equal(p.push(g.subarray(0, 10), 0), 10);
    assert.equal(p.done, false);
    assert.equal(p.push(g.subarray(10, 11), 0), 1);
    assert.equal(p.push(g, 11), 53);
    assert.deepEqual(p.result, { major: 3, minor: 1, mechanism: "NULL", asServer: false });
  });

  it("accepts ZMTP 3.0 peers and any higher version (minor 0, major 4)", () => {
    for (const [major, minor] of [[3, 0], [4, 7]] as const) {
      const p = new GreetingParser("NULL");
      p.push(libzmqGreeting("NULL", major, minor), 0);
      assert.equal(p.result?.minor, minor);
    }
  });

  it("leaves the bytes after the greeting (e.g. READY in the same segment) unconsumed", () => {
    const p = new GreetingParser("NULL");
    const both = concatBytes([libzmqGreeting(), fromHex("04 06 05 52 45 41 44 59")]);
    assert.equal(p.push(both, 0), 64);
  });

  it("rejects garbage at its first byte with ZMTP_BAD_GREETING", () => {
    const p = new GreetingParser("NULL");
    assert.throws(() => p.push(ascii("G"), 0), code("ZMTP_BAD_GREETING"));
  });

  it("rejects a ZMTP 1.0 signature (byte 9 bit 0 clear)", () => {
    const g = libzmqGreeting();
    g[9] = 0x7e;
    assert.throws(() => new GreetingParser("NULL").push(g, 0), code("ZMTP_BAD_GREETING"));
  });

  it("rejects major versions below 3 with ZMTP_BAD_VERSION as soon as byte 10 arrives", () => {
    const p = new GreetingParser("NULL");
    p.push(libzmqGreeting().subarray(0, 10), 0);
    assert.throws(() => p.push(new Uint8Array([2]), 0), code("ZMTP_BAD_VERSION"));
  });

  it("rejects a different mechanism with ZMTP_MECHANISM_MISMATCH", () => {
    assert.throws(() => new GreetingParser("NULL").push(libzmqGreeting("PLAIN"), 0), code("ZMTP_MECHANISM_MISMATCH"));
    assert.throws(() => new GreetingParser("PLAIN").push(libzmqGreeting("NULL"), 0), code("ZMTP_MECHANISM_MISMATCH"));
  });
});

function decodeAll(bytes: Uint8Array[], dec = new FrameDecoder()): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  const sink = { stopped: false, frame: (flags: number, body: Uint8Array) => out.push([flags, hex(body)]) };
  for (const b of bytes) dec.push(b, 0, sink);
  return out;
}

describe("ZMTP framing", () => {
  it("encodes short frames for sizes up to 255 and long frames (8-byte size) above", () => {
    const w = new FrameWriter();
    w.frame(FLAG_MORE, new Uint8Array(255));
    w.frame(0, new Uint8Array(300));
    const out = concatBytes(w.take());
    assert.equal(hex(out.subarray(0, 2)), "01 ff");
    assert.equal(hex(out.subarray(257, 266)), "02 00 00 00 00 00 00 01 2c");
    assert.equal(out.length, 2 + 255 + 9 + 300);
  });

  it("encodes empty frames as two bytes and the COMMAND flag as 0x04", () => {
    const w = new FrameWriter();
    w.frame(FLAG_MORE, new Uint8Array(0));
    w.frame(FLAG_COMMAND, encodeCommand("PING", new Uint8Array([0, 0])));
    assert.equal(hex(concatBytes(w.take())), "01 00 04 07 04 50 49 4e 47 00 00");
  });

  it("references large bodies instead of copying them, keeping frame order", () => {
    const w = new FrameWriter();
    const big = new Uint8Array(100_000).fill(7);
    w.frame(FLAG_MORE, ascii("a"));
    w.frame(0, big);
    const chunks = w.take();
    assert.ok(chunks.includes(big));
    assert.equal(w.pending, 0);
    assert.deepEqual(decodeAll(chunks).map(([f]) => f), [FLAG_MORE, 2]);
  });

  it("decodes the long form even for small sizes (libzmq accepts it)", () => {
    assert.deepEqual(decodeAll([fromHex("02 00 00 00 00 00 00 00 02 61 62")]), [[2, "61 62"]]);
  });

  it("property: any sequence of frames survives any split into chunks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0, FLAG_MORE), fc.uint8Array({ maxLength: 700 })), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 40 }),
        (frames, cuts) => {
          const w = new FrameWriter();
          for (const [f, b] of frames) w.frame(f, b);
          const all = concatBytes(w.take());
          const pieces: Uint8Array[] = [];
          let off = 0;
          for (let i = 0; off < all.length; i++) {
            const n = cuts[i % cuts.length] as number;
            pieces.push(all.subarray(off, off + n));
            off += n;
          }
          const got = decodeAll(pieces);
          assert.deepEqual(got, frames.map(([f, b]) => [b.length > 255 ? f | 2 : f, hex(b)]));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("checks the size limit from the header, before allocating (oversize → ZMTP_FRAME_TOO_LARGE)", () => {
    const dec = new FrameDecoder();
    dec.maxData = 1000;
    // Header announces 2^40 bytes; only the header is supplied.
    assert.throws(() => decodeAll([fromHex("02 00 00 01 00 00 00 00 00")], dec), code("ZMTP_FRAME_TOO_LARGE"));
    const dec2 = new FrameDecoder();
    assert.throws(() => decodeAll([fromHex("02 ff ff ff ff ff ff ff ff")], dec2), code("ZMTP_FRAME_TOO_LARGE"));
  });

  it("limits command size separately (maxCommand)", () => {
    const dec = new FrameDecoder();
    dec.maxCommand = 10;
    assert.throws(() => decodeAll([fromHex("04 0b")], dec), code("ZMTP_FRAME_TOO_LARGE"));
  });

  it("rejects a command frame with the MORE flag (ZMTP_BAD_FRAME)", () => {
    assert.throws(() => decodeAll([fromHex("05 00")]), code("ZMTP_BAD_FRAME"));
  });

  it("reports midFrame while a frame is incomplete", () => {
    const dec = new FrameDecoder();
    decodeAll([fromHex("00 05 61")], dec);
    assert.equal(dec.midFrame, true);
    decodeAll([fromHex("62 63 64 65")], dec);
    assert.equal(dec.midFrame, false);
  });
});

describe("ZMTP commands and metadata", () => {
  it("READY metadata uses the exact names libzmq expects (Socket-Type, Identity) with 4-byte BE lengths", () => {
    const body = encodeCommand("READY", encodeMetadata([["Socket-Type", ascii("DEALER")], ["Identity", new Uint8Array(0)]]));
    // Captured from libzmq (PLAIN INITIATE carries the same metadata).
    const expected = "05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 06 44 45 41 4c 45 52 " +
      "08 49 64 65 6e 74 69 74 79 00 00 00 00";
    assert.equal(hex(body), expected);
  });

  it("parses metadata names case-insensitively and keeps unknown properties", () => {
    const props = decodeMetadata(encodeMetadata([["SOCKET-TYPE", ascii("ROUTER")], ["X-Custom", ascii("v")]]));
    assert.equal(new TextDecoder().decode(props.get("socket-type")), "ROUTER");
    assert.equal(new TextDecoder().decode(props.get("x-custom")), "v");
  });

  it("rejects truncated metadata and trailing garbage (ZMTP_MALFORMED_METADATA)", () => {
    const good = encodeMetadata([["Identity", ascii("abc")]]);
    assert.throws(() => decodeMetadata(good.subarray(0, good.length - 1)), code("ZMTP_MALFORMED_METADATA"));
    assert.throws(() => decodeMetadata(concatBytes([good, new Uint8Array([3])])), code("ZMTP_MALFORMED_METADATA"));
  });

  it("PING always carries the 2-byte TTL in deciseconds (as captured: TTL 5 s → 00 32)", () => {
    assert.equal(hex(encodePing(5000)), "04 50 49 4e 47 00 32");
    assert.equal(hex(encodePing(0)), "04 50 49 4e 47 00 00");
    assert.equal(hex(encodePing(100, ascii("ctx"))), "04 50 49 4e 47 00 01 63 74 78");
  });

  it("PONG echoes at most 16 bytes of context", () => {
    assert.equal(encodePong(new Uint8Array(40)).length, 5 + 16);
    assert.equal(hex(encodePong(new Uint8Array(0))), "04 50 4f 4e 47");
  });

  it("a PING without its TTL is malformed", () => {
    assert.throws(() => decodePing(new Uint8Array(1)), code("ZMTP_MALFORMED_COMMAND"));
    assert.deepEqual(decodePing(fromHex("00 32")).ttlMs, 5000);
  });

  it("decodes libzmq's malformed PLAIN ERROR (5e 52 52 4f 52 …) as ERROR with its reason", () => {
    const cmd = decodeCommand(fromHex("5e 52 52 4f 52 03 34 30 30"));
    assert.equal(cmd.name, "ERROR");
    assert.equal(hex(cmd.data), "03 34 30 30");
    assert.equal(hex(encodeError("400")), "05 45 52 52 4f 52 03 34 30 30");
  });

  it("rejects empty, truncated and non-ASCII command names (ZMTP_MALFORMED_COMMAND)", () => {
    assert.throws(() => decodeCommand(new Uint8Array(0)), code("ZMTP_MALFORMED_COMMAND"));
    assert.throws(() => decodeCommand(fromHex("00")), code("ZMTP_MALFORMED_COMMAND"));
    assert.throws(() => decodeCommand(fromHex("05 52 45")), code("ZMTP_MALFORMED_COMMAND"));
    assert.throws(() => decodeCommand(fromHex("01 00")), code("ZMTP_MALFORMED_COMMAND"));
  });
});
