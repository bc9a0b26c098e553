import { badArgument } from "../content.ts";
import type { ConsumerFrom } from "../types.ts";

/**
 * The client's side of the `malamute.stream` service (docs/mlm-extensions.md §4): the JSON of
 * READ, ACK and CANCEL, the answers, and the sequence frame of consumer deliveries. The client
 * keeps its own copy of the names rather than import the broker's.
 */

/** The built-in service that manages stream consumers. */
export const STREAM_SERVICE = "malamute.stream";

/** Longest durable consumer name, UTF-8 bytes (like every MLM string). */
export const MAX_CONSUMER_NAME = 255;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** `from` as it goes on the wire (a Date becomes ms since the epoch). */
export type WireFrom = "first" | "new" | { seq: number } | { time: number } | { last: number };

/** Check `from` and turn it into its wire form. Throws `MLM_BAD_ARGUMENT`. */
export function wireFrom(from: ConsumerFrom | undefined): WireFrom {
  if (from === undefined || from === "new") return "new";
  if (from === "first") return "first";
  if (typeof from === "object" && from !== null) {
    const keys = Object.keys(from);
    if (keys.length === 1 && "seq" in from) return { seq: positive(from.seq, "from.seq") };
    if (keys.length === 1 && "last" in from) return { last: positive(from.last, "from.last") };
    if (keys.length === 1 && "time" in from) {
      const ms = from.time instanceof Date ? from.time.getTime() : from.time;
      if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) throw badArgument("from.time must be a valid Date or ms since the epoch");
      return { time: Math.floor(ms) };
    }
  }
  throw badArgument(`from must be "first", "new", { seq }, { time } or { last }, got ${JSON.stringify(from)}`);
}

function positive(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) throw badArgument(`${name} must be an integer >= 1, got ${String(value)}`);
  return value;
}

/** Check a durable consumer name. Throws `MLM_BAD_ARGUMENT`. */
export function checkConsumerName(name: unknown): string {
  if (typeof name !== "string" || name === "" || utf8.encode(name).byteLength > MAX_CONSUMER_NAME) {
    throw badArgument(`durable must be a consumer name of 1 to ${MAX_CONSUMER_NAME} UTF-8 bytes`);
  }
  return name;
}

/** Content of READ. */
export function readRequest(stream: string, pattern: string, from: WireFrom, consumer: string | undefined): Uint8Array {
  return utf8.encode(JSON.stringify(consumer === undefined ? { stream, pattern, from } : { stream, pattern, from, consumer }));
}

/** Content of ACK: every entry up to `seq` is done. */
export function ackRequest(stream: string, consumer: string, seq: number): Uint8Array {
  return utf8.encode(JSON.stringify({ stream, consumer, seq }));
}

/** Content of CANCEL. */
export function cancelRequest(stream: string): Uint8Array {
  return utf8.encode(JSON.stringify({ stream }));
}

/** An answer of `malamute.stream` to READ or CANCEL. */
export type StreamAnswer =
  | { ok: true; next: number; head: number }
  | { ok: false; code: string; error: string };

/** Parse an answer frame; anything unexpected is a refusal with code `MALFORMED`. */
export function parseAnswer(frame: Uint8Array | undefined): StreamAnswer {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8.decode(frame ?? new Uint8Array()));
  } catch {
    return { ok: false, code: "MALFORMED", error: "the answer is not JSON" };
  }
  if (typeof value !== "object" || value === null) return { ok: false, code: "MALFORMED", error: "the answer is not a JSON object" };
  const answer = value as Record<string, unknown>;
  if (answer.ok === true) {
    return { ok: true, next: seqOr(answer.next, 0), head: seqOr(answer.head, 0) };
  }
  return {
    ok: false,
    code: typeof answer.code === "string" ? answer.code : "FAILED",
    error: typeof answer.error === "string" ? answer.error : "refused",
  };
}

function seqOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : fallback;
}

/** Bytes of the sequence frame that leads a consumer delivery's content. */
export const SEQ_FRAME_BYTES = 8;

/** The big-endian sequence number of a consumer delivery, or undefined if `frame` is not one. */
export function readSeq(frame: Uint8Array | undefined): number | undefined {
  if (frame === undefined || frame.byteLength !== SEQ_FRAME_BYTES) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, SEQ_FRAME_BYTES);
  const seq = view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4);
  return Number.isSafeInteger(seq) ? seq : undefined;
}
