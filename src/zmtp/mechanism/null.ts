// The NULL security mechanism (no authentication).
import { type Command, decodeErrorReason, encodeCommand } from "../commands.ts";
import { ZmtpError } from "../errors.ts";
import type { Mechanism, MechanismContext } from "./types.ts";

/**
 * ZMTP NULL: each side sends READY with its metadata as soon as greetings are exchanged (as
 * libzmq does, instead of the RFC's client-first order) and the handshake is complete once
 * the peer's READY has arrived.
 *
 * @example
 * ```ts
 * const session = new Session({ socketType: "DEALER", mechanism: new NullMechanism() }, handler);
 * ```
 */
export class NullMechanism implements Mechanism {
  readonly name = "NULL" as const;
  readonly asServer = false;

  start(ctx: MechanismContext): void {
    ctx.sendCommand(encodeCommand("READY", ctx.localMetadata));
  }

  command(ctx: MechanismContext, cmd: Command): boolean {
    if (cmd.name === "READY") {
      ctx.acceptPeerMetadata(cmd.data);
      return true;
    }
    if (cmd.name === "ERROR") {
      throw new ZmtpError("ZMTP_PEER_ERROR", `peer refused the connection: ${decodeErrorReason(cmd.data)}`);
    }
    throw new ZmtpError("ZMTP_UNEXPECTED_COMMAND", `unexpected ${cmd.name} during NULL handshake`);
  }
}
