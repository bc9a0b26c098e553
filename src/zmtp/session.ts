import { decodeCommand, decodeErrorReason, decodePing, encodeError, encodePing, encodePong } from "./commands.ts";
import { ZmtpError } from "./errors.ts";
import { FrameDecoder, type FrameSink } from "./frame-decoder.ts";
import { FLAG_COMMAND, FLAG_MORE, FrameWriter } from "./frame.ts";
import { encodeGreeting, GreetingParser } from "./greeting.ts";
import { DEFAULT_MAX_MESSAGE_PARTS, DEFAULT_MAX_MESSAGE_SIZE, FRAME_OVERHEAD } from "./limits.ts";
import type { FrameCodec, Mechanism, MechanismContext } from "./mechanism/types.ts";
import { encodeMetadata, type Metadata } from "./metadata.ts";
import { checkPeerMetadata, peerInfo } from "./peer.ts";
import type { ReceiveBudget } from "./receive-budget.ts";
import type { PeerInfo, SessionHandler, SessionOptions } from "./session-types.ts";
import type { SocketType } from "./socket-type.ts";

// Plain numbers rather than an enum: enums are not erasable TypeScript syntax.
const State = { Greeting: 0, Handshake: 1, Ready: 2, Closed: 3 } as const;
type State = (typeof State)[keyof typeof State];

const utf8 = new TextEncoder();

/**
 * The sans-I/O ZMTP 3.1 connection state machine: feed it received bytes and the current
 * time, drain its output bytes, and receive whole messages and lifecycle events through a
 * handler. It never touches sockets, timers or clocks.
 *
 * Bad input ends this session only: the handler's `onClose` receives a ZmtpError saying why.
 *
 * @example
 * ```ts
 * const s = new Session({ socketType: "DEALER", mechanism: new NullMechanism() }, {
 *   onReady: () => s.send([new TextEncoder().encode("hello")]),
 *   onMessage: (frames) => console.log(frames),
 *   onClose: (err) => console.log(err.code),
 * });
 * s.start(Date.now());
 * socket.write(concat(s.takeOutput()));
 * socket.on("data", (chunk) => { s.feed(chunk, Date.now()); flush(s.takeOutput()); });
 * ```
 */
export class Session implements FrameSink, MechanismContext {
  readonly #handler: SessionHandler;
  readonly #mechanism: Mechanism;
  readonly #socketType: SocketType;
  readonly #writer = new FrameWriter();
  readonly #decoder = new FrameDecoder();
  readonly #greeting: GreetingParser;
  /** `maxMessageSize` less one frame's overhead: what the first frame of a message may hold. */
  readonly #maxFirstFrame: number;
  readonly #budget: ReceiveBudget | undefined;
  readonly #hbInterval: number;
  readonly #hbTimeout: number;
  readonly #hbTtl: number;
  readonly #handshakeTimeout: number;
  readonly #messagesPerFeed: number;
  /** Messages the current `feed` may still deliver. */
  #feedLeft = Infinity;
  readonly localMetadata: Uint8Array;
  #state: State = State.Greeting;
  #peerMinor = 0;
  #peerMeta: Metadata | undefined;
  #peer: PeerInfo | undefined;
  #parts: Uint8Array[] | null = null;
  /** Sizes of the finished parts of the current message, each plus FRAME_OVERHEAD (taken from the budget, if any). */
  #partsCost = 0;
  #startedAt = 0;
  #lastRecv = 0;
  #nextPingAt = Infinity;
  #pingOutstandingSince = -1;
  #peerTtl = 0;
  #pongQueued = false;
  #error: ZmtpError | undefined;
  /** Set once a mechanism that protects frames (CURVE) has completed its handshake. */
  #codec: FrameCodec | undefined;

  constructor(options: SessionOptions, handler: SessionHandler) {
    this.#handler = handler;
    this.#mechanism = options.mechanism;
    this.#socketType = options.socketType;
    this.#greeting = new GreetingParser(options.mechanism.name);
    this.#maxFirstFrame = (options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE) - FRAME_OVERHEAD;
    this.#messagesPerFeed = options.messagesPerFeed ?? Infinity;
    this.#decoder.maxData = this.#maxFirstFrame;
    this.#decoder.maxParts = options.maxMessageParts ?? DEFAULT_MAX_MESSAGE_PARTS;
    this.#budget = options.receiveBudget;
    this.#decoder.budget = options.receiveBudget;
    this.#decoder.maxCommand = options.maxCommandSize ?? 64 * 1024;
    if (options.allocate) this.#decoder.allocate = options.allocate;
    if (options.allocateOutput) this.#writer.allocate = options.allocateOutput;
    this.#decoder.frameBuffers = options.frameBuffers;
    this.#hbInterval = options.heartbeat?.interval ?? 0;
    this.#hbTimeout = options.heartbeat?.timeout ?? this.#hbInterval;
    this.#hbTtl = options.heartbeat?.ttl ?? 0;
    this.#handshakeTimeout = options.handshakeTimeout ?? 30_000;
    this.localMetadata = encodeMetadata([
      ["Socket-Type", utf8.encode(options.socketType)],
      ["Identity", options.identity ?? new Uint8Array(0)],
    ]);
  }

  /** True between the greeting and the end of the security handshake. */
  get handshaking(): boolean {
    return this.#state === State.Handshake;
  }

  /** True once the handshake is complete and until the session closes. */
  get ready(): boolean {
    return this.#state === State.Ready;
  }

  get closed(): boolean {
    return this.#state === State.Closed;
  }

  /** FrameSink: stop decoding once closed, or once this `feed` delivered its share. */
  get stopped(): boolean {
    return this.#state === State.Closed || this.#feedLeft <= 0;
  }

  /** Why the session closed, if it did. */
  get error(): ZmtpError | undefined {
    return this.#error;
  }

  /** Set once the handshake is complete. */
  get peer(): PeerInfo | undefined {
    return this.#peer;
  }

  /** Encoded bytes waiting for `takeOutput`. */
  get outputPending(): number {
    return this.#writer.pending;
  }

  /** True when a frame was cut off (useful to explain an EOF). */
  get midFrame(): boolean {
    return this.#decoder.midFrame || this.#parts !== null;
  }

  /** Queue our greeting. Call once, when the connection is up. */
  start(now: number): void {
    this.#startedAt = now;
    this.#lastRecv = now;
    this.#writer.raw(encodeGreeting(this.#mechanism.name, this.#mechanism.asServer));
  }

  /** Take the bytes to write, in order (possibly several chunks for large frames). */
  takeOutput(): Uint8Array[] {
    this.#pongQueued = false;
    return this.#writer.take();
  }

  /**
   * Where the next read may go directly: the unfilled part of a frame of which at least
   * `min` bytes are still missing. Report bytes written there with `fed`.
   */
  readTarget(min: number): Uint8Array | undefined {
    if (this.#state === State.Closed) return undefined;
    try {
      return this.#decoder.bodyTarget(min);
    } catch (err) {
      this.#fail(err);
      return undefined;
    }
  }

  /** `n` bytes were read into the buffer returned by `readTarget`. Never throws. */
  fed(n: number, now: number): void {
    if (this.#state === State.Closed) return;
    this.#lastRecv = now;
    this.#pingOutstandingSince = -1;
    try {
      this.#decoder.filled(n, this);
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * Process received bytes: `chunk[0..end]` (`end` defaults to the chunk's length, so a read
   * buffer needs no view of its filled part). With `transient` (the caller reuses `chunk`),
   * nothing keeps a reference to it: delivered frames are copies. Returns how many bytes were
   * used: `end`, unless `messagesPerFeed` stopped it earlier (feed the rest later, in order).
   * Never throws: failures close the session through `onClose`.
   */
  feed(chunk: Uint8Array, now: number, transient = false, end = chunk.length): number {
    if (this.#state === State.Closed) return end;
    this.#lastRecv = now;
    this.#pingOutstandingSince = -1;
    this.#feedLeft = this.#messagesPerFeed;
    try {
      let off = 0;
      if (this.#state === State.Greeting) {
        off = this.#greeting.push(end < chunk.length ? chunk.subarray(0, end) : chunk, 0);
        const g = this.#greeting.result;
        if (!g) return end;
        this.#peerMinor = g.minor;
        this.#state = State.Handshake;
        this.#mechanism.start(this);
      }
      const used = this.#decoder.push(chunk, off, this, transient, end);
      return (this.#state as State) === State.Closed ? end : used;
    } catch (err) {
      this.#fail(err);
      return end;
    } finally {
      this.#feedLeft = Infinity;
    }
  }

  /**
   * Send one message. Only valid once `ready`: data sent before the peer's READY makes libzmq
   * drop the connection. The frames are referenced, not copied, when large: do not mutate them.
   */
  send(frames: readonly Uint8Array[]): void {
    if (this.#state !== State.Ready) {
      throw new ZmtpError(
        this.#state === State.Closed ? "ZMTP_CLOSED" : "ZMTP_NOT_READY",
        this.#state === State.Closed ? "session is closed" : "handshake not complete",
      );
    }
    const last = frames.length - 1;
    if (last < 0) throw new RangeError("a message needs at least one frame");
    if (this.#codec !== undefined) {
      for (let i = 0; i <= last; i++) this.#sealed(i < last ? FLAG_MORE : 0, frames[i] as Uint8Array);
      return;
    }
    const w = this.#writer;
    for (let i = 0; i < last; i++) w.frame(FLAG_MORE, frames[i] as Uint8Array);
    w.frame(0, frames[last] as Uint8Array);
  }

  /** Queue a frame in its codec's command (written in place in the output block). */
  #sealed(flags: number, body: Uint8Array): void {
    const codec = this.#codec as FrameCodec;
    const size = codec.sealedSize(body.length);
    // libzmq sends MESSAGE as a data frame without flags (MORE travels inside the box).
    codec.seal(flags, body, this.#writer.frameInto(0, size));
  }

  /** Queue a command once ready: sealed when a codec protects the connection. */
  #readyCommand(body: Uint8Array): void {
    if (this.#codec !== undefined) this.#sealed(FLAG_COMMAND, body);
    else this.#writer.frame(FLAG_COMMAND, body);
  }

  /** PLAIN or CURVE server: the application's verdict asked for by `onAuthenticate` or `onAuthorize`. */
  authenticated(ok: boolean, now: number): void {
    if (this.#state !== State.Handshake) return;
    try {
      if (this.#mechanism.authenticated?.(this, ok)) this.#becomeReady(now);
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * Run the timers: handshake timeout, PING sending, heartbeat timeout and the peer's TTL.
   * Returns the next time `tick` must be called, or undefined if no timer is needed.
   */
  tick(now: number): number | undefined {
    if (this.#state === State.Closed) return undefined;
    if (this.#state !== State.Ready) {
      if (this.#handshakeTimeout > 0 && now - this.#startedAt >= this.#handshakeTimeout) {
        this.#fail(new ZmtpError("ZMTP_HANDSHAKE_TIMEOUT", `handshake not complete after ${this.#handshakeTimeout} ms`));
        return undefined;
      }
      return this.deadline;
    }
    if (this.#pingOutstandingSince >= 0 && now - this.#pingOutstandingSince >= this.#hbTimeout) {
      this.#fail(new ZmtpError("ZMTP_HEARTBEAT_TIMEOUT", `no traffic within ${this.#hbTimeout} ms of a PING`));
      return undefined;
    }
    if (this.#peerTtl > 0 && now - this.#lastRecv >= this.#peerTtl) {
      this.#fail(new ZmtpError("ZMTP_HEARTBEAT_TIMEOUT", `no traffic within the peer's TTL of ${this.#peerTtl} ms`));
      return undefined;
    }
    if (now >= this.#nextPingAt) {
      this.#readyCommand(encodePing(this.#hbTtl));
      if (this.#pingOutstandingSince < 0) this.#pingOutstandingSince = now;
      this.#nextPingAt = now + this.#hbInterval;
    }
    return this.deadline;
  }

  /** The earliest time at which `tick` has something to do, or undefined. */
  get deadline(): number | undefined {
    if (this.#state === State.Closed) return undefined;
    if (this.#state !== State.Ready) {
      return this.#handshakeTimeout > 0 ? this.#startedAt + this.#handshakeTimeout : undefined;
    }
    let d = this.#nextPingAt;
    if (this.#pingOutstandingSince >= 0) d = Math.min(d, this.#pingOutstandingSince + this.#hbTimeout);
    if (this.#peerTtl > 0) d = Math.min(d, this.#lastRecv + this.#peerTtl);
    return d === Infinity ? undefined : d;
  }

  /** Close locally (the owner is closing the connection); no callback is made. */
  close(): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#error = new ZmtpError("ZMTP_CLOSED", "closed locally");
    this.#dropPartial();
  }

  // ---- FrameSink

  frame(flags: number, body: Uint8Array): void {
    if (this.#codec !== undefined) {
      this.#openFrame(flags, body);
      return;
    }
    if ((flags & FLAG_COMMAND) !== 0) {
      this.#command(body);
      return;
    }
    if (this.#state !== State.Ready) {
      throw new ZmtpError("ZMTP_UNEXPECTED_FRAME", "message frame before the handshake completed");
    }
    this.#dataFrame(flags, body);
  }

  /**
   * A frame of a connection protected by a codec: every one must open (CURVE's MESSAGE,
   * which libzmq sends as a data frame without flags, though RFC 26 calls it a command, so
   * both are taken); what it carries is then a frame like any other, with the same limits.
   */
  #openFrame(flags: number, body: Uint8Array): void {
    if ((flags & FLAG_MORE) !== 0) {
      throw new ZmtpError("ZMTP_BAD_FRAME", "MORE flag outside a MESSAGE box on a CURVE connection");
    }
    const inner = (this.#codec as FrameCodec).open(body);
    if ((inner.flags & FLAG_COMMAND) !== 0) {
      if ((inner.flags & FLAG_MORE) !== 0) throw new ZmtpError("ZMTP_BAD_FRAME", "command frame with the MORE flag set");
      this.#command(inner.body);
      return;
    }
    if (inner.body.length > this.#maxFirstFrame - this.#partsCost) {
      throw new ZmtpError("ZMTP_FRAME_TOO_LARGE", `frame of ${inner.body.length} bytes exceeds the message size limit`);
    }
    this.#dataFrame(inner.flags, inner.body);
  }

  #dataFrame(flags: number, body: Uint8Array): void {
    if ((flags & FLAG_MORE) === 0) {
      this.#feedLeft--;
      const parts = this.#parts;
      if (parts === null) {
        this.#handler.onMessage([body]);
        return;
      }
      // Most multipart messages have two parts: a fresh pair costs less than growing the array.
      const message = parts.length === 1 ? [parts[0] as Uint8Array, body] : parts;
      if (message === parts) parts.push(body);
      this.#endMessage();
      this.#handler.onMessage(message);
      return;
    }
    const cost = body.length + FRAME_OVERHEAD;
    const budget = this.#budget;
    if (budget !== undefined && !budget.take(cost)) {
      throw new ZmtpError(
        "ZMTP_RECEIVE_BUDGET",
        `receive budget of ${budget.limit} bytes exhausted (${budget.held} held in unfinished messages)`,
      );
    }
    this.#partsCost += cost;
    if (this.#parts === null) this.#parts = [body];
    else this.#parts.push(body);
    this.#setMaxData(this.#maxFirstFrame - this.#partsCost);
    this.#decoder.partsHeld = this.#parts.length;
  }

  /**
   * What the next frame of this message may hold. With a codec, the frame carrying it may
   * hold the MESSAGE overhead more, and a PING or PONG (at most 23 bytes) must fit even when
   * the message has little room left: the size of what it carries is checked once opened.
   */
  #setMaxData(bytes: number): void {
    this.#decoder.maxData = this.#codec === undefined ? bytes : Math.max(bytes, 32) + this.#codec.overhead;
  }

  /** Forget the current message's parts and give their cost back. */
  #endMessage(): void {
    this.#parts = null;
    this.#budget?.give(this.#partsCost);
    this.#partsCost = 0;
    this.#setMaxData(this.#maxFirstFrame);
    this.#decoder.partsHeld = 0;
  }

  /** The session is over: what it holds of an unfinished message goes back to the budget. */
  #dropPartial(): void {
    this.#endMessage();
    this.#decoder.release();
  }

  #command(body: Uint8Array): void {
    this.#feedLeft--;
    const cmd = decodeCommand(body);
    if (this.#state === State.Handshake) {
      if (this.#mechanism.command(this, cmd)) this.#becomeReady(this.#lastRecv);
      return;
    }
    // Ready. libzmq may slip a PING between the frames of a multipart message, so commands
    // are accepted there too.
    switch (cmd.name) {
      case "PING": {
        const { ttlMs, context } = decodePing(cmd.data);
        this.#peerTtl = ttlMs;
        // Under a PING flood, one PONG per output batch proves liveness just as well.
        if (!this.#pongQueued || context.length > 0) {
          this.#readyCommand(encodePong(context));
          this.#pongQueued = context.length === 0;
        }
        return;
      }
      case "ERROR":
        throw new ZmtpError("ZMTP_PEER_ERROR", `peer sent ERROR: ${decodeErrorReason(cmd.data)}`);
      default:
        // PONG needs no action (any traffic counts as liveness); unknown commands are ignored, as libzmq does.
        return;
    }
  }

  #becomeReady(now: number): void {
    this.#state = State.Ready;
    this.#peer = peerInfo(this.#peerMeta, this.#peerMinor);
    const mechanism = this.#mechanism;
    if (mechanism.peerPublicKey !== undefined) this.#peer.curvePublicKey = mechanism.peerPublicKey;
    if (mechanism.codec !== undefined) {
      this.#codec = mechanism.codec;
      // Every frame now arrives as a command: commands get the limits of message frames, and
      // are opened into fresh buffers, so pooled frame buffers would never come back.
      this.#decoder.frameBuffers = undefined;
      this.#setMaxData(this.#maxFirstFrame);
    }
    if (this.#hbInterval > 0) this.#nextPingAt = now + this.#hbInterval;
    this.#handler.onReady(this.#peer);
  }

  // ---- MechanismContext

  sendCommand(body: Uint8Array): void {
    this.#writer.frame(FLAG_COMMAND, body);
  }

  acceptPeerMetadata(bytes: Uint8Array): void {
    this.#peerMeta = checkPeerMetadata(this.#socketType, bytes);
  }

  requestAuthorization(publicKey: Uint8Array): void {
    if (!this.#handler.onAuthorize) {
      throw new ZmtpError("ZMTP_AUTH_FAILED", "no CURVE authorizer configured");
    }
    this.#handler.onAuthorize(publicKey);
  }

  requestAuthentication(username: string, password: string): void {
    if (!this.#handler.onAuthenticate) {
      throw new ZmtpError("ZMTP_AUTH_FAILED", "no authenticator configured");
    }
    this.#handler.onAuthenticate(username, password);
  }

  #fail(err: unknown): void {
    if (this.#state === State.Closed) return;
    const error = err instanceof ZmtpError
      ? err
      : new ZmtpError("ZMTP_MALFORMED_COMMAND", `internal failure: ${String(err)}`, { cause: err });
    // The spec wants an ERROR for handshake refusals; we send it only where retrying cannot
    // help (libzmq stops reconnecting after one), and never for garbage that is not ZMTP.
    const refuse = this.#state === State.Handshake &&
      (error.code === "ZMTP_BAD_SOCKET_TYPE" || (error.code === "ZMTP_AUTH_FAILED" && this.#mechanism.asServer));
    if (refuse) {
      this.#writer.frame(FLAG_COMMAND, encodeError(error.code === "ZMTP_AUTH_FAILED" ? "400" : "invalid socket type"));
    }
    this.#state = State.Closed;
    this.#error = error;
    this.#dropPartial();
    this.#handler.onClose(error);
  }
}

