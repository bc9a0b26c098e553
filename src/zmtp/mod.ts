/**
 * The sans-I/O ZMTP 3.1 engine: greeting, NULL, PLAIN and CURVE mechanisms, framing, commands and
 * heartbeats, as a state machine fed with bytes and the current time.
 *
 * @example
 * ```ts
 * import { NullMechanism, Session } from "./mod.ts";
 * const s = new Session({ socketType: "DEALER", mechanism: new NullMechanism() }, handler);
 * ```
 * @module
 */
export { type Command, decodeCommand, encodeCommand, encodeError, encodePing, encodePong, decodePing } from "./commands.ts";
export {
  CurveCertError, type CurveCertErrorCode, Z85Error, type Z85ErrorCode, ZmtpError, type ZmtpErrorCode,
} from "./errors.ts";
export { type CurveCert, type CurveCertFiles, formatCurveCert, keyFromZ85, parseCurveCert } from "./mechanism/curve/cert.ts";
export { type CurveKeyPair, curveKeyPair, curvePublicKey, type RandomSource } from "./mechanism/curve/box.ts";
export {
  type CurveClientKeys, CurveClientMechanism, type CurveKey, curveKey, type CurveServerKeys, CurveServerMechanism,
} from "./mechanism/curve/mechanism.ts";
export { decodeZ85, encodeZ85 } from "./z85.ts";
export { type FrameBufferSource, FrameDecoder, type FrameSink } from "./frame-decoder.ts";
export { FLAG_COMMAND, FLAG_LONG, FLAG_MORE, FrameWriter } from "./frame.ts";
export { encodeGreeting, GREETING_SIZE, GreetingParser, type MechanismName, type PeerGreeting } from "./greeting.ts";
export {
  DEFAULT_MAX_MESSAGE_PARTS, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_RECEIVE_BUDGET, FRAME_OVERHEAD, GROWING_FRAME_START,
  WHOLE_FRAME_ALLOCATION_MAX,
} from "./limits.ts";
export type { FrameCodec, Mechanism, MechanismContext } from "./mechanism/types.ts";
export { NullMechanism } from "./mechanism/null.ts";
export { PlainClientMechanism, PlainServerMechanism } from "./mechanism/plain.ts";
export { decodeMetadata, encodeMetadata, type Metadata } from "./metadata.ts";
export { ReceiveBudget } from "./receive-budget.ts";
export {
  type HeartbeatOptions, type PeerInfo, type SessionHandler, type SessionOptions,
} from "./session-types.ts";
export { Session } from "./session.ts";
export { type SocketType, socketTypesCompatible } from "./socket-type.ts";
