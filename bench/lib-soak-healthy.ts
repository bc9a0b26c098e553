/**
 * The healthy client of the soak, in a process of its own so the attackers' CPU does not count
 * as broker latency: an MlmClient doing mailbox round trips to itself, one every `interval` ms
 * (back to back when slower). While a round trip is late it also sends a probe every 50 ms,
 * so the moment the broker answers again is seen within ~50 ms. Run by {@link HealthyClient};
 * as a script: `<runtime> bench/lib-soak-healthy.ts --soak-healthy <endpoint> <interval>`.
 * stdin: `dump` (prints one JSON line with everything since the last dump) and `quit`.
 */
import type { ChildProcess } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { MlmClient } from "../src/client/client.ts";
import { percentile } from "./lib.ts";
import { spawnScript } from "./lib-soak-spawn.ts";

/** Milliseconds since the epoch, sub-ms, comparable across processes of one machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** What the healthy client saw since the last dump. */
export interface HealthyDump {
  /** Completed round trips: [start epoch ms, duration ms]. */
  rts: [number, number][];
  /** Every answered message (round trip or probe): [sent, answered], epoch ms. */
  answers: [number, number][];
  /** Round trips given up (no answer within `giveUp` ms). */
  lost: number;
  /** Client events: [name, epoch ms]. */
  events: [string, number][];
}

/** Latency summary of one window, ms. */
export interface Latency {
  count: number;
  p50: number;
  p99: number;
  max: number;
  lost: number;
}

/** Summarize round trips (and lost ones, counted at their give-up time) of a dump. */
export function latencyOf(dump: HealthyDump, giveUp = GIVE_UP_MS): Latency {
  const values = dump.rts.map(([, d]) => d);
  for (let i = 0; i < dump.lost; i++) values.push(giveUp);
  return {
    count: dump.rts.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : NaN,
    lost: dump.lost,
  };
}

/** A round trip without an answer after this long is counted lost and the next one starts. */
export const GIVE_UP_MS = 10_000;
const PROBE_EVERY_MS = 50;
const here = fileURLToPath(import.meta.url);

/**
 * The parent's handle on the healthy child process.
 *
 * @example
 * ```ts
 * const healthy = await HealthyClient.start(broker.endpoint);
 * await healthy.dump();           // discard warm-up
 * // ... attack ...
 * const l = latencyOf(await healthy.dump());
 * await healthy.stop();
 * ```
 */
export class HealthyClient {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiting: ((line: string | undefined) => void)[] = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (!line.startsWith("{")) return;
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
    lines.on("close", () => {
      for (const w of this.#waiting.splice(0)) w(undefined);
    });
  }

  /** Start the child with the soak's own runtime; resolves once its session is open. */
  static async start(endpoint: string, interval = 5): Promise<HealthyClient> {
    const child = spawnScript(here, ["--soak-healthy", endpoint, String(interval)], ["pipe", "pipe", "inherit"]);
    const healthy = new HealthyClient(child);
    const first = await healthy.#line(30_000);
    if (first === undefined || !first.includes('"ready"')) {
      child.kill("SIGKILL");
      throw new Error(`healthy client did not start: ${first ?? "exited"}`);
    }
    return healthy;
  }

  /** Everything since the previous dump. */
  async dump(): Promise<HealthyDump> {
    this.#child.stdin!.write("dump\n");
    const line = await this.#line(30_000);
    if (line === undefined) return { rts: [], answers: [], lost: 0, events: [["healthy client gone", epochMs()]] };
    return JSON.parse(line) as HealthyDump;
  }

  /** Epoch ms of the first answer to a message sent at or after `since` (clears nothing), or undefined. */
  async answeredAfter(since: number): Promise<number | undefined> {
    this.#child.stdin!.write(`answered-after ${since}\n`);
    const line = await this.#line(30_000);
    return line === undefined ? undefined : (JSON.parse(line) as { t: number | null }).t ?? undefined;
  }

  /**
   * Wait until a message the healthy client sent at or after `since` is answered (so a stale
   * answer to one sent before does not count); resolves with the delay in ms, or undefined
   * after `ms`.
   */
  async recovery(since: number, ms: number): Promise<number | undefined> {
    const until = epochMs() + ms;
    while (epochMs() < until) {
      const t = await this.answeredAfter(since);
      if (t !== undefined) return t - since;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return undefined;
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    if (this.#child.exitCode === null) this.#child.stdin!.write("quit\n");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  #line(ms: number): Promise<string | undefined> {
    const queued = this.#lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(done), 1);
        resolve(undefined);
      }, ms);
      const done = (line: string | undefined): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.#waiting.push(done);
    });
  }
}

// ------------------------------------------------------------------ the child

async function child(endpoint: string, interval: number): Promise<void> {
  const address = `healthy-${process.pid}`;
  const client = await MlmClient.connect(endpoint, { address });
  let dump: HealthyDump = { rts: [], answers: [], lost: 0, events: [] };
  client.on("connected", () => dump.events.push(["connected", epochMs()]));
  client.on("disconnected", (reason) => dump.events.push([`disconnected (${reason})`, epochMs()]));
  client.on("error", () => {});
  /** Subject → when it was sent and who waits for it. */
  const waiting = new Map<string, { sent: number; done: () => void }>();
  client.onDelivery((d) => {
    const w = waiting.get(d.subject);
    if (w === undefined) return;
    waiting.delete(d.subject);
    dump.answers.push([w.sent, epochMs()]);
    w.done();
  });
  let seq = 0;
  let running = true;
  const send = (subject: string): boolean => {
    try {
      client.sendTo(address, subject, "x");
      return true;
    } catch {
      return false; // session down and send buffer full: the give-up timer counts it
    }
  };
  const roundTrip = async (): Promise<void> => {
    const subject = `rt-${++seq}`;
    const t0 = epochMs();
    let answered = false;
    const answer = new Promise<void>((resolve) => waiting.set(subject, {
      sent: t0,
      done: () => {
        answered = true;
        resolve();
      },
    }));
    send(subject);
    const probes: string[] = [];
    const prober = setInterval(() => {
      const probe = `probe-${++seq}`;
      probes.push(probe);
      waiting.set(probe, { sent: epochMs(), done: () => {} });
      send(probe);
    }, PROBE_EVERY_MS);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([answer, new Promise<void>((resolve) => (timer = setTimeout(resolve, GIVE_UP_MS)))]);
    clearTimeout(timer);
    clearInterval(prober);
    for (const p of probes) waiting.delete(p);
    waiting.delete(subject);
    if (answered) dump.rts.push([t0, epochMs() - t0]);
    else dump.lost++;
  };
  process.stdout.write(`${JSON.stringify({ ev: "ready" })}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line === "dump") {
      process.stdout.write(`${JSON.stringify(dump)}\n`);
      dump = { rts: [], answers: [], lost: 0, events: [] };
    } else if (line.startsWith("answered-after ")) {
      const since = Number(line.slice(15));
      process.stdout.write(`${JSON.stringify({ t: dump.answers.find(([sent]) => sent >= since)?.[1] ?? null })}\n`);
    } else if (line === "quit") {
      running = false;
      void client.close().then(() => process.exit(0));
    }
  });
  lines.on("close", () => (running = false));
  while (running) {
    const started = performance.now();
    await roundTrip();
    const rest = interval - (performance.now() - started);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
  }
  await client.close();
  process.exit(0);
}

const at = process.argv.indexOf("--soak-healthy");
if (at >= 0) await child(process.argv[at + 1] as string, Number(process.argv[at + 2] ?? 5));
