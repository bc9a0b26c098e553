// The zmtp transport's ROUTER: listens, assigns routing ids and routes messages to connections.
import type { BufferPool } from "../../util/buffer-pool.ts";
import { Emitter } from "../../util/emitter.ts";
import type { ZmtpError } from "../../zmtp/errors.ts";
import type { Mechanism } from "../../zmtp/mechanism/types.ts";
import { DEFAULT_RECEIVE_BUDGET } from "../../zmtp/limits.ts";
import { ReceiveBudget } from "../../zmtp/receive-budget.ts";
import type { PeerInfo } from "../../zmtp/session-types.ts";
import { formatTcpEndpoint, parseEndpoint } from "../endpoint.ts";
import { TransportError } from "../errors.ts";
import { serverMechanisms } from "../mechanisms.ts";
import { curveReady } from "../../zmtp/mechanism/curve/sodium.ts";
import { checkMessageSize, emptyStats, RoutingIdGenerator, routingIdKey } from "../common.ts";
import { socketApiFor } from "../socket/select.ts";
import type { SocketApi, StreamListener, StreamSocket } from "../socket/types.ts";
import { type ReadInto, USER_READ_BUFFERS } from "../socket/node-reads.ts";
import { type ConnectionOwner, sessionLimits, TcpConnection } from "./connection.ts";
import type { Frames, RouterEvents, RouterOptions, RouterSocket, SocketStats } from "../types.ts";


/**
 * Messages taken from one connection per turn of the event loop when the options name none:
 * at a few µs each, a burst costs the other connections at most a millisecond or two of waiting.
 */
export const DEFAULT_MESSAGES_PER_TURN = 256;
/**
 * Options of the TCP ROUTER: the transport's, plus how long `close()` may spend flushing.
 *
 * @example
 * ```ts
 * const router = new TcpRouter({ linger: 200 }); // close() waits at most 200 ms per connection
 * ```
 */
export interface TcpRouterOptions extends RouterOptions {
  /**
   * On `close()`, ms to let output already sent to a peer reach it before its connection is
   * cut (connections with nothing left to send close at once). Default 1000; 0 = cut at once.
   */
  linger?: number;
  /**
   * Recycle large frame buffers through this pool (Node only; elsewhere ignored). Received
   * frames of at least `pool.minSize` bytes come from it with one reference, which the
   * `message` listener owns: it must `release` each such frame once nothing reads it any more
   * (or leave it to the GC). Pooled frames passed to `send` are held until written.
   */
  pool?: BufferPool;
}

/**
 * Whether a ROUTER here recycles buffers through `pool` (Node only: its write callbacks are
 * known to mean "the kernel has the bytes"; elsewhere the option is ignored).
 *
 * @example
 * ```ts
 * const pool = RECYCLES_BUFFERS ? new BufferPool() : undefined;
 * ```
 */
export const RECYCLES_BUFFERS = USER_READ_BUFFERS;

/** Default per-peer send high-water mark in messages (libzmq's SNDHWM is 1000; we count unwritten ones only). */
export const DEFAULT_SEND_HWM_MESSAGES = 10_000;
/** Default per-peer send high-water mark in bytes. */
export const DEFAULT_SEND_HWM_BYTES = 64 * 1024 * 1024;

interface Peer {
  id: Uint8Array;
  key: string;
  conn: TcpConnection;
  /** `congested` was emitted and `drained` not yet. */
  congested: boolean;
}

/**
 * ROUTER over TCP with the pure-TypeScript ZMTP engine. Peers are known by routing id once
 * their handshake is complete; anonymous peers get `00` + a 32-bit counter, a new one on
 * every connection, as libzmq does.
 *
 * Sends never block: each peer's output is batched per event-loop turn. `close()` flushes
 * what was already sent, within `linger` ms.
 *
 * Each peer's backlog (messages accepted by `send` whose bytes the kernel has not taken yet,
 * and those bytes: encoded frames waiting in the engine plus the socket's write buffer) is
 * bounded by `sendHighWaterMark` (default 10,000 messages, 64 MiB): at either mark `send`
 * drops the message, returns false and counts `droppedHighWater`, as libzmq's ROUTER does
 * at its SNDHWM. `congested` is emitted when the backlog reaches half of either mark, and
 * `drained` once it is back to a quarter of both, so a producer can pause before losing
 * anything. Received input is bounded per message (`maxMessageSize`, `maxMessageParts`) and
 * across connections (`receiveBudget`, default 1 GiB, shared by every connection of this
 * ROUTER): a connection whose next allocation would exceed it is closed at once, with a
 * `ZMTP_RECEIVE_BUDGET` error counted in `protocolErrors`, rather than made to wait.
 */
export class TcpRouter extends Emitter<RouterEvents> implements RouterSocket, ConnectionOwner {
  readonly #options: TcpRouterOptions;
  readonly #servers: StreamListener[] = [];
  readonly #sockets: SocketApi;
  readonly #endpoints: string[] = [];
  readonly #conns = new Set<TcpConnection>();
  readonly #peers = new Map<string, Peer>();
  /**
   * The same peers by the routing id object this socket handed out in `connect` and `message`:
   * owners pass that object back to `send`, and finding it by identity spares building the
   * string key for every message sent.
   */
  readonly #byId = new Map<Uint8Array, Peer>();
  readonly #ids = new RoutingIdGenerator();
  readonly #stats: SocketStats = { ...emptyStats(), droppedHighWater: 0 };
  #closed = false;
  readonly #pool: BufferPool | undefined;
  readonly #hwmMessages: number;
  readonly #hwmBytes: number;
  /** Bytes held in unfinished received messages, across every connection. */
  readonly receiveBudget: ReceiveBudget;
  readonly authenticate: ConnectionOwner["authenticate"];
  readonly authorize: ConnectionOwner["authorize"];
  /** A fresh security mechanism per connection. */
  readonly #mechanism: () => Mechanism;

  constructor(options: TcpRouterOptions) {
    super();
    this.#options = options;
    this.#sockets = socketApiFor(options.socketApi);
    this.#pool = RECYCLES_BUFFERS && this.#sockets.name === "node" ? options.pool : undefined;
    this.#hwmMessages = options.sendHighWaterMark?.messages ?? DEFAULT_SEND_HWM_MESSAGES;
    this.#hwmBytes = options.sendHighWaterMark?.bytes ?? DEFAULT_SEND_HWM_BYTES;
    this.receiveBudget = new ReceiveBudget(options.receiveBudget ?? DEFAULT_RECEIVE_BUDGET);
    const plain = options.plain;
    if (plain) this.authenticate = (u, p, peer) => plain.authenticate(u, p, peer);
    const authorize = options.curve?.authorize;
    if (authorize) this.authorize = (key, peer) => authorize(key, peer);
    this.#mechanism = serverMechanisms(options);
  }

  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  bind(endpoint: string): Promise<string> {
    if (this.#closed) return Promise.reject(new TransportError("SOCKET_CLOSED", "socket is closed"));
    let parsed;
    try {
      parsed = parseEndpoint(endpoint);
    } catch (err) {
      return Promise.reject(err);
    }
    if (parsed.scheme !== "tcp") {
      return Promise.reject(new TransportError("BAD_ENDPOINT", `zmtp transport cannot bind ${endpoint} (tcp:// only)`));
    }
    const { host, port } = parsed;
    // libsodium loads once before the first CURVE handshake (noble serves until it has).
    const ready = this.#options.curve ? curveReady().then(() => undefined) : Promise.resolve();
    return ready.then(() => this.#sockets.listen(host, port, (socket, reads) => this.#accept(socket, reads), (err) => this.emit("error", err))).then(
      (server) => {
        if (this.#closed) {
          void server.close();
          throw new TransportError("SOCKET_CLOSED", "socket closed while binding");
        }
        const bound = formatTcpEndpoint(host, server.port);
        this.#servers.push(server);
        this.#endpoints.push(bound);
        return bound;
      },
      (err: Error) => {
        throw new TransportError("BIND_FAILED", `cannot bind ${endpoint}: ${err.message}`, { cause: err });
      },
    );
  }

  #accept(socket: StreamSocket, reads: ReadInto | undefined): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const o = this.#options;
    const conn = new TcpConnection(socket, {
      socketType: "ROUTER",
      mechanism: this.#mechanism(),
      ...sessionLimits(o),
      receiveBudget: this.receiveBudget,
      messagesPerFeed: o.messagesPerTurn ?? DEFAULT_MESSAGES_PER_TURN,
    }, this, reads, this.#pool);
    // Tracked until the OS socket is closed, so close() also ends connections still flushing an ERROR.
    this.#conns.add(conn);
    void conn.closed.then(() => this.#conns.delete(conn));
    conn.start();
  }

  connReady(conn: TcpConnection, peer: PeerInfo): void {
    const id = peer.identity.length > 0 ? peer.identity : this.#ids.next();
    const key = routingIdKey(id);
    if (this.#peers.has(key)) {
      // libzmq leaves such a newcomer unattached; closing it lets it retry once the id is free.
      conn.close(`routing id ${key} is already connected`);
      return;
    }
    const p: Peer = { id, key, conn, congested: false };
    conn.tag = p;
    this.#peers.set(key, p);
    this.#byId.set(id, p);
    this.emit("connect", id, peer.curvePublicKey ? { address: conn.address, curvePublicKey: peer.curvePublicKey } : { address: conn.address });
  }

  connMessage(conn: TcpConnection, frames: Uint8Array[]): void {
    this.#stats.messagesIn++;
    this.emit("message", (conn.tag as Peer).id, frames);
  }

  connClosed(conn: TcpConnection, reason: string, error: ZmtpError | undefined): void {
    if (error?.isProtocolError) {
      this.#stats.protocolErrors++;
      this.emit("error", error);
    }
    const p = conn.tag as Peer | undefined;
    if (p && this.#peers.get(p.key) === p) {
      this.#peers.delete(p.key);
      this.#byId.delete(p.id);
      this.emit("disconnect", p.id, reason);
    }
  }

  connWritten(conn: TcpConnection): void {
    const p = conn.tag as Peer | undefined;
    if (p === undefined || !p.congested) return;
    if (conn.pendingMessages * 4 <= this.#hwmMessages && conn.backlog * 4 <= this.#hwmBytes) {
      p.congested = false;
      if (this.#peers.get(p.key) === p) this.emit("drained", p.id);
    }
  }

  /**
   * Send to one peer. Returns false (and counts `droppedUnroutable`) when no peer has this
   * routing id; with `mandatory`, throws TransportError `HOST_UNREACHABLE` instead. Returns
   * false (and counts `droppedHighWater`) when the peer's backlog is at `sendHighWaterMark`.
   *
   * @throws TransportError `MESSAGE_TOO_LARGE` beyond `maxMessageSize`.
   */
  send(routingId: Uint8Array, frames: Frames): boolean {
    const p = this.#closed ? undefined : this.#byId.get(routingId) ?? this.#peers.get(routingIdKey(routingId));
    if (p === undefined) {
      if (this.#options.mandatory) throw new TransportError("HOST_UNREACHABLE", "no peer with that routing id");
      this.#stats.droppedUnroutable++;
      return false;
    }
    checkMessageSize(frames, this.#options.maxMessageSize);
    const conn = p.conn;
    if (conn.pendingMessages >= this.#hwmMessages || conn.backlog >= this.#hwmBytes) {
      (this.#stats.droppedHighWater as number)++;
      return false;
    }
    conn.send(frames);
    this.#stats.messagesOut++;
    if (!p.congested && (conn.pendingMessages * 2 >= this.#hwmMessages || conn.backlog * 2 >= this.#hwmBytes)) {
      p.congested = true;
      this.emit("congested", p.id);
    }
    return true;
  }

  disconnectPeer(routingId: Uint8Array): void {
    this.#peers.get(routingIdKey(routingId))?.conn.close("disconnected by router");
  }

  stats(): SocketStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const servers = this.#servers.splice(0);
    const closing = [...this.#conns].map((conn) => {
      conn.close("router closed", this.#options.linger ?? 1000);
      return conn.closed;
    });
    await Promise.all([
      ...closing,
      ...servers.map((s) => s.close()),
    ]);
  }
}
