import { MalamuteError } from "../errors.ts";

/**
 * Stable codes of ZMTP failures. Every one of them ends one connection only.
 *
 * Connection errors (`ZMTP_HEARTBEAT_TIMEOUT`, `ZMTP_HANDSHAKE_TIMEOUT`,
 * `ZMTP_HANDSHAKE_CLOSED`) are transient: a connecting side reconnects.
 * `ZMTP_HANDSHAKE_CLOSED`: the peer closed the connection after the greeting, during the
 * security handshake; a CURVE server does exactly that, without a word, when it cannot open our
 * HELLO (RFC 26), i.e. when we hold the wrong server key. Every other code is a protocol error: like libzmq, a
 * connecting side gives up on that endpoint, because retrying cannot succeed.
 *
 * CURVE: `ZMTP_CURVE_BOX` (a box did not open: wrong key, tampered bytes, or a low-order
 * public key), `ZMTP_CURVE_NONCE` (a short nonce not above the last one received: replay or
 * reordering).
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
  | "ZMTP_CURVE_BOX"
  | "ZMTP_CURVE_NONCE"
  | "ZMTP_HEARTBEAT_TIMEOUT"
  | "ZMTP_HANDSHAKE_TIMEOUT"
  | "ZMTP_HANDSHAKE_CLOSED"
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
      this.code !== "ZMTP_HANDSHAKE_CLOSED" && this.code !== "ZMTP_CLOSED";
  }
}

/** Stable codes of Z85 failures (ZMTP RFC 32). */
export type Z85ErrorCode = "Z85_BAD_LENGTH" | "Z85_BAD_CHARACTER" | "Z85_OVERFLOW";

/**
 * Bad input to Z85 encoding or decoding: a length that is not a multiple of 4 (bytes) or 5
 * (text), a character outside the Z85 alphabet, or a 5-character group above 2^32 - 1.
 *
 * @example
 * ```ts
 * try {
 *   decodeZ85("not z85!");
 * } catch (e) {
 *   if (e instanceof Z85Error) console.log(e.code); // "Z85_BAD_LENGTH"
 * }
 * ```
 */
export class Z85Error extends MalamuteError {
  declare readonly code: Z85ErrorCode;

  constructor(code: Z85ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Stable codes of CURVE certificate failures: `CURVE_CERT_SYNTAX` (not ZPL), `CURVE_CERT_NO_KEY`
 * (no `curve/public-key`), `CURVE_CERT_BAD_KEY` (a key that is not 40 Z85 characters),
 * `CURVE_CERT_MISMATCH` (the secret key's public key is not the one given),
 * `CURVE_CERT_NO_SECRET` (a secret key was needed; the file has only the public one),
 * `CURVE_CERT_BAD_METADATA` (a metadata name or value ZPL cannot hold), `CURVE_CERT_READ`
 * (the file cannot be read or written), `CURVE_CERT_TOO_LARGE` (the file is beyond the bound),
 * `CURVE_CERT_EXISTS` (saving would overwrite a key file).
 */
export type CurveCertErrorCode =
  | "CURVE_CERT_SYNTAX"
  | "CURVE_CERT_NO_KEY"
  | "CURVE_CERT_BAD_KEY"
  | "CURVE_CERT_MISMATCH"
  | "CURVE_CERT_NO_SECRET"
  | "CURVE_CERT_BAD_METADATA"
  | "CURVE_CERT_READ"
  | "CURVE_CERT_TOO_LARGE"
  | "CURVE_CERT_EXISTS";

/**
 * A CURVE key or certificate (czmq `zcert` file) that cannot be used.
 *
 * @example
 * ```ts
 * try {
 *   parseCurveCert("curve\n    public-key = \"short\"\n");
 * } catch (e) {
 *   if (e instanceof CurveCertError) console.log(e.code); // "CURVE_CERT_BAD_KEY"
 * }
 * ```
 */
export class CurveCertError extends MalamuteError {
  declare readonly code: CurveCertErrorCode;

  constructor(code: CurveCertErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
