/**
 * Broker benchmark: stream 1→1, stream fan-out to 100 readers, mailbox throughput, service
 * round trips (request → worker → reply to mailbox) at 10 B and 64 KiB, the memory of
 * 1,000 idle connections, and the broker heap an idle RPC client holds after 10,000 calls. The broker runs in a child process of the same runtime (this file
 * with `--serve`), so broker and clients each get a core, as with the C broker. Every
 * exchange runs through MlmClient, and with raw transport DEALERs + the codec as the
 * baseline (the difference is client overhead). Service round trips also run with MlmClient
 * in C mode (no CREDIT, so workers send no CONFIRM: what C clients do, hence what the C
 * figures measure) and through a plain node:net relay (the floor of the runtime's sockets).
 *
 *   npx tsx bench/broker.ts | npx bun bench/broker.ts | npx deno run -A bench/broker.ts
 *
 * Issue 16's service shapes alone, for A/B work (about 1 min on Node with the defaults):
 *
 *   BENCH_ONLY=service npx tsx bench/broker.ts
 *   BENCH_ONLY=service BENCH_ROUNDS=5 BENCH_MS=3000 npx tsx bench/broker.ts
 *   BENCH_ONLY=service BENCH_SHAPES="sequential, 64 KiB|in flight, 10 B" BENCH_IMPLS=raw npx tsx bench/broker.ts
 *
 * The socket APIs under the broker (issue 16), one broker child per API, clients on node:net,
 * the service shapes and stream 1→1 in alternating rounds (BENCH_ROUNDS, default 5):
 *
 *   BENCH_SOCKETS=node,native npx bun bench/broker.ts
 *   BENCH_SOCKETS=node,native npx deno run -A bench/broker.ts
 *
 * These run raw DEALERs + codec (C-style workers: OFFER, no CREDIT, reply with MAILBOX_SEND to
 * the requester) against the node:net relay floor, alternating, for BENCH_ROUNDS rounds
 * (default 3 with BENCH_ONLY=service, 1 in the full run) of BENCH_MS ms (default 2000) after
 * 500 ms of warm-up. Each row gives medians
 * and `median (min–max)` spreads, the broker child's CPU per routed message (process.cpuUsage
 * of the child over the window / 2 per round trip), its full GCs and scavenges in the window
 * (Node runs the child with --trace-gc; "n/a" on Bun and Deno), the client's CPU (near 100%
 * means the figure is client-bound), and on the floor row the broker's share of the round trip
 * above the floor and its CPU per message over the relay's. Progress per round goes to stderr.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startBroker } from "../src/broker/server.ts";
import { MlmClient } from "../src/client/client.ts";
import type { Delivery } from "../src/client/types.ts";
import { decode, encode } from "../src/proto/mod.ts";
import { connect as rpcConnect } from "../src/rpc/client/client.ts";
import { defineService } from "../src/rpc/contract.ts";
import { serve as rpcServe } from "../src/rpc/worker/worker.ts";
import Type from "typebox";
import type { DealerSocket } from "../src/transport/types.ts";
import { zmtp } from "../src/transport/zmtp.ts";
import { type BenchRow, nowMs, report, type RoundTrips, runtimeName, timeRoundTrips } from "./lib.ts";
import { relayRoundTrips, relayServiceEnds, startRelay } from "./lib-relay-floor.ts";
import { type ChildSample, median, SHAPES, type ServiceEnds, serviceRounds, type Shape, spread } from "./lib-service.ts";

const BENCH = "broker";
/** Round trips before measuring, in ms. */
const WARM_UP_MS = 500;
type SocketApiName = "node" | "native" | "auto";
/** The broker child's `socketApi` (BENCH_SOCKETS runs one broker per API). */
const SOCKET_API = process.env.BENCH_SOCKET_API as SocketApiName | undefined;
/** The bench clients' `socketApi`: fixed to node:net while brokers are compared. */
let clientSocketApi: SocketApiName | undefined;
const g = globalThis as { Bun?: { gc(force: boolean): void }; Deno?: unknown; gc?: () => void };

// ------------------------------------------------------------------ child: the broker

async function serve(): Promise<void> {
  const broker = await startBroker({
    endpoints: ["tcp://127.0.0.1:0"],
    limits: { maxConnections: 100_000, mailboxMessages: 1_000_000, serviceQueueMessages: 1_000_000 },
    recycleBuffers: process.env.BENCH_RECYCLE !== "0",
    ...(SOCKET_API ? { socketApi: SOCKET_API } : {}),
  });
  const gc = (): void => {
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
  };
  const relay = await startRelay();
  process.stdout.write(`${JSON.stringify({ endpoint: broker.endpoints[0], relayPort: relay.port })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "mem") {
      gc();
      gc();
      const m = process.memoryUsage();
      process.stdout.write(`${JSON.stringify({ rss: m.rss, heap: m.heapUsed, clients: broker.stats().clients })}\n`);
    } else if (line === "cpu") {
      const c = process.cpuUsage();
      process.stdout.write(`${JSON.stringify({ cpuUs: c.user + c.system })}\n`);
    } else if (line === "quit") break;
  }
  await broker.close();
  relay.server.close();
  process.exit(0);
}

/** Extra Node flags for the broker child only, e.g. `BENCH_BROKER_FLAGS="--trace-gc --cpu-prof"`. */
function brokerFlags(): string[] {
  return (process.env.BENCH_BROKER_FLAGS ?? "").split(" ").filter((f) => f !== "");
}

class BrokerProcess {
  readonly #child: ChildProcess;
  /** Replies (JSON lines) not yet consumed, and readers waiting for one. */
  readonly #replies: string[] = [];
  readonly #waiting: ((line: string | undefined) => void)[] = [];
  /**
   * GCs the child reported with --trace-gc so far; -1 off Node: Bun has no such flag, and
   * Deno's V8 buffers its trace output until exit, so no count would cover the window.
   */
  #fullGcs = runtimeName() === "node" ? 0 : -1;
  #scavenges = runtimeName() === "node" ? 0 : -1;

  private constructor(child: ChildProcess) {
    this.#child = child;
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (text) => {
      // Diagnostics (--trace-gc, BENCH_BROKER_FLAGS) share stdout with the replies. A runtime
      // that buffers them (Deno's V8) can put a reply in the middle of one: split it off.
      const at = text.indexOf('{"');
      const diagnostic = at < 0 ? text : text.slice(0, at);
      if (diagnostic !== "" && !this.#countGc(diagnostic)) process.stderr.write(`[broker] ${diagnostic}\n`);
      if (at < 0) return;
      const line = text.slice(at);
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#replies.push(line);
    });
    lines.on("close", () => {
      for (const w of this.#waiting.splice(0)) w(undefined);
    });
  }

  static async start(socketApi?: string): Promise<{ broker: BrokerProcess; endpoint: string; relayPort: number }> {
    const file = fileURLToPath(import.meta.url);
    const runtime = runtimeName();
    // --trace-gc lines are counted (see #countGc), so the service cases can report GCs.
    const args = runtime === "deno" ? ["run", "-A", "--v8-flags=--expose-gc", file, "--serve"]
      : runtime === "bun" ? [file, "--serve"]
      : [...process.execArgv, "--expose-gc", "--trace-gc", ...brokerFlags(), file, "--serve"];
    const env = socketApi ? { ...process.env, BENCH_SOCKET_API: socketApi } : process.env;
    const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"], env });
    const broker = new BrokerProcess(child);
    const { endpoint, relayPort } = JSON.parse(await broker.#line()) as { endpoint: string; relayPort: number };
    return { broker, endpoint, relayPort };
  }

  async #line(): Promise<string> {
    const queued = this.#replies.shift();
    if (queued !== undefined) return queued;
    const line = await new Promise<string | undefined>((resolve) => this.#waiting.push(resolve));
    if (line === undefined) throw new Error("broker process ended");
    return line;
  }

  /** A --trace-gc line (or, on Deno, a piece of one): counted, and echoed with BENCH_GC_ECHO=1. */
  #countGc(line: string): boolean {
    if (this.#fullGcs < 0 || !(line.includes(" ms: ") || line.includes(" MB") || line.includes("mu = "))) return false;
    if (process.env.BENCH_GC_ECHO === "1") process.stderr.write(`[broker gc] ${line}\n`);
    if (line.includes("Scavenge")) this.#scavenges++;
    else if (line.includes("Mark-Compact") && !line.includes("Minor")) this.#fullGcs++;
    return true;
  }

  /**
   * The child's CPU time so far and the GCs it reported: trace lines come on the same stdout
   * before the reply, so the counts are complete up to the moment the child answered.
   */
  async sample(): Promise<ChildSample> {
    this.#child.stdin!.write("cpu\n");
    const { cpuUs } = JSON.parse(await this.#line()) as { cpuUs: number };
    return { cpuUs, fullGcs: this.#fullGcs, scavenges: this.#scavenges };
  }

  async memory(): Promise<{ rss: number; heap: number; clients: number }> {
    this.#child.stdin!.write("mem\n");
    return JSON.parse(await this.#line()) as { rss: number; heap: number; clients: number };
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    this.#child.stdin!.write("quit\n");
    await exited;
  }
}

// ------------------------------------------------------------------ peers

interface Incoming {
  sender: string;
  subject: string;
  tracker: string;
  content: Uint8Array[];
}

/** What the cases need from a client; implemented by MlmClient and by a raw DEALER. */
interface Peer {
  producer(stream: string): Promise<void>;
  consumer(stream: string, pattern: string): Promise<void>;
  worker(service: string, pattern: string): Promise<void>;
  publish(subject: string, content: Uint8Array): void;
  sendTo(address: string, subject: string, content: Uint8Array, tracker?: string): void;
  sendFor(service: string, subject: string, content: Uint8Array, tracker?: string): void;
  onDelivery(handler: (d: Incoming) => void): void;
  /** Tell the broker a tracked delivery is done (only credit-aware clients need to). */
  confirm(d: Incoming): void;
  close(): Promise<void>;
}

type Factory = (endpoint: string, address: string) => Promise<Peer>;

/** Baseline: a transport DEALER and the codec, nothing else (no credit, no heartbeats). */
class RawPeer implements Peer {
  readonly #dealer: DealerSocket;
  readonly #waiting: ((ok: boolean) => void)[] = [];
  #handler: ((d: Incoming) => void) | undefined;

  private constructor(dealer: DealerSocket) {
    this.#dealer = dealer;
    dealer.on("message", (frames) => {
      const r = decode(frames);
      if (!r.ok) return;
      const m = r.message;
      switch (m.type) {
        case "OK":
        case "ERROR":
          this.#waiting.shift()?.(m.type === "OK");
          break;
        case "STREAM_DELIVER":
          this.#handler?.({ sender: m.sender, subject: m.subject, tracker: "", content: m.content });
          break;
        case "MAILBOX_DELIVER":
        case "SERVICE_DELIVER":
          this.#handler?.({ sender: m.sender, subject: m.subject, tracker: m.tracker, content: m.content });
          break;
        default:
      }
    });
  }

  static async connect(endpoint: string, address: string): Promise<RawPeer> {
    const dealer = zmtp.dealer({ sendHighWaterMark: 100_000, ...(clientSocketApi ? { socketApi: clientSocketApi } : {}) });
    dealer.connect(endpoint);
    const peer = new RawPeer(dealer);
    await peer.#command(encode({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address }));
    return peer;
  }

  #command(frames: Uint8Array[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push((ok) => (ok ? resolve() : reject(new Error("broker said ERROR"))));
      this.#dealer.send(frames);
    });
  }

  producer(stream: string): Promise<void> {
    return this.#command(encode({ type: "STREAM_WRITE", stream }));
  }
  consumer(stream: string, pattern: string): Promise<void> {
    return this.#command(encode({ type: "STREAM_READ", stream, pattern }));
  }
  worker(service: string, pattern: string): Promise<void> {
    return this.#command(encode({ type: "SERVICE_OFFER", address: service, pattern }));
  }
  publish(subject: string, content: Uint8Array): void {
    this.#dealer.send(encode({ type: "STREAM_SEND", subject, content: [content] }));
  }
  sendTo(address: string, subject: string, content: Uint8Array, tracker = ""): void {
    this.#dealer.send(encode({ type: "MAILBOX_SEND", address, subject, tracker, timeout: 0, content: [content] }));
  }
  sendFor(service: string, subject: string, content: Uint8Array, tracker = ""): void {
    this.#dealer.send(encode({ type: "SERVICE_SEND", address: service, subject, tracker, timeout: 0, content: [content] }));
  }
  onDelivery(handler: (d: Incoming) => void): void {
    this.#handler = handler;
  }
  confirm(): void {
    // Raw peers never send CREDIT, so the broker holds nothing for them (like C workers).
  }
  close(): Promise<void> {
    return this.#dealer.close();
  }
}

/** The real client, with its defaults (credit window, heartbeats). */
class ClientPeer implements Peer {
  constructor(readonly client: MlmClient, readonly creditAware = true) {}

  static async connect(endpoint: string, address: string): Promise<ClientPeer> {
    return new ClientPeer(await MlmClient.connect(endpoint, { address }));
  }

  /**
   * As a C `mlm_client`: no CREDIT, so the broker counts a request as done once delivered and
   * the worker sends no CONFIRM. This is the exchange the C reference figures measure.
   */
  static async connectCMode(endpoint: string, address: string): Promise<ClientPeer> {
    return new ClientPeer(await MlmClient.connect(endpoint, { address, credit: false }), false);
  }

  producer(stream: string): Promise<void> {
    return this.client.setProducer(stream);
  }
  consumer(stream: string, pattern: string): Promise<void> {
    return this.client.setConsumer(stream, pattern);
  }
  worker(service: string, pattern: string): Promise<void> {
    return this.client.setWorker(service, pattern);
  }
  publish(subject: string, content: Uint8Array): void {
    this.client.send(subject, content);
  }
  sendTo(address: string, subject: string, content: Uint8Array, tracker = ""): void {
    this.client.sendTo(address, subject, content, tracker ? { tracker } : undefined);
  }
  sendFor(service: string, subject: string, content: Uint8Array, tracker = ""): void {
    this.client.sendFor(service, subject, content, tracker ? { tracker } : undefined);
  }
  onDelivery(handler: (d: Incoming) => void): void {
    this.client.onDelivery((d: Delivery) => handler(d));
  }
  confirm(d: Incoming): void {
    if (this.creditAware) this.client.confirm(d.tracker);
  }
  close(): Promise<void> {
    return this.client.close();
  }
}

// ------------------------------------------------------------------ cases

let rawRuns = 0;

/**
 * Issue 16's harness over raw DEALERs + codec: `shape.workers` C-style workers (OFFER, no
 * CREDIT, each request answered with a MAILBOX_SEND to its sender, tracker echoed) and one
 * caller whose tracker carries the request id. Fresh names per run, so nothing is left over.
 */
async function rawServiceEnds(endpoint: string, shape: Shape): Promise<ServiceEnds> {
  const run = ++rawRuns;
  const service = `raw-svc-${run}`;
  const workers: RawPeer[] = [];
  for (let i = 0; i < shape.workers; i++) {
    const w = await RawPeer.connect(endpoint, `raw-w${i}-${run}`);
    await w.worker(service, ".*");
    w.onDelivery((d) => w.sendTo(d.sender, d.subject, d.content[0] as Uint8Array, d.tracker));
    workers.push(w);
  }
  const caller = await RawPeer.connect(endpoint, `raw-caller-${run}`);
  return {
    send: (id, body) => caller.sendFor(service, "rt", body, String(id)),
    onReply: (handler) => caller.onDelivery((d) => handler(Number(d.tracker))),
    close: async () => {
      await caller.close();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Pipelined sending, as C clients do with async sends: at most `window` messages per receiver
 * sent but not yet received. `run` returns deliveries received per second; the first run
 * after creation is a warm-up.
 */
class Pipeline {
  #received = 0;
  #sent = 0;
  #expected = 0;
  #low = 0;
  #wake: (() => void) | undefined;

  constructor(readonly receivers: number, subscribe: (onReceived: () => void) => void) {
    subscribe(() => {
      this.#received++;
      if (this.#wake && (this.#received >= this.#expected || this.#sent * this.receivers - this.#received <= this.#low)) {
        const wake = this.#wake;
        this.#wake = undefined;
        wake();
      }
    });
  }

  async run(total: number, window: number, send: () => void): Promise<number> {
    const receivers = this.receivers;
    this.#received = 0;
    this.#sent = 0;
    this.#expected = total * receivers;
    this.#low = (window * receivers) >> 1;
    const start = nowMs();
    while (this.#received < this.#expected) {
      while (this.#sent < total && this.#sent * receivers - this.#received < window * receivers) {
        this.#sent++;
        send();
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    return this.#expected / ((nowMs() - start) / 1000);
  }
}

async function streamOneToOne(make: Factory, endpoint: string, total: number): Promise<number> {
  const producer = await make(endpoint, "producer");
  const consumer = await make(endpoint, "consumer");
  await producer.producer("bench");
  await consumer.consumer("bench", ".*");
  const body = new Uint8Array(10);
  const pipeline = new Pipeline(1, (on) => consumer.onDelivery(on));
  const send = (): void => producer.publish("tick", body);
  await pipeline.run(total / 10, 500, send);
  const rate = await pipeline.run(total, 500, send);
  await producer.close();
  await consumer.close();
  return rate;
}

async function streamFanOut(make: Factory, endpoint: string, total: number, readers: number): Promise<number> {
  const producer = await make(endpoint, "fan-producer");
  await producer.producer("fan");
  const consumers: Peer[] = [];
  for (let i = 0; i < readers; i++) {
    const c = await make(endpoint, `fan-${i}`);
    await c.consumer("fan", ".*");
    consumers.push(c);
  }
  const body = new Uint8Array(10);
  const pipeline = new Pipeline(readers, (on) => {
    for (const c of consumers) c.onDelivery(on);
  });
  const send = (): void => producer.publish("tick", body);
  await pipeline.run(total / 10, 50, send);
  const rate = await pipeline.run(total, 50, send);
  await producer.close();
  await Promise.all(consumers.map((c) => c.close()));
  return rate;
}

async function mailbox(make: Factory, endpoint: string, total: number): Promise<number> {
  const sender = await make(endpoint, "mail-sender");
  const recipient = await make(endpoint, "mail-recipient");
  const body = new Uint8Array(10);
  const pipeline = new Pipeline(1, (on) => recipient.onDelivery(on));
  const send = (): void => sender.sendTo("mail-recipient", "m", body);
  await pipeline.run(total / 10, 500, send);
  const rate = await pipeline.run(total, 500, send);
  await sender.close();
  await recipient.close();
  return rate;
}

async function serviceRoundTrips(
  make: Factory, endpoint: string, size: number, ms: number,
): Promise<RoundTrips> {
  const worker = await make(endpoint, "svc-worker");
  await worker.worker("bench-svc", ".*");
  worker.onDelivery((d) => {
    worker.sendTo(d.sender, d.subject, d.content[0] as Uint8Array, d.tracker);
    worker.confirm(d);
  });
  const caller = await make(endpoint, "svc-caller");
  const body = new Uint8Array(size);
  let next: (() => void) | undefined;
  caller.onDelivery(() => {
    const resolve = next;
    next = undefined;
    resolve?.();
  });
  const oneCall = (i: number): Promise<void> => new Promise((resolve) => {
    next = resolve;
    caller.sendFor("bench-svc", "rt", body, `c${i}`);
  });
  // Warm-up by time, not count: at 64 KiB the JIT needs more calls than at 10 B.
  const result = await timeRoundTrips(oneCall, WARM_UP_MS, ms);
  await caller.close();
  await worker.close();
  return result;
}

async function idleConnections(broker: BrokerProcess, endpoint: string, count: number): Promise<BenchRow> {
  const before = await broker.memory();
  const peers: RawPeer[] = [];
  for (let i = 0; i < count; i += 50) {
    peers.push(...await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => RawPeer.connect(endpoint, `idle-${i + j}`))));
  }
  await tick();
  const after = await broker.memory();
  await Promise.all(peers.map((p) => p.close()));
  const perConnRss = (after.rss - before.rss) / count;
  const perConnHeap = (after.heap - before.heap) / count;
  return {
    bench: BENCH, case: `memory of ${count} idle connections`, impl: "raw dealer+codec",
    note: `broker heap +${(perConnHeap / 1024).toFixed(1)} KiB/conn, RSS +${(perConnRss / 1024).toFixed(1)} KiB/conn (${((after.rss - before.rss) / 1048576).toFixed(1)} MiB total, ${after.clients} clients)`,
  };
}

const heapEcho = defineService("bench.heapecho", {
  run: { input: Type.Object({ n: Type.Integer() }), output: Type.Object({ n: Type.Integer() }) },
});

/**
 * Broker heap per RPC client left idle after `calls` calls each (issue 14: every reply is a
 * tracked mailbox message the client never confirms; NO_MAILBOX_CONFIRMS keeps the broker from
 * remembering a route per reply). A first client warms the broker up and leaves, then `count`
 * clients make one call (baseline) and the rest of their calls.
 */
async function idleRpcClients(broker: BrokerProcess, endpoint: string, count: number, calls: number): Promise<BenchRow> {
  const worker = await rpcServe(endpoint, heapEcho, { run: ({ n }) => Promise.resolve({ n }) }, { concurrency: 64 });
  type Client = Awaited<ReturnType<typeof rpcConnect<{ echo: typeof heapEcho }>>>;
  const run = async (c: Client, from: number) => {
    for (let done = from; done < calls; done += 100) {
      await Promise.all(Array.from({ length: Math.min(100, calls - done) }, (_, i) => c.echo.run({ n: done + i })));
    }
  };
  const warm = await rpcConnect(endpoint, { echo: heapEcho });
  await run(warm, 0);
  await warm.close();
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) clients.push(await rpcConnect(endpoint, { echo: heapEcho }));
  await Promise.all(clients.map((c) => c.echo.run({ n: 0 })));
  const before = await broker.memory();
  await Promise.all(clients.map((c) => run(c, 1)));
  const after = await broker.memory();
  await Promise.all(clients.map((c) => c.close()));
  await worker.close();
  const perClient = (after.heap - before.heap) / count;
  return {
    bench: BENCH, case: `broker heap per idle RPC client after ${calls} calls`, impl: "rpc connect (noMailboxConfirms)",
    note: `${(perClient / 1024).toFixed(1)} KiB/client (${count} clients; bound 64 KiB; ~1.9 MB before NO_MAILBOX_CONFIRMS)`,
  };
}

// ------------------------------------------------------------------ socket APIs

/**
 * BENCH_SOCKETS=node,native: one broker child per socket API (clients on node:net), the
 * service shapes and stream 1→1 on each, alternating which goes first in every round.
 */
async function socketsComparison(apis: SocketApiName[], rounds: number, ms: number): Promise<BenchRow[]> {
  clientSocketApi = "node";
  const brokers: { api: SocketApiName; broker: BrokerProcess; endpoint: string }[] = [];
  for (const api of apis) brokers.push({ api, ...await BrokerProcess.start(api) });
  const name = (api: string): string => `raw dealer+codec, broker socketApi=${api} (${runtimeName()})`;
  // BENCH_CASES=regex: only the cases whose names match (for quick checks).
  const only = new RegExp(process.env.BENCH_CASES ?? ".");
  const shapes = SHAPES.filter((s) => only.test(s.name));
  try {
    const rows = await serviceRounds(brokers.map((b) => ({
      name: name(b.api),
      ends: (shape: Shape) => rawServiceEnds(b.endpoint, shape),
      sample: () => b.broker.sample(),
    })), () => brokers[0]!.broker.sample(), { rounds, warmUpMs: WARM_UP_MS, ms, shapes, compare: "ratio" }, BENCH);
    const rates = new Map<string, number[]>();
    for (let round = 0; round < (only.test("stream 1→1, 10 B") ? rounds : 0); round++) {
      for (const b of round % 2 === 0 ? brokers : [...brokers].reverse()) {
        const rate = await streamOneToOne(RawPeer.connect, b.endpoint, 200_000);
        process.stderr.write(`  round ${round + 1} stream 1→1, 10 B ${name(b.api)}: ${Math.round(rate)} msgs/s\n`);
        rates.set(b.api, [...rates.get(b.api) ?? [], rate]);
      }
    }
    for (const b of rates.size > 0 ? brokers : []) {
      const list = rates.get(b.api) as number[];
      rows.push({
        bench: BENCH, case: "stream 1→1, 10 B", impl: name(b.api), opsPerSec: median(list),
        note: `msgs/s ${spread(list, (v) => Math.round(v).toLocaleString("en-US"))}` + (b === brokers[0] ? "" :
          `; vs ${name(brokers[0]!.api)} per round ${spread(list.map((r, i) => r / rates.get(brokers[0]!.api)![i]!), (v) => `${v.toFixed(2)}×`)}`),
      });
    }
    return rows;
  } finally {
    for (const b of brokers) await b.broker.stop();
  }
}

// ------------------------------------------------------------------ main

/** The items whose name contains one of the `|`-separated `filter` words (all without a filter). */
function pick<T>(items: T[], filter: string | undefined, name: (item: T) => string): T[] {
  if (filter === undefined || filter === "") return items;
  const words = filter.split("|");
  return items.filter((item) => words.some((w) => name(item).includes(w)));
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
  // BENCH_ONLY=service: just issue 16's raw service shapes against the relay floor.
  const serviceOnly = process.env.BENCH_ONLY === "service";
  const envNumber = (name: string, fallback: number): number => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  const scale = quick ? 0.2 : 1;
  const impls: [string, Factory, cases?: RegExp][] = [
    ["MlmClient", ClientPeer.connect],
    ["MlmClient, C mode (no CREDIT/CONFIRM)", ClientPeer.connectCMode, /^service/],
    ["raw dealer+codec", RawPeer.connect],
  ];
  type Case = [name: string, run: (make: Factory, endpoint: string) => Promise<Omit<BenchRow, "bench" | "case" | "impl">>];
  const cases: Case[] = [
    ["stream 1→1, 10 B", async (make, ep) => ({
      opsPerSec: await streamOneToOne(make, ep, Math.round(200_000 * scale)), note: "msgs/s",
    })],
    ["stream fan-out to 100 readers, 10 B", async (make, ep) => ({
      opsPerSec: await streamFanOut(make, ep, Math.round(3_000 * scale), 100), note: "deliveries/s",
    })],
    ["mailbox 1→1, 10 B", async (make, ep) => ({
      opsPerSec: await mailbox(make, ep, Math.round(200_000 * scale)), note: "msgs/s",
    })],
    ["service round trip, 10 B", async (make, ep) => {
      const rt = await serviceRoundTrips(make, ep, 10, quick ? 500 : 2500);
      return { opsPerSec: rt.rate, p50us: rt.p50, p99us: rt.p99, note: "round trips/s (C ~2,300 rt/s, p50 410, p99 630)" };
    }],
    ["service round trip, 64 KiB", async (make, ep) => {
      const rt = await serviceRoundTrips(make, ep, 65536, quick ? 500 : 2500);
      return {
        opsPerSec: rt.rate, p50us: rt.p50, p99us: rt.p99, mbPerSec: (rt.rate * 65536 * 2) / 1e6,
        note: "round trips/s (C ~1,700 rt/s)",
      };
    }],
  ];
  const sockets = process.env.BENCH_SOCKETS;
  if (sockets !== undefined) {
    const apis = sockets.split(",").map((a) => a.trim()) as SocketApiName[];
    report(await socketsComparison(apis, envNumber("BENCH_ROUNDS", 5), envNumber("BENCH_MS", 2000)));
    return;
  }
  const rows: BenchRow[] = [];
  const { broker, endpoint, relayPort } = await BrokerProcess.start();
  try {
    for (const [impl, make, which] of serviceOnly ? [] : impls) {
      for (const [name, run] of cases) {
        if (which !== undefined && !which.test(name)) continue;
        if (only !== undefined && !`${name} ${impl}`.includes(only)) continue;
        rows.push({ bench: BENCH, case: name, impl, ...await run(make, endpoint) });
      }
    }
    for (const size of serviceOnly ? [] : [10, 65536]) {
      const name = `service round trip, ${size === 10 ? "10 B" : "64 KiB"}`;
      const impl = "floor: plain node:net relay";
      if (only !== undefined && !`${name} ${impl}`.includes(only)) continue;
      const rt = await relayRoundTrips(relayPort, size, quick ? 500 : 2500);
      rows.push({
        bench: BENCH, case: name, impl, opsPerSec: rt.rate, p50us: rt.p50, p99us: rt.p99,
        ...(size > 10 ? { mbPerSec: (rt.rate * size * 2) / 1e6 } : {}),
        note: "same 4 hops, length-prefixed, no ZMTP/MLM/routing",
      });
    }
    if (!serviceOnly && (only === undefined || "memory".includes(only))) rows.push(await idleConnections(broker, endpoint, 1000));
    if (!serviceOnly && (only === undefined || "memory".includes(only))) rows.push(await idleRpcClients(broker, endpoint, quick ? 4 : 10, 10_000));
    // Last, so the memory cases above see the broker as they always did.
    if (only === undefined || serviceOnly) {
      const serviceImpls = pick([
        { name: "raw dealer+codec, C-style workers", ends: (shape: Shape) => rawServiceEnds(endpoint, shape) },
        { name: "floor: node:net relay", ends: (shape: Shape) => relayServiceEnds(relayPort, shape.workers) },
      ], process.env.BENCH_IMPLS, (i) => i.name);
      rows.push(...await serviceRounds(serviceImpls, () => broker.sample(), {
        // One round in the full run, to keep `npm run bench` within its time limit per file.
        rounds: envNumber("BENCH_ROUNDS", serviceOnly && !quick ? 3 : 1),
        warmUpMs: WARM_UP_MS,
        ms: envNumber("BENCH_MS", quick ? 500 : 2000),
        shapes: pick(SHAPES, process.env.BENCH_SHAPES, (s) => s.name),
      }, BENCH));
    }
  } finally {
    await broker.stop();
  }
  report(rows);
}

if (process.argv.includes("--serve")) await serve();
else await main();
