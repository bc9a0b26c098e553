import { MalamuteError } from "../errors.ts";
import { RpcError } from "../rpc/errors.ts";

/**
 * Stable failure codes of Forge backends. Where the RPC layer has a code for the failure
 * (`RPC_DEADLINE_EXCEEDED`, `RPC_UNAVAILABLE`...), Forge uses it, so a caller branches the same
 * way whatever backend served the call; the rest are `FORGE_*` application codes.
 *
 * @example
 * ```ts
 * if (err instanceof ForgeError && err.code === ForgeCode.Unavailable) retryLater();
 * ```
 */
export const ForgeCode = {
  /** The input is malformed or outside the backend's limits (HTTP 400/422, bad PNG...). */
  InvalidArgument: "RPC_VALIDATION",
  /** The backend cannot do this (e.g. an audio format the demo does not produce). */
  Unsupported: "FORGE_UNSUPPORTED",
  /** Credentials missing or refused (HTTP 401/403). */
  Unauthenticated: "FORGE_UNAUTHENTICATED",
  /** The model or endpoint does not exist (HTTP 404). */
  NotFound: "FORGE_NOT_FOUND",
  /** Rate limited or overloaded (HTTP 429); worth retrying later. */
  ResourceExhausted: "RPC_RESOURCE_EXHAUSTED",
  /** The backend cannot be reached, crashed, or answered 5xx; worth retrying. */
  Unavailable: "RPC_UNAVAILABLE",
  /** The call ran out of time (deadline or adapter timeout). */
  DeadlineExceeded: "RPC_DEADLINE_EXCEEDED",
  /** The caller cancelled the call. */
  Cancelled: "RPC_CANCELLED",
  /** The backend answered something that does not fit the contract. */
  BadResponse: "FORGE_BAD_RESPONSE",
  /** A one-shot command exited with a non-zero status (`details`: `exitCode`, the tail of `stderr`). */
  CommandFailed: "FORGE_COMMAND_FAILED",
  /** A bug or an unexpected state inside the backend. */
  Internal: "RPC_INTERNAL",
} as const;

/**
 * One of {@link ForgeCode}'s values.
 *
 * @example
 * ```ts
 * const code: ForgeCodeValue = ForgeCode.DeadlineExceeded; // "RPC_DEADLINE_EXCEEDED"
 * ```
 */
export type ForgeCodeValue = (typeof ForgeCode)[keyof typeof ForgeCode];

/**
 * The error every Forge backend throws. `code` is one of {@link ForgeCode}; `details` carries
 * machine-readable context (HTTP status, exit code...). It is an `RpcError`, so a worker sends
 * its code, message and details to the caller unchanged.
 *
 * @example
 * ```ts
 * import { ForgeError, ForgeCode } from "malamute/forge";
 * throw new ForgeError(ForgeCode.InvalidArgument, "width must be a multiple of 8", { details: { width: 100 } });
 * ```
 */
export class ForgeError extends RpcError {
  /** Whether the same call may succeed if tried again later. */
  readonly retryable: boolean;

  constructor(
    code: ForgeCodeValue,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown>; retryable?: boolean },
  ) {
    super(code, message, options);
    this.retryable = options?.retryable ??
      (code === ForgeCode.Unavailable || code === ForgeCode.ResourceExhausted);
  }
}

/**
 * Throws the signal's reason as a typed `CANCELLED`/`DEADLINE_EXCEEDED` error if it is aborted.
 *
 * @example
 * ```ts
 * for (const step of steps) { throwIfAborted(ctx.signal); await step(); }
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * The typed error for an aborted signal: the reason itself when it already is a ForgeError
 * (a deadline), otherwise `CANCELLED`.
 *
 * @example
 * ```ts
 * signal.addEventListener("abort", () => reject(abortError(signal)));
 * ```
 */
export function abortError(signal: AbortSignal): ForgeError {
  const reason: unknown = signal.reason;
  if (reason instanceof ForgeError) return reason;
  if (reason instanceof MalamuteError) {
    const timeout = /TIMEOUT|DEADLINE/.test(reason.code);
    return new ForgeError(timeout ? ForgeCode.DeadlineExceeded : ForgeCode.Cancelled, reason.message, { cause: reason });
  }
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new ForgeError(ForgeCode.DeadlineExceeded, "deadline exceeded", { cause: reason });
  }
  return new ForgeError(ForgeCode.Cancelled, "cancelled by the caller", { cause: reason });
}
