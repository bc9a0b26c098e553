/**
 * Counts by error code, for `stats().failures`: at most `max` distinct codes (codes come from
 * handlers and may be anything), further ones counted under `OTHER`.
 *
 * @example
 * ```ts
 * const failures = new CodeCounts(64);
 * failures.add("RPC_DEADLINE_EXCEEDED");
 * failures.snapshot(); // { RPC_DEADLINE_EXCEEDED: 1 }
 * ```
 */
export class CodeCounts {
  readonly #counts = new Map<string, number>();

  constructor(readonly max: number) {}

  add(code: string): void {
    const key = this.#counts.has(code) || this.#counts.size < this.max ? code : "OTHER";
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}

/** Default of the `maxFailureCodes` options. */
export const DEFAULT_MAX_FAILURE_CODES = 64;
