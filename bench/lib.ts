/**
 * Shared helpers for benchmarks. A bench file measures, then calls `report(rows)`, which
 * prints a readable table and one machine-readable `BENCH_JSON` line that `bench/run.ts`
 * collects across runtimes. Benchmarks never assert timings.
 */

export interface BenchRow {
  bench: string;
  case: string;
  impl: string;
  runtime?: string;
  opsPerSec?: number;
  mbPerSec?: number;
  p50us?: number;
  p99us?: number;
  p999us?: number;
  note?: string;
}

/** Which runtime runs this process. */
export function runtimeName(): "node" | "bun" | "deno" {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return "node";
}

/** Whether the native `zeromq` package can be used here (it crashes on Bun). */
export function zeromqAvailable(): boolean {
  return runtimeName() !== "bun";
}

/** Monotonic time in milliseconds with sub-ms precision. */
export function nowMs(): number {
  return performance.now();
}

/** The p-th percentile (0-100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Round trips per second and latency percentiles (µs) of {@link timeRoundTrips}. */
export interface RoundTrips {
  rate: number;
  p50: number;
  p99: number;
}

/**
 * Awaits `oneCall(i)` back to back: for `warmUpMs` unmeasured, then for `ms` timing each one.
 *
 * @example
 * ```ts
 * const { rate, p50, p99 } = await timeRoundTrips(() => ping(), 200, 2000);
 * ```
 */
export async function timeRoundTrips(oneCall: (i: number) => Promise<void>, warmUpMs: number, ms: number): Promise<RoundTrips> {
  let i = 0;
  for (const until = nowMs() + warmUpMs; nowMs() < until;) await oneCall(i++);
  const latencies: number[] = [];
  const start = nowMs();
  while (nowMs() - start < ms) {
    const t0 = nowMs();
    await oneCall(i++);
    latencies.push((nowMs() - t0) * 1000);
  }
  const rate = latencies.length / ((nowMs() - start) / 1000);
  return { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Run `fn` repeatedly for about `ms` milliseconds (after a warm-up) and return ops/s. */
export async function opsPerSecond(fn: () => void | Promise<void>, ms = 1000, batch = 100): Promise<number> {
  const warmUntil = nowMs() + Math.min(200, ms / 5);
  while (nowMs() < warmUntil) for (let i = 0; i < batch; i++) await fn();
  let ops = 0;
  const start = nowMs();
  const end = start + ms;
  while (nowMs() < end) {
    for (let i = 0; i < batch; i++) await fn();
    ops += batch;
  }
  return (ops * 1000) / (nowMs() - start);
}

function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return "";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Render rows as a Markdown table. */
export function formatTable(rows: BenchRow[]): string {
  const header = ["bench", "case", "impl", "runtime", "ops/s", "MB/s", "p50 µs", "p99 µs", "p999 µs", "note"];
  const lines = rows.map((r) => [
    r.bench, r.case, r.impl, r.runtime ?? "", formatNumber(r.opsPerSec), formatNumber(r.mbPerSec, 1),
    formatNumber(r.p50us), formatNumber(r.p99us), formatNumber(r.p999us), r.note ?? "",
  ]);
  const out = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const l of lines) out.push(`| ${l.join(" | ")} |`);
  return out.join("\n");
}

/** Print rows as a table plus a `BENCH_JSON` line for the harness. */
export function report(rows: BenchRow[]): void {
  const runtime = runtimeName();
  const filled = rows.map((r) => ({ ...r, runtime: r.runtime ?? runtime }));
  console.log(formatTable(filled));
  console.log(`BENCH_JSON ${JSON.stringify(filled)}`);
}
