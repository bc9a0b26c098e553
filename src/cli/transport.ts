import type { Transport } from "../transport/types.ts";
import { zmtp } from "../transport/zmtp.ts";
import { CliError, ExitCode } from "./errors.ts";

/**
 * The socket factory named by --transport. `zmtp` is the pure TypeScript engine and works on
 * every runtime; `zeromq` (libzmq through the native addon) is refused with a hint until it is
 * part of this build, and always on Bun, where the addon does not load.
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
  throw new CliError("CLI_TRANSPORT", "the zeromq transport is not part of this build", { hint, exitCode: ExitCode.usage });
}
