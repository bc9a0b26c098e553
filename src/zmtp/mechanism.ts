import type { Command } from "./commands.ts";
import type { MechanismName } from "./greeting.ts";

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
}

/**
 * A security mechanism's handshake, as a state machine driven by the session. CURVE will
 * additionally need to wrap every frame after the handshake; it will do so through an
 * optional frame codec on this interface, which NULL and PLAIN do not need.
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
}
