import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import Type, { type TSchema } from "typebox";
import { Bytes } from "../../src/rpc/bytes.ts";
import { decodePayload, encodePayload, generalEncode } from "../../src/rpc/wire/codec.ts";
import { encodeHeader } from "../../src/rpc/wire/envelope.ts";
import { methodInfo } from "../../src/rpc/shared/method-info.ts";
import { fastDecode, NOT_DECODED } from "../../src/rpc/wire/msgpack-read.ts";
import { fastEncode } from "../../src/rpc/wire/msgpack-write.ts";
import { encodeCallHeader, writeCallHeader } from "../../src/rpc/wire/header-fast.ts";
import { SCHEMA_SCRATCH, schemaCodec } from "../../src/rpc/wire/schema-codec.ts";

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const NO_PREFIX = new Uint8Array(0);

// Every kind of shape the compiler specialises, and the ones it leaves to the general codec.
const Inner = Type.Object({ w: Type.Integer(), h: Type.Integer() });
const Wide = Type.Object({
  id: Type.String(),
  tags: Type.Array(Type.String()),
  scores: Type.Array(Type.Number()),
  ok: Type.Boolean(),
  nothing: Type.Null(),
  thumb: Bytes(),
  size: Inner,
  kind: Type.Union([Type.Literal("a"), Type.Literal("b"), Type.Integer()]),
  extra: Type.Optional(Type.Any()),
  note: Type.Optional(Type.String()),
  crop: Type.Optional(Inner),
});
const Small = Type.Object({ prompt: Type.String(), n: Type.Integer() });
const Rows = Type.Array(Type.Object({ t: Type.String(), "ключ": Type.Number() }));
const seventeenKeys = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, Type.Integer()]));
const Many = Type.Object(seventeenKeys);
const LongKey = Type.Object({ ["a-key-longer-than-thirty-one-bytes-so-str8"]: Type.String() });

const innerValue = fc.record({ w: fc.integer(), h: fc.integer({ min: -200, max: 70_000 }) });
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 40 }), fc.string({ minLength: 30, maxLength: 300 }));
const number = fc.oneof(fc.integer(), fc.double(), fc.maxSafeInteger(), fc.integer({ min: -40, max: 300 }));

/** Values of each schema with their keys in schema order (what the typed layer sends). */
const valuesOf: [string, TSchema, fc.Arbitrary<unknown>][] = [
  ["small object", Small, fc.record({ prompt: text, n: number })],
  [
    "object of every shape",
    Wide,
    fc.record({
      id: text,
      tags: fc.array(text, { maxLength: 20 }),
      scores: fc.array(number, { maxLength: 20 }),
      ok: fc.boolean(),
      nothing: fc.constant(null),
      thumb: fc.uint8Array({ maxLength: 600 }),
      size: innerValue,
      kind: fc.oneof(fc.constant("a"), fc.constant("b"), fc.integer()),
      note: text,
      crop: innerValue,
    }, { requiredKeys: ["id", "tags", "scores", "ok", "nothing", "thumb", "size", "kind"] }),
  ],
  ["array of objects", Rows, fc.array(fc.record({ t: text, "ключ": number }), { maxLength: 20 })],
  ["object of 17 keys (map16)", Many, fc.record(Object.fromEntries(Object.keys(seventeenKeys).map((k) => [k, fc.integer()])))],
  ["object with a long key", LongKey, fc.record({ ["a-key-longer-than-thirty-one-bytes-so-str8"]: text })],
];

// Anything at all, to feed the decoders values of the wrong shape.
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie("value"), { maxLength: 6 }),
    fc.dictionary(fc.constantFrom("prompt", "n", "id", "t", "w", "h", "k1", "x"), tie("value"), { maxKeys: 6 }),
  ),
})).value;

/** The general reader's answer for a frame: the compiled one must be the same. */
function assertSameDecoding(codec: ReturnType<typeof schemaCodec>, frame: Uint8Array): void {
  const general = fastDecode(frame);
  const compiled = codec!.decode(frame, 0);
  if (general === NOT_DECODED) assert.equal(compiled, NOT_DECODED);
  else assert.deepStrictEqual(compiled, general);
}

describe("rpc schema codecs", () => {
  for (const [name, schema, values] of valuesOf) {
    it(`encodes a ${name} in the general writer's bytes`, () => {
      const codec = schemaCodec(schema);
      assert.ok(codec !== undefined);
      let compiledCount = 0;
      fc.assert(fc.property(values, (value) => {
        const frame = codec.encode(value, NO_PREFIX, 65536);
        // Only an `extra` field with a value needs the general encoder (Type.Any is not specialised).
        if (frame === undefined) return;
        compiledCount++;
        assert.equal(hex(frame), hex(generalEncode(value)));
        assert.equal(hex(frame), hex(fastEncode(value)!));
      }), { numRuns: 200 });
      assert.ok(compiledCount > 150, `most values take the compiled path (${compiledCount} of 200)`);
    });

    it(`decodes a ${name} exactly as the general reader`, () => {
      const codec = schemaCodec(schema);
      fc.assert(fc.property(values, (value) => {
        const frame = generalEncode(value);
        assertSameDecoding(codec, frame);
        assert.notEqual(codec!.decode(frame, 0), NOT_DECODED);
      }), { numRuns: 200 });
    });

    it(`decodes values of other shapes, and damaged ${name} frames, exactly as the general reader`, () => {
      const codec = schemaCodec(schema);
      fc.assert(fc.property(plain, (value) => assertSameDecoding(codec, generalEncode(value))), { numRuns: 300 });
      fc.assert(fc.property(values, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (value, at, byte, cut) => {
        const frame = generalEncode(value).slice();
        const i = at % frame.length;
        const damaged = cut ? frame.subarray(0, i) : frame;
        if (!cut) damaged[i] = byte;
        assertSameDecoding(codec, damaged);
      }), { numRuns: 400 });
    });
  }

  it("decodes keys in another order, missing and extra keys through the general reader", () => {
    const codec = schemaCodec(Wide)!;
    const base = { id: "x", tags: [], scores: [1.5], ok: true, nothing: null, thumb: new Uint8Array([1]), size: { w: 1, h: 2 }, kind: "a" };
    const { id, tags, ...rest } = base;
    const frames = [
      generalEncode({ ...base, extra: 1 }),
      generalEncode({ tags, id, ...rest }),
      generalEncode({ ...base, size: { h: 2, w: 1 } }),
      generalEncode({ ...base, crop: { w: 1, h: 2 }, note: "after crop" }),
      generalEncode({ ...base, unknown: 7 }),
      generalEncode({ id: "x" }),
    ];
    for (const frame of frames) {
      assertSameDecoding(codec, frame);
      assert.notEqual(codec.decode(frame, 0), NOT_DECODED);
    }
  });

  it("gives up encoding what only the general encoder writes as it does", () => {
    const codec = schemaCodec(Wide)!;
    const base = { id: "x", tags: [], scores: [], ok: true, nothing: null, thumb: new Uint8Array(1), size: { w: 1, h: 2 }, kind: 1 };
    assert.ok(codec.encode(base, NO_PREFIX, 65536) !== undefined);
    const refused: [string, unknown][] = [
      ["an extra key", { ...base, more: 1 }],
      ["an optional key set to undefined (skipped by the general writer)", { ...base, note: undefined }],
      ["a value for Type.Any", { ...base, extra: [1] }],
      ["a value of the wrong type", { ...base, ok: "yes" }],
      ["a class instance", Object.assign(Object.create({ inherited: 1 }), base)],
      ["binary of 4 KiB or more", { ...base, thumb: new Uint8Array(4096) }],
      ["a string too long for the scratch buffer", { ...base, id: "x".repeat(20_000) }],
      ["a getter that throws", Object.defineProperty({ ...base }, "id", { enumerable: true, get: () => { throw new Error("no"); } })],
    ];
    for (const [what, value] of refused) assert.equal(codec.encode(value, NO_PREFIX, 65536), undefined, what);
    // Binary at or over the out-of-band threshold travels as a frame of its own: the general path.
    assert.equal(codec.encode({ ...base, thumb: new Uint8Array(100) }, NO_PREFIX, 100), undefined);
    assert.ok(codec.encode({ ...base, thumb: new Uint8Array(99) }, NO_PREFIX, 100) !== undefined);
  });

  it("stands aside after many failures in a row, and comes back when values fit again", () => {
    const codec = schemaCodec(Small)!;
    const good = { prompt: "a", n: 1 };
    for (let i = 0; i < 40; i++) assert.equal(codec.encode({ prompt: 1, n: 1 }, NO_PREFIX, 65536), undefined);
    // Standing aside: even a value it can write goes to the general encoder...
    assert.equal(codec.encode(good, NO_PREFIX, 65536), undefined);
    // ...until its next try, within a few hundred calls, after which it writes every value again.
    let calls = 1;
    while (codec.encode(good, NO_PREFIX, 65536) === undefined) assert.ok(++calls < 300, "it tries again");
    for (let i = 0; i < 10; i++) assert.equal(hex(codec.encode(good, NO_PREFIX, 65536)!), hex(generalEncode(good)));
  });

  it("writes the prefix first and returns a frame of its own", () => {
    const codec = schemaCodec(Small)!;
    const header = encodeHeader({ kind: "result" });
    const first = codec.encode({ prompt: "a", n: 1 }, header, 65536)!;
    const second = codec.encode({ prompt: "b", n: 2 }, header, 65536)!;
    assert.equal(hex(first), hex(header) + hex(generalEncode({ prompt: "a", n: 1 })));
    assert.equal(hex(second), hex(header) + hex(generalEncode({ prompt: "b", n: 2 })));
  });

  it("writes after a header the caller put in its scratch buffer", () => {
    const codec = schemaCodec(Small)!;
    const length = writeCallHeader(SCHEMA_SCRATCH, 30_000, 1_764_180_000_000);
    const frame = codec.encodeAfter({ prompt: "hi", n: 7 }, length, 65536)!;
    assert.equal(hex(frame), hex(encodeCallHeader(30_000, 1_764_180_000_000)) + hex(generalEncode({ prompt: "hi", n: 7 })));
    assert.equal(codec.encodeAfter({ prompt: 7, n: 7 }, length, 65536), undefined);
  });

  it("compiles only object and array schemas, and leaves __proto__ keys to the general reader", () => {
    assert.equal(schemaCodec(Type.String()), undefined);
    assert.equal(schemaCodec(Type.Any()), undefined);
    assert.equal(schemaCodec(Type.Union([Small, Inner])), undefined);
    assert.equal(schemaCodec(Type.Object({ ["__proto__"]: Type.String() })), undefined);
    const nested = schemaCodec(Type.Object({ a: Type.Object({ ["__proto__"]: Type.String() }) }))!;
    const frame = generalEncode({ a: JSON.parse('{"__proto__": "x"}') });
    assertSameDecoding(nested, frame);
    assert.deepStrictEqual(Object.getPrototypeOf((nested.decode(frame, 0) as { a: object }).a), Object.prototype);
  });

  it("is what methods use for payloads, with the same frames and values as without", () => {
    const info = methodInfo("svc", "m", { input: Wide, output: Small, progress: Type.Number() });
    assert.ok(info.inputCodec !== undefined && info.outputCodec !== undefined);
    assert.equal(info.progressCodec, undefined);
    const header = encodeHeader({ kind: "result" });
    const value = { prompt: "hello", n: 300 };
    const withCodec = encodePayload(value, 65536, header, info.outputCodec);
    const without = encodePayload(value, 65536, header);
    assert.deepStrictEqual(withCodec.map(hex), without.map(hex));
    assert.deepStrictEqual(decodePayload(without, header.length, "result", info.outputCodec), value);
    // A payload with binary frames, and a malformed one, take the general path and its errors.
    const big = { id: "x", tags: [], scores: [], ok: true, nothing: null, thumb: new Uint8Array(70_000), size: { w: 1, h: 2 }, kind: "b" };
    const frames = encodePayload(big, 65536, header, info.inputCodec);
    assert.equal(frames.length, 2);
    assert.deepStrictEqual(decodePayload(frames, header.length, "input", info.inputCodec), big);
    const truncated = [without[0]!.subarray(0, without[0]!.length - 1)];
    assert.throws(() => decodePayload(truncated, header.length, "result", info.outputCodec), /malformed msgpack in result/);
  });
});
