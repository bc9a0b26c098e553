/** What {@link LogLimiter.due} reports: lines of one kind left out in a window that ended. */
export interface Suppressed {
  kind: string;
  count: number;
}

/**
 * Rate limit of log lines by kind, so that a peer cannot control the log volume: the first
 * `burst` lines of a kind in a window pass, the others are counted and reported once, when
 * the window ends. Sans-I/O: time is passed in.
 *
 * @example
 * ```ts
 * const limiter = new LogLimiter(10, 60_000);
 * if (limiter.admit("connection refused", now)) log("connection refused");
 * for (const s of limiter.due(now)) log(`${s.count} more "${s.kind}" lines suppressed`);
 * ```
 */
export class LogLimiter {
  readonly #burst: number;
  readonly #window: number;
  readonly #kinds = new Map<string, { start: number; count: number; suppressed: number }>();
  /** Earliest end of a window that has suppressed lines (Infinity: none). */
  #next = Infinity;

  constructor(burst: number, window: number) {
    this.#burst = burst;
    this.#window = window > 0 ? window : Infinity;
  }

  /** Whether a line of `kind` may be written at `now`; false means it was counted instead. */
  admit(kind: string, now: number): boolean {
    let entry = this.#kinds.get(kind);
    if (entry === undefined || now >= entry.start + this.#window) {
      // A window that ended with suppressed lines is reported by `due` before this is called.
      entry = { start: now, count: 0, suppressed: 0 };
      this.#kinds.set(kind, entry);
    }
    if (entry.count < this.#burst) {
      entry.count++;
      return true;
    }
    if (entry.suppressed++ === 0) this.#next = Math.min(this.#next, entry.start + this.#window);
    return false;
  }

  /** Windows ended by `now` that suppressed lines: one summary each; they are forgotten. */
  due(now: number): Suppressed[] {
    if (now < this.#next) return [];
    const out: Suppressed[] = [];
    let next = Infinity;
    for (const [kind, entry] of this.#kinds) {
      const end = entry.start + this.#window;
      if (now >= end) {
        if (entry.suppressed > 0) out.push({ kind, count: entry.suppressed });
        this.#kinds.delete(kind);
      } else if (entry.suppressed > 0 && end < next) next = end;
    }
    this.#next = next;
    return out;
  }

  /** When `due` next has something to report (absolute ms), or undefined. */
  nextDue(): number | undefined {
    return this.#next === Infinity ? undefined : this.#next;
  }
}
