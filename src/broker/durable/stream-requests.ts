/**
 * The commands of the built-in `malamute.stream` service (docs/mlm-extensions.md §4), parsed
 * from their one JSON frame. Parsing never throws: bad input is a `BAD_REQUEST` answer.
 */

/** Where a consumer starts when it has no durable position. */
export type StartFrom =
  | { readonly kind: "first" }
  | { readonly kind: "new" }
  | { readonly kind: "seq"; readonly seq: number }
  | { readonly kind: "time"; readonly time: number }
  | { readonly kind: "last"; readonly count: number };

/** A parsed READ. */
export interface ReadRequest {
  readonly stream: string;
  readonly pattern: string;
  readonly from: StartFrom;
  readonly consumer: string | undefined;
}

/** A parsed ACK. */
export interface AckRequest {
  readonly stream: string;
  readonly consumer: string;
  readonly seq: number;
}

/** Longest stream, pattern or consumer name accepted (MLM strings are at most 255 bytes). */
const MAX_NAME = 255;
const utf8 = new TextDecoder("utf-8", { fatal: false });

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function json(frames: readonly Uint8Array[]): Record<string, unknown> | string {
  if (frames.length !== 1) return "expected one JSON frame";
  const frame = frames[0] as Uint8Array;
  if (frame.byteLength > 64 * 1024) return "request too large";
  try {
    const value: unknown = JSON.parse(utf8.decode(frame));
    if (value === null || typeof value !== "object" || Array.isArray(value)) return "expected a JSON object";
    return value as Record<string, unknown>;
  } catch {
    return "not JSON";
  }
}

function name(value: unknown, what: string, required: boolean): string | undefined | Error {
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || value === "" || value.length > MAX_NAME) {
    return new Error(`${what} must be a non-empty string of at most ${MAX_NAME} characters`);
  }
  return value;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function startFrom(value: unknown): StartFrom | undefined {
  if (value === undefined || value === "new") return { kind: "new" };
  if (value === "first") return { kind: "first" };
  if (value === null || typeof value !== "object") return undefined;
  const from = value as Record<string, unknown>;
  const keys = Object.keys(from);
  if (keys.length !== 1) return undefined;
  const seq = count(from.seq);
  if (seq !== undefined) return { kind: "seq", seq: Math.max(1, seq) };
  const last = count(from.last);
  if (last !== undefined) return { kind: "last", count: last };
  const time = from.time;
  if (typeof time === "number" && Number.isFinite(time)) return { kind: "time", time };
  return undefined;
}

/** Parse a READ request. */
export function parseRead(frames: readonly Uint8Array[]): Parsed<ReadRequest> {
  const body = json(frames);
  if (typeof body === "string") return { ok: false, error: body };
  const stream = name(body.stream, "stream", true);
  if (stream instanceof Error) return { ok: false, error: stream.message };
  const pattern = body.pattern === undefined ? ".*" : name(body.pattern, "pattern", true);
  if (pattern instanceof Error) return { ok: false, error: pattern.message };
  const consumer = name(body.consumer, "consumer", false);
  if (consumer instanceof Error) return { ok: false, error: consumer.message };
  const from = startFrom(body.from);
  if (!from) return { ok: false, error: `from must be "first", "new", {"seq": N}, {"time": ms} or {"last": N}` };
  return { ok: true, value: { stream: stream as string, pattern: pattern as string, from, consumer } };
}

/** Parse an ACK request. */
export function parseAck(frames: readonly Uint8Array[]): Parsed<AckRequest> {
  const body = json(frames);
  if (typeof body === "string") return { ok: false, error: body };
  const stream = name(body.stream, "stream", true);
  if (stream instanceof Error) return { ok: false, error: stream.message };
  const consumer = name(body.consumer, "consumer", true);
  if (consumer instanceof Error) return { ok: false, error: consumer.message };
  const seq = count(body.seq);
  if (seq === undefined) return { ok: false, error: "seq must be a whole number" };
  return { ok: true, value: { stream: stream as string, consumer: consumer as string, seq } };
}

/** Parse a CANCEL request: the stream name. */
export function parseCancel(frames: readonly Uint8Array[]): Parsed<string> {
  const body = json(frames);
  if (typeof body === "string") return { ok: false, error: body };
  const stream = name(body.stream, "stream", true);
  if (stream instanceof Error) return { ok: false, error: stream.message };
  return { ok: true, value: stream as string };
}
