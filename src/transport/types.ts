/**
 * The one interface every transport implements: a ROUTER that binds and a DEALER that
 * connects, with libzmq's semantics for those socket types.
 *
 * Messages are arrays of frames (`Uint8Array[]`), delivered whole or not at all.
 * Handlers are called synchronously in arrival order; a handler that throws is reported
 * through the socket's `error` event and never breaks the socket.
 *
 * Implementations: `zmtp` (pure TypeScript over TCP, every runtime), `inproc` (in memory),
 * and `zeromq` (libzmq, behind the `malamute/zeromq` subpath, supported on Node only).
 */

/** One multipart message. */
export type Frames = Uint8Array[];

/** Server side of ZMTP PLAIN: decide whether a username/password may connect. */
export type PlainAuthenticator = (
  username: string,
  password: string,
  peer: { address: string },
) => boolean | Promise<boolean>;

/** A CURVE key: 32 raw bytes, or the 40-character Z85 text of them (as `zmq_curve_keypair` prints). */
export type CurveKeyInput = Uint8Array | string;

/**
 * Server side of ZMTP CURVE: decide whether a client's long-term public key (32 bytes, proven
 * by its vouch) may connect. A refusal (false, a rejection or a throw) sends the client ERROR
 * "400", as libzmq's ZAP does, and closes that connection.
 */
export type CurveAuthorizer = (
  publicKey: Uint8Array,
  peer: { address: string },
) => boolean | Promise<boolean>;

/**
 * CURVE server keys of a ROUTER (ZMTP RFC 26). Without `authorize`, every client that
 * completes the handshake is accepted (encryption only).
 *
 * @example
 * ```ts
 * const router = zmtp.router({ curve: { publicKey, secretKey, authorize: (key) => allowed.has(encodeZ85(key)) } });
 * ```
 */
export interface CurveServerOptions {
  publicKey: CurveKeyInput;
  secretKey: CurveKeyInput;
  authorize?: CurveAuthorizer;
}

/**
 * CURVE client keys of a DEALER: the server's public key and our own key pair.
 *
 * @example
 * ```ts
 * const dealer = zmtp.dealer({ curve: { serverKey: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", publicKey, secretKey } });
 * ```
 */
export interface CurveClientOptions {
  serverKey: CurveKeyInput;
  publicKey: CurveKeyInput;
  secretKey: CurveKeyInput;
}

/** What a ROUTER knows of a peer when it connects. */
export interface PeerConnectInfo {
  /** `ip:port` of the peer. */
  address: string;
  /** CURVE: the client's authenticated long-term public key (32 bytes). Absent without CURVE. */
  curvePublicKey?: Uint8Array;
}

/** Options shared by both socket types. */
export interface SocketOptions {
  /**
   * Largest accepted message, in bytes: the sum of its frame sizes plus 64 bytes per frame
   * (`FRAME_OVERHEAD`, so empty frames are not free). Larger input closes that connection;
   * over TCP a frame is refused at its header, before anything is allocated for it. `send`
   * throws TransportError `MESSAGE_TOO_LARGE` beyond it. Default 256 MiB.
   */
  maxMessageSize?: number;
  /** ZMTP heartbeat: send PING every `interval` ms (0 = off, the default) and drop the peer after `timeout` ms of silence. */
  heartbeat?: { interval: number; timeout?: number; ttl?: number };
  /**
   * Most frames in one message. More closes that connection with ZmtpError
   * `ZMTP_TOO_MANY_PARTS`, counted in `protocolErrors` (a flood of empty frames must not cost
   * memory without bound). Default 1024. Not applied by the `zeromq` transport (libzmq has no
   * such limit) nor by `inproc`.
   */
  maxMessageParts?: number;
  /**
   * Greeting and security handshake must finish within this many ms, else the connection
   * closes (ZmtpError `ZMTP_HANDSHAKE_TIMEOUT`, not a protocol error: a DEALER reconnects).
   * Default 30000; 0 = no limit.
   */
  handshakeTimeout?: number;
  /**
   * The sockets under the `zmtp` transport: `node` (`node:net`), `native` (`Bun.listen` /
   * `Bun.connect` on Bun, `Deno.listen` / `Deno.connect` on Deno; TransportError `BAD_OPTION`
   * on Node, which has none) or `auto` (the default: whichever the broker bench measured
   * faster on this runtime). Other transports ignore it.
   */
  socketApi?: "node" | "native" | "auto";
}

/**
 * A per-peer bound on output a ROUTER has accepted but not yet handed to the kernel (libzmq's
 * SNDHWM, plus a byte bound). At either mark, `send` to that peer drops the message, returns
 * false and counts it in `droppedHighWater`. Messages sent in one event-loop turn are all
 * still unwritten when the next is sent, so a burst to one peer also meets the mark.
 * Applied by the `zmtp` transport only.
 *
 * @example
 * ```ts
 * const router = zmtp.router({ sendHighWaterMark: { messages: 1000, bytes: 8 * 1024 * 1024 } });
 * const slow = new Set<string>(); // peers to stop producing for, by routing id
 * router.on("congested", (id) => slow.add(String(id))).on("drained", (id) => slow.delete(String(id)));
 * ```
 */
export interface SendHighWaterMark {
  /** Messages. Default 10 000. */
  messages?: number;
  /** Bytes, as encoded (frame bodies plus 2 or 9 bytes of header each). Default 64 MiB. */
  bytes?: number;
}

export interface RouterOptions extends SocketOptions {
  /** Enable ZMTP PLAIN as server; connections whose credentials are refused are closed. */
  plain?: { authenticate: PlainAuthenticator };
  /**
   * Enable ZMTP CURVE as server (`zmtp` transport): every connection is encrypted and the
   * client's public key is authorized by `curve.authorize`. It then appears in the `connect`
   * event's `curvePublicKey`. Exclusive with `plain`.
   */
  curve?: CurveServerOptions;
  /** When true, `send` to an unknown routing id throws instead of dropping and counting. */
  mandatory?: boolean;
  /**
   * Per-peer output bound. Before a peer reaches it, the ROUTER emits `congested` (backlog at
   * half of either mark) and later `drained` (back to a quarter of both), so the application can
   * stop producing for that peer instead of losing messages at the mark.
   */
  sendHighWaterMark?: SendHighWaterMark;
  /**
   * Bytes held across all connections in messages not yet completely received (buffers of
   * frames being assembled, and the finished parts of unfinished multipart messages, 64 bytes
   * more each). A connection whose next allocation would go beyond it is closed at once with
   * ZmtpError `ZMTP_RECEIVE_BUDGET`, counted in `protocolErrors`; it does not wait, so neither
   * it nor anyone else is stalled. Frames beyond 1 MiB are allocated as their bytes arrive, so
   * a declared size alone costs at most 64 KiB. Default 1 GiB. `zmtp` transport only.
   */
  receiveBudget?: number;
  /**
   * Messages taken from one connection per turn of the event loop; the rest of what was read
   * waits for a later turn (and that connection is not read meanwhile), so a peer's burst
   * cannot hold up the others. TCP transport only. Default 256.
   */
  messagesPerTurn?: number;
}

export interface DealerOptions extends SocketOptions {
  /** ZMTP PLAIN client credentials. */
  plain?: { username: string; password: string };
  /** ZMTP CURVE client keys (`zmtp` transport). Exclusive with `plain`. */
  curve?: CurveClientOptions;
  /** Identity sent in READY (0-255 bytes, first byte not 0). Default: none, the ROUTER generates one. */
  routingId?: Uint8Array;
  /** Messages queued while no peer is connected. Beyond it `send` throws TransportError `SEND_QUEUE_FULL`. Default 1000. */
  sendHighWaterMark?: number;
  /** First reconnect delay in ms (plus random jitter up to the same again). Default 100. */
  reconnectInterval?: number;
  /** Ceiling of the doubling reconnect delay, ms. Default 0 = no backoff (libzmq's default). */
  reconnectIntervalMax?: number;
}

/** Events of a ROUTER. `routingId` is the peer's id frame. */
export interface RouterEvents {
  message: (routingId: Uint8Array, frames: Frames) => void;
  connect: (routingId: Uint8Array, info: PeerConnectInfo) => void;
  disconnect: (routingId: Uint8Array, reason: string) => void;
  /**
   * The peer's unsent backlog reached half of a `sendHighWaterMark` (the `zmtp` transport;
   * `inproc` and `zeromq` never emit it).
   */
  congested: (routingId: Uint8Array) => void;
  /** After `congested`: the backlog fell back to a quarter of both marks. */
  drained: (routingId: Uint8Array) => void;
  error: (error: Error) => void;
}

/** Events of a DEALER. */
export interface DealerEvents {
  message: (frames: Frames) => void;
  connect: (endpoint: string) => void;
  disconnect: (endpoint: string, reason: string) => void;
  /**
   * A connection attempt failed before its handshake (refused, host not resolved...): `error`
   * is the system error. The socket keeps retrying; a caller may give up on it instead.
   * Transports that cannot tell (zeromq, inproc) never emit it.
   */
  attemptFailed: (endpoint: string, error: Error) => void;
  error: (error: Error) => void;
}

/** Counters every socket keeps. */
export interface SocketStats {
  messagesIn: number;
  messagesOut: number;
  /** Messages a ROUTER dropped because the routing id was unknown (not mandatory). */
  droppedUnroutable: number;
  /** Connections closed because of protocol errors (bad greeting, oversize, bad auth...). */
  protocolErrors: number;
  /** Messages a ROUTER dropped because the peer was at its `sendHighWaterMark` (optional: transports that bound it). */
  droppedHighWater?: number;
}

export interface RouterSocket {
  /** Bind to `tcp://host:port` (`*` = all interfaces, port 0 = ephemeral). Resolves with the bound endpoint. */
  bind(endpoint: string): Promise<string>;
  /**
   * Send `frames` to the peer `routingId`. Returns false if the peer is unknown and the
   * message was dropped (counted in `stats().droppedUnroutable`); throws TransportError
   * `HOST_UNREACHABLE` instead when `mandatory` is set.
   */
  send(routingId: Uint8Array, frames: Frames): boolean;
  on<E extends keyof RouterEvents>(event: E, handler: RouterEvents[E]): this;
  off<E extends keyof RouterEvents>(event: E, handler: RouterEvents[E]): this;
  /** Disconnect one peer. */
  disconnectPeer(routingId: Uint8Array): void;
  /** Bound endpoints, with resolved ports. */
  readonly endpoints: readonly string[];
  stats(): SocketStats;
  /** Stop listening and close every connection. Idempotent. */
  close(): Promise<void>;
}

export interface DealerSocket {
  /** Connect (and keep reconnecting) to an endpoint. May be called for several endpoints. */
  connect(endpoint: string): void;
  /** Queue a message; sent round-robin to connected peers, or queued until one connects. */
  send(frames: Frames): void;
  on<E extends keyof DealerEvents>(event: E, handler: DealerEvents[E]): this;
  off<E extends keyof DealerEvents>(event: E, handler: DealerEvents[E]): this;
  /** True when at least one peer has completed the handshake. */
  readonly connected: boolean;
  stats(): SocketStats;
  /** Close every connection and stop reconnecting. Queued messages are discarded. Idempotent. */
  close(): Promise<void>;
}

/** A factory of sockets. */
export interface Transport {
  /** `"zmtp"`, `"inproc"` or `"zeromq"`. */
  readonly name: string;
  router(options?: RouterOptions): RouterSocket;
  dealer(options?: DealerOptions): DealerSocket;
}
