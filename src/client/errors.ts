import { MalamuteError } from "../errors.ts";

/**
 * Codes an {@link MlmError} can carry.
 *
 * - `MLM_COMMAND_INVALID`: the broker answered ERROR 500 (it does not know this session).
 * - `MLM_FAILED`: the broker answered ERROR 300 (or another failure status).
 * - `MLM_TIMEOUT`: no answer within the configured `timeout`.
 * - `MLM_CLOSED`: the client was closed.
 * - `MLM_NOT_CONNECTED`: the session is down and the request cannot be queued.
 * - `MLM_BAD_ARGUMENT`: invalid input (too-long string, bad number, ...), nothing was sent.
 * - `MLM_BUFFER_FULL`: a delivery was dropped because the receive buffer was full.
 * - `MLM_MALFORMED`: the broker sent bytes that do not decode as MLM; they were dropped.
 * - `MLM_SEND_QUEUE_FULL`: the socket cannot take more now (the broker reads slower than we
 *   write and the transport's send queue is full); nothing was sent, retry later.
 */
export type MlmErrorCode =
  | "MLM_COMMAND_INVALID"
  | "MLM_FAILED"
  | "MLM_TIMEOUT"
  | "MLM_CLOSED"
  | "MLM_NOT_CONNECTED"
  | "MLM_BAD_ARGUMENT"
  | "MLM_BUFFER_FULL"
  | "MLM_MALFORMED"
  | "MLM_SEND_QUEUE_FULL";

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

  constructor(code: MlmErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** Map a broker ERROR status to the matching MlmError. */
export function statusError(code: number, reason: string, what: string): MlmError {
  const text = `${what}: broker answered ERROR ${code}${reason ? ` (${reason})` : ""}`;
  return new MlmError(code === 500 ? "MLM_COMMAND_INVALID" : "MLM_FAILED", text, { status: code });
}
