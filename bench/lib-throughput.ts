/** One-way transport throughput, shared by bench/zmtp.ts and bench/curve.ts (not a benchmark itself). */
import type { DealerOptions, RouterOptions, Transport } from "../src/transport/types.ts";
import { nowMs } from "./lib.ts";
import { spawnScript } from "./lib-soak-spawn.ts";

const THROUGHPUT_MS = 1500;

/** A message body of `size` bytes with varied content. */
export function payload(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = i & 255;
  return b;
}

/**
 * One-way throughput through a Transport. The sender keeps `window` messages in flight:
 * it tops the window up whenever the receiver reports a message (event-driven, no timers).
 */
export async function throughputTransport(
  t: Transport,
  size: number,
  window: number,
  options: { router?: RouterOptions; dealer?: DealerOptions; ms?: number } = {},
): Promise<{ ops: number; mb: number }> {
  const router = t.router(options.router);
  const endpoint = await router.bind("tcp://127.0.0.1:0");
  const dealer = t.dealer({ ...options.dealer, sendHighWaterMark: window * 2 });
  const up = new Promise<void>((r) => dealer.on("connect", () => r()));
  dealer.connect(endpoint);
  await up;
  const msg = [payload(size)];
  let sent = 0;
  let received = 0;
  let sending = false;
  let done: (() => void) | undefined;
  const refill = () => {
    while (sending && sent - received < window) {
      dealer.send(msg);
      sent++;
    }
  };
  router.on("message", () => {
    received++;
    if (sending) {
      // Top up in batches, so that the sender's writes stay coalesced.
      if (sent - received <= window / 2) refill();
    } else if (received === sent) done?.();
  });
  const run = async (ms: number): Promise<{ count: number; secs: number }> => {
    const base = received;
    const start = nowMs();
    sending = true;
    refill();
    await new Promise((r) => setTimeout(r, ms));
    sending = false;
    if (received < sent) await new Promise<void>((r) => (done = r));
    return { count: received - base, secs: (nowMs() - start) / 1000 };
  };
  await run(200);
  const { count, secs } = await run(options.ms ?? THROUGHPUT_MS);
  await dealer.close();
  await router.close();
  const ops = count / secs;
  return { ops, mb: (ops * size) / 1e6 };
}


/**
 * One-way throughput with the sender in a child process (`bench/lib-curve-sender.ts`, like
 * libzmq's `remote_thr`/`local_thr` pair): encoding and sealing run on one core, decoding and
 * opening on the other, as between two machines. The receiver grants credit in half windows.
 * `serverKey` (Z85) makes the sender a CURVE client of `router`'s CURVE keys.
 */
export async function throughputTwoProcesses(
  t: Transport,
  size: number,
  window: number,
  options: { router?: RouterOptions; serverKey?: string; ms?: number } = {},
): Promise<{ ops: number; mb: number }> {
  const router = t.router(options.router);
  const endpoint = await router.bind("tcp://127.0.0.1:0");
  const grant = new Uint8Array(4);
  new DataView(grant.buffer).setUint32(0, window / 2);
  let received = 0;
  router.on("message", (id) => {
    if (++received % (window / 2) === 0) router.send(id, [grant]);
  });
  const mode = options.serverKey === undefined ? ["null"] : ["curve", options.serverKey];
  const script = new URL("./lib-curve-sender.ts", import.meta.url).pathname;
  const child = spawnScript(script, [endpoint, String(size), String(window), ...mode], ["pipe", "inherit", "inherit"], { bundle: true });
  const exited = new Promise((r) => child.once("exit", r));
  const until = async (count: number) => {
    while (received < count) await new Promise((r) => setTimeout(r, 5));
  };
  await until(window); // connected, handshake done, first window in
  await new Promise((r) => setTimeout(r, 300)); // warm up
  const base = received;
  const start = nowMs();
  await new Promise((r) => setTimeout(r, options.ms ?? THROUGHPUT_MS));
  const count = received - base;
  const secs = (nowMs() - start) / 1000;
  child.stdin?.end();
  await exited;
  await router.close();
  const ops = count / secs;
  return { ops, mb: (ops * size) / 1e6 };
}
