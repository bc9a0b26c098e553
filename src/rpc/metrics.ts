import type { Registry } from "prom-client";
import type { RpcClientControl, RpcClientStats } from "./client/client.ts";
import type { RpcCallRecord, RpcWorker, RpcWorkerStats } from "./worker/worker.ts";

/**
 * What {@link registerRpcMetrics} exposes.
 *
 * @example
 * ```ts
 * await registerRpcMetrics(registry, { worker, client, buckets: [0.1, 1, 10, 60] });
 * ```
 */
export interface RpcMetricsOptions {
  /** Workers to expose, labelled by `service`. */
  worker?: RpcWorker | readonly RpcWorker[];
  /** Clients to expose, labelled by `client` (their reply address). */
  client?: RpcClientControl | readonly RpcClientControl[];
  /** Buckets of the handler duration histogram, seconds. Default 1 ms to 5 min (model calls are long). */
  buckets?: number[];
  /** Prefix of every metric name. Default `malamute_rpc_`. */
  prefix?: string;
}

/** Default buckets of `…_handler_duration_seconds`. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

type Kind = "counter" | "gauge";
type Row<S> = readonly [name: string, kind: Kind, help: string, pick: (s: S) => number];

const WORKER_ROWS: readonly Row<RpcWorkerStats>[] = [
  ["worker_calls_total", "counter", "Calls delivered to the worker.", (s) => s.received],
  ["worker_succeeded_total", "counter", "Calls answered with a result or end of stream.", (s) => s.succeeded],
  ["worker_cancels_total", "counter", "Cancels received.", (s) => s.cancels],
  ["worker_skipped_cancelled_total", "counter", "Calls answered without running because their cancel came first.", (s) => s.skippedCancelled],
  ["worker_refused_busy_total", "counter", "Calls refused because maxWaiting calls already waited.", (s) => s.refusedBusy],
  ["worker_malformed_total", "counter", "Deliveries that were neither calls nor valid cancels.", (s) => s.malformed],
  ["worker_running", "gauge", "Calls running now (concurrency in use).", (s) => s.running],
  ["worker_waiting", "gauge", "Calls waiting for a free slot.", (s) => s.waiting],
  ["worker_concurrency", "gauge", "Calls the worker runs at once at most.", (s) => s.concurrency],
  ["worker_max_running", "gauge", "Most calls that ever ran at once.", (s) => s.maxRunning],
];

const CLIENT_ROWS: readonly Row<RpcClientStats>[] = [
  ["client_calls_total", "counter", "Calls sent.", (s) => s.calls],
  ["client_pending", "gauge", "Calls in flight (concurrency in use).", (s) => s.pending],
  ["client_acks_total", "counter", "Calls a worker reported as running.", (s) => s.acks],
  ["client_cancels_total", "counter", "Cancels sent to workers.", (s) => s.cancels],
  ["client_withdrawn_total", "counter", "Calls withdrawn from the broker's queue before any ack.", (s) => s.withdrawn],
  ["client_resent_total", "counter", "Calls sent again after the session was re-opened.", (s) => s.resent],
  ["client_failed_on_loss_total", "counter", "Calls failed when the session was lost (resendOnReconnect: false).", (s) => s.failedOnLoss],
  ["client_stale_total", "counter", "Replies for calls already settled.", (s) => s.stale],
  ["client_malformed_total", "counter", "Deliveries that were not valid replies.", (s) => s.malformed],
];

/**
 * Exposes workers' and clients' {@link RpcWorker.stats} / `stats()` through a prom-client
 * `Registry`, so a worker process can serve its own `/metrics`: calls, failures by code
 * (`…worker_failures_total{service,code}`, `…client_failures_total{client,code}`, as many codes
 * as their `maxFailureCodes`),
 * concurrency in use (`…worker_running`, `…client_pending`) and a handler duration histogram
 * (`…worker_handler_duration_seconds{service,method,outcome}`, outcome `ok` or `error`, so its
 * label values stay few). Counters are read from `stats()` at each scrape; the histogram
 * listens to the worker's `call` event. prom-client is loaded on the first call. Register once
 * per registry; the returned function removes the metrics and the listeners again.
 *
 * @example
 * ```ts
 * import { Registry } from "prom-client";
 * import { registerRpcMetrics, serve } from "malamute";
 *
 * const worker = await serve(endpoint, qwen3vl, handlers);
 * const registry = new Registry();
 * await registerRpcMetrics(registry, { worker });
 * const text = await registry.metrics(); // serve it at GET /metrics
 * ```
 */
export async function registerRpcMetrics(registry: Registry, options: RpcMetricsOptions): Promise<() => void> {
  const prom = await import("prom-client");
  const prefix = options.prefix ?? "malamute_rpc_";
  const workers = list(options.worker);
  const clients = list(options.client);
  const names: string[] = [];
  const registers = [registry];

  const expose = <T, S extends { failures: Record<string, number> }>(
    what: "worker" | "client",
    things: readonly T[],
    rows: readonly Row<S>[],
    label: string,
    labels: (t: T) => string,
    stats: (t: T) => S,
  ) => {
    names.push(`${prefix}${what}_failures_total`);
    new prom.Counter({
      name: `${prefix}${what}_failures_total`,
      help: "Calls that failed, by error code.",
      labelNames: [label, "code"],
      registers,
      collect() {
        this.reset();
        for (const t of things) {
          for (const [code, n] of Object.entries(stats(t).failures)) this.inc({ [label]: labels(t), code }, n);
        }
      },
    });
    for (const [name, kind, help, pick] of rows) {
      names.push(prefix + name);
      const config = { name: prefix + name, help, labelNames: [label], registers };
      if (kind === "counter") {
        new prom.Counter({
          ...config,
          collect() {
            this.reset();
            for (const t of things) this.inc({ [label]: labels(t) }, pick(stats(t)));
          },
        });
      } else {
        new prom.Gauge({
          ...config,
          collect() {
            for (const t of things) this.set({ [label]: labels(t) }, pick(stats(t)));
          },
        });
      }
    }
  };

  const removers: (() => void)[] = [];
  if (workers.length > 0) {
    expose("worker", workers, WORKER_ROWS, "service", (w) => w.service, (w) => w.stats());
    names.push(`${prefix}worker_handler_duration_seconds`);
    const histogram = new prom.Histogram({
      name: `${prefix}worker_handler_duration_seconds`,
      help: "Time from a handler's start to its end, by outcome (ok or error).",
      labelNames: ["service", "method", "outcome"],
      buckets: options.buckets ?? [...DEFAULT_DURATION_BUCKETS],
      registers,
    });
    const onCall = (c: RpcCallRecord): void => {
      histogram.observe({ service: c.service, method: c.method, outcome: c.code === "OK" ? "ok" : "error" }, c.durationMs / 1000);
    };
    for (const w of workers) {
      w.on("call", onCall);
      removers.push(() => w.off("call", onCall));
    }
  }
  if (clients.length > 0) expose("client", clients, CLIENT_ROWS, "client", (c) => c.address, (c) => c.stats());
  return () => {
    for (const remove of removers) remove();
    for (const name of names) registry.removeSingleMetric(name);
  };
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value as T];
}
