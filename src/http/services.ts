import type { BrokerStats } from "../broker/types.ts";
import type { BrokerFigures } from "./figures.ts";

/**
 * One service as /api/services and the `stats` event of /api/events show it. `busy`: its
 * credit-aware workers that have no credit left.
 */
export interface ServiceRow {
  name: string;
  workers: number;
  busy: number;
  queued: number;
  bytes: number;
  inflight: number;
  calls: number;
  failures: Record<string, number>;
  queueWaitP50Ms: number | null;
  queueWaitP99Ms: number | null;
  roundTripP50Ms: number | null;
  roundTripP99Ms: number | null;
}

/** Earlier histogram counts per service, so quantiles cover a recent window rather than all time. */
export type Baseline = Map<string, { queueWait: Float64Array; roundTrip: Float64Array }>;

/** Workers with no credit left, by service (one pass over the clients). */
export function busyWorkers(stats: BrokerStats): Map<string, number> {
  const busy = new Map<string, number>();
  for (const client of stats.clientList) {
    if (!client.creditAware || client.credit > 0) continue;
    for (const service of new Set(client.offers)) busy.set(service, (busy.get(service) ?? 0) + 1);
  }
  return busy;
}

/**
 * The services of `stats` joined with the observed figures. `since`: quantiles over what was
 * recorded after that baseline (see {@link baseline}).
 *
 * @example
 * ```ts
 * const rows = serviceRows(broker.stats(), figures);
 * rows[0]?.roundTripP99Ms;
 * ```
 */
export function serviceRows(stats: BrokerStats, figures: BrokerFigures, since?: Baseline): ServiceRow[] {
  const busy = busyWorkers(stats);
  return stats.services.map((s) => {
    const own = figures.services.get(s.name);
    const base = since?.get(s.name);
    const failures: Record<string, number> = {};
    if (own) for (const [code, n] of own.failures) failures[String(code)] = n;
    return {
      name: s.name, workers: s.workers, busy: busy.get(s.name) ?? 0, queued: s.queued, bytes: s.bytes,
      inflight: s.inflight, calls: own?.calls ?? 0, failures,
      queueWaitP50Ms: own?.queueWait.quantile(0.5, base?.queueWait) ?? null,
      queueWaitP99Ms: own?.queueWait.quantile(0.99, base?.queueWait) ?? null,
      roundTripP50Ms: own?.roundTrip.quantile(0.5, base?.roundTrip) ?? null,
      roundTripP99Ms: own?.roundTrip.quantile(0.99, base?.roundTrip) ?? null,
    };
  });
}

/** The histograms' counts now, to pass as `since` later. */
export function baseline(figures: BrokerFigures): Baseline {
  const out: Baseline = new Map();
  for (const [name, f] of figures.services) out.set(name, { queueWait: f.queueWait.snapshot(), roundTrip: f.roundTrip.snapshot() });
  return out;
}
