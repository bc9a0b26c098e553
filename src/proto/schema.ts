import { DecodeErrorCode } from "./errors.ts";
import type { DecodeErrorCodeValue } from "./errors.ts";
import { MessageId } from "./types.ts";
import type { MlmMessage, MlmMessageType } from "./types.ts";

/** Wire representation of one header field. */
export type FieldKind = "string" | "number2" | "number4";

/**
 * One header field in wire order. `expect` marks a constant the decoder checks
 * (CONNECTION-OPEN's protocol and version) and the error code when it differs.
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
}

/** Header field names of a message type: everything but the tag and the content. */
type FieldName<T extends MlmMessageType> = Exclude<keyof Extract<MlmMessage, { type: T }>, "type" | "content">;

// The generic ties each field name to the message interface, so a typo here is a
// compile error instead of a silently missing field on the wire.
function spec<T extends MlmMessageType>(
  type: T,
  fields: ReadonlyArray<FieldSpec & { readonly name: FieldName<T> }>,
  content: boolean,
): MessageSpec {
  return { type, id: MessageId[type], fields, content };
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
  ], false),
  CONNECTION_PING: spec("CONNECTION_PING", [], false),
  CONNECTION_PONG: spec("CONNECTION_PONG", [], false),
  CONNECTION_CLOSE: spec("CONNECTION_CLOSE", [], false),
  STREAM_WRITE: spec("STREAM_WRITE", [str("stream")], false),
  STREAM_READ: spec("STREAM_READ", [str("stream"), str("pattern")], false),
  STREAM_SEND: spec("STREAM_SEND", [str("subject")], true),
  STREAM_DELIVER: spec("STREAM_DELIVER", [str("address"), str("sender"), str("subject")], true),
  MAILBOX_SEND: spec("MAILBOX_SEND", [str("address"), str("subject"), str("tracker"), num4("timeout")], true),
  MAILBOX_DELIVER: spec("MAILBOX_DELIVER", [str("sender"), str("address"), str("subject"), str("tracker")], true),
  SERVICE_SEND: spec("SERVICE_SEND", [str("address"), str("subject"), str("tracker"), num4("timeout")], true),
  SERVICE_OFFER: spec("SERVICE_OFFER", [str("address"), str("pattern")], false),
  SERVICE_DELIVER: spec("SERVICE_DELIVER", [str("sender"), str("address"), str("subject"), str("tracker")], true),
  OK: spec("OK", [num2("code"), str("reason")], false),
  ERROR: spec("ERROR", [num2("code"), str("reason")], false),
  CREDIT: spec("CREDIT", [num2("amount")], false),
  CONFIRM: spec("CONFIRM", [str("tracker"), num2("code"), str("reason")], false),
  STREAM_CANCEL: spec("STREAM_CANCEL", [str("stream")], false),
};

/** Specs indexed by wire id (0..255); `undefined` for ids MLM does not define. */
export const SPECS_BY_ID: ReadonlyArray<MessageSpec | undefined> = (() => {
  const byId = new Array<MessageSpec | undefined>(256).fill(undefined);
  for (const s of Object.values(MESSAGE_SPECS)) byId[s.id] = s;
  return byId;
})();

/**
 * Whether messages of this type carry content frames after the header (the five
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
