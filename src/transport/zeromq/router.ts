// The zeromq (libzmq) transport's ROUTER, behind the transport interface.
import { Router } from "zeromq";
import { Emitter } from "../../util/emitter.ts";
import { parseEndpoint } from "../endpoint.ts";
import { TransportError } from "../errors.ts";
import { curveServerKeys } from "../mechanisms.ts";
import { encodeZ85 } from "../../zmtp/z85.ts";
import { checkMessageSize, emptyStats, routingIdKey } from "../common.ts";
import { registerZap } from "./zap.ts";
import type { Frames, RouterEvents, RouterOptions, RouterSocket, SocketStats } from "../types.ts";

/** libzmq's ZMQ_ROUTER_NOTIFY (draft API, built into the zeromq package): 1 = connect, 2 = disconnect. */
const ZMQ_ROUTER_NOTIFY = 97;

/** zeromq.js keeps raw option setters protected; a subclass reaches the draft option. */
class NotifyingRouter extends Router {
  enableNotify(): void {
    this.setInt32Option(ZMQ_ROUTER_NOTIFY, 3);
  }
}

interface Peer {
  id: Uint8Array;
  address: string;
}

/**
 * ROUTER backed by libzmq. Peers are tracked through libzmq's router notifications, so
 * `send` can answer synchronously whether a routing id is known and connect/disconnect
 * events carry the routing id.
 *
 * Limitation: libzmq signals connect and disconnect as a message made of one empty frame, so
 * an application message consisting of exactly one empty frame cannot be told apart and is
 * not delivered. The libzmq socket runs with an unlimited send HWM and ROUTER_MANDATORY, so
 * nothing is dropped silently: a peer that vanishes before its queued message is written
 * counts in `droppedUnroutable`. Hence `sendHighWaterMark` is not applied here (no
 * `congested`/`drained` events); nor are `maxMessageParts` and `receiveBudget`, which libzmq
 * lacks (its `maxMessageSize` bounds each frame). `handshakeTimeout` is libzmq's handshake
 * interval. With `curve`, the keys become libzmq's own CURVE options (curveServer,
 * curveSecretKey, curvePublicKey) and `authorize` its ZAP handler; zeromq.js does not expose a
 * connection's ZAP user id, so the `connect` event carries no `curvePublicKey` here.
 */
export class ZeromqRouter extends Emitter<RouterEvents> implements RouterSocket {
  readonly #options: RouterOptions;
  readonly #socket: NotifyingRouter;
  readonly #peers = new Map<string, Peer>();
  /** Peers dropped by `disconnectPeer` whose real disconnect notification is still to come. */
  readonly #forgotten = new Set<string>();
  readonly #stats: SocketStats = emptyStats();
  readonly #endpoints: string[] = [];
  readonly #out: Frames[] = [];
  #writing = false;
  #closed = false;
  #zap: Promise<{ domain: string; release: () => Promise<void> }> | undefined;
  #loop: Promise<void> | undefined;
  #writer: Promise<void> = Promise.resolve();

  constructor(options: RouterOptions) {
    super();
    this.#options = options;
    const hb = options.heartbeat;
    this.#socket = new NotifyingRouter({
      linger: 0,
      mandatory: true,
      sendHighWaterMark: 0,
      maxMessageSize: options.maxMessageSize ?? 256 * 1024 * 1024,
      handshakeInterval: options.handshakeTimeout ?? 30_000,
      ...(hb && hb.interval > 0
        ? { heartbeatInterval: hb.interval, heartbeatTimeout: hb.timeout ?? hb.interval, heartbeatTimeToLive: hb.ttl ?? 0 }
        : {}),
    });
    this.#socket.enableNotify();
    const plain = options.plain;
    if (plain && options.curve) throw new RangeError("a socket takes either curve or plain options, not both");
    if (plain) {
      this.#socket.plainServer = true;
      this.#zap = registerZap({ plain: plain.authenticate });
    }
    if (options.curve) {
      const keys = curveServerKeys(options.curve);
      this.#socket.curveServer = true;
      this.#socket.curveSecretKey = encodeZ85(keys.secretKey);
      this.#socket.curvePublicKey = encodeZ85(keys.publicKey);
      // Without a ZAP handler libzmq admits every CURVE client, which is what no `authorize` means.
      if (options.curve.authorize) this.#zap = registerZap({ curve: options.curve.authorize });
    }
    // The monitor is set up before bind(): events emitted before it is attached are lost.
    this.#socket.events.on("handshake:error:auth", () => this.#stats.protocolErrors++);
    this.#socket.events.on("handshake:error:protocol", () => this.#stats.protocolErrors++);
  }

  /**
   * Reading starts only once the socket is bound: under Deno, a zeromq.js receive that is
   * pending from before bind() is never woken up (verified with plain zeromq.js).
   */
  #startReading(): void {
    if (this.#loop) return;
    this.#loop = this.#receive();
  }

  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  async bind(endpoint: string): Promise<string> {
    if (this.#closed) throw new TransportError("SOCKET_CLOSED", "socket is closed");
    const parsed = parseEndpoint(endpoint);
    if (parsed.scheme !== "tcp") throw new TransportError("BAD_ENDPOINT", `zeromq transport binds tcp:// only, not ${endpoint}`);
    if (this.#zap) this.#socket.zapDomain = (await this.#zap).domain;
    const host = parsed.host.includes(":") ? `[${parsed.host}]` : parsed.host;
    try {
      await this.#socket.bind(`tcp://${host}:${parsed.port === 0 ? "*" : parsed.port}`);
    } catch (err) {
      throw new TransportError("BIND_FAILED", `cannot bind ${endpoint}: ${(err as Error).message}`, { cause: err });
    }
    this.#startReading();
    const bound = this.#socket.lastEndpoint ?? endpoint;
    this.#endpoints.push(bound);
    return bound;
  }

  async #receive(): Promise<void> {
    try {
      for await (const [id, ...frames] of this.#socket) {
        if (!id) continue;
        if (frames.length === 1 && (frames[0] as Uint8Array).length === 0) {
          this.#notified(id);
          continue;
        }
        this.#stats.messagesIn++;
        this.emit("message", id, frames);
      }
    } catch (err) {
      if (!this.#closed) this.emit("error", err instanceof Error ? err : new Error(String(err)));
    }
  }

  #notified(id: Uint8Array): void {
    const key = routingIdKey(id);
    if (this.#forgotten.delete(key)) return;
    const known = this.#peers.get(key);
    if (known) {
      this.#peers.delete(key);
      this.emit("disconnect", known.id, "connection closed");
    } else {
      const peer = { id, address: "" };
      this.#peers.set(key, peer);
      this.emit("connect", id, { address: peer.address });
    }
  }

  /**
   * Queue a message for `routingId`. Returns false (counted in `droppedUnroutable`) if no
   * such peer is connected; throws TransportError `HOST_UNREACHABLE` instead when `mandatory`.
   */
  send(routingId: Uint8Array, frames: Frames): boolean {
    if (this.#closed || !this.#peers.has(routingIdKey(routingId))) {
      if (this.#options.mandatory) throw new TransportError("HOST_UNREACHABLE", "no peer with that routing id");
      this.#stats.droppedUnroutable++;
      return false;
    }
    checkMessageSize(frames, this.#options.maxMessageSize);
    this.#out.push([routingId, ...frames]);
    this.#stats.messagesOut++;
    if (!this.#writing) this.#writer = this.#write();
    return true;
  }

  async #write(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0 && !this.#closed) {
        const batch = this.#out.splice(0, this.#out.length);
        for (const msg of batch) {
          if (this.#closed) return;
          try {
            await this.#socket.send(msg);
          } catch (err) {
            if (this.#closed) return;
            if ((err as { code?: string }).code === "EHOSTUNREACH") this.#stats.droppedUnroutable++;
            else this.emit("error", err instanceof Error ? err : new Error(String(err)));
          }
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * libzmq cannot close one connection of a ROUTER: the peer is forgotten (nothing more is
   * routed to it and a disconnect event is emitted) but its TCP connection stays open.
   */
  disconnectPeer(routingId: Uint8Array): void {
    const key = routingIdKey(routingId);
    const peer = this.#peers.get(key);
    if (!peer) return;
    this.#peers.delete(key);
    this.#forgotten.add(key);
    this.emit("disconnect", peer.id, "disconnected by router");
  }

  stats(): SocketStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#out.length = 0;
    this.#socket.close();
    await Promise.allSettled([this.#loop, this.#writer]);
    if (this.#zap) await (await this.#zap).release();
  }
}
