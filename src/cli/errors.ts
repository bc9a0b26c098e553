import { MalamuteError } from "../errors.ts";

/** Exit codes of the `malamute` command. */
export const ExitCode = {
  ok: 0,
  /** The command ran and failed: a refused delivery, an RPC error, a timeout. */
  failure: 1,
  /** The command line is wrong: unknown flag, bad value, bad endpoint, unreadable @file. */
  usage: 2,
  /** No broker answered at the endpoint. */
  unreachable: 3,
} as const;

/**
 * A failure the CLI reports as one line: what went wrong, then what to do about it.
 *
 * Codes: `CLI_USAGE`, `CLI_BAD_ENDPOINT`, `CLI_UNREACHABLE`, `CLI_FILE`, `CLI_TIMEOUT`,
 * `CLI_FAILED`, `CLI_RPC`, `CLI_CONTRACT`, `CLI_CONFIG`, `CLI_BIND`, `CLI_STORAGE`,
 * `CLI_CURVE` (a CURVE key or certificate file that cannot be used), `CLI_REFUSED` (a failed security handshake).
 *
 * @example
 * ```ts
 * import { CliError, ExitCode } from "./errors.ts";
 * throw new CliError("CLI_USAGE", "give exactly one of --to, --service or --stream", {
 *   hint: "see `malamute send --help`", exitCode: ExitCode.usage,
 * });
 * ```
 */
export class CliError extends MalamuteError {
  /** What the user should do next; printed after the message. */
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/**
 * Turn any thrown value into the single line the CLI prints (no stack trace) and its exit code.
 *
 * @example
 * ```ts
 * import { describeFailure } from "./errors.ts";
 * const { line, exitCode } = describeFailure(new Error("boom"));
 * // line === "malamute: boom", exitCode === 1
 * ```
 */
export function describeFailure(error: unknown): { line: string; exitCode: number } {
  if (error instanceof CliError) {
    return { line: oneLine(error.message, error.hint), exitCode: error.exitCode };
  }
  if (error instanceof MalamuteError && error.code === "BAD_ENDPOINT") {
    return {
      line: oneLine(error.message, "endpoints look like tcp://127.0.0.1:9999"),
      exitCode: ExitCode.usage,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof MalamuteError ? ` [${error.code}]` : "";
  return { line: oneLine(message + code), exitCode: ExitCode.failure };
}

function oneLine(message: string, hint?: string): string {
  const flat = (text: string) => text.replace(/\s*\n\s*/g, " ").trim();
  return `malamute: ${flat(message)}${hint ? `; ${flat(hint)}` : ""}`;
}
