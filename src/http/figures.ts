import type { BrokerObserver } from "../broker/types.ts";
import { Histogram } from "./histogram.ts";

/** Label values per metric family (services, streams) before the rest are summed under `_other`. Default 200. */
export const DEFAULT_LABEL_CAP = 200;
/** Label value of everything beyond the cap. */
export const OTHER_LABEL = "_other";

/** What the broker reported for one service since the HTTP endpoint started. */
export interface ServiceFigures {
  /** Requests dispatched to workers. */
  calls: number;
  /** CONFIRMs with a failure status (300 and up), by status code. */
  failures: Map<number, number>;
  queueWait: Histogram;
  roundTrip: Histogram;
}

/**
 * The {@link BrokerObserver} of the HTTP endpoint: per-service calls, failures and latency
 * histograms, and CONFIRMs by status. At most `labelCap` services get their own figures; the
 * others are counted together under `_other`, so a peer offering many service names cannot grow
 * the metrics without bound.
 *
 * @example
 * ```ts
 * const figures = new BrokerFigures();
 * broker.observe(figures);
 * figures.services.get("echo")?.roundTrip.quantile(0.99);
 * ```
 */
export class BrokerFigures implements BrokerObserver {
  readonly services = new Map<string, ServiceFigures>();
  /** CONFIRMs by status code 0–999 (forwarded from recipients, or the broker's own failures); other codes count as 0. */
  readonly #confirms = new Float64Array(1000);
  /** Streams whose messages someone follows on /api/events (the core reads it on each STREAM-SEND). */
  readonly watched = new Set<string>();
  /** Set by the events hub while streams are watched. */
  published: BrokerObserver["published"] = undefined;
  // One-entry cache: most events in a row concern the same service.
  #lastName = "";
  #last: ServiceFigures | undefined = undefined;

  constructor(readonly labelCap = DEFAULT_LABEL_CAP) {}

  dispatched(service: string, waitMs: number): void {
    const figures = this.#of(service);
    figures.calls++;
    if (waitMs >= 0) figures.queueWait.record(waitMs);
  }

  confirmed(code: number, service: string | undefined, roundTripMs: number | undefined): void {
    this.#confirms[code >= 0 && code < 1000 ? code : 0]!++;
    if (service === undefined) return;
    const figures = this.#of(service);
    if (code >= 300) figures.failures.set(code, (figures.failures.get(code) ?? 0) + 1);
    if (roundTripMs !== undefined) figures.roundTrip.record(roundTripMs);
  }

  /** `[status, count]` of every status seen. */
  confirmStatuses(): [number, number][] {
    const out: [number, number][] = [];
    for (let code = 0; code < this.#confirms.length; code++) if (this.#confirms[code]! > 0) out.push([code, this.#confirms[code]!]);
    return out;
  }

  /** The figures `service` is counted under (its own, or `_other` beyond the cap). */
  label(service: string): string {
    return this.services.has(service) || this.services.size < this.labelCap ? service : OTHER_LABEL;
  }

  #of(service: string): ServiceFigures {
    if (service === this.#lastName && this.#last) return this.#last;
    let figures = this.services.get(service);
    if (figures === undefined) {
      const name = this.label(service);
      figures = this.services.get(name);
      if (figures === undefined) {
        figures = { calls: 0, failures: new Map(), queueWait: new Histogram(), roundTrip: new Histogram() };
        this.services.set(name, figures);
      }
    }
    this.#lastName = service;
    this.#last = figures;
    return figures;
  }
}
