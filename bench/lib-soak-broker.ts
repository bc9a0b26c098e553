/**
 * The broker under attack, as a child process: `node --import tsx src/broker/main.ts` on a
 * loopback port, whatever broker the tree holds. The soak watches it only from outside: RSS
 * and open fds from /proc, log lines from stderr, and (through a tiny preloaded probe, see
 * lib-soak-probe.ts) V8's heap figures on demand. Always `node`, whichever runtime runs the
 * soak, so the broker measured is the same on every runtime.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const probe = fileURLToPath(new URL("./lib-soak-probe.ts", import.meta.url));
const MiB = 1024 * 1024;

/** How to start a {@link SoakBroker}. */
export interface SoakBrokerOptions {
  /** Port to bind on 127.0.0.1; 0 (default) = a free one. */
  port?: number;
  /** Extra command-line arguments, e.g. `["--timeout", "2000"]`. */
  args?: string[];
  /** Text of a `malamute.cfg` (ZPL) passed with `--config`, e.g. for limits. */
  config?: string;
  /** Kill the broker (SIGKILL) when its RSS passes this many bytes, to protect the machine. Default 2 GiB. */
  rssCap?: number;
  /** How long it may take to listen, ms. Default 20000. */
  startTimeout?: number;
}

/** V8 memory of the broker, as `process.memoryUsage()` reports it after a full GC. */
export interface BrokerMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Whether /proc exists here (Linux): RSS and fd counts need it. */
export const HAS_PROC = (() => {
  try {
    readFileSync("/proc/self/status", "utf8");
    return true;
  } catch {
    return false;
  }
})();

/**
 * A broker child with an RSS sampler (every `sampleMs`, from /proc/<pid>/status VmRSS).
 *
 * @example
 * ```ts
 * const broker = await SoakBroker.start({ args: ["--timeout", "2000"] });
 * broker.markBaseline();
 * // ... attack broker.endpoint ...
 * console.log(broker.baselineRss, broker.peakRss, broker.alive);
 * await broker.stop();
 * ```
 */
export class SoakBroker {
  readonly #child: ChildProcess;
  readonly #dir: string | undefined;
  readonly #exited: Promise<void>;
  readonly #memWaiters: ((m: BrokerMemory | undefined) => void)[] = [];
  readonly #rssCap: number;
  #sampler: ReturnType<typeof setInterval> | undefined;
  #stderr = "";
  /** Last lines the broker wrote to stderr (for crash reports). */
  readonly tail: string[] = [];
  /** Lines the broker wrote to stderr since start (its log volume). */
  logLines = 0;
  endpoint = "";
  port = 0;
  baselineRss = 0;
  peakRss = 0;
  /** Set when the soak killed the broker at its RSS cap. */
  cappedAt: number | undefined;
  // From the exit event: Deno's ChildProcess takes any signal sent (even SIGCONT) for a kill.
  #exit: string | undefined;

  private constructor(child: ChildProcess, dir: string | undefined, rssCap: number) {
    this.#child = child;
    this.#dir = dir;
    this.#rssCap = rssCap;
    this.#exited = new Promise((resolve) => child.once("exit", (code, signal) => {
      this.#exit = signal !== null ? `signal ${signal}` : `exit ${code}`;
      resolve();
    }));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => this.#onStderr(chunk));
  }

  /** Start a broker; resolves once it listens. */
  static async start(options: SoakBrokerOptions = {}): Promise<SoakBroker> {
    const args = ["--expose-gc", "--import", "tsx", "--import", probe, "src/broker/main.ts",
      "--endpoint", `tcp://127.0.0.1:${options.port ?? 0}`, ...(options.args ?? [])];
    let dir: string | undefined;
    if (options.config !== undefined) {
      dir = mkdtempSync(join(tmpdir(), "soak-"));
      const file = join(dir, "malamute.cfg");
      writeFileSync(file, options.config);
      args.push("--config", file);
    }
    const child = spawn("node", args, { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    const broker = new SoakBroker(child, dir, options.rssCap ?? 2048 * MiB);
    await broker.#listening(options.startTimeout ?? 20_000);
    broker.#sampler = setInterval(() => broker.sample(), 100);
    broker.sample();
    broker.markBaseline();
    return broker;
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /** Still running (not exited, not killed). */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** How it ended, e.g. "exit 134" or "signal SIGKILL"; "" while alive. */
  get exitInfo(): string {
    return this.#exit ?? "";
  }

  /** Resolves when the process has exited. */
  get exited(): Promise<void> {
    return this.#exited;
  }

  /** RSS in bytes now (0 when unknown). Also feeds the peak and the RSS cap. */
  sample(): number {
    const rss = this.alive ? rssOf(this.pid) : 0;
    if (rss > this.peakRss) this.peakRss = rss;
    if (rss > this.#rssCap && this.alive) {
      this.cappedAt = rss;
      this.signal("SIGKILL");
    }
    return rss;
  }

  /** Take the current RSS as the baseline and restart the peak from it. */
  markBaseline(): void {
    this.baselineRss = this.sample();
    this.peakRss = this.baselineRss;
  }

  /** Open file descriptors of the broker (sockets included); -1 when unknown. */
  fds(): number {
    try {
      return readdirSync(`/proc/${this.pid}/fd`).length;
    } catch {
      return -1;
    }
  }

  /** Heap figures after a full GC in the broker (undefined if it does not answer within `ms`). */
  memory(ms = 5000): Promise<BrokerMemory | undefined> {
    if (!this.alive) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#memWaiters.splice(this.#memWaiters.indexOf(done), 1);
        resolve(undefined);
      }, ms);
      const done = (m: BrokerMemory | undefined): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.#memWaiters.push(done);
      this.signal("SIGUSR2");
    });
  }

  /** Send a signal (SIGSTOP, SIGCONT, SIGKILL...). */
  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // exited meanwhile
    }
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    this.signal("SIGCONT");
    this.signal("SIGKILL");
    await this.#exited;
  }

  /** Graceful stop (SIGTERM, SIGKILL after `ms`), then clean up. */
  async stop(ms = 3000): Promise<void> {
    if (this.#sampler !== undefined) clearInterval(this.#sampler);
    this.#sampler = undefined;
    if (this.alive) {
      this.signal("SIGCONT");
      this.signal("SIGTERM");
      const timer = setTimeout(() => this.signal("SIGKILL"), ms);
      await this.#exited;
      clearTimeout(timer);
    }
    for (const w of this.#memWaiters.splice(0)) w(undefined);
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
  }

  #listening(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.signal("SIGKILL");
        reject(new Error(`broker did not start within ${ms} ms:\n${this.tail.join("\n")}`));
      }, ms);
      const check = (): void => {
        const match = /listening endpoint=(tcp:\/\/\S+:(\d+))/.exec(this.tail.join("\n"));
        if (!match) return;
        clearTimeout(timer);
        this.#child.stderr!.off("data", check);
        this.#child.off("exit", onExit);
        this.endpoint = match[1] as string;
        this.port = Number(match[2]);
        resolve();
      };
      const onExit = (): void => {
        clearTimeout(timer);
        reject(new Error(`broker exited (${this.exitInfo}) before listening:\n${this.tail.join("\n")}`));
      };
      this.#child.stderr!.on("data", check);
      this.#child.once("exit", onExit);
    });
  }

  #onStderr(chunk: string): void {
    this.#stderr += chunk;
    let nl: number;
    while ((nl = this.#stderr.indexOf("\n")) >= 0) {
      const line = this.#stderr.slice(0, nl);
      this.#stderr = this.#stderr.slice(nl + 1);
      if (line.startsWith("SOAK_MEM ")) {
        const m = JSON.parse(line.slice(9)) as BrokerMemory;
        this.#memWaiters.shift()?.(m);
        continue;
      }
      this.logLines++;
      this.tail.push(line.length > 300 ? `${line.slice(0, 300)}…` : line);
      if (this.tail.length > 30) this.tail.shift();
    }
    // A runaway line (no newline) must not grow without bound either.
    if (this.#stderr.length > 65536) this.#stderr = this.#stderr.slice(-4096);
  }
}

/** VmRSS of a process in bytes (0 when unknown). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
