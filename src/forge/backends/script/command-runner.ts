import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { concatBytes } from "../../../util/bytes.ts";
import { abortError, ForgeCode, ForgeError } from "../../errors.ts";
import { type CommandArg, CommandTemplate } from "./command-template.ts";

/**
 * Options of a {@link CommandRunner}: how to run a one-shot script once per call.
 *
 * @example
 * ```ts
 * const options: CommandOptions = {
 *   command: "elixir",
 *   args: ["kokoro_tts_generation.exs", "--text", "{text}", "--voice", "{voice}", "--out", "{out.audio:wav}"],
 *   timeoutMs: 300_000,
 *   concurrency: 1,
 * };
 * ```
 */
export interface CommandOptions {
  /** Program to run, e.g. `elixir`, `python3`. */
  command: string;
  /** Argument template, filled from the input per call (see {@link CommandTemplate}). */
  args: readonly CommandArg[];
  cwd?: string;
  /** Environment of the script (default: this process's). */
  env?: Record<string, string | undefined>;
  /** How stdout is read: `text` (default) or `json` (one JSON document; invalid JSON is `FORGE_BAD_RESPONSE`). */
  stdout?: "text" | "json";
  /** Longest a call may run before its process group is killed (`RPC_DEADLINE_EXCEEDED`); the call's deadline applies too. Default 600 000 ms. */
  timeoutMs?: number;
  /** Processes running at once for this backend. Default 1. */
  concurrency?: number;
  /** Calls waiting for a free slot; more fail with `RPC_RESOURCE_EXHAUSTED`. Default 64. */
  maxQueue?: number;
  /** Largest stdout accepted; more kills the process group (`FORGE_BAD_RESPONSE`). Default 16 MiB. */
  maxStdoutBytes?: number;
  /** How much of the end of stderr is kept for the error, in characters. Default 8192. */
  maxStderrBytes?: number;
  /** Largest output file read back (`FORGE_BAD_RESPONSE` beyond). Default 256 MiB. */
  maxOutputFileBytes?: number;
  /** Where per-call temporary directories are made. Default: the OS temp directory. */
  tempDir?: string;
}

/**
 * What one run of the command produced.
 *
 * @example
 * ```ts
 * const { stdout, json, files } = await runner.run({ text: "hi" }, { signal });
 * const wav = files["audio"];
 * ```
 */
export interface CommandResult {
  stdout: string;
  /** The parsed stdout, with `stdout: "json"`. */
  json?: unknown;
  /** Output files by name (`out` for `{out:EXT}`, `NAME` for `{out.NAME:EXT}`). */
  files: Record<string, Uint8Array>;
  /** The kept tail of stderr. */
  stderr: string;
}

/**
 * Counters of a {@link CommandRunner}.
 *
 * @example
 * ```ts
 * if (runner.stats.rejected > 0) console.warn("command queue overflowed");
 * ```
 */
export interface CommandStats {
  running: number;
  queued: number;
  /** Processes started. */
  started: number;
  succeeded: number;
  /** Non-zero exit, crash, bad output. */
  failed: number;
  /** Killed for `timeoutMs` or the deadline. */
  timedOut: number;
  cancelled: number;
  /** Refused because the queue was full. */
  rejected: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Runs an unmodified one-shot CLI script once per call ("command mode"): the argument template
 * is filled from the input (binary inputs written to temporary files), the process runs in its
 * own process group without a shell, and stdout plus any output files come back as a
 * {@link CommandResult}. A timeout, the call's deadline or a cancel kills the whole process
 * group (children the script spawned included); temporary files are removed whatever happens.
 *
 * @example
 * ```ts
 * import { CommandRunner } from "malamute/forge";
 * const runner = new CommandRunner({ command: "elixir", args: ["tts.exs", "--text", "{text}", "--out", "{out:wav}"] });
 * const { files } = await runner.run({ text: "Hello" }, { signal: AbortSignal.timeout(60_000) });
 * ```
 */
export class CommandRunner {
  readonly #options: CommandOptions;
  readonly #template: CommandTemplate;
  readonly #waiters: Waiter[] = [];
  /** Kills the process group of each running call, with the error that call then fails with. */
  readonly #killers = new Set<(reason: ForgeError) => void>();
  #running = 0;
  #closed = false;
  readonly #counts = { started: 0, succeeded: 0, failed: 0, timedOut: 0, cancelled: 0, rejected: 0 };

  constructor(options: CommandOptions) {
    this.#options = options;
    this.#template = new CommandTemplate(options.args);
  }

  /** Counters and the current load. */
  get stats(): CommandStats {
    return { running: this.#running, queued: this.#waiters.length, ...this.#counts };
  }

  /** Names of the output files the template declares. */
  get outputs(): string[] {
    return this.#template.outputs;
  }

  /**
   * Runs the command for `input`. Rejects with `RPC_CANCELLED` / `RPC_DEADLINE_EXCEEDED` (the
   * process group killed), `FORGE_COMMAND_FAILED` (non-zero exit; `details.stderr`),
   * `RPC_UNAVAILABLE` (cannot start, killed by a signal), `FORGE_BAD_RESPONSE` (stdout too large
   * or not JSON, an output file missing or too large), `RPC_VALIDATION` (the input does not fit
   * the template), `RPC_RESOURCE_EXHAUSTED` (queue full).
   *
   * With `onLine`, stdout is handed over line by line as it arrives (without the newline) and
   * not kept: `stdout` is then empty and `maxStdoutBytes` bounds one line. An error thrown by
   * `onLine` kills the process group and fails the call with it.
   */
  async run(input: unknown, ctx: { signal: AbortSignal; deadline?: number }, onLine?: (line: string) => void): Promise<CommandResult> {
    if (this.#closed) throw new ForgeError(ForgeCode.Unavailable, "command backend is closed");
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    await this.#acquire(ctx.signal);
    try {
      return await this.#runOnce(input, ctx, onLine);
    } finally {
      this.#release();
    }
  }

  /** Refuses new calls, fails queued ones and kills running process groups. */
  close(): Promise<void> {
    this.#closed = true;
    const closed = new ForgeError(ForgeCode.Unavailable, "command backend closed");
    for (const w of this.#waiters.splice(0)) w.reject(closed);
    for (const kill of this.#killers) kill(closed);
    return Promise.resolve();
  }

  #acquire(signal: AbortSignal): Promise<void> {
    const limit = Math.max(1, this.#options.concurrency ?? 1);
    if (this.#running < limit) {
      this.#running++;
      return Promise.resolve();
    }
    const maxQueue = this.#options.maxQueue ?? 64;
    if (this.#waiters.length >= maxQueue) {
      this.#counts.rejected++;
      return Promise.reject(new ForgeError(ForgeCode.ResourceExhausted, `command queue is full (${maxQueue} calls waiting)`, { details: { limit: maxQueue } }));
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        this.#counts.cancelled++;
        reject(abortError(signal));
      };
      const waiter: Waiter = {
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next.resolve(); // the slot passes on
    else this.#running--;
  }

  async #runOnce(input: unknown, ctx: { signal: AbortSignal; deadline?: number }, onLine: ((line: string) => void) | undefined): Promise<CommandResult> {
    const dir = await mkdtemp(join(this.#options.tempDir ?? tmpdir(), "malamute-cmd-")).catch((err: unknown) => {
      throw this.#fail(new ForgeError(ForgeCode.Internal, `cannot create a temporary directory: ${(err as Error).message}`, { cause: err }));
    });
    try {
      const filled = this.#template.fill(input, dir);
      for (const file of filled.inputs) {
        await writeFile(file.path, file.bytes).catch((err: unknown) => {
          throw this.#fail(new ForgeError(ForgeCode.Internal, `cannot write the input file ${file.path}: ${(err as Error).message}`, { cause: err }));
        });
      }
      const { stdout, stderr } = await this.#spawn(filled.argv, ctx, onLine);
      const result: CommandResult = { stdout, stderr, files: {} };
      if (this.#options.stdout === "json") {
        try {
          result.json = JSON.parse(stdout);
        } catch (err) {
          throw this.#fail(new ForgeError(ForgeCode.BadResponse, "command did not print valid JSON", { cause: err, details: { stdout: stdout.slice(0, 1000) } }));
        }
      }
      const max = this.#options.maxOutputFileBytes ?? 256 * 1024 * 1024;
      for (const [name, path] of filled.outputs) {
        const size = await stat(path).then((s) => s.size, () => -1);
        if (size < 0) throw this.#fail(new ForgeError(ForgeCode.BadResponse, `command did not write its output file ${name}`, { details: { file: name, stderr } }));
        if (size > max) throw this.#fail(new ForgeError(ForgeCode.BadResponse, `output file ${name} is ${size} bytes, over the ${max}-byte limit`, { details: { file: name, size, limit: max } }));
        result.files[name] = new Uint8Array(await readFile(path));
      }
      this.#counts.succeeded++;
      return result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  #fail(error: ForgeError): ForgeError {
    this.#counts.failed++;
    return error;
  }

  #spawn(argv: string[], ctx: { signal: AbortSignal; deadline?: number }, onLine: ((line: string) => void) | undefined): Promise<{ stdout: string; stderr: string }> {
    const o = this.#options;
    const maxStdout = o.maxStdoutBytes ?? 16 * 1024 * 1024;
    const maxStderr = o.maxStderrBytes ?? 8 * 1024;
    return new Promise((resolve, reject) => {
      // The signal may have fired while the temp files were being written.
      if (ctx.signal.aborted) {
        this.#counts.cancelled++;
        reject(abortError(ctx.signal));
        return;
      }
      let proc: ChildProcess;
      try {
        // detached: the script leads its own process group, so one kill reaches its children too.
        proc = spawn(o.command, argv, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      } catch (err) {
        reject(this.#fail(new ForgeError(ForgeCode.Unavailable, `cannot start ${o.command}: ${(err as Error).message}`, { cause: err, details: { command: o.command } })));
        return;
      }
      const pgid = proc.pid;
      if (pgid !== undefined) this.#counts.started++;
      const stdout: Uint8Array[] = [];
      let stdoutBytes = 0;
      let stderr = "";
      let killed: ForgeError | undefined;
      let done = false;
      const kill = (reason: ForgeError) => {
        killed ??= reason;
        if (pgid !== undefined) killGroup(pgid);
      };
      this.#killers.add(kill);
      const onAbort = () => {
        this.#counts.cancelled++;
        kill(abortError(ctx.signal));
      };
      // Clamped: setTimeout fires at once for anything above 2^31-1 ms.
      const limitMs = Math.min(o.timeoutMs ?? 600_000, ctx.deadline !== undefined ? Math.max(0, ctx.deadline - Date.now()) : Infinity, MAX_TIMER_MS);
      const timer = setTimeout(() => {
        this.#counts.timedOut++;
        kill(new ForgeError(ForgeCode.DeadlineExceeded, `${o.command} ran longer than ${Math.round(limitMs)} ms and was killed`, { details: { timeoutMs: Math.round(limitMs) } }));
      }, limitMs);
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const finish = (error: ForgeError | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        ctx.signal.removeEventListener("abort", onAbort);
        this.#killers.delete(kill);
        if (pgid !== undefined) killGroup(pgid); // whatever the script left running in its group ends with the call
        if (error) reject(error);
        else resolve({ stdout: new TextDecoder().decode(concatBytes(stdout)), stderr });
      };
      const lines = onLine && new LineSplitter(onLine, maxStdout);
      const deliver = (flush: boolean, bytes?: Uint8Array) => {
        try {
          lines!.push(bytes, flush);
        } catch (err) {
          if (!killed) this.#counts.failed++;
          kill(err instanceof ForgeError ? err : new ForgeError(ForgeCode.BadResponse, `command output rejected: ${(err as Error).message}`, { cause: err }));
        }
      };
      proc.stdout!.on("data", (bytes: Uint8Array) => {
        if (killed) return;
        if (lines) return deliver(false, bytes);
        stdoutBytes += bytes.length;
        if (stdoutBytes > maxStdout) {
          if (!killed) this.#counts.failed++;
          kill(new ForgeError(ForgeCode.BadResponse, `command printed more than ${maxStdout} bytes`, { details: { limit: maxStdout } }));
          return;
        }
        stdout.push(bytes);
      });
      const stderrDecoder = new TextDecoder();
      proc.stderr!.on("data", (bytes: Uint8Array) => {
        stderr = (stderr + stderrDecoder.decode(bytes, { stream: true })).slice(-maxStderr);
      });
      proc.on("error", (err) => {
        if (proc.pid !== undefined) return; // a running process reports through its exit
        finish(this.#fail(new ForgeError(ForgeCode.Unavailable, `cannot start ${o.command}: ${err.message}`, { cause: err, details: { command: o.command } })));
      });
      proc.on("exit", () => {
        // Leftover children holding stdout open would keep "close" from coming.
        if (pgid !== undefined) killGroup(pgid);
      });
      proc.on("close", (code: number | null, signal: string | null) => {
        if (lines && !killed && code === 0) deliver(true);
        if (killed) return finish(killed);
        const details = { exitCode: code, signal, stderr };
        if (code === 0) return finish(undefined);
        if (code === null) return finish(this.#fail(new ForgeError(ForgeCode.Unavailable, `${o.command} was killed by ${signal}`, { details })));
        const last = stderr.trim().split("\n").pop() ?? "";
        finish(this.#fail(new ForgeError(ForgeCode.CommandFailed, `${o.command} exited with code ${code}${last ? `: ${last}` : ""}`, { details })));
      });
    });
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Splits a byte stream into UTF-8 lines, refusing a line longer than `max` characters. */
class LineSplitter {
  readonly #decoder = new TextDecoder();
  #partial = "";

  constructor(readonly onLine: (line: string) => void, readonly max: number) {}

  push(bytes: Uint8Array | undefined, flush: boolean): void {
    const text = this.#partial + (bytes ? this.#decoder.decode(bytes, { stream: true }) : this.#decoder.decode());
    const lines = text.split("\n");
    this.#partial = lines.pop()!;
    if (flush && this.#partial !== "") lines.push(this.#partial);
    if (flush) this.#partial = "";
    for (const line of [...lines, this.#partial]) {
      if (line.length > this.max) {
        throw new ForgeError(ForgeCode.BadResponse, `command printed a line longer than ${this.max} characters`, { details: { limit: this.max } });
      }
    }
    for (const line of lines) this.onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  }
}
