import type { CliIo } from "./io.ts";

/**
 * What every command action gets: the process surface and a place to put its exit code.
 *
 * @example
 * ```ts
 * const context: CommandContext = { io: processIo(), exitCode: 0 };
 * ```
 */
export interface CommandContext {
  io: CliIo;
  exitCode: number;
}
