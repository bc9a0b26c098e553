// The contract between the session and a security mechanism: the only file of mechanism/ the
// ZMTP engine depends on (tests/architecture.test.ts enforces it).
import type { Command } from "../commands.ts";
import type { MechanismName } from "../greeting.ts";

/** What a mechanism may do to its connection. Implemented by the session. */
export interface MechanismContext {
  /** Queue a command frame (body = `name-len name data`). */
  sendCommand(body: Uint8Array): void;
  /** Our READY/INITIATE metadata (Socket-Type, Identity). */
  readonly localMetadata: Uint8Array;
  /** Validate and store the peer's metadata; throws ZmtpError if unacceptable. */
  acceptPeerMetadata(bytes: Uint8Array): void;
  /** Ask the application to check PLAIN credentials; answered through `Session.authenticated`. */
  requestAuthentication(username: string, password: string): void;
  /** Ask the application whether this CURVE client key may connect; answered through `Session.authenticated`. */
  requestAuthorization(publicKey: Uint8Array): void;
}

/**
 * Protection of every frame once the handshake is complete (CURVE's MESSAGE boxes). The
 * session hands each outgoing frame to `seal` and each incoming command frame to `open`.
 */
export interface FrameCodec {
  /** Size of the command frame body that carries a frame body of `size` bytes. */
  sealedSize(size: number): number;
  /**
   * Write the command body carrying `body` into `out` (exactly `sealedSize(body.length)`
   * bytes). `flags` are the frame's ZMTP flags (MORE, COMMAND), carried inside the box.
   */
  seal(flags: number, body: Uint8Array, out: Uint8Array): void;
  /**
   * Open one received command body. Returns the frame flags (MORE, COMMAND) and body.
   * Throws ZmtpError when it is not a valid, fresh, authentic MESSAGE.
   */
  open(body: Uint8Array): { flags: number; body: Uint8Array };
  /** Bytes a command body adds to the frame it carries (for size limits). */
  readonly overhead: number;
}

/**
 * A security mechanism's handshake, as a state machine driven by the session. CURVE
 * additionally wraps every frame after the handshake through its `codec`, which NULL and
 * PLAIN do not have.
 *
 * @example
 * ```ts
 * const mech: Mechanism = new NullMechanism();
 * ```
 */
export interface Mechanism {
  readonly name: MechanismName;
  /** Value of the as-server greeting bit (informational; roles come from configuration). */
  readonly asServer: boolean;
  /** Called once both greetings are exchanged. */
  start(ctx: MechanismContext): void;
  /** Handle one handshake command; returns true when the handshake is complete. Throws ZmtpError. */
  command(ctx: MechanismContext, cmd: Command): boolean;
  /** Result of `requestAuthentication`; returns true when the handshake is complete. Throws ZmtpError. */
  authenticated?(ctx: MechanismContext, ok: boolean): boolean;
  /** Set once the handshake is complete when every frame must go through it (CURVE). */
  readonly codec?: FrameCodec;
  /** CURVE: the peer's authenticated long-term public key (32 bytes), once known. */
  readonly peerPublicKey?: Uint8Array;
}
