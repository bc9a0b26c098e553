import { MlmError } from "../errors.ts";
import { Message } from "../message.ts";
import { Fifo } from "../queue.ts";
import type { Delivery } from "../types.ts";

/**
 * Options of the per-subscription iterators (`consume`, `mailbox`, `requests`).
 *
 * @example
 * ```ts
 * for await (const m of client.mailbox({ limit: 100, onFull: "throw" })) handle(m);
 * ```
 */
export interface RouteOptions {
  /**
   * Deliveries held for this iterator and not yet taken. Default: the client's
   * `receiveBuffer` (itself at least the credit window, so with credit on the broker never
   * sends past it: a slow loop holds the broker back instead of losing messages).
   */
  limit?: number;
  /**
   * At the limit the delivery is always dropped, counted in `stats().droppedDeliveries` and
   * in the iterator's `dropped`, reported as an `error` event `MLM_BUFFER_FULL`, and a tracked
   * sender gets CONFIRM 300 "receive buffer full". Then, with `"drop"` (default) the loop goes
   * on; with `"throw"` its next `next()` rejects with that `MLM_BUFFER_FULL` and the
   * subscription ends.
   */
  onFull?: "drop" | "throw";
}

/** What a route tells the client. */
export interface RouteHooks {
  /** As {@link InboxHooks.consumed}: credit back, and acknowledgement of a handed journal entry. */
  consumed(delivery: Delivery, handed: boolean): void;
  /** A delivery was dropped at a route's limit (stats, CONFIRM 300, error event). */
  overflow(delivery: Delivery, limit: number): MlmError;
}

/** Something that takes the deliveries that belong to it before the inbox does. */
export interface Claimer {
  /** True when the delivery was taken (it is then the claimer's to hand out or drop). */
  claim(delivery: Delivery): boolean;
  close(error: MlmError): void;
}

interface Waiter {
  resolve: (result: IteratorResult<Message>) => void;
  reject: (error: unknown) => void;
}

/**
 * One subscription's iterator: the deliveries `match` accepts, buffered up to `limit`.
 * Breaking out of the loop (or calling `return()`) ends it and runs `stop` once (the broker
 * command that undoes the subscription, where MLM has one).
 *
 * @example
 * ```ts
 * const sub = client.consume("weather", "temp.*");
 * for await (const m of sub) if (m.text() === "stop") break; // STREAM-CANCEL sent
 * ```
 */
export class Subscription implements AsyncIterableIterator<Message> {
  #dropped = 0;
  readonly #buffer = new Fifo<Delivery>();
  readonly #waiters = new Fifo<Waiter>();
  readonly #routes: Routes;
  readonly #match: (delivery: Delivery) => boolean;
  readonly #limit: number;
  readonly #throwOnFull: boolean;
  readonly #stop: () => Promise<void>;
  /** What it subscribes to (`stream:<name>`, `mailbox`, `service:<name>`), to tell whether a stream is still used. */
  readonly key: string;
  /** Rejects when the broker refused the subscription; `next()` waits for it first. */
  #ready: Promise<void> | undefined;
  #failure: unknown;
  #ended = false;
  #stopping: Promise<void> | undefined;

  /** @internal Created by the client. */
  constructor(routes: Routes, key: string, match: (delivery: Delivery) => boolean, options: Required<RouteOptions>, stop: () => Promise<void>) {
    this.#routes = routes;
    this.key = key;
    this.#match = match;
    this.#limit = options.limit;
    this.#throwOnFull = options.onFull === "throw";
    this.#stop = stop;
  }

  /** @internal The broker's answer to the subscription: `next()` waits for it first. */
  started(ready: Promise<void>): void {
    this.#ready = ready.then(() => {
      this.#ready = undefined;
    }, (error: unknown) => {
      this.#ready = undefined;
      this.#fail(error);
    });
  }

  /** Deliveries dropped at the limit. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Deliveries waiting in this iterator's buffer. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** @internal */
  claim(delivery: Delivery): boolean {
    if (this.#ended || !this.#match(delivery)) return false;
    const waiter = this.#ready === undefined && this.#failure === undefined ? this.#waiters.shift() : undefined;
    if (waiter) {
      this.#routes.hooks.consumed(delivery, true);
      waiter.resolve({ done: false, value: new Message(delivery) });
      return true;
    }
    if (this.#buffer.length >= this.#limit) {
      this.#dropped++;
      const error = this.#routes.hooks.overflow(delivery, this.#limit);
      this.#routes.hooks.consumed(delivery, false);
      if (this.#throwOnFull) this.#fail(error);
      return true;
    }
    this.#buffer.push(delivery);
    return true;
  }

  async next(): Promise<IteratorResult<Message>> {
    if (this.#ready) await this.#ready;
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      this.#ended = true;
      throw failure;
    }
    const ready = this.#buffer.shift();
    if (ready) {
      this.#routes.hooks.consumed(ready, true);
      return { done: false, value: new Message(ready) };
    }
    if (this.#ended) return { done: true, value: undefined };
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Ends the subscription: buffered deliveries are released (their credit returned) and `stop` runs. */
  async return(): Promise<IteratorResult<Message>> {
    this.#end();
    await (this.#stopping ??= this.#stop().catch(() => {}));
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** @internal The client closed: what is buffered may still be read, then the loop ends. */
  close(): void {
    this.#ended = true;
    this.#routes.remove(this);
    for (const waiter of this.#waiters.drain()) waiter.resolve({ done: true, value: undefined });
  }

  #fail(error: unknown): void {
    this.#failure = error;
    this.#end();
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#failure = undefined;
      waiter.reject(error);
    }
    for (const other of this.#waiters.drain()) other.resolve({ done: true, value: undefined });
    this.#stopping ??= this.#stop().catch(() => {});
  }

  #end(): void {
    if (this.#ended && !this.#routes.has(this)) return;
    this.#ended = true;
    this.#routes.remove(this);
    for (const delivery of this.#buffer.drain()) this.#routes.hooks.consumed(delivery, false);
    for (const waiter of this.#waiters.drain()) waiter.resolve({ done: true, value: undefined });
  }
}

/**
 * The claimers of a client, asked in order before a delivery goes to the shared inbox: the
 * pending `request()` replies first, then the subscriptions in the order they were made (a
 * delivery two subscriptions match goes to the older one).
 */
export class Routes {
  readonly hooks: RouteHooks;
  #claimers: ReadonlyArray<Claimer | Subscription> = [];

  constructor(hooks: RouteHooks) {
    this.hooks = hooks;
  }

  /** True when some claimer exists (the client's fast path skips the routes otherwise). */
  get active(): boolean {
    return this.#claimers.length > 0;
  }

  add(claimer: Claimer | Subscription): void {
    this.#claimers = [...this.#claimers, claimer];
  }

  has(claimer: Claimer | Subscription): boolean {
    return this.#claimers.includes(claimer);
  }

  remove(claimer: Claimer | Subscription): void {
    this.#claimers = this.#claimers.filter((c) => c !== claimer);
  }

  /** Whether a live subscription passes `test` (to tell whether a stream is still used). */
  some(test: (s: Subscription) => boolean): boolean {
    return this.#claimers.some((c) => c instanceof Subscription && test(c));
  }

  claim(delivery: Delivery): boolean {
    for (const claimer of this.#claimers) if (claimer.claim(delivery)) return true;
    return false;
  }

  close(error: MlmError): void {
    for (const claimer of this.#claimers) claimer.close(error);
    this.#claimers = [];
  }
}
