/**
 * Closed-loop service round trips for the broker bench (issue 16's shapes): `inFlight` requests
 * outstanding at all times (1 = sequential), each reply answered at once by the next request,
 * with no promise per call, as the issue's harness does with raw libzmq DEALERs. The broker
 * (raw DEALERs + codec) and the node:net relay floor both plug in as {@link ServiceEnds}; the
 * broker child process (which also hosts the relay) is sampled for CPU time and GC counts
 * around the measured window, so CPU per routed message covers exactly that window.
 */
import process from "node:process";
import { type BenchRow, nowMs } from "./lib.ts";

/** A caller with its workers, ready to run requests through one implementation. */
export interface ServiceEnds {
  /** Sends request `id` with `body` (the worker echoes it, `id` comes back with the reply). */
  send(id: number, body: Uint8Array): void;
  onReply(handler: (id: number) => void): void;
  close(): Promise<void>;
}

/** Cumulative counters of the process that routes (broker or relay); GC counts -1 when unknown. */
export interface ChildSample {
  cpuUs: number;
  fullGcs: number;
  scavenges: number;
}

export interface ServiceRun {
  rate: number;
  p50: number;
  p99: number;
  p999: number;
  /** Routing process CPU (user + system) per routed message; a round trip routes two. */
  cpuUsPerMsg: number;
  /** GCs of the routing process during the window; -1 when the runtime cannot say. */
  fullGcs: number;
  scavenges: number;
  /** CPU of this (client) process over the window, % of one core: near 100 means client-bound. */
  clientCpuPct: number;
}

export interface Shape {
  name: string;
  size: number;
  workers: number;
  inFlight: number;
}

/** The service shapes of issue 16. */
export const SHAPES: Shape[] = [
  { name: "service, sequential, 10 B", size: 10, workers: 1, inFlight: 1 },
  { name: "service, 4 workers, 64 in flight, 10 B", size: 10, workers: 4, inFlight: 64 },
  { name: "service, sequential, 64 KiB", size: 65536, workers: 1, inFlight: 1 },
  { name: "service, 4 workers, 64 in flight, 64 KiB", size: 65536, workers: 4, inFlight: 64 },
];

const SLOTS = 1 << 14;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/**
 * Runs `ends` for `warmUpMs` unmeasured, then measures for `ms` between two samples of the
 * routing process, then drains and closes `ends`.
 *
 * @example
 * ```ts
 * const run = await closedLoop(await relayServiceEnds(port, 4), 10, 64, 500, 2000, () => broker.sample());
 * ```
 */
export async function closedLoop(
  ends: ServiceEnds, size: number, inFlight: number, warmUpMs: number, ms: number,
  sample: () => Promise<ChildSample>,
): Promise<ServiceRun> {
  const body = new Uint8Array(size);
  // Replies of pipelined requests come back out of order: the send time is kept per id.
  const sentAt = new Float64Array(SLOTS);
  let latencies = new Float64Array(1 << 16);
  let recorded = 0;
  let nextId = 0;
  let outstanding = 0;
  let replies = 0;
  let sending = true;
  let recording = false;
  let drained: (() => void) | undefined;
  const sendOne = (): void => {
    const id = nextId++;
    sentAt[id & (SLOTS - 1)] = nowMs();
    outstanding++;
    ends.send(id, body);
  };
  ends.onReply((id) => {
    outstanding--;
    replies++;
    if (recording) {
      if (recorded === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[recorded++] = (nowMs() - (sentAt[id & (SLOTS - 1)] as number)) * 1000;
    }
    if (sending) sendOne();
    else if (outstanding === 0) drained?.();
  });
  for (let i = 0; i < inFlight; i++) sendOne();
  await sleep(warmUpMs);
  const s0 = await sample();
  const replies0 = replies;
  const client0 = process.cpuUsage();
  const t0 = nowMs();
  recording = true;
  await sleep(ms);
  recording = false;
  const elapsedMs = nowMs() - t0;
  const client = process.cpuUsage(client0);
  const s1 = await sample();
  const routed = 2 * (replies - replies0);
  sending = false;
  if (outstanding > 0) await Promise.race([new Promise<void>((resolve) => (drained = resolve)), sleep(5000)]);
  await ends.close();
  const sorted = latencies.subarray(0, recorded).sort();
  const known = s0.fullGcs >= 0 && s1.fullGcs >= 0;
  return {
    rate: recorded / (elapsedMs / 1000),
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    cpuUsPerMsg: (s1.cpuUs - s0.cpuUs) / routed,
    fullGcs: known ? s1.fullGcs - s0.fullGcs : -1,
    scavenges: known ? s1.scavenges - s0.scavenges : -1,
    clientCpuPct: ((client.user + client.system) / 1000 / elapsedMs) * 100,
  };
}

/** One implementation under test: a name and how to set up its ends for a shape. */
export interface ServiceImpl {
  name: string;
  ends(shape: Shape): Promise<ServiceEnds>;
  /** Samples the process this implementation routes through, when not the shared one. */
  sample?: () => Promise<ChildSample>;
}

export interface ServiceOptions {
  rounds: number;
  /** How rows after the first compare with it: as a floor (default) or by rate ratio per round. */
  compare?: "floor" | "ratio";
  warmUpMs: number;
  ms: number;
  shapes: Shape[];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const f0 = (v: number): string => Number.isNaN(v) ? "-" : Math.round(v).toLocaleString("en-US");
const f2 = (v: number): string => v.toFixed(2);
/** `median (min–max)` of one figure over the rounds. */
export function spread(values: number[], fmt: (v: number) => string): string {
  return `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
}

/**
 * Runs every shape on every implementation for `rounds` rounds, alternating which goes first
 * in each round, and returns one row per shape and implementation: medians, with
 * `median (min–max)` spreads in the note. Rows of the implementations after the first also
 * give, per round, how the first compares with them (its share of the round trip over them).
 */
export async function serviceRounds(
  impls: ServiceImpl[], sample: () => Promise<ChildSample>, opts: ServiceOptions, bench: string,
): Promise<BenchRow[]> {
  const runs = new Map<string, ServiceRun[]>();
  const key = (shape: Shape, impl: ServiceImpl): string => `${shape.name}\u0000${impl.name}`;
  for (let round = 0; round < opts.rounds; round++) {
    for (const shape of opts.shapes) {
      const order = round % 2 === 0 ? impls : [...impls].reverse();
      for (const impl of order) {
        const ends = await impl.ends(shape);
        const run = await closedLoop(ends, shape.size, shape.inFlight, opts.warmUpMs, opts.ms, impl.sample ?? sample);
        process.stderr.write(
          `  round ${round + 1} ${shape.name} ${impl.name}: ${f0(run.rate)} rt/s, p99 ${f0(run.p99)} µs, ` +
            `${f2(run.cpuUsPerMsg)} µs CPU/msg, ` +
            `${run.fullGcs < 0 ? "GC n/a" : `full GCs ${run.fullGcs}, scavenges ${run.scavenges}`}, client CPU ${f0(run.clientCpuPct)}%\n`,
        );
        const list = runs.get(key(shape, impl)) ?? [];
        list.push(run);
        runs.set(key(shape, impl), list);
      }
    }
  }
  const rows: BenchRow[] = [];
  for (const shape of opts.shapes) {
    const first = runs.get(key(shape, impls[0] as ServiceImpl)) as ServiceRun[];
    for (const impl of impls) {
      const list = runs.get(key(shape, impl)) as ServiceRun[];
      const pick = (f: (r: ServiceRun) => number): number[] => list.map(f);
      const notes = [
        `rt/s ${spread(pick((r) => r.rate), f0)}`,
        `p50 ${spread(pick((r) => r.p50), f0)}`,
        `p99 ${spread(pick((r) => r.p99), f0)}`,
        `p999 ${spread(pick((r) => r.p999), f0)}`,
        `CPU/msg ${spread(pick((r) => r.cpuUsPerMsg), f2)} µs`,
        list[0]!.fullGcs < 0 ? "GC n/a" : `full GCs ${pick((r) => r.fullGcs).join("/")}, scavenges ${pick((r) => r.scavenges).join("/")}`,
        `client CPU ${spread(pick((r) => r.clientCpuPct), f0)}%`,
      ];
      if (impl !== impls[0] && opts.compare === "ratio") {
        // Per round (the two ran back to back): this one's round trips/s over the first's.
        const ratio = first.map((r, i) => list[i]!.rate / r.rate);
        notes.push(`rt/s vs ${impls[0]!.name} per round ${spread(ratio, (v) => `${v.toFixed(2)}×`)}`);
      } else if (impl !== impls[0]) {
        // Per round (the two ran back to back): the share of the first impl's round-trip time
        // that is not this floor's, and its CPU per message over this floor's.
        const share = first.map((r, i) => 1 - r.rate / list[i]!.rate);
        const cpu = first.map((r, i) => r.cpuUsPerMsg / list[i]!.cpuUsPerMsg);
        notes.push(`${impls[0]!.name} time above floor ${spread(share.map((s) => s * 100), f0)}%`);
        notes.push(`${impls[0]!.name} CPU/msg ${spread(cpu, (v) => `${v.toFixed(1)}×`)} floor`);
      }
      rows.push({
        bench, case: shape.name, impl: impl.name, opsPerSec: median(pick((r) => r.rate)),
        p50us: median(pick((r) => r.p50)), p99us: median(pick((r) => r.p99)), p999us: median(pick((r) => r.p999)),
        ...(shape.size > 1024 ? { mbPerSec: (median(pick((r) => r.rate)) * shape.size * 2) / 1e6 } : {}),
        note: notes.join("; "),
      });
    }
  }
  return rows;
}
