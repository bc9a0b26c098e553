/**
 * The 18 Malamute (MLM) protocol messages as a discriminated union on `type`.
 *
 * Field names follow the protocol model (`mlm_proto.xml`); `content` is the list of
 * content frames (all frames after the header), passed through without copying.
 * Numbers: `version`, `code` and `amount` are 16-bit; `timeout` is 32-bit milliseconds
 * (0 = never).
 */

/**
 * Message ids on the wire (the byte after the `AA A8` signature).
 *
 * @example
 * ```ts
 * import { MessageId } from "malamute";
 * header[2] === MessageId.MAILBOX_SEND; // 9
 * ```
 */
export const MessageId = {
  CONNECTION_OPEN: 1,
  CONNECTION_PING: 2,
  CONNECTION_PONG: 3,
  CONNECTION_CLOSE: 4,
  STREAM_WRITE: 5,
  STREAM_READ: 6,
  STREAM_SEND: 7,
  STREAM_DELIVER: 8,
  MAILBOX_SEND: 9,
  MAILBOX_DELIVER: 10,
  SERVICE_SEND: 11,
  SERVICE_OFFER: 12,
  SERVICE_DELIVER: 13,
  OK: 14,
  ERROR: 15,
  CREDIT: 16,
  CONFIRM: 17,
  STREAM_CANCEL: 18,
} as const;

/**
 * Status codes carried by OK, ERROR and CONFIRM (the broker's failure CONFIRM codes are in
 * `ConfirmStatus`).
 *
 * @example
 * ```ts
 * import { StatusCode } from "malamute";
 * if (reply.type === "ERROR" && reply.code === StatusCode.COMMAND_INVALID) reopen();
 * ```
 */
export const StatusCode = {
  SUCCESS: 200,
  FAILED: 300,
  COMMAND_INVALID: 500,
  NOT_IMPLEMENTED: 501,
  INTERNAL_ERROR: 502,
} as const;

/**
 * The reason of the ERROR 500 a broker sends, unasked, to a connection whose address a newer
 * CONNECTION-OPEN took over (docs/broker.md "Connections and addresses"). The session is gone,
 * as with any ERROR 500; the reason tells a client not to re-open and take the address back.
 *
 * @example
 * ```ts
 * import { ADDRESS_TAKEN } from "malamute";
 * if (reply.type === "ERROR" && reply.code === 500 && reply.reason === ADDRESS_TAKEN) stopForGood();
 * ```
 */
export const ADDRESS_TAKEN = "address taken";

/** Content frames of a message: zero or more byte arrays, never copied by the codec. */
export type Content = Uint8Array[];

export interface ConnectionOpen { type: "CONNECTION_OPEN"; protocol: string; version: number; address: string }
export interface ConnectionPing { type: "CONNECTION_PING" }
export interface ConnectionPong { type: "CONNECTION_PONG" }
export interface ConnectionClose { type: "CONNECTION_CLOSE" }
export interface StreamWrite { type: "STREAM_WRITE"; stream: string }
export interface StreamRead { type: "STREAM_READ"; stream: string; pattern: string }
export interface StreamSend { type: "STREAM_SEND"; subject: string; content: Content }
export interface StreamDeliver { type: "STREAM_DELIVER"; address: string; sender: string; subject: string; content: Content }
export interface MailboxSend { type: "MAILBOX_SEND"; address: string; subject: string; tracker: string; timeout: number; content: Content }
export interface MailboxDeliver { type: "MAILBOX_DELIVER"; sender: string; address: string; subject: string; tracker: string; content: Content }
export interface ServiceSend { type: "SERVICE_SEND"; address: string; subject: string; tracker: string; timeout: number; content: Content }
export interface ServiceOffer { type: "SERVICE_OFFER"; address: string; pattern: string }
export interface ServiceDeliver { type: "SERVICE_DELIVER"; sender: string; address: string; subject: string; tracker: string; content: Content }
export interface Ok { type: "OK"; code: number; reason: string }
export interface ErrorReply { type: "ERROR"; code: number; reason: string }
export interface Credit { type: "CREDIT"; amount: number }
export interface Confirm { type: "CONFIRM"; tracker: string; code: number; reason: string }
export interface StreamCancel { type: "STREAM_CANCEL"; stream: string }

/** Any MLM message. Narrow on `type`. */
export type MlmMessage =
  | ConnectionOpen | ConnectionPing | ConnectionPong | ConnectionClose
  | StreamWrite | StreamRead | StreamSend | StreamDeliver
  | MailboxSend | MailboxDeliver | ServiceSend | ServiceOffer | ServiceDeliver
  | Ok | ErrorReply | Credit | Confirm | StreamCancel;

/** The `type` tag of any MLM message. */
export type MlmMessageType = MlmMessage["type"];
