import { MlmClient } from "../client/client.ts";
import { MlmError } from "../client/errors.ts";
import type { MlmClientOptions } from "../client/types.ts";
import { DNS_CODES, systemCode } from "./cause.ts";
import { CliError, ExitCode } from "./errors.ts";
import type { ClientFlags } from "./options.ts";
import { curveClientFlags } from "./curve.ts";
import { loadTransport } from "./transport.ts";

/**
 * Connect an MLM client as the common flags say, turning "nobody answered" into a one-line
 * error with exit code 3 that tells the user how to get a broker.
 *
 * @example
 * ```ts
 * const client = await connectClient(flags, { address: "alice" });
 * ```
 */
export async function connectClient(
  flags: ClientFlags,
  options: Omit<MlmClientOptions, "transport" | "timeout" | "plain" | "curve"> = {},
): Promise<MlmClient> {
  const clientOptions: MlmClientOptions = {
    ...options,
    ...(await securityOptions(flags)),
    timeout: flags.connectTimeout,
    transport: await loadTransport(flags.transport),
  };
  try {
    return await MlmClient.connect(flags.endpoint, clientOptions);
  } catch (error) {
    throw connectFailure(error, flags);
  }
}

/**
 * The security options the common flags ask for (`--plain`, or `--curve-server-key` and `--curve-keys`).
 *
 * @example
 * ```ts
 * const mlm = { timeout: flags.connectTimeout, ...(await securityOptions(flags)) };
 * ```
 */
export async function securityOptions(flags: ClientFlags): Promise<Pick<MlmClientOptions, "plain" | "curve">> {
  const curve = await curveClientFlags(flags);
  if (curve && flags.plain !== undefined) {
    throw new CliError("CLI_USAGE", "give either --plain or --curve-server-key, not both", { exitCode: ExitCode.usage });
  }
  if (curve) return { curve };
  return flags.plain !== undefined ? { plain: flags.plain } : {};
}

/**
 * Map a failed connection to the CLI error the user sees (exit 3 when nobody answered).
 *
 * @example
 * ```ts
 * try { await connect(endpoint, services); } catch (e) { throw connectFailure(e, flags); }
 * ```
 */
export function connectFailure(error: unknown, flags: ClientFlags): unknown {
  // RPC connect() wraps the MLM failure in RpcUnavailableError.
  if (!(error instanceof MlmError) && error instanceof Error && error.cause instanceof MlmError) error = error.cause;
  if (!(error instanceof MlmError)) return error;
  if (error.code === "MLM_REFUSED" && flags.curveServerKey !== undefined) {
    return new CliError("CLI_REFUSED", `the connection to ${flags.endpoint} failed its security handshake: ${error.message}`, {
      hint: "check that --curve-server-key is the broker's public key and that the broker admits our --curve-keys",
      exitCode: ExitCode.failure,
      cause: error,
    });
  }
  if (error.code === "MLM_UNREACHABLE") {
    return new CliError("CLI_UNREACHABLE", error.message, { hint: unreachableHint(error, flags), exitCode: ExitCode.unreachable, cause: error });
  }
  // A refused PLAIN login keeps its established answer (exit 3, "check … --plain credentials").
  if (error.code === "MLM_TIMEOUT" || error.code === "MLM_NOT_CONNECTED" || error.code === "MLM_CLOSED" || error.code === "MLM_REFUSED") {
    const hint = flags.plain !== undefined
      ? "check that the broker runs there and accepts these --plain credentials"
      : "start one with `malamute broker`, or point --endpoint (or MALAMUTE_ENDPOINT) at a running broker";
    return new CliError(
      "CLI_UNREACHABLE",
      `no broker answered at ${flags.endpoint} within ${flags.connectTimeout} ms`,
      { hint, exitCode: ExitCode.unreachable, cause: error },
    );
  }
  if (error.code === "MLM_FAILED" || error.code === "MLM_COMMAND_INVALID") {
    return new CliError("CLI_FAILED", `the broker at ${flags.endpoint} refused the connection: ${error.message}`, {
      hint: "another client may hold this address; pick another one",
      cause: error,
    });
  }
  return error;
}

/** Advice that follows from why the broker could not be reached. */
function unreachableHint(error: MlmError, flags: ClientFlags): string {
  const code = systemCode(error.cause);
  if (code === "ECONNREFUSED") return "nothing listens there: start one with `malamute broker`, or point --endpoint (or MALAMUTE_ENDPOINT) at a running broker";
  if (code !== undefined && DNS_CODES.has(code)) return "the host name does not resolve: check --endpoint (or MALAMUTE_ENDPOINT)";
  if (code === undefined) {
    return flags.plain !== undefined ? "check the --plain credentials (or MALAMUTE_PLAIN)" : "the broker may require --plain credentials";
  }
  return "check --endpoint (or MALAMUTE_ENDPOINT) and the network";
}

/**
 * A unique, recognisable mailbox address for a CLI client that needs replies.
 *
 * @example
 * ```ts
 * replyAddress("stat"); // "malamute-stat-3f9c01d2"
 * ```
 */
export function replyAddress(role: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return `malamute-${role}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
