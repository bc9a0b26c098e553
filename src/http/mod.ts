/**
 * The broker's HTTP endpoint: Prometheus metrics, the admin API and live events (SSE).
 *
 * @example
 * ```ts
 * import { startBroker } from "./src/http/mod.ts";
 * const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], http: { listen: "127.0.0.1:0" } });
 * console.log(await (await fetch(`${broker.http}/api/stats`)).json());
 * await broker.close();
 * ```
 * @module
 */
export { startBroker, startBrokerHttp } from "./start.ts";
export type { BrokerHttpLimits } from "./start.ts";
export { brokerApp, API_CLIENT_LIST_MAX } from "./app.ts";
export { DEFAULT_EVENTS_LIMITS, EventsHub } from "./events.ts";
export type { EventsLimits } from "./events.ts";
export { BrokerFigures, DEFAULT_LABEL_CAP, OTHER_LABEL } from "./figures.ts";
export { BrokerMetrics, METRIC_PREFIX } from "./metrics.ts";
export { Histogram, LATENCY_BUCKETS_MS } from "./histogram.ts";
export { JOB_DECODE_MAX_BYTES } from "./job.ts";
export { parseListen } from "./listen.ts";
export { dashboardCsp, dashboardHtml } from "./dashboard/page.ts";
export type { DashboardOptions } from "./dashboard/page.ts";
