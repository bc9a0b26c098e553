/**
 * The durable broker against the in-memory one, in the same run (issue 15): each round starts a
 * fresh broker child per setup (in memory; file store with fsync interval; with fsync always)
 * and runs every case on it, setups alternating, so each sees the machine in the same state; the
 * table has the median of the rounds. Then, on a file store only: restart recovery of 1,000,000
 * stored 100-byte mailbox messages and replay of 1,000,000 journal entries to one consumer.
 *
 *   npx tsx bench/durable.ts [--quick] [--rounds=N]
 *   BENCH_BROKER_FLAGS="--cpu-prof" npx tsx bench/durable.ts   # profile the broker child (Node)
 *
 * Clients are raw DEALER+codec peers in this process; the broker is a child process of the same
 * runtime (an esbuild bundle on Node), so client and broker do not share a thread.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, release, tmpdir, type as osType } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HelloFlag } from "../src/broker/extensions.ts";
import { startBroker } from "../src/broker/server.ts";
import { ConfirmStatus, STREAM_SERVICE } from "../src/broker/status.ts";
import { createStore } from "../src/broker/durable/storage-options.ts";
import type { BrokerStorageOptions } from "../src/broker/durable/storage-options.ts";
import type { BrokerLimits } from "../src/broker/types.ts";
import { decode, encode, type MlmMessage } from "../src/proto/mod.ts";
import type { StorageOp } from "../src/storage/types.ts";
import type { DealerSocket } from "../src/transport/types.ts";
import { zmtp } from "../src/transport/zmtp.ts";
import { type BenchRow, nowMs, report, runtimeName } from "./lib.ts";

const BENCH = "durable";
const here = fileURLToPath(import.meta.url);
/** Room for a million stored messages (the defaults stop at 100,000 per mailbox and 1,000,000 in all). */
const LIMITS: Partial<BrokerLimits> = {
  maxConnections: 10_000, mailboxMessages: 2_000_000, mailboxBytes: 1 << 30, storedMessages: 2_000_000, storedBytes: 2 ** 31,
  peerSendMessages: 100_000,
};

type Setup = "memory" | "interval" | "always";
const SETUPS: Setup[] = ["memory", "interval", "always"];

function storageOf(setup: Setup, dir: string): BrokerStorageOptions | undefined {
  return setup === "memory" ? undefined : { dir, fsync: setup };
}

// ------------------------------------------------------------------ child: the broker

async function serve(storage: BrokerStorageOptions | undefined): Promise<void> {
  const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], limits: LIMITS, ...(storage ? { storage } : {}) });
  process.stdout.write(`${JSON.stringify({ endpoint: broker.endpoints[0] })}\n`);
  for await (const line of createInterface({ input: process.stdin })) if (line === "quit") break;
  await broker.close();
  process.exit(0);
}

/** Time startBroker on a data directory until it serves; exits without a close (nothing changed). */
async function recover(dir: string): Promise<void> {
  const t0 = nowMs();
  const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], limits: LIMITS, storage: { dir, fsync: "interval" } });
  const ms = nowMs() - t0;
  const stats = broker.stats();
  const recovery = stats.storage?.recovery;
  const rss = process.memoryUsage().rss;
  process.stdout.write(`${JSON.stringify({ ms, storeMs: recovery?.ms, records: recovery?.records, depth: stats.mailboxes[0]?.depth, rss })}\n`);
  process.exit(0);
}

let bundled: string | undefined | null = null;

/** On Node, an esbuild bundle of this file (starts in ~0.1 s instead of ~0.8 s through tsx). */
function bundle(): string | undefined {
  if (bundled !== null) return bundled;
  const dir = mkdtempSync(join(tmpdir(), "bench-durable-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, `${basename(here, ".ts")}.mjs`);
  const esbuild = fileURLToPath(new URL("../node_modules/.bin/esbuild", import.meta.url));
  const r = spawnSync(esbuild, [here, "--bundle", "--platform=node", "--format=esm", `--outfile=${out}`, "--log-level=error"]);
  bundled = r.status === 0 ? out : undefined;
  return bundled;
}

/** Spawn this file with `args` under this runtime; `BENCH_BROKER_FLAGS` go to a Node child. */
function spawnSelf(args: string[]): ChildProcess {
  const runtime = runtimeName();
  const flags = (process.env.BENCH_BROKER_FLAGS ?? "").split(" ").filter((f) => f !== "");
  const b = runtime === "node" ? bundle() : undefined;
  const argv = runtime === "deno" ? ["run", "-A", here, ...args]
    : runtime === "bun" ? [here, ...args]
    : b !== undefined ? [...flags, b, ...args] : [...flags, "--import", "tsx", here, ...args];
  return spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "inherit"] });
}

/** The first JSON line a child prints. */
function firstLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => resolve(JSON.parse(line) as T));
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before answering`)));
  });
}

class BrokerChild {
  private constructor(readonly child: ChildProcess, readonly endpoint: string) {}

  static async start(storage: BrokerStorageOptions | undefined): Promise<BrokerChild> {
    const child = spawnSelf(["--serve", JSON.stringify(storage ?? null)]);
    const { endpoint } = await firstLine<{ endpoint: string }>(child);
    return new BrokerChild(child, endpoint);
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.stdin!.write("quit\n");
    await exited;
  }
}

// ------------------------------------------------------------------ peers

/** A raw DEALER+codec MLM peer. */
class Peer {
  readonly dealer: DealerSocket;
  onMessage: (m: MlmMessage, frames: Uint8Array[]) => void = () => {};
  /** Skip decoding (counting deliveries only). */
  raw: ((frames: Uint8Array[]) => void) | undefined;
  readonly #waiting: ((m: MlmMessage) => void)[] = [];

  private constructor(endpoint: string) {
    this.dealer = zmtp.dealer({ sendHighWaterMark: 1_000_000 });
    this.dealer.on("message", (frames) => {
      if (this.raw) return this.raw(frames);
      const r = decode(frames);
      if (!r.ok) return;
      const waiter = (r.message.type === "OK" || r.message.type === "CONNECTION_PONG") ? this.#waiting.shift() : undefined;
      if (waiter) waiter(r.message);
      else this.onMessage(r.message, frames);
    });
    this.dealer.connect(endpoint);
  }

  static async open(endpoint: string, address: string, flags?: number, onMessage?: Peer["onMessage"]): Promise<Peer> {
    const peer = new Peer(endpoint);
    if (onMessage) peer.onMessage = onMessage;
    if (flags !== undefined) await peer.command({ type: "CONFIRM", tracker: "", code: flags, reason: "" });
    await peer.command({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address });
    return peer;
  }

  /** Send and wait for the OK (or PONG) that answers it. */
  command(m: MlmMessage): Promise<MlmMessage> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.send(m);
    });
  }

  send(m: MlmMessage): void {
    this.dealer.send(encode(m));
  }

  close(): Promise<void> {
    return this.dealer.close();
  }
}

/** A case that gets nothing back for this long has lost messages: it fails instead of hanging. */
const STALL_MS = 10_000;

/** Small bodies of 10 to 100 bytes, in a fixed pseudo-random order. */
const BODIES = Array.from({ length: 997 }, (_, i) => new Uint8Array(10 + ((i * 37) % 91)));

/**
 * Pipelined sending, at most `window` messages sent and not yet received; returns received/s.
 * `send(i)` sends message i; `onReceived` is wired to count arrivals.
 */
async function pipeline(total: number, window: number, send: (i: number) => void, wire: (onReceived: () => void) => void): Promise<number> {
  let sent = 0;
  let received = 0;
  let wake: (() => void) | undefined;
  wire(() => {
    received++;
    if (wake && (received === total || sent - received <= window >> 1)) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  const start = nowMs();
  while (received < total) {
    while (sent < total && sent - received < window) send(sent++);
    const before = received;
    const stalled = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(received === before), STALL_MS);
      wake = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
    if (stalled) throw new Error(`stalled: ${received} of ${total} received, ${sent} sent (window ${window})`);
  }
  return total / ((nowMs() - start) / 1000);
}

// ------------------------------------------------------------------ cases

async function streamOneToOne(endpoint: string, total: number): Promise<number> {
  const producer = await Peer.open(endpoint, "producer");
  const consumer = await Peer.open(endpoint, "consumer");
  await producer.command({ type: "STREAM_WRITE", stream: "bench" });
  await consumer.command({ type: "STREAM_READ", stream: "bench", pattern: ".*" });
  const send = (i: number): void => producer.send({ type: "STREAM_SEND", subject: "tick", content: [BODIES[i % BODIES.length] as Uint8Array] });
  const wire = (on: () => void): void => {
    consumer.raw = on;
  };
  await pipeline(total / 10, 500, send, wire);
  const rate = await pipeline(total, 500, send, wire);
  await producer.close();
  await consumer.close();
  return rate;
}

async function mailboxOneToOne(endpoint: string, total: number): Promise<number> {
  const sender = await Peer.open(endpoint, "mail-sender");
  const recipient = await Peer.open(endpoint, "mail-recipient");
  const send = (i: number): void => sender.send({
    type: "MAILBOX_SEND", address: "mail-recipient", subject: "m", tracker: "", timeout: 0, content: [BODIES[i % BODIES.length] as Uint8Array],
  });
  const wire = (on: () => void): void => {
    recipient.raw = on;
  };
  await pipeline(total / 10, 500, send, wire);
  const rate = await pipeline(total, 500, send, wire);
  await sender.close();
  await recipient.close();
  return rate;
}

/** Tracked MAILBOX-SENDs to an offline mailbox, `window` without their CONFIRM 202: 202s per second. */
async function acknowledged(endpoint: string, total: number, window: number, box = "ack-box"): Promise<number> {
  const sender = await Peer.open(endpoint, `${box}-sender`, HelloFlag.STORED_CONFIRMS);
  let failures = 0;
  const send = (i: number): void => sender.send({
    type: "MAILBOX_SEND", address: box, subject: "m", tracker: `t${i}`, timeout: 0, content: [BODIES[i % BODIES.length] as Uint8Array],
  });
  const wire = (on: () => void): void => {
    sender.onMessage = (m) => {
      if (m.type !== "CONFIRM") return;
      if (m.code !== ConfirmStatus.STORED) failures++;
      on();
    };
  };
  if (box === "ack-box") await pipeline(total / 10, window, send, wire);
  const rate = await pipeline(total, window, send, wire);
  await sender.close();
  if (failures > 0) throw new Error(`${failures} tracked sends were refused`);
  return rate;
}

/**
 * Tracked MAILBOX-SENDs to an offline mailbox (`window` without their 202), then its owner
 * connects and takes them all: messages per second over both, the whole store-and-forward path.
 */
async function storeAndDrain(endpoint: string, total: number, window: number): Promise<number> {
  const box = `drain-${++boxes}`;
  const start = nowMs();
  await acknowledged(endpoint, total, window, box);
  let received = 0;
  let drained!: () => void;
  const all = new Promise<void>((resolve) => (drained = resolve));
  // Set before OPEN: the mailbox comes right behind its OK.
  const recipient = await Peer.open(endpoint, box, undefined, () => {
    if (++received === total) drained();
  });
  const stall = setInterval(() => {
    if (received === last) {
      clearInterval(stall);
      failed(new Error(`drain stalled at ${received} of ${total}`));
    }
    last = received;
  }, STALL_MS);
  let last = -1;
  let failed!: (error: Error) => void;
  try {
    await Promise.race([all, new Promise<never>((_, reject) => (failed = reject))]);
  } finally {
    clearInterval(stall);
  }
  const rate = total / ((nowMs() - start) / 1000);
  await recipient.close();
  return rate;
}
let boxes = 0;

// ------------------------------------------------------------------ 1M-record cases (file store)

/** Writes `count` ops made by `op(i)` straight into a file store (fsync never), in batches. */
async function fill(dir: string, count: number, op: (i: number) => StorageOp): Promise<void> {
  const store = createStore({ dir, fsync: "never" }, 64 << 20)!;
  await store.open();
  const batch: StorageOp[] = [];
  for (let i = 1; i <= count; i++) {
    batch.push(op(i));
    if (batch.length === 10_000 || i === count) {
      store.apply(batch);
      store.flush();
      batch.length = 0;
    }
  }
  await store.close();
  if (store.failed) throw store.failed;
}

const HUNDRED = new Uint8Array(100).fill(0x61);

async function recoveryRound(dir: string): Promise<{ ms: number; storeMs: number; records: number; depth: number; rss: number }> {
  const child = spawnSelf(["--recover", dir]);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const result = await firstLine<{ ms: number; storeMs: number; records: number; depth: number; rss: number }>(child);
  await exited;
  return result;
}

/** One consumer READs `count` journal entries from first: entries per second from the READ to the last one. */
async function replayRound(dir: string, count: number): Promise<number> {
  const broker = await BrokerChild.start({ dir, fsync: "interval" });
  const consumer = await Peer.open(broker.endpoint, "");
  let received = 0;
  let last: Uint8Array[] | undefined;
  const done = new Promise<void>((resolve) => {
    consumer.raw = (frames) => {
      if (frames.length !== 3) return; // the READ answer (header and JSON); entries are header, sequence, body
      if (++received === count) {
        last = frames;
        resolve();
      }
    };
  });
  const start = nowMs();
  consumer.send({
    type: "SERVICE_SEND", address: STREAM_SERVICE, subject: "READ", tracker: "", timeout: 0,
    content: [new TextEncoder().encode(JSON.stringify({ stream: "replay", from: "first" }))],
  });
  await done;
  const rate = count / ((nowMs() - start) / 1000);
  const seqFrame = last?.[1] as Uint8Array;
  const seq = Number(new DataView(seqFrame.buffer, seqFrame.byteOffset, 8).getBigUint64(0));
  if (seq !== count) throw new Error(`replay ended at seq ${seq}, expected ${count}`);
  await consumer.close();
  await broker.stop();
  return rate;
}

// ------------------------------------------------------------------ main

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function runtimeVersion(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.version}`;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? (quick ? 1 : 3));
  const big = quick ? 100_000 : 1_000_000;
  const total = quick ? 20_000 : 100_000;
  const cases: [name: string, run: (endpoint: string) => Promise<number>, note: string][] = [
    ["stream 1→1, 10-100 B", (ep) => streamOneToOne(ep, total * 2), "msgs/s, window 500"],
    ["mailbox 1→1 (recipient online), 10-100 B", (ep) => mailboxOneToOne(ep, total * 2), "msgs/s, window 500"],
    ["tracked mailbox sends acknowledged (202), 10-100 B", (ep) => acknowledged(ep, total, 4096), "202s/s, 4,096 in flight, offline mailbox"],
    ["mailbox store and forward: tracked sends to an offline mailbox, then drained, 10-100 B", (ep) => storeAndDrain(ep, total, 4096), "msgs/s over both, 4,096 in flight"],
  ];
  const results = new Map<string, number[]>();
  const dirs: string[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate the order too, so neither setup always runs first.
      const order = round % 2 === 0 ? SETUPS : [...SETUPS].reverse();
      for (const setup of order) {
        const dir = mkdtempSync(join(tmpdir(), "bench-durable-data-"));
        dirs.push(dir);
        const broker = await BrokerChild.start(storageOf(setup, dir));
        try {
          for (const [name, run] of cases) {
            const key = `${name}|${setup}`;
            process.stderr.write(`  ${name} on ${setup}...\n`);
            results.set(key, [...(results.get(key) ?? []), await run(broker.endpoint)]);
          }
        } finally {
          await broker.stop();
          rmSync(dir, { recursive: true, force: true });
        }
        process.stderr.write(`round ${round + 1}/${rounds} ${setup} done\n`);
      }
    }
    const rows: BenchRow[] = [];
    for (const [name, , note] of cases) {
      const memory = median(results.get(`${name}|memory`) ?? []);
      for (const setup of SETUPS) {
        const values = results.get(`${name}|${setup}`) ?? [];
        const m = median(values);
        const vs = setup === "memory" ? "" : `, ${Math.round((m / memory) * 100)}% of in-memory`;
        rows.push({
          bench: BENCH, case: name, impl: setup === "memory" ? "in-memory broker" : `file store, fsync ${setup}`,
          opsPerSec: m, note: `${note}; median of ${values.length} (${values.map(fmt).join(", ")})${vs}`,
        });
      }
    }

    const recoveryDir = mkdtempSync(join(tmpdir(), "bench-durable-recovery-"));
    dirs.push(recoveryDir);
    let t0 = nowMs();
    await fill(recoveryDir, big, (id) => ({
      op: "put",
      record: { id, kind: "mailbox", sender: "bench", address: "offline", subject: "m", tracker: "", deadline: Infinity, content: [HUNDRED] },
    }));
    process.stderr.write(`filled ${big} mailbox records in ${fmt(nowMs() - t0)} ms\n`);
    const recoveries = [];
    for (let round = 0; round < rounds; round++) recoveries.push(await recoveryRound(recoveryDir));
    for (const r of recoveries) if (r.depth !== big) throw new Error(`recovered a mailbox of ${r.depth}, expected ${big}`);
    const recoveryMs = median(recoveries.map((r) => r.ms));
    rows.push({
      bench: BENCH, case: `restart recovery, ${fmt(big)} stored 100 B mailbox messages`, impl: "file store",
      opsPerSec: big / (recoveryMs / 1000),
      note: `${fmt(recoveryMs)} ms startBroker→ready (store open ${fmt(median(recoveries.map((r) => r.storeMs)))} ms); median of ${rounds} (${recoveries.map((r) => fmt(r.ms)).join(", ")} ms); broker RSS ${fmt(median(recoveries.map((r) => r.rss)) / 2 ** 20)} MiB`,
    });
    rmSync(recoveryDir, { recursive: true, force: true });

    const replayDir = mkdtempSync(join(tmpdir(), "bench-durable-replay-"));
    dirs.push(replayDir);
    t0 = nowMs();
    await fill(replayDir, big, (seq) => ({
      op: "journal", entry: { stream: "replay", seq, time: 0, sender: "bench", subject: "e", content: [HUNDRED] },
    }));
    process.stderr.write(`filled ${big} journal entries in ${fmt(nowMs() - t0)} ms\n`);
    const replays: number[] = [];
    for (let round = 0; round < rounds; round++) replays.push(await replayRound(replayDir, big));
    rows.push({
      bench: BENCH, case: `replay of ${fmt(big)} journal entries (100 B) from first, one consumer`, impl: "file store",
      opsPerSec: median(replays), note: `entries/s, READ to last entry; median of ${rounds} (${replays.map(fmt).join(", ")})`,
    });

    console.log(`machine: ${osType()} ${release()}, ${cpus()[0]?.model ?? "?"}, ${availableParallelism()} cores; date ${new Date().toISOString()}; runtime ${runtimeVersion()}`);
    console.log(`method: broker in a child process of the same runtime, raw DEALER+codec clients in the parent; ${rounds} round(s), setups alternating; medians`);
    report(rows);
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf("--serve");
const recovering = process.argv.indexOf("--recover");
if (at >= 0) await serve(JSON.parse(process.argv[at + 1] as string) ?? undefined);
else if (recovering >= 0) await recover(process.argv[recovering + 1] as string);
else await main();
