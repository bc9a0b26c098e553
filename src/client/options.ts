import { badArgument } from "./content.ts";
import { curveClientKeys } from "../transport/mechanisms.ts";
import type { CurveClientOptions } from "../transport/types.ts";
import type { MlmClientOptions } from "./types.ts";

/** Options with every default filled in and every value checked. */
export interface ResolvedOptions {
  address: string;
  timeout: number;
  waitForBroker: boolean;
  plain: { username: string; password: string } | undefined;
  curve: CurveClientOptions | undefined;
  credit: number | false;
  manualCredit: boolean;
  heartbeat: number;
  expiry: number;
  receiveBuffer: number;
  sendBuffer: number;
  reconnect: { interval: number; max: number } | false;
  noMailboxConfirms: boolean;
  storedConfirms: boolean;
  maxDurableSends: number;
  maxConsumers: number;
  maxRequests: number;
  maxWaitingSends: number;
}

const DEFAULT_CREDIT = 1000;
/** Durable sends awaiting "stored": each holds its frames for re-sending, so memory is bounded by count. */
const DEFAULT_MAX_DURABLE_SENDS = 1000;
/** Journal consumers per client: each costs the broker a cursor and a READ after every re-open. */
const DEFAULT_MAX_CONSUMERS = 64;
/** request() calls awaiting their reply: each holds a timer and a promise. */
const DEFAULT_MAX_REQUESTS = 1000;
/** Awaitable sends waiting for room: each holds its encoded frames. */
const DEFAULT_MAX_WAITING_SENDS = 1000;
/**
 * Ceiling of the reconnect backoff, ms. The transport adds up to as much again in jitter, so a
 * restarted broker is found within 500 ms of its restart; an attempt at a closed loopback or LAN
 * port costs next to nothing (libzmq retries every 100 ms without any backoff).
 */
const DEFAULT_RECONNECT_MAX = 250;
/** The reconnect schedule when the options leave it out (also the re-open backoff with `reconnect: false` while connecting). */
export const DEFAULT_RECONNECT = Object.freeze({ interval: 100, max: DEFAULT_RECONNECT_MAX });

function integer(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw badArgument(`option ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Fill defaults and validate. Throws MlmError `MLM_BAD_ARGUMENT`. */
export function resolveOptions(options: MlmClientOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw badArgument("options must be an object");
  const address = options.address ?? "";
  if (typeof address !== "string") throw badArgument("option address must be a string");
  const credit = options.credit === false ? false : integer(options.credit, "credit", 0, DEFAULT_CREDIT);
  const heartbeat = integer(options.heartbeat, "heartbeat", 0, 1000);
  const plain = options.plain;
  if (plain !== undefined && (typeof plain?.username !== "string" || typeof plain?.password !== "string")) {
    throw badArgument("option plain needs string username and password");
  }
  const curve = options.curve;
  if (curve !== undefined && (curve === null || typeof curve !== "object" || curve.serverKey === undefined ||
    curve.publicKey === undefined || curve.secretKey === undefined)) {
    throw badArgument("option curve needs serverKey, publicKey and secretKey");
  }
  if (curve !== undefined && plain !== undefined) throw badArgument("options curve and plain exclude each other");
  if (curve !== undefined) {
    try {
      curveClientKeys(curve);
    } catch (error) {
      throw badArgument(`option curve: ${(error as Error).message}`);
    }
  }
  let reconnect: ResolvedOptions["reconnect"] = false;
  if (options.reconnect !== false) {
    const interval = integer(options.reconnect?.interval, "reconnect.interval", 1, DEFAULT_RECONNECT.interval);
    const max = integer(options.reconnect?.max, "reconnect.max", 1, Math.max(DEFAULT_RECONNECT_MAX, interval));
    reconnect = { interval, max: Math.max(max, interval) };
  }
  return {
    address,
    timeout: integer(options.timeout, "timeout", 1, 5000),
    waitForBroker: options.waitForBroker === true,
    plain,
    curve,
    credit,
    manualCredit: options.manualCredit === true,
    heartbeat,
    expiry: integer(options.expiry, "expiry", 1, heartbeat > 0 ? heartbeat * 4 : 4000),
    receiveBuffer: integer(options.receiveBuffer, "receiveBuffer", 1, Math.max(credit === false ? 0 : credit, 1000)),
    sendBuffer: integer(options.sendBuffer, "sendBuffer", 0, 1000),
    reconnect,
    noMailboxConfirms: options.noMailboxConfirms === true,
    storedConfirms: options.storedConfirms !== false,
    maxDurableSends: integer(options.maxDurableSends, "maxDurableSends", 1, DEFAULT_MAX_DURABLE_SENDS),
    maxConsumers: integer(options.maxConsumers, "maxConsumers", 1, DEFAULT_MAX_CONSUMERS),
    maxRequests: integer(options.maxRequests, "maxRequests", 1, DEFAULT_MAX_REQUESTS),
    maxWaitingSends: integer(options.maxWaitingSends, "maxWaitingSends", 1, DEFAULT_MAX_WAITING_SENDS),
  };
}
