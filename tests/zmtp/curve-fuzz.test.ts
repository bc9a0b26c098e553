import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  CurveClientMechanism, CurveServerMechanism, encodeCommand, encodeGreeting, FrameWriter, FLAG_COMMAND, type RandomSource, ReceiveBudget,
  ZmtpError,
} from "../../src/zmtp/mod.ts";
import { client, CurveProbe, framesOf, server } from "./curve-helpers.ts";

/** Deterministic random bytes, so that every pair replays the same handshake. */
function seeded(seed: number): RandomSource {
  let a = seed >>> 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      a = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      out[i] = a >>> 24;
    }
    return out;
  };
}

interface Pair {
  a: CurveProbe;
  b: CurveProbe;
  budget: ReceiveBudget;
}

/** A server that has exchanged greetings (its client is only needed to record the transcript). */
function serverOnly(): Pair {
  const budget = new ReceiveBudget(1 << 20);
  const b = new CurveProbe({
    socketType: "ROUTER",
    mechanism: new CurveServerMechanism({ ...server, random: seeded(8) }),
    receiveBudget: budget,
    maxMessageSize: 64 * 1024,
  });
  b.session.start(0);
  b.session.feed(transcript.greeting, 0);
  b.out();
  return { a: b, b, budget };
}

function pair(): Pair {
  const budget = new ReceiveBudget(1 << 20);
  const a = new CurveProbe({
    socketType: "DEALER",
    mechanism: new CurveClientMechanism({ serverKey: server.publicKey, ...client, random: seeded(7) }),
    receiveBudget: budget,
  });
  const b = new CurveProbe({
    socketType: "ROUTER",
    mechanism: new CurveServerMechanism({ ...server, random: seeded(8) }),
    receiveBudget: budget,
    maxMessageSize: 64 * 1024,
  });
  a.session.start(0);
  b.session.start(0);
  b.session.feed(a.out(), 0);
  a.session.feed(b.out(), 0);
  return { a, b, budget };
}

/** The client's HELLO and INITIATE command bodies of the deterministic handshake. */
const transcript = (() => {
  const { a, b } = pair();
  const hello = a.out();
  b.session.feed(hello, 0);
  a.session.feed(b.out(), 0);
  const initiate = a.out();
  b.session.feed(initiate, 0);
  a.session.feed(b.out(), 0);
  assert.ok(a.ready && b.ready);
  a.session.send([new Uint8Array([1, 2, 3])]);
  return {
    greeting: encodeGreeting("CURVE", false),
    hello: framesOf(hello)[0]!.body.slice(),
    initiate: framesOf(initiate)[0]!.body.slice(),
    message: framesOf(a.out())[0]!.body.slice(),
  };
})();

function commandFrame(body: Uint8Array, flags = FLAG_COMMAND): Uint8Array {
  const w = new FrameWriter();
  w.frame(flags, body);
  const out = w.take();
  const all = new Uint8Array(out.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of out) all.set(c, at), (at += c.length);
  return all;
}

/** A mutation: flip bytes, truncate or extend. */
const mutation = fc.record({
  flips: fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  extra: fc.uint8Array({ maxLength: 8 }),
});

function mutate(bytes: Uint8Array, m: { flips: { at: number; xor: number }[]; cut?: number; extra: Uint8Array }): Uint8Array {
  const out = bytes.slice();
  for (const f of m.flips) out[f.at % out.length] = (out[f.at % out.length] as number) ^ f.xor;
  const cut = m.cut === undefined ? out.length : m.cut % (out.length + 1);
  const result = new Uint8Array(cut + m.extra.length);
  result.set(out.subarray(0, cut));
  result.set(m.extra, cut);
  return result;
}

/** Feeding never throws; the session either closed with a ZmtpError or is still waiting; nothing stays held once closed. */
function settled(p: Pair, side: "a" | "b"): void {
  const probe = p[side];
  if (probe.closed) assert.ok(probe.closed instanceof ZmtpError);
  probe.session.close();
  assert.equal(p.budget.held, 0);
  assert.equal(probe.messages.length, 0);
}

describe("CURVE command parsing under fuzzing", () => {
  it("random HELLO data: no crash, never a handshake", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (data) => {
        const p = serverOnly();
        p.b.session.feed(commandFrame(encodeCommand("HELLO", data)), 0);
        assert.equal(p.b.ready, undefined);
        settled(p, "b");
      }),
      { numRuns: 200 },
    );
  });

  it("mutated HELLO: refused unless only the unauthenticated padding changed", () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const p = serverOnly();
        const body = mutate(transcript.hello, m);
        p.b.session.feed(commandFrame(body), 0);
        const paddingOnly = body.length === 200 && body.every((x, i) => x === transcript.hello[i] || (i >= 8 && i < 80));
        if (!paddingOnly) assert.ok(p.b.closed, "a mutated HELLO is refused");
        settled(p, "b");
      }),
      { numRuns: 80 },
    );
  });

  it("mutated INITIATE: always refused (every byte of it is authenticated), never authorized", () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const p = serverOnly();
        p.b.session.feed(commandFrame(transcript.hello), 0);
        assert.equal(p.b.closed, undefined);
        const body = mutate(transcript.initiate, m);
        fc.pre(body.length !== transcript.initiate.length || body.some((x, i) => x !== transcript.initiate[i]));
        p.b.session.feed(commandFrame(body), 0);
        assert.ok(p.b.closed);
        assert.equal(p.b.asked.length, 0);
        settled(p, "b");
      }),
      { numRuns: 80 },
    );
  });

  it("random and mutated MESSAGE frames after the handshake: refused, nothing delivered", () => {
    const ready = (): Pair => {
      const p = serverOnly();
      p.b.session.feed(commandFrame(transcript.hello), 0);
      p.b.session.feed(commandFrame(transcript.initiate), 0);
      assert.ok(p.b.ready);
      return p;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (data, asCommand) => {
        const p = ready();
        const body = new Uint8Array(16 + data.length);
        body.set(new TextEncoder().encode("\x07MESSAGE"));
        body.set(data, 16 - (data.length > 0 ? 8 : 0));
        p.b.session.feed(commandFrame(body, asCommand ? FLAG_COMMAND : 0), 0);
        assert.ok(p.b.closed);
        settled(p, "b");
      }),
      { numRuns: 80 },
    );
    fc.assert(
      fc.property(mutation, (m) => {
        const p = ready();
        const body = mutate(transcript.message, m);
        fc.pre(body.length !== transcript.message.length || body.some((x, i) => x !== transcript.message[i]));
        p.b.session.feed(commandFrame(body, 0), 0);
        assert.ok(p.b.closed);
        settled(p, "b");
      }),
      { numRuns: 80 },
    );
  });

  it("the unmutated transcript is accepted (the properties above are not vacuous)", () => {
    const p = serverOnly();
    p.b.session.feed(commandFrame(transcript.hello), 0);
    p.b.session.feed(commandFrame(transcript.initiate), 0);
    p.b.session.feed(commandFrame(transcript.message, 0), 0);
    assert.ok(p.b.ready);
    assert.deepEqual(p.b.messages, [[new Uint8Array([1, 2, 3])]]);
  });
});
