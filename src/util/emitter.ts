// deno-lint-ignore no-explicit-any
type AnyHandler = (...args: any[]) => void;

/**
 * A minimal typed event emitter that works identically on Node, Bun and Deno.
 * A throwing handler is caught and re-emitted as `error` (or swallowed if the throwing
 * handler *is* an error handler) so one bad listener never breaks the emitter's owner.
 *
 * @example
 * ```ts
 * const events = new Emitter<{ tick: (n: number) => void; error: (e: Error) => void }>();
 * events.on("tick", (n) => console.log(n));
 * events.emit("tick", 1);
 * ```
 */
export class Emitter<Events extends { [K in keyof Events]: AnyHandler }> {
  readonly #handlers = new Map<keyof Events, Set<AnyHandler>>();

  on<E extends keyof Events>(event: E, handler: Events[E]): this {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler);
    return this;
  }

  off<E extends keyof Events>(event: E, handler: Events[E]): this {
    this.#handlers.get(event)?.delete(handler);
    return this;
  }

  /** Whether anyone listens to `event`. */
  listens(event: keyof Events): boolean {
    return (this.#handlers.get(event)?.size ?? 0) > 0;
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const set = this.#handlers.get(event);
    if (!set) return;
    for (const handler of set) {
      try {
        handler(...args);
      } catch (err) {
        if (event !== "error") this.emit("error" as E, ...([err] as unknown as Parameters<Events[E]>));
      }
    }
  }
}
