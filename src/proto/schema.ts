import { DecodeErrorCode } from "./errors.ts";
import type { DecodeErrorCodeValue } from "./errors.ts";
import { MessageId } from "./types.ts";
import type { Content, MlmMessage, MlmMessageType } from "./types.ts";

/**
 * Wire representation of one header field: a length-prefixed UTF-8 string, or a
 * big-endian unsigned number of 2 or 4 bytes.
 *
 * @example
 * ```ts
 * import { MESSAGE_SPECS } from "./schema.ts";
 * MESSAGE_SPECS.MAILBOX_SEND.fields.map((f) => f.kind); // ["string", "string", "string", "number4"]
 * ```
 */
export type FieldKind = "string" | "number2" | "number4";

/**
 * One header field in wire order. `expect` marks a constant the decoder checks
 * (CONNECTION-OPEN's protocol and version) and the error code when it differs.
 *
 * @example
 * ```ts
 * import { MESSAGE_SPECS } from "./schema.ts";
 * MESSAGE_SPECS.CONNECTION_OPEN.fields[1]; // { name: "version", kind: "number2", expect: { value: 1, code: "MLM_BAD_VERSION" } }
 * ```
 */
export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  readonly expect?: { readonly value: string | number; readonly code: DecodeErrorCodeValue };
}

/**
 * Wire layout of one message type: its id, its header fields in order, and whether
 * every frame after the header is content.
 *
 * @example
 * ```ts
 * import { MESSAGE_SPECS } from "./schema.ts";
 * console.log(MESSAGE_SPECS.CREDIT.fields); // [{ name: "amount", kind: "number2" }]
 * ```
 */
export interface MessageSpec {
  readonly type: MlmMessageType;
  readonly id: number;
  readonly fields: readonly FieldSpec[];
  readonly content: boolean;
  /** Builds the decoded message from its field values in wire order and its content frames. */
  readonly build: (values: FieldValues, content: Content) => MlmMessage;
}

/**
 * Decoded header field values, in wire order.
 *
 * @example
 * ```ts
 * import { MESSAGE_SPECS } from "./schema.ts";
 * MESSAGE_SPECS.CREDIT.build([10], []); // { type: "CREDIT", amount: 10 }
 * ```
 */
export type FieldValues = ReadonlyArray<string | number>;

/** Header field names of a message type: everything but the tag and the content. */
type FieldName<T extends MlmMessageType> = Exclude<keyof Extract<MlmMessage, { type: T }>, "type" | "content">;

// The generic ties each field name to the message interface, so a typo here is a
// compile error instead of a silently missing field on the wire.
// `build` writes each message as an object literal so that every decoded message of a
// type has one fixed shape (fast property access in the layers that consume them).
// The round-trip property tests check each builder against its `fields`.
function spec<T extends MlmMessageType>(
  type: T,
  fields: ReadonlyArray<FieldSpec & { readonly name: FieldName<T> }>,
  content: boolean,
  build: (v: FieldValues, content: Content) => Extract<MlmMessage, { type: T }>,
): MessageSpec {
  return { type, id: MessageId[type], fields, content, build };
}

const str = <N extends string>(name: N) => ({ name, kind: "string" as const });
const num2 = <N extends string>(name: N) => ({ name, kind: "number2" as const });
const num4 = <N extends string>(name: N) => ({ name, kind: "number4" as const });

/**
 * Field layout of all 18 MLM message types, keyed by `type`; the single source of
 * truth for field order, shared by `encode` and `decode`.
 *
 * @example
 * ```ts
 * import { MESSAGE_SPECS } from "./schema.ts";
 * console.log(MESSAGE_SPECS.MAILBOX_SEND.id); // 9
 * ```
 */
export const MESSAGE_SPECS: { readonly [T in MlmMessageType]: MessageSpec } = {
  CONNECTION_OPEN: spec("CONNECTION_OPEN", [
    { name: "protocol", kind: "string", expect: { value: "MALAMUTE", code: DecodeErrorCode.BAD_PROTOCOL } },
    { name: "version", kind: "number2", expect: { value: 1, code: DecodeErrorCode.BAD_VERSION } },
    str("address"),
  ], false, (v) => ({ type: "CONNECTION_OPEN", protocol: v[0] as string, version: v[1] as number, address: v[2] as string })),
  CONNECTION_PING: spec("CONNECTION_PING", [], false, () => ({ type: "CONNECTION_PING" })),
  CONNECTION_PONG: spec("CONNECTION_PONG", [], false, () => ({ type: "CONNECTION_PONG" })),
  CONNECTION_CLOSE: spec("CONNECTION_CLOSE", [], false, () => ({ type: "CONNECTION_CLOSE" })),
  STREAM_WRITE: spec("STREAM_WRITE", [str("stream")], false, (v) => ({ type: "STREAM_WRITE", stream: v[0] as string })),
  STREAM_READ: spec("STREAM_READ", [str("stream"), str("pattern")], false,
    (v) => ({ type: "STREAM_READ", stream: v[0] as string, pattern: v[1] as string })),
  STREAM_SEND: spec("STREAM_SEND", [str("subject")], true,
    (v, content) => ({ type: "STREAM_SEND", subject: v[0] as string, content })),
  STREAM_DELIVER: spec("STREAM_DELIVER", [str("address"), str("sender"), str("subject")], true,
    (v, content) => ({ type: "STREAM_DELIVER", address: v[0] as string, sender: v[1] as string, subject: v[2] as string, content })),
  MAILBOX_SEND: spec("MAILBOX_SEND", [str("address"), str("subject"), str("tracker"), num4("timeout")], true,
    (v, content) => ({
      type: "MAILBOX_SEND", address: v[0] as string, subject: v[1] as string, tracker: v[2] as string, timeout: v[3] as number, content,
    })),
  MAILBOX_DELIVER: spec("MAILBOX_DELIVER", [str("sender"), str("address"), str("subject"), str("tracker")], true,
    (v, content) => ({
      type: "MAILBOX_DELIVER", sender: v[0] as string, address: v[1] as string, subject: v[2] as string, tracker: v[3] as string, content,
    })),
  SERVICE_SEND: spec("SERVICE_SEND", [str("address"), str("subject"), str("tracker"), num4("timeout")], true,
    (v, content) => ({
      type: "SERVICE_SEND", address: v[0] as string, subject: v[1] as string, tracker: v[2] as string, timeout: v[3] as number, content,
    })),
  SERVICE_OFFER: spec("SERVICE_OFFER", [str("address"), str("pattern")], false,
    (v) => ({ type: "SERVICE_OFFER", address: v[0] as string, pattern: v[1] as string })),
  SERVICE_DELIVER: spec("SERVICE_DELIVER", [str("sender"), str("address"), str("subject"), str("tracker")], true,
    (v, content) => ({
      type: "SERVICE_DELIVER", sender: v[0] as string, address: v[1] as string, subject: v[2] as string, tracker: v[3] as string, content,
    })),
  OK: spec("OK", [num2("code"), str("reason")], false, (v) => ({ type: "OK", code: v[0] as number, reason: v[1] as string })),
  ERROR: spec("ERROR", [num2("code"), str("reason")], false, (v) => ({ type: "ERROR", code: v[0] as number, reason: v[1] as string })),
  CREDIT: spec("CREDIT", [num2("amount")], false, (v) => ({ type: "CREDIT", amount: v[0] as number })),
  CONFIRM: spec("CONFIRM", [str("tracker"), num2("code"), str("reason")], false,
    (v) => ({ type: "CONFIRM", tracker: v[0] as string, code: v[1] as number, reason: v[2] as string })),
  STREAM_CANCEL: spec("STREAM_CANCEL", [str("stream")], false, (v) => ({ type: "STREAM_CANCEL", stream: v[0] as string })),
};

/**
 * Specs indexed by wire id (0..255); `undefined` for ids MLM does not define.
 *
 * @example
 * ```ts
 * import { SPECS_BY_ID } from "./schema.ts";
 * SPECS_BY_ID[9]?.type; // "MAILBOX_SEND"
 * ```
 */
export const SPECS_BY_ID: ReadonlyArray<MessageSpec | undefined> = (() => {
  const byId = new Array<MessageSpec | undefined>(256).fill(undefined);
  for (const s of Object.values(MESSAGE_SPECS)) byId[s.id] = s;
  return byId;
})();

/**
 * Whether messages of this type carry content frames after the header (the six
 * `*_SEND` / `*_DELIVER` types).
 *
 * @example
 * ```ts
 * import { hasContent } from "./schema.ts";
 * hasContent("STREAM_SEND"); // true
 * hasContent("CONNECTION_PING"); // false
 * ```
 */
export function hasContent(type: MlmMessageType): boolean {
  return specOf(type)?.content ?? false;
}

/**
 * The spec of a message type, or `undefined` for anything that is not one of the 18
 * types (including inherited property names such as `"toString"`).
 *
 * @example
 * ```ts
 * import { specOf } from "./schema.ts";
 * specOf("OK")?.id; // 14
 * ```
 */
export function specOf(type: string): MessageSpec | undefined {
  return Object.hasOwn(MESSAGE_SPECS, type) ? MESSAGE_SPECS[type as MlmMessageType] : undefined;
}
