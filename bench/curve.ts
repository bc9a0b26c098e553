/**
 * CURVE versus NULL over our TCP transport, in the same run: one-way DEALER→ROUTER
 * throughput of 32 B and 64 KiB messages, CURVE with libsodium's MESSAGE boxes (the default
 * once loaded) and with noble's (pinned by `preferCurveBoxes`). Rounds alternate NULL and CURVE so that machine
 * noise hits both alike; medians with min–max of the rounds are reported.
 *
 * Three shapes: both ends in this process (one core seals and opens every message); the
 * sender in a child process, as libzmq's `remote_thr`/`local_thr` pair measures (sealing and
 * opening on different cores, as between two machines); and the boxes alone, a seal and an
 * open of one 32 B message in a loop: the ceiling of CURVE's small-message rate on this
 * machine whatever the framing costs.
 *
 * Run: npx tsx bench/curve.ts [rounds] | npx bun bench/curve.ts | npx deno run -A bench/curve.ts
 */
import type { DealerOptions, RouterOptions } from "../src/transport/types.ts";
import { zmtp } from "../src/transport/zmtp.ts";
import { CurveClientMechanism, curveKeyPair, CurveServerMechanism, Session, type SessionHandler } from "../src/zmtp/mod.ts";
import { type CurveBoxes, nobleBoxes } from "../src/zmtp/mechanism/curve/box.ts";
import { concatBytes } from "../src/util/bytes.ts";
import { curveReady, preferCurveBoxes } from "../src/zmtp/mechanism/curve/sodium.ts";
import { type BenchRow, report } from "./lib.ts";
import { throughputTransport, throughputTwoProcesses } from "./lib-throughput.ts";
import { encodeZ85 } from "../src/zmtp/mod.ts";

const rounds = Number((globalThis as { process?: { argv: string[] } }).process?.argv[2] ?? 5);
const server = curveKeyPair();
const client = curveKeyPair();
const curve = { router: { curve: server }, dealer: { curve: { serverKey: server.publicKey, ...client } } };
const modes: Array<[string, { router?: RouterOptions; dealer?: DealerOptions }]> = [
  ["NULL", {}],
  ["CURVE", curve],
  ["CURVE noble", curve],
];
const sodiumBoxes = await curveReady();
const cases: Array<[string, number, number]> = [["32 B one-way", 32, 20_000], ["64 KiB one-way", 65536, 64]];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rows: BenchRow[] = [];
for (const [caseName, size, window] of cases) {
  const results = new Map<string, { ops: number[]; mb: number[] }>(modes.map(([m]) => [m, { ops: [], mb: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const [mode, options] of r % 2 === 0 ? modes : [...modes].reverse()) {
      preferCurveBoxes(mode === "CURVE noble" ? nobleBoxes : sodiumBoxes);
      const { ops, mb } = await throughputTransport(zmtp, size, window, { ...options, ms: 1000 });
      results.get(mode)!.ops.push(ops);
      results.get(mode)!.mb.push(mb);
    }
  }
  const nullOps = median(results.get("NULL")!.ops);
  for (const [mode] of modes) {
    const { ops, mb } = results.get(mode)!;
    rows.push({
      bench: "curve",
      case: caseName,
      impl: `zmtp ${mode}`,
      opsPerSec: median(ops),
      mbPerSec: median(mb),
      note: `${rounds} rounds, msgs/s ${Math.min(...ops).toFixed(0)}–${Math.max(...ops).toFixed(0)}; ` +
        `${((median(ops) / nullOps) * 100).toFixed(0)}% of NULL`,
    });
  }
}
for (const [caseName, size, window] of cases) {
  const ops: Record<"NULL" | "CURVE", number[]> = { NULL: [], CURVE: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? ["NULL", "CURVE"] as const : ["CURVE", "NULL"] as const) {
      preferCurveBoxes(sodiumBoxes);
      const options = mode === "NULL" ? {} : { router: curve.router, serverKey: encodeZ85(server.publicKey) };
      ops[mode].push((await throughputTwoProcesses(zmtp, size, window, { ...options, ms: 1000 })).ops);
    }
  }
  for (const mode of ["NULL", "CURVE"] as const) {
    rows.push({
      bench: "curve",
      case: `${caseName}, sender in a child process`,
      impl: `zmtp ${mode}`,
      opsPerSec: median(ops[mode]),
      mbPerSec: (median(ops[mode]) * size) / 1e6,
      note: `${rounds} rounds, msgs/s ${Math.min(...ops[mode]).toFixed(0)}–${Math.max(...ops[mode]).toFixed(0)}; ` +
        `${((median(ops[mode]) / median(ops.NULL)) * 100).toFixed(0)}% of NULL`,
    });
  }
}
for (const boxes of [sodiumBoxes, nobleBoxes]) {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push(sealOpenRate(boxes, 32, 500));
  rows.push({
    bench: "curve",
    case: "32 B seal + open, boxes alone",
    impl: `CURVE ${boxes.name}`,
    opsPerSec: median(rates),
    note: `${rounds} rounds, ${(1e6 / median(rates)).toFixed(2)} µs per message`,
  });
}
const quiet: SessionHandler = { onReady: () => {}, onMessage: () => {}, onClose: () => {} };
for (const [name, boxes] of [["sodium", sodiumBoxes], ["noble", nobleBoxes]] as const) {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push(await handshakes(boxes, 500));
  rows.push({
    bench: "curve",
    case: "handshakes (in memory)",
    impl: `CURVE ${name}`,
    opsPerSec: median(rates),
    note: `${rounds} rounds, ${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)} handshakes/s`,
  });
}
report(rows);

/** Whole handshakes per second (client and server sessions in memory, no sockets), per back end. */
async function handshakes(boxes: CurveBoxes, ms: number): Promise<number> {
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < ms) {
    let ready = false;
    const a = new Session({ socketType: "DEALER", mechanism: new CurveClientMechanism({ serverKey: server.publicKey, ...client, boxes }) }, {
      ...quiet,
      onReady: () => (ready = true),
    });
    const b: Session = new Session({ socketType: "ROUTER", mechanism: new CurveServerMechanism({ ...server, boxes }) }, {
      ...quiet,
      onAuthorize: () => b.authenticated(true, 0),
    });
    a.start(0);
    b.start(0);
    for (let i = 0; i < 10; i++) {
      const x = concatBytes(a.takeOutput());
      const y = concatBytes(b.takeOutput());
      if (x.length === 0 && y.length === 0) break;
      if (x.length) b.feed(x, 0);
      if (y.length) a.feed(y, 0);
    }
    if (!ready) throw new Error(`CURVE handshake (${boxes.name}) did not complete`);
    count++;
  }
  return count / ((performance.now() - start) / 1000);
}

/** Messages per second one core can seal and open with `boxes` (the same direction key both ways). */
function sealOpenRate(boxes: CurveBoxes, size: number, ms: number): number {
  const prefix = new TextEncoder().encode("CurveZMQMESSAGEC");
  const box = boxes.messageBoxes(new Uint8Array(32).fill(7), prefix, prefix);
  const frame = new Uint8Array(32 + size);
  const tail = new Uint8Array(8);
  const view = new DataView(tail.buffer);
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < ms) {
    for (let i = 0; i < 1000; i++, count++) {
      view.setUint32(4, count);
      frame.fill(1, 32);
      box.seal(tail, frame);
      frame.set(tail, 8);
      box.open(frame, 16, "bench");
    }
  }
  return count / ((performance.now() - start) / 1000);
}
