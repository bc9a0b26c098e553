import { decodePayload } from "../wire/codec.ts";
import type { DeadlineEntry } from "../shared/deadline-timer.ts";
import type { Header } from "../wire/envelope.ts";
import {
  RpcCancelledError, RpcDeadlineError, RpcError, RpcErrorCode, RpcProtocolError, RpcRemoteError, type RpcErrorBody,
} from "../errors.ts";
import type { RpcStream } from "../types.ts";
import type { MethodInfo } from "../shared/method-info.ts";
import { invalid } from "../shared/validate.ts";

/** What a pending call needs from the client that owns it. */
export interface CallHost {
  /** The call settled: forget it, and tell the worker to stop it, for this reason, when `cancelRemote` is set. */
  finished(call: PendingCall, cancelRemote: RpcError | undefined): void;
  /** A call settled with an error of this code (after {@link finished}). */
  failed(code: string): void;
  readonly validateOutput: boolean;
  readonly maxBufferedChunks: number;
}

// setTimeout fires at once for delays past 2^31-1 ms; nobody needs a longer deadline than ~24 days.
export const MAX_TIMER_MS = 0x7fffffff;

function isErrorBody(value: unknown): value is RpcErrorBody {
  if (typeof value !== "object" || value === null) return false;
  const body = value as Record<string, unknown>;
  return typeof body["code"] === "string" && typeof body["message"] === "string";
}

/**
 * One call in flight on a client: its timer, its abort listener, and what to do with each
 * envelope that arrives for it. Settles exactly once; later envelopes are ignored.
 */
export abstract class PendingCall implements DeadlineEntry {
  heapIndex = -1;
  queuePos = -1;
  /** The counter at the end of the call id (set by the client; see `CallIds`), -1 if none. */
  seq = -1;
  /** The mailbox that takes cancels for this call (from the last ack), if any. */
  worker: string | undefined;
  /** The client's session the call was last written into (see `resendOnReconnect`). */
  session = 0;
  /** The call's frames, kept while it is pending when the client re-sends after a lost session. */
  frames: Uint8Array[] | undefined = undefined;
  #settled = false;
  #signal: AbortSignal | undefined;
  /** Only calls with a signal get a listener (a closure per call costs on the hot path). */
  #onAbort: (() => void) | undefined;

  constructor(
    protected readonly host: CallHost,
    readonly callId: string,
    readonly info: MethodInfo,
    /** Absolute deadline, ms since the epoch. */
    readonly deadline: number,
  ) {}

  get settled(): boolean {
    return this.#settled;
  }

  protected get label(): string {
    return this.info.label;
  }

  /** The deadline passed (called by the client's deadline timer). */
  expire(): void {
    this.fail(new RpcDeadlineError(`${this.label} missed its deadline`), true);
  }

  /** Watch the caller's signal. */
  watch(signal: AbortSignal | undefined): void {
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => this.fail(new RpcCancelledError(`${this.label} was cancelled`, { cause: signal.reason }), true);
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Settle with an error. `cancelRemote`: the worker may still be running it. */
  fail(error: RpcError, cancelRemote: boolean): void {
    if (!this.#finish(cancelRemote ? error : undefined)) return;
    this.host.failed(error.code);
    this.reject(error);
  }

  /**
   * Handle one envelope addressed to this call: `content` is the delivery's frames (header and
   * payload, then binary frames), `offset` where the payload starts. A bad envelope fails the call.
   */
  receive(header: Header, content: readonly Uint8Array[], offset: number, sender: string): void {
    if (this.#settled) return;
    try {
      switch (header.kind) {
        case "ack":
          this.worker = header.worker === "" ? sender : header.worker;
          return;
        case "error": {
          const body = decodePayload(content, offset, "error");
          if (!isErrorBody(body)) throw new RpcProtocolError(`${this.label}: error reply without code and message`);
          if (this.#finish(undefined)) {
            this.host.failed(body.code);
            this.reject(new RpcRemoteError(this.info.service, this.info.method, body));
          }
          return;
        }
        default:
          this.onEnvelope(header, content, offset);
      }
    } catch (error) {
      const wrapped = error instanceof RpcError
        ? error
        : new RpcError(RpcErrorCode.INTERNAL, `${this.label}: ${String((error as Error)?.message ?? error)}`, { cause: error });
      this.fail(wrapped, true);
    }
  }

  /** Settle successfully; returns false if the call had already settled. */
  protected succeed(): boolean {
    return this.#finish(undefined);
  }

  protected abstract onEnvelope(header: Header, content: readonly Uint8Array[], offset: number): void;
  protected abstract reject(error: RpcError): void;

  #finish(cancelRemote: RpcError | undefined): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#signal = undefined;
    this.#onAbort = undefined;
    this.host.finished(this, cancelRemote);
    return true;
  }
}

/** A call answered by one output (plus optional progress). */
export class UnaryCall<O = unknown, P = unknown> extends PendingCall {
  readonly promise: Promise<O>;
  #resolve!: (value: O) => void;
  #reject!: (error: Error) => void;

  constructor(
    host: CallHost,
    callId: string,
    info: MethodInfo,
    deadline: number,
    private readonly onProgress: ((value: P) => void) | undefined,
  ) {
    super(host, callId, info, deadline);
    this.promise = new Promise<O>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  protected onEnvelope(header: Header, content: readonly Uint8Array[], offset: number): void {
    const info = this.info;
    if (header.kind === "progress") {
      // Progress the caller does not listen to is not even decoded.
      if (this.onProgress === undefined || info.progress === undefined) return;
      const value = decodePayload(content, offset, "progress", info.progressCodec);
      if (!info.progress.Check(value)) throw invalid(info.schema.progress!, value, "progress", info.label);
      this.onProgress(value as P);
      return;
    }
    if (header.kind !== "result" || info.output === undefined) {
      throw new RpcProtocolError(`${info.label}: unexpected ${header.kind} reply to a unary call`, { details: mismatch(header.kind, "unary") });
    }
    const value = decodePayload(content, offset, "result", info.outputCodec);
    if (this.host.validateOutput && !info.output.Check(value)) throw invalid(info.schema.output!, value, "output", info.label);
    if (this.succeed()) this.#resolve(value as O);
  }

  protected reject(error: RpcError): void {
    this.#reject(error);
  }
}

/** A call answered by a stream of chunks; it is the {@link RpcStream} handed to the caller. */
export class StreamCall<T = unknown> extends PendingCall implements RpcStream<T> {
  #chunks: T[] = [];
  #head = 0;
  /** Chunks accepted so far; a requeued call's replayed chunks below this are skipped. */
  #received = 0;
  #ended = false;
  #error: RpcError | undefined;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;
  #iterated = false;

  cancel(reason?: unknown): void {
    this.fail(new RpcCancelledError(`${this.label} was cancelled`, { cause: reason }), true);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new RpcError(RpcErrorCode.INTERNAL, `${this.label}: a stream can be iterated only once`);
    this.#iterated = true;
    return {
      next: () => this.#next(),
      return: (): Promise<IteratorResult<T>> => {
        this.cancel("iteration stopped");
        this.#chunks = [];
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  protected onEnvelope(header: Header, content: readonly Uint8Array[], offset: number): void {
    const info = this.info;
    // A requeued call restarts from chunk 0 on its new worker: chunks the caller already has are skipped.
    if (header.kind === "chunk" && info.chunk !== undefined) {
      if (header.seq < this.#received) return;
      if (header.seq > this.#received) {
        throw new RpcProtocolError(`${this.label}: chunk ${header.seq} arrived, expected ${this.#received}`);
      }
      const value = decodePayload(content, offset, "chunk", info.chunkCodec);
      if (this.host.validateOutput && !info.chunk.Check(value)) throw invalid(info.schema.chunk!, value, "chunk", info.label);
      this.#received++;
      if (this.#chunks.length - this.#head >= this.host.maxBufferedChunks) {
        throw new RpcError(
          RpcErrorCode.RESOURCE_EXHAUSTED,
          `${this.label}: more than ${this.host.maxBufferedChunks} chunks waiting to be read`,
        );
      }
      this.#push(value as T);
      return;
    }
    if (header.kind === "end") {
      if (header.count !== this.#received) {
        throw new RpcProtocolError(`${this.label}: stream ended after ${header.count} chunks, ${this.#received} arrived`);
      }
      if (!this.succeed()) return;
      this.#ended = true;
      this.#wake();
      return;
    }
    throw new RpcProtocolError(`${this.label}: unexpected ${header.kind} reply to a streaming call`, { details: mismatch(header.kind, "stream") });
  }

  protected reject(error: RpcError): void {
    this.#error = error;
    this.#wake();
  }

  #push(value: T): void {
    if (this.#waiter !== undefined && this.#head === this.#chunks.length) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ done: false, value });
      return;
    }
    this.#chunks.push(value);
  }

  #wake(): void {
    if (this.#waiter === undefined) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (this.#error !== undefined) waiter.reject(this.#error);
    else waiter.resolve({ done: true, value: undefined });
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#chunks.length) {
      const value = this.#chunks[this.#head] as T;
      this.#chunks[this.#head++] = undefined as T;
      // Compact now and then so a long stream does not keep every chunk alive.
      if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
        this.#chunks = this.#chunks.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
}

/**
 * Details of a reply of the wrong kind: `worker` says how the worker serves the method (a chunk
 * or end means it streams, a result or progress that it is unary), so a caller whose contract
 * disagrees can say which way to call it.
 */
function mismatch(reply: string, called: "unary" | "stream"): { reply: string; called: string; worker?: string } {
  const worker = reply === "chunk" || reply === "end" ? "stream" : reply === "result" || reply === "progress" ? "unary" : undefined;
  return worker === undefined ? { reply, called } : { reply, called, worker };
}
