import type { CallFlags } from "../commands/call.ts";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";

/**
 * `malamute call` (waits for the RPC client to land).
 *
 * @example
 * ```ts
 * await runCall("echo.say", "{}", flags, context);
 * ```
 */
export async function runCall(_target: string, _input: string | undefined, _flags: CallFlags, _context: CommandContext): Promise<number> {
  throw new CliError("CLI_UNAVAILABLE", "`malamute call` is not available in this build yet");
}
