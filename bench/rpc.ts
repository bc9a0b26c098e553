/**
 * Typed RPC benchmark: sequential calls (calls/s, p50/p99 latency), 64 calls in flight over
 * 4 workers (calls/s), and 1 MiB binary payloads echoed (MB/s, payload bytes each way).
 * Every case runs through the typed layer (`connect` + `serve`: validation, msgpack,
 * envelope, deadlines, CONFIRM and credit), and by hand with MlmClient as the baseline.
 * The baseline does the same MLM exchange, message for message: SERVICE-SEND with a tracker
 * and timeout, the worker's MAILBOX-SEND reply, CONFIRM (which the broker forwards to the
 * caller) and CREDIT(1), with the same payload bytes (the msgpack of the input, made once),
 * but in one content frame, without the envelope header, validation, deadlines or cancels.
 * In the echo case the raw worker sends the received frame back untouched; the typed layer
 * sends the 1 MiB field as an out-of-band binary frame (over its 64 KiB binaryFrameThreshold),
 * so both put the same megabyte on the wire without copying it, the typed one plus a header
 * frame and a payload of a few bytes.
 * A third implementation, "raw + msgpackr", is the exchange by hand as an application would
 * write it: the raw one plus msgpackr's pack/unpack of input and output on both sides.
 * Each case alternates the implementations round by round (every other round in reverse order);
 * rows show the best round, and the notes compare best rounds and also give the median ratio of
 * rounds run back to back.
 * The broker runs in a child process of the same runtime (this file with `--broker`).
 *
 *   npx tsx bench/rpc.ts | npx bun bench/rpc.ts | npx deno run -A bench/rpc.ts
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { pack, unpack } from "msgpackr";
import Type from "typebox";
import { startBroker } from "../src/broker/server.ts";
import { MlmClient } from "../src/client/client.ts";
import type { Delivery } from "../src/client/types.ts";
import { Bytes } from "../src/rpc/bytes.ts";
import { encodeValue } from "../src/rpc/wire/codec.ts";
import { connect } from "../src/rpc/client/client.ts";
import { defineService } from "../src/rpc/contract.ts";
import { type RpcWorker, serve } from "../src/rpc/worker/worker.ts";
import { type BenchRow, nowMs, percentile, report, runtimeName } from "./lib.ts";

const BENCH = "rpc";
const MiB = 1024 * 1024;
// Each case runs ROUNDS times per implementation, alternating them round by round, and the best round counts:
// on a shared machine, background load only ever makes a round slower. Many short rounds rather
// than a few long ones: the median of paired rounds (see pairedRatio) steadies with their number.
const ROUNDS = 11;
const SEQ_MS = 600;
const CONC_MS = 600;
const MB_MS = 600;
const IN_FLIGHT = 64;
const WORKERS = 4;

const bench = defineService("bench", {
  infer: {
    input: Type.Object({ prompt: Type.String(), n: Type.Integer() }),
    output: Type.Object({ text: Type.String(), n: Type.Integer() }),
  },
  echo: { input: Type.Object({ data: Bytes() }), output: Type.Object({ data: Bytes() }) },
});

// ------------------------------------------------------------------ child: the broker

async function brokerMain(): Promise<void> {
  const broker = await startBroker({
    endpoints: ["tcp://127.0.0.1:0"],
    limits: { maxMessageSize: 8 * MiB, mailboxBytes: 512 * MiB, serviceQueueBytes: 512 * MiB },
  });
  process.stdout.write(`${JSON.stringify({ endpoint: broker.endpoints[0] })}\n`);
  for await (const line of createInterface({ input: process.stdin })) if (line === "quit") break;
  await broker.close();
  process.exit(0);
}

async function startBrokerProcess(): Promise<{ child: ChildProcess; endpoint: string }> {
  const file = fileURLToPath(import.meta.url);
  const runtime = runtimeName();
  const args = runtime === "deno" ? ["run", "-A", file, "--broker"]
    : runtime === "bun" ? [file, "--broker"]
    : [...process.execArgv, file, "--broker"];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error("broker process ended");
  return { child, endpoint: (JSON.parse(first.value) as { endpoint: string }).endpoint };
}

// ------------------------------------------------------------------ the two implementations

/** What a case needs: make a call, and stop everything. */
interface Harness {
  infer(n: number): Promise<unknown>;
  echo(data: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

function typed(endpoint: string, workers: number, concurrency: number): Promise<Harness> {
  return typedWith(endpoint, workers, concurrency, true);
}

/**
 * {@link typed} with `tracing: false`: the A/B of the trace-context check (with
 * @opentelemetry/api installed, as here, `typed` loads it and looks for an active span per call).
 */
function typedNoTracing(endpoint: string, workers: number, concurrency: number): Promise<Harness> {
  return typedWith(endpoint, workers, concurrency, false);
}

async function typedWith(endpoint: string, workers: number, concurrency: number, tracing: boolean): Promise<Harness> {
  const servers: RpcWorker[] = [];
  for (let i = 0; i < workers; i++) {
    servers.push(await serve(endpoint, bench, {
      infer: ({ prompt, n }) => Promise.resolve({ text: prompt, n }),
      echo: ({ data }) => Promise.resolve({ data }),
    }, { concurrency, maxPayload: 4 * MiB, tracing }));
  }
  const client = await connect(endpoint, { bench }, { maxPayload: 4 * MiB, tracing });
  return {
    infer: (n) => client.bench.infer({ prompt: "hello", n }),
    echo: (data) => client.bench.echo({ data }).then((out) => out.data),
    async close() {
      await client.close();
      for (const s of servers) await s.close();
    },
  };
}

/** The same exchange by hand: raw bytes, tracker = call id, worker CONFIRMs and re-credits. */
function raw(endpoint: string, workers: number, concurrency: number): Promise<Harness> {
  return byHand(endpoint, workers, concurrency, false);
}

/**
 * The exchange by hand as an application would write it: {@link raw}, plus msgpackr's
 * `pack`/`unpack` of the input and output on both sides (the worker builds its output object).
 */
function rawMsgpack(endpoint: string, workers: number, concurrency: number): Promise<Harness> {
  return byHand(endpoint, workers, concurrency, true);
}

async function byHand(endpoint: string, workers: number, concurrency: number, serialise: boolean): Promise<Harness> {
  const service = serialise ? "rawbench-msgpack" : "rawbench";
  const servers: MlmClient[] = [];
  for (let i = 0; i < workers; i++) {
    const w = await MlmClient.connect(endpoint, { credit: concurrency, manualCredit: true });
    w.onDelivery((d) => {
      let content = d.content;
      if (serialise) {
        const input = unpack(d.content[0] as Uint8Array) as { prompt?: string; n?: number; data?: Uint8Array };
        content = [pack(input.data !== undefined ? { data: input.data } : { text: input.prompt, n: input.n })];
      }
      w.sendTo(d.sender, d.subject, content, { tracker: d.tracker, timeout: 35_000 });
      w.confirm(d);
      w.addCredit(1);
    });
    await w.setWorker(service, ".*");
    servers.push(w);
  }
  const client = await MlmClient.connect(endpoint, { address: `raw-client-${Math.random().toString(36).slice(2)}` });
  const pending = new Map<string, (d: Delivery) => void>();
  client.onDelivery((d) => {
    const resolve = pending.get(d.tracker);
    pending.delete(d.tracker);
    resolve?.(d);
  });
  let next = 0;
  // The same input bytes the typed call carries (msgpack of { prompt, n }), encoded once: the
  // exchange moves the same data, and serialising it per call is what the typed layer adds.
  const input = encodeValue({ prompt: "hello", n: 1000 });
  const call = (subject: string, content: Uint8Array[]): Promise<Delivery> =>
    new Promise((resolve) => {
      const tracker = `c.${(++next).toString(36)}`;
      pending.set(tracker, resolve);
      client.sendFor(service, subject, content, { tracker, timeout: 30_000 });
    });
  if (serialise) {
    return {
      infer: (n) => call("infer", [pack({ prompt: "hello", n })]).then((d) => unpack(d.content[0] as Uint8Array)),
      echo: (data) => call("echo", [pack({ data })]).then((d) => (unpack(d.content[0] as Uint8Array) as { data: Uint8Array }).data),
      async close() {
        await client.close();
        for (const s of servers) await s.close();
      },
    };
  }
  return {
    infer: () => call("infer", [input]),
    echo: (data) => call("echo", [data]).then((d) => d.content[0] as Uint8Array),
    async close() {
      await client.close();
      for (const s of servers) await s.close();
    },
  };
}

// ------------------------------------------------------------------ cases

interface Measure {
  opsPerSec: number;
  /** CPU time of this process (caller and workers, not the broker) per call, µs. */
  cpuUs: number;
  p50us?: number;
  p99us?: number;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function sequential(h: Harness): Promise<Measure> {
  for (let i = 0; i < 300; i++) await h.infer(i);
  const latencies: number[] = [];
  const cpu0 = cpuNow();
  const start = nowMs();
  while (nowMs() - start < SEQ_MS) {
    const t0 = nowMs();
    await h.infer(latencies.length);
    latencies.push((nowMs() - t0) * 1000);
  }
  return {
    opsPerSec: (latencies.length * 1000) / (nowMs() - start),
    cpuUs: (cpuNow() - cpu0) / latencies.length,
    p50us: percentile(latencies, 50),
    p99us: percentile(latencies, 99),
  };
}

/** Keeps `inFlight` calls going for `ms`; returns completed calls per second. */
async function saturate(inFlight: number, ms: number, call: (i: number) => Promise<unknown>): Promise<Measure> {
  let done = 0;
  let started = 0;
  const end = nowMs() + ms;
  const cpu0 = cpuNow();
  const start = nowMs();
  const lane = async (): Promise<void> => {
    while (nowMs() < end) {
      await call(started++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { opsPerSec: (done * 1000) / (nowMs() - start), cpuUs: (cpuNow() - cpu0) / done };
}

type Case = "sequential calls" | "1 MiB echo" | "concurrent calls";
type Impl = "raw MlmClient" | "raw + msgpackr" | "typed rpc" | "typed rpc, tracing off";
const IMPLS: readonly (readonly [Impl, typeof raw])[] = [
  ["raw MlmClient", raw], ["raw + msgpackr", rawMsgpack], ["typed rpc", typed], ["typed rpc, tracing off", typedNoTracing],
];
const NOTES: Record<Case, string> = {
  "sequential calls": "1 worker, small input/output",
  "1 MiB echo": "1 worker, 4 in flight, MB/s one way",
  "concurrent calls": `${IN_FLIGHT} in flight, ${WORKERS} workers`,
};

/** Every round's calls per second, by "case|impl", in round order. */
type Rounds = Map<string, number[]>;

/** Measures one case for every implementation, alternating them round by round. */
async function measureCase(c: Case, harnesses: Map<Impl, Harness>, best: Map<string, Measure>, rounds: Rounds, payload: Uint8Array): Promise<void> {
  const run = (h: Harness): Promise<Measure> =>
    c === "sequential calls" ? sequential(h)
    : c === "1 MiB echo" ? saturate(4, MB_MS, () => h.echo(payload))
    : saturate(IN_FLIGHT, CONC_MS, (i) => h.infer(i));
  for (const h of harnesses.values()) {
    if (c === "1 MiB echo") await saturate(4, 200, () => h.echo(payload));
    else if (c === "concurrent calls") await saturate(IN_FLIGHT, 300, (i) => h.infer(i));
  }
  const order = [...harnesses];
  for (let r = 0; r < ROUNDS; r++) {
    // Every other round in reverse order, so that no implementation always runs first or last.
    for (const [name, h] of r % 2 === 0 ? order : [...order].reverse()) {
      const m = await run(h);
      const key = `${c}|${name}`;
      rounds.set(key, [...(rounds.get(key) ?? []), m.opsPerSec]);
      const old = best.get(key);
      if (old === undefined || m.opsPerSec > old.opsPerSec) best.set(key, m);
    }
  }
}

/** `--only=<text>`: run only the cases and implementations whose "case impl" contains it. */
const ONLY = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const selected = (c: Case, impl: Impl): boolean => ONLY === undefined || `${c} ${impl}`.includes(ONLY);

async function main(): Promise<void> {
  const { child, endpoint } = await startBrokerProcess();
  const best = new Map<string, Measure>();
  const rounds: Rounds = new Map();
  const payload = new Uint8Array(MiB).map((_, i) => i & 255);
  try {
    // Both implementations stay connected (on different services), so that rounds can alternate
    // between them closely: background load then hits both alike.
    for (const [workers, cases] of [[1, ["sequential calls", "1 MiB echo"]], [WORKERS, ["concurrent calls"]]] as const) {
      const wanted = IMPLS.filter(([name]) => cases.some((c) => selected(c, name)));
      if (wanted.length === 0) continue;
      const harnesses = new Map<Impl, Harness>();
      for (const [name, make] of wanted) harnesses.set(name, await make(endpoint, workers, workers === 1 ? 1 : IN_FLIGHT / WORKERS));
      for (const c of cases) if (wanted.some(([name]) => selected(c, name))) await measureCase(c, harnesses, best, rounds, payload);
      for (const h of harnesses.values()) await h.close();
    }
  } finally {
    child.stdin!.write("quit\n");
    await new Promise((resolve) => child.once("exit", resolve));
  }
  const rows: BenchRow[] = [];
  for (const c of Object.keys(NOTES) as Case[]) {
    const base = best.get(`${c}|raw MlmClient`);
    for (const [name] of IMPLS) {
      const m = best.get(`${c}|${name}`);
      if (m === undefined) continue;
      let note = `${NOTES[c]}; ${m.cpuUs.toFixed(1)} µs CPU/call`;
      if (name !== "raw MlmClient" && base !== undefined) {
        note += `; ${signed(base.opsPerSec / m.opsPerSec)} time, ${signed(m.cpuUs / base.cpuUs)} CPU vs raw`;
        note += ` (paired rounds: ${signed(pairedRatio(rounds, c, "raw MlmClient", name))})`;
      }
      const untraced = best.get(`${c}|typed rpc, tracing off`);
      if (name === "typed rpc" && untraced !== undefined) {
        note += `; ${signed(untraced.opsPerSec / m.opsPerSec)} time vs tracing off`;
        note += ` (paired rounds: ${signed(pairedRatio(rounds, c, "typed rpc, tracing off", name))})`;
      }
      const withMsgpack = best.get(`${c}|raw + msgpackr`);
      if (name === "typed rpc" && withMsgpack !== undefined) {
        note += `; ${signed(withMsgpack.opsPerSec / m.opsPerSec)} time vs raw + msgpackr`;
        note += ` (paired rounds: ${signed(pairedRatio(rounds, c, "raw + msgpackr", name))})`;
      }
      const row: BenchRow = { bench: BENCH, case: c, impl: name, opsPerSec: m.opsPerSec, note };
      if (c === "1 MiB echo") row.mbPerSec = (m.opsPerSec * MiB) / 1e6;
      if (m.p50us !== undefined) row.p50us = m.p50us;
      if (m.p99us !== undefined) row.p99us = m.p99us;
      rows.push(row);
    }
  }
  report(rows);
}

/**
 * The median over rounds of `base`'s rate divided by `impl`'s in the same round. The rounds of
 * the implementations run back to back, so each pair sees the machine in the same state:
 * steadier than comparing best rounds when the machine's speed drifts during a run.
 */
function pairedRatio(rounds: Rounds, c: Case, base: Impl, impl: Impl): number {
  const a = rounds.get(`${c}|${base}`) ?? [];
  const b = rounds.get(`${c}|${impl}`) ?? [];
  return percentile(a.map((rate, i) => rate / (b[i] ?? NaN)).filter(Number.isFinite), 50);
}

/** A ratio as a signed percentage change: 1.08 → "+8%", 0.97 → "-3%". */
function signed(ratio: number): string {
  const pct = Math.round((ratio - 1) * 100);
  return `${pct >= 0 ? "+" : ""}${pct}%`;
}

if (process.argv.includes("--broker")) await brokerMain();
else await main();
