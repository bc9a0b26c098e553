import { type Broker, type BrokerOptions, startBroker as startBrokerOnly } from "../broker/server.ts";

/**
 * Start a broker; with `http` set, also serve its metrics, admin API, live events and dashboard
 * (see {@link startBrokerHttp} in `malamute/http`). The HTTP layer (Hono, prom-client) is loaded
 * only when `http` is set, so a broker without it costs nothing more to import or run.
 *
 * @example
 * ```ts
 * import { startBroker } from "malamute";
 * const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], http: { listen: "127.0.0.1:0" } });
 * console.log(`dashboard: ${broker.http}/`);
 * await broker.close();
 * ```
 */
export function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  return startBrokerOnly({
    startHttp: async (broker, settings) => (await import("./start.ts")).startBrokerHttp(broker, settings),
    ...options,
  });
}
