import { spawn, type ChildProcess } from "node:child_process";
import process from "node:process";
import { Emitter } from "../../../util/emitter.ts";
import { abortError, ForgeCode, ForgeError } from "../../errors.ts";
import { DEFAULT_MAX_FRAME, encodeFrame, FrameDecoder } from "./framing.ts";

/**
 * Version of the stdin/stdout protocol (docs/forge-script-protocol.md).
 *
 * @example
 * ```ts
 * process.stdout.write(encodeFrame({ type: "ready", protocol: SCRIPT_PROTOCOL_VERSION }));
 * ```
 */
export const SCRIPT_PROTOCOL_VERSION = 1;

/**
 * Options of {@link ScriptHost}.
 *
 * @example
 * ```ts
 * const host = new ScriptHost({ command: "python3", args: ["worker.py"], retries: 1, startTimeoutMs: 600_000 });
 * ```
 */
export interface ScriptHostOptions {
  /** Program to run, e.g. `python3`, `elixir`, `node`. */
  command: string;
  /** Its arguments, e.g. `["qwen3vl_worker.py"]`. */
  args?: string[];
  cwd?: string;
  /** Environment of the script (default: this process's). */
  env?: Record<string, string | undefined>;
  /** How long the script may take to send `ready` (loading weights is slow). Default 120 000 ms. */
  startTimeoutMs?: number;
  /** Largest frame accepted from the script. Default 256 MiB. */
  maxFrameBytes?: number;
  /** Calls waiting for a free slot beyond the running ones. Default 64; more fail with `RPC_RESOURCE_EXHAUSTED`. */
  maxQueue?: number;
  /** Times a call is re-run after the script crashed under it. Default 0: the call fails with `RPC_UNAVAILABLE`. */
  retries?: number;
  /** First delay before restarting a crashed script, doubling per consecutive crash. Default 100 ms. */
  restartDelayMs?: number;
  /** Ceiling of the restart delay. Default 10 000 ms. */
  restartDelayMaxMs?: number;
  /** How long a cancelled call may keep its slot before the script is restarted to free it. Default 10 000 ms. */
  cancelGraceMs?: number;
  /** How long `close()` waits for the script to exit before killing it. Default 2 000 ms. */
  shutdownGraceMs?: number;
}

/**
 * Events of a {@link ScriptHost}.
 *
 * @example
 * ```ts
 * host.on("log", (line) => console.error("[script]", line)).on("exit", (e) => console.error("script exited", e.code));
 * ```
 */
export interface ScriptHostEvents {
  /** A script process started. */
  spawn: (pid: number | undefined) => void;
  /** The script said `ready`. */
  ready: (info: { name?: string; concurrency: number; methods?: string[] }) => void;
  /** The script process ended. */
  exit: (info: { code: number | null; signal: string | null; expected: boolean }) => void;
  /** A line the script wrote to stderr, or a `log` message. */
  log: (line: string) => void;
  error: (error: Error) => void;
}

/**
 * Handlers for what a running call sends before its result.
 *
 * @example
 * ```ts
 * await host.call("zimage.generate", input, { signal }, { onProgress: (p) => console.log(p) });
 * ```
 */
export interface ScriptCallHandlers {
  onProgress?: (value: unknown) => void;
  onChunk?: (value: unknown) => void;
}

interface Call extends ScriptCallHandlers {
  id: number;
  method: string;
  input: unknown;
  deadline?: number;
  attempts: number;
  /** Set once the caller gave up; the script's answer is then ignored. */
  abandoned: boolean;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

type State = "idle" | "starting" | "ready" | "closed";

/**
 * Runs a script in any language as a long-lived subprocess speaking the Forge script protocol
 * (length-prefixed msgpack frames on stdin/stdout; see docs/forge-script-protocol.md). The
 * process starts on the first call, runs up to `concurrency` calls at once (the script says
 * how many in `ready`), and is restarted with backoff when it crashes. A crash fails the calls
 * it was running with `RPC_UNAVAILABLE` (or re-runs them, with `retries`); the next call gets
 * a fresh process.
 *
 * @example
 * ```ts
 * import { ScriptHost } from "malamute/forge";
 * const host = new ScriptHost({ command: "python3", args: ["examples/forge/scripts/echo_worker.py"] });
 * const out = await host.call("qwen3vl.infer", { images: [], prompt: "hi" }, { signal: AbortSignal.timeout(5000) });
 * await host.close();
 * ```
 */
export class ScriptHost extends Emitter<ScriptHostEvents> {
  readonly #options: Required<Omit<ScriptHostOptions, "cwd" | "env" | "args">> & Pick<ScriptHostOptions, "cwd" | "env" | "args">;
  #state: State = "idle";
  #proc: ChildProcess | undefined;
  #concurrency = 1;
  #nextId = 1;
  readonly #queue: Call[] = [];
  /** Calls sent to the current process, including abandoned ones still holding a slot. */
  readonly #running = new Map<number, Call>();
  #crashes = 0;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #graceTimers = new Set<ReturnType<typeof setTimeout>>();
  #stderrTail = "";
  #exited: Promise<void> = Promise.resolve();
  /** Set when we killed the process on purpose (close, stuck cancel, protocol error). */
  #killReason: string | undefined;

  constructor(options: ScriptHostOptions) {
    super();
    this.#options = {
      startTimeoutMs: 120_000,
      maxFrameBytes: DEFAULT_MAX_FRAME,
      maxQueue: 64,
      retries: 0,
      restartDelayMs: 100,
      restartDelayMaxMs: 10_000,
      cancelGraceMs: 10_000,
      shutdownGraceMs: 2_000,
      ...options,
    };
  }

  /** The running script's process id, if one is running. */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Calls running in the script plus calls waiting for a slot. */
  get load(): { running: number; queued: number } {
    return { running: this.#running.size, queued: this.#queue.length };
  }

  /**
   * Runs `method` in the script. Resolves with the script's `result` value; rejects with a
   * ForgeError carrying the script's `error` code, or `RPC_CANCELLED` / `RPC_DEADLINE_EXCEEDED`
   * when `ctx.signal` aborts or `ctx.deadline` passes, or `RPC_UNAVAILABLE` when the script
   * dies or cannot start.
   */
  call(method: string, input: unknown, ctx: { signal: AbortSignal; deadline?: number }, handlers: ScriptCallHandlers = {}): Promise<unknown> {
    if (this.#state === "closed") return Promise.reject(new ForgeError(ForgeCode.Unavailable, "script host is closed"));
    if (ctx.signal.aborted) return Promise.reject(abortError(ctx.signal));
    if (this.#queue.length >= this.#options.maxQueue) {
      return Promise.reject(new ForgeError(ForgeCode.ResourceExhausted, `script queue is full (${this.#options.maxQueue} calls waiting)`, { details: { limit: this.#options.maxQueue } }));
    }
    return new Promise<unknown>((resolve, reject) => {
      let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
      const call: Call = {
        id: this.#nextId++,
        method,
        input,
        attempts: 0,
        abandoned: false,
        ...handlers,
        resolve,
        reject,
        cleanup: () => {
          ctx.signal.removeEventListener("abort", onAbort);
          if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
        },
      };
      if (ctx.deadline !== undefined) call.deadline = ctx.deadline;
      const giveUp = (error: ForgeError) => {
        if (call.abandoned) return;
        this.#abandon(call, error);
      };
      const onAbort = () => giveUp(abortError(ctx.signal));
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      if (ctx.deadline !== undefined) {
        deadlineTimer = setTimeout(
          () => giveUp(new ForgeError(ForgeCode.DeadlineExceeded, `${method}: deadline passed in the script`)),
          Math.max(0, ctx.deadline - Date.now()),
        );
      }
      this.#queue.push(call);
      this.#pump();
    });
  }

  /** Stops the script (a `shutdown` message, then a kill after the grace period) and fails pending calls. */
  async close(): Promise<void> {
    if (this.#state === "closed") return this.#exited;
    this.#state = "closed";
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#startTimer);
    for (const t of this.#graceTimers) clearTimeout(t);
    this.#graceTimers.clear();
    const closed = new ForgeError(ForgeCode.Unavailable, "script host closed");
    for (const call of this.#queue.splice(0)) this.#settle(call, closed);
    for (const call of this.#running.values()) this.#settle(call, closed);
    this.#running.clear();
    const proc = this.#proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      this.#killReason = "closed";
      this.#write({ type: "shutdown" });
      proc.stdin?.end();
      const killer = setTimeout(() => proc.kill("SIGKILL"), this.#options.shutdownGraceMs);
      await this.#exited;
      clearTimeout(killer);
    }
  }

  #pump(): void {
    if (this.#state === "closed") return;
    if (this.#state === "idle" && this.#queue.length > 0 && this.#restartTimer === undefined) {
      this.#start();
      return;
    }
    if (this.#state !== "ready") return;
    while (this.#queue.length > 0 && this.#running.size < this.#concurrency) {
      const call = this.#queue.shift()!;
      call.attempts++;
      this.#running.set(call.id, call);
      const message: Record<string, unknown> = { type: "call", id: call.id, method: call.method, input: call.input };
      if (call.deadline !== undefined) message["deadline"] = call.deadline;
      this.#write(message);
    }
  }

  #start(): void {
    this.#state = "starting";
    this.#killReason = undefined;
    this.#stderrTail = "";
    const decoder = new FrameDecoder(this.#options.maxFrameBytes);
    let proc: ChildProcess;
    try {
      proc = spawn(this.#options.command, this.#options.args ?? [], {
        cwd: this.#options.cwd,
        env: this.#options.env ?? process.env,
        stdio: ["pipe", "pipe", "pipe"],
      });
    } catch (err) {
      this.#startFailed(`cannot start ${this.#options.command}: ${(err as Error).message}`, err);
      return;
    }
    this.#proc = proc;
    let resolveExit!: () => void;
    this.#exited = new Promise<void>((r) => (resolveExit = r));
    let exited = false;
    const onExit = (code: number | null, signal: string | null) => {
      if (exited) return;
      exited = true;
      resolveExit();
      this.#onExit(proc, code, signal);
    };
    proc.on("error", (err) => {
      // ENOENT and friends: the process never ran, so no exit event will follow on some runtimes.
      if (proc.pid === undefined) {
        exited = true;
        resolveExit();
        if (this.#proc === proc) this.#proc = undefined;
        this.#startFailed(`cannot start ${this.#options.command}: ${err.message}`, err);
      } else this.emit("error", err);
    });
    proc.on("exit", onExit);
    proc.stdin?.on("error", () => {
      // EPIPE when the script died: its exit event reports the failure.
    });
    proc.stdout?.on("data", (bytes: Uint8Array) => {
      let messages: unknown[];
      try {
        messages = decoder.push(bytes);
      } catch (err) {
        this.#kill(proc, (err as Error).message);
        return;
      }
      for (const message of messages) this.#onMessage(proc, message);
    });
    proc.stderr?.on("data", (bytes: Uint8Array) => {
      const text = new TextDecoder().decode(bytes);
      this.#stderrTail = (this.#stderrTail + text).slice(-4096);
      for (const line of text.split(/\r?\n/)) if (line) this.emit("log", line);
    });
    this.emit("spawn", proc.pid);
    this.#startTimer = setTimeout(() => {
      this.#kill(proc, `script did not send ready within ${this.#options.startTimeoutMs} ms`);
    }, this.#options.startTimeoutMs);
  }

  #startFailed(message: string, cause: unknown): void {
    clearTimeout(this.#startTimer);
    this.#state = "idle";
    const error = new ForgeError(ForgeCode.Unavailable, message, { cause, details: { command: this.#options.command } });
    for (const call of this.#queue.splice(0)) this.#settle(call, error);
    this.#crashes++;
  }

  #onMessage(proc: ChildProcess, raw: unknown): void {
    if (proc !== this.#proc) return;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      this.#kill(proc, "script sent a message that is not a map");
      return;
    }
    const m = raw as Record<string, unknown>;
    if (m["type"] === "ready") {
      if (this.#state !== "starting") return;
      if (m["protocol"] !== SCRIPT_PROTOCOL_VERSION) {
        this.#kill(proc, `script speaks protocol ${String(m["protocol"])}, this host speaks ${SCRIPT_PROTOCOL_VERSION}`);
        return;
      }
      clearTimeout(this.#startTimer);
      const concurrency = m["concurrency"];
      this.#concurrency = typeof concurrency === "number" && Number.isInteger(concurrency) && concurrency >= 1 ? Math.min(concurrency, 1024) : 1;
      this.#state = "ready";
      const info: { name?: string; concurrency: number; methods?: string[] } = { concurrency: this.#concurrency };
      if (typeof m["name"] === "string") info.name = m["name"];
      if (Array.isArray(m["methods"])) info.methods = m["methods"].filter((x): x is string => typeof x === "string");
      this.emit("ready", info);
      this.#pump();
      return;
    }
    if (m["type"] === "log") {
      this.emit("log", String(m["message"] ?? ""));
      return;
    }
    const call = typeof m["id"] === "number" ? this.#running.get(m["id"]) : undefined;
    if (!call) return; // late answer to an abandoned call that already lost its slot, or unknown id
    switch (m["type"]) {
      case "progress":
        if (!call.abandoned) this.#safely(() => call.onProgress?.(m["value"]));
        return;
      case "chunk":
        if (!call.abandoned) this.#safely(() => call.onChunk?.(m["value"]));
        return;
      case "result":
        this.#running.delete(call.id);
        this.#crashes = 0;
        if (!call.abandoned) {
          call.cleanup();
          call.resolve(m["value"]);
        }
        this.#pump();
        return;
      case "error": {
        this.#running.delete(call.id);
        this.#crashes = 0;
        if (!call.abandoned) {
          const code = typeof m["code"] === "string" && m["code"] ? m["code"] : ForgeCode.Internal;
          const details = typeof m["details"] === "object" && m["details"] !== null ? (m["details"] as Record<string, unknown>) : undefined;
          call.cleanup();
          call.reject(new ForgeError(code as typeof ForgeCode.Internal, String(m["message"] ?? "script error"), details ? { details } : undefined));
        }
        this.#pump();
        return;
      }
    }
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.emit("error", err as Error);
    }
  }

  /** The caller gave up: reject now, tell the script, and reclaim the slot if it never answers. */
  #abandon(call: Call, error: ForgeError): void {
    const queued = this.#queue.indexOf(call);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle(call, error);
      return;
    }
    this.#settle(call, error);
    if (!this.#running.has(call.id)) return;
    this.#write({ type: "cancel", id: call.id });
    const proc = this.#proc;
    const timer = setTimeout(() => {
      this.#graceTimers.delete(timer);
      if (proc && this.#proc === proc && this.#running.get(call.id) === call) {
        this.#kill(proc, `script kept cancelled call ${call.id} longer than ${this.#options.cancelGraceMs} ms`);
      }
    }, this.#options.cancelGraceMs);
    this.#graceTimers.add(timer);
  }

  #settle(call: Call, error: Error): void {
    if (call.abandoned) return;
    call.abandoned = true;
    call.cleanup();
    call.reject(error);
  }

  #kill(proc: ChildProcess, reason: string): void {
    if (this.#killReason === undefined) this.#killReason = reason;
    if (reason !== "closed") this.emit("log", `killing script: ${reason}`);
    proc.kill("SIGKILL");
  }

  #onExit(proc: ChildProcess, code: number | null, signal: string | null): void {
    if (this.#proc !== proc) return;
    this.#proc = undefined;
    clearTimeout(this.#startTimer);
    const expected = this.#state === "closed";
    this.emit("exit", { code, signal, expected });
    if (expected) return;
    const wasReady = this.#state === "ready";
    this.#state = "idle";
    this.#crashes++;
    const how = this.#killReason ?? (signal ? `killed by ${signal}` : `exited with code ${code}`);
    const details: Record<string, unknown> = { exitCode: code, signal, stderr: this.#stderrTail.slice(-1000) };
    // Calls the script was running: re-run them (if allowed) or fail them; abandoned ones just free their slot.
    const retry: Call[] = [];
    for (const call of this.#running.values()) {
      if (call.abandoned) continue;
      if (call.attempts <= this.#options.retries) retry.push(call);
      else this.#settle(call, new ForgeError(ForgeCode.Unavailable, `${call.method}: script ${how} during the call`, { details }));
    }
    this.#running.clear();
    this.#queue.unshift(...retry);
    if (!wasReady) {
      // It never got ready: waiting calls would only wait for the next failure.
      const error = new ForgeError(ForgeCode.Unavailable, `script ${how} before it was ready`, { details });
      for (const call of this.#queue.splice(0)) this.#settle(call, error);
    }
    if (this.#queue.length > 0) {
      const delay = Math.min(this.#options.restartDelayMaxMs, this.#options.restartDelayMs * 2 ** Math.min(20, this.#crashes - 1));
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = undefined;
        this.#pump();
      }, delay);
    }
  }

  #write(message: unknown): void {
    const stdin = this.#proc?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return;
    stdin.write(encodeFrame(message));
  }
}
