// docs/rpc-wire.md rules on python/malamute, checked without a broker by tests/python/py_rules.py
// (fake MLM session, scripted ROUTER): no deadline on timeout 0, the call header's id, unknown
// kinds, the msgpack profile, numbers, the caller's protocol-violation outcomes, cancel memory,
// and ERROR 300 answered by a PING instead of a re-open.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { contractJsonSchema } from "../../src/rpc/json-schema.ts";
import { qwen3vl } from "../rpc/contracts.ts";
import { findPython, NEED_PYTHON, Py } from "./helpers.ts";

describe("python package: wire rules", () => {
  let dir: string;
  let results: Record<string, unknown>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "malamute-pyrules-"));
    const schemaPath = join(dir, "qwen3vl.schema.json");
    writeFileSync(schemaPath, JSON.stringify(contractJsonSchema(qwen3vl)));
    const python = findPython();
    assert.ok(python, NEED_PYTHON);
    const script = new Py(python, "py_rules.py", [schemaPath]);
    await script.exited();
    assert.equal(script.child.exitCode, 0, script.stderr);
    results = Object.fromEntries(script.lines.filter(Boolean).map((l) => {
      const { name, value } = JSON.parse(l) as { name: string; value: unknown };
      return [name, value];
    }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("every section of py_rules.py ran to its end", () => {
    assert.equal(results["crashed"], undefined);
  });

  test("a call with timeout 0 has no deadline: the worker runs it to the end and replies with MLM timeout 0", () => {
    assert.deepEqual(results["no-deadline"], {
      kinds: ["ack", "result"], timeouts: [0, 0], payload: { text: "forever", tokens: 1 },
      ctx: { deadline_ms: null, remaining: "inf" },
    });
  });

  test("the worker answers with the call header's id and CONFIRMs the delivery's tracker; a non-string id is a bad envelope", () => {
    assert.deepEqual(results["header-id"], [["mailbox", "real-id"], ["mailbox", "real-id"], ["confirm", "wrong-tracker"]]);
    assert.deepEqual(results["header-id-rejected"], [["mailbox", "real-id", "RPC_UNKNOWN_METHOD"], ["confirm", "tr2", null]]);
    assert.deepEqual(results["header-id-not-a-string"], [["mailbox", "tr3", "RPC_BAD_ENVELOPE"], ["confirm", "tr3", null]]);
  });

  test("the caller puts the call id in the header only on a broker without extensions", () => {
    assert.deepEqual(results["call-id-header"], { extended: false, classic: true });
  });

  test("a caller ignores a reply of an unknown kind (counted) and the call goes on; no kind fails and cancels", () => {
    assert.deepEqual(results["unknown-kind"], { ok: { text: "t", tokens: 1 }, sent: [], stats: 1 });
    // Failing a call cancels it on the worker (here before any ack: withdraw, then the published cancel).
    assert.deepEqual(results["no-kind"], { code: "RPC_BAD_ENVELOPE", details: null, sent: ["confirm", "stream"] });
  });

  test("msgpack profile: non-str keys and ext types other than 1 are bad envelopes with and without binary frames; str 32 keys and header numbers up to 2^53-1 pass", () => {
    assert.deepEqual(results["envelope"], {
      "timestamp": "RPC_BAD_ENVELOPE", "timestamp+frame": "RPC_BAD_ENVELOPE", "ext5+frame": "RPC_BAD_ENVELOPE",
      "bin-key": "RPC_BAD_ENVELOPE", "bin-key+frame": "RPC_BAD_ENVELOPE", "int-key+frame": "RPC_BAD_ENVELOPE",
      "str32-key": "ok", "str32-key+frame": "ok", "timestamp-in-header": "RPC_BAD_ENVELOPE",
      "seq-2^53-1": "ok", "seq-2^53": "RPC_BAD_ENVELOPE", "seq-2.0": "ok",
      "unknown-kind": "unknown-kind", "no-kind": "RPC_BAD_ENVELOPE", "kind-not-a-string": "RPC_BAD_ENVELOPE",
      "unknown-kind-v3": "RPC_BAD_ENVELOPE",
    });
  });

  test("numbers: ints are numbers, 2.0 is an integer, integers within ±(2^53-1), no int beyond ±2^53 as a number", () => {
    assert.deepEqual(results["numbers"], {
      "number-int": true, "number-float": true, "number-2^53": true, "number-2^53+1": false, "number--2^53-1": false,
      "number-big-float": true, "integer-2.0": true, "integer-2^53-1": true, "integer-2^53": false,
      "integer--(2^53-1)": true, "integer--2^53": false,
    });
  });

  test("protocol violations: an error without a string message fails, a bad progress fails with role progress, a late ack is cancelled", () => {
    assert.deepEqual(results["error-without-message"], { code: "RPC_BAD_ENVELOPE", details: null, sent: ["confirm", "stream"] });
    assert.deepEqual(results["bad-progress"], {
      code: "RPC_VALIDATION", details: { role: "progress", issues: [{ path: "/tokens", message: "must be integer" }] },
      sent: ["confirm", "stream"],
    });
    assert.deepEqual(results["late-ack"], { sent: [["mailbox", "wk", "gone.1", "cancel"]], stale: 1 });
  });

  test("max_buffered_chunks (here 2): 2 unread chunks are kept, a third fails the call with RPC_RESOURCE_EXHAUSTED", () => {
    assert.deepEqual(results["buffered-chunks-at-limit"], { ok: ["0", "1"], sent: [] });
    assert.deepEqual(results["buffered-chunks-over-limit"], { code: "RPC_RESOURCE_EXHAUSTED", details: null, sent: ["confirm", "stream"] });
  });

  test("max_waiting (here 1) on a broker without credit: concurrency + 1 calls are held, one more is RPC_RESOURCE_EXHAUSTED; an anonymous call gets no reply but a CONFIRM", () => {
    assert.deepEqual(results["max-waiting"], {
      replies: [["m0", "ack"], ["m0", "result"], ["m1", "ack"], ["m1", "result"], ["m2", "error"]],
      confirms: ["anon", "m0", "m1", "m2"], refused: 1,
    });
  });

  test("a chunk or progress value over max_payload (here 100) ends the call with one final RPC_PAYLOAD_TOO_LARGE", () => {
    assert.deepEqual(results["too-large"], {
      replies: [["big-progress", "error", "RPC_PAYLOAD_TOO_LARGE"], ["real-id", "chunk", "small"], ["real-id", "error", "RPC_PAYLOAD_TOO_LARGE"]],
    });
  });

  test("cancel memory: 60 s for a direct cancel, at most 1 hour; other control messages are counted", () => {
    assert.deepEqual(results["cancel-memory"], { direct: true, capped: true, ignored: 1 });
  });

  test("ERROR 300 is answered by a PING, never a re-open; the ERROR 500 to that PING re-opens on a fresh connection", () => {
    assert.deepEqual(results["error-300"], {
      sequence: [[0, "HELLO"], [0, "OPEN"], [0, "PING"], [1, "HELLO"], [1, "OPEN"]], reopens: 1,
    });
  });
});
