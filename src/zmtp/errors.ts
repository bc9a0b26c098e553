import { MalamuteError } from "../errors.ts";

/**
 * Stable codes of ZMTP failures. Every one of them ends one connection only.
 *
 * Connection errors (`ZMTP_HEARTBEAT_TIMEOUT`, `ZMTP_HANDSHAKE_TIMEOUT`) are transient: a
 * connecting side reconnects. Every other code is a protocol error: like libzmq, a
 * connecting side gives up on that endpoint, because retrying cannot succeed.
 *
 * Limits: `ZMTP_FRAME_TOO_LARGE` (a frame's declared size is beyond what is left of
 * `maxMessageSize`, refused at its header), `ZMTP_TOO_MANY_PARTS` (more than `maxMessageParts`
 * frames in one message), `ZMTP_RECEIVE_BUDGET` (the socket's shared budget for unfinished
 * messages cannot cover this connection's next allocation).
 */
export type ZmtpErrorCode =
  | "ZMTP_BAD_GREETING"
  | "ZMTP_BAD_VERSION"
  | "ZMTP_MECHANISM_MISMATCH"
  | "ZMTP_BAD_SOCKET_TYPE"
  | "ZMTP_FRAME_TOO_LARGE"
  | "ZMTP_TOO_MANY_PARTS"
  | "ZMTP_RECEIVE_BUDGET"
  | "ZMTP_BAD_FRAME"
  | "ZMTP_AUTH_FAILED"
  | "ZMTP_MALFORMED_COMMAND"
  | "ZMTP_UNEXPECTED_COMMAND"
  | "ZMTP_UNEXPECTED_FRAME"
  | "ZMTP_MALFORMED_METADATA"
  | "ZMTP_PEER_ERROR"
  | "ZMTP_HEARTBEAT_TIMEOUT"
  | "ZMTP_HANDSHAKE_TIMEOUT"
  | "ZMTP_NOT_READY"
  | "ZMTP_CLOSED";

/**
 * A ZMTP protocol or connection failure, raised or reported by the sans-I/O engine.
 *
 * @example
 * ```ts
 * import { ZmtpError } from "malamute/zmtp";
 * router.on("error", (e) => {
 *   if (e instanceof ZmtpError && e.code === "ZMTP_AUTH_FAILED") console.warn("bad credentials");
 * });
 * ```
 */
export class ZmtpError extends MalamuteError {
  declare readonly code: ZmtpErrorCode;

  constructor(code: ZmtpErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** True when retrying the same connection cannot help (libzmq's "protocol error"). */
  get isProtocolError(): boolean {
    return this.code !== "ZMTP_HEARTBEAT_TIMEOUT" && this.code !== "ZMTP_HANDSHAKE_TIMEOUT" &&
      this.code !== "ZMTP_CLOSED";
  }
}
