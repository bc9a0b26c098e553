import { MalamuteError } from "../errors.ts";

/**
 * Stable codes of {@link MlmDecodeError}. Each names one distinct way a received
 * frame list fails to be an MLM message; callers count and branch on these.
 *
 * @example
 * ```ts
 * import { decode, DecodeErrorCode } from "./mod.ts";
 * const result = decode([new Uint8Array([0xaa, 0xa9, 0x02])]);
 * if (!result.ok && result.error.code === DecodeErrorCode.BAD_SIGNATURE) console.log("not MLM");
 * ```
 */
export const DecodeErrorCode = {
  /** First two bytes of the header frame are not `AA A8`. */
  BAD_SIGNATURE: "MLM_BAD_SIGNATURE",
  /** Message id byte is 0 or above 18. */
  UNKNOWN_MESSAGE_ID: "MLM_UNKNOWN_MESSAGE_ID",
  /** CONNECTION-OPEN whose `protocol` is not `"MALAMUTE"`. */
  BAD_PROTOCOL: "MLM_BAD_PROTOCOL",
  /** CONNECTION-OPEN whose `version` is not 1. */
  BAD_VERSION: "MLM_BAD_VERSION",
  /** A field (signature and id included) runs past the end of the header frame, or there is no frame. */
  TRUNCATED: "MLM_TRUNCATED",
  /** A message type without content arrived with more than one frame. */
  SURPLUS_FRAMES: "MLM_SURPLUS_FRAMES",
  /** A string field is not well-formed UTF-8 (it could not be re-encoded byte-for-byte). */
  BAD_UTF8: "MLM_BAD_UTF8",
  /** Bytes follow the last field; only reported when `trailingBytes: "reject"` is asked for. */
  TRAILING_BYTES: "MLM_TRAILING_BYTES",
} as const;

/**
 * One of the {@link DecodeErrorCode} values.
 *
 * @example
 * ```ts
 * import type { DecodeErrorCodeValue } from "./mod.ts";
 * const dropped = new Map<DecodeErrorCodeValue, number>();
 * ```
 */
export type DecodeErrorCodeValue = (typeof DecodeErrorCode)[keyof typeof DecodeErrorCode];

/**
 * Stable codes of {@link MlmEncodeError}: the message cannot be put on the wire as given.
 *
 * @example
 * ```ts
 * import { encode, EncodeErrorCode, MlmEncodeError } from "./mod.ts";
 * try {
 *   encode({ type: "STREAM_WRITE", stream: "x".repeat(300) });
 * } catch (e) {
 *   if (e instanceof MlmEncodeError && e.code === EncodeErrorCode.STRING_TOO_LONG) console.log(e.field);
 * }
 * ```
 */
export const EncodeErrorCode = {
  /** A string field needs more than 255 UTF-8 bytes (the codec never truncates). */
  STRING_TOO_LONG: "MLM_STRING_TOO_LONG",
  /** A string field holds a lone UTF-16 surrogate, which UTF-8 cannot carry losslessly. */
  BAD_STRING: "MLM_BAD_STRING",
  /** A number field is not an integer in its wire range (0..65535 or 0..4294967295). */
  NUMBER_OUT_OF_RANGE: "MLM_NUMBER_OUT_OF_RANGE",
  /** `content` is not an array of `Uint8Array`. */
  BAD_CONTENT: "MLM_BAD_CONTENT",
  /** `type` is not one of the 18 MLM message types. */
  UNKNOWN_TYPE: "MLM_UNKNOWN_TYPE",
} as const;

/**
 * One of the {@link EncodeErrorCode} values.
 *
 * @example
 * ```ts
 * import type { EncodeErrorCodeValue } from "./mod.ts";
 * const fatal: EncodeErrorCodeValue[] = ["MLM_UNKNOWN_TYPE", "MLM_BAD_CONTENT"];
 * ```
 */
export type EncodeErrorCodeValue = (typeof EncodeErrorCode)[keyof typeof EncodeErrorCode];

/**
 * A received frame list is not a valid MLM message. Returned (never thrown) by `decode`.
 *
 * `reason` is the human explanation and names the offending field; `field` is that
 * field's name alone (`"signature"`, `"id"`, `"subject"`, `"content"` …) for counters and logs.
 *
 * @example
 * ```ts
 * import { decode } from "./mod.ts";
 * const r = decode([new Uint8Array([0xaa, 0xa8, 0x05, 0x0a])]);
 * if (!r.ok) console.log(r.error.code, r.error.field, r.error.reason); // MLM_TRUNCATED stream ...
 * ```
 */
export class MlmDecodeError extends MalamuteError {
  declare readonly code: DecodeErrorCodeValue;
  /** Why the input was rejected, naming the field. Same text as `message`. */
  readonly reason: string;
  /** Name of the field being read when decoding failed. */
  readonly field: string;
  /** Message id byte, when decoding got far enough to read it. */
  readonly messageId: number | undefined;

  constructor(code: DecodeErrorCodeValue, field: string, reason: string, messageId?: number) {
    super(code, reason);
    this.reason = reason;
    this.field = field;
    this.messageId = messageId;
  }
}

/**
 * A message cannot be encoded as given (string too long, number out of range, …).
 * Thrown by `encode`; the message names the field, and `field` holds its name.
 *
 * @example
 * ```ts
 * import { encode, MlmEncodeError } from "./mod.ts";
 * try {
 *   encode({ type: "CREDIT", amount: 70000 });
 * } catch (e) {
 *   if (e instanceof MlmEncodeError) console.log(e.code, e.field); // MLM_NUMBER_OUT_OF_RANGE amount
 * }
 * ```
 */
export class MlmEncodeError extends MalamuteError {
  declare readonly code: EncodeErrorCodeValue;
  /** Name of the offending field (`"type"` for an unknown type). */
  readonly field: string;

  constructor(code: EncodeErrorCodeValue, field: string, message: string) {
    super(code, message);
    this.field = field;
  }
}
