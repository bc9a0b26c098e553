// A broker child process (src/broker/main.ts) run by the test's own runtime, so a Bun or Deno
// test kills a Bun or Deno broker: start it on a data directory, read its log, kill -9 it.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { FsyncPolicy } from "../../src/storage/types.ts";
import { rng } from "../../src/forge/bytes.ts";

const main = fileURLToPath(new URL("../../src/broker/main.ts", import.meta.url));
const esbuild = fileURLToPath(new URL("../../node_modules/.bin/esbuild", import.meta.url));
const START_MS = 15_000;

let bundle: string | undefined | null = null;

/**
 * On Node, an esbuild bundle of the broker (made once per test file): it starts in ~0.1 s
 * instead of ~0.5 s through tsx, which matters when a test restarts it tens of times.
 */
function nodeBundle(): string | undefined {
  if (bundle !== null) return bundle;
  const dir = mkdtempSync(join(tmpdir(), "mlm-durable-bundle-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, "broker.mjs");
  const r = spawnSync(esbuild, [main, "--bundle", "--platform=node", "--format=esm", `--outfile=${out}`, "--log-level=error"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  bundle = r.status === 0 ? out : undefined;
  return bundle;
}

function command(args: string[]): string[] {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return [main, ...args];
  if (g.Deno !== undefined) return ["run", "-A", main, ...args];
  const b = nodeBundle();
  return b !== undefined ? [b, ...args] : ["--import", "tsx", main, ...args];
}

/** What the broker logged about its storage when it opened it. */
export interface OpenedLine {
  records: number;
  entries: number;
  discardedBytes: number;
  discardedRecords: number;
}

/** A running broker child. */
export class BrokerChild {
  #stderr = "";
  readonly #exited: Promise<void>;

  private constructor(readonly child: ChildProcess, readonly endpoint: string, stderr: string) {
    this.#stderr = stderr;
    child.stderr?.on("data", (chunk: string) => (this.#stderr += chunk));
    this.#exited = child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** Start `src/broker/main.ts --endpoint tcp://127.0.0.1:0 --data-dir dir --fsync fsync` and wait until it listens. */
  static async start(dir: string, fsync: FsyncPolicy): Promise<BrokerChild> {
    const child = spawn(process.execPath, command(["--endpoint", "tcp://127.0.0.1:0", "--data-dir", dir, "--fsync", fsync]), {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr?.setEncoding("utf8");
    let stderr = "";
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker did not listen within ${START_MS} ms: ${stderr}`)), START_MS);
      const onData = (chunk: string): void => {
        stderr += chunk;
        const m = /listening endpoint=(tcp:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          child.stderr?.off("data", onData);
          resolve(m[1] as string);
        }
      };
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`broker exited early (${code}): ${stderr}`));
      });
    });
    return new BrokerChild(child, endpoint, stderr);
  }

  /** Everything it wrote to stderr so far. */
  get log(): string {
    return this.#stderr;
  }

  /** Its "storage opened" line. */
  get opened(): OpenedLine {
    const m = /storage opened .*records=(\d+) entries=(\d+) .*discardedBytes=(\d+) discardedRecords=(\d+)/.exec(this.#stderr);
    if (!m) throw new Error(`no "storage opened" line in: ${this.#stderr}`);
    return { records: Number(m[1]), entries: Number(m[2]), discardedBytes: Number(m[3]), discardedRecords: Number(m[4]) };
  }

  /** kill -9, and wait until it is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.#exited;
  }

  /** SIGTERM (a clean stop: everything flushed and synced), and wait until it is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.#exited;
  }
}

/** A fresh data directory (the caller removes it). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mlm-${prefix}-`));
}

/** Seeded PRNG (the one Forge uses for its demo seeds): the same seed replays the same test. */
export const random: (seed: number) => () => number = rng;

/** The seed to run with: `DURABLE_SEED` when set (to replay a failure), else a new one. */
export function seedOf(): number {
  const fixed = process.env.DURABLE_SEED;
  return fixed !== undefined && fixed !== "" ? Number(fixed) >>> 0 : (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
}

/** Run `body`; on failure, name the seed that replays it. */
export async function withSeed(seed: number, what: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const message = `${what} failed with DURABLE_SEED=${seed}: ${(error as Error).message}`;
    process.stderr.write(`${message}\n`);
    throw new Error(message, { cause: error });
  }
}
