// A Python worker never crashes on bad input: every malformed call gets one error reply with
// the documented code, and the worker keeps serving. Also its payload limit, at the limit.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pack } from "msgpackr";
import { MlmClient } from "../../src/client/client.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import type { Delivery } from "../../src/client/types.ts";
import { decodeEnvelope } from "../../src/rpc/wire/envelope.ts";
import { findPython, NEED_PYTHON, Py, pythonQwenRig } from "./helpers.ts";

const LIMIT = 1000;
const ext = (type: number, data: number[]): Uint8Array => new Uint8Array([0xd6, type, ...data]);
const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

describe("python worker: hostile input", () => {
  const fixture = pythonQwenRig();

  async function start(): Promise<{ call(subject: string, frames: Uint8Array[]): Promise<Record<string, unknown>> }> {
    const python = findPython();
    assert.ok(python, NEED_PYTHON);
    const worker = fixture.rig.own(new Py(python, "py_worker.py", [fixture.rig.endpoint, fixture.schemaPath, "H", String(LIMIT)]));
    await worker.waitFor("ready");
    const mlm = fixture.rig.own(await MlmClient.connect(fixture.rig.endpoint, { address: "raw-caller" }));
    let n = 0;
    return {
      // The final reply's header kind plus its payload (error body or result).
      async call(subject, frames) {
        const tracker = `t-${n++}`;
        mlm.sendFor("qwen3vl", subject, frames, { tracker, timeout: 5000 });
        for (;;) {
          const d: Delivery = await mlm.receive({ signal: AbortSignal.timeout(5000) });
          assert.equal(d.tracker, tracker);
          const { header, payload } = decodeEnvelope(d.content) as { header: { kind: string }; payload?: unknown };
          if (header.kind === "ack" || header.kind === "progress") continue;
          return { kind: header.kind, ...(payload as Record<string, unknown>) };
        }
      },
    };
  }

  const callHeader = (more: Record<string, unknown> = {}): Uint8Array =>
    pack({ version: 2, kind: "call", timeout: 5000, deadline: Date.now() + 5000, ...more });

  test("each malformed call gets its error code, and the worker keeps serving", async () => {
    const raw = await start();
    const good = pack({ prompt: "x" });
    const cases: Array<[string, Uint8Array[], string]> = [
      ["no frames", [], "RPC_BAD_ENVELOPE"],
      ["not msgpack", [new Uint8Array([0xc1])], "RPC_BAD_ENVELOPE"],
      ["version 1", [concat(pack({ version: 1, kind: "call", timeout: 5000, deadline: Date.now() + 5000 }), good)], "RPC_BAD_ENVELOPE"],
      ["a result instead of a call", [concat(pack({ version: 2, kind: "result" }), good)], "RPC_BAD_ENVELOPE"],
      ["no deadline", [concat(pack({ version: 2, kind: "call", timeout: 5000 }), good)], "RPC_BAD_ENVELOPE"],
      ["no payload", [callHeader()], "RPC_BAD_ENVELOPE"],
      ["bytes after the payload", [concat(callHeader(), good, new Uint8Array([0x01]))], "RPC_BAD_ENVELOPE"],
      ["reference to a missing frame", [concat(callHeader(), new Uint8Array([0x82, 0xa6, ...new TextEncoder().encode("prompt"), 0xa1, 0x78, 0xa5, ...new TextEncoder().encode("image")]), ext(1, [0, 0, 0, 0]))], "RPC_BAD_ENVELOPE"],
      ["an unreferenced frame", [concat(callHeader(), good), new Uint8Array([1, 2])], "RPC_BAD_ENVELOPE"],
      ["another ext type", [concat(callHeader(), new Uint8Array([0x81, 0xa6, ...new TextEncoder().encode("prompt")]), ext(5, [0, 0, 0, 0]))], "RPC_BAD_ENVELOPE"],
      ["an integer map key", [concat(callHeader(), new Uint8Array([0x81, 0x01, 0xa1, 0x78]))], "RPC_BAD_ENVELOPE"],
      ["unknown method", [concat(callHeader(), good)], "RPC_UNKNOWN_METHOD"],
      ["invalid input", [concat(callHeader(), pack({ prompt: 5 }))], "RPC_VALIDATION"],
      ["timeout 2^53 (over the header number bound)", [concat(callHeader({ timeout: 2 ** 53 }), good)], "RPC_BAD_ENVELOPE"],
    ];
    for (const [name, frames, code] of cases) {
      const reply = await raw.call(name === "unknown method" ? "nope" : "infer", frames);
      assert.equal(reply["kind"], "error", name);
      assert.equal(reply["code"], code, `${name}: ${String(reply["message"])}`);
    }
    // timeout 0 = no deadline (deadline 0 ignored): the call runs to its end.
    assert.deepEqual(await raw.call("infer", [concat(callHeader({ timeout: 0, deadline: 0 }), good)]), { kind: "result", text: "H:x:0", tokens: 0 });
    // An out-of-band image still works after all that.
    const image = new Uint8Array([9, 8, 7]);
    const input = concat(new Uint8Array([0x82, 0xa6, ...new TextEncoder().encode("prompt"), 0xa2, 0x6f, 0x6b, 0xa5, ...new TextEncoder().encode("image")]), ext(1, [0, 0, 0, 0]));
    assert.deepEqual(await raw.call("infer", [concat(callHeader(), input), image]), { kind: "result", text: "H:ok:24", tokens: 3 });
  });

  test(`an input of exactly maxPayload (${LIMIT}) bytes runs; one byte more is RPC_PAYLOAD_TOO_LARGE with size and limit`, async () => {
    const raw = await start();
    const sized = (bytes: number): Uint8Array => {
      // {prompt: "x", image: bin32 of n bytes}, so that the size can be set to the byte and the output stays small.
      const n = bytes - 21;
      const head = [0x82, 0xa6, ...new TextEncoder().encode("prompt"), 0xa1, 0x78, 0xa5, ...new TextEncoder().encode("image"), 0xc6, 0, 0, n >> 8, n & 255];
      return concat(new Uint8Array(head), new Uint8Array(n));
    };
    assert.equal(sized(LIMIT).length, LIMIT);
    const ok = await raw.call("infer", [concat(callHeader(), sized(LIMIT))]);
    assert.equal(ok["kind"], "result", String(ok["message"]));
    const over = await raw.call("infer", [concat(callHeader(), sized(LIMIT + 1))]);
    assert.equal(over["code"], "RPC_PAYLOAD_TOO_LARGE");
    assert.deepEqual(over["details"], { size: LIMIT + 1, limit: LIMIT });
  });
});
