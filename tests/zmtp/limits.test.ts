import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  FLAG_MORE, FRAME_OVERHEAD, FrameWriter, GROWING_FRAME_START, GreetingParser, ReceiveBudget, type SessionOptions,
  WHOLE_FRAME_ALLOCATION_MAX, ZmtpError,
} from "../../src/zmtp/mod.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { longHeader, nullPair, type Probe, pump } from "./helpers.ts";

const MiB = 1024 * 1024;

/** Frames as a peer would encode them (MORE on all but the last). */
function message(bodies: Uint8Array[]): Uint8Array {
  const w = new FrameWriter();
  bodies.forEach((b, i) => w.frame(i < bodies.length - 1 ? FLAG_MORE : 0, b));
  return concatBytes(w.take());
}

/** A ROUTER session past its handshake, whose allocations are recorded. */
function readyRouter(options: Partial<SessionOptions> = {}): { router: Probe; allocated: number[] } {
  const allocated: number[] = [];
  const [dealer, router] = nullPair({}, {
    ...options,
    allocate: (size) => {
      allocated.push(size);
      return new Uint8Array(size);
    },
  });
  pump(dealer, router);
  assert.ok(router.ready, "handshake complete");
  return { router, allocated };
}

/** Why `p` closed (a function, so that earlier assertions do not narrow the type). */
const closedCode = (p: Probe): string | undefined => p.closed?.code;
const empties = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(0));
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe("ZMTP limits: frames per message (maxMessageParts)", () => {
  it("default 1024: a message of exactly 1024 frames is delivered", () => {
    const { router } = readyRouter();
    router.session.feed(message(empties(1024)), 0);
    assert.equal(router.closed, undefined);
    assert.equal(router.messages.length, 1);
    assert.equal(router.messages[0]?.length, 1024);
  });

  it("default 1024: the 1025th frame closes the connection with ZMTP_TOO_MANY_PARTS", () => {
    const { router } = readyRouter();
    router.session.feed(message(empties(1025)), 0);
    assert.equal(router.closed?.code, "ZMTP_TOO_MANY_PARTS");
    assert.equal(router.closed?.message, "message of more than 1024 frames");
    assert.equal(router.messages.length, 0);
  });

  it("is configurable, and counts per message (the count restarts after each message)", () => {
    const { router } = readyRouter({ maxMessageParts: 3 });
    router.session.feed(concatBytes([message(empties(3)), message(empties(3))]), 0);
    assert.equal(router.messages.length, 2);
    router.session.feed(message(empties(4)), 0);
    assert.equal(router.closed?.code, "ZMTP_TOO_MANY_PARTS");
    assert.equal(router.messages.length, 2);
  });

  it("a flood of 100k empty MORE frames ends at the limit instead of piling up", () => {
    const { router } = readyRouter();
    const flood = new Uint8Array(200_000);
    for (let i = 0; i < flood.length; i += 2) flood[i] = FLAG_MORE; // 100k frames "01 00"
    router.session.feed(flood, 0);
    assert.equal(router.closed?.code, "ZMTP_TOO_MANY_PARTS");
    assert.equal(router.session.midFrame, false, "the parts were dropped");
  });
});

describe("ZMTP limits: per-frame overhead against maxMessageSize", () => {
  it(`each frame costs its size + ${FRAME_OVERHEAD} B: 10 empty frames fit in 640 B, 11 do not`, () => {
    const ok = readyRouter({ maxMessageSize: 10 * FRAME_OVERHEAD }).router;
    ok.session.feed(message(empties(10)), 0);
    assert.equal(ok.messages.length, 1);
    const over = readyRouter({ maxMessageSize: 10 * FRAME_OVERHEAD }).router;
    over.session.feed(message(empties(11)), 0);
    assert.equal(over.closed?.code, "ZMTP_FRAME_TOO_LARGE");
  });

  it("a one-frame message may carry maxMessageSize - 64 bytes, not one more", () => {
    const ok = readyRouter({ maxMessageSize: 1000 }).router;
    ok.session.feed(message([new Uint8Array(1000 - FRAME_OVERHEAD)]), 0);
    assert.equal(ok.messages.length, 1);
    const over = readyRouter({ maxMessageSize: 1000 }).router;
    over.session.feed(message([new Uint8Array(1001 - FRAME_OVERHEAD)]), 0);
    assert.equal(over.closed?.code, "ZMTP_FRAME_TOO_LARGE");
  });
});

describe("ZMTP limits: declared sizes and incremental allocation", () => {
  for (const [label, size] of [["255 MiB", 255 * MiB], ["2^40 bytes", 2 ** 40]] as const) {
    it(`a header declaring ${label} beyond maxMessageSize is refused at the header, nothing allocated`, () => {
      const { router, allocated } = readyRouter({ maxMessageSize: 64 * MiB });
      router.session.feed(longHeader(size), 0);
      assert.equal(router.closed?.code, "ZMTP_FRAME_TOO_LARGE");
      assert.deepEqual(allocated, []);
    });
  }

  it("a 60 MiB frame of which 10 bytes arrived holds 64 KiB, not 60 MiB", () => {
    const { router, allocated } = readyRouter({ maxMessageSize: 64 * MiB });
    router.session.feed(concatBytes([longHeader(60 * MiB), new Uint8Array(10)]), 0);
    assert.equal(router.closed, undefined);
    assert.deepEqual(allocated, [GROWING_FRAME_START]);
    assert.equal(router.session.readTarget(4096)?.length, GROWING_FRAME_START - 10);
  });

  it("frames up to 1 MiB split across reads are allocated once, at their size", () => {
    const { router, allocated } = readyRouter();
    const body = new Uint8Array(WHOLE_FRAME_ALLOCATION_MAX).map((_, i) => i * 7);
    const bytes = message([body]);
    router.session.feed(bytes.subarray(0, 100), 0);
    router.session.feed(bytes.subarray(100), 0);
    assert.deepEqual(allocated, [WHOLE_FRAME_ALLOCATION_MAX]);
    assert.deepEqual(router.messages[0]?.[0], body);
  });

  it("a larger frame grows by doubling as its bytes arrive in chunks, and arrives intact", () => {
    const { router, allocated } = readyRouter();
    const size = 3 * MiB + 5;
    const body = new Uint8Array(size).map((_, i) => (i * 31) >> 3);
    const bytes = message([body]);
    for (let off = 0; off < bytes.length; off += 50_000) router.session.feed(bytes.subarray(off, off + 50_000), 0);
    assert.deepEqual(router.messages[0]?.[0], body);
    assert.equal(allocated[0], GROWING_FRAME_START, "starts small");
    assert.equal(allocated.at(-1), size, "the last buffer has the frame's exact size");
    for (let i = 1; i < allocated.length - 1; i++) assert.equal(allocated[i], 2 * (allocated[i - 1] as number));
    assert.ok(sum(allocated) < 3 * size, `allocated ${sum(allocated)} for ${size}`);
  });

  it("the direct-read path (readTarget + fed) grows the same way and delivers the frame intact", () => {
    const { router, allocated } = readyRouter();
    const size = 2 * MiB + 3;
    const body = new Uint8Array(size).map((_, i) => i ^ (i >> 8));
    const bytes = message([body]);
    router.session.feed(bytes.subarray(0, 9 + 100), 0);
    let off = 9 + 100;
    while (off < bytes.length) {
      const target = router.session.readTarget(1);
      assert.ok(target, `a read target at ${off}`);
      const n = Math.min(target.length, 64 * 1024, bytes.length - off);
      target.set(bytes.subarray(off, off + n));
      router.session.fed(n, 0);
      off += n;
    }
    assert.equal(router.messages.length, 1);
    assert.deepEqual(router.messages[0]?.[0], body);
    assert.deepEqual(allocated.slice(0, 3), [GROWING_FRAME_START, 2 * GROWING_FRAME_START, 4 * GROWING_FRAME_START]);
    assert.ok(sum(allocated) < 3 * size, `allocated ${sum(allocated)} for ${size}`);
  });
});

describe("ZMTP limits: the shared receive budget", () => {
  it("charges frames being assembled and finished parts, and gives everything back on delivery", () => {
    const budget = new ReceiveBudget(MiB);
    const { router } = readyRouter({ receiveBudget: budget });
    const bytes = message([new Uint8Array(1000), new Uint8Array(300_000)]);
    router.session.feed(bytes.subarray(0, 2000), 0);
    // Part 1 (1000 + 64) is finished; part 2 has a 300,000-byte buffer (<= 1 MiB: whole).
    assert.equal(budget.held, 1000 + FRAME_OVERHEAD + 300_000);
    router.session.feed(bytes.subarray(2000), 0);
    assert.equal(router.messages.length, 1);
    assert.equal(budget.held, 0);
  });

  it("a session that cannot take its next allocation closes (ZMTP_RECEIVE_BUDGET); the others keep theirs", () => {
    const budget = new ReceiveBudget(200 * 1024);
    const a = readyRouter({ receiveBudget: budget }).router;
    const b = readyRouter({ receiveBudget: budget }).router;
    const big = message([new Uint8Array(3 * MiB).fill(1)]);
    a.session.feed(big.subarray(0, 9 + 10), 0);
    b.session.feed(big.subarray(0, 9 + 10), 0);
    assert.equal(budget.held, 2 * GROWING_FRAME_START);
    a.session.feed(big.subarray(19, 19 + 100_000), 0); // a grows to 128 KiB: 192 KiB held
    assert.equal(a.closed, undefined);
    b.session.feed(big.subarray(19, 19 + 100_000), 0); // b would need 256 KiB in all
    assert.equal(b.closed?.code, "ZMTP_RECEIVE_BUDGET");
    assert.match(b.closed?.message ?? "", /receive budget of 204800 bytes exhausted/);
    assert.equal(budget.held, 2 * GROWING_FRAME_START, "b gave its 64 KiB back; a holds 128 KiB");
    a.session.feed(big.subarray(19 + 100_000), 0);
    assert.equal(closedCode(a), "ZMTP_RECEIVE_BUDGET", "a needs the whole 3 MiB at last: beyond 200 KiB");
    assert.equal(budget.held, 0);
  });

  it("the direct-read path reports a refused growth as a closed session, not a throw", () => {
    const budget = new ReceiveBudget(GROWING_FRAME_START);
    const { router } = readyRouter({ receiveBudget: budget });
    router.session.feed(concatBytes([longHeader(4 * MiB), new Uint8Array(GROWING_FRAME_START)]), 0);
    assert.equal(router.closed, undefined);
    assert.equal(router.session.readTarget(4096), undefined);
    assert.equal(closedCode(router), "ZMTP_RECEIVE_BUDGET");
    assert.equal(budget.held, 0);
  });

  it("a session closed locally in the middle of a message gives its bytes back", () => {
    const budget = new ReceiveBudget(MiB);
    const { router } = readyRouter({ receiveBudget: budget });
    router.session.feed(message([new Uint8Array(100), new Uint8Array(50_000)]).subarray(0, 500), 0);
    assert.ok(budget.held > 50_000);
    router.session.close();
    assert.equal(budget.held, 0);
  });
});

describe("ZMTP greeting: mechanism field errors say what is wrong", () => {
  const greeting = (field: number[]): Uint8Array => {
    const g = new Uint8Array(64);
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    g.set(field, 12);
    return g;
  };
  const failure = (g: Uint8Array): ZmtpError => {
    try {
      new GreetingParser("NULL").push(g, 0);
    } catch (e) {
      if (e instanceof ZmtpError) return e;
    }
    throw new Error("no ZmtpError");
  };

  it("bytes after NULL\\0 in the mechanism field: not NUL-padded, shown escaped", () => {
    const e = failure(greeting([0x4e, 0x55, 0x4c, 0x4c, 0, 0x58, 0x01]));
    assert.equal(e.code, "ZMTP_BAD_GREETING");
    assert.equal(e.message, 'bad greeting: mechanism field "NULL\\x00X\\x01" is not a NUL-padded name');
  });

  it("an unknown mechanism name is quoted with its unprintable bytes escaped", () => {
    const e = failure(greeting([0x43, 0x55, 0x52, 0x56, 0x45, 0x22, 0xff]));
    assert.equal(e.code, "ZMTP_MECHANISM_MISMATCH");
    assert.equal(e.message, 'peer uses mechanism "CURVE\\"\\xff", this socket uses "NULL"');
  });
});
