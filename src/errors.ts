/**
 * The root of every error this library throws.
 *
 * Each subclass carries a stable machine-readable `code` (never reworded between
 * releases), a human `message`, and the underlying `cause` when there is one, so that
 * callers can branch on `err.code` and logs keep the original failure.
 *
 * @example
 * ```ts
 * import { MalamuteError } from "malamute";
 * try {
 *   await somethingThatFails();
 * } catch (err) {
 *   if (err instanceof MalamuteError && err.code === "MLM_TIMEOUT") retryLater();
 *   else throw err;
 * }
 * ```
 */
export class MalamuteError extends Error {
  /** Stable identifier of the failure, e.g. `"ZMTP_BAD_GREETING"`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}
