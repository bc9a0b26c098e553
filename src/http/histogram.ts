/**
 * Upper bounds (ms) of the latency buckets: 0.1 ms to 60 s, about ×2.5 apart (Prometheus'
 * defaults reach only 10 s; model calls wait and run longer).
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
];

/**
 * A fixed-bucket latency histogram: recording is a short scan and one increment, so the broker
 * can record every call without a measurable cost. Quantiles interpolate inside a bucket.
 *
 * @example
 * ```ts
 * const h = new Histogram();
 * h.record(3); h.record(40);
 * h.quantile(0.5); // within the 2.5–5 ms bucket
 * ```
 */
export class Histogram {
  /** Count per bucket; the last one holds what exceeds every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = LATENCY_BUCKETS_MS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  record(ms: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && ms > (bounds[i] as number)) i++;
    this.counts[i]!++;
    this.sum += ms;
    this.count++;
  }

  /** A copy of the counts, to take differences later ({@link quantile}'s `since`). */
  snapshot(): Float64Array {
    return this.counts.slice();
  }

  /**
   * The `q` quantile (0..1) in ms of what was recorded since `since` (a {@link snapshot}), else
   * of everything; null when nothing was recorded. Values beyond the last bound report that bound.
   */
  quantile(q: number, since?: Float64Array): number | null {
    const counts = this.counts;
    let total = 0;
    for (let i = 0; i < counts.length; i++) total += (counts[i] as number) - (since?.[i] ?? 0);
    if (total <= 0) return null;
    const rank = q * total;
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      const n = (counts[i] as number) - (since?.[i] ?? 0);
      if (n > 0 && seen + n >= rank) {
        const low = i === 0 ? 0 : this.bounds[i - 1] as number;
        const high = this.bounds[i] ?? low;
        return low + (high - low) * Math.max(0, Math.min(1, (rank - seen) / n));
      }
      seen += n;
    }
    return this.bounds[this.bounds.length - 1] as number;
  }
}
