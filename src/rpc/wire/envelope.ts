import { binaryFrameThreshold, decodePayload, encodePayload, encodeValue } from "./codec.ts";
import { RpcProtocolError, RpcUnknownKindError } from "../errors.ts";
import { encodeCallHeader, ENVELOPE_VERSION, fastDecodeHeader, fastHeaderEnd } from "./header-fast.ts";
import { decodedEnd, fastDecodeFirst, NOT_DECODED } from "./msgpack-read.ts";
import { readSmallMap, type SmallValue, smallMapEnd, writeSmallMap } from "./small-map.ts";

export { ENVELOPE_VERSION };

/**
 * Stream on which callers publish cancels of calls not yet acknowledged (see docs/rpc-wire.md).
 *
 * @example
 * ```ts
 * await mlm.setConsumer(CANCEL_STREAM, ".*"); // what a worker's control connection does
 * ```
 */
export const CANCEL_STREAM = "malamute.rpc.cancel";

/** Caller → worker: start a call (SERVICE-SEND). The input payload follows. */
export interface CallHeader {
  kind: "call";
  /** Remaining time in ms when sent (also the MLM `timeout`). */
  timeout: number;
  /** Absolute deadline, caller's clock, ms since the Unix epoch. */
  deadline: number;
  /** Free-form string metadata, e.g. a W3C `traceparent`. */
  meta?: Record<string, string>;
  /**
   * The call id again, for brokers that may deliver a queued request with another message's
   * tracker (C Malamute): a worker answers with this id when present. Callers send it only there.
   */
  id?: string;
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

/** Kinds whose header is followed by a payload. */
const WITH_PAYLOAD: ReadonlySet<HeaderKind> = new Set(["call", "progress", "chunk", "result", "error"]);

/**
 * Whether messages of this kind carry a payload after the header.
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
 * Encodes a header: a message's whole content for kinds without a payload, otherwise the start
 * of its first content frame (see {@link envelopeFrames}).
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
      if (header.meta === undefined && header.id === undefined && isCount(header.timeout) && isCount(header.deadline)) {
        return encodeCallHeader(header.timeout, header.deadline);
      }
      fields.push(["timeout", header.timeout], ["deadline", header.deadline]);
      if (header.id !== undefined) fields.push(["id", header.id]);
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

// Where the header decoded last ended: module state instead of a result object per message.
let headerEnd = 0;

/**
 * Decodes and checks the header at the start of `frame` (the payload, if any, follows it:
 * {@link payloadOffset} tells where). Unknown extra keys are ignored (forward compatibility);
 * a wrong version or a missing/mistyped field throws {@link RpcProtocolError}, a kind this
 * version does not know its subclass {@link RpcUnknownKindError}.
 *
 * @example
 * ```ts
 * const header = decodeHeader(frame);
 * if (header.kind === "chunk") console.log(header.seq);
 * ```
 */
export function decodeHeader(frame: Uint8Array): Header {
  const fast = fastDecodeHeader(frame);
  if (fast !== undefined) {
    headerEnd = fastHeaderEnd();
    return fast;
  }
  let raw: unknown = readSmallMap(frame, false);
  if (raw !== undefined) headerEnd = smallMapEnd();
  else {
    // Nested values (meta): still plain msgpack, which the direct reader handles.
    raw = fastDecodeFirst(frame);
    if (raw === NOT_DECODED) throw new RpcProtocolError("header is not a plain msgpack value");
    headerEnd = decodedEnd();
  }
  if (typeof raw !== "object" || raw === null || Object.getPrototypeOf(raw) !== Object.prototype) {
    throw new RpcProtocolError("header is not a msgpack map");
  }
  const map = raw as Record<string, unknown>;
  if (map["version"] !== ENVELOPE_VERSION) {
    throw new RpcProtocolError(`unsupported envelope version ${JSON.stringify(map["version"]) ?? "undefined"}`);
  }
  switch (map["kind"]) {
    case "call": {
      const { timeout, deadline, meta, id } = map;
      if (!isCount(timeout)) bad(map, "timeout");
      if (!isCount(deadline)) bad(map, "deadline");
      if (meta !== undefined && !isMeta(meta)) bad(map, "meta");
      if (id !== undefined && (typeof id !== "string" || id === "")) bad(map, "id");
      const header: CallHeader = { kind: "call", timeout: timeout as number, deadline: deadline as number };
      if (meta !== undefined) header.meta = meta as Record<string, string>;
      if (id !== undefined) header.id = id as string;
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
      if (typeof map["kind"] === "string") throw new RpcUnknownKindError(map["kind"]);
      throw new RpcProtocolError(`missing or invalid envelope kind ${JSON.stringify(map["kind"]) ?? "undefined"}`);
  }
}

/**
 * Where the payload starts in the first content frame of the message whose header was decoded
 * last ({@link decodeHeader}, {@link decodeFrames}): pass it to `decodePayload`.
 *
 * @example
 * ```ts
 * const header = decodeFrames(delivery.content);
 * if (header.kind === "result") use(decodePayload(delivery.content, payloadOffset()));
 * ```
 */
export function payloadOffset(): number {
  return headerEnd;
}

function bad(map: Record<string, unknown>, field: string): never {
  throw new RpcProtocolError(`${String(map["kind"])} header has a missing or invalid "${field}"`);
}

/**
 * A decoded envelope message: the header, and the decoded payload when the kind has one
 * (out-of-band binary values resolved to views of their frames).
 *
 * @example
 * ```ts
 * const { header, payload }: Envelope = decodeEnvelope(delivery.content);
 * ```
 */
export interface Envelope {
  header: Header;
  payload?: unknown;
}

/**
 * Decodes the content frames of an envelope message: header, then payload (see {@link decodeFrames}).
 *
 * @example
 * ```ts
 * const { header, payload } = decodeEnvelope(delivery.content);
 * ```
 */
export function decodeEnvelope(frames: readonly Uint8Array[]): Envelope {
  const header = decodeFrames(frames);
  if (!hasPayload(header.kind)) return { header };
  return { header, payload: decodePayload(frames, headerEnd, header.kind === "call" ? "input" : header.kind) };
}

/**
 * {@link decodeEnvelope} without the payload, for the hot path: decodes the header and checks
 * the message's shape for its kind. The payload, if the kind has one, starts at
 * {@link payloadOffset} in the first frame, and its out-of-band binary frames follow
 * (decode with `decodePayload(frames, payloadOffset())`).
 *
 * @example
 * ```ts
 * const header = decodeFrames(delivery.content);
 * if (header.kind === "result") use(decodePayload(delivery.content, payloadOffset()));
 * ```
 */
export function decodeFrames(frames: readonly Uint8Array[]): Header {
  const first = frames[0];
  if (first === undefined) throw new RpcProtocolError("message has no content frame");
  const header = decodeHeader(first);
  if (hasPayload(header.kind)) {
    // Frames after the first are the payload's out-of-band binary frames, checked when it is decoded.
    if (headerEnd >= first.length) throw new RpcProtocolError(`${header.kind} message has no payload after its header`);
  } else if (headerEnd !== first.length || frames.length !== 1) {
    throw new RpcProtocolError(`${header.kind} message has ${frames.length > 1 ? `${frames.length} frames` : "bytes after its header"}, expected the header alone`);
  }
  return header;
}

/**
 * Builds the content frames of an envelope message: for kinds with a payload,
 * `[header + msgpack(payload), ...binaryFrames]` (Uint8Arrays of at least `binaryFrameThreshold`
 * bytes travel as binary frames; default 64 KiB), otherwise `[header]`.
 *
 * @example
 * ```ts
 * const frames = envelopeFrames({ kind: "result" }, { text: "hi" });
 * ```
 */
export function envelopeFrames(header: Header, payload?: unknown, threshold?: number): Uint8Array[] {
  const head = encodeHeader(header);
  if (hasPayload(header.kind)) return encodePayload(payload, binaryFrameThreshold(threshold), head);
  if (payload !== undefined) throw new RpcProtocolError(`${header.kind} message has no payload`);
  return [head];
}
