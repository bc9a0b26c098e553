// What a ZMTP session and its owner exchange: the session's options, the handler it calls and
// what it reports about the peer. Types only, so that transports can name them without the engine.
import type { FrameBufferSource } from "./frame-decoder.ts";
import type { Mechanism } from "./mechanism/types.ts";
import type { Metadata } from "./metadata.ts";
import type { ReceiveBudget } from "./receive-budget.ts";
import type { SocketType } from "./socket-type.ts";
import type { ZmtpError } from "./errors.ts";

/** Heartbeat settings, in milliseconds (libzmq's ZMQ_HEARTBEAT_IVL / _TIMEOUT / _TTL). */
export interface HeartbeatOptions {
  /** Send a PING this often once the handshake is done; 0 = never. */
  interval: number;
  /** Close if nothing arrives this long after a PING. Default: `interval`. */
  timeout?: number;
  /** TTL announced in our PINGs: the peer may close if it hears nothing from us for this long. Default 0 (none). */
  ttl?: number;
}

/** Configuration of one connection. */
export interface SessionOptions {
  /** Our socket type, announced as `Socket-Type` and checked against the peer's. */
  socketType: SocketType;
  /** A fresh mechanism instance for this connection. Its role comes from configuration. */
  mechanism: Mechanism;
  /** Our routing id, announced as `Identity` (may be empty). */
  identity?: Uint8Array;
  /**
   * Largest accepted message: the sum of its frames' sizes plus `FRAME_OVERHEAD` (64) bytes
   * per frame. A frame whose header declares more than the rest of this allowance closes the
   * session with `ZMTP_FRAME_TOO_LARGE` before anything is allocated for it. Default 256 MiB.
   */
  maxMessageSize?: number;
  /** Most frames in one message; the header of one more closes with `ZMTP_TOO_MANY_PARTS`. Default 1024. */
  maxMessageParts?: number;
  /**
   * Budget shared with other sessions for bytes held in unfinished messages (frames being
   * assembled, finished parts of a multipart message, each part charged with `FRAME_OVERHEAD`
   * too). When it cannot cover the next allocation or part, this session closes with
   * `ZMTP_RECEIVE_BUDGET`. Default: none.
   */
  receiveBudget?: ReceiveBudget;
  /** Largest accepted command frame. Default 64 KiB. */
  maxCommandSize?: number;
  /**
   * Messages (and commands) one `feed` call delivers at most; it then stops and returns how
   * many bytes it used, so the owner can hand the rest over on a later turn of its event loop
   * and one peer's burst cannot hold up everyone else. Default: no bound.
   */
  messagesPerFeed?: number;
  heartbeat?: HeartbeatOptions;
  /** Greeting and security handshake must finish within this many ms. Default 30000; 0 = no limit. */
  handshakeTimeout?: number;
  /** Allocator for frames split across input chunks (e.g. one that skips zero-filling). */
  allocate?: (size: number) => Uint8Array;
  /** Allocator for output blocks (e.g. the runtime's own buffer type, which its socket need not wrap). */
  allocateOutput?: (size: number) => Uint8Array;
  /** Buffers for large received frames, one per frame, so the application can recycle them. */
  frameBuffers?: FrameBufferSource;
}

/** What we know about the peer once the handshake is complete. */
export interface PeerInfo {
  /** The peer's `Socket-Type` property (undefined if it sent none, which libzmq also tolerates). */
  socketType: string | undefined;
  /** The peer's `Identity` property (empty if none). */
  identity: Uint8Array;
  /** All properties, names lower-cased. */
  metadata: Metadata;
  /** The peer's ZMTP minor version (0 = 3.0, 1 = 3.1). */
  minor: number;
  /** CURVE: the peer's authenticated long-term public key (32 bytes); undefined for NULL and PLAIN. */
  curvePublicKey?: Uint8Array;
}

/** Callbacks from a session to its owner. Called synchronously from `feed`, `tick` or `authenticated`. */
export interface SessionHandler {
  /** Handshake complete; data may flow both ways from now on. */
  onReady(peer: PeerInfo): void;
  /** One whole message. Frames may be views into input chunks: they are valid as long as the caller keeps them. */
  onMessage(frames: Uint8Array[]): void;
  /** PLAIN server only: check these credentials, then call `session.authenticated(ok, now)`. */
  onAuthenticate?(username: string, password: string): void;
  /**
   * CURVE server only: may the client with this long-term public key (32 bytes, its vouch
   * verified) connect? Answer with `session.authenticated(ok, now)`. Without this callback
   * every client is refused.
   */
  onAuthorize?(publicKey: Uint8Array): void;
  /** The session is finished; flush `takeOutput()` (it may hold an ERROR command) and close the connection. */
  onClose(error: ZmtpError): void;
}
