import type { Delivery } from "../client/types.ts";
import { encodeValue } from "./codec.ts";
import { encodeHeader } from "./envelope.ts";
import { errorBody } from "./errors.ts";

/** Where a {@link Reply} sends its messages: the worker's call connection. */
export interface ReplySink {
  /** MAILBOX-SEND to the caller; must not throw. */
  send(delivery: Delivery, subject: string, frames: Uint8Array[], timeout: number): void;
  /** CONFIRM the delivery and CREDIT(1); `failed` counts the call as failed. Must not throw. */
  finish(delivery: Delivery, failed: boolean): void;
  /** Uint8Arrays this big or bigger in progress values travel as binary frames (Infinity: never). */
  readonly binaryFrameThreshold: number;
}

// Shared by every reply: frames are never modified once built.
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
 * reply.result([encodeValue({ text: "hi" })]);
 * reply.done();
 * ```
 */
export class Reply {
  #final = false;
  #failed = false;
  #done = false;
  /** MLM timeout of replies: ones nobody collects (the caller gave up or died) leave the broker. */
  timeout = 60_000;

  constructor(
    private readonly sink: ReplySink,
    readonly delivery: Delivery,
  ) {}

  /** See {@link ReplySink.binaryFrameThreshold}. */
  get binaryFrameThreshold(): number {
    return this.sink.binaryFrameThreshold;
  }

  /** Whether the final reply went out. */
  get final(): boolean {
    return this.#final;
  }

  ack(address: string): void {
    if (!this.#final) this.sink.send(this.delivery, "ack", [encodeHeader({ kind: "ack", worker: address })], this.timeout);
  }

  /** `payload`: the frames of `encodePayload` (payload, then its binary frames). */
  progress(payload: readonly Uint8Array[]): void {
    if (!this.#final) this.sink.send(this.delivery, "progress", withHeader(PROGRESS_HEADER, payload), this.timeout);
  }

  chunk(seq: number, payload: readonly Uint8Array[]): void {
    if (!this.#final) this.sink.send(this.delivery, "chunk", withHeader(encodeHeader({ kind: "chunk", seq }), payload), this.timeout);
  }

  end(count: number): void {
    if (this.#final) return;
    this.#final = true;
    this.sink.send(this.delivery, "end", [encodeHeader({ kind: "end", count })], this.timeout);
  }

  result(payload: readonly Uint8Array[]): void {
    if (this.#final) return;
    this.#final = true;
    this.sink.send(this.delivery, "result", withHeader(RESULT_HEADER, payload), this.timeout);
  }

  /** Sends an error reply built from anything thrown. */
  fail(error: unknown): void {
    if (this.#final) return;
    this.#final = true;
    this.#failed = true;
    const body = errorBody(error);
    let payload: Uint8Array;
    try {
      payload = encodeValue(body);
    } catch {
      // Details that msgpack cannot carry are dropped rather than losing the whole reply.
      payload = encodeValue({ code: body.code, message: body.message });
    }
    this.sink.send(this.delivery, "error", [ERROR_HEADER, payload], this.timeout);
  }

  /** Confirms the delivery (after the final reply) and gives the broker back one credit. */
  done(): void {
    if (this.#done) return;
    this.#done = true;
    this.sink.finish(this.delivery, this.#failed);
  }
}

function withHeader(header: Uint8Array, payload: readonly Uint8Array[]): Uint8Array[] {
  if (payload.length === 1) return [header, payload[0] as Uint8Array];
  return [header, ...payload];
}
