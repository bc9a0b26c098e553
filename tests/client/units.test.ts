// The client's building blocks in isolation: replay set, credit accounting, FIFO, content.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { toFrames } from "../../src/client/content.ts";
import { CreditWindow } from "../../src/client/receive/credit.ts";
import { MlmError } from "../../src/client/errors.ts";
import { Fifo } from "../../src/client/queue.ts";
import { Registrations } from "../../src/client/session/registrations.ts";

describe("replay state is a set (mlm-protocol.md §12.2: the C client's replay log loops forever)", () => {
  const read = (stream: string, pattern: string) => ({ type: "STREAM_READ" as const, stream, pattern });

  it("only confirmed registrations replay, each once, in the order they were made", () => {
    const regs = new Registrations();
    const a = regs.request(read("s", "a"));
    const b = regs.request({ type: "SERVICE_OFFER", address: "svc", pattern: ".*" });
    const again = regs.request(read("s", "a"));
    assert.equal(again, a);
    regs.confirm(b);
    assert.deepEqual(regs.replayable().map((e) => e.message), [b.message]);
    regs.confirm(a);
    assert.deepEqual(regs.replayable().map((e) => e.message), [a.message, b.message]);
  });

  it("removeConsumer drops every pattern of that stream, even one still waiting for its OK", () => {
    const regs = new Registrations();
    const a = regs.request(read("s", "a"));
    const b = regs.request(read("s", "b"));
    const other = regs.request(read("t", "a"));
    regs.confirm(a);
    regs.cancelStream("s");
    regs.confirm(b); // the late OK of a cancelled subscription must not bring it back
    regs.confirm(other);
    assert.deepEqual(regs.replayable().map((e) => e.message), [other.message]);
  });

  it("a new producer replaces the old one; a refused command is forgotten unless an identical one succeeded", () => {
    const regs = new Registrations();
    const w1 = regs.request({ type: "STREAM_WRITE", stream: "one" });
    regs.confirm(w1);
    const w2 = regs.request({ type: "STREAM_WRITE", stream: "two" });
    regs.confirm(w2);
    assert.deepEqual(regs.replayable().map((e) => e.message), [{ type: "STREAM_WRITE", stream: "two" }]);
    const r = regs.request(read("s", "x"));
    regs.confirm(r);
    regs.refuse(regs.request(read("s", "x")));
    assert.equal(regs.replayable().length, 2);
    const refused = regs.request(read("s", "y"));
    regs.refuse(refused);
    assert.equal(regs.size, 2);
    regs.forget(r);
    assert.deepEqual(regs.replayable().map((e) => e.message), [{ type: "STREAM_WRITE", stream: "two" }]);
  });
});

describe("credit accounting", () => {
  it("announces the window on open, returns consumption in quarter-window batches", () => {
    const sent: number[] = [];
    const credit = new CreditWindow(8, false, (n) => sent.push(n));
    credit.sessionOpened();
    for (let i = 0; i < 8; i++) credit.delivered();
    assert.equal(credit.balance, 0);
    credit.consumed();
    assert.deepEqual(sent, [8]);
    credit.consumed();
    assert.deepEqual(sent, [8, 2]);
    for (let i = 0; i < 6; i++) credit.consumed();
    assert.deepEqual(sent, [8, 2, 2, 2, 2]);
    assert.equal(credit.balance, 8);
  });

  it("a new session announces what is left; manual mode only moves on add()", () => {
    const sent: number[] = [];
    const credit = new CreditWindow(5, true, (n) => sent.push(n));
    credit.sessionOpened();
    credit.delivered();
    credit.delivered();
    credit.consumed();
    credit.add(1);
    credit.sessionOpened();
    assert.deepEqual(sent, [5, 1, 4]);
  });

  it("disabled credit sends nothing; a large window is split into 16-bit CREDITs", () => {
    const none: number[] = [];
    const off = new CreditWindow(false, false, (n) => none.push(n));
    off.sessionOpened();
    off.delivered();
    off.consumed();
    assert.deepEqual(none, []);
    const big: number[] = [];
    new CreditWindow(200_000, false, (n) => big.push(n)).sessionOpened();
    assert.deepEqual(big, [65535, 65535, 65535, 3395]);
  });
});

describe("content and FIFO", () => {
  it("strings become UTF-8 frames and Uint8Arrays are kept as the same objects", () => {
    const bytes = new Uint8Array([1, 2]);
    const frames = toFrames(["é", bytes]);
    assert.deepEqual([...frames[0]!], [0xc3, 0xa9]);
    assert.equal(frames[1], bytes);
    assert.equal(toFrames(bytes)[0], bytes);
    assert.deepEqual(toFrames([]), []);
    assert.throws(() => toFrames(5 as never), (e: unknown) => e instanceof MlmError && e.code === "MLM_BAD_ARGUMENT");
  });

  it("Fifo keeps order across compaction and supports removal", () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 3000; i++) assert.equal(q.shift(), i);
    assert.equal(q.length, 2000);
    assert.equal(q.remove(4000), true);
    assert.equal(q.remove(1), false);
    assert.equal(q.peek(), 3000);
    const rest = q.drain();
    assert.equal(rest.length, 1999);
    assert.equal(rest.includes(4000), false);
    assert.equal(q.shift(), undefined);
  });
});
