import type { StoreClock } from "./types.ts";

/**
 * A {@link StoreClock} driven by hand, for tests: core time is `now`, wall time is `now + offset`.
 * Moving `offset` between two stores simulates a broker restarted after some downtime (a new core
 * clock that starts again near 0 while wall time went on).
 *
 * @example
 * ```ts
 * const clock = new ManualClock(1_700_000_000_000);
 * clock.now += 500; // half a second later
 * ```
 */
export class ManualClock implements StoreClock {
  now = 0;

  constructor(public offset = 0) {}

  wallOf(coreTime: number): number {
    return coreTime + this.offset;
  }

  coreOf(wallTime: number): number {
    return wallTime - this.offset;
  }

  wallNow(): number {
    return this.now + this.offset;
  }
}
