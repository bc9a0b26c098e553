import { decodeValue, encodeValue } from "./codec.ts";
import { RpcProtocolError } from "./errors.ts";
import { encodeCallHeader, fastDecodeHeader } from "./header-fast.ts";
import { readSmallMap, type SmallValue, writeSmallMap } from "./small-map.ts";

/**
 * Version of the RPC envelope carried in every header frame.
 *
 * @example
 * ```ts
 * decodeValue(encodeHeader({ kind: "result" })); // { version: ENVELOPE_VERSION, kind: "result" }
 * ```
 */
export const ENVELOPE_VERSION = 1;

/**
 * Stream on which callers publish cancels of calls not yet acknowledged (see docs/rpc-wire.md).
 *
 * @example
 * ```ts
 * await mlm.setConsumer(CANCEL_STREAM, ".*"); // what a worker's control connection does
 * ```
 */
export const CANCEL_STREAM = "malamute.rpc.cancel";

/** Caller → worker: start a call (SERVICE-SEND). Followed by the input payload frame. */
export interface CallHeader {
  kind: "call";
  /** Remaining time in ms when sent (also the MLM `timeout`). */
  timeout: number;
  /** Absolute deadline, caller's clock, ms since the Unix epoch. */
  deadline: number;
  /** Free-form string metadata, e.g. a W3C `traceparent`. */
  meta?: Record<string, string>;
}
/** Worker → caller: the call started; `worker` is the mailbox that takes cancels. */
export interface AckHeader { kind: "ack"; worker: string }
/** Worker → caller: a progress value follows. */
export interface ProgressHeader { kind: "progress" }
/** Worker → caller: streamed chunk number `seq` (from 0) follows. */
export interface ChunkHeader { kind: "chunk"; seq: number }
/** Worker → caller: the output follows; the call is over. */
export interface ResultHeader { kind: "result" }
/** Worker → caller: a stream ended after `count` chunks; the call is over. */
export interface EndHeader { kind: "end"; count: number }
/** Worker → caller: an error body `{ code, message, details? }` follows; the call is over. */
export interface ErrorHeader { kind: "error" }
/** Caller → worker: abort the call (mailbox to the acking worker, or on {@link CANCEL_STREAM}). */
export interface CancelHeader {
  kind: "cancel";
  /** Until when (caller's clock, epoch ms) a worker should remember the cancel of a call it has not seen yet. */
  deadline?: number;
  /** Why: `RPC_CANCELLED` (the default) or `RPC_DEADLINE_EXCEEDED`. */
  code?: string;
}

/**
 * Any envelope header (`CallHeader`, `AckHeader`, ... `CancelHeader`). Narrow on `kind`.
 *
 * @example
 * ```ts
 * const header: Header = { kind: "chunk", seq: 0 };
 * if (header.kind === "chunk") console.log(header.seq);
 * ```
 */
export type Header =
  | CallHeader | AckHeader | ProgressHeader | ChunkHeader | ResultHeader | EndHeader | ErrorHeader | CancelHeader;

/**
 * The `kind` tag of a header.
 *
 * @example
 * ```ts
 * const final: HeaderKind[] = ["result", "end", "error"];
 * ```
 */
export type HeaderKind = Header["kind"];

/** Kinds that carry a payload frame after the header. */
const WITH_PAYLOAD: ReadonlySet<HeaderKind> = new Set(["call", "progress", "chunk", "result", "error"]);

/**
 * Whether messages of this kind have a payload frame.
 *
 * @example
 * ```ts
 * hasPayload("ack"); // false
 * ```
 */
export function hasPayload(kind: HeaderKind): boolean {
  return WITH_PAYLOAD.has(kind);
}

/**
 * Encodes a header frame.
 *
 * @example
 * ```ts
 * const frame = encodeHeader({ kind: "ack", worker: "rpc-worker-1" });
 * ```
 */
export function encodeHeader(header: Header): Uint8Array {
  // Fields are listed one by one so map keys come out in a stable order (the wire doc shows them byte for byte).
  const fields: [string, SmallValue][] = [["version", ENVELOPE_VERSION], ["kind", header.kind]];
  switch (header.kind) {
    case "call":
      if (header.meta === undefined && isCount(header.timeout) && isCount(header.deadline)) {
        return encodeCallHeader(header.timeout, header.deadline);
      }
      fields.push(["timeout", header.timeout], ["deadline", header.deadline]);
      if (header.meta !== undefined) {
        // Nested maps are rare: the general codec handles them.
        const out: Record<string, unknown> = Object.fromEntries(fields);
        out["deadline"] = wide(header.deadline);
        out["meta"] = header.meta;
        return encodeValue(out);
      }
      break;
    case "ack":
      fields.push(["worker", header.worker]);
      break;
    case "chunk":
      fields.push(["seq", header.seq]);
      break;
    case "end":
      fields.push(["count", header.count]);
      break;
    case "cancel":
      if (header.deadline !== undefined) fields.push(["deadline", header.deadline]);
      if (header.code !== undefined) fields.push(["code", header.code]);
      break;
  }
  return writeSmallMap(fields);
}

// msgpackr writes integers above 2^32 as float64; a BigInt makes it a msgpack uint64, which
// is what a reader in another language expects for epoch milliseconds.
function wide(value: number): number | bigint {
  return Number.isSafeInteger(value) && value > 0xffffffff ? BigInt(value) : value;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isMeta(value: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value).every((v) => typeof v === "string");
}

/**
 * Decodes and checks a header frame. Unknown extra keys are ignored (forward compatibility);
 * a wrong version, unknown kind or a missing/mistyped field throws {@link RpcProtocolError}.
 *
 * @example
 * ```ts
 * const header = decodeHeader(frame);
 * if (header.kind === "chunk") console.log(header.seq);
 * ```
 */
export function decodeHeader(frame: Uint8Array): Header {
  const fast = fastDecodeHeader(frame);
  if (fast !== undefined) return fast;
  const raw = readSmallMap(frame) ?? decodeValue(frame, "header");
  if (typeof raw !== "object" || raw === null || Object.getPrototypeOf(raw) !== Object.prototype) {
    throw new RpcProtocolError("header frame is not a msgpack map");
  }
  const map = raw as Record<string, unknown>;
  if (map["version"] !== ENVELOPE_VERSION) {
    throw new RpcProtocolError(`unsupported envelope version ${JSON.stringify(map["version"]) ?? "undefined"}`);
  }
  switch (map["kind"]) {
    case "call": {
      const { timeout, deadline, meta } = map;
      if (!isCount(timeout)) bad(map, "timeout");
      if (!isCount(deadline)) bad(map, "deadline");
      if (meta !== undefined && !isMeta(meta)) bad(map, "meta");
      const header: CallHeader = { kind: "call", timeout: timeout as number, deadline: deadline as number };
      if (meta !== undefined) header.meta = meta as Record<string, string>;
      return header;
    }
    case "ack":
      if (typeof map["worker"] !== "string") bad(map, "worker");
      return { kind: "ack", worker: map["worker"] as string };
    case "progress":
      return { kind: "progress" };
    case "chunk":
      if (!isCount(map["seq"])) bad(map, "seq");
      return { kind: "chunk", seq: map["seq"] as number };
    case "result":
      return { kind: "result" };
    case "end":
      if (!isCount(map["count"])) bad(map, "count");
      return { kind: "end", count: map["count"] as number };
    case "error":
      return { kind: "error" };
    case "cancel": {
      const { deadline, code } = map;
      if (deadline !== undefined && !isCount(deadline)) bad(map, "deadline");
      if (code !== undefined && typeof code !== "string") bad(map, "code");
      const header: CancelHeader = { kind: "cancel" };
      if (deadline !== undefined) header.deadline = deadline as number;
      if (code !== undefined) header.code = code as string;
      return header;
    }
    default:
      throw new RpcProtocolError(`unknown envelope kind ${JSON.stringify(map["kind"]) ?? "undefined"}`);
  }
}

function bad(map: Record<string, unknown>, field: string): never {
  throw new RpcProtocolError(`${String(map["kind"])} header has a missing or invalid "${field}"`);
}

/**
 * A decoded envelope: the header plus the raw payload frame when the kind has one, and the
 * payload's out-of-band binary frames (decode all of them with `decodePayload(frames, 1)`).
 *
 * @example
 * ```ts
 * const { header, payload }: Envelope = decodeEnvelope(delivery.content);
 * ```
 */
export interface Envelope {
  header: Header;
  payload?: Uint8Array;
  /** Out-of-band binary frames after the payload, when there are any. */
  binary?: Uint8Array[];
}

/**
 * Splits MLM content frames into header and payload, checking the frame count for the kind.
 *
 * @example
 * ```ts
 * const { header, payload } = decodeEnvelope(delivery.content);
 * ```
 */
export function decodeEnvelope(frames: readonly Uint8Array[]): Envelope {
  const header = decodeFrames(frames);
  if (frames.length === 1) return { header };
  const envelope: Envelope = { header, payload: frames[1] as Uint8Array };
  if (frames.length > 2) envelope.binary = frames.slice(2);
  return envelope;
}

/**
 * {@link decodeEnvelope} without the result object, for the hot path: decodes the header and
 * checks the frame count for its kind; the payload, if the kind has one, is `frames[1]`, and
 * its out-of-band binary frames follow it (decode with `decodePayload(frames, 1)`).
 *
 * @example
 * ```ts
 * const header = decodeFrames(delivery.content);
 * if (header.kind === "result") use(decodeValue(delivery.content[1]!));
 * ```
 */
export function decodeFrames(frames: readonly Uint8Array[]): Header {
  const first = frames[0];
  if (first === undefined) throw new RpcProtocolError("message has no header frame");
  const header = decodeHeader(first);
  if (hasPayload(header.kind)) {
    // Frames after the payload are its out-of-band binary frames, checked when it is decoded.
    if (frames.length < 2) throw new RpcProtocolError(`${header.kind} message has ${frames.length} frames, expected 2 or more`);
  } else if (frames.length !== 1) {
    throw new RpcProtocolError(`${header.kind} message has ${frames.length} frames, expected 1`);
  }
  return header;
}

/**
 * Builds the content frames of an envelope message. `payload` is one frame, or the frames of
 * `encodePayload` (the payload and its out-of-band binary frames).
 *
 * @example
 * ```ts
 * const frames = envelopeFrames({ kind: "result" }, encodeValue({ text: "hi" }));
 * ```
 */
export function envelopeFrames(header: Header, payload?: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  const head = encodeHeader(header);
  if (hasPayload(header.kind)) {
    if (payload === undefined || (!(payload instanceof Uint8Array) && payload.length === 0)) {
      throw new RpcProtocolError(`${header.kind} message needs a payload frame`);
    }
    return payload instanceof Uint8Array ? [head, payload] : [head, ...payload];
  }
  return [head];
}
