import { DeadlineTimer, type DeadlineEntry } from "../shared/deadline-timer.ts";
import type { MethodInfo } from "../shared/method-info.ts";
import type { Reply } from "./reply.ts";

/** A call delivered while the worker already runs `concurrency` calls: decoded, checked, not started. */
export interface WaitingCall extends DeadlineEntry {
  readonly key: string;
  readonly reply: Reply;
  readonly info: MethodInfo;
  readonly input: unknown;
  readonly meta: Readonly<Record<string, string>>;
}

/**
 * Calls a worker holds until a slot is free, first come first served. A broker that honours
 * credit never sends a worker more than `concurrency` calls, so this stays empty there; a
 * broker that ignores credit (C Malamute) sends everything at once, and this is what keeps
 * `concurrency` true. Each call leaves when its turn comes ({@link next}), when it is cancelled
 * ({@link take}), or when its deadline passes (the `expired` callback; it never runs).
 *
 * @example
 * ```ts
 * const waiting = new WaitingCalls((call) => answerDeadline(call));
 * waiting.add(call);
 * const nextCall = waiting.next(); // oldest first
 * ```
 */
export class WaitingCalls {
  /** Insertion order is arrival order: the first entry is the next to run. */
  readonly #byKey = new Map<string, WaitingCall>();
  readonly #deadlines: DeadlineTimer<WaitingCall>;

  constructor(expired: (call: WaitingCall) => void) {
    this.#deadlines = new DeadlineTimer<WaitingCall>((call) => {
      this.#byKey.delete(call.key);
      expired(call);
    });
  }

  get size(): number {
    return this.#byKey.size;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  add(call: WaitingCall): void {
    this.#byKey.set(call.key, call);
    this.#deadlines.add(call);
  }

  /** The oldest waiting call, removed; undefined when none waits. */
  next(): WaitingCall | undefined {
    for (const call of this.#byKey.values()) {
      this.#byKey.delete(call.key);
      this.#deadlines.remove(call);
      return call;
    }
    return undefined;
  }

  /** Removes and returns the call `key` (cancelled), if it waits. */
  take(key: string): WaitingCall | undefined {
    const call = this.#byKey.get(key);
    if (call === undefined) return undefined;
    this.#byKey.delete(key);
    this.#deadlines.remove(call);
    return call;
  }

  /** Removes every waiting call and returns them, oldest first. */
  drain(): WaitingCall[] {
    const all = [...this.#byKey.values()];
    this.#byKey.clear();
    this.#deadlines.clear();
    return all;
  }
}
