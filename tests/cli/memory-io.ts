// An in-memory CliIo for running main() inside the test process.
import type { CliIo, StopSignal } from "../../src/cli/io.ts";
import { lines } from "../../src/cli/io.ts";

export interface MemoryIo extends CliIo {
  out: string;
  err: string;
  /** Simulate a signal to the process. */
  signal(signal: StopSignal): void;
}

export function memoryIo(options: { stdin?: string | Uint8Array; files?: Record<string, string | Uint8Array>; env?: Record<string, string> } = {}): MemoryIo {
  const encoder = new TextEncoder();
  const bytes = (value: string | Uint8Array) => (typeof value === "string" ? encoder.encode(value) : value);
  const stdin = bytes(options.stdin ?? "");
  const handlers = new Set<(signal: StopSignal) => void>();
  const io: MemoryIo = {
    out: "",
    err: "",
    stdout: (text) => void (io.out += text),
    stderr: (text) => void (io.err += text),
    readStdin: async () => stdin,
    stdinLines: () => lines((async function* () { yield stdin; })()),
    readFile: async (path) => {
      const file = options.files?.[path];
      if (file === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: "ENOENT" });
      return bytes(file);
    },
    env: options.env ?? {},
    stderrIsTty: false,
    onStop: (handler) => {
      handlers.add(handler);
      return () => void handlers.delete(handler);
    },
    flush: async () => {},
    signal: (signal) => {
      for (const handler of [...handlers]) handler(signal);
    },
  };
  return io;
}
