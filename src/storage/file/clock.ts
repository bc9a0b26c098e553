import type { StoreClock } from "../types.ts";

/**
 * The real clock: wall time from `Date.now()`, core time from `coreNow` (the clock the broker
 * core is driven with, e.g. `performance.now`). The offset between them is taken once, so a
 * wall-clock jump while running does not move deadlines.
 *
 * @example
 * ```ts
 * const clock = systemClock(() => performance.now());
 * new FileStore({ dir: "data", clock });
 * ```
 */
export function systemClock(coreNow: () => number): StoreClock {
  const offset = Date.now() - coreNow();
  return {
    wallOf: (t) => t + offset,
    coreOf: (w) => w - offset,
    wallNow: () => Date.now(),
  };
}
