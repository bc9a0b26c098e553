// Work the core spreads over turns so that a burst cannot stall other clients: expiries
// (`expiriesPerTurn`) and the matching of stream patterns (within `matchesPerTurn`; a
// STREAM-READ compiles at most its one pattern, charged to that budget).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { compilePattern, exactSubject } from "../../src/broker/pattern.ts";
import { credit, Harness, INVALID, mail, offer, ping, publish, read, request, write } from "./harness.ts";
import type { Sent } from "./harness.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";

/** Trackers of the CONFIRM 301s in `out`. */
function expired(out: Sent[]): string[] {
  return out
    .filter((s) => s.message.type === "CONFIRM" && s.message.code === ConfirmStatus.EXPIRED)
    .map((s) => (s.message as { tracker: string }).tracker);
}

/** Whether the actions from index `from` on ask for a continue event. */
function asksContinue(h: Harness, from: number): boolean {
  return h.actions.slice(from).some((a) => a.type === "continue");
}

/**
 * Feed `continue` events while the core asks for them (it did since `from` in `h.actions`;
 * at most `max`); what each one sent. `h.actions` keeps accumulating.
 */
function continueAll(h: Harness, from = 0, max = 1000): Sent[][] {
  const turns: Sent[][] = [];
  let asked = asksContinue(h, from);
  while (asked && turns.length < max) {
    const start = h.actions.length;
    turns.push(h.event({ type: "continue" }));
    asked = asksContinue(h, start);
  }
  assert.equal(asked, false, "the work ends");
  return turns;
}

const openAs = (address: string): MlmMessage => ({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address });

function refusedLogs(h: Harness, command: string): number {
  return h.actions.filter((a) => a.type === "log" && a.message === `${command} refused: invalid pattern`).length;
}

describe("broker core: expiries per turn (expiriesPerTurn)", () => {
  it("a burst of expiring requests is split across turns, each expired once; other input is served in between", () => {
    const h = new Harness({ timeout: 0, limits: { expiriesPerTurn: 10 } });
    h.open("c", "caller");
    for (let i = 0; i < 35; i++) assert.deepEqual(h.send("c", request("nobody", "s", "x", `t${i}`, 100)), []);
    h.actions.length = 0;
    const first = expired(h.advance(100));
    assert.equal(first.length, 10, "at most expiriesPerTurn in one event");
    assert.ok(h.continueAsked(), "the rest waits for a continue event");
    // Other input is handled in between (each event also does its share of expiries).
    const between = h.send("x", ping());
    assert.deepEqual(between.filter((s) => s.conn === "x").map((s) => s.message), [INVALID]);
    assert.ok(expired(between).length <= 10);
    const all = [...first, ...expired(between), ...continueAll(h).flatMap((turn) => {
      assert.ok(expired(turn).length <= 10);
      return expired(turn);
    })];
    assert.deepEqual(all.sort(), Array.from({ length: 35 }, (_, i) => `t${i}`).sort(), "each expires once");
    assert.equal(h.core.stats().counters.expired, 35);
    assert.equal(h.core.stats().services.length, 0, "the empty service is forgotten");
  });

  it("at the limit: exactly expiriesPerTurn due expire in one event without a continue; one more needs one", () => {
    const h = new Harness({ timeout: 0, limits: { expiriesPerTurn: 10 } });
    h.open("c", "caller");
    for (let i = 0; i < 10; i++) h.send("c", request("nobody", "s", "x", `a${i}`, 100));
    for (let i = 0; i < 11; i++) h.send("c", request("nobody", "s", "x", `b${i}`, 200));
    h.actions.length = 0;
    assert.equal(expired(h.advance(100)).length, 10);
    assert.equal(h.continueAsked(), false);
    h.actions.length = 0;
    assert.equal(expired(h.advance(100)).length, 10);
    assert.ok(h.continueAsked());
    assert.equal(continueAll(h).flatMap(expired).length, 1);
  });

  it("a request past its deadline is never delivered, even when its expiry waits for a later turn", () => {
    const h = new Harness({ timeout: 0, limits: { expiriesPerTurn: 2 } });
    h.open("c", "caller");
    for (let i = 0; i < 10; i++) h.send("c", request("svc", "s", "x", `t${i}`, 100));
    h.send("c", request("svc", "s", "x", "late", 0));
    h.actions.length = 0;
    const got = h.advance(100);
    assert.ok(h.continueAsked(), "expiries are left over");
    // A worker with credit arrives before the continue event (each event also expires its share).
    got.push(...h.send("w", openAs("worker")), ...h.send("w", offer("svc", ".*")), ...h.send("w", credit(100)));
    got.push(...continueAll(h).flat());
    const delivered = got.filter((s) => s.message.type === "SERVICE_DELIVER").map((s) => (s.message as { tracker: string }).tracker);
    assert.deepEqual(delivered, ["late"], "only the request without a deadline reaches the worker");
    assert.deepEqual(expired(got).sort(), Array.from({ length: 10 }, (_, i) => `t${i}`), "every overdue one is expired once");
    assert.equal(h.core.stats().counters.expired, 10);
  });

  it("a mail past its deadline is never delivered when its owner connects before the expiry's turn", () => {
    const h = new Harness({ timeout: 0, limits: { expiriesPerTurn: 1 } });
    h.open("c", "caller");
    for (let i = 0; i < 4; i++) h.send("c", mail("bob", "s", `old${i}`, `m${i}`, 100));
    h.send("c", mail("bob", "s", "new", "keep", 0));
    h.actions.length = 0;
    const got = h.advance(100);
    assert.ok(h.continueAsked());
    got.push(...h.send("b", openAs("bob")));
    got.push(...continueAll(h).flat());
    const delivered = got.filter((s) => s.message.type === "MAILBOX_DELIVER").map((s) => (s.message as { tracker: string }).tracker);
    assert.deepEqual(delivered, ["keep"]);
    assert.deepEqual(expired(got).sort(), ["m0", "m1", "m2", "m3"]);
    assert.equal(h.core.stats().mailboxes.length, 0);
  });

  it("idle connections expiring together are closed across turns", () => {
    const h = new Harness({ timeout: 1000, limits: { expiriesPerTurn: 10 } });
    for (let i = 0; i < 25; i++) h.open(`c${i}`, `a${i}`);
    h.actions.length = 0;
    h.advance(1000);
    assert.equal(h.disconnects().length, 10);
    assert.ok(h.continueAsked());
    continueAll(h);
    assert.equal(h.disconnects().length, 25);
    assert.equal(new Set(h.disconnects()).size, 25);
    assert.equal(h.core.stats().connections, 0);
  });
});

describe("broker core: patterns are checked when subscribed, matched lazily", () => {
  it("an invalid STREAM-READ pattern gets ERROR 300 `invalid pattern: …`, counted; a flood is one reply per command and the session stays", () => {
    const h = new Harness({ limits: { patternsPerConnection: 100, logBurst: 10_000, matchesPerTurn: 10 } });
    h.open("r", "reader");
    for (let i = 0; i < 150; i++) {
      const source = `(x${i}`;
      const out = h.send("r", read("s", source));
      assert.deepEqual(out.map((s) => s.message), [{ type: "ERROR", code: 300, reason: `invalid pattern: ${compilePattern(source).error}` }]);
      assert.equal(h.continueAsked(), false, "a STREAM-READ leaves no work for later turns");
    }
    assert.equal(h.core.stats().counters.subscriptionsRefused, 150);
    assert.equal(refusedLogs(h, "STREAM-READ"), 150);
    assert.deepEqual(h.core.stats().streams, [], "nothing subscribed, the stream reclaimed");
    assert.deepEqual(h.send("r", ping()).map((s) => s.message), [{ type: "CONNECTION_PONG" }]);
    // Refusals take none of the subscription cap: 100 valid patterns still fit.
    for (let i = 0; i < 100; i++) h.ok("r", read("s", `^x${i}(a|b)`));
    h.open("p", "producer");
    h.ok("p", write("s"));
    const got = [...h.send("p", publish("x7b")), ...continueAll(h).flat()];
    assert.deepEqual(got.map((s) => s.conn), ["r"]);
  });

  it("an invalid SERVICE-OFFER pattern gets ERROR 300 `invalid pattern: …`, counted; no offer is made", () => {
    const h = new Harness({ limits: { offersPerConnection: 1 } });
    h.open("w", "worker");
    const out = h.send("w", offer("svc", "a)b"));
    assert.deepEqual(out.map((s) => s.message), [{ type: "ERROR", code: 300, reason: `invalid pattern: ${compilePattern("a)b").error}` }]);
    assert.equal(h.core.stats().counters.subscriptionsRefused, 1);
    assert.equal(refusedLogs(h, "SERVICE-OFFER"), 1);
    assert.deepEqual(h.core.stats().services, []);
    h.ok("w", offer("svc", ".*"));
  });

  it("lazily compiled patterns deliver as before: each matching reader once, literals through the exact index", () => {
    const h = new Harness({ limits: { matchesPerTurn: 20 } });
    h.open("p", "producer");
    h.ok("p", write("s"));
    const patterns = ["^temp\\.kitchen$", "temp", "^t.*n$", "^(temp|hum)\\.", "^temp\\.k$", "x+y"];
    patterns.forEach((pattern, i) => {
      h.open(`r${i}`, `r${i}`);
      h.ok(`r${i}`, read("s", pattern));
    });
    const got = [...h.send("p", publish("temp.kitchen")), ...continueAll(h).flat()];
    assert.deepEqual(got.map((s) => s.conn).sort(), ["r0", "r1", "r2", "r3"]);
  });

  it("exactSubject finds what compilePattern(...).exact is, without compiling", () => {
    const sources = [
      "^a$", "^$", "^a\\.b$", "^a\\d$", "^a\\0b$", "^é$", "^a$$", "^a\\$", "^.*$", "^a.*$", "^(a)$", "a$", "^a",
      "^a\\", "^a]$", "^a{2}$", "^a\0b$", "^\\n$", "^\\t$", "^a\\$$", "^a|b$", "^a?$", "^[a]$", `^${"a".repeat(1100)}$`,
    ];
    // Deterministic fuzz over the characters that matter to literal detection.
    const alphabet = ["^", "$", "a", "b", ".", "\\", "*", "+", "?", "(", ")", "[", "]", "|", "{", "\0", "d", "n", "é"];
    let seed = 42;
    for (let n = 0; n < 5000; n++) {
      let s = seed % 3 === 0 ? "^" : "";
      const len = 1 + (seed % 7);
      for (let i = 0; i < len; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        s += alphabet[seed % alphabet.length];
      }
      sources.push(seed % 2 === 0 ? `${s}$` : s);
    }
    for (const source of sources) {
      assert.equal(exactSubject(source), compilePattern(source).exact, JSON.stringify(source));
    }
    assert.equal(exactSubject("^temp\\.kitchen$"), "temp.kitchen");
  });
});
