import { CliError, ExitCode } from "./errors.ts";
import type { CliIo } from "./io.ts";

const encoder = new TextEncoder();

/**
 * Turn `send` content arguments into frames: `-` is standard input, `@path` is a file's bytes,
 * `@@text` is the literal `@text`, anything else is UTF-8 text. One argument = one frame.
 *
 * @example
 * ```ts
 * const frames = await resolveContent(["hello", "@photo.png", "-"], io);
 * ```
 */
export async function resolveContent(args: readonly string[], io: CliIo): Promise<Uint8Array[]> {
  if (args.filter((arg) => arg === "-").length > 1) {
    throw new CliError("CLI_USAGE", "standard input (-) can be used for one frame only", {
      hint: "put the other frames in files and pass them as @file",
      exitCode: ExitCode.usage,
    });
  }
  const frames: Uint8Array[] = [];
  for (const arg of args) frames.push(await resolveFrame(arg, io));
  return frames;
}

async function resolveFrame(arg: string, io: CliIo): Promise<Uint8Array> {
  if (arg === "-") return io.readStdin();
  if (arg.startsWith("@@")) return encoder.encode(arg.slice(1));
  if (arg.startsWith("@")) return readArgFile(arg.slice(1), io);
  return encoder.encode(arg);
}

/**
 * Read a file named on the command line, reporting a missing or unreadable one as a usage error.
 *
 * @example
 * ```ts
 * const bytes = await readArgFile("input.json", io);
 * ```
 */
export async function readArgFile(path: string, io: CliIo): Promise<Uint8Array> {
  if (path === "") {
    throw new CliError("CLI_USAGE", "@ must be followed by a file name", {
      hint: "write @path/to/file, or @@text for text that starts with @",
      exitCode: ExitCode.usage,
    });
  }
  try {
    return await io.readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (error as Error).message;
    throw new CliError("CLI_FILE", `cannot read ${path}: ${why}`, {
      hint: "check the path after @",
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
}
