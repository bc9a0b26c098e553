// Issue 14 items 4, 5 and 6 in the core: expiry closes connections, the OPEN deadline,
// subscription caps, the per-turn match budget, and rate-limited log lines.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SUBSCRIPTION_REFUSED } from "../../src/broker/status.ts";
import { LogLimiter } from "../../src/broker/log-limit.ts";
import { cancel, credit, Harness, ping, PONG, publish, read, subjects, write } from "./harness.ts";
import type { Sent } from "./harness.ts";

const REFUSED = { type: "ERROR", code: 300, reason: SUBSCRIPTION_REFUSED };

function replies(out: Sent[]): unknown[] {
  return out.map((s) => s.message);
}

describe("broker core: connections are closed, not only forgotten (issue 14 item 4)", () => {
  it("expiry emits a disconnect action for the connection", () => {
    const h = new Harness({ timeout: 1000 });
    h.open("c1", "a");
    h.advance(999);
    assert.deepEqual(h.disconnects(), []);
    h.advance(1);
    assert.deepEqual(h.disconnects(), ["c1"]);
  });

  it("a connection that never OPENs is closed at openTimeout, however active it is", () => {
    const h = new Harness({ timeout: 0, limits: { openTimeout: 500 } });
    h.raw("idle", []);
    for (let t = 0; t < 4; t++) {
      assert.deepEqual(replies(h.send("pinger", ping())), [{ type: "ERROR", code: 500, reason: "" }]);
      h.advance(100);
    }
    h.open("opened", "x");
    assert.equal(h.core.nextDeadline(), 1500);
    h.advance(99);
    assert.deepEqual(h.disconnects(), []);
    h.advance(1);
    assert.deepEqual(h.disconnects().sort(), ["idle", "pinger"]);
    assert.equal(h.core.stats().counters.openTimeouts, 2);
    assert.equal(h.core.stats().connections, 1, "the opened connection stays");
    h.advance(10_000);
    assert.deepEqual(replies(h.send("opened", ping())), [PONG]);
  });

  it("openTimeout 0 disables the OPEN deadline", () => {
    const h = new Harness({ timeout: 0, limits: { openTimeout: 0 } });
    h.raw("idle", []);
    assert.equal(h.core.nextDeadline(), undefined);
    h.advance(1e9);
    assert.equal(h.core.stats().connections, 1);
  });
});

describe("broker core: subscription caps (issue 14 item 5)", () => {
  it("patternsPerConnection: the next STREAM-READ gets ERROR 300, the session and its subscriptions stay", () => {
    const h = new Harness({ limits: { patternsPerConnection: 2 } });
    h.open("p", "producer");
    h.ok("p", write("s"));
    h.open("r", "reader");
    h.ok("r", read("s", "^a"));
    h.ok("r", read("t", "^b"));
    h.ok("r", read("s", "^a")); // the same subscription again is not a new one
    assert.deepEqual(replies(h.send("r", read("s", "^c"))), [REFUSED]);
    assert.equal(h.core.stats().counters.subscriptionsRefused, 1);
    assert.deepEqual(replies(h.send("r", ping())), [PONG]);
    assert.deepEqual(subjects(h.send("p", publish("a1"))), ["a1"]);
    assert.deepEqual(h.send("p", publish("c1")), []);
    h.ok("r", cancel("t"));
    h.ok("r", read("s", "^c"));
    assert.deepEqual(subjects(h.send("p", publish("c2"))), ["c2"]);
  });

  it("patternsPerStream counts distinct patterns: a new one beyond it is refused, a shared one is not", () => {
    const h = new Harness({ limits: { patternsPerStream: 2 } });
    h.open("r1", "r1");
    h.ok("r1", read("s", "^a"));
    h.ok("r1", read("s", "^b"));
    h.open("r2", "r2");
    assert.deepEqual(replies(h.send("r2", read("s", "^c"))), [REFUSED]);
    h.ok("r2", read("s", "^a"));
    h.ok("r2", read("other", "^c"));
    h.disconnect("r1");
    h.ok("r2", read("s", "^c"));
  });

  it("a refused STREAM-READ on a new stream leaves no stream behind", () => {
    const h = new Harness({ limits: { patternsPerConnection: 0 } });
    h.open("r", "r");
    assert.deepEqual(replies(h.send("r", read("s", "x"))), [REFUSED]);
    assert.deepEqual(h.core.stats().streams, []);
  });

  it("anchored literals are looked up, and deliver exactly like matching", () => {
    const h = new Harness();
    h.open("p", "producer");
    h.ok("p", write("s"));
    h.open("r1", "r1");
    h.ok("r1", read("s", "^temp\\.kitchen$"));
    h.ok("r1", read("s", "kitchen")); // r1 matches twice, gets it once
    h.open("r2", "r2");
    h.ok("r2", read("s", "^temp[.]kitchen$"));
    h.open("r3", "r3");
    h.ok("r3", read("s", "^temp$"));
    assert.deepEqual(h.send("p", publish("temp.kitchen")).map((s) => s.conn).sort(), ["r1", "r2"]);
    assert.deepEqual(h.send("p", publish("xtemp.kitchen")).map((s) => s.conn), ["r1"]);
    assert.deepEqual(h.send("p", publish("temp\0tail")).map((s) => s.conn), ["r3"], "subjects stop at NUL, as in C");
    h.ok("r3", cancel("s"));
    assert.deepEqual(h.send("p", publish("temp")), []);
  });
});

describe("broker core: the match budget per turn (issue 14 item 5)", () => {
  function bigStream(h: Harness, patterns: number): void {
    h.open("p", "producer");
    h.ok("p", write("s"));
    // "all" has a pattern at each end, so a paused fan-out meets it twice, turns apart.
    h.open("all", "all");
    h.ok("all", read("s", "^m"));
    for (let i = 0; i < patterns; i++) {
      h.open(`r${i}`, `r${i}`);
      h.ok(`r${i}`, read("s", `^m|x${i}`)); // distinct, not literal, all match "m…"
    }
    h.ok("all", read("s", "m"));
    h.actions.length = 0;
  }

  it("a fan-out beyond matchesPerTurn yields; other clients are served in between; continue finishes it once per reader", () => {
    const h = new Harness({ limits: { matchesPerTurn: 10 } });
    bigStream(h, 50);
    const first = h.send("p", publish("m1"));
    assert.ok(first.length < 10, `at most the budget's worth of matches in one event (${first.length} deliveries)`);
    assert.ok(h.continueAsked(), "the core asks for a continue event");
    assert.deepEqual(replies(h.send("other", ping())), [{ type: "ERROR", code: 500, reason: "" }], "other input is handled");
    const got = [...first];
    // Each first match also compiles its pattern (15 of the budget), so about one pattern a turn.
    for (let turn = 0; turn < 200 && h.continueAsked(); turn++) {
      h.actions.length = 0;
      got.push(...h.event({ type: "continue" }));
    }
    assert.equal(h.continueAsked(), false);
    const conns = got.map((s) => s.conn);
    assert.equal(conns.length, 51, "every reader once (the one with two patterns too)");
    assert.equal(new Set(conns).size, 51);
  });

  it("later STREAM-SENDs on the same stream wait behind a pending fan-out: each reader keeps the order", () => {
    const h = new Harness({ limits: { matchesPerTurn: 10 } });
    bigStream(h, 30);
    // Another stream's fan-out runs in between and reuses the per-reader stamps.
    h.open("q", "q");
    h.ok("q", write("t"));
    h.ok("all", read("t", ".*"));
    const got: Sent[] = [];
    got.push(...h.send("p", publish("m1")));
    got.push(...h.send("p", publish("m2")));
    got.push(...h.send("q", publish("other")));
    got.push(...h.send("p", publish("m3")));
    for (let turn = 0; turn < 50 && h.continueAsked(); turn++) {
      h.actions.length = 0;
      got.push(...h.event({ type: "continue" }));
    }
    const byReader = new Map<string, string[]>();
    for (const s of got) byReader.set(s.conn, [...(byReader.get(s.conn) ?? []), (s.message as { subject: string }).subject]);
    assert.deepEqual(byReader.get("all")?.filter((x) => x !== "other"), ["m1", "m2", "m3"]);
    assert.deepEqual(byReader.get("all")?.filter((x) => x === "other"), ["other"]);
    for (let i = 0; i < 30; i++) assert.deepEqual(byReader.get(`r${i}`), ["m1", "m2", "m3"], `r${i}`);
  });

  it("streamBacklogMessages: STREAM-SENDs beyond the backlog are dropped and counted", () => {
    const h = new Harness({ limits: { matchesPerTurn: 10, streamBacklogMessages: 2 } });
    bigStream(h, 30);
    h.send("p", publish("m1")); // started: waits for its turn
    h.send("p", publish("m2"));
    h.send("p", publish("m3"));
    const dropped = h.core.stats().counters.dropped;
    h.send("p", publish("m4"));
    assert.equal(h.core.stats().counters.dropped, dropped + 1);
    const got: string[] = [];
    for (let turn = 0; turn < 50 && h.continueAsked(); turn++) {
      h.actions.length = 0;
      got.push(...h.event({ type: "continue" }).filter((s) => s.conn === "all").map((s) => (s.message as { subject: string }).subject));
    }
    assert.deepEqual(got.filter((x) => x === "m4"), []);
  });

  it("credit-aware readers of a paused fan-out still get buffered deliveries in order", () => {
    const h = new Harness({ limits: { matchesPerTurn: 5 } });
    bigStream(h, 10);
    h.send("all", credit(0));
    h.send("p", publish("m1"));
    h.send("p", publish("m2"));
    // Each first match also compiles its pattern (15 of the budget), so about one pattern a turn.
    for (let turn = 0; turn < 200 && h.continueAsked(); turn++) {
      h.actions.length = 0;
      h.event({ type: "continue" });
    }
    assert.deepEqual(subjects(h.send("all", credit(5))), ["m1", "m2"]);
  });
});

describe("log rate limit (issue 14 item 6)", () => {
  it("LogLimiter: the first `burst` lines of a kind pass, the rest are summed once per window", () => {
    const limiter = new LogLimiter(3, 1000);
    const admitted = Array.from({ length: 10 }, () => limiter.admit("refused", 0));
    assert.deepEqual(admitted, [true, true, true, false, false, false, false, false, false, false]);
    assert.equal(limiter.admit("other", 0), true, "kinds are counted apart");
    assert.equal(limiter.nextDue(), 1000);
    assert.deepEqual(limiter.due(999), []);
    assert.deepEqual(limiter.due(1000), [{ kind: "refused", count: 7 }]);
    assert.equal(limiter.nextDue(), undefined);
    assert.equal(limiter.admit("refused", 1000), true, "a new window");
  });

  it("the core writes at most logBurst lines of a kind per window, then one summary at the window's end", () => {
    const h = new Harness({ timeout: 0, limits: { maxConnections: 1, logBurst: 3, logWindow: 60_000 } });
    h.open("c0", "c0");
    for (let i = 1; i <= 50; i++) h.send(`c${i}`, ping());
    const lines = () => h.actions.filter((a) => a.type === "log" && a.level !== "debug");
    assert.equal(lines().length, 3);
    assert.equal(h.core.stats().counters.logsSuppressed, 47);
    assert.equal(h.core.nextDeadline(), 61_000, "the summary is scheduled");
    h.advance(60_000);
    const summary = lines().at(-1);
    assert.ok(summary?.type === "log");
    assert.equal(summary.message, '47 more "connection refused: limit reached" log lines suppressed');
    assert.equal(h.core.nextDeadline(), undefined);
  });
});
