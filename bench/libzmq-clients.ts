/**
 * Our broker and, when you have one, the C broker, loaded by the same clients in one run: raw
 * libzmq DEALERs driven from one thread with zmq_poll (`bench/native/mlm-harness.c`, built here
 * with the system's C compiler and libzmq), so no TypeScript runs on the client side and the
 * ratio to C holds within the run.
 *
 *   npx tsx bench/libzmq-clients.ts                               # our broker alone
 *   MALAMUTE_C_BROKER=/path/to/malamute npx tsx bench/libzmq-clients.ts
 *   BENCH_ROUNDS=5 BENCH_MS=3000 BENCH_CASES="seq|pipe" npx tsx bench/libzmq-clients.ts
 *   BENCH_OTHER_CHECKOUT=/path/to/another/checkout npx tsx bench/libzmq-clients.ts   # A/B of two builds
 *
 * Needs `cc` and libzmq's headers (Debian: `apt-get install libzmq3-dev`). `MALAMUTE_C_BROKER`
 * is the C broker's `malamute` binary (zeromq/malamute, built from its sources); it is started
 * with a config file written here (NULL security, no background, `mlm_server/bind/endpoint`).
 * Each round starts a fresh broker of each kind and runs every case against both, the order
 * alternating round by round; rows give medians and `median (min–max)` spreads over the rounds,
 * and our rows the per-round ratio to C. Our broker runs on the runtime that runs this file
 * (`node --import tsx`, `bun`, `deno run -A`, as `npm run broker` does on Node).
 * Broker CPU per message comes from /proc, so Linux only.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type BenchRow, report, runtimeName } from "./lib.ts";
import { median, spread } from "./lib-service.ts";

const BENCH = "libzmq clients";
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

/** The harness's cases, with the names the tables use and what their rate counts. */
const CASES: { id: string; name: string; unit: string }[] = [
  { id: "seq10", name: "service, sequential, 10 B", unit: "rt/s" },
  { id: "pipe10", name: "service, 4 workers, 64 in flight, 10 B", unit: "rt/s" },
  { id: "seq64k", name: "service, sequential, 64 KiB", unit: "rt/s" },
  { id: "pipe64k", name: "service, 4 workers, 64 in flight, 64 KiB", unit: "rt/s" },
  { id: "stream", name: "stream 1→1, 10 B", unit: "msgs/s" },
  { id: "fan10", name: "stream fan-out to 10 readers, 10 B", unit: "deliveries/s" },
  { id: "mailbox", name: "mailbox 1→1, 10 B", unit: "msgs/s" },
];

/** One harness line: `case=seq10 rate=5037 client_cpu_pct=46 broker_us_per_msg=49.6 p50=173 …`. */
type Result = Record<string, number>;

function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function buildHarness(dir: string): string {
  const out = join(dir, "mlm-harness");
  try {
    execFileSync("cc", ["-O2", "-o", out, join(here, "native", "mlm-harness.c"), "-lzmq"], { stdio: "pipe" });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e);
    throw new Error(`cannot build bench/native/mlm-harness.c (needs cc and libzmq headers, Debian: libzmq3-dev): ${stderr}`);
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode} before listening`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port} after 15 s`);
}

interface Broker {
  name: string;
  start(port: number, dir: string): ChildProcess;
}

/** Our broker from checkout `dir` on this runtime, as `npm run broker` starts it on Node. */
function oursFrom(dir: string, name: string): Broker {
  return {
    name,
    start(port) {
      const cli = join(dir, "src", "cli", "bin.ts");
      const args = ["broker", "-b", `tcp://127.0.0.1:${port}`, "--log-level", "warn"];
      const runtime = runtimeName();
      const argv = runtime === "deno" ? ["run", "-A", cli, ...args]
        : runtime === "bun" ? [cli, ...args]
        : ["--import", "tsx", cli, ...args];
      return spawn(process.execPath, argv, { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
    },
  };
}

const ours = oursFrom(root, `ours (${runtimeName()})`);

/** The C broker binary named by MALAMUTE_C_BROKER, with a config for one loopback endpoint. */
function cBroker(binary: string): Broker {
  return {
    name: "C malamute",
    start(port, dir) {
      const config = join(dir, `malamute-${port}.cfg`);
      writeFileSync(config, [
        "server", "    timeout = 60000", "    background = 0", "    verbose = 0",
        "mlm_server", "    security", "        mechanism = null",
        "    bind", `        endpoint = tcp://127.0.0.1:${port}`, "",
      ].join("\n"));
      return spawn(binary, ["-f", config], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ZSYS_LOGSYSTEM: "0" } });
    },
  };
}

function runHarness(harness: string, port: number, id: string, ms: number, pid: number): Result {
  const out = execFileSync(harness, [`tcp://127.0.0.1:${port}`, id, String(ms), String(pid)], {
    encoding: "utf8", timeout: ms + 30_000,
  });
  const result: Result = {};
  for (const pair of out.trim().split(/\s+/)) {
    const [key, value] = pair.split("=");
    if (key !== undefined && key !== "case" && value !== undefined) result[key] = Number(value);
  }
  if (!(result.rate! > 0)) throw new Error(`harness printed no rate for ${id}: ${out}`);
  return result;
}

/** Sends `signal` to `pid`; false when it is gone. */
function signal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM, then SIGKILL after 5 s. Whether the child is gone is asked of the system (signal 0):
 * Deno's node:child_process leaves `exitCode` null even after the exit.
 */
async function stop(child: ChildProcess): Promise<void> {
  const pid = child.pid as number;
  if (!signal(pid, "SIGTERM")) return;
  for (let waited = 0; waited < 6000; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    if (child.exitCode !== null || child.signalCode !== null || !signal(pid, 0 as unknown as NodeJS.Signals)) return;
    if (waited === 5000) signal(pid, "SIGKILL");
  }
}

async function main(): Promise<void> {
  const rounds = envNumber("BENCH_ROUNDS", 3);
  const ms = envNumber("BENCH_MS", 2000);
  const only = new RegExp(process.env.BENCH_CASES ?? ".");
  const cases = CASES.filter((c) => only.test(c.id) || only.test(c.name));
  const dir = mkdtempSync(join(tmpdir(), "mlm-bench-"));
  try {
    const harness = buildHarness(dir);
    const c = process.env.MALAMUTE_C_BROKER;
    const other = process.env.BENCH_OTHER_CHECKOUT;
    const brokers = [ours, ...other ? [oursFrom(other, `other checkout (${other})`)] : [], ...c ? [cBroker(c)] : []];
    const results = new Map<string, Result[]>();
    const key = (caseId: string, broker: Broker): string => `${caseId} ${broker.name}`;
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? brokers : [...brokers].reverse();
      const running = [];
      for (const broker of order) {
        const port = await freePort();
        const child = broker.start(port, dir);
        await waitForPort(port, child);
        running.push({ broker, port, child });
      }
      try {
        for (const cs of cases) {
          for (const { broker, port, child } of running) {
            const r = runHarness(harness, port, cs.id, ms, child.pid as number);
            process.stderr.write(`  round ${round + 1} ${cs.name}, ${broker.name}: ${Math.round(r.rate!)} ${cs.unit}` +
              (r.p99 !== undefined ? `, p50 ${r.p50} p99 ${r.p99} µs` : "") +
              `, broker ${r.broker_us_per_msg?.toFixed(2)} µs CPU/msg, clients ${r.client_cpu_pct}% CPU\n`);
            results.set(key(cs.id, broker), [...results.get(key(cs.id, broker)) ?? [], r]);
          }
        }
      } finally {
        for (const { child } of running) await stop(child);
      }
    }
    report(rows(cases, brokers, results, key));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rows(
  cases: typeof CASES, brokers: Broker[], results: Map<string, Result[]>, key: (id: string, b: Broker) => string,
): BenchRow[] {
  const out: BenchRow[] = [];
  const f0 = (v: number): string => Math.round(v).toLocaleString("en-US");
  for (const cs of cases) {
    const cb = brokers.find((b) => b.name === "C malamute");
    const c = cb ? results.get(key(cs.id, cb))! : undefined;
    for (const broker of brokers) {
      const list = results.get(key(cs.id, broker))!;
      const pick = (name: string): number[] => list.map((r) => r[name]).filter((v): v is number => v !== undefined);
      const latency = pick("p50").length > 0;
      const notes = [
        `${cs.unit} ${spread(pick("rate"), f0)}`,
        ...(latency ? [`p99 ${spread(pick("p99"), f0)} µs`] : []),
        `broker CPU/msg ${spread(pick("broker_us_per_msg"), (v) => v.toFixed(2))} µs`,
        `clients ${spread(pick("client_cpu_pct"), f0)}% CPU`,
      ];
      if (broker !== cb && c !== undefined) {
        notes.push(`÷ C per round ${spread(list.map((r, i) => r.rate! / c[i]!.rate!), (v) => `${v.toFixed(2)}×`)}`);
        if (latency) notes.push(`p50 ÷ C ${spread(list.map((r, i) => r.p50! / c[i]!.p50!), (v) => `${v.toFixed(2)}×`)}`);
      }
      out.push({
        bench: BENCH, case: cs.name, impl: broker.name, opsPerSec: median(pick("rate")),
        ...(latency ? { p50us: median(pick("p50")), p99us: median(pick("p99")), p999us: median(pick("p999")) } : {}),
        note: notes.join("; "),
      });
    }
  }
  return out;
}

await main();
