/**
 * A raw ZMTP 3.0 DEALER over node:net, written by hand so an attack controls every byte: the
 * NULL greeting and READY, frame headers (including lying ones), pacing, and whether the
 * socket is read at all. MLM messages are encoded with the project's codec; frames are not.
 */
import { connect, type Socket } from "node:net";
import { decode, encode } from "../src/proto/mod.ts";
import type { MlmMessage } from "../src/proto/mod.ts";

const MORE = 1;
const LONG = 2;
const COMMAND = 4;
const text = new TextEncoder();

/** The 64-byte ZMTP 3.0 greeting of a NULL client. */
export function greeting(): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g.set(text.encode("NULL"), 12);
  return g;
}

/** One ZMTP frame: header (short or long) plus body. */
export function frame(body: Uint8Array, flags = 0): Uint8Array {
  const long = body.length > 255;
  const head = long ? 9 : 2;
  const out = new Uint8Array(head + body.length);
  out[0] = flags | (long ? LONG : 0);
  if (long) new DataView(out.buffer).setBigUint64(1, BigInt(body.length));
  else out[1] = body.length;
  out.set(body, head);
  return out;
}

/** A frame header that declares `size` body bytes (always the long form), to be followed by as many bytes or not. */
export function longHeader(size: number, more = false): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = LONG | (more ? MORE : 0);
  new DataView(out.buffer).setBigUint64(1, BigInt(size));
  return out;
}

/** READY with `Socket-Type: DEALER`. */
export function ready(): Uint8Array {
  const name = text.encode("Socket-Type");
  const value = text.encode("DEALER");
  const body = new Uint8Array(6 + 1 + name.length + 4 + value.length);
  body[0] = 5;
  body.set(text.encode("READY"), 1);
  body[6] = name.length;
  body.set(name, 7);
  new DataView(body.buffer).setUint32(7 + name.length, value.length);
  body.set(value, 11 + name.length);
  return frame(body, COMMAND);
}

/** The ZMTP frames of one MLM message, concatenated (`more` leaves the last frame open). */
export function mlmBytes(message: MlmMessage, more = false): Uint8Array {
  const frames = encode(message);
  const parts = frames.map((f, i) => frame(f, i < frames.length - 1 || more ? MORE : 0));
  return concat(parts);
}

/** The bytes of `parts`, one after the other. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function hostPort(endpoint: string): { host: string; port: number } {
  const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`not a tcp endpoint: ${endpoint}`);
  return { host: m[1] as string, port: Number(m[2]) };
}

/**
 * One raw connection. Incoming MLM messages are decoded and queued unless `discard` is set.
 *
 * @example
 * ```ts
 * const peer = await RawPeer.connect(endpoint);
 * peer.handshake();
 * peer.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "" });
 * await peer.next("OK");
 * peer.destroy();
 * ```
 */
export class RawPeer {
  readonly socket: Socket;
  closed = false;
  readonly whenClosed: Promise<void>;
  readonly #inbox: MlmMessage[] = [];
  #waiter: (() => void) | undefined;
  #pending: Uint8Array = new Uint8Array(0);
  #greeted = false;
  #parts: Uint8Array[] = [];

  private constructor(socket: Socket, discard: boolean) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("error", () => {});
    this.whenClosed = new Promise((resolve) => socket.once("close", () => {
      this.closed = true;
      this.#waiter?.();
      resolve();
    }));
    if (!discard) socket.on("data", (d: Uint8Array) => this.#onData(d));
    else socket.resume();
  }

  /** Connect (no bytes sent yet). Rejects if the connection fails within `ms`. */
  static connect(endpoint: string, options: { discard?: boolean; ms?: number } = {}): Promise<RawPeer> {
    const { host, port } = hostPort(endpoint);
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${endpoint} timed out`));
      }, options.ms ?? 5000);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", reject);
        resolve(new RawPeer(socket, options.discard === true));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Write the greeting and READY without waiting for the broker's (ZMTP allows it). */
  handshake(): void {
    this.socket.write(greeting());
    this.socket.write(ready());
  }

  /** Write one MLM message. */
  send(message: MlmMessage): void {
    if (!this.closed) this.socket.write(mlmBytes(message));
  }

  /** Write bytes, waiting for the socket to drain; false once the connection is closed. */
  async write(bytes: Uint8Array): Promise<boolean> {
    if (this.closed || this.socket.destroyed) return false;
    if (this.socket.write(bytes)) return true;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
    return !this.closed;
  }

  /** The next incoming message (of `type`, others skipped), or undefined after `ms` or on close. */
  async next(type?: MlmMessage["type"], ms = 5000): Promise<MlmMessage | undefined> {
    const deadline = performance.now() + ms;
    for (;;) {
      while (this.#inbox.length > 0) {
        const m = this.#inbox.shift() as MlmMessage;
        if (type === undefined || m.type === type) return m;
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.closed) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  /** CONNECTION-OPEN with `address`; true once the broker said OK. */
  async open(address = "", ms = 5000): Promise<boolean> {
    this.send({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address });
    return (await this.next(undefined, ms))?.type === "OK";
  }

  /** Stop reading the socket (the kernel buffers fill, then the broker's own). */
  pause(): void {
    this.socket.pause();
  }

  /** Close gracefully (FIN). */
  end(): void {
    this.socket.end();
  }

  /** Close at once. */
  destroy(): void {
    this.socket.destroy();
  }

  #onData(data: Uint8Array): void {
    let buf = this.#pending.length === 0 ? data : concat([this.#pending, data]);
    let o = 0;
    if (!this.#greeted) {
      if (buf.length < 64) {
        this.#pending = buf;
        return;
      }
      this.#greeted = true;
      o = 64;
    }
    while (buf.length - o >= 2) {
      const flags = buf[o] as number;
      const long = (flags & LONG) !== 0;
      const head = long ? 9 : 2;
      if (buf.length - o < head) break;
      const size = long ? Number(new DataView(buf.buffer, buf.byteOffset + o + 1, 8).getBigUint64(0)) : buf[o + 1] as number;
      if (buf.length - o < head + size) break;
      const body = buf.slice(o + head, o + head + size);
      o += head + size;
      if ((flags & COMMAND) !== 0) continue;
      this.#parts.push(body);
      if ((flags & MORE) !== 0) continue;
      const result = decode(this.#parts);
      this.#parts = [];
      if (result.ok) this.#inbox.push(result.message);
    }
    buf = buf.subarray(o);
    this.#pending = buf.length > 0 ? buf.slice() : new Uint8Array(0);
    this.#waiter?.();
  }
}

/**
 * Whether the broker answers: a fresh connection completes OPEN → OK and PING → PONG within
 * `ms`. Resolves with the round-trip time in ms, or undefined.
 *
 * @example
 * ```ts
 * const ms = await pingBroker(endpoint);
 * if (ms === undefined) console.log("broker does not answer");
 * ```
 */
export function pingBroker(endpoint: string, ms = 5000): Promise<number | undefined> {
  const t0 = performance.now();
  return withOpenPeer(endpoint, "", ms, async (peer) => {
    peer.send({ type: "CONNECTION_PING" });
    const pong = await peer.next("CONNECTION_PONG", Math.max(1, ms - (performance.now() - t0)));
    return pong ? performance.now() - t0 : undefined;
  });
}

/** Run `use` on a new raw peer that completed its handshake and OPEN with `address`; undefined if anything fails. */
async function withOpenPeer<T>(
  endpoint: string, address: string, ms: number, use: (peer: RawPeer) => Promise<T | undefined>,
): Promise<T | undefined> {
  let peer: RawPeer;
  try {
    peer = await RawPeer.connect(endpoint, { ms });
  } catch {
    return undefined;
  }
  try {
    peer.handshake();
    if (!(await peer.open(address, ms))) return undefined;
    return await use(peer);
  } catch {
    return undefined;
  } finally {
    peer.destroy();
  }
}

/** The part of the broker's admin STATS answer the soak reads. */
export interface AdminStats {
  clients: number;
  connections: number;
  counters: Record<string, number>;
}

/**
 * The broker's own counters, through its admin service (SERVICE-SEND `malamute.admin` STATS).
 * Undefined if it does not answer within `ms`.
 *
 * @example
 * ```ts
 * const stats = await adminStats(endpoint);
 * console.log(stats?.connections);
 * ```
 */
export function adminStats(endpoint: string, ms = 5000): Promise<AdminStats | undefined> {
  return withOpenPeer(endpoint, `soak-admin-${Math.random().toString(36).slice(2)}`, ms, async (peer) => {
    peer.send({ type: "SERVICE_SEND", address: "malamute.admin", subject: "STATS", tracker: "", timeout: 0, content: [] });
    const reply = await peer.next("MAILBOX_DELIVER", ms);
    if (reply?.type !== "MAILBOX_DELIVER" || reply.content[0] === undefined) return undefined;
    return JSON.parse(new TextDecoder().decode(reply.content[0])) as AdminStats;
  });
}
