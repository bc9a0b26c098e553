/**
 * HTTP endpoint overhead (issue 17): RPC throughput through a broker with HTTP off and on, in
 * the same run, alternating rounds. With HTTP on, /metrics is scraped every second and one
 * /api/events reader is connected (what a Prometheus server plus an open dashboard cost). The
 * broker runs in a child process of the same runtime (this file with `--serve [--http]`); the
 * worker and the client share this process.
 *
 *   npx tsx bench/http.ts | npx bun bench/http.ts | npx deno run -A bench/http.ts
 *   BENCH_ROUNDS=7 BENCH_MS=3000 BENCH_INFLIGHT=64 npx tsx bench/http.ts
 *
 * Prints per-round calls/s to stderr and medians with `min–max` spreads, and the drop of the
 * medians, as a table and a BENCH_JSON line.
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Type from "typebox";
import { startBroker } from "../src/http/start.ts";
import { connect } from "../src/rpc/client/client.ts";
import { defineService } from "../src/rpc/contract.ts";
import { serve } from "../src/rpc/worker/worker.ts";
import { percentile, report, runtimeName } from "./lib.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MS = Number(process.env.BENCH_MS ?? 3000);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 64);
const WARM_UP_MS = 500;

const echo = defineService("echo", {
  say: { input: Type.Object({ text: Type.String() }), output: Type.Object({ text: Type.String() }) },
});

async function child(http: boolean): Promise<void> {
  const broker = await startBroker({
    endpoints: ["tcp://127.0.0.1:0"], ...(http ? { http: { listen: "127.0.0.1:0" } } : {}),
  });
  process.stdout.write(`${JSON.stringify({ endpoint: broker.endpoints[0], http: broker.http ?? null })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "quit") break;
    const c = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuUs: c.user + c.system })}\n`);
  }
  await broker.close();
  process.exit(0);
}

interface Round {
  rate: number;
  /** Broker child CPU per call, µs (robust to other load on the machine, unlike the rate). */
  cpuPerCall: number;
}

/** One round: a fresh broker child, `INFLIGHT` calls kept in flight for `MS` ms. */
async function round(http: boolean): Promise<Round> {
  const file = fileURLToPath(import.meta.url);
  const runtime = runtimeName();
  const args = runtime === "deno" ? ["run", "-A", file, "--serve"] : runtime === "bun" ? [file, "--serve"]
    : [...process.execArgv, file, "--serve"];
  if (http) args.push("--http");
  const proc = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else lines.push(line);
  });
  const next = (): Promise<string> => lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise((resolve) => waiting.push(resolve));
  const cpu = async (): Promise<number> => {
    proc.stdin!.write("cpu\n");
    return (JSON.parse(await next()) as { cpuUs: number }).cpuUs;
  };
  const info = JSON.parse(await next()) as { endpoint: string; http: string | null };
  const worker = await serve(info.endpoint, echo, { say: async ({ text }) => ({ text }) }, { concurrency: INFLIGHT });
  const client = await connect(info.endpoint, { echo });
  const stop = new AbortController();
  const scrapes: Promise<void>[] = [];
  const load = process.env.BENCH_HTTP_LOAD ?? "metrics,sse";
  if (info.http) {
    const base = info.http;
    if (load.includes("metrics")) scrapes.push((async () => {
      while (!stop.signal.aborted) {
        await (await fetch(`${base}/metrics`)).text();
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })());
    if (load.includes("sse")) scrapes.push((async () => {
      const response = await fetch(`${base}/api/events`, { signal: stop.signal });
      try {
        for await (const _ of response.body as unknown as AsyncIterable<Uint8Array>) { /* read and discard */ }
      } catch { /* aborted */ }
    })());
  }
  let done = 0;
  let measuring = false;
  const end = performance.now() + WARM_UP_MS + MS;
  let start = 0;
  let cpuStart: Promise<number> = Promise.resolve(0);
  setTimeout(() => { measuring = true; start = performance.now(); done = 0; cpuStart = cpu(); }, WARM_UP_MS);
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      await client.echo.say({ text: "hello" });
      if (measuring) done++;
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, lane));
  const rate = done / ((performance.now() - start) / 1000);
  const cpuPerCall = (await cpu() - await cpuStart) / done;
  stop.abort();
  await Promise.allSettled(scrapes);
  await client.close();
  await worker.close();
  proc.stdin!.write("quit\n");
  await new Promise((resolve) => proc.once("exit", resolve));
  return { rate, cpuPerCall };
}

async function main(): Promise<void> {
  const off: Round[] = [];
  const on: Round[] = [];
  // The first rounds warm this process up (JIT of the client and worker paths): not counted.
  await round(false);
  await round(true);
  for (let i = 0; i < ROUNDS; i++) {
    // Alternating which goes first cancels drift within a pair.
    for (const http of i % 2 === 0 ? [false, true] : [true, false]) {
      const r = await round(http);
      (http ? on : off).push(r);
      process.stderr.write(`round ${i + 1} http=${http ? "on " : "off"}: ${r.rate.toFixed(0)} calls/s, broker ${r.cpuPerCall.toFixed(2)} µs CPU/call\n`);
    }
  }
  const median = (v: number[]) => percentile(v, 50);
  const spread = (v: number[], digits = 0) => `${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)}`;
  const rates = (v: Round[]) => v.map((r) => r.rate);
  const cpus = (v: Round[]) => v.map((r) => r.cpuPerCall);
  const drop = (1 - median(rates(on)) / median(rates(off))) * 100;
  const cpuRise = (median(cpus(on)) / median(cpus(off)) - 1) * 100;
  const row = (impl: string, v: Round[], extra = "") => ({
    bench: "http", case: `rpc echo, ${INFLIGHT} in flight`, impl, opsPerSec: median(rates(v)),
    note: `calls/s ${spread(rates(v))}; broker CPU/call ${median(cpus(v)).toFixed(2)} µs (${spread(cpus(v), 2)})${extra}`,
  });
  report([
    row("http off", off),
    row("http on (/metrics 1/s + SSE)", on, `; rate drop ${drop.toFixed(1)}%, CPU/call +${cpuRise.toFixed(1)}%`),
  ]);
}

if (process.argv.includes("--serve")) await child(process.argv.includes("--http"));
else await main();
