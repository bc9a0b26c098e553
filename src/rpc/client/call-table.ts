import { callSequence } from "../wire/ids.ts";

/** What a {@link CallTable} holds: a call, its id, and the counter at the end of its id (-1: none). */
export interface TableEntry {
  readonly callId: string;
  readonly seq: number;
}

const INITIAL_SLOTS = 64;

/**
 * The calls a client has in flight, by call id. Ids end in a counter (see `CallIds`),
 * so a call lives in the slot its counter picks in a power-of-two array, and a reply finds it
 * with a few character reads and one string comparison instead of hashing the id a Map would
 * need on every insert, lookup and delete. A call whose slot is taken (by a long-running call
 * one array length earlier) goes to a Map instead, and the array doubles when that Map holds
 * more calls than it has slots.
 *
 * @example
 * ```ts
 * const calls = new CallTable<PendingCall>();
 * calls.add(call);
 * calls.get(delivery.tracker) === call; // true
 * calls.delete(call);
 * ```
 */
export class CallTable<T extends TableEntry> {
  #slots: (T | undefined)[] = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  #mask = INITIAL_SLOTS - 1;
  readonly #overflow = new Map<string, T>();
  #size = 0;

  /** Calls held. */
  get size(): number {
    return this.#size;
  }

  /** Adds a call; its id must not be held already, and its `seq` must be what `callSequence` reads from it. */
  add(call: T): void {
    this.#place(call);
    this.#size++;
    if (this.#overflow.size > this.#slots.length) this.#grow();
  }

  /** The call with this id, if held. */
  get(callId: string): T | undefined {
    const seq = callSequence(callId);
    if (seq >= 0) {
      const call = this.#slots[seq & this.#mask];
      if (call !== undefined && call.callId === callId) return call;
    }
    return this.#overflow.size === 0 ? undefined : this.#overflow.get(callId);
  }

  /** Removes this call (not another with the same id); false if it was not held. */
  delete(call: T): boolean {
    const seq = call.seq;
    const slot = seq & this.#mask;
    if (seq >= 0 && this.#slots[slot] === call) this.#slots[slot] = undefined;
    else if (this.#overflow.get(call.callId) === call) this.#overflow.delete(call.callId);
    else return false;
    this.#size--;
    return true;
  }

  /** A snapshot of the calls held. */
  values(): T[] {
    const out: T[] = [];
    for (const call of this.#slots) if (call !== undefined) out.push(call);
    for (const call of this.#overflow.values()) out.push(call);
    return out;
  }

  #place(call: T): void {
    const seq = call.seq;
    const slot = seq & this.#mask;
    if (seq >= 0 && this.#slots[slot] === undefined) this.#slots[slot] = call;
    else this.#overflow.set(call.callId, call);
  }

  #grow(): void {
    const calls = this.values();
    let length = this.#slots.length;
    while (length < calls.length) length *= 2;
    this.#slots = new Array<T | undefined>(length * 2).fill(undefined);
    this.#mask = length * 2 - 1;
    this.#overflow.clear();
    for (const call of calls) this.#place(call);
  }
}
