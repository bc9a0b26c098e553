/**
 * msgpack encoders and decoders compiled from a method's schemas. A payload whose shape the
 * schema fixes (an object with known keys, arrays of such, strings, numbers, bytes) costs a
 * general codec a key-by-key walk, a string per key and a dictionary-style object build; code
 * generated for the shape compares the key bytes it expects and builds the object in one step.
 *
 * These are fast paths only, never a different format: the encoder writes exactly the bytes the
 * general writer (msgpack-write.ts) writes for a value whose keys come in schema order, and gives
 * up (undefined) on anything else, such as extra keys, a value of another type, large binary or
 * a getter that throws. The decoder handles the forms it expects and hands every other value,
 * at the position where it starts, to the general reader; it returns NOT_DECODED where that
 * reader fails, so the caller's general path decodes (or rejects) the frame as before. Either
 * way a value comes out exactly as the general codec would produce it.
 */

import type { TSchema } from "typebox";
import { copySmall } from "../../util/small-bytes.ts";
import { BYTES_KEYWORD } from "../bytes.ts";
import { decodedEnd, fastDecodeFirst, NOT_DECODED } from "./msgpack-read.ts";
import { putBinHeader, putLength, putNumber, putString } from "./msgpack-put.ts";

/**
 * A compiled codec of one schema (see {@link schemaCodec}).
 *
 * @example
 * ```ts
 * const codec = schemaCodec(Type.Object({ prompt: Type.String(), n: Type.Integer() }))!;
 * const frame = codec.encode({ prompt: "hi", n: 1 }, header, 65536) ?? encodePayload(...);
 * ```
 */
export interface SchemaCodec {
  /**
   * `prefix` then the msgpack of `value`, in one new frame; undefined when the value needs the
   * general encoder. Uint8Arrays of `binaryThreshold` bytes or more (which travel as binary
   * frames of their own) also make it give up.
   */
  encode(value: unknown, prefix: Uint8Array, binaryThreshold: number): Uint8Array | undefined;
  /**
   * {@link encode} with a prefix the caller wrote at the start of {@link SCHEMA_SCRATCH}
   * (`prefixLength` bytes): saves copying a header that is written per call anyway.
   */
  encodeAfter(value: unknown, prefixLength: number, binaryThreshold: number): Uint8Array | undefined;
  /** The value that fills `frame` from byte `start` to its end, or NOT_DECODED. */
  decode(frame: Uint8Array, start: number): unknown;
}

/** The parts of a schema the generated code specialises; "any" goes to the general codec. */
type Shape =
  | { kind: "string" | "number" | "boolean" | "null" | "bytes" | "scalar" | "any" }
  | { kind: "object"; keys: string[]; optional: boolean[]; props: Shape[] }
  | { kind: "array"; items: Shape };

const MAX_SHAPE_DEPTH = 32;
const MAX_KEYS = 0xffff;
/** Bigger values are left to the general encoder (which grows its buffer). */
const SCRATCH = 16 * 1024;
/** The general writer copies binary values this big in a separate step: bytes are the same, this path leaves them to it. */
const BIG_BIN = 4096;
/** Failures in a row after which an encoder mostly stands aside, and how often it then tries. */
const GIVE_UP = 32;
const RETRY_EVERY = 256;
const SCALAR_SHAPES: Record<string, true> = { string: true, number: true, boolean: true, null: true, scalar: true };

function isSchema(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shapeOf(schema: unknown, depth: number): Shape {
  if (!isSchema(schema) || depth > MAX_SHAPE_DEPTH) return { kind: "any" };
  if (schema[BYTES_KEYWORD] === true) return { kind: "bytes" };
  const anyOf = schema["anyOf"];
  if (Array.isArray(anyOf)) {
    // Unions of literals and scalars (enums): written by type, like the general writer does.
    return anyOf.length > 0 && anyOf.every((s) => shapeOf(s, depth + 1).kind in SCALAR_SHAPES) ? { kind: "scalar" } : { kind: "any" };
  }
  switch (schema["type"]) {
    case "string":
      return { kind: "string" };
    case "number":
    case "integer":
      return { kind: "number" };
    case "boolean":
      return { kind: "boolean" };
    case "null":
      return { kind: "null" };
    case "array": {
      const items = schema["items"];
      return isSchema(items) ? { kind: "array", items: shapeOf(items, depth + 1) } : { kind: "any" };
    }
    case "object": {
      const properties = schema["properties"];
      if (!isSchema(properties)) return { kind: "any" };
      const keys = Object.keys(properties);
      // "__proto__" is renamed by the general reader; such objects stay with it.
      if (keys.length === 0 || keys.length > MAX_KEYS || keys.includes("__proto__")) return { kind: "any" };
      const required = new Set(Array.isArray(schema["required"]) ? schema["required"] : []);
      return {
        kind: "object",
        keys,
        optional: keys.map((key) => !required.has(key)),
        props: keys.map((key) => shapeOf(properties[key], depth + 1)),
      };
    }
    default:
      return { kind: "any" };
  }
}

// ---------------------------------------------------------------- helpers the generated code calls

/** Where the last decoded value ended, and the frame's end. */
const at = { p: 0, end: 0 };
let binaryLimit = 0;

function decodeAny(s: Uint8Array, p: number): unknown {
  const value = fastDecodeFirst(s, p);
  if (value !== NOT_DECODED) at.p = decodedEnd();
  return value;
}

function decodeString(s: Uint8Array, p: number): unknown {
  const b = s[p] as number;
  if (b >= 0xa0 && b < 0xc0) {
    const end = p + 1 + (b & 0x1f);
    if (end <= at.end) {
      let out = "";
      for (let i = p + 1; i < end; i++) {
        const c = s[i] as number;
        if (c >= 0x80) return decodeAny(s, p);
        out += String.fromCharCode(c);
      }
      at.p = end;
      return out;
    }
  }
  return decodeAny(s, p);
}

function decodeNumber(s: Uint8Array, p: number): unknown {
  const b = s[p] as number;
  if (b < 0x80) {
    at.p = p + 1;
    return b;
  }
  // Counters and sizes: the unsigned forms up to 32 bits, as the general reader reads them.
  if (b === 0xcc && p + 2 <= at.end) {
    at.p = p + 2;
    return s[p + 1];
  }
  if (b === 0xcd && p + 3 <= at.end) {
    at.p = p + 3;
    return ((s[p + 1] as number) << 8) | (s[p + 2] as number);
  }
  if (b === 0xce && p + 5 <= at.end) {
    at.p = p + 5;
    return (s[p + 1] as number) * 0x1000000 + (((s[p + 2] as number) << 16) | ((s[p + 3] as number) << 8) | (s[p + 4] as number));
  }
  return decodeAny(s, p);
}

function decodeBytes(s: Uint8Array, p: number): unknown {
  const b = s[p];
  let n = -1;
  let from = 0;
  if (b === 0xc4 && p + 2 <= at.end) {
    n = s[p + 1] as number;
    from = p + 2;
  } else if (b === 0xc5 && p + 3 <= at.end) {
    n = ((s[p + 1] as number) << 8) | (s[p + 2] as number);
    from = p + 3;
  }
  if (n < 0 || from + n > at.end) return decodeAny(s, p);
  at.p = from + n;
  // A view of the frame, as the general reader gives.
  return new Uint8Array(s.buffer, s.byteOffset + from, n);
}

function encodeString(v: unknown, b: Uint8Array, p: number): number {
  if (typeof v !== "string" || p + 5 + 3 * v.length > b.length) return -1;
  return putString(b, p, v);
}

function encodeNumber(v: unknown, b: Uint8Array, p: number): number {
  if (typeof v !== "number" || p + 9 > b.length) return -1;
  return putNumber(b, p, v);
}

function encodeBoolean(v: unknown, b: Uint8Array, p: number): number {
  if (typeof v !== "boolean" || p >= b.length) return -1;
  b[p] = v ? 0xc3 : 0xc2;
  return p + 1;
}

function encodeNull(v: unknown, b: Uint8Array, p: number): number {
  if (v !== null || p >= b.length) return -1;
  b[p] = 0xc0;
  return p + 1;
}

function encodeScalar(v: unknown, b: Uint8Array, p: number): number {
  switch (typeof v) {
    case "string":
      return encodeString(v, b, p);
    case "number":
      return encodeNumber(v, b, p);
    case "boolean":
      return encodeBoolean(v, b, p);
    default:
      return encodeNull(v, b, p);
  }
}

function encodeBytes(v: unknown, b: Uint8Array, p: number): number {
  if (!(v instanceof Uint8Array)) return -1;
  const n = v.byteLength;
  if (n >= binaryLimit || p + 5 + n > b.length) return -1;
  p = putBinHeader(b, p, n);
  b.set(v, p);
  return p + n;
}

function encodeAny(): number {
  return -1;
}

function keyBytes(key: string): number[] {
  const out = new Uint8Array(5 + 3 * key.length);
  return Array.from(out.subarray(0, putString(out, 0, key)));
}

const helpers = {
  M: NOT_DECODED,
  at,
  putLength,
  OBJECT: Object.prototype,
  decodeAny,
  decodeString,
  decodeNumber,
  decodeBytes,
  encodeString,
  encodeNumber,
  encodeBoolean,
  encodeNull,
  encodeScalar,
  encodeBytes,
  encodeAny,
};

const LEAF_DECODERS: Record<string, string> = {
  string: "decodeString",
  number: "decodeNumber",
  bytes: "decodeBytes",
  boolean: "decodeAny",
  null: "decodeAny",
  scalar: "decodeAny",
  any: "decodeAny",
};

const LEAF_ENCODERS: Record<string, string> = {
  string: "encodeString",
  number: "encodeNumber",
  bytes: "encodeBytes",
  boolean: "encodeBoolean",
  null: "encodeNull",
  scalar: "encodeScalar",
  any: "encodeAny",
};

// ---------------------------------------------------------------- code generation

/**
 * Generated lines that read a map (`fix` 0x80) or array (0x90) header of the fix or 16-bit
 * form into `n`, leaving the value's start in `p0`; other forms go to the general reader.
 */
function readLength(fix: number, b16: number): string[] {
  return [
    "  const p0 = p;",
    "  const b = s[p];",
    "  let n;",
    `  if (b >= ${fix} && b <= ${fix | 0x0f}) { n = b & 15; p += 1; }`,
    `  else if (b === ${b16} && p + 3 <= at.end) { n = (s[p + 1] << 8) | s[p + 2]; p += 3; }`,
    "  else return decodeAny(s, p0);",
  ];
}

/** Generated source: one decoder and one encoder function per object or array shape. */
class Generator {
  readonly lines: string[] = [];
  #next = 0;

  /** Emits the decoder of `shape`; returns the name to call. */
  decoder(shape: Shape): string {
    if (shape.kind === "object") return this.#objectDecoder(shape);
    if (shape.kind === "array") return this.#arrayDecoder(shape);
    return LEAF_DECODERS[shape.kind] as string;
  }

  /** Emits the encoder of `shape`; returns the name to call. */
  encoder(shape: Shape): string {
    if (shape.kind === "object") return this.#objectEncoder(shape);
    if (shape.kind === "array") return this.#arrayEncoder(shape);
    return LEAF_ENCODERS[shape.kind] as string;
  }

  #name(prefix: string): string {
    return `${prefix}${this.#next++}`;
  }

  #objectDecoder(shape: Extract<Shape, { kind: "object" }>): string {
    const props = shape.props.map((prop) => this.decoder(prop));
    const name = this.#name("decodeObject");
    const allRequired = !shape.optional.includes(true);
    const body: string[] = [
      `function ${name}(s, p) {`,
      ...readLength(0x80, 0xde),
    ];
    if (allRequired) body.push(`  if (n !== ${shape.keys.length}) return decodeAny(s, p0);`);
    else body.push("  const o = {};");
    shape.keys.forEach((key, i) => {
      const bytes = keyBytes(key);
      const match = bytes.map((byte, j) => `s[p + ${j}] === ${byte}`).join(" && ");
      const read = [
        `p += ${bytes.length};`,
        `const v${i} = ${props[i]}(s, p);`,
        `if (v${i} === M) return M;`,
        "p = at.p;",
      ];
      if (allRequired) {
        body.push(`  if (!(${match})) return decodeAny(s, p0);`, ...read.map((line) => `  ${line}`));
      } else {
        body.push(`  if (n > 0 && ${match}) {`, ...read.map((line) => `    ${line}`), `    o[${JSON.stringify(key)}] = v${i};`, "    n--;");
        body.push(shape.optional[i] ? "  }" : "  } else return decodeAny(s, p0);");
      }
    });
    if (allRequired) {
      body.push("  at.p = p;", `  return { ${shape.keys.map((key, i) => `${JSON.stringify(key)}: v${i}`).join(", ")} };`);
    } else {
      body.push("  if (n !== 0) return decodeAny(s, p0);", "  at.p = p;", "  return o;");
    }
    body.push("}");
    this.lines.push(...body);
    return name;
  }

  #arrayDecoder(shape: Extract<Shape, { kind: "array" }>): string {
    const item = this.decoder(shape.items);
    const name = this.#name("decodeArray");
    this.lines.push(
      `function ${name}(s, p) {`,
      ...readLength(0x90, 0xdc),
      "  if (n > at.end - p) return decodeAny(s, p0);",
      "  const out = new Array(n);",
      "  for (let i = 0; i < n; i++) {",
      `    const v = ${item}(s, p);`,
      "    if (v === M) return M;",
      "    out[i] = v;",
      "    p = at.p;",
      "  }",
      "  at.p = p;",
      "  return out;",
      "}",
    );
    return name;
  }

  #objectEncoder(shape: Extract<Shape, { kind: "object" }>): string {
    const props = shape.props.map((prop) => this.encoder(prop));
    const name = this.#name("encodeObject");
    const fixed = 3 + shape.keys.reduce((sum, key) => sum + keyBytes(key).length, 0);
    const body: string[] = [
      `function ${name}(v, b, p) {`,
      "  if (typeof v !== \"object\" || v === null) return -1;",
      // Plain objects only, as the general writer takes them (also without a prototype).
      "  const proto = Object.getPrototypeOf(v);",
      "  if (proto !== OBJECT && proto !== null) return -1;",
      "  let own = 0;",
      "  for (const k in v) own++;",
      `  if (p + ${fixed} > b.length) return -1;`,
      "  let present = 0;",
    ];
    shape.keys.forEach((key, i) => {
      body.push(`  const v${i} = v[${JSON.stringify(key)}];`);
      body.push(shape.optional[i] ? `  if (v${i} !== undefined) present++;` : `  if (v${i} === undefined) return -1; present++;`);
    });
    // Extra keys, or keys set to undefined (which the general writer skips), are left to it.
    body.push("  if (present !== own) return -1;", "  p = putLength(b, p, present, 0x80, 0xde, 0xdf);");
    shape.keys.forEach((key, i) => {
      const bytes = keyBytes(key);
      const write = [...bytes.map((byte) => `b[p++] = ${byte};`), `p = ${props[i]}(v${i}, b, p);`, "if (p < 0) return -1;"];
      if (shape.optional[i]) body.push(`  if (v${i} !== undefined) {`, ...write.map((line) => `    ${line}`), "  }");
      else body.push(...write.map((line) => `  ${line}`));
    });
    body.push("  return p;", "}");
    this.lines.push(...body);
    return name;
  }

  #arrayEncoder(shape: Extract<Shape, { kind: "array" }>): string {
    const item = this.encoder(shape.items);
    const name = this.#name("encodeArray");
    this.lines.push(
      `function ${name}(v, b, p) {`,
      "  if (!Array.isArray(v) || v.constructor !== Array || p + 5 > b.length) return -1;",
      "  const n = v.length;",
      "  p = putLength(b, p, n, 0x90, 0xdc, 0xdd);",
      "  for (let i = 0; i < n; i++) {",
      `    p = ${item}(v[i], b, p);`,
      "    if (p < 0) return -1;",
      "  }",
      "  return p;",
      "}",
    );
    return name;
  }
}

type Decode = (s: Uint8Array, p: number) => unknown;
type Encode = (v: unknown, b: Uint8Array, p: number) => number;

/**
 * The buffer compiled encoders write into; see {@link SchemaCodec.encodeAfter}. Its contents
 * are only valid until the next encode.
 *
 * @example
 * ```ts
 * const length = writeCallHeader(SCHEMA_SCRATCH, timeout, deadline);
 * const frame = codec.encodeAfter(input, length, 65536);
 * ```
 */
export const SCHEMA_SCRATCH: Uint8Array = new Uint8Array(SCRATCH);
const scratch = SCHEMA_SCRATCH;

/**
 * Compiles the codec of a schema whose values are objects or arrays; undefined for other
 * schemas (nothing to gain) and where the runtime forbids generated code.
 *
 * @example
 * ```ts
 * const codec = schemaCodec(Type.Object({ prompt: Type.String() }));
 * const value = codec?.decode(frame, payloadOffset());
 * ```
 */
export function schemaCodec(schema: TSchema): SchemaCodec | undefined {
  const shape = shapeOf(schema, 0);
  if (shape.kind !== "object" && shape.kind !== "array") return undefined;
  const generator = new Generator();
  const decoderName = generator.decoder(shape);
  const encoderName = generator.encoder(shape);
  const source = [
    '"use strict";',
    `const { ${Object.keys(helpers).join(", ")} } = h;`,
    ...generator.lines,
    `return [${decoderName}, ${encoderName}];`,
  ].join("\n");
  let decodeRoot: Decode;
  let encodeRoot: Encode;
  try {
    [decodeRoot, encodeRoot] = new Function("h", source)(helpers) as [Decode, Encode];
  } catch {
    // e.g. a content security policy without 'unsafe-eval': the general codec does the work.
    return undefined;
  }
  // Values this encoder keeps giving up on (a Type.Any field, large binary every time) would
  // pay for it on every call: after GIVE_UP failures in a row it tries one value in RETRY_EVERY.
  let failures = 0;
  const encodeAfter = (value: unknown, prefixLength: number, binaryThreshold: number): Uint8Array | undefined => {
    if (failures >= GIVE_UP && ++failures % RETRY_EVERY !== 0) return undefined;
    binaryLimit = Math.min(binaryThreshold, BIG_BIN);
    let end: number;
    try {
      end = encodeRoot(value, scratch, prefixLength);
    } catch {
      // A getter that throws: the general encoder reports it.
      end = -1;
    }
    if (end < 0) {
      if (failures < GIVE_UP) failures++;
      return undefined;
    }
    failures = 0;
    return copySmall(scratch, end);
  };
  return {
    encode(value, prefix, binaryThreshold) {
      if (prefix.length + 1 > SCRATCH) return undefined;
      scratch.set(prefix, 0);
      return encodeAfter(value, prefix.length, binaryThreshold);
    },
    encodeAfter,
    decode(frame, start) {
      at.end = frame.length;
      const value = decodeRoot(frame, start);
      return value === NOT_DECODED || at.p !== frame.length ? NOT_DECODED : value;
    },
  };
}
