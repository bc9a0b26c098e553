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
import { connect } from "../src/rpc/client.ts";
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

/**
 * `calls` echo calls, `inFlight` at once, from one RPC client through the broker to `workers`
 * worker processes; every `killEvery` ms the oldest ready worker is SIGKILLed and a new one
 * started. Reports per call: answered (resolved with its own number) and how many times the
 * call settled (the typed client settles once; duplicate replies it ignores are counted as
 * stale), failures by error code, calls never settled, handler runs (a call running on a
 * killed worker runs again elsewhere) and the duration.
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
      const fleet = new WorkerFleet(ctx.broker.endpoint, o);
      const client = await connect(ctx.broker.endpoint, { churn }, { defaultTimeout: o.deadline });
      const cleanup = async (): Promise<void> => void await Promise.all([client.close(), fleet.stop()]);
      try {
        const t0 = performance.now();
        await Promise.all(Array.from({ length: o.workers }, () => fleet.spawn()));
        const startMs = performance.now() - t0;
        let minReady = fleet.ready;
        let skipped = 0;
        const killer = setInterval(() => {
          minReady = Math.min(minReady, fleet.ready);
          if (fleet.killOldest()) void fleet.spawn();
          else skipped++;
        }, o.killEvery);
        // settles[i]: how many times call i settled; outcome[i]: "ok", "wrong value" or the error code.
        const settles = new Uint8Array(o.calls);
        const outcome: string[] = new Array(o.calls);
        let lost = 0;
        const t1 = performance.now();
        try {
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
        } finally {
          clearInterval(killer);
        }
        const seconds = (performance.now() - t1) / 1000;
        await fleet.stop();
        const counts = new Map<string, number>();
        for (const k of outcome) if (k !== undefined && k !== "ok") counts.set(k, (counts.get(k) ?? 0) + 1);
        let once = 0;
        let answered = 0;
        let twice = 0;
        let ranTwice = 0;
        let neverRan = 0;
        let runs = 0;
        for (let i = 0; i < o.calls; i++) {
          if (outcome[i] === "ok") answered++;
          if (outcome[i] === "ok" && settles[i] === 1) once++;
          if (settles[i]! > 1) twice++;
          const r = fleet.runs[i]!;
          runs += r;
          if (r > 1) ranTwice++;
          if (r === 0 && outcome[i] === "ok") neverRan++;
        }
        const failed = [...counts].map(([k, n]) => `${k} ×${n}`).join(", ") || "0";
        const stats = client.stats();
        return {
          notes: [
            `${o.calls} calls (${o.inFlight} in flight) in ${seconds.toFixed(1)} s: answered ${answered}, answered exactly once ${once}` +
            `, failed ${failed}, lost ${lost}${twice > 0 ? `, settled twice ${twice}` : ""}`,
            `${fleet.killed} workers SIGKILLed${skipped > 0 ? ` (${skipped} ticks found none ready)` : ""}, ${fleet.spawned} started` +
            ` (${spawnedAs(workerScript, { bundle: true })}; first ${o.workers} ready in ${Math.round(startMs)} ms), fewest ready ${minReady}${fleet.died > 0 ? `, ${fleet.died} exited on their own` : ""}`,
            `handler runs ${runs}: ${ranTwice} calls ran more than once (requeued from a killed worker)` +
            `${neverRan > 0 ? `, ${neverRan} answered calls with no reported run` : ""}; duplicate replies ignored by the client ${stats.stale}`,
          ],
          cleanup,
        };
      } catch (error) {
        await cleanup();
        throw error;
      }
    },
  };
}
