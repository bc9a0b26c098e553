/**
 * MLM codec throughput: encode, decode and encode+decode of a MAILBOX-SEND, with a small
 * payload and with 64 KiB of content. Content is passed by reference, so the 64 KiB case
 * should cost about the same as the small one; MB/s is reported to make that visible.
 */
import { decode, encode } from "../src/proto/mod.ts";
import type { MlmMessage } from "../src/proto/mod.ts";
import { nowMs, report } from "./lib.ts";
import type { BenchRow } from "./lib.ts";

const DURATION_MS = 1000;
const BATCH = 1000;

// Synchronous loop on purpose: lib's opsPerSecond awaits every call, and a microtask per
// sub-microsecond operation would measure the await rather than the codec.
let sink = 0;
function measure(fn: () => number): number {
  const warmUntil = nowMs() + 200;
  while (nowMs() < warmUntil) for (let i = 0; i < BATCH; i++) sink += fn();
  let ops = 0;
  const start = nowMs();
  const end = start + DURATION_MS;
  while (nowMs() < end) {
    for (let i = 0; i < BATCH; i++) sink += fn();
    ops += BATCH;
  }
  return (ops * 1000) / (nowMs() - start);
}

function mailboxSend(contentBytes: number): MlmMessage {
  const payload = new Uint8Array(contentBytes).fill(0x61);
  return { type: "MAILBOX_SEND", address: "worker-7", subject: "jobs.resize", tracker: "call-000042", timeout: 5000, content: [payload] };
}

const rows: BenchRow[] = [];
const cases: Array<[string, MlmMessage, number]> = [
  ["MAILBOX_SEND 16 B", mailboxSend(16), 16],
  ["MAILBOX_SEND 64 KiB", mailboxSend(64 * 1024), 64 * 1024],
];
for (const [name, message, bytes] of cases) {
  const frames = encode(message);
  const ops: Array<[string, () => number]> = [
    ["encode", () => encode(message).length],
    ["decode", () => (decode(frames).ok ? 1 : 0)],
    ["encode+decode", () => (decode(encode(message)).ok ? 1 : 0)],
  ];
  for (const [impl, fn] of ops) {
    const opsPerSec = measure(fn);
    rows.push({ bench: "codec", case: name, impl, opsPerSec, mbPerSec: (opsPerSec * bytes) / 1e6, note: "content by reference" });
  }
}
if (sink === -1) console.log("unreachable");
report(rows);
