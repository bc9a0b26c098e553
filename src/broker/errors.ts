import { MalamuteError } from "../errors.ts";

/**
 * A broker failure that is not a protocol matter: a bad configuration file, an endpoint
 * that cannot be bound, use after close.
 *
 * Codes: `BROKER_CONFIG` (unreadable or invalid configuration), `BROKER_BIND` (an endpoint
 * could not be bound), `BROKER_CLOSED` (the broker was closed).
 *
 * @example
 * ```ts
 * try { await startBroker({ config: "malamute.cfg" }); } catch (e) {
 *   if (e instanceof BrokerError && e.code === "BROKER_CONFIG") console.error(e.message);
 * }
 * ```
 */
export class BrokerError extends MalamuteError {}
