import { readFile } from "node:fs/promises";
import { concatBytes } from "../util/bytes.ts";

/** The signals on which long-running commands stop gracefully. */
export type StopSignal = "SIGINT" | "SIGTERM";

/**
 * Everything a command touches outside itself, so `main()` can run in-process under a test
 * with captured output and no real signals.
 *
 * @example
 * ```ts
 * import { processIo } from "./io.ts";
 * const io = processIo();
 * io.stdout("hello\n");
 * ```
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The whole of standard input. */
  readStdin(): Promise<Uint8Array>;
  /** Standard input line by line, without the line endings. */
  stdinLines(): AsyncIterable<string>;
  readFile(path: string): Promise<Uint8Array>;
  env: Readonly<Record<string, string | undefined>>;
  /** True when stderr is a terminal: progress may redraw one line instead of printing many. */
  stderrIsTty: boolean;
  /** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
  onStop(handler: (signal: StopSignal) => void): () => void;
  /** Resolves when everything written so far has left the process. */
  flush(): Promise<void>;
}

/**
 * The real process: stdout, stderr, stdin, environment and signals (Node, Bun and Deno all
 * provide `process`).
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * import { processIo } from "./io.ts";
 * process.exitCode = await main(process.argv.slice(2), processIo());
 * ```
 */
export function processIo(): CliIo {
  // A reader that goes away (`malamute recv | head -1`) ends the output, not with a crash.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
  });
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readStdin: async () => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
      return concatBytes(chunks);
    },
    stdinLines: () => lines(process.stdin),
    readFile: async (path) => new Uint8Array(await readFile(path)),
    env: process.env,
    stderrIsTty: process.stderr.isTTY === true,
    onStop: (handler) => {
      const onInt = () => handler("SIGINT");
      const onTerm = () => handler("SIGTERM");
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
      return () => {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
      };
    },
    flush: () => Promise.all([drain(process.stdout), drain(process.stderr)]).then(() => undefined),
  };
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}

/** Split a byte stream into UTF-8 lines (LF or CRLF), yielding a last unterminated line too. */
export async function* lines(source: AsyncIterable<Uint8Array | string>): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of source) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline).replace(/\r$/, "");
      pending = pending.slice(newline + 1);
    }
  }
  pending += decoder.decode();
  if (pending !== "") yield pending.replace(/\r$/, "");
}
