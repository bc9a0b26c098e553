import { MlmError } from "../errors.ts";
import { Fifo } from "../queue.ts";
import type { Delivery } from "../types.ts";

interface Waiter {
  resolve: (delivery: Delivery) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** What the inbox tells its owner. */
export interface InboxHooks {
  /**
   * One delivery was handed to the application (`handed`), or dropped: credit may be returned,
   * and a durable consumer's delivery may be acknowledged (only when handed).
   */
  consumed(delivery: Delivery, handed: boolean): void;
  /** The buffer was full and `delivery` was dropped. */
  overflow(delivery: Delivery): void;
  /** A push-mode handler threw. */
  handlerError(error: unknown): void;
}

/**
 * Where deliveries wait for the application: a bounded buffer, the pending `receive()` calls,
 * and push-mode handlers. Deliveries leave in arrival order whichever way they are consumed.
 */
export class Inbox {
  readonly #buffer = new Fifo<Delivery>();
  readonly #waiters = new Fifo<Waiter>();
  readonly #capacity: number;
  readonly #hooks: InboxHooks;
  // Replaced, never mutated, so a handler may unsubscribe while deliveries are dispatched.
  #handlers: ReadonlyArray<(delivery: Delivery) => void> = [];
  #closed: MlmError | undefined;

  constructor(capacity: number, hooks: InboxHooks) {
    this.#capacity = capacity;
    this.#hooks = hooks;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** A delivery arrived from the broker. */
  push(delivery: Delivery): void {
    if (this.#handlers.length > 0) {
      if (this.#buffer.length > 0) this.#drainToHandlers();
      this.#dispatch(delivery);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#settle(waiter);
      waiter.resolve(delivery);
      this.#hooks.consumed(delivery, true);
      return;
    }
    if (this.#buffer.length >= this.#capacity) {
      this.#hooks.overflow(delivery);
      this.#hooks.consumed(delivery, false);
      return;
    }
    this.#buffer.push(delivery);
  }

  receive(signal?: AbortSignal): Promise<Delivery> {
    const ready = this.#buffer.shift();
    if (ready) {
      this.#hooks.consumed(ready, true);
      return Promise.resolve(ready);
    }
    if (this.#closed) return Promise.reject(this.#closed);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Delivery>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          this.#waiters.remove(waiter);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
    });
  }

  onDelivery(handler: (delivery: Delivery) => void): () => void {
    this.#handlers = [...this.#handlers, handler];
    // Deliveries buffered before the first handler go to it too, after the caller has its
    // unsubscribe function.
    if (this.#buffer.length > 0) queueMicrotask(() => this.#drainToHandlers());
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.#handlers = this.#handlers.filter((h) => h !== handler);
    };
  }

  /** No more deliveries will come: pending and later `receive()` calls fail once the buffer is empty. */
  close(error: MlmError): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const waiter of this.#waiters.drain()) {
      this.#settle(waiter);
      waiter.reject(error);
    }
  }

  #drainToHandlers(): void {
    while (this.#handlers.length > 0 && this.#buffer.length > 0) this.#dispatch(this.#buffer.shift() as Delivery);
  }

  #dispatch(delivery: Delivery): void {
    for (const handler of this.#handlers) {
      try {
        handler(delivery);
      } catch (err) {
        this.#hooks.handlerError(err);
      }
    }
    this.#hooks.consumed(delivery, true);
  }

  #settle(waiter: Waiter): void {
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener("abort", waiter.onAbort);
  }
}
