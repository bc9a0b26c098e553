// Spawns the real `malamute` CLI with the runtime running the tests, so each of Node, Bun
// and Deno tests itself: node --import tsx, bun, or deno run -A on src/cli/bin.ts.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const entry = join(root, "src", "cli", "bin.ts");

export const runtime: "bun" | "deno" | "node" = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

/** The command line that runs a TypeScript file with the current runtime. */
export function tsCommand(file: string, args: readonly string[]): [string, string[]] {
  if (runtime === "bun") return [process.execPath, [file, ...args]];
  if (runtime === "deno") return [process.execPath, ["run", "-A", "--quiet", file, ...args]];
  return [process.execPath, ["--import", "tsx", file, ...args]];
}

// Children still running when the test process exits (a failed or timed-out test skipped its
// cleanup) are killed, so no broker outlives its test run.
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A CLI process still running: read its output as it comes, signal it, await its end. */
export interface CliProcess {
  child: ChildProcess;
  /** Resolves with the first stdout/stderr line matching `re` (rejects if the process ends first). */
  waitFor(stream: "stdout" | "stderr", re: RegExp): Promise<string>;
  /** Everything written so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves when the process has exited and its pipes are closed. */
  done: Promise<CliResult>;
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/**
 * Start the CLI. A watchdog kills it after `limitMs` so a hung process fails the test
 * instead of hanging the runner.
 */
export function startCli(
  args: readonly string[],
  options: { stdin?: string | Uint8Array; env?: Record<string, string>; limitMs?: number; cwd?: string } = {},
): CliProcess {
  const [cmd, argv] = tsCommand(entry, args);
  const child = spawn(cmd, argv, {
    cwd: options.cwd ?? root,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  live.add(child);
  const text = { stdout: "", stderr: "" };
  const waiters: Array<{ stream: "stdout" | "stderr"; re: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      const line = text[waiter.stream].split("\n").find((l) => waiter.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    text.stdout += chunk;
    check();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    text.stderr += chunk;
    check();
  });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  else child.stdin!.end();
  const watchdog = setTimeout(() => child.kill("SIGKILL"), options.limitMs ?? 30_000);
  const done = new Promise<CliResult>((resolveDone) => {
    child.on("close", (code, signal) => {
      live.delete(child);
      clearTimeout(watchdog);
      for (const waiter of waiters.splice(0)) {
        waiter.reject(new Error(`CLI exited (code ${code}) before printing ${waiter.re}:\n${text.stdout}\n${text.stderr}`));
      }
      resolveDone({ code, signal, ...text });
    });
  });
  return {
    child,
    waitFor: (stream, re) =>
      new Promise((resolveLine, reject) => {
        waiters.push({ stream, re, resolve: resolveLine, reject });
        check();
        if (child.exitCode !== null && waiters.length > 0) reject(new Error(`CLI already exited before ${re}`));
      }),
    output: () => ({ ...text }),
    done,
    stop: (signal = "SIGTERM") => {
      // process.kill rather than child.kill: Deno's ChildProcess reports the signal it sent as
      // the cause of exit even when the child caught it and exited 0 by itself.
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, signal);
        } catch {
          // already gone
        }
      }
      return done;
    },
  };
}

/** Run the CLI to completion. */
export function runCli(
  args: readonly string[],
  options: { stdin?: string | Uint8Array; env?: Record<string, string>; limitMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  return startCli(args, options).done;
}

/** A message printed by a failing CLI: exactly one line, starting with "malamute:", no stack frames. */
export function assertOneLineError(stderr: string): string {
  const lines = stderr.split("\n").filter((line) => line.trim() !== "");
  if (lines.length !== 1) throw new Error(`expected one stderr line, got ${lines.length}:\n${stderr}`);
  const line = lines[0] as string;
  if (!line.startsWith("malamute: ")) throw new Error(`error line does not start with "malamute: ": ${line}`);
  if (/\n\s+at /.test(stderr)) throw new Error(`stack trace printed:\n${stderr}`);
  return line;
}
