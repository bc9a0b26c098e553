/**
 * ZMTP transport benchmark: one-way DEALER→ROUTER throughput (32 B and 64 KiB messages) and
 * DEALER↔ROUTER ping-pong round trips, for our pure-TypeScript engine (`zmtp`) on whichever
 * runtime runs this file, and — except on Bun — for the `zeromq` package (libzmq) used
 * directly, plus our `zeromq` transport wrapper, in the same run.
 *
 * Run: npx tsx bench/zmtp.ts | npx bun bench/zmtp.ts | npx deno run -A bench/zmtp.ts
 */
import type { Transport } from "../src/transport/types.ts";
import { zmtp } from "../src/transport/zmtp.ts";
import { type BenchRow, nowMs, percentile, report, runtimeName, timeRoundTrips, zeromqAvailable } from "./lib.ts";
import { payload, throughputTransport } from "./lib-throughput.ts";

const THROUGHPUT_MS = 1500;
const PINGPONG_MS = 1200;
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** Ping-pong round trips through a Transport. */
async function pingPongTransport(t: Transport): Promise<{ ops: number; p50: number; p99: number }> {
  const router = t.router();
  const endpoint = await router.bind("tcp://127.0.0.1:0");
  router.on("message", (id, frames) => router.send(id, frames));
  const dealer = t.dealer();
  let resolveReply: (() => void) | undefined;
  dealer.on("message", () => resolveReply?.());
  const up = new Promise<void>((r) => dealer.on("connect", () => r()));
  dealer.connect(endpoint);
  await up;
  const msg = [payload(32)];
  const once = () =>
    new Promise<void>((r) => {
      resolveReply = r;
      dealer.send(msg);
    });
  const { rate, p50, p99 } = await timeRoundTrips(once, 100, PINGPONG_MS);
  await dealer.close();
  await router.close();
  return { ops: rate, p50, p99 };
}

type Zmq = typeof import("zeromq");

/** The zeromq package used directly and idiomatically: awaited sends, async-iterated receives. */
async function throughputZeromq(zmq: Zmq, size: number): Promise<{ ops: number; mb: number }> {
  const router = new zmq.Router({ linger: 0 });
  await router.bind("tcp://127.0.0.1:*");
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(router.lastEndpoint as string);
  let received = 0;
  const loop = (async () => {
    try {
      for await (const _ of router) received++;
    } catch {
      // closed
    }
  })();
  const msg = payload(size);
  const run = async (ms: number) => {
    let sent = 0;
    const end = nowMs() + ms;
    while (nowMs() < end) {
      for (let i = 0; i < 100; i++) await dealer.send(msg);
      sent += 100;
    }
    return sent;
  };
  const warm = await run(200);
  while (received < warm) await tick();
  const base = received;
  const start = nowMs();
  const sent = await run(THROUGHPUT_MS);
  while (received - base < sent) await tick();
  const secs = (nowMs() - start) / 1000;
  router.close();
  dealer.close();
  await loop;
  const ops = sent / secs;
  return { ops, mb: (ops * size) / 1e6 };
}

async function pingPongZeromq(zmq: Zmq): Promise<{ ops: number; p50: number; p99: number }> {
  const router = new zmq.Router({ linger: 0 });
  await router.bind("tcp://127.0.0.1:*");
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(router.lastEndpoint as string);
  const echo = (async () => {
    try {
      for await (const frames of router) await router.send(frames);
    } catch {
      // closed
    }
  })();
  const msg = payload(32);
  const once = async () => {
    await dealer.send(msg);
    await dealer.receive();
  };
  for (let i = 0; i < 500; i++) await once();
  const lat: number[] = [];
  const start = nowMs();
  while (nowMs() - start < PINGPONG_MS) {
    const t0 = nowMs();
    await once();
    lat.push((nowMs() - t0) * 1000);
  }
  const secs = (nowMs() - start) / 1000;
  router.close();
  dealer.close();
  await echo;
  return { ops: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

const rows: BenchRow[] = [];
const cases: Array<[string, number, number]> = [["32 B one-way", 32, 20_000], ["64 KiB one-way", 65536, 64]];
const impls: Array<[string, Transport]> = [["zmtp (ours)", zmtp]];
let zmq: Zmq | undefined;
// Under Deno the zeromq addon loads but misses wake-ups of pending receives, so its
// measurements stall (see tests/transport/contract.test.ts); it is measured on Node only.
const zeromqHere = zeromqAvailable() && runtimeName() !== "deno";
if (zeromqHere) {
  zmq = await import("zeromq");
  impls.push(["zeromq transport", (await import("../src/transport/zeromq.ts")).zeromq]);
}

for (const [name, size, window] of cases) {
  for (const [impl, t] of impls) {
    const r = await throughputTransport(t, size, window);
    rows.push({ bench: "zmtp", case: name, impl, opsPerSec: r.ops, mbPerSec: r.mb });
  }
  if (zmq) {
    const r = await throughputZeromq(zmq, size);
    rows.push({ bench: "zmtp", case: name, impl: "zeromq package", opsPerSec: r.ops, mbPerSec: r.mb });
  }
}
for (const [impl, t] of impls) {
  const r = await pingPongTransport(t);
  rows.push({ bench: "zmtp", case: "ping-pong 32 B", impl, opsPerSec: r.ops, p50us: r.p50, p99us: r.p99 });
}
if (zmq) {
  const r = await pingPongZeromq(zmq);
  rows.push({ bench: "zmtp", case: "ping-pong 32 B", impl: "zeromq package", opsPerSec: r.ops, p50us: r.p50, p99us: r.p99 });
}

// Ratios of our engine against the zeromq package, the figure the project targets.
for (const c of ["32 B one-way", "64 KiB one-way", "ping-pong 32 B"]) {
  const ours = rows.find((r) => r.case === c && r.impl === "zmtp (ours)");
  const ref = rows.find((r) => r.case === c && r.impl === "zeromq package");
  if (ours && ref && ours.opsPerSec && ref.opsPerSec) ours.note = `${(ours.opsPerSec / ref.opsPerSec).toFixed(2)}x zeromq package`;
}
if (!zeromqHere) {
  rows.push({
    bench: "zmtp", case: "-", impl: "zeromq package",
    note: runtimeName() === "bun" ? "not measured: the native addon does not load on Bun" : "not measured: zeromq.js stalls under Deno",
  });
}
report(rows);
