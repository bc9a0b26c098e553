// Integers beyond ±(2^53 - 1) are never passed on changed: integer schemas refuse them, and
// msgpack int64/uint64 values that a number cannot hold exactly decode as bigint.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import { MlmClient } from "../../src/client/client.ts";
import { parseCallInput } from "../../src/cli/values.ts";
import { decodeValue, generalDecode } from "../../src/rpc/wire/codec.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { decodeEnvelope, encodeHeader } from "../../src/rpc/wire/envelope.ts";
import { RpcValidationError } from "../../src/rpc/errors.ts";
import { fastDecode } from "../../src/rpc/wire/msgpack-read.ts";
import { schemaCodec } from "../../src/rpc/wire/schema-codec.ts";
import { compiled } from "../../src/rpc/shared/validate.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { memoryIo } from "../cli/memory-io.ts";
import { rejection, type Rig, rig } from "./harness.ts";

const big = defineService("bigint", {
  echo: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer() }) },
});

/** msgpack `{"n": <uint64 2^63 + 1>}` and `{"n": <int64 -(2^63) + 1>}`. */
const U64 = [0x81, 0xa1, 0x6e, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0x01];
const I64 = [0x81, 0xa1, 0x6e, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0x01];

describe("integers beyond the safe range", () => {
  it("an integer schema refuses them (and keeps the user's own bounds)", () => {
    const schema = Type.Object({ n: Type.Integer(), m: Type.Optional(Type.Integer({ minimum: 1 })) });
    const check = compiled(schema);
    assert.equal(check.Check({ n: 2 ** 63 + 1 }), false);
    assert.equal(check.Check({ n: -(2 ** 53) }), false);
    assert.equal(check.Check({ n: Number.MAX_SAFE_INTEGER, m: 1 }), true);
    assert.equal(check.Check({ n: 1, m: 0 }), false);
    // A number schema still takes large doubles: they are what they say.
    assert.equal(compiled(Type.Object({ x: Type.Number() })).Check({ x: 2 ** 63 }), true);
  });

  it("the fast decoder and the schema codec give uint64/int64 beyond 2^53 as exact bigints, smaller ones as numbers", () => {
    assert.deepEqual(fastDecode(new Uint8Array(U64)), { n: 9223372036854775809n });
    assert.deepEqual(fastDecode(new Uint8Array(I64)), { n: -9223372036854775807n });
    assert.deepEqual(fastDecode(new Uint8Array([0xcf, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), Number.MAX_SAFE_INTEGER);
    assert.deepEqual(fastDecode(new Uint8Array([0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])), -2);
    const codec = schemaCodec(big.methods.echo.input)!;
    assert.ok(codec !== undefined);
    assert.deepEqual(codec.decode(new Uint8Array(U64), 0), { n: 9223372036854775809n });
  });

  it("the msgpackr fallback decodes them as bigint too", () => {
    assert.deepEqual(generalDecode(new Uint8Array(U64)), { n: 9223372036854775809n });
    // A map with a non-string key makes the fast decoder give up: msgpackr decodes the rest.
    const mixed = decodeValue(new Uint8Array([0x82, 0x01, 0x02, 0xa1, 0x6e, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0x01])) as Record<string, unknown>;
    assert.equal(mixed["n"], 9223372036854775809n);
  });

  it("`malamute call` refuses an unsafe integer literal in its JSON input, and takes safe ones and large doubles", async () => {
    await assert.rejects(parseCallInput('{"n": 9223372036854775809}', memoryIo()), /9223372036854775809.*2\^53/);
    await assert.rejects(parseCallInput('[-9007199254740993]', memoryIo()), /-9007199254740993/);
    assert.deepEqual(await parseCallInput('{"n": 9007199254740991, "s": "9223372036854775809", "f": 1e300, "g": 12345678901234567890.5}', memoryIo()), {
      n: 9007199254740991, s: "9223372036854775809", f: 1e300, g: 12345678901234567890.5,
    });
  });
});

describe("integers beyond the safe range over RPC", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it("the client refuses them with RPC_VALIDATION before sending", async () => {
    const client = r.own(await connect(r.endpoint, { big }));
    const error = await rejection(client.big.echo({ n: 2 ** 63 + 1 }));
    assert.ok(error instanceof RpcValidationError);
    assert.equal(error.code, "RPC_VALIDATION");
    assert.equal(client.stats().calls, 0);
  });

  it("the worker answers RPC_VALIDATION to a uint64 beyond 2^53 from another language, and the handler never runs", async () => {
    let ran = 0;
    r.own(await serve(r.endpoint, big, {
      echo: ({ n }) => {
        ran++;
        return Promise.resolve({ n });
      },
    }));
    const caller = r.own(await MlmClient.connect(r.endpoint, { address: "foreign" }));
    const header = encodeHeader({ kind: "call", timeout: 5000, deadline: Date.now() + 5000 });
    const frame = new Uint8Array([...header, ...U64]);
    caller.sendFor("bigint", "echo", [frame], { tracker: "f.1", timeout: 5000 });
    const reply = await caller.receive({ signal: AbortSignal.timeout(5000) });
    const { header: h, payload } = decodeEnvelope(reply.content);
    assert.equal(h.kind, "error");
    assert.equal((payload as { code: string }).code, "RPC_VALIDATION");
    assert.equal(ran, 0);
  });
});
