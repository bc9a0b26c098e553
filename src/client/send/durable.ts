import type { MailboxSend, ServiceSend } from "../../proto/mod.ts";
import { MlmError } from "../errors.ts";

/** A durable send waiting for CONFIRM 202 "stored" (docs/mlm-extensions.md §3). */
export interface DurableWaiter {
  readonly message: MailboxSend | ServiceSend;
  /** When the application sent it (performance.now()): the message's timeout counts from here. */
  readonly at: number;
  /** True while it sits in the client's held list (not written on the current session). */
  held: boolean;
  readonly resolve: () => void;
  readonly reject: (error: MlmError) => void;
}

/**
 * The durable sends of one client, by tracker, in sending order. A waiter leaves the table when
 * its answer comes (or the client gives up on it), so a tracker is in it at most once.
 */
export class DurableSends {
  readonly #waiters = new Map<string, DurableWaiter>();
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get size(): number {
    return this.#waiters.size;
  }

  has(tracker: string): boolean {
    return this.#waiters.has(tracker);
  }

  /** True when `waiter` still waits (a held copy of a settled one must not be sent). */
  waiting(waiter: DurableWaiter): boolean {
    return this.#waiters.get(waiter.message.tracker) === waiter;
  }

  add(waiter: DurableWaiter): void {
    this.#waiters.set(waiter.message.tracker, waiter);
  }

  /** CONFIRM 202 for `tracker`: resolve its waiter. False when none waits (the 202 is dropped). */
  stored(tracker: string): boolean {
    const waiter = this.#take(tracker);
    waiter?.resolve();
    return waiter !== undefined;
  }

  /** A failure CONFIRM (or a client-side failure) for `tracker`. False when none waits. */
  failed(tracker: string, code: number, reason: string): boolean {
    const waiter = this.#take(tracker);
    if (waiter === undefined) return false;
    const text = `durable ${waiter.message.type === "MAILBOX_SEND" ? "sendTo" : "sendFor"}(${JSON.stringify(waiter.message.address)}) tracker ${JSON.stringify(tracker)} not stored: CONFIRM ${code}${reason ? ` ${reason}` : ""}`;
    waiter.reject(new MlmError("MLM_NOT_STORED", text, { status: code }));
    return true;
  }

  /** Give up on one waiter with `error` (e.g. its write failed). */
  reject(waiter: DurableWaiter, error: MlmError): void {
    if (!this.waiting(waiter)) return;
    this.#waiters.delete(waiter.message.tracker);
    waiter.reject(error);
  }

  /** The session was lost: the waiters written on it, in sending order, to be sent again. */
  unanswered(): DurableWaiter[] {
    const out: DurableWaiter[] = [];
    for (const waiter of this.#waiters.values()) if (!waiter.held) out.push(waiter);
    return out;
  }

  /** Reject every waiter (client closed, or the new broker cannot store). */
  rejectAll(error: MlmError): void {
    const all = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const waiter of all) waiter.reject(error);
  }

  #take(tracker: string): DurableWaiter | undefined {
    const waiter = this.#waiters.get(tracker);
    if (waiter !== undefined) this.#waiters.delete(tracker);
    return waiter;
  }
}
