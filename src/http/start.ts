import { type Broker, type BrokerHttpEndpoint, type BrokerOptions, startBroker as startBrokerOnly } from "../broker/server.ts";
import type { BrokerHttpSettings } from "../broker/types.ts";
import { brokerApp } from "./app.ts";
import { type EventsLimits, EventsHub } from "./events.ts";
import { BrokerFigures, DEFAULT_LABEL_CAP } from "./figures.ts";
import { parseListen } from "./listen.ts";
import { BrokerMetrics } from "./metrics.ts";
import { serveFetch } from "./serve/mod.ts";

/** Tuning of {@link startBrokerHttp}. */
export interface BrokerHttpLimits {
  /** Service and stream label values per metric; the rest are summed under `_other`. Default 200. */
  labelCap?: number;
  events?: Partial<EventsLimits>;
}

/**
 * Serve a running broker's metrics and admin API over HTTP: `/metrics` (Prometheus),
 * `/api/stats`, `/api/services`, `/api/clients`, `/api/streams`, `/api/events` (SSE),
 * `/healthz`, `/readyz`. Rejects when it cannot bind.
 *
 * @example
 * ```ts
 * import { startBroker } from "malamute/broker";
 * const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
 * const http = await startBrokerHttp(broker, { listen: "127.0.0.1:0" });
 * console.log(await (await fetch(`${http.url}/metrics`)).text());
 * await http.close(); await broker.close();
 * ```
 */
export async function startBrokerHttp(
  broker: Broker, settings: BrokerHttpSettings, limits: BrokerHttpLimits = {},
): Promise<BrokerHttpEndpoint> {
  const { host, port } = parseListen(settings.listen);
  const figures = new BrokerFigures(limits.labelCap ?? DEFAULT_LABEL_CAP);
  const source = () => broker.stats();
  const metrics = new BrokerMetrics(source, figures);
  const events = new EventsHub(source, figures, limits.events);
  let closing: Promise<void> | undefined;
  const app = brokerApp({ broker, metrics, events, ready: () => closing === undefined }, settings.auth);
  const server = await serveFetch(app.fetch, host, port);
  broker.observe(figures);
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${server.port}`,
    close: () => closing ??= (async () => {
      broker.observe(undefined);
      events.close();
      await server.close();
    })(),
  };
}

/**
 * {@link startBrokerOnly | The broker's startBroker} that also serves `options.http` (or the
 * config file's `mlm_server/http/listen`); this is `malamute`'s `startBroker`.
 *
 * @example
 * ```ts
 * import { startBroker } from "malamute";
 * const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], http: { listen: "127.0.0.1:8222" } });
 * console.log(broker.http); // http://127.0.0.1:8222
 * await broker.close();
 * ```
 */
export function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  return startBrokerOnly({ startHttp: (broker, settings) => startBrokerHttp(broker, settings), ...options });
}
