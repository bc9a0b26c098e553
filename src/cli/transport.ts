import type { Transport } from "../transport/types.ts";
import { zmtp } from "../transport/zmtp.ts";
import { CliError, ExitCode } from "./errors.ts";

/**
 * The socket factory named by --transport. `zmtp` is the pure TypeScript engine and works on
 * every runtime; `zeromq` (libzmq through the native `zeromq` addon) is loaded only when asked
 * for, and refused with a hint on Bun, where the addon does not load, or when it is not installed.
 *
 * @example
 * ```ts
 * const transport = await loadTransport("zmtp");
 * ```
 */
export async function loadTransport(name: "zmtp" | "zeromq"): Promise<Transport> {
  if (name === "zmtp") return zmtp;
  const hint = "use --transport zmtp (the default), which speaks the same protocol";
  if ("Bun" in globalThis) {
    throw new CliError("CLI_TRANSPORT", "the zeromq transport needs the libzmq addon, which does not load on Bun", {
      hint,
      exitCode: ExitCode.usage,
    });
  }
  try {
    return (await import("../transport/zeromq.ts")).zeromq;
  } catch (error) {
    throw new CliError("CLI_TRANSPORT", `the zeromq transport cannot load: ${(error as Error).message}`, {
      hint: `install the optional "zeromq" package, or ${hint}`,
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
}
