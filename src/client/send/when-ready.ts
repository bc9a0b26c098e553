import { MlmError } from "../errors.ts";
import { Fifo } from "../queue.ts";

/**
 * Options of the awaitable sends (`sendWhenReady`, `sendToWhenReady`, `sendForWhenReady`).
 *
 * @example
 * ```ts
 * await client.sendToWhenReady("bob", "hi", "there", { wait: 10_000, signal: ac.signal });
 * ```
 */
export interface WhenReadyOptions {
  /** Milliseconds to wait for room before rejecting with `MLM_TIMEOUT`. Default 30 000. */
  wait?: number;
  /** Aborting it rejects the send with the signal's reason; nothing is sent. */
  signal?: AbortSignal;
}

/** Default of {@link WhenReadyOptions.wait}. */
export const DEFAULT_WAIT_MS = 30_000;
/** How often waiting sends retry while there is no `connected` event to wake them (the socket's queue has no drain event). */
const RETRY_MS = 10;

interface Waiting {
  readonly attempt: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The two refusals that mean "no room now": the socket's queue, or the held sends of a session that is down. */
const noRoom = (error: unknown): boolean =>
  error instanceof MlmError && (error.code === "MLM_SEND_QUEUE_FULL" || error.code === "MLM_NOT_CONNECTED");

/**
 * Sends that wait for room instead of throwing, first come first served: a later send never
 * overtakes an earlier waiting one, so the order of messages is kept.
 */
export class WaitingSends {
  readonly #queue = new Fifo<Waiting>();
  readonly #limit: number;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed: MlmError | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#queue.length;
  }

  /**
   * Try `attempt` now (when nothing waits before it); on "no room" wait and retry. Other
   * errors (bad argument, closed client) reject at once.
   */
  send(attempt: () => void, what: string, options: WhenReadyOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.#queue.length === 0) {
      try {
        attempt();
        return Promise.resolve();
      } catch (error) {
        if (!noRoom(error)) return Promise.reject(error);
      }
    }
    if (this.#queue.length >= this.#limit) {
      return Promise.reject(new MlmError("MLM_LIMIT", `${what}: ${this.#limit} sends already wait for room (maxWaitingSends)`));
    }
    const wait = options.wait ?? DEFAULT_WAIT_MS;
    return new Promise<void>((resolve, reject) => {
      const waiting: Waiting = { attempt, resolve, reject, timer: undefined, signal: options.signal, onAbort: undefined };
      const give = (error: unknown) => {
        this.#finish(waiting);
        this.#queue.remove(waiting);
        reject(error);
      };
      waiting.timer = setTimeout(() => give(new MlmError("MLM_TIMEOUT", `${what}: no room to send within ${wait} ms`)), wait);
      if (options.signal) {
        const signal = options.signal;
        waiting.onAbort = () => give(signal.reason);
        signal.addEventListener("abort", waiting.onAbort, { once: true });
      }
      this.#queue.push(waiting);
      this.#schedule();
    });
  }

  /** Something may have made room (the session re-opened): retry now. */
  wake(): void {
    if (this.#queue.length === 0) return;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#flush();
  }

  close(error: MlmError): void {
    this.#closed = error;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    for (const waiting of this.#queue.drain()) {
      this.#finish(waiting);
      waiting.reject(error);
    }
  }

  #flush(): void {
    for (let head = this.#queue.peek(); head; head = this.#queue.peek()) {
      try {
        head.attempt();
      } catch (error) {
        if (noRoom(error)) break;
        this.#queue.shift();
        this.#finish(head);
        head.reject(error);
        continue;
      }
      this.#queue.shift();
      this.#finish(head);
      head.resolve();
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#queue.length === 0 || this.#retry !== undefined || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#flush();
    }, RETRY_MS);
  }

  #finish(waiting: Waiting): void {
    if (waiting.timer !== undefined) clearTimeout(waiting.timer);
    if (waiting.signal && waiting.onAbort) waiting.signal.removeEventListener("abort", waiting.onAbort);
  }
}
