import { MalamuteError } from "../errors.ts";

/**
 * Codes an {@link MlmError} can carry.
 *
 * - `MLM_COMMAND_INVALID`: the broker answered ERROR 500 (it does not know this session).
 * - `MLM_FAILED`: the broker answered ERROR 300 (or another failure status).
 * - `MLM_TIMEOUT`: no answer within the configured `timeout`.
 * - `MLM_CLOSED`: the client was closed.
 * - `MLM_NOT_CONNECTED`: the session is down and the request cannot be queued.
 * - `MLM_UNREACHABLE`: `connect()` could not reach the broker: the connection was refused, the
 *   host name does not resolve, or the broker refused the handshake (PLAIN credentials);
 *   `cause` is the transport's error. See the `waitForBroker` option.
 * - `MLM_BAD_ARGUMENT`: invalid input (too-long string, bad number, ...), nothing was sent.
 * - `MLM_BUFFER_FULL`: a delivery was dropped because the receive buffer was full.
 * - `MLM_MALFORMED`: the broker sent bytes that do not decode as MLM; they were dropped.
 * - `MLM_SEND_QUEUE_FULL`: the socket cannot take more now (the broker reads slower than we
 *   write and the transport's send queue is full); nothing was sent, retry later.
 * - `MLM_NOT_STORED`: a durable send failed: the broker answered its tracker with a failure
 *   CONFIRM (`status` = its code: 302 limit, 303 no route, 306 storage unavailable...), or it
 *   expired (301) or was withdrawn (305) while the client held it.
 * - `MLM_UNSUPPORTED`: the broker lacks the extension asked for (`stored` for durable sends,
 *   `replay` for consumers; e.g. C Malamute), or the client was created with
 *   `storedConfirms: false`.
 * - `MLM_LIMIT`: a client-side bound was reached (`maxDurableSends`, `maxConsumers`,
 *   `maxWaitingSends`, `maxRequests`); nothing was sent.
 * - `MLM_ADDRESS_TAKEN`: (`error` event) another client opened a session with this client's
 *   address; the broker gave it the mailbox and this client closed itself instead of taking
 *   the address back (`status` 500).
 * - `MLM_REFUSED`: the connection's security handshake failed while connecting (a wrong CURVE
 *   server key, a client key or PLAIN credentials the broker refused, a broker speaking another
 *   mechanism); `cause` is the transport's ZmtpError. The transport does not retry it.
 * - `MLM_CONSUMER_REFUSED`: the broker refused a consumer command (`brokerCode` = `BAD_REQUEST`,
 *   `NO_JOURNAL` or `LIMIT`, or `status` = the code of a failure CONFIRM).
 * - `MLM_BAD_CONTENT`: a delivery's content is not what `json()` or `text()` was asked to read.
 */
export type MlmErrorCode =
  | "MLM_COMMAND_INVALID"
  | "MLM_FAILED"
  | "MLM_TIMEOUT"
  | "MLM_CLOSED"
  | "MLM_NOT_CONNECTED"
  | "MLM_UNREACHABLE"
  | "MLM_BAD_ARGUMENT"
  | "MLM_BUFFER_FULL"
  | "MLM_MALFORMED"
  | "MLM_SEND_QUEUE_FULL"
  | "MLM_NOT_STORED"
  | "MLM_UNSUPPORTED"
  | "MLM_LIMIT"
  | "MLM_CONSUMER_REFUSED"
  | "MLM_BAD_CONTENT"
  | "MLM_ADDRESS_TAKEN"
  | "MLM_REFUSED";

/**
 * An MLM client failure. `code` is stable; `status` is the MLM status code when the broker
 * sent one (500 for COMMAND-INVALID, 300 for FAILED, ...).
 *
 * @example
 * ```ts
 * try {
 *   await client.setConsumer("weather", "temp.*");
 * } catch (err) {
 *   if (err instanceof MlmError && err.status === 300) console.warn("broker refused:", err.message);
 * }
 * ```
 */
export class MlmError extends MalamuteError {
  /** The MLM status code the broker replied with, if any. */
  readonly status?: number;
  /** The error code a built-in service (`malamute.stream`) answered with, e.g. `"NO_JOURNAL"`. */
  readonly brokerCode?: string;

  constructor(code: MlmErrorCode, message: string, options?: { status?: number; brokerCode?: string; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.status !== undefined) this.status = options.status;
    if (options?.brokerCode !== undefined) this.brokerCode = options.brokerCode;
  }
}

/** Map a broker ERROR status to the matching MlmError. */
export function statusError(code: number, reason: string, what: string): MlmError {
  const text = `${what}: broker answered ERROR ${code}${reason ? ` (${reason})` : ""}`;
  return new MlmError(code === 500 ? "MLM_COMMAND_INVALID" : "MLM_FAILED", text, { status: code });
}

/** Anything thrown, as an Error (a socket or a handler may throw a non-Error). */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
