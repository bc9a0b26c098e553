import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import type { ZmtpError } from "../zmtp/errors.ts";
import { type PeerInfo, Session, type SessionOptions } from "../zmtp/session.ts";

/** What a connection reports to the socket that owns it. */
export interface ConnectionOwner {
  connReady(conn: TcpConnection, peer: PeerInfo): void;
  connMessage(conn: TcpConnection, frames: Uint8Array[]): void;
  /** Called exactly once per connection, whatever ended it. `error` is set for ZMTP failures. */
  connClosed(conn: TcpConnection, reason: string, error: ZmtpError | undefined): void;
  /** The socket's write buffer emptied after having been full. */
  connDrain?(conn: TcpConnection): void;
  /** PLAIN server: check credentials. */
  authenticate?(username: string, password: string, peer: { address: string }): boolean | Promise<boolean>;
}

const now = (): number => performance.now();
/** Frame bodies are overwritten completely, so zero-filling them first is wasted work. */
const unzeroed = (size: number): Uint8Array => Buffer.allocUnsafe(size);

/**
 * One TCP connection driven by a ZMTP session: feeds received chunks to the engine, writes
 * its output in batches (one write per event-loop turn, corked when several chunks), runs
 * the heartbeat timer and reports the outcome to its owner exactly once.
 */
export class TcpConnection {
  readonly socket: Socket;
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
  /** Resolves when the OS socket is fully closed (so `close()` can wait for it). */
  readonly closed: Promise<void>;

  constructor(socket: Socket, options: SessionOptions, owner: ConnectionOwner) {
    this.socket = socket;
    this.#owner = owner;
    this.session = new Session({ allocate: unzeroed, ...options }, {
      onReady: (peer) => {
        this.#armTimer();
        owner.connReady(this, peer);
      },
      onMessage: (frames) => owner.connMessage(this, frames),
      onAuthenticate: (username, password) => this.#authenticate(username, password),
      onClose: (error) => this.#finish(error.message, error),
    });
    socket.on("data", (chunk: Uint8Array) => {
      this.session.feed(chunk, now());
      if (this.session.outputPending > 0) this.#scheduleFlush();
      const d = this.session.deadline;
      if (d !== undefined && d < this.#timerAt) this.#armTimer();
    });
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
      this.#finish(reason, undefined);
    });
    socket.on("drain", () => owner.connDrain?.(this));
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get backlog(): number {
    return this.socket.writableLength + this.session.outputPending;
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
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushTask);
    }
  }

  /** Close locally. Reports `connClosed` with `reason` (unless already closed). */
  close(reason: string): void {
    this.session.close();
    this.#finish(reason, undefined);
    // A connection that was already finishing may still be flushing an ERROR: stop it now.
    if (!this.socket.destroyed) this.socket.destroy();
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  #flush(): void {
    if (this.session.outputPending === 0 || this.socket.destroyed) return;
    const chunks = this.session.takeOutput();
    if (chunks.length === 1) {
      this.socket.write(chunks[0] as Uint8Array);
      return;
    }
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
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
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = check ? check(username, password, { address: this.address }) : false;
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

  #finish(reason: string, error: ZmtpError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.session.close();
    const socket = this.socket;
    if (!socket.destroyed) {
      // Let a final ERROR command reach the peer, then make sure nothing stays open.
      const rest = error ? this.session.takeOutput() : [];
      if (rest.length > 0 && socket.writable) {
        for (const c of rest) socket.write(c);
        socket.end(() => socket.destroy());
      } else {
        socket.destroy();
      }
    }
    this.#owner.connClosed(this, reason, error);
  }
}
