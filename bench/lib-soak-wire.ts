/**
 * Soak attacks that speak raw ZMTP/MLM over TCP (issue 14, "How it is judged"): floods, lying
 * frame headers, huge messages, stalled readers, slowloris, churn, subscription amplification
 * and many idle clients. Each is bounded by its size arguments and by time.
 */
import { MlmClient } from "../src/client/client.ts";
import { type Attack, type AttackContext, pool, sleep } from "./lib-soak-run.ts";
import { adminStats, concat, longHeader, mlmBytes, RawPeer } from "./lib-soak-raw.ts";

const MiB = 1024 * 1024;
const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MB`;

/** Open a raw connection and complete the ZMTP handshake (and CONNECTION-OPEN when `address` is given). */
async function rawSession(endpoint: string, address?: string, discard = false): Promise<RawPeer> {
  const peer = await RawPeer.connect(endpoint, { discard });
  peer.handshake();
  if (address !== undefined && !(await peer.open(address))) throw new Error(`no OK to CONNECTION-OPEN of ${address || "anonymous"}`);
  return peer;
}

/** Send a command and expect OK. */
async function command(peer: RawPeer, message: Parameters<RawPeer["send"]>[0]): Promise<void> {
  peer.send(message);
  const reply = await peer.next();
  if (reply?.type !== "OK") throw new Error(`${message.type} got ${reply?.type ?? "nothing"}`);
}

/** Broker fds and connection count now, for the notes. */
async function connectionNotes(ctx: AttackContext, fdsBefore: number): Promise<string> {
  const stats = await adminStats(ctx.broker.endpoint, 3000);
  const conns = stats ? `, ${stats.connections - 1} connections open (healthy client included)` : "";
  return `broker fds ${fdsBefore} → ${ctx.broker.fds()}${conns}`;
}

/**
 * 1. Connections that complete the handshake and then send zero-length frames with MORE set,
 * as fast as the broker takes them, until `maxBytes` are sent or `seconds` pass. A dropped
 * connection is replaced by a new one (an attacker would).
 */
export function emptyFrameFlood(o: { seconds: number; maxBytes: number }): Attack {
  return {
    name: "empty-frame flood",
    async run(ctx) {
      const chunk = new Uint8Array(MiB);
      for (let i = 0; i < chunk.length; i += 2) chunk[i] = 1; // [MORE, size 0] pairs
      let sent = 0;
      let dropped = 0;
      const until = performance.now() + o.seconds * 1000;
      while (performance.now() < until && sent < o.maxBytes && ctx.broker.alive) {
        let peer: RawPeer;
        try {
          peer = await rawSession(ctx.broker.endpoint, undefined, true);
        } catch {
          break;
        }
        while (performance.now() < until && sent < o.maxBytes && (await peer.write(chunk))) sent += chunk.length;
        if (peer.closed) dropped++;
        peer.destroy();
      }
      return { notes: [`sent ${mb(sent)} = ${(sent / 2 / 1e6).toFixed(1)} M empty frames; ${dropped} connections dropped by the broker`] };
    },
  };
}

/**
 * 2. `connections` connections each declare one frame of `size` bytes; half then send nothing,
 * half trickle 4 KiB every 100 ms, for `seconds`.
 */
export function hugeDeclaredLengths(o: { connections: number; size: number; seconds: number }): Attack {
  return {
    name: "huge declared lengths",
    async run(ctx) {
      const peers: RawPeer[] = [];
      for (let i = 0; i < o.connections; i++) {
        const peer = await rawSession(ctx.broker.endpoint, undefined, true);
        peer.socket.write(longHeader(o.size));
        peers.push(peer);
      }
      const trickle = new Uint8Array(4096);
      const timer = setInterval(() => {
        for (let i = 1; i < peers.length; i += 2) if (!peers[i]!.closed) peers[i]!.socket.write(trickle);
      }, 100);
      await sleep(o.seconds * 1000);
      clearInterval(timer);
      const memory = await ctx.broker.memory(3000);
      const closed = peers.filter((p) => p.closed).length;
      const notes = [`${o.connections} × ${mb(o.size)} declared; ${closed} closed by the broker within ${o.seconds} s`];
      if (memory) notes.push(`V8 external ${mb(memory.external)}, heap ${mb(memory.heapUsed)}`);
      return { notes, cleanup: async () => peers.forEach((p) => p.destroy()) };
    },
  };
}

/** 3. `count` SERVICE-SENDs of `size` bytes each, actually streamed, at once. */
export function hugeServiceSends(o: { count: number; size: number }): Attack {
  return {
    name: "huge SERVICE-SENDs",
    async run(ctx) {
      const zeros = new Uint8Array(MiB);
      const t0 = performance.now();
      const outcomes = await Promise.all(Array.from({ length: o.count }, async (_, i) => {
        const peer = await rawSession(ctx.broker.endpoint, `soak-big-${i}`);
        const header = mlmBytes({ type: "SERVICE_SEND", address: "soak-big", subject: "big", tracker: `big-${i}`, timeout: 0, content: [] }, true);
        let written = 0;
        let ok = await peer.write(header) && await peer.write(longHeader(o.size));
        while (ok && written < o.size) {
          const n = Math.min(zeros.length, o.size - written);
          ok = await peer.write(n === zeros.length ? zeros : zeros.subarray(0, n));
          if (ok) written += n;
        }
        const answer = ok ? await peer.next(undefined, 15_000) : undefined;
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        peer.destroy();
        if (answer?.type === "CONFIRM") return `CONFIRM ${answer.code} at ${s} s`;
        if (answer) return `${answer.type} at ${s} s`;
        return peer.closed ? `dropped after ${mb(written)} at ${s} s` : `no answer within 15 s`;
      }));
      return { notes: [`${o.count} × ${mb(o.size)}: ${outcomes.join("; ")}`] };
    },
  };
}

/**
 * 4. A reader subscribed to a busy stream stops reading its socket (`credit`: false = a C
 * client, a number = CREDIT sent once) while a producer publishes `size`-byte messages as fast
 * as it can for `seconds`. Then the reader leaves: does the memory come back?
 */
export function stalledReader(o: { credit: number | false; seconds: number; size: number }): Attack {
  return {
    name: o.credit === false ? "stalled reader, no credit" : `stalled reader, credit ${o.credit}`,
    async run(ctx) {
      const reader = await rawSession(ctx.broker.endpoint, "soak-stalled");
      await command(reader, { type: "STREAM_READ", stream: "busy", pattern: "" });
      if (o.credit !== false) reader.send({ type: "CREDIT", amount: o.credit });
      await sleep(50);
      reader.pause();
      const producer = await rawSession(ctx.broker.endpoint, "soak-producer");
      await command(producer, { type: "STREAM_WRITE", stream: "busy" });
      producer.pause(); // it gets nothing worth reading
      const one = mlmBytes({ type: "STREAM_SEND", subject: "tick", content: [new Uint8Array(o.size)] });
      const batch = new Uint8Array(one.length * 256);
      for (let i = 0; i < 256; i++) batch.set(one, i * one.length);
      let published = 0;
      const until = performance.now() + o.seconds * 1000;
      while (performance.now() < until && (await producer.write(batch))) published += 256;
      const peak = ctx.broker.sample();
      reader.destroy();
      await sleep(1000);
      return {
        notes: [`published ${published} × ${o.size} B; RSS at end ${mb(peak)}, 1 s after the reader left ${mb(ctx.broker.sample())}`],
        cleanup: async () => producer.destroy(),
      };
    },
  };
}

/**
 * 5. Slowloris after the handshake: `sockets` connections complete the ZMTP handshake; half
 * never send anything more, half trickle a CONNECTION-OPEN one byte per second. Reported: how
 * many the broker still holds open after `seconds`.
 */
export function slowloris(o: { sockets: number; seconds: number }): Attack {
  return {
    name: "slowloris after handshake",
    async run(ctx) {
      const fds = ctx.broker.fds();
      const open = mlmBytes({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "slow" });
      const peers: RawPeer[] = [];
      for (let i = 0; i < o.sockets; i++) peers.push(await rawSession(ctx.broker.endpoint, undefined, true));
      let byte = 0;
      const timer = setInterval(() => {
        if (byte >= open.length) return;
        for (let i = 1; i < peers.length; i += 2) if (!peers[i]!.closed) peers[i]!.socket.write(open.subarray(byte, byte + 1));
        byte++;
      }, 1000);
      await sleep(o.seconds * 1000);
      clearInterval(timer);
      const still = peers.filter((p) => !p.closed).length;
      const notes = [`${still}/${o.sockets} still open after ${o.seconds} s`, await connectionNotes(ctx, fds)];
      return { notes, cleanup: async () => peers.forEach((p) => p.destroy()) };
    },
  };
}

/**
 * 6. Connection churn: `connections` connections opened and closed, `concurrency` at a time,
 * in four styles (reset at once; handshake then FIN; OPEN then FIN; OPEN then reset).
 */
export function connectionChurn(o: { connections: number; concurrency: number }): Attack {
  return {
    name: "connection churn",
    async run(ctx) {
      const fds = ctx.broker.fds();
      const openBytes = mlmBytes({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "" });
      let failed = 0;
      const t0 = performance.now();
      await pool(o.connections, o.concurrency, async (i) => {
        let peer: RawPeer;
        try {
          peer = await RawPeer.connect(ctx.broker.endpoint, { discard: true, ms: 3000 });
        } catch {
          failed++;
          return;
        }
        const style = i % 4;
        if (style > 0) peer.handshake();
        if (style >= 2) peer.socket.write(openBytes);
        if (style === 0 || style === 3) peer.destroy();
        else {
          peer.end();
          await Promise.race([peer.whenClosed, sleep(2000)]);
          peer.destroy();
        }
      });
      const s = (performance.now() - t0) / 1000;
      await sleep(500);
      const notes = [`${o.connections} connections in ${s.toFixed(1)} s (${Math.round(o.connections / s)}/s), ${failed} failed to connect`];
      notes.push(await connectionNotes(ctx, fds));
      return { notes };
    },
  };
}

/**
 * 7. Subscription amplification: one client subscribes `patterns` distinct non-literal patterns
 * to a stream, then publishes `publishes` messages (255-byte subject, `contentSize` content) to
 * it. Reported: how long the subscribing and the matching took (PING after the publishes).
 */
export function subscriptionAmplification(o: { patterns: number; publishes: number; contentSize: number }): Attack {
  return {
    name: "subscription amplification",
    async run(ctx) {
      const peer = await rawSession(ctx.broker.endpoint, "soak-amp");
      const t0 = performance.now();
      const reads: Uint8Array[] = [];
      for (let i = 0; i < o.patterns; i++) reads.push(mlmBytes({ type: "STREAM_READ", stream: "amp", pattern: `(a|b)+c${i}` }));
      for (let i = 0; i < reads.length; i += 1000) await peer.write(concat(reads.slice(i, i + 1000)));
      let refused = 0;
      let answered = 0;
      for (; answered < o.patterns; answered++) {
        const reply = await peer.next(undefined, 30_000);
        if (reply === undefined) break;
        if (reply.type !== "OK") refused++;
      }
      const subscribed = performance.now() - t0;
      if (answered < o.patterns) {
        peer.destroy();
        const why = peer.closed ? "connection closed by the broker" : "no answer within 30 s";
        return { notes: [`${answered} of ${o.patterns} STREAM-READs answered (${refused} refused), then ${why}`] };
      }
      await command(peer, { type: "STREAM_WRITE", stream: "amp" });
      const subject = "a".repeat(255);
      const t1 = performance.now();
      for (let i = 0; i < o.publishes; i++) peer.send({ type: "STREAM_SEND", subject, content: [new Uint8Array(o.contentSize)] });
      peer.send({ type: "CONNECTION_PING" });
      const pong = await peer.next("CONNECTION_PONG", 60_000);
      const matched = performance.now() - t1;
      peer.destroy();
      return {
        notes: [
          `${o.patterns} patterns subscribed in ${(subscribed / 1000).toFixed(1)} s (${refused} refused)`,
          pong ? `${o.publishes} publishes matched in ${Math.round(matched)} ms` : `no PONG within 60 s of the publishes`,
        ],
      };
    },
  };
}

/** 8. `clients` MlmClients connect (with a mailbox each) and stay idle for `seconds`. */
export function idleClients(o: { clients: number; seconds: number }): Attack {
  return {
    name: "idle clients",
    async run(ctx) {
      const fds = ctx.broker.fds();
      const before = ctx.broker.sample();
      const clients: MlmClient[] = [];
      let failed = 0;
      await pool(o.clients, 50, async (i) => {
        try {
          clients.push(await MlmClient.connect(ctx.broker.endpoint, { address: `soak-idle-${i}` }));
        } catch {
          failed++;
        }
      });
      await sleep(o.seconds * 1000);
      const perClient = (ctx.broker.sample() - before) / Math.max(1, clients.length);
      const notes = [`${clients.length} connected (${failed} failed); RSS +${(perClient / 1024).toFixed(1)} KiB per client`];
      notes.push(await connectionNotes(ctx, fds));
      return { notes, cleanup: async () => void await Promise.all(clients.map((c) => c.close())) };
    },
  };
}
