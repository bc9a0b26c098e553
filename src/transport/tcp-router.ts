import { createServer, type Server, type Socket } from "node:net";
import type { BufferPool } from "../util/buffer-pool.ts";
import { Emitter } from "../util/emitter.ts";
import type { ZmtpError } from "../zmtp/errors.ts";
import { NullMechanism } from "../zmtp/mechanism-null.ts";
import { PlainServerMechanism } from "../zmtp/mechanism-plain.ts";
import type { PeerInfo } from "../zmtp/session.ts";
import { formatTcpEndpoint, parseEndpoint } from "./endpoint.ts";
import { TransportError } from "./errors.ts";
import { emptyStats, RoutingIdGenerator, routingIdKey } from "./tcp-common.ts";
import { adoptAccepted, type ConnectionOwner, ReadInto, TcpConnection, USER_READ_BUFFERS } from "./tcp-connection.ts";
import type { Frames, RouterEvents, RouterOptions, RouterSocket, SocketStats } from "./types.ts";

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

interface Peer {
  id: Uint8Array;
  key: string;
  conn: TcpConnection;
}

/**
 * ROUTER over TCP with the pure-TypeScript ZMTP engine. Peers are known by routing id once
 * their handshake is complete; anonymous peers get `00` + a 32-bit counter, a new one on
 * every connection, as libzmq does.
 *
 * Sends never block: each peer's output is batched per event-loop turn. There is no
 * per-peer high-water mark (Malamute's broker runs its ROUTER unbounded too). `close()`
 * flushes what was already sent, within `linger` ms.
 */
export class TcpRouter extends Emitter<RouterEvents> implements RouterSocket, ConnectionOwner {
  readonly #options: TcpRouterOptions;
  readonly #servers: Server[] = [];
  readonly #endpoints: string[] = [];
  readonly #conns = new Set<TcpConnection>();
  readonly #peers = new Map<string, Peer>();
  readonly #ids = new RoutingIdGenerator();
  readonly #stats: SocketStats = emptyStats();
  #closed = false;
  readonly #pool: BufferPool | undefined;
  readonly authenticate: ConnectionOwner["authenticate"];

  constructor(options: TcpRouterOptions) {
    super();
    this.#options = options;
    this.#pool = RECYCLES_BUFFERS ? options.pool : undefined;
    const plain = options.plain;
    if (plain) this.authenticate = (u, p, peer) => plain.authenticate(u, p, peer);
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
    return new Promise<string>((resolve, reject) => {
      const server = createServer({ pauseOnConnect: USER_READ_BUFFERS }, (socket) => this.#accept(socket));
      const onError = (err: Error) => {
        server.close();
        reject(new TransportError("BIND_FAILED", `cannot bind ${endpoint}: ${err.message}`, { cause: err }));
      };
      server.once("error", onError);
      server.listen({ host, port }, () => {
        server.off("error", onError);
        server.on("error", (err) => this.emit("error", err));
        if (this.#closed) {
          server.close();
          reject(new TransportError("SOCKET_CLOSED", "socket closed while binding"));
          return;
        }
        const addr = server.address();
        const bound = formatTcpEndpoint(host, typeof addr === "object" && addr ? addr.port : port);
        this.#servers.push(server);
        this.#endpoints.push(bound);
        resolve(bound);
      });
    });
  }

  #accept(accepted: Socket): void {
    if (this.#closed) {
      accepted.destroy();
      return;
    }
    const o = this.#options;
    const hooks = new ReadInto();
    const { socket, direct } = adoptAccepted(accepted, hooks);
    const conn = new TcpConnection(socket, {
      socketType: "ROUTER",
      mechanism: o.plain ? new PlainServerMechanism() : new NullMechanism(),
      maxMessageSize: o.maxMessageSize,
      heartbeat: o.heartbeat,
    }, this, direct ? hooks : undefined, this.#pool);
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
    const p: Peer = { id, key, conn };
    conn.tag = p;
    this.#peers.set(key, p);
    this.emit("connect", id, { address: conn.address });
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
      this.emit("disconnect", p.id, reason);
    }
  }

  /**
   * Send to one peer. Returns false (and counts `droppedUnroutable`) when no peer has this
   * routing id; with `mandatory`, throws TransportError `HOST_UNREACHABLE` instead.
   */
  send(routingId: Uint8Array, frames: Frames): boolean {
    const p = this.#closed ? undefined : this.#peers.get(routingIdKey(routingId));
    if (p === undefined) {
      if (this.#options.mandatory) throw new TransportError("HOST_UNREACHABLE", "no peer with that routing id");
      this.#stats.droppedUnroutable++;
      return false;
    }
    const max = this.#options.maxMessageSize;
    if (max !== undefined && frames.reduce((n, f) => n + f.byteLength, 0) > max) {
      throw new TransportError("MESSAGE_TOO_LARGE", `message exceeds maxMessageSize ${max}`);
    }
    p.conn.send(frames);
    this.#stats.messagesOut++;
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
      ...servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ]);
  }
}
