import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boxKey, nonce, open, openWithSubkey, seal, sealWithSubkey, subkey } from "../../src/zmtp/mechanism/curve/box.ts";
import {
  CurveClientMechanism, curveKey, curvePublicKey, CurveServerMechanism, decodeZ85, FLAG_COMMAND, ReceiveBudget,
  type RandomSource, Session,
} from "../../src/zmtp/mod.ts";
import { client, CurveProbe, curvePair, framesOf, greet, pump, server } from "./curve-helpers.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const ascii = (b: Uint8Array): string => String.fromCharCode(...b);

/** Deterministic random bytes (mulberry32), so that two runs produce the same transcript. */
function seeded(seed: number): RandomSource {
  let a = seed >>> 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((t ^ (t >>> 14)) >>> 0) & 255;
    }
    return out;
  };
}

/** Handshake, then return the client's next output after sending `frames` (greeting excluded). */
function readyPair(): [CurveProbe, CurveProbe] {
  const [a, b] = curvePair();
  pump(a, b);
  assert.ok(a.ready && b.ready, "handshake completes");
  return [a, b];
}

describe("ZMTP CURVE (RFC 26) sans-I/O", () => {
  it("derives libzmq's documented test key pair", () => {
    // zmq_curve(7): the server key pair used in libzmq's own tests.
    const secret = decodeZ85("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6");
    assert.deepEqual(curvePublicKey(secret), decodeZ85("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
    assert.deepEqual(curveKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"), decodeZ85("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
    assert.throws(() => curveKey("short"), RangeError);
    assert.throws(() => curveKey(new Uint8Array(31)), RangeError);
  });

  it("the per-direction subkey path seals and opens exactly as xsalsa20poly1305 (crypto_box)", () => {
    const key = boxKey(client.secretKey, server.publicKey);
    const prefix = enc("CurveZMQMESSAGEC");
    const sub = subkey(key, prefix);
    for (const size of [0, 1, 31, 32, 33, 63, 64, 65, 1000, 70_000]) {
      const tail = new Uint8Array([0, 0, 0, 1, 2, 3, 4, size & 255]);
      const plaintext = new Uint8Array(size).map((_, i) => (i * 7) & 255);
      const expected = seal(key, nonce("CurveZMQMESSAGEC", tail), plaintext);
      const out = new Uint8Array(32 + size).fill(0xee);
      out.set(plaintext, 32);
      sealWithSubkey(sub, tail, out);
      assert.deepEqual(out.subarray(16), expected, `size ${size}`);
      assert.deepEqual(openWithSubkey(sub, tail, expected), plaintext);
      expected[expected.length - 1] = (expected[expected.length - 1] as number) ^ 1;
      assert.throws(() => openWithSubkey(sub, tail, expected), { code: "ZMTP_CURVE_BOX" });
    }
  });

  it("completes the handshake; each side knows the other's long-term key; frames flow both ways", () => {
    const [a, b] = readyPair();
    assert.deepEqual(b.ready?.curvePublicKey, client.publicKey);
    assert.deepEqual(a.ready?.curvePublicKey, server.publicKey);
    assert.deepEqual(b.asked, [client.publicKey]);
    assert.equal(b.ready?.socketType, "DEALER");
    assert.equal(a.ready?.socketType, "ROUTER");
    const big = new Uint8Array(100_000).map((_, i) => i & 255);
    a.session.send([enc("one"), new Uint8Array(0), big]);
    a.session.send([enc("two")]);
    b.session.send([enc("back"), enc("again")]);
    pump(a, b);
    assert.equal(b.messages.length, 2);
    assert.deepEqual(b.messages[0]?.map((f) => f.length), [3, 0, 100_000]);
    assert.deepEqual(b.messages[0]?.[2], big);
    assert.equal(dec(b.messages[1]?.[0] as Uint8Array), "two");
    assert.deepEqual(a.messages.map((m) => m.map(dec)), [["back", "again"]]);
    assert.equal(a.closed, undefined);
    assert.equal(b.closed, undefined);
  });

  it("uses libzmq's byte layouts: HELLO 200, WELCOME 168, INITIATE 257+, READY 30+, MESSAGE 33+n", () => {
    const [a, b] = curvePair();
    greet(a, b);
    const hello = a.out();
    b.session.feed(hello, 0);
    const welcome = b.out();
    a.session.feed(welcome, 0);
    const initiate = a.out();
    b.session.feed(initiate, 0);
    const ready = b.out();
    a.session.feed(ready, 0);
    const [h] = framesOf(hello);
    assert.equal(h?.flags, FLAG_COMMAND);
    assert.equal(h?.body.length, 200);
    assert.equal(ascii(h!.body.subarray(0, 6)), "\x05HELLO");
    assert.deepEqual([...h!.body.subarray(6, 8)], [1, 0]);
    assert.ok(h!.body.subarray(8, 80).every((x) => x === 0), "72 bytes of anti-amplification padding");
    // The HELLO box opens with S's secret and C' under "CurveZMQHELLO---" + short nonce 1: 64 zeros.
    const cPrime = h!.body.subarray(80, 112);
    const shortNonce = h!.body.subarray(112, 120);
    assert.deepEqual([...shortNonce], [0, 0, 0, 0, 0, 0, 0, 1]);
    const zeros = open(boxKey(server.secretKey, cPrime), nonce("CurveZMQHELLO---", shortNonce), h!.body.subarray(120));
    assert.deepEqual(zeros, new Uint8Array(64));
    const [w] = framesOf(welcome);
    assert.equal(w?.body.length, 168);
    assert.equal(ascii(w!.body.subarray(0, 8)), "\x07WELCOME");
    const [i] = framesOf(initiate);
    assert.equal(ascii(i!.body.subarray(0, 9)), "\x08INITIATE");
    assert.ok(i!.body.length >= 257);
    assert.deepEqual([...i!.body.subarray(105, 113)], [0, 0, 0, 0, 0, 0, 0, 2], "INITIATE carries short nonce 2");
    const [r] = framesOf(ready);
    assert.equal(ascii(r!.body.subarray(0, 6)), "\x05READY");
    assert.deepEqual([...r!.body.subarray(6, 14)], [0, 0, 0, 0, 0, 0, 0, 1], "READY carries the server's nonce 1");
    assert.ok(a.ready && b.ready);
    a.session.send([enc("hi")]);
    const [m] = framesOf(a.out());
    assert.equal(m?.flags, 0, "libzmq sends MESSAGE as a data frame without flags");
    assert.equal(m?.body.length, 33 + 2);
    assert.equal(ascii(m!.body.subarray(0, 8)), "\x07MESSAGE");
    assert.deepEqual([...m!.body.subarray(8, 16)], [0, 0, 0, 0, 0, 0, 0, 3], "first MESSAGE follows INITIATE's nonce");
  });

  it("an async authorizer holds READY back until it answers", () => {
    const [a, b] = curvePair({ allow: null });
    pump(a, b);
    assert.equal(b.asked.length, 1);
    assert.equal(a.ready, undefined);
    assert.equal(b.ready, undefined);
    b.session.authenticated(true, 0);
    pump(a, b);
    assert.ok(a.ready && b.ready);
  });

  it("a refused client key gets ERROR \"400\" in clear (as libzmq's ZAP) and both sides close", () => {
    const [a, b] = curvePair({ allow: false });
    pump(a, b);
    assert.equal(b.closed?.code, "ZMTP_AUTH_FAILED");
    assert.equal(a.closed?.code, "ZMTP_AUTH_FAILED");
    assert.match(a.closed?.message ?? "", /400/);
    assert.equal(a.ready, undefined);
    assert.equal(b.ready, undefined);
  });

  it("a server without an authorizer refuses, like PLAIN without an authenticator", () => {
    const a = new CurveProbe({ socketType: "DEALER", mechanism: new CurveClientMechanism({ serverKey: server.publicKey, ...client }) });
    const b = new Session({ socketType: "ROUTER", mechanism: new CurveServerMechanism(server) }, {
      onReady: () => assert.fail("must not become ready"),
      onMessage: () => {},
      onClose: () => {},
    });
    a.session.start(0);
    b.start(0);
    for (let i = 0; i < 5; i++) {
      b.feed(a.out(), 0);
      a.session.feed(concatOut(b), 0);
    }
    assert.equal(b.error?.code, "ZMTP_AUTH_FAILED");
    assert.equal(a.closed?.code, "ZMTP_AUTH_FAILED");
  });

  it("a wrong server key: the server closes without a word (no WELCOME, no ERROR)", () => {
    const [a, b] = curvePair({ serverKey: client.publicKey });
    greet(a, b);
    b.session.feed(a.out(), 0);
    assert.equal(b.closed?.code, "ZMTP_CURVE_BOX");
    assert.equal(b.out().length, 0, "nothing but the greeting went out");
    assert.equal(a.ready, undefined);
  });

  it("a flipped byte in a MESSAGE ends the connection, nothing of it is delivered", () => {
    for (const at of [0, 9, 16, 20, 33, 40]) {
      const [a, b] = readyPair();
      a.session.send([enc("payload-payload")]);
      const bytes = a.out();
      bytes[2 + at] = (bytes[2 + at] as number) ^ 0x01;
      b.session.feed(bytes, 0);
      assert.ok(b.closed, `byte ${at}`);
      const expected = ["ZMTP_CURVE_BOX", "ZMTP_UNEXPECTED_COMMAND", "ZMTP_CURVE_NONCE", "ZMTP_BAD_FRAME", "ZMTP_MALFORMED_COMMAND"];
      assert.ok(expected.includes(b.closed.code), b.closed.code);
      assert.equal(b.messages.length, 0);
    }
  });

  it("a replayed MESSAGE ends the connection (ZMTP_CURVE_NONCE) after the original was delivered once", () => {
    const [a, b] = readyPair();
    a.session.send([enc("once")]);
    const bytes = a.out();
    b.session.feed(bytes.slice(), 0);
    assert.equal(b.messages.length, 1);
    b.session.feed(bytes.slice(), 0);
    assert.equal(b.closed?.code, "ZMTP_CURVE_NONCE");
    assert.equal(b.messages.length, 1);
  });

  it("reordered MESSAGEs: the later nonce is taken, the earlier one then ends the connection", () => {
    const [a, b] = readyPair();
    a.session.send([enc("first")]);
    const first = a.out();
    a.session.send([enc("second")]);
    const second = a.out();
    b.session.feed(second, 0);
    assert.deepEqual(b.messages.map((m) => dec(m[0] as Uint8Array)), ["second"]);
    b.session.feed(first, 0);
    assert.equal(b.closed?.code, "ZMTP_CURVE_NONCE");
  });

  it("an unprotected frame after the handshake ends the connection", () => {
    const [, b] = readyPair();
    b.session.feed(new Uint8Array([0, 2, 0x68, 0x69]), 0);
    assert.equal(b.closed?.code, "ZMTP_MALFORMED_COMMAND");
    assert.equal(b.messages.length, 0);
  });

  it("PING/PONG travel inside MESSAGE boxes (command flag in the box)", () => {
    const [a, b] = curvePair({ client: { heartbeat: { interval: 1000 } } });
    pump(a, b);
    a.session.tick(1000);
    const ping = a.out();
    const [m] = framesOf(ping);
    assert.equal(ascii(m!.body.subarray(0, 8)), "\x07MESSAGE");
    b.session.feed(ping, 1000);
    const [pong] = framesOf(b.out());
    assert.equal(ascii(pong!.body.subarray(0, 8)), "\x07MESSAGE");
    assert.equal(b.closed, undefined);
  });

  it("limits: a MESSAGE carrying maxMessageSize - 64 bytes passes, one byte more is refused at its header", () => {
    const max = 4096;
    const [a, b] = curvePair({ server: { maxMessageSize: max } });
    pump(a, b);
    a.session.send([new Uint8Array(max - 64)]);
    b.session.feed(a.out(), 0);
    assert.equal(b.messages.length, 1);
    a.session.send([new Uint8Array(max - 63)]);
    const bytes = a.out();
    b.session.feed(bytes.subarray(0, 9), 0); // the header alone
    assert.equal(b.closed?.code, "ZMTP_FRAME_TOO_LARGE");
  });

  it("limits: maxMessageParts applies to the frames inside the boxes", () => {
    const [a, b] = curvePair({ server: { maxMessageParts: 3 } });
    pump(a, b);
    a.session.send([enc("1"), enc("2"), enc("3")]);
    b.session.feed(a.out(), 0);
    assert.equal(b.messages.length, 1);
    a.session.send([enc("1"), enc("2"), enc("3"), enc("4")]);
    b.session.feed(a.out(), 0);
    assert.equal(b.closed?.code, "ZMTP_TOO_MANY_PARTS");
  });

  it("a handshake cut at every byte offset leaves no state: no throw, not ready, budget back to zero", () => {
    // Deterministic randomness makes every run produce the same transcript, so a fresh
    // server accepts the recorded INITIATE (its cookie is the same).
    const make = () => {
      const budget = new ReceiveBudget(1 << 20);
      const a = new CurveProbe({
        socketType: "DEALER",
        mechanism: new CurveClientMechanism({ serverKey: server.publicKey, ...client, random: seeded(1) }),
        receiveBudget: budget,
      });
      const b = new CurveProbe({
        socketType: "ROUTER",
        mechanism: new CurveServerMechanism({ ...server, random: seeded(2) }),
        receiveBudget: budget,
      });
      a.session.start(0);
      b.session.start(0);
      return { a, b, budget };
    };
    const rec = make();
    const fromClient: Uint8Array[] = [];
    const fromServer: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      const x = rec.a.out();
      const y = rec.b.out();
      if (x.length) fromClient.push(x), rec.b.session.feed(x, 0);
      if (y.length) fromServer.push(y), rec.a.session.feed(y, 0);
    }
    assert.ok(rec.a.ready && rec.b.ready);
    const c = concat(fromClient);
    const s = concat(fromServer);
    for (const [stream, side] of [[c, "b"], [s, "a"]] as const) {
      for (let k = 0; k < stream.length; k++) {
        const p = make();
        const target = p[side];
        target.session.feed(stream.subarray(0, k), 0);
        assert.equal(target.ready, undefined, `cut at ${k}`);
        assert.equal(target.closed, undefined, `cut at ${k}: a prefix is no error`);
        target.session.close();
        assert.equal(p.budget.held, 0, `cut at ${k}: nothing held`);
      }
      const whole = make();
      whole[side].session.feed(stream, 0);
      assert.ok(whole[side].ready, "the whole stream completes the handshake");
    }
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

function concatOut(s: Session): Uint8Array {
  return concat(s.takeOutput());
}
