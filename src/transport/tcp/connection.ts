// One TCP connection driven by a ZMTP session: batched writes, heartbeat timer, close reporting.
import { Buffer } from "node:buffer";
import type { BufferPool } from "../../util/buffer-pool.ts";
import { atTurnEnd, nextTurn } from "../../util/next-turn.ts";
import { ZmtpError } from "../../zmtp/errors.ts";
import type { PeerInfo, SessionOptions } from "../../zmtp/session-types.ts";
import type { SocketOptions } from "../types.ts";
import { Session } from "../../zmtp/session.ts";
import { DIRECT_MIN, type ReadInto } from "../socket/node-reads.ts";
import type { StreamSocket } from "../socket/types.ts";

/** What a connection reports to the socket that owns it. */
/**
 * The session limits and heartbeat a TCP socket's options give each of its connections (the
 * DEALER and the ROUTER pass the same ones).
 *
 * @example
 * ```ts
 * new TcpConnection(socket, { socketType: "DEALER", mechanism, ...sessionLimits(options) }, owner);
 * ```
 */
export function sessionLimits(o: SocketOptions): Pick<SessionOptions, "maxMessageSize" | "maxMessageParts" | "handshakeTimeout" | "heartbeat"> {
  return {
    maxMessageSize: o.maxMessageSize,
    maxMessageParts: o.maxMessageParts,
    handshakeTimeout: o.handshakeTimeout,
    heartbeat: o.heartbeat,
  };
}

export interface ConnectionOwner {
  connReady(conn: TcpConnection, peer: PeerInfo): void;
  connMessage(conn: TcpConnection, frames: Uint8Array[]): void;
  /** Called exactly once per connection, whatever ended it. `error` is set for ZMTP failures. */
  connClosed(conn: TcpConnection, reason: string, error: ZmtpError | undefined): void;
  /** The socket's write buffer emptied after having been full. */
  connDrain?(conn: TcpConnection): void;
  /** A batch of messages reached the kernel: `pendingMessages` and `backlog` just fell. */
  connWritten?(conn: TcpConnection): void;
  /** PLAIN server: check credentials. */
  authenticate?(username: string, password: string, peer: { address: string }): boolean | Promise<boolean>;
  /** CURVE server: authorize a client's public key. Absent: every client is accepted. */
  authorize?(publicKey: Uint8Array, peer: { address: string }): boolean | Promise<boolean>;
}

const now = (): number => performance.now();
/**
 * Frame bodies and output blocks are overwritten completely, so zero-filling them first is
 * wasted work; and a socket writes a Buffer (or a view of one) without wrapping it first.
 */
const unzeroed = (size: number): Uint8Array => Buffer.allocUnsafe(size);

/** An empty write: its callback runs once every write queued before it is out. */
const NOTHING = new Uint8Array(0);

/**
 * One TCP connection driven by a ZMTP session: feeds received chunks to the engine, writes
 * its output in batches (one write per event-loop turn, corked when several chunks), runs
 * the heartbeat timer and reports the outcome to its owner exactly once. The socket is a
 * node:net Socket or a runtime's own socket wrapped as one (see `StreamSocket`).
 */
export class TcpConnection {
  readonly socket: StreamSocket;
  readonly session: Session;
  readonly #owner: ConnectionOwner;
  /** `ip:port` of the peer. */
  address = "";
  /** Routing id assigned by a ROUTER, or the endpoint of a DEALER; owner's bookkeeping. */
  tag: unknown;
  #flushQueued = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #done = false;
  #socketError: Error | undefined;
  /** Input read but not yet fed to the session (see `received`); reading is paused meanwhile. */
  #heldInput: Uint8Array | undefined = undefined;
  /** Pool of large frame buffers: received frames come from it, sent ones are held until written. */
  readonly #pool: BufferPool | undefined;
  /** Pooled frames sent since the last flush; released once the kernel has them. */
  #held: Uint8Array[] = [];
  /** Messages sent since the last flush. */
  #unflushed = 0;
  /** Messages flushed whose write has not completed yet. */
  #inFlight = 0;
  /** Resolves when the OS socket is fully closed (so `close()` can wait for it). */
  readonly closed: Promise<void>;

  /**
   * `reads` is set when the socket reads through those hooks (`onread`) rather than `data`
   * events. With `pool`, large received frames are taken from it (one buffer per frame) and
   * pooled frames passed to `send` hold a reference until their write has completed.
   */
  constructor(socket: StreamSocket, options: SessionOptions, owner: ConnectionOwner, reads?: ReadInto, pool?: BufferPool) {
    this.socket = socket;
    this.#owner = owner;
    this.#pool = pool;
    this.session = new Session({
      allocate: unzeroed,
      allocateOutput: unzeroed,
      ...options,
      ...(pool ? { frameBuffers: pool } : {}),
    }, {
      onReady: (peer) => {
        this.#armTimer();
        owner.connReady(this, peer);
      },
      onMessage: (frames) => owner.connMessage(this, frames),
      onAuthenticate: (username, password) => this.#authenticate(username, password),
      onAuthorize: (publicKey) => this.#authorize(publicKey),
      onClose: (error) => this.#finish(error.message, error),
    });
    if (reads) reads.conn = this;
    else {
      socket.on("data", (chunk: Uint8Array, transient?: boolean) => {
        if (!this.received(chunk, chunk.length, transient === true)) socket.pause();
      });
      socket.readDirect?.(() => this.session.readTarget(DIRECT_MIN), (n) => this.received(undefined, n));
    }
    socket.on("error", (err: Error) => {
      this.#socketError = err;
    });
    let onClosed!: () => void;
    this.closed = new Promise<void>((resolve) => (onClosed = resolve));
    socket.on("close", () => {
      onClosed();
      const err = this.#socketError;
      const reason = this.session.midFrame
        ? "connection lost in the middle of a frame"
        : err
        ? `connection error: ${err.message}`
        : "connection closed by peer";
      // Reported (transient, so the owner still reconnects): the only sign a CURVE client gets
      // of a server that could not open its HELLO, i.e. of a wrong server key.
      const cut = this.session.handshaking
        ? new ZmtpError("ZMTP_HANDSHAKE_CLOSED", `${reason} during the security handshake`)
        : undefined;
      this.#finish(reason, cut);
    });
    socket.on("drain", () => owner.connDrain?.(this));
  }

  /**
   * Bytes arrived: `chunk[0..n]`, or (when `chunk` is undefined) `n` bytes read into the
   * session's read target. A chunk is transient (reused after this call) unless it came from a
   * `data` event. Returns false when the session took only part of it (`messagesPerFeed`): the
   * rest is kept and fed on a later turn, and the caller must stop reading until then (it is
   * resumed here).
   */
  received(chunk: Uint8Array | undefined, n: number, transient = true): boolean {
    if (chunk === undefined) this.session.fed(n, now());
    else {
      const used = this.session.feed(chunk, now(), transient, n);
      if (used < n) {
        const rest = chunk.subarray(used, n);
        this.#heldInput = transient ? Buffer.from(rest) : rest;
        nextTurn(this.#feedHeld);
      }
    }
    if (this.session.outputPending > 0) this.#scheduleFlush();
    const d = this.session.deadline;
    if (d !== undefined && d < this.#timerAt) this.#armTimer();
    return this.#heldInput === undefined;
  }

  /** The rest of a read the session stopped in (one peer's burst must not hold up the others). */
  readonly #feedHeld = (): void => {
    const rest = this.#heldInput;
    this.#heldInput = undefined;
    if (rest === undefined || this.#done) return;
    if (this.received(rest, rest.length, false)) this.socket.resume();
  };

  /** Bytes accepted but not yet handed to the kernel. */
  get backlog(): number {
    return this.socket.writableLength + this.session.outputPending;
  }

  /** Messages accepted by `send` whose bytes have not all been handed to the kernel yet. */
  get pendingMessages(): number {
    return this.#unflushed + this.#inFlight;
  }

  /** Start the ZMTP exchange; call when the TCP connection is established. */
  start(): void {
    this.socket.setNoDelay(true);
    this.address = `${this.socket.remoteAddress ?? "?"}:${this.socket.remotePort ?? 0}`;
    this.session.start(now());
    this.#flush();
    this.#armTimer();
  }

  /** Queue a message; it is written together with everything else sent in this turn. */
  send(frames: readonly Uint8Array[]): void {
    this.session.send(frames);
    this.#unflushed++;
    const pool = this.#pool;
    if (pool !== undefined) {
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i] as Uint8Array;
        if (pool.ref(frame)) this.#held.push(frame);
      }
    }
    this.#scheduleFlush();
  }

  /** The socket's own error (ECONNREFUSED, ENOTFOUND...), if it had one. */
  get socketError(): Error | undefined {
    return this.#socketError;
  }

  /**
   * Close locally. Reports `connClosed` with `reason` (unless already closed). With `linger`
   * > 0, bytes already sent are flushed first (the socket is ended, then destroyed at the
   * latest after `linger` ms); otherwise it is destroyed at once.
   */
  close(reason: string, linger = 0): void {
    if (this.#done) {
      // Already finishing, maybe still flushing an ERROR: stop it now.
      if (!this.socket.destroyed) this.socket.destroy();
      return;
    }
    const rest = linger > 0 ? this.session.takeOutput() : [];
    this.session.close();
    this.#finish(reason, undefined, linger > 0 ? { rest, linger } : undefined);
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Once per turn rather than once per read: when the replies of several workers arrive in
    // one turn, the caller gets them in one write instead of one each (with 4 workers and 64
    // requests in flight this cut the broker's writes per message and raised round trips/s,
    // bench/broker.ts); a lone round trip pays only the turn's check phase.
    atTurnEnd(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  #flush(): void {
    if (this.session.outputPending === 0 || this.socket.destroyed || !this.socket.writable) return;
    const socket = this.socket;
    const chunks = this.session.takeOutput();
    // No write callbacks: Node schedules a tick and allocates per write that has one, and
    // merges the chunks of a corked batch only when none has.
    if (chunks.length === 1) {
      socket.write(chunks[0] as Uint8Array);
    } else {
      socket.cork();
      for (let i = 0; i < chunks.length; i++) socket.write(chunks[i] as Uint8Array);
      socket.uncork();
    }
    if (this.#unflushed === 0 && this.#held.length === 0) return;
    if (socket.writableLength === 0) {
      // The kernel took the whole batch during the write (the common case): its pooled frames
      // are free again and its messages are out.
      this.#release(this.#held);
      this.#unflushed = 0;
      this.#owner.connWritten?.(this);
    } else {
      // An empty write queued behind the batch reports when it is out (or was cancelled).
      socket.write(NOTHING, this.#batchWritten());
    }
  }

  /**
   * The callback for when the batch just flushed is out: release its pooled frames and count
   * its messages as handed to the kernel.
   */
  #batchWritten(): () => void {
    const held = this.#held;
    const messages = this.#unflushed;
    this.#unflushed = 0;
    this.#inFlight += messages;
    if (held.length > 0) this.#held = [];
    return () => {
      this.#release(held);
      this.#inFlight -= messages;
      this.#owner.connWritten?.(this);
    };
  }

  /** Drop this connection's hold on pooled frames whose bytes the kernel has, and forget them. */
  #release(held: Uint8Array[]): void {
    if (held.length === 0) return;
    (this.#pool as BufferPool).releaseAll(held);
    held.length = 0;
  }

  #armTimer(): void {
    const d = this.session.deadline;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
    }
    if (d === undefined || this.#done) return;
    this.#timerAt = d;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, Math.ceil(d - now())));
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.session.tick(now());
    if (this.#done) return;
    if (this.session.outputPending > 0) this.#flush();
    this.#armTimer();
  };

  #authenticate(username: string, password: string): void {
    const check = this.#owner.authenticate;
    this.#verdict(() => (check ? check(username, password, { address: this.address }) : false));
  }

  #authorize(publicKey: Uint8Array): void {
    const check = this.#owner.authorize;
    this.#verdict(() => (check ? check(publicKey, { address: this.address }) : true));
  }

  /** Ask the application (sync or async; a throw or rejection is a refusal) and pass the answer on. */
  #verdict(ask: () => boolean | Promise<boolean>): void {
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = ask();
    } catch {
      verdict = false;
    }
    Promise.resolve(verdict).then(
      (ok) => this.#afterAuth(ok === true),
      () => this.#afterAuth(false),
    );
  }

  #afterAuth(ok: boolean): void {
    if (this.#done) return;
    this.session.authenticated(ok, now());
    if (this.session.outputPending > 0) this.#flush();
  }

  #finish(reason: string, error: ZmtpError | undefined, graceful?: { rest: Uint8Array[]; linger: number }): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.session.close();
    const socket = this.socket;
    if (!socket.destroyed) {
      // A final ERROR command, or what a lingering close still has to send, goes out before
      // the socket ends; the peer's close (or the linger timeout) then finishes it.
      const rest = graceful ? graceful.rest : error ? this.session.takeOutput() : [];
      const unsent = rest.length > 0 || (graceful !== undefined && socket.writableLength > 0);
      if (unsent && socket.writable) {
        for (const c of rest) socket.write(c);
        if (graceful) {
          const timer = setTimeout(() => socket.destroy(), graceful.linger);
          socket.once("close", () => clearTimeout(timer));
          socket.end();
        } else {
          socket.end(() => socket.destroy());
        }
      } else {
        socket.destroy();
      }
    }
    this.#owner.connClosed(this, reason, error);
  }
}
