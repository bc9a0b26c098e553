import type { BrokerStore } from "../../storage/types.ts";

interface Held {
  /** Store generation it waits for. */
  readonly gen: number;
  readonly run: () => void;
}

/**
 * Holds the broker's outgoing effects (sends, disconnects, buffer releases) until what the core
 * stored before them is as durable as the store's fsync policy promises (design.md §5):
 *
 * - `always`: until an fsync covers it. Syncs run one at a time; everything applied while one
 *   runs is covered by the next (group commit).
 * - `interval` and `never`: until it is written to the operating system (one write per file at
 *   the end of the current burst of input), so a kill -9 of the broker never loses something a
 *   peer was told about.
 *
 * Effects queued behind held ones wait too, so they leave in the order the core decided them.
 *
 * @example
 * ```ts
 * const gate = new StoreGate(store, (error) => console.error(error));
 * store.apply(ops); gate.applied();
 * gate.run(() => router.send(id, frames)); // leaves once `ops` are durable
 * ```
 */
export class StoreGate {
  readonly #store: BrokerStore;
  readonly #onError: (error: Error) => void;
  /** Generations: one per `applied()`; `#covered` is the last one made durable. */
  #applied = 0;
  #covered = 0;
  #held: Held[] = [];
  #head = 0;
  #scheduled = false;
  #syncing = false;
  #drained: (() => void)[] = [];

  constructor(store: BrokerStore, onError: (error: Error) => void) {
    this.#store = store;
    this.#onError = onError;
  }

  /** The core's ops were just applied to the store. */
  applied(): void {
    this.#applied++;
    this.#schedule();
  }

  /** Run `effect` now if nothing stored before it is pending, else once it is durable. */
  run(effect: () => void): void {
    if (this.#head === this.#held.length && this.#covered >= this.#applied) {
      effect();
      return;
    }
    this.#held.push({ gen: this.#applied, run: effect });
    this.#schedule();
  }

  /** Resolves once nothing is held (for a graceful close). */
  drain(): Promise<void> {
    if (this.#head === this.#held.length && this.#covered >= this.#applied) return Promise.resolve();
    this.#schedule();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the current burst of input (every message of a received chunk), not per message.
    queueMicrotask(this.#settle);
  }

  #settle = (): void => {
    this.#scheduled = false;
    if (this.#store.fsync !== "always") {
      this.#store.flush();
      this.#covered = this.#applied;
      this.#release();
      return;
    }
    if (this.#syncing) return;
    const target = this.#applied;
    this.#syncing = true;
    this.#store.sync().then(
      () => this.#synced(target),
      (error: unknown) => {
        this.#onError(error instanceof Error ? error : new Error(String(error)));
        this.#synced(target);
      },
    );
  };

  #synced(target: number): void {
    this.#syncing = false;
    if (target > this.#covered) this.#covered = target;
    this.#release();
    if (this.#covered < this.#applied) this.#schedule();
  }

  #release(): void {
    const held = this.#held;
    let head = this.#head;
    while (head < held.length && (held[head] as Held).gen <= this.#covered) {
      const effect = (held[head] as Held).run;
      held[head++] = undefined as unknown as Held;
      effect();
    }
    if (head === held.length) {
      this.#held = [];
      this.#head = 0;
      if (this.#covered >= this.#applied) for (const resolve of this.#drained.splice(0)) resolve();
    } else {
      this.#head = head;
    }
  }
}
