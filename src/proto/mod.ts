/**
 * The MLM codec layer: message types, `encode`/`decode` and their errors. Sans-I/O;
 * other layers import from here rather than from the individual files.
 *
 * @example
 * ```ts
 * import { decode, encode } from "./src/proto/mod.ts";
 * const r = decode(encode({ type: "STREAM_WRITE", stream: "weather" }));
 * if (r.ok) console.log(r.message); // { type: "STREAM_WRITE", stream: "weather" }
 * ```
 * @module
 */

export { ADDRESS_TAKEN, MessageId, StatusCode } from "./types.ts";
export type {
  Confirm, ConnectionClose, ConnectionOpen, ConnectionPing, ConnectionPong, Content, Credit, ErrorReply,
  MailboxDeliver, MailboxSend, MlmMessage, MlmMessageType, Ok, ServiceDeliver, ServiceOffer, ServiceSend,
  StreamCancel, StreamDeliver, StreamRead, StreamSend, StreamWrite,
} from "./types.ts";
export { decode, encode, MAX_STRING_BYTES } from "./codec.ts";
export type { DecodeOptions, DecodeResult } from "./codec.ts";
export { DecodeErrorCode, EncodeErrorCode, MlmDecodeError, MlmEncodeError } from "./errors.ts";
export type { DecodeErrorCodeValue, EncodeErrorCodeValue } from "./errors.ts";
export { hasContent, MESSAGE_SPECS } from "./schema.ts";
export type { FieldKind, FieldSpec, MessageSpec } from "./schema.ts";
