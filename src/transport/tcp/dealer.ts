// The zmtp transport's DEALER: connects, keeps reconnecting and sends round-robin to ready peers.
import { Emitter } from "../../util/emitter.ts";
import type { ZmtpError } from "../../zmtp/errors.ts";
import { parseEndpoint } from "../endpoint.ts";
import { TransportError } from "../errors.ts";
import { clientMechanisms } from "../mechanisms.ts";
import { curveReady } from "../../zmtp/mechanism/curve/sodium.ts";
import type { Mechanism } from "../../zmtp/mechanism/types.ts";
import { checkMessageSize, emptyStats, reconnectSchedule } from "../common.ts";
import { socketApiFor } from "../socket/select.ts";
import type { SocketApi } from "../socket/types.ts";
import { type ConnectionOwner, sessionLimits, TcpConnection } from "./connection.ts";
import type { DealerEvents, DealerOptions, DealerSocket, Frames, SocketStats } from "../types.ts";

/**
 * A peer whose unsent bytes exceed this is skipped by round-robin (messages then wait in the
 * dealer's queue, bounded by `sendHighWaterMark`), so a stalled peer cannot eat all memory.
 */
const CONGESTED_BYTES = 16 * 1024 * 1024;

interface Target {
  endpoint: string;
  host: string;
  port: number;
  conn: TcpConnection | undefined;
  ready: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Current reconnect interval (doubles up to the maximum after failed attempts). */
  interval: number;
  stopped: boolean;
}

/**
 * DEALER over TCP with the pure-TypeScript ZMTP engine. Connects to any number of
 * endpoints, keeps reconnecting (100 ms + jitter by default, optional doubling backoff),
 * sends round-robin to ready peers and delivers incoming messages as they arrive.
 *
 * Messages sent while no peer is ready (or every ready peer is congested) wait in a queue
 * that survives reconnects; past `sendHighWaterMark` messages, `send` throws TransportError
 * `SEND_QUEUE_FULL`. Messages already written to a connection that then dies are lost, as
 * with libzmq.
 */
export class TcpDealer extends Emitter<DealerEvents> implements DealerSocket, ConnectionOwner {
  readonly #options: DealerOptions;
  readonly #targets = new Map<string, Target>();
  readonly #ready: TcpConnection[] = [];
  /** Every connection until its OS socket is closed (some may still be flushing an ERROR). */
  readonly #conns = new Set<TcpConnection>();
  readonly #queue: Frames[] = [];
  #queueHead = 0;
  readonly #stats: SocketStats = emptyStats();
  readonly #hwm: number;
  readonly #baseInterval: number;
  readonly #sockets: SocketApi;
  #rr = 0;
  #closed = false;
  /** A fresh security mechanism per connection. */
  readonly #mechanism: () => Mechanism;

  constructor(options: DealerOptions) {
    super();
    this.#options = options;
    this.#sockets = socketApiFor(options.socketApi);
    this.#hwm = options.sendHighWaterMark ?? 1000;
    this.#baseInterval = Math.max(1, options.reconnectInterval ?? 100);
    this.#mechanism = clientMechanisms(options);
  }

  get connected(): boolean {
    return this.#ready.length > 0;
  }

  connect(endpoint: string): void {
    if (this.#closed) throw new TransportError("SOCKET_CLOSED", "socket is closed");
    const parsed = parseEndpoint(endpoint);
    if (parsed.scheme !== "tcp") {
      throw new TransportError("BAD_ENDPOINT", `zmtp transport cannot connect ${endpoint} (tcp:// only)`);
    }
    if (this.#targets.has(endpoint)) return;
    const host = parsed.host === "0.0.0.0" ? "127.0.0.1" : parsed.host;
    const t: Target = {
      endpoint, host, port: parsed.port, conn: undefined, ready: false, timer: undefined,
      interval: this.#baseInterval, stopped: false,
    };
    this.#targets.set(endpoint, t);
    // libsodium loads once before the first CURVE handshake (noble serves until it has).
    if (this.#options.curve) void curveReady().then(() => this.#attempt(t));
    else this.#attempt(t);
  }

  #attempt(t: Target): void {
    t.timer = undefined;
    if (this.#closed || t.stopped) return;
    const o = this.#options;
    const { socket, reads } = this.#sockets.connect(t.host, t.port);
    const conn = new TcpConnection(socket, {
      socketType: "DEALER",
      mechanism: this.#mechanism(),
      identity: o.routingId,
      ...sessionLimits(o),
    }, this, reads);
    conn.tag = t;
    t.conn = conn;
    this.#conns.add(conn);
    void conn.closed.then(() => this.#conns.delete(conn));
    socket.once("connect", () => conn.start());
  }

  connReady(conn: TcpConnection): void {
    const t = conn.tag as Target;
    t.ready = true;
    t.interval = this.#baseInterval;
    this.#ready.push(conn);
    this.emit("connect", t.endpoint);
    this.#drainQueue();
  }

  connMessage(_conn: TcpConnection, frames: Uint8Array[]): void {
    this.#stats.messagesIn++;
    this.emit("message", frames);
  }

  connDrain(): void {
    this.#drainQueue();
  }

  connClosed(conn: TcpConnection, reason: string, error: ZmtpError | undefined): void {
    const t = conn.tag as Target;
    if (t.conn === conn) t.conn = undefined;
    const wasReady = t.ready;
    t.ready = false;
    const i = this.#ready.indexOf(conn);
    if (i >= 0) this.#ready.splice(i, 1);
    if (wasReady) this.emit("disconnect", t.endpoint, reason);
    if (this.#closed || t.stopped) return;
    if (!wasReady && conn.socketError !== undefined) this.emit("attemptFailed", t.endpoint, conn.socketError);
    if (this.#closed || t.stopped) return;
    if (error?.isProtocolError) {
      // As libzmq: retrying cannot fix bad credentials or an incompatible peer.
      t.stopped = true;
      this.#stats.protocolErrors++;
      this.emit("error", error);
      return;
    }
    // Still retried (as libzmq does), but said, so that a client can tell a wrong key from silence.
    if (error?.code === "ZMTP_HANDSHAKE_CLOSED") this.emit("error", error);
    // A connection that had worked restarts the schedule; failed attempts back off.
    const { delay, next } = reconnectSchedule(
      wasReady ? this.#baseInterval : t.interval,
      this.#options.reconnectIntervalMax ?? 0,
      Math.random(),
    );
    t.interval = next;
    t.timer = setTimeout(() => this.#attempt(t), delay);
  }

  /**
   * Queue a message for the next ready peer (round-robin).
   *
   * @throws TransportError `SEND_QUEUE_FULL` when no peer can take it now and
   *   `sendHighWaterMark` messages are already waiting; `MESSAGE_TOO_LARGE` when it exceeds
   *   `maxMessageSize`; `SOCKET_CLOSED` after `close()`.
   */
  send(frames: Frames): void {
    if (this.#closed) throw new TransportError("SOCKET_CLOSED", "socket is closed");
    checkMessageSize(frames, this.#options.maxMessageSize);
    if (this.#queue.length === this.#queueHead) {
      const conn = this.#pick();
      if (conn) {
        conn.send(frames);
        this.#stats.messagesOut++;
        return;
      }
    }
    if (this.#queue.length - this.#queueHead >= this.#hwm) {
      throw new TransportError(
        "SEND_QUEUE_FULL",
        `${this.#hwm} messages already wait for a peer (sendHighWaterMark); retry later`,
      );
    }
    this.#queue.push(frames);
  }

  #pick(): TcpConnection | undefined {
    const ready = this.#ready;
    const n = ready.length;
    for (let k = 0; k < n; k++) {
      const conn = ready[this.#rr++ % n] as TcpConnection;
      if (conn.backlog < CONGESTED_BYTES) return conn;
    }
    return undefined;
  }

  #drainQueue(): void {
    const q = this.#queue;
    while (this.#queueHead < q.length) {
      const conn = this.#pick();
      if (!conn) break;
      conn.send(q[this.#queueHead] as Frames);
      q[this.#queueHead++] = undefined as unknown as Frames;
      this.#stats.messagesOut++;
    }
    if (this.#queueHead === q.length) {
      q.length = 0;
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > q.length) {
      q.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  }

  stats(): SocketStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#queueHead = 0;
    for (const t of this.#targets.values()) {
      if (t.timer !== undefined) clearTimeout(t.timer);
      t.timer = undefined;
    }
    const closing = [...this.#conns].map((conn) => {
      conn.close("dealer closed");
      return conn.closed;
    });
    await Promise.all(closing);
  }
}
