/**
 * Runs one soak attack against a fresh broker child while the healthy client measures round
 * trips, and judges survival from outside: the process still runs and a new connection gets
 * OPEN → OK and PING → PONG.
 */
import process from "node:process";
import { SoakBroker, type SoakBrokerOptions } from "./lib-soak-broker.ts";
import { HealthyClient, type Latency, latencyOf } from "./lib-soak-healthy.ts";
import { pingBroker } from "./lib-soak-raw.ts";

/** What an attack gets: the broker (replaceable, for a restart) and the healthy client. */
export interface AttackContext {
  broker: SoakBroker;
  /** Absent when an attack runs without one (the smoke test). */
  healthy: HealthyClient | undefined;
}

/** What an attack reports. */
export interface AttackResult {
  notes: string[];
  /** Epoch ms at which the broker came back (SIGCONT, restart): recovery is measured from it. */
  resumedAt?: number;
  /** Runs after the survival check (close the attack's connections and clients). */
  cleanup?: () => Promise<void>;
}

/** One attack: a name, how its broker starts, and the attack itself. */
export interface Attack {
  name: string;
  broker?: SoakBrokerOptions;
  run(ctx: AttackContext): Promise<AttackResult>;
}

/** One row of the soak. */
export interface SoakResult {
  name: string;
  baselineMB: number;
  peakMB: number;
  latency: Latency | undefined;
  survived: boolean;
  notes: string[];
  recoveryMs?: number;
}

const MB = 1024 * 1024;
const mb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

/** A number from the environment, or `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, got "${raw}"`);
  return value;
}

/** Resolve after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Run `fn(i)` for i in [0, count) with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/**
 * Start a broker, start the healthy client, run `attack`, measure, check survival, clean up.
 * Never throws for what the broker does: a crash is a result.
 *
 * @example
 * ```ts
 * const result = await runAttack(emptyFrameFlood({ seconds: 3, maxBytes: 64 << 20 }));
 * console.log(result.survived, result.peakMB, result.latency?.p99);
 * ```
 */
export async function runAttack(attack: Attack, options: { healthyInterval?: number } = {}): Promise<SoakResult> {
  let broker: SoakBroker;
  try {
    broker = await SoakBroker.start(attack.broker);
  } catch (error) {
    return { name: attack.name, baselineMB: 0, peakMB: 0, latency: undefined, survived: false, notes: [`broker did not start: ${(error as Error).message}`] };
  }
  const ctx: AttackContext = { broker, healthy: undefined };
  const notes: string[] = [];
  let result: AttackResult = { notes: [] };
  let latency: Latency | undefined;
  try {
    ctx.healthy = await HealthyClient.start(ctx.broker.endpoint, options.healthyInterval ?? 5);
    await sleep(300);
    await ctx.healthy.dump();
    ctx.broker.markBaseline();
    const baseline = ctx.broker.baselineRss;
    try {
      result = await attack.run(ctx);
    } catch (error) {
      notes.push(`attack failed: ${(error as Error).message}`);
    }
    const recoveryMs = result.resumedAt === undefined ? undefined : await ctx.healthy.recovery(result.resumedAt, 10_000);
    await sleep(200);
    const dump = await ctx.healthy.dump();
    latency = latencyOf(dump);
    const survived = ctx.broker.alive && (await pingBroker(ctx.broker.endpoint, 5000)) !== undefined;
    ctx.broker.sample();
    const row: SoakResult = {
      name: attack.name,
      baselineMB: mb(baseline),
      peakMB: mb(ctx.broker.peakRss),
      latency,
      survived,
      notes: [...result.notes, ...notes],
      ...(recoveryMs !== undefined ? { recoveryMs: Math.round(recoveryMs) } : {}),
    };
    if (result.resumedAt !== undefined && recoveryMs === undefined) row.notes.push("healthy client not back within 10 s");
    if (latency.lost > 0) row.notes.push(`${latency.lost} healthy round trips lost`);
    const reconnects = dump.events.filter(([e]) => e === "connected").length;
    if (reconnects > 0) row.notes.push(`healthy client re-opened ${reconnects}×`);
    if (!ctx.broker.alive || ctx.broker.cappedAt !== undefined) row.notes.push(died(ctx.broker));
    else if (!survived) row.notes.push("broker process runs but does not answer PING");
    // One line ("listening") is the broker's own start; more is what the attack made it log.
    if (ctx.broker.logLines > 1) row.notes.push(`broker log lines: ${ctx.broker.logLines}`);
    return row;
  } catch (error) {
    return {
      name: attack.name, baselineMB: mb(ctx.broker.baselineRss), peakMB: mb(ctx.broker.peakRss), latency,
      survived: false, notes: [...result.notes, `soak error: ${(error as Error).message}`],
    };
  } finally {
    await result.cleanup?.().catch(() => {});
    await ctx.healthy?.stop();
    await ctx.broker.stop();
  }
}

/** Why the broker is gone, with its last words. */
function died(broker: SoakBroker): string {
  if (broker.cappedAt !== undefined) return `KILLED by the soak at its RSS cap (${mb(broker.cappedAt)} MB)`;
  const last = broker.tail.filter((l) => /heap|fatal|error|abort|memory/i.test(l)).slice(-2).join(" / ");
  return `CRASHED (${broker.exitInfo})${last ? `: ${last}` : ""}`;
}
