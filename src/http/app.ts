import { Hono } from "hono";
import { basicAuth } from "hono/basic-auth";
import { bearerAuth } from "hono/bearer-auth";
import type { Broker } from "../broker/server.ts";
import type { BrokerHttpSettings, BrokerStats } from "../broker/types.ts";
import type { EventsHub } from "./events.ts";
import type { BrokerMetrics } from "./metrics.ts";
import { dashboardCsp, dashboardHtml } from "./dashboard/page.ts";
import { serviceRows } from "./services.ts";

/** Clients listed by /api/stats and /api/clients (as the admin STATS answer). */
export const API_CLIENT_LIST_MAX = 1000;
/** Longest stream name accepted in `?streams=` (MLM strings are at most 255 bytes). */
const STREAM_NAME_MAX = 255;

/** What the routes read. */
export interface BrokerAppParts {
  broker: Broker;
  metrics: BrokerMetrics;
  events: EventsHub;
  /** False once the endpoint is closing (/readyz answers 503). */
  ready: () => boolean;
}

/**
 * The broker's HTTP routes (Hono). `/healthz` and `/readyz` answer without credentials (they
 * reveal nothing; probes rarely carry tokens); every other route asks for `auth` when set.
 * Nothing here returns message contents, except the `job` events of the streams an operator
 * selects on /api/events.
 *
 * @example
 * ```ts
 * const app = brokerApp({ broker, metrics, events, ready: () => true }, { bearer: "s3cret" });
 * const response = await app.fetch(new Request("http://x/api/stats", { headers: { authorization: "Bearer s3cret" } }));
 * ```
 */
export function brokerApp(parts: BrokerAppParts, auth?: BrokerHttpSettings["auth"]): Hono {
  const { broker, metrics, events } = parts;
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok\n"));
  app.get("/readyz", (c) => parts.ready() ? c.text("ready\n") : c.text("closing\n", 503));
  if (auth && "bearer" in auth) app.use("*", bearerAuth({ token: auth.bearer }));
  else if (auth) app.use("*", basicAuth({ username: auth.username, password: auth.password }));
  const stats = (): BrokerStats => {
    const s = broker.stats();
    if (s.clientList.length > API_CLIENT_LIST_MAX) s.clientList = s.clientList.slice(0, API_CLIENT_LIST_MAX);
    return s;
  };
  // The page and its policy are the same for every request: built once.
  const page = dashboardHtml();
  const csp = dashboardCsp();
  app.get("/", (c) => c.html(page, 200, { "content-security-policy": csp }));
  app.get("/metrics", async (c) => c.body(await metrics.render(), 200, { "content-type": metrics.contentType }));
  app.get("/api/stats", (c) => c.json(stats()));
  app.get("/api/services", (c) => c.json(serviceRows(broker.stats(), metrics.figures)));
  app.get("/api/clients", (c) => {
    const s = broker.stats();
    return c.json({ total: s.connections, clients: s.clientList.slice(0, API_CLIENT_LIST_MAX) });
  });
  app.get("/api/streams", (c) => {
    const s = broker.stats();
    return c.json({ streams: s.streams, journals: s.journals ?? [] });
  });
  app.get("/api/events", (c) => {
    const streams = (c.req.query("streams") ?? "").split(",").filter((name) => name !== "");
    if (streams.length > events.limits.maxStreams || streams.some((name) => name.length > STREAM_NAME_MAX)) {
      return c.json({ error: `at most ${events.limits.maxStreams} streams of up to ${STREAM_NAME_MAX} characters` }, 400);
    }
    if (events.full) return c.json({ error: "too many event readers" }, 503);
    return new Response(events.open(streams), {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" },
    });
  });
  return app;
}
