/**
 * Soak attack "worker churn" (issue 14: "20,000 of 20,000 calls answered exactly once with a
 * worker SIGKILLed every 500 ms"): typed RPC calls through the broker while RPC workers, each
 * in a process of its own (lib-soak-churn-worker.ts), are SIGKILLed one by one and replaced.
 * Calls running on a killed worker must be requeued by the broker and answered by another
 * worker, once.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { connect } from "../src/rpc/client/client.ts";
import { churn } from "./lib-soak-churn-worker.ts";
import { type Attack, pool } from "./lib-soak-run.ts";
import { spawnedAs, spawnScript } from "./lib-soak-spawn.ts";

const workerScript = fileURLToPath(new URL("./lib-soak-churn-worker.ts", import.meta.url));

/** Sizes of {@link workerChurn}. */
export interface WorkerChurnOptions {
  /** Calls made in total. */
  calls: number;
  /** A worker is SIGKILLed (and a new one started) this often, ms. */
  killEvery: number;
  /** Worker processes alive (started and not killed) at a time. */
  workers: number;
  /** Calls in flight at once. */
  inFlight: number;
  /** Each worker's `concurrency`. */
  concurrency: number;
  /** How long each call's handler takes, ms: long enough that a kill catches calls running. */
  workMs: number;
  /** Deadline of each call, ms; a call not settled this + 5 s after it was made counts as lost. */
  deadline: number;
}

/** One worker process, as the soak sees it. */
interface ChurnWorker {
  child: ChildProcess;
  ready: boolean;
  exited: Promise<void>;
}

/**
 * The worker processes: started with the soak's runtime, each counted ready once it serves;
 * every handler run any of them reports is added to `runs` (by call number).
 */
class WorkerFleet {
  readonly alive: ChurnWorker[] = [];
  readonly #all: ChurnWorker[] = [];
  readonly runs: Uint32Array;
  spawned = 0;
  killed = 0;
  /** Workers that exited without being killed (crashed, failed to connect). */
  died = 0;
  readonly #args: string[];

  constructor(endpoint: string, o: WorkerChurnOptions) {
    this.#args = ["--soak-churn-worker", endpoint, String(o.concurrency), String(o.workMs)];
    this.runs = new Uint32Array(o.calls);
  }

  get ready(): number {
    return this.alive.filter((w) => w.ready).length;
  }

  /** Start one worker; resolves once it serves (or has exited). */
  spawn(): Promise<void> {
    const child = spawnScript(workerScript, this.#args, ["ignore", "pipe", "inherit"], { bundle: true });
    let readyNow!: () => void;
    const readyP = new Promise<void>((resolve) => (readyNow = resolve));
    const worker: ChurnWorker = {
      child, ready: false,
      exited: new Promise((resolve) => child.once("exit", () => resolve())),
    };
    this.spawned++;
    this.alive.push(worker);
    this.#all.push(worker);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line === "ready") {
        worker.ready = true;
        readyNow();
        return;
      }
      const n = Number(line);
      if (Number.isInteger(n) && n >= 0 && n < this.runs.length) this.runs[n]!++;
    });
    void worker.exited.then(() => {
      const at = this.alive.indexOf(worker);
      if (at >= 0) {
        this.alive.splice(at, 1);
        this.died++;
      }
      readyNow();
    });
    return readyP;
  }

  /** SIGKILL the oldest ready worker (none when none is ready); true if one was killed. */
  killOldest(): boolean {
    const victim = this.alive.find((w) => w.ready);
    if (victim === undefined) return false;
    this.alive.splice(this.alive.indexOf(victim), 1);
    victim.child.kill("SIGKILL");
    this.killed++;
    return true;
  }

  /** SIGKILL every worker and wait for all to exit (their last reports included). */
  async stop(): Promise<void> {
    for (const w of this.alive.splice(0)) w.child.kill("SIGKILL");
    await Promise.all(this.#all.map((w) => w.exited));
  }
}

/** Resolves with `p`'s outcome, or with "lost" after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | "lost"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<"lost">((resolve) => (timer = setTimeout(() => resolve("lost"), ms)))])
    .finally(() => clearTimeout(timer));
}

/** What {@link churnCalls} saw. */
export interface ChurnReport {
  /** Calls resolved with their own number. */
  answered: number;
  /** Of those, settled exactly once (the typed client settles a call once by design). */
  answeredOnce: number;
  /** Calls that settled more than once (never expected). */
  settledTwice: number;
  /** Failed calls by error code ("wrong value" for a result not the call's own). */
  failed: Record<string, number>;
  /** Calls not settled within their deadline + 5 s. */
  lost: number;
  /** Seconds from the first call to the last settlement. */
  seconds: number;
  killed: number;
  spawned: number;
  /** Kill ticks that found no ready worker to kill. */
  skippedKills: number;
  /** Fewest ready workers seen at a kill tick (before the kill). */
  minReady: number;
  /** Workers that exited without being killed. */
  died: number;
  /** ms until the first `workers` served. */
  startMs: number;
  /** Handler runs reported by all workers, and calls that ran more than once. */
  runs: number;
  ranTwice: number;
  /** Answered calls no worker reported a run of (a killed worker's last lines may be lost). */
  neverRan: number;
  /** Replies the client ignored because their call had settled (duplicates after a requeue). */
  stale: number;
}

/**
 * `calls` echo calls, `inFlight` at once, from one RPC client through the broker at `endpoint`
 * to `workers` worker processes; every `killEvery` ms the oldest ready worker is SIGKILLed and
 * a new one started. Stops every worker and closes the client before it resolves.
 *
 * @example
 * ```ts
 * const r = await churnCalls(broker.endpoint, { calls: 1000, killEvery: 200, workers: 2, inFlight: 16, concurrency: 16, workMs: 20, deadline: 10_000 });
 * console.log(r.answeredOnce, r.killed, r.ranTwice);
 * ```
 */
export async function churnCalls(endpoint: string, o: WorkerChurnOptions): Promise<ChurnReport> {
  const fleet = new WorkerFleet(endpoint, o);
  const client = await connect(endpoint, { churn }, { defaultTimeout: o.deadline });
  let killer: ReturnType<typeof setInterval> | undefined;
  try {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.workers }, () => fleet.spawn()));
    const startMs = performance.now() - t0;
    let minReady = fleet.ready;
    let skippedKills = 0;
    killer = setInterval(() => {
      minReady = Math.min(minReady, fleet.ready);
      if (fleet.killOldest()) void fleet.spawn();
      else skippedKills++;
    }, o.killEvery);
    // settles[i]: how many times call i settled; outcome[i]: "ok", "wrong value" or the error code.
    const settles = new Uint8Array(o.calls);
    const outcome: string[] = new Array(o.calls);
    let lost = 0;
    const t1 = performance.now();
    await pool(o.calls, o.inFlight, async (i) => {
      const call = client.churn.echo({ n: i }).then(
        (v) => {
          settles[i]!++;
          outcome[i] = v.n === i ? "ok" : "wrong value";
        },
        (error: { code?: string; name?: string }) => {
          settles[i]!++;
          outcome[i] = error.code ?? error.name ?? "error";
        },
      );
      if ((await within(call, o.deadline + 5000)) === "lost") lost++;
    });
    const seconds = (performance.now() - t1) / 1000;
    clearInterval(killer);
    await fleet.stop();
    const r: ChurnReport = {
      answered: 0, answeredOnce: 0, settledTwice: 0, failed: {}, lost, seconds, killed: fleet.killed, spawned: fleet.spawned,
      skippedKills, minReady, died: fleet.died, startMs, runs: 0, ranTwice: 0, neverRan: 0, stale: client.stats().stale,
    };
    for (let i = 0; i < o.calls; i++) {
      const k = outcome[i];
      if (k === "ok") r.answered++;
      else if (k !== undefined) r.failed[k] = (r.failed[k] ?? 0) + 1;
      if (k === "ok" && settles[i] === 1) r.answeredOnce++;
      if (settles[i]! > 1) r.settledTwice++;
      const runs = fleet.runs[i]!;
      r.runs += runs;
      if (runs > 1) r.ranTwice++;
      if (runs === 0 && k === "ok") r.neverRan++;
    }
    return r;
  } finally {
    clearInterval(killer);
    await Promise.all([client.close(), fleet.stop()]);
  }
}

/**
 * The soak attack around {@link churnCalls}: per call, answered (resolved with its own number)
 * and answered exactly once, failures by error code, calls never settled, handler runs (a call
 * running on a killed worker runs again elsewhere) and the duration.
 *
 * @example
 * ```ts
 * const result = await runAttack(workerChurn({ calls: 20_000, killEvery: 500, workers: 4, inFlight: 64, concurrency: 32, workMs: 40, deadline: 30_000 }));
 * ```
 */
export function workerChurn(o: WorkerChurnOptions): Attack {
  return {
    name: `RPC worker churn (${o.workers} worker processes, one SIGKILLed every ${o.killEvery} ms, ${o.workMs} ms handler)`,
    async run(ctx) {
      const r = await churnCalls(ctx.broker.endpoint, o);
      const failed = Object.entries(r.failed).map(([k, n]) => `${k} ×${n}`).join(", ") || "0";
      return {
        notes: [
          `${o.calls} calls (${o.inFlight} in flight) in ${r.seconds.toFixed(1)} s: answered ${r.answered}, answered exactly once ${r.answeredOnce}` +
          `, failed ${failed}, lost ${r.lost}${r.settledTwice > 0 ? `, settled twice ${r.settledTwice}` : ""}`,
          `${r.killed} workers SIGKILLed${r.skippedKills > 0 ? ` (${r.skippedKills} ticks found none ready)` : ""}, ${r.spawned} started` +
          ` (${spawnedAs(workerScript, { bundle: true })}; first ${o.workers} ready in ${Math.round(r.startMs)} ms), fewest ready ${r.minReady}` +
          `${r.died > 0 ? `, ${r.died} exited on their own` : ""}`,
          `handler runs ${r.runs}: ${r.ranTwice} calls ran more than once (requeued from a killed worker)` +
          `${r.neverRan > 0 ? `, ${r.neverRan} answered calls with no reported run` : ""}; duplicate replies ignored by the client ${r.stale}`,
        ],
      };
    },
  };
}
