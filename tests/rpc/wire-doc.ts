// Generates the hex examples of docs/rpc-wire.md from the real codecs (src/proto for MLM
// frames, src/rpc for the envelope), so the document cannot drift from the code.
//   npx tsx tests/rpc/wire-doc.ts --write   rewrites the generated blocks of the document
// tests/rpc/wire-doc.test.ts checks that the document matches.
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HELLO_ANSWER } from "../../src/broker/extensions.ts";
import { ConfirmStatus } from "../../src/broker/status.ts";
import { encode, MESSAGE_SPECS } from "../../src/proto/mod.ts";
import type { MlmMessage } from "../../src/proto/types.ts";
import Type from "typebox";
import { Bytes } from "../../src/rpc/bytes.ts";
import { decodePayload, decodeValue } from "../../src/rpc/wire/codec.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { contractJsonSchema, type JsonSchemaDocument } from "../../src/rpc/json-schema.ts";
import { cancelPattern, cancelSubject } from "../../src/rpc/wire/cancel-subject.ts";
import { CANCEL_STREAM, decodeHeader, envelopeFrames, hasPayload, payloadOffset } from "../../src/rpc/wire/envelope.ts";

/** The wire spec: an index page and its parts (the generated blocks are spread over them). */
export const DOC_PATHS = ["rpc-wire.md", "rpc-wire/1-mlm.md", "rpc-wire/2-envelope.md", "rpc-wire/4-call.md",
  "rpc-wire/4-errors-streams-cancel.md", "rpc-wire/5-errors-and-schema.md", "rpc-wire/7-rules.md"]
  .map((name) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url)));

// The example call: fixed values so the bytes never change.
const CALLER = "rpc-client-9f2c";
const WORKER = "rpc-worker-qwen3vl-a1b2";
const CALL_ID = "k3x9q2.1";
const DEADLINE = 1_767_225_630_000; // 2026-01-01T00:00:30Z on the caller's clock
const TIMEOUT = 30_000;
const REPLY_TIMEOUT = TIMEOUT + 5_000;
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);

const hexByte = (b: number): string => b.toString(16).padStart(2, "0");

function hexLines(bytes: Uint8Array, indent: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) lines.push(indent + Array.from(bytes.subarray(i, i + 16), hexByte).join(" "));
  return lines;
}

/**
 * A msgpack value as readable text: JSON, with binary shown as bin(...), and out-of-band
 * binary (one of `binary`, the frames after the payload) as ext(...) → the frame.
 */
function show(value: unknown, binary: readonly Uint8Array[] = []): string {
  if (value instanceof Uint8Array) {
    const index = binary.indexOf(value);
    if (index >= 0) return `ext(1, ${Array.from(u32(index), hexByte).join(" ")}) = binary frame ${index}`;
    return `bin(${Array.from(value, hexByte).join(" ")})`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => show(v, binary)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${show(v, binary)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

function u32(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** The MLM header frame, field by field. */
function annotateHeader(message: MlmMessage, frame: Uint8Array): string[] {
  const spec = MESSAGE_SPECS[message.type];
  const lines = [`  ${hexByte(frame[0] as number)} ${hexByte(frame[1] as number)}  signature`, `  ${hexByte(spec.id)}  id ${spec.id} = ${message.type.replace(/_/g, "-")}`];
  let pos = 3;
  for (const field of spec.fields) {
    let size: number;
    let shown: string;
    const value = (message as unknown as Record<string, unknown>)[field.name];
    if (field.kind === "string") {
      size = 1 + (frame[pos] as number);
      shown = `${field.name} (string, 1-byte length) = ${JSON.stringify(value)}`;
    } else {
      size = field.kind === "number2" ? 2 : 4;
      shown = `${field.name} (${size}-byte big-endian) = ${String(value)}`;
    }
    const bytes = Array.from(frame.subarray(pos, pos + size), hexByte);
    // Long strings wrap; the annotation goes on the first line.
    for (let i = 0; i < bytes.length; i += 16) {
      const chunk = bytes.slice(i, i + 16).join(" ");
      lines.push(i === 0 ? `  ${chunk}  ${shown}` : `  ${chunk}`);
    }
    pos += size;
  }
  return lines;
}

/**
 * An MLM message with its frames annotated; `payloadLabel` names the payload that follows the
 * envelope header in the first content frame.
 */
function render(message: MlmMessage, payloadLabel = "payload"): string {
  const frames = encode(message);
  const header = frames[0] as Uint8Array;
  const out = [`frame 0: MLM ${message.type.replace(/_/g, "-")} header (${header.length} bytes)`, ...annotateHeader(message, header)];
  // The first content frame is the envelope (header, then the payload); the frames after it
  // are the payload's binary frames.
  const content = frames.slice(1);
  const binary = content.slice(1);
  content.forEach((frame, i) => {
    if (i >= 1) {
      out.push(`frame ${i + 1}: binary frame ${i - 1} (${frame.length} bytes, raw, not msgpack)`);
      out.push(...hexLines(frame, "  "));
      return;
    }
    const envelopeHeader = decodeHeader(frame);
    const end = payloadOffset();
    const headerBytes = frame.subarray(0, end);
    if (end === frame.length) {
      out.push(`frame 1: envelope header (${frame.length} bytes)`);
    } else {
      out.push(`frame 1: envelope (${frame.length} bytes) = header (${end} bytes) + ${payloadLabel} (${frame.length - end} bytes)`);
    }
    out.push(...hexLines(headerBytes, "  "));
    out.push(`  = msgpack ${show(decodeValue(headerBytes))}`);
    if (end === frame.length) return;
    if (!hasPayload(envelopeHeader.kind)) throw new Error(`${envelopeHeader.kind} with a payload`);
    out.push(...hexLines(frame.subarray(end), "  "));
    out.push(`  = msgpack ${show(decodePayload(content, end), binary)}`);
  });
  return out.join("\n");
}

const call = (payload: unknown, threshold = Infinity): Uint8Array[] =>
  envelopeFrames({ kind: "call", timeout: TIMEOUT, deadline: DEADLINE }, payload, threshold);
const callContent = call({ prompt: "Describe", image: PNG });
// The out-of-band example: a threshold of 16 bytes (instead of the default 64 KiB) so the image fits the page.
const BIG_PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x04, 0x00]);
const binaryCall = call({ prompt: "Describe", image: BIG_PNG }, 16);

const reply = (subject: string, content: Uint8Array[]): MlmMessage => ({
  type: "MAILBOX_SEND", address: CALLER, subject, tracker: CALL_ID, timeout: REPLY_TIMEOUT, content,
});

/** Every generated block, by name. */
export function examples(): Map<string, string> {
  const blocks = new Map<string, string>();
  blocks.set("open", render({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "" }));
  blocks.set("credit", render({ type: "CREDIT", amount: 1 }));
  blocks.set("offer", render({ type: "SERVICE_OFFER", address: "qwen3vl", pattern: ".*" }));
  blocks.set("control-open", render({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: WORKER }));
  blocks.set("control-read", render({ type: "STREAM_READ", stream: CANCEL_STREAM, pattern: cancelPattern("qwen3vl") }));
  blocks.set("hello", render({ type: "CONFIRM", tracker: "", code: 1, reason: "" }));
  blocks.set("withdraw", render({ type: "CONFIRM", tracker: CALL_ID, code: 305, reason: "" }));
  blocks.set("call-send", render({
    type: "SERVICE_SEND", address: "qwen3vl", subject: "infer", tracker: CALL_ID, timeout: TIMEOUT,
    content: callContent,
  }, "input payload"));
  blocks.set("call-deliver", render({
    type: "SERVICE_DELIVER", sender: CALLER, address: "qwen3vl", subject: "infer", tracker: CALL_ID,
    content: callContent,
  }, "input payload"));
  blocks.set("call-binary", render({
    type: "SERVICE_SEND", address: "qwen3vl", subject: "infer", tracker: CALL_ID, timeout: TIMEOUT,
    content: binaryCall,
  }, "input payload"));
  blocks.set("ack", render(reply("ack", envelopeFrames({ kind: "ack", worker: WORKER }))));
  blocks.set("progress", render(reply("progress", envelopeFrames({ kind: "progress" }, { tokens: 12 })), "progress payload"));
  blocks.set("result", render(reply("result", envelopeFrames({ kind: "result" }, { text: "A cat.", tokens: 3 })), "output payload"));
  blocks.set("result-deliver", render({
    type: "MAILBOX_DELIVER", sender: "", address: CALLER, subject: "result", tracker: CALL_ID,
    content: envelopeFrames({ kind: "result" }, { text: "A cat.", tokens: 3 }),
  }, "output payload"));
  blocks.set("confirm", render({ type: "CONFIRM", tracker: CALL_ID, code: 200, reason: "" }));
  blocks.set("error", render(reply("error", envelopeFrames(
    { kind: "error" },
    { code: "RPC_VALIDATION", message: "qwen3vl.infer: invalid input at /prompt: must be string" },
  )), "error payload"));
  blocks.set("chunk", render(reply("chunk", envelopeFrames({ kind: "chunk", seq: 0 }, "A")), "chunk payload"));
  blocks.set("end", render(reply("end", envelopeFrames({ kind: "end", count: 3 }))));
  blocks.set("cancel-direct", render({
    type: "MAILBOX_DELIVER", sender: CALLER, address: WORKER, subject: "cancel", tracker: CALL_ID,
    content: envelopeFrames({ kind: "cancel" }),
  }));
  blocks.set("cancel-stream", render({
    type: "STREAM_DELIVER", address: CANCEL_STREAM, sender: CALLER, subject: cancelSubject("qwen3vl", CALL_ID),
    content: envelopeFrames({ kind: "cancel", deadline: DEADLINE }),
  }));
  // Session messages (section 1).
  blocks.set("ping", render({ type: "CONNECTION_PING" }));
  blocks.set("pong", render({ type: "CONNECTION_PONG" }));
  blocks.set("ok", render({ type: "OK", code: 200, reason: "" }));
  blocks.set("error-500", render({ type: "ERROR", code: 500, reason: "" }));
  blocks.set("error-300", render({ type: "ERROR", code: 300, reason: "" }));
  blocks.set("close", render({ type: "CONNECTION_CLOSE" }));
  blocks.set("hello-answer", render({ type: "OK", code: 200, reason: HELLO_ANSWER }));
  // The caller's side of cancellation, and what the broker tells a worker about its replies.
  blocks.set("stream-write", render({ type: "STREAM_WRITE", stream: CANCEL_STREAM }));
  blocks.set("cancel-publish", render({
    type: "STREAM_SEND", subject: cancelSubject("qwen3vl", CALL_ID),
    content: envelopeFrames({ kind: "cancel", deadline: DEADLINE }),
  }));
  blocks.set("cancel-send", render({
    type: "MAILBOX_SEND", address: WORKER, subject: "cancel", tracker: CALL_ID, timeout: TIMEOUT,
    content: envelopeFrames({ kind: "cancel" }),
  }));
  blocks.set("reply-expired", render({ type: "CONFIRM", tracker: CALL_ID, code: ConfirmStatus.EXPIRED, reason: "expired" }));
  blocks.set("call-no-deadline", render({
    type: "SERVICE_SEND", address: "qwen3vl", subject: "infer", tracker: CALL_ID, timeout: 0,
    content: envelopeFrames({ kind: "call", timeout: 0, deadline: 0 }, { prompt: "Describe" }),
  }, "input payload"));
  blocks.set("call-with-id", render({
    type: "SERVICE_SEND", address: "qwen3vl", subject: "infer", tracker: CALL_ID, timeout: TIMEOUT,
    content: envelopeFrames({ kind: "call", timeout: TIMEOUT, deadline: DEADLINE, id: CALL_ID }, { prompt: "Describe" }),
  }, "input payload"));
  return blocks;
}

/** The contract export shown in section 6 (checked, not generated: the page shows it laid out by hand). */
export function schemaExample(): JsonSchemaDocument {
  return contractJsonSchema(defineService("zimage", {
    render: {
      input: Type.Object({ prompt: Type.String(), steps: Type.Integer({ minimum: 1, maximum: 100 }) }),
      output: Type.Object({ png: Bytes({ minBytes: 1 }), seed: Type.Number() }),
      timeout: 60_000,
    },
  }));
}

/** The JSON block of section 6, parsed. */
export function documentSchemaExample(doc: string): unknown {
  const section = doc.slice(doc.indexOf("## 6. "));
  const m = /```json\n([\s\S]*?)\n```/.exec(section);
  if (m === null) throw new Error("no JSON block in section 6");
  return JSON.parse(m[1] as string);
}

// A generated block: the marker line, a text fence, the body, and the closing fence line.
const BLOCK = /(<!-- wire:([a-z0-9-]+) -->\n```text\n)([\s\S]*?)^(```)$/gm;

/** The document's generated blocks, by name. */
export function documentBlocks(doc: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of doc.matchAll(BLOCK)) found.set(m[2] as string, (m[3] as string).replace(/\n$/, ""));
  return found;
}

/** The document with every generated block replaced by the current bytes. */
export function regenerate(doc: string): string {
  const blocks = examples();
  return doc.replace(BLOCK, (whole, open: string, name: string, _body: string, close: string) => {
    const body = blocks.get(name);
    return body === undefined ? whole : `${open}${body}\n${close}`;
  });
}

if (process.argv.includes("--write")) {
  for (const path of DOC_PATHS) writeFileSync(path, regenerate(readFileSync(path, "utf8")));
  console.log(`updated ${DOC_PATHS.join(", ")}`);
} else if (process.argv.includes("--print")) {
  for (const [name, body] of examples()) console.log(`<!-- wire:${name} -->\n\`\`\`text\n${body}\n\`\`\`\n`);
}
