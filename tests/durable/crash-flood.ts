// One kill -9 iteration of the crash tests: clients flood a broker child with tracked mailbox
// messages (to an offline mailbox), service requests (to a service with no worker) and requests
// to a credit-aware worker that confirms only half of them; the child is killed at a random
// moment; a new broker on the same directory must hand out everything it confirmed (202) or
// delivered, in order, without duplicates, and redeliver the requests left unconfirmed.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { HelloFlag } from "../../src/broker/extensions.ts";
import { ADMIN_SERVICE, ConfirmStatus } from "../../src/broker/status.ts";
import type { BrokerStats } from "../../src/broker/types.ts";
import { decode, type MlmMessage } from "../../src/proto/mod.ts";
import type { FsyncPolicy } from "../../src/storage/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { RawClient } from "../broker/raw-client.ts";
import { BrokerChild, random, tempDir } from "./broker-child.ts";

/** Messages per sender at most; below the default mailbox and queue limits (10,000), so nothing is refused. */
const PER_SENDER = 2500;
/** Tracked messages a sender has out without their 202: at most this many (each iteration picks its own). */
const MAX_WINDOW = 400;
/** Once `killAt` messages were sent, the kill comes within this many ms (the flood goes on meanwhile). */
const MAX_KILL_DELAY_MS = 25;
/** Credit the flood-time worker keeps out. */
const WORKER_CREDIT = 40;

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** A sender of the flood and what the broker told it. */
interface Sender {
  readonly name: string;
  readonly kind: "MAILBOX_SEND" | "SERVICE_SEND";
  readonly address: string;
  client: RawClient;
  sent: number;
  /** Indexes confirmed with 202, and with a failure code (must stay empty). */
  readonly stored: Set<number>;
  readonly failed: string[];
}

/** The index a subject `name:i` carries. */
function indexOf(subject: string, name: string): number {
  const [who, i] = subject.split(":");
  assert.equal(who, name, `subject ${subject} from an unexpected sender`);
  return Number(i);
}

/** A raw client that asked for the HELLO flags (when given) and opened `address`; added to `track` (to close them all in a `finally`). */
export async function rawClient(endpoint: string, address: string, flags?: number, track?: RawClient[]): Promise<RawClient> {
  const c = new RawClient(zmtp, endpoint);
  track?.push(c);
  if (flags !== undefined) {
    c.send({ type: "CONFIRM", tracker: "", code: flags, reason: "" });
    assert.equal((await c.next()).type, "OK");
  }
  await c.open(address);
  return c;
}

/** Every message of `client` as it arrives (besides its own inbox, which `next()` reads). */
function onMessage(client: RawClient, handler: (m: MlmMessage) => void): void {
  client.dealer.on("message", (frames) => {
    const r = decode(frames.map((f) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength)));
    if (r.ok) handler(r.message);
  });
}

/** The broker's admin STATS, as `client` (named) gets it. */
export async function adminStats(client: RawClient): Promise<BrokerStats> {
  client.send({ type: "SERVICE_SEND", address: ADMIN_SERVICE, subject: "STATS", tracker: "", timeout: 0, content: [] });
  const m = await client.next();
  assert.equal(m.type, "MAILBOX_DELIVER");
  return JSON.parse(text((m as { content: Uint8Array[] }).content[0])) as BrokerStats;
}

/** Assert that `got` is `0, 1, ..., k-1` for some k ≥ every index in `stored`. */
function assertPrefix(got: number[], stored: Set<number>, what: string): void {
  got.forEach((index, i) => assert.equal(index, i, `${what}: delivery ${i} is #${index} (gap, duplicate or reordering)`));
  for (const index of stored) assert.ok(index < got.length, `${what}: #${index} was confirmed stored (202) but not delivered after the restart (got ${got.length})`);
}

/** Result of one iteration, for the test's diagnostics. */
export interface FloodOutcome {
  killAt: number;
  window: number;
  killDelay: number;
  sent: number;
  stored: number;
  recovered: number;
  redelivered: number;
}

/**
 * One iteration: start a broker child on a fresh directory, flood it, kill -9 it once `killAt`
 * messages were sent in total (the broker is then mid-flood: up to WINDOW per sender are on
 * their way), restart on the same directory and check what comes out.
 */
export async function floodKillRestart(fsync: FsyncPolicy, seed: number): Promise<FloodOutcome> {
  const rand = random(seed);
  const dir = tempDir("crash");
  const killAt = 1 + Math.floor(rand() * (PER_SENDER * 4 - 1));
  const window = 1 + Math.floor(rand() * MAX_WINDOW);
  const killDelay = rand() < 0.25 ? 0 : rand() * MAX_KILL_DELAY_MS;
  const clients: RawClient[] = [];
  let broker = await BrokerChild.start(dir, fsync);
  try {
    const { endpoint } = broker;
    const senders: Sender[] = [];
    const add = async (name: string, kind: Sender["kind"], address: string): Promise<void> => {
      const client = await rawClient(endpoint, name, HelloFlag.STORED_CONFIRMS, clients);
      senders.push({ name, kind, address, client, sent: 0, stored: new Set(), failed: [] });
    };
    await add("a", "MAILBOX_SEND", "box");
    await add("b", "MAILBOX_SEND", "box");
    await add("s", "SERVICE_SEND", "svc");
    await add("q", "SERVICE_SEND", "work");

    // The credit-aware worker of "work": confirms the even requests, holds the odd ones.
    const worker = await rawClient(endpoint, "w", undefined, clients);
    worker.send({ type: "CREDIT", amount: WORKER_CREDIT });
    await worker.ok({ type: "SERVICE_OFFER", address: "work", pattern: ".*" });
    const delivered = new Set<number>();
    const confirmed = new Set<number>();
    const twice: number[] = [];
    onMessage(worker, (m) => {
      if (m.type !== "SERVICE_DELIVER") return;
      const i = Number(m.subject.slice(2));
      if (delivered.has(i)) twice.push(i);
      delivered.add(i);
      if (i % 2 === 0) {
        worker.send({ type: "CONFIRM", tracker: m.tracker, code: ConfirmStatus.SUCCESS, reason: "" });
        confirmed.add(i);
      }
      worker.send({ type: "CREDIT", amount: 1 });
    });

    let total = 0;
    let killed: Promise<void> | undefined;
    let armed = false;
    const kill = (): void => {
      killed ??= broker.kill();
    };
    const pump = (s: Sender): void => {
      while (killed === undefined && s.sent < PER_SENDER && s.sent - s.stored.size - s.failed.length < window) {
        const i = s.sent++;
        s.client.send({ type: s.kind, address: s.address, subject: `${s.name}:${i}`, tracker: `t${i}`, timeout: 0, content: [utf8.encode(`${s.name}-${i}`)] });
        if (++total >= killAt && !armed) {
          armed = true;
          if (killDelay === 0) kill();
          else setTimeout(kill, killDelay);
        }
      }
    };
    for (const s of senders) {
      onMessage(s.client, (m) => {
        if (m.type !== "CONFIRM") return;
        const i = Number(m.tracker.slice(1));
        if (m.code === ConfirmStatus.STORED) s.stored.add(i);
        else if (m.code !== ConfirmStatus.SUCCESS) s.failed.push(`${m.tracker}: ${m.code} ${m.reason}`);
        pump(s);
      });
    }
    for (const s of senders) pump(s);
    // Every sender stops at PER_SENDER: if killAt was not reached by then, kill now.
    while (killed === undefined) {
      if (senders.every((s) => s.sent === PER_SENDER && s.stored.size + s.failed.length === s.sent)) kill();
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await killed;
    for (const c of clients.splice(0)) await c.close();
    for (const s of senders) assert.deepEqual(s.failed, [], `${s.name}: failure CONFIRMs`);
    assert.deepEqual(twice, [], "work requests delivered twice before the crash");

    broker = await BrokerChild.start(dir, fsync);
    const opened = broker.opened;
    const admin = await rawClient(broker.endpoint, "admin", undefined, clients);
    const stats = await adminStats(admin);
    const depth = stats.mailboxes.find((b) => b.address === "box")?.depth ?? 0;
    const queued = (name: string): number => stats.services.find((s) => s.name === name)?.queued ?? 0;

    // The mailbox: every 202 delivered, per sender in sending order, nothing twice, nothing invented.
    const reader = await rawClient(broker.endpoint, "box", undefined, clients);
    const mail: Record<string, number[]> = { a: [], b: [] };
    for (let n = 0; n < depth; n++) {
      const m = await reader.next();
      assert.equal(m.type, "MAILBOX_DELIVER");
      const { sender, subject } = m as { sender: string; subject: string };
      assert.ok(sender === "a" || sender === "b", `mail from ${sender}`);
      (mail[sender] as number[]).push(indexOf(subject, sender));
    }
    await reader.expectOnlyPong();
    for (const s of senders.slice(0, 2)) assertPrefix(mail[s.name] as number[], s.stored, `mailbox from ${s.name}`);

    // The queue with no worker: the same, for a credit-aware worker after the restart.
    const after = await rawClient(broker.endpoint, "w2", undefined, clients);
    after.send({ type: "CREDIT", amount: 65_535 });
    await after.ok({ type: "SERVICE_OFFER", address: "svc", pattern: ".*" });
    const svc: number[] = [];
    for (let n = 0; n < queued("svc"); n++) {
      const m = await after.next();
      assert.equal(m.type, "SERVICE_DELIVER");
      svc.push(indexOf((m as { subject: string }).subject, "s"));
    }
    assertPrefix(svc, (senders[2] as Sender).stored, "service queue");

    // The worked service: requests delivered and left unconfirmed come again, and so does every
    // 202 the worker did not confirm; nothing twice.
    await after.ok({ type: "SERVICE_OFFER", address: "work", pattern: ".*" });
    const again = new Set<number>();
    for (let n = 0; n < queued("work"); n++) {
      const m = await after.next();
      assert.equal(m.type, "SERVICE_DELIVER");
      const i = indexOf((m as { subject: string }).subject, "q");
      assert.ok(!again.has(i), `work #${i} redelivered twice`);
      assert.ok(i < (senders[3] as Sender).sent, `work #${i} was never sent`);
      again.add(i);
    }
    await after.expectOnlyPong();
    for (const i of delivered) {
      if (!confirmed.has(i)) assert.ok(again.has(i), `work #${i} was delivered, not confirmed, and not redelivered after the restart`);
    }
    for (const i of (senders[3] as Sender).stored) {
      if (!confirmed.has(i)) assert.ok(again.has(i), `work #${i} was confirmed stored (202) and is lost`);
    }
    const stored = senders.reduce((n, s) => n + s.stored.size, 0);
    return { killAt, window, killDelay: Math.round(killDelay), sent: total, stored, recovered: opened.records, redelivered: [...delivered].filter((i) => !confirmed.has(i)).length };
  } finally {
    for (const c of clients) await c.close();
    await broker.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
