import type { Delivery } from "../../client/types.ts";
import { encodePayload, encodeValue, payloadBytes } from "../wire/codec.ts";
import { encodeHeader } from "../wire/envelope.ts";
import { errorBody, type RpcErrorBody, RpcPayloadTooLargeError } from "../errors.ts";
import type { SchemaCodec } from "../wire/schema-codec.ts";

/** Where a {@link Reply} sends its messages: the worker's call connection. */
export interface ReplySink {
  /** MAILBOX-SEND to the caller; must not throw. */
  /** Sends one reply of the call `delivery` brought, tracked by `callId`. */
  send(delivery: Delivery, callId: string, subject: string, frames: Uint8Array[], timeout: number): void;
  /** CONFIRM the delivery and CREDIT(1); `failedCode` (the error reply's code) counts the call as failed. Must not throw. */
  finish(delivery: Delivery, failedCode: string | undefined): void;
  /** Uint8Arrays this big or bigger in replies travel as binary frames (Infinity: never). */
  readonly binaryFrameThreshold: number;
  /** Largest payload (bytes, binary frames included) a reply may carry. */
  readonly maxPayload: number;
}

// Shared by every reply: never modified.
const PROGRESS_HEADER = encodeHeader({ kind: "progress" });
const RESULT_HEADER = encodeHeader({ kind: "result" });
const ERROR_HEADER = encodeHeader({ kind: "error" });

/**
 * The replies of one call: progress and chunks, at most one final reply (result, end or
 * error), and exactly one confirm after it.
 *
 * @example
 * ```ts
 * const reply = new Reply(sink, delivery);
 * reply.result({ text: "hi" });
 * reply.done();
 * ```
 */
export class Reply {
  #final = false;
  #failure: RpcErrorBody | undefined;
  #done = false;
  /** MLM timeout of replies: ones nobody collects (the caller gave up or died) leave the broker. */
  timeout = 60_000;
  /** When the caller sent the call (epoch ms), or NaN when its clock is not to be trusted: the queue wait is the start minus this. */
  sentAt = NaN;

  constructor(
    private readonly sink: ReplySink,
    readonly delivery: Delivery,
    /** The call id replies carry: the call header's `id` when it has one, else the delivery's tracker. */
    readonly callId: string = delivery.tracker,
  ) {}

  /** The error reply sent, if the call failed. */
  get failure(): RpcErrorBody | undefined {
    return this.#failure;
  }

  /** Whether the final reply went out. */
  get final(): boolean {
    return this.#final;
  }

  ack(address: string): void {
    if (!this.#final) this.sink.send(this.delivery, this.callId, "ack", [encodeHeader({ kind: "ack", worker: address })], this.timeout);
  }

  /** Sends a progress value (already checked against its schema). Throws if it is too large. */
  progress(value: unknown, codec?: SchemaCodec): void {
    if (!this.#final) this.sink.send(this.delivery, this.callId, "progress", this.#encode(value, PROGRESS_HEADER, "progress", codec), this.timeout);
  }

  /** Sends streamed chunk `seq`. Throws if it is too large. */
  chunk(seq: number, value: unknown, codec?: SchemaCodec): void {
    if (!this.#final) this.sink.send(this.delivery, this.callId, "chunk", this.#encode(value, encodeHeader({ kind: "chunk", seq }), "chunk", codec), this.timeout);
  }

  end(count: number): void {
    if (this.#final) return;
    this.#final = true;
    this.sink.send(this.delivery, this.callId, "end", [encodeHeader({ kind: "end", count })], this.timeout);
  }

  /** Sends the output, the final reply. Throws (and stays open for {@link fail}) if it is too large. */
  result(value: unknown, codec?: SchemaCodec): void {
    if (this.#final) return;
    const frames = this.#encode(value, RESULT_HEADER, "output", codec);
    this.#final = true;
    this.sink.send(this.delivery, this.callId, "result", frames, this.timeout);
  }

  /** Sends an error reply built from anything thrown. */
  fail(error: unknown): void {
    if (this.#final) return;
    this.#final = true;
    const body = errorBody(error);
    this.#failure = body;
    let frame: Uint8Array;
    try {
      frame = encodeValue(body, ERROR_HEADER);
    } catch {
      // Details that msgpack cannot carry are dropped rather than losing the whole reply.
      frame = encodeValue({ code: body.code, message: body.message }, ERROR_HEADER);
    }
    this.sink.send(this.delivery, this.callId, "error", [frame], this.timeout);
  }

  /** Confirms the delivery (after the final reply) and gives the broker back one credit. */
  done(): void {
    if (this.#done) return;
    this.#done = true;
    this.sink.finish(this.delivery, this.#failure?.code);
  }

  #encode(value: unknown, header: Uint8Array, what: string, codec: SchemaCodec | undefined): Uint8Array[] {
    const frames = encodePayload(value, this.sink.binaryFrameThreshold, header, codec);
    const first = frames[0] as Uint8Array;
    const size = frames.length === 1 ? first.byteLength - header.length : payloadBytes(frames, header.length);
    if (size > this.sink.maxPayload) throw new RpcPayloadTooLargeError(what, size, this.sink.maxPayload);
    return frames;
  }
}
