import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeCommand, encodeCommand, encodeGreeting, encodeMetadata, FLAG_COMMAND, FrameDecoder, NullMechanism,
  PlainClientMechanism, PlainServerMechanism, type ZmtpError,
} from "../../src/zmtp/mod.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { nullPair, Probe, pump } from "./helpers.ts";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Parse the commands in a session's output after its greeting. */
function commandsIn(bytes: Uint8Array): string[] {
  const names: string[] = [];
  new FrameDecoder().push(bytes, 0, {
    stopped: false,
    frame: (flags, body) => names.push((flags & FLAG_COMMAND) ? decodeCommand(body).name : `data:${text(body)}`),
  });
  return names;
}

describe("ZMTP session (sans-I/O)", () => {
  it("sends the whole 64-byte greeting at start, before reading anything", () => {
    const p = new Probe({ mechanism: new NullMechanism() });
    p.session.start(0);
    const out = p.out();
    assert.equal(out.length, 64);
    assert.deepEqual(out, encodeGreeting("NULL", false));
  });

  it("NULL: READY with Socket-Type and Identity crosses both ways; ready only after the peer's READY", () => {
    const [a, b] = nullPair({ identity: ascii("me") });
    assert.equal(a.out().length, 64, "greeting only: READY waits for the peer's greeting");
    b.session.feed(encodeGreeting("NULL", false), 0);
    const fromB = b.out();
    assert.deepEqual(commandsIn(fromB.subarray(64)), ["READY"], "READY right after the greeting exchange");
    a.session.feed(fromB, 0);
    assert.equal(a.ready?.socketType, "ROUTER");
    assert.equal(a.ready?.identity.length, 0);
    assert.equal(b.ready === undefined, true, "b has not seen a's READY yet");
    assert.throws(() => b.session.send([ascii("too early")]));
    b.session.feed(a.out(), 0);
    assert.equal(b.ready?.socketType, "DEALER");
    assert.equal(text(b.ready?.identity ?? new Uint8Array()), "me");
  });

  it("refuses to send data before the peer's READY (ZMTP_NOT_READY)", () => {
    const [a] = nullPair();
    assert.throws(() => a.session.send([ascii("x")]), (e: unknown) => (e as ZmtpError).code === "ZMTP_NOT_READY");
  });

  it("delivers multipart messages whole, with a PING between their frames tolerated (libzmq may do that)", () => {
    const [a, b] = nullPair();
    pump(a, b);
    const w = concatBytes([
      new Uint8Array([1, 1, 0x61]),
      new Uint8Array([4, 7]), encodeCommand("PING", new Uint8Array([0, 0])),
      new Uint8Array([1, 0]),
      new Uint8Array([0, 1, 0x63]),
    ]);
    b.session.feed(w.subarray(0, 4), 1);
    assert.equal(b.messages.length, 0, "a partial message is never delivered");
    b.session.feed(w.subarray(4), 1);
    assert.deepEqual(b.messages.map((m) => m.map(text)), [["a", "", "c"]]);
    assert.deepEqual(commandsIn(b.out()), ["PONG"]);
  });

  it("a data frame before the handshake completes closes the session (ZMTP_UNEXPECTED_FRAME)", () => {
    const [a, b] = nullPair();
    a.out();
    b.session.feed(concatBytes([encodeGreeting("NULL", false), new Uint8Array([0, 1, 0x78])]), 0);
    assert.equal(b.closed?.code, "ZMTP_UNEXPECTED_FRAME");
    assert.equal(b.closed?.isProtocolError, true);
  });

  it("an incompatible Socket-Type is refused with ERROR then close (ZMTP_BAD_SOCKET_TYPE)", () => {
    const b = new Probe({ mechanism: new NullMechanism(), socketType: "ROUTER" });
    b.session.start(0);
    b.out();
    const ready = encodeCommand("READY", encodeMetadata([["Socket-Type", ascii("PUB")]]));
    b.session.feed(concatBytes([encodeGreeting("NULL", false), new Uint8Array([4, ready.length]), ready]), 0);
    assert.equal(b.closed?.code, "ZMTP_BAD_SOCKET_TYPE");
    assert.deepEqual(commandsIn(b.out()), ["READY", "ERROR"]);
  });

  it("a READY without Socket-Type is accepted, as libzmq does", () => {
    const b = new Probe({ mechanism: new NullMechanism(), socketType: "ROUTER" });
    b.session.start(0);
    b.session.feed(concatBytes([encodeGreeting("NULL", false), new Uint8Array([4, 6]), ascii("\x05READY")]), 0);
    assert.equal(b.ready?.socketType, undefined);
    assert.equal(b.closed === undefined, true);
  });

  it("an ERROR command during the handshake closes with ZMTP_PEER_ERROR and its reason", () => {
    const [a] = nullPair();
    a.session.feed(concatBytes([encodeGreeting("NULL", false), new Uint8Array([4, 10]), ascii("\x05ERROR\x03bad")]), 0);
    assert.equal(a.closed?.code, "ZMTP_PEER_ERROR");
    assert.match(a.closed?.message ?? "", /bad/);
  });

  it("enforces maxMessageSize over the sum of a message's frames", () => {
    const [a, b] = nullPair({}, { maxMessageSize: 10 });
    pump(a, b);
    a.session.send([new Uint8Array(6), new Uint8Array(6)]);
    b.session.feed(a.out(), 0);
    assert.equal(b.closed?.code, "ZMTP_FRAME_TOO_LARGE");
    assert.equal(b.messages.length, 0);
  });

  it("feeding after close is ignored and never throws", () => {
    const [a] = nullPair();
    a.session.feed(ascii("GET / HTTP/1.1\r\n"), 0);
    assert.equal(a.closed?.code, "ZMTP_BAD_GREETING");
    a.session.feed(ascii("more garbage"), 0);
    assert.equal(a.closed?.code, "ZMTP_BAD_GREETING");
  });

  describe("PLAIN", () => {
    function plainPair(user: string, pass: string): [Probe, Probe] {
      const c = new Probe({ mechanism: new PlainClientMechanism(user, pass), socketType: "DEALER" });
      const s = new Probe({ mechanism: new PlainServerMechanism(), socketType: "ROUTER" });
      c.session.start(0);
      s.session.start(0);
      return [c, s];
    }

    it("client HELLO → server asks the authenticator; accepted → WELCOME, INITIATE, READY", () => {
      const [c, s] = plainPair("admin", "secret");
      pump(c, s);
      assert.deepEqual(s.auth, [["admin", "secret"]]);
      assert.equal(c.ready === undefined, true);
      s.session.authenticated(true, 0);
      pump(c, s);
      assert.equal(c.ready?.socketType, "ROUTER");
      assert.equal(s.ready?.socketType, "DEALER");
      c.session.send([ascii("hi")]);
      pump(c, s);
      assert.deepEqual(s.messages.map((m) => m.map(text)), [["hi"]]);
    });

    it("HELLO bytes match the captured libzmq exchange", () => {
      const [c] = plainPair("admin", "secret");
      const out = c.out();
      c.session.feed(encodeGreeting("PLAIN", false), 0);
      const hello = c.out();
      assert.equal(out.length, 64);
      const hexed = Array.from(hello, (x) => x.toString(16).padStart(2, "0")).join(" ");
      assert.equal(hexed, "04 13 05 48 45 4c 4c 4f 05 61 64 6d 69 6e 06 73 65 63 72 65 74");
    });

    it("refused credentials: server sends ERROR 400 and closes with ZMTP_AUTH_FAILED; client reports ZMTP_AUTH_FAILED", () => {
      const [c, s] = plainPair("admin", "wrong");
      pump(c, s);
      s.session.authenticated(false, 0);
      assert.equal(s.closed?.code, "ZMTP_AUTH_FAILED");
      c.session.feed(s.out(), 0);
      assert.equal(c.closed?.code, "ZMTP_AUTH_FAILED");
      assert.match(c.closed?.message ?? "", /400/);
    });

    it("INITIATE before WELCOME (client not yet authenticated) is a protocol error", () => {
      const [c, s] = plainPair("admin", "secret");
      pump(c, s);
      const initiate = encodeCommand("INITIATE", encodeMetadata([["Socket-Type", ascii("DEALER")]]));
      s.session.feed(concatBytes([new Uint8Array([4, initiate.length]), initiate]), 0);
      assert.equal(s.closed?.code, "ZMTP_UNEXPECTED_COMMAND");
    });

    it("a malformed HELLO is ZMTP_MALFORMED_COMMAND", () => {
      const s = new Probe({ mechanism: new PlainServerMechanism(), socketType: "ROUTER" });
      s.session.start(0);
      const hello = ascii("\x05HELLO\x09ad");
      s.session.feed(concatBytes([encodeGreeting("PLAIN", false), new Uint8Array([4, hello.length]), hello]), 0);
      assert.equal(s.closed?.code, "ZMTP_MALFORMED_COMMAND");
    });
  });

  describe("heartbeats (time is a parameter)", () => {
    it("sends PING with the configured TTL every interval once ready, never before", () => {
      const [a, b] = nullPair({ heartbeat: { interval: 1000, ttl: 5000 } });
      assert.equal(a.session.tick(5000), 30_000, "before the handshake only the handshake timeout is pending");
      pump(a, b, 0);
      assert.equal(a.session.deadline, 1000);
      a.session.tick(999);
      assert.deepEqual(commandsIn(a.out()), []);
      assert.equal(a.session.tick(1000), 1000 + 1000);
      const ping = a.out();
      assert.deepEqual(Array.from(ping), [4, 7, 4, 0x50, 0x49, 0x4e, 0x47, 0, 50]);
      b.session.feed(ping, 1001);
      assert.deepEqual(commandsIn(b.out()), ["PONG"]);
    });

    it("closes with ZMTP_HEARTBEAT_TIMEOUT when nothing arrives within timeout after a PING", () => {
      const [a, b] = nullPair({ heartbeat: { interval: 1000, timeout: 3000 } });
      pump(a, b, 0);
      a.session.tick(1000);
      a.session.tick(2000);
      a.session.tick(3999);
      assert.equal(a.closed === undefined, true);
      a.session.tick(4000);
      assert.equal(a.closed?.code, "ZMTP_HEARTBEAT_TIMEOUT");
      assert.equal(a.closed?.isProtocolError, false, "timeouts are transient: the dealer reconnects");
    });

    it("any traffic after a PING cancels the timeout", () => {
      const [a, b] = nullPair({ heartbeat: { interval: 1000, timeout: 1500 } });
      pump(a, b, 0);
      a.session.tick(1000);
      b.session.feed(a.out(), 1000);
      a.session.feed(b.out(), 1200); // the PONG
      a.session.tick(2000);
      a.session.tick(2600);
      assert.equal(a.closed === undefined, true);
    });

    it("honours the peer's TTL: closes when the peer hears nothing... from it within TTL", () => {
      const [a, b] = nullPair({ heartbeat: { interval: 1000, ttl: 2000 } });
      pump(a, b, 0);
      a.session.tick(1000);
      b.session.feed(a.out(), 1000); // PING with TTL 2 s
      assert.equal(b.session.deadline, 3000);
      b.session.tick(2999);
      assert.equal(b.closed === undefined, true);
      b.session.tick(3000);
      assert.equal(b.closed?.code, "ZMTP_HEARTBEAT_TIMEOUT");
    });

    it("PONG echoes the PING's context; a flood of PINGs gets one PONG per output batch", () => {
      const [a, b] = nullPair();
      pump(a, b, 0);
      const ping = (ctx: string) => {
        const body = encodeCommand("PING", concatBytes([new Uint8Array([0, 0]), ascii(ctx)]));
        return concatBytes([new Uint8Array([FLAG_COMMAND, body.length]), body]);
      };
      b.session.feed(ping("ab"), 1);
      const pong = b.out();
      assert.equal(text(pong.subarray(2)), "\x04PONGab");
      const flood = concatBytes(Array.from({ length: 1000 }, () => ping("")));
      b.session.feed(flood, 2);
      assert.deepEqual(commandsIn(b.out()), ["PONG"]);
      assert.equal(b.closed === undefined, true);
    });

    it("closes with ZMTP_HANDSHAKE_TIMEOUT when the handshake does not finish in time", () => {
      const [a] = nullPair({ handshakeTimeout: 500 });
      a.session.tick(499);
      assert.equal(a.closed === undefined, true);
      a.session.tick(500);
      assert.equal(a.closed?.code, "ZMTP_HANDSHAKE_TIMEOUT");
    });
  });
});
