import { MlmError } from "../errors.ts";
import { Message } from "../message.ts";
import type { Claimer, RouteHooks } from "./routes.ts";
import type { Delivery } from "../types.ts";

/**
 * Options of `MlmClient.request`.
 *
 * @example
 * ```ts
 * const answer = await client.request("echo", "ping", "hi", { timeout: 2000, signal: ac.signal });
 * ```
 */
export interface RequestOptions {
  /**
   * Milliseconds to wait for the reply; also the broker's time-to-live of the request, so an
   * unserved request does not linger in the service queue. Default: the client's `timeout`.
   */
  timeout?: number;
  /** Aborting it rejects the request with the signal's reason (a late reply is then dropped). */
  signal?: AbortSignal;
}

interface Pending {
  resolve: (message: Message) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  what: string;
}

/**
 * Requests waiting for their reply, matched by tracker: the request goes out with a fresh
 * tracker, and the worker's `reply()` comes back to this client's mailbox with the same one.
 */
export class Requests implements Claimer {
  readonly #pending = new Map<string, Pending>();
  readonly #hooks: RouteHooks;
  readonly #limit: number;
  readonly #prefix = `req-${randomHex()}-`;
  #next = 0;

  constructor(limit: number, hooks: RouteHooks) {
    this.#limit = limit;
    this.#hooks = hooks;
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Register a request, then `send(tracker)` it. Rejects with `MLM_LIMIT` when `limit` requests
   * already wait (nothing sent), `MLM_TIMEOUT` after `timeout` ms, `MLM_FAILED` (with `status`)
   * when the broker answers the tracker with a failure CONFIRM (303: no such service...).
   */
  start(what: string, timeout: number, signal: AbortSignal | undefined, send: (tracker: string) => void, withdraw: (tracker: string) => void): Promise<Message> {
    if (this.#pending.size >= this.#limit) {
      return Promise.reject(new MlmError("MLM_LIMIT", `${what}: ${this.#limit} requests already wait for their reply (maxRequests)`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const tracker = this.#prefix + (++this.#next).toString(36);
    return new Promise<Message>((resolve, reject) => {
      const pending: Pending = {
        resolve, reject, signal, onAbort: undefined, what,
        timer: setTimeout(() => {
          this.#settle(tracker);
          withdraw(tracker);
          reject(new MlmError("MLM_TIMEOUT", `${what}: no reply within ${timeout} ms`));
        }, timeout),
      };
      if (signal) {
        pending.onAbort = () => {
          this.#settle(tracker);
          withdraw(tracker);
          reject(signal.reason);
        };
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      this.#pending.set(tracker, pending);
      try {
        send(tracker);
      } catch (error) {
        this.#settle(tracker);
        reject(error);
      }
    });
  }

  claim(delivery: Delivery): boolean {
    if (delivery.kind !== "mailbox" || delivery.tracker === "") return false;
    const pending = this.#settle(delivery.tracker);
    if (!pending) return false;
    this.#hooks.consumed(delivery, true);
    pending.resolve(new Message(delivery));
    return true;
  }

  /** A failure CONFIRM from the broker: true when it answered a waiting request. */
  failed(tracker: string, code: number, reason: string): boolean {
    const pending = this.#settle(tracker);
    if (!pending) return false;
    pending.reject(new MlmError("MLM_FAILED", `${pending.what}: the broker answered ${code} ${reason}`, { status: code }));
    return true;
  }

  close(error: MlmError): void {
    for (const tracker of [...this.#pending.keys()]) this.#settle(tracker)?.reject(error);
  }

  #settle(tracker: string): Pending | undefined {
    const pending = this.#pending.get(tracker);
    if (!pending) return undefined;
    this.#pending.delete(tracker);
    clearTimeout(pending.timer);
    if (pending.signal && pending.onAbort) pending.signal.removeEventListener("abort", pending.onAbort);
    return pending;
  }
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
