import process from "node:process";
import { Counter, Gauge, type Metric, Registry } from "prom-client";
import type { BrokerCounters, BrokerStats } from "../broker/types.ts";
import { OTHER_LABEL, type BrokerFigures } from "./figures.ts";
import type { Histogram } from "./histogram.ts";
import { busyWorkers } from "./services.ts";

/** Prefix of every metric the broker exposes. */
export const METRIC_PREFIX = "malamute_";

type Source = () => BrokerStats;

/**
 * The broker's Prometheus registry (prom-client). Gauges and counters are read from one
 * `broker.stats()` per scrape, so serving them costs the broker nothing between scrapes; the
 * latency histograms come from {@link BrokerFigures}. Service and stream labels are capped at
 * `figures.labelCap` values (default 200); the rest are summed under `service="_other"` /
 * `stream="_other"`.
 *
 * @example
 * ```ts
 * const metrics = new BrokerMetrics(() => broker.stats(), figures);
 * const text = await metrics.render(); // Prometheus text exposition format
 * ```
 */
export class BrokerMetrics {
  readonly registry: Registry = new Registry();
  #stats: BrokerStats | undefined = undefined;

  constructor(source: Source, readonly figures: BrokerFigures) {
    this.#source = source;
    this.#define();
  }

  readonly #source: Source;

  /** Content type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** One scrape: a fresh stats snapshot rendered as Prometheus text. */
  async render(): Promise<string> {
    this.#stats = this.#source();
    try {
      return await this.registry.metrics();
    } finally {
      this.#stats = undefined;
      this.#busy = undefined;
    }
  }

  get #now(): BrokerStats {
    return this.#stats ??= this.#source();
  }

  #busy: Map<string, number> | undefined = undefined;

  /** Busy workers of the snapshot being rendered (one pass over the clients per scrape). */
  #busyOf(stats: BrokerStats): Map<string, number> {
    return this.#busy ??= busyWorkers(stats);
  }

  #define(): void {
    const r = this.registry;
    const self = this;
    const gauge = (name: string, help: string, read: (s: BrokerStats) => number): void => {
      new Gauge({ name: METRIC_PREFIX + name, help, registers: [r], collect() { this.set(read(self.#now)); } });
    };
    const counter = (name: string, help: string, read: (s: BrokerStats) => number): void => {
      new Counter({
        name: METRIC_PREFIX + name, help, registers: [r],
        collect() { this.reset(); this.inc(read(self.#now)); },
      });
    };
    const labelled = <L extends string>(
      kind: "gauge" | "counter", name: string, help: string, labels: L[],
      rows: (s: BrokerStats) => Iterable<[Record<L, string>, number]>,
    ): void => {
      const Kind = kind === "gauge" ? Gauge : Counter;
      new Kind({
        name: METRIC_PREFIX + name, help, labelNames: labels, registers: [r],
        collect() {
          this.reset();
          for (const [l, v] of rows(self.#now)) (this as Gauge<L>).inc(l, v);
        },
      });
    };

    gauge("connections", "Connections (contexts), opened or not.", (s) => s.connections);
    gauge("clients", "Connections that completed CONNECTION-OPEN.", (s) => s.clients);
    labelled("counter", "messages_received_total", "Messages received, by MLM command.", ["kind"],
      (s) => Object.entries(s.traffic?.kindsIn ?? {}).map(([kind, n]) => [{ kind }, n]));
    labelled("counter", "messages_sent_total", "Messages sent, by MLM command.", ["kind"],
      (s) => Object.entries(s.traffic?.kindsOut ?? {}).map(([kind, n]) => [{ kind }, n]));
    counter("received_bytes_total", "Bytes received in MLM messages (all frames).", (s) => s.traffic?.bytesIn ?? 0);
    counter("sent_bytes_total", "Bytes sent in MLM messages (all frames).", (s) => s.traffic?.bytesOut ?? 0);
    gauge("mailboxes", "Mailboxes holding messages or owned.", (s) => s.mailboxes.length);
    gauge("mailbox_messages", "Messages stored in all mailboxes.", (s) => total(s.mailboxes, (m) => m.depth));
    gauge("mailbox_bytes", "Content bytes stored in all mailboxes.", (s) => total(s.mailboxes, (m) => m.bytes));
    gauge("held_requests", "Tracked service requests held (queued, or in flight at a credit-aware worker).", (s) => s.held);
    const cap = this.figures.labelCap;
    labelled("gauge", "stream_readers", "Readers (connections) of a stream.", ["stream"],
      (s) => capped(s.streams, cap, (x) => x.name, (x) => x.readers).map(([stream, n]) => [{ stream }, n]));
    labelled("gauge", "stream_writers", "Writers (connections) of a stream.", ["stream"],
      (s) => capped(s.streams, cap, (x) => x.name, (x) => x.writers).map(([stream, n]) => [{ stream }, n]));
    const service = (
      name: string, help: string, read: (x: BrokerStats["services"][number], busy: Map<string, number>) => number,
    ): void => labelled("gauge", name, help, ["service"], (s) => {
      const busy = self.#busyOf(s);
      return capped(s.services, cap, (x) => x.name, (x) => read(x, busy)).map(([service, n]) => [{ service }, n]);
    });
    service("service_workers", "Workers offering the service.", (x) => x.workers);
    service("service_busy_workers", "Credit-aware workers of the service with no credit left.", (x, busy) => busy.get(x.name) ?? 0);
    service("service_queue_messages", "Requests waiting in the service queue.", (x) => x.queued);
    service("service_queue_bytes", "Content bytes waiting in the service queue.", (x) => x.bytes);
    service("service_inflight", "Tracked requests delivered to credit-aware workers and not confirmed yet.", (x) => x.inflight);
    const figures = this.figures;
    labelled("counter", "service_calls_total", "Requests dispatched to workers.", ["service"],
      () => [...figures.services].map(([service, f]) => [{ service }, f.calls]));
    labelled("counter", "service_failures_total", "Failure CONFIRMs (status 300 and up) of service requests.", ["service", "status"],
      () => [...figures.services].flatMap(([service, f]) => [...f.failures].map(([status, n]): [Record<"service" | "status", string>, number] => [{ service, status: String(status) }, n])));
    labelled("counter", "confirms_total", "CONFIRMs to senders, by status (forwarded or the broker's own failures).", ["status"],
      () => figures.confirmStatuses().map(([status, n]) => [{ status: String(status) }, n]));
    for (const key of COUNTER_KEYS) {
      counter(`${snake(key)}_total`, COUNTER_HELP[key], (s) => s.counters[key]);
    }
    gauge("memory_rss_bytes", "Resident set size of the broker process.", () => process.memoryUsage().rss);
    gauge("memory_heap_used_bytes", "JavaScript heap in use.", () => process.memoryUsage().heapUsed);
    r.registerMetric(latency("service_queue_wait_seconds", "Time requests waited in the service queue.", figures, (f) => f.queueWait));
    r.registerMetric(latency("service_round_trip_seconds", "Dispatch to the worker's CONFIRM, as the broker sees it.", figures, (f) => f.roundTrip));
  }
}

const COUNTER_HELP: Record<keyof BrokerCounters, string> = {
  delivered: "Deliveries sent (stream, mailbox and service).",
  queued: "Messages that had to wait (mailbox, service queue, or reader buffer).",
  expired: "Queued messages discarded because their timeout passed.",
  dropped: "Messages refused or discarded (limits, no route, reader buffer overflow, lost on disconnect).",
  malformed: "Inputs that failed to decode.",
  confirmed: "CONFIRMs forwarded from recipients to senders.",
  failed: "Failure CONFIRMs the broker sent itself.",
  requeued: "In-flight requests put back in their queue because the worker left.",
  connectionsExpired: "Connections that expired (no input within the timeout).",
  connectionsRefused: "Connections cut off by the broker (malformed input, connection limit).",
  droppedCongested: "Stream deliveries dropped because the reader was congested.",
  subscriptionsRefused: "STREAM-READs and SERVICE-OFFERs refused for a limit or an invalid pattern.",
  openTimeouts: "Connections closed for sending no CONNECTION-OPEN in time.",
  logsSuppressed: "Log lines left out by the rate limit.",
  withdrawn: "Tracked service requests their senders withdrew.",
  stored: "Messages written to the broker's store.",
  recovered: "Messages recovered from the store at start.",
  replayed: "Journal entries delivered to consumers from history.",
  storageRefused: "Messages refused because the store could not write.",
  aclRefused: "Commands refused by the ACL of the client's CURVE key.",
  curveRefused: "CURVE clients whose key was refused during the handshake.",
};
const COUNTER_KEYS = Object.keys(COUNTER_HELP) as (keyof BrokerCounters)[];

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function total<T>(items: readonly T[], of: (item: T) => number): number {
  let n = 0;
  for (const item of items) n += of(item);
  return n;
}

/** The first `cap` items under their own name, the rest summed under `_other`. */
export function capped<T>(items: readonly T[], cap: number, name: (item: T) => string, value: (item: T) => number): [string, number][] {
  const out: [string, number][] = [];
  let other: number | undefined;
  for (const item of items) {
    if (out.length < cap) out.push([name(item), value(item)]);
    else other = (other ?? 0) + value(item);
  }
  if (other !== undefined) out.push([OTHER_LABEL, other]);
  return out;
}

/**
 * A Prometheus histogram read from {@link BrokerFigures} at scrape time. prom-client's own
 * Histogram is fed one `observe` per value (a label lookup each); the broker records into
 * fixed buckets instead and this object only formats them, in the shape prom-client's
 * registry renders (`get()` with `_bucket`/`_sum`/`_count` values).
 */
function latency(name: string, help: string, figures: BrokerFigures, of: (f: BrokerFigures["services"] extends Map<string, infer F> ? F : never) => Histogram): Metric {
  const full = METRIC_PREFIX + name;
  const metric = {
    name: full,
    help,
    type: "histogram",
    aggregator: "sum",
    get: () => {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const [service, f] of figures.services) {
        const h = of(f);
        let cumulative = 0;
        for (let i = 0; i < h.bounds.length; i++) {
          cumulative += h.counts[i] as number;
          values.push({ metricName: `${full}_bucket`, labels: { le: (h.bounds[i] as number) / 1000, service }, value: cumulative });
        }
        values.push({ metricName: `${full}_bucket`, labels: { le: "+Inf", service }, value: h.count });
        values.push({ metricName: `${full}_sum`, labels: { service }, value: h.sum / 1000 });
        values.push({ metricName: `${full}_count`, labels: { service }, value: h.count });
      }
      return { name: full, help, type: "histogram", values, aggregator: "sum" };
    },
    reset: () => {},
  };
  return metric as unknown as Metric;
}
