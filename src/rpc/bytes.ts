import Type, { type TRefineAdd, type TUnsafe } from "typebox";

/**
 * The JSON Schema keyword that marks a binary field; the exporter and the docs rely on it.
 *
 * @example
 * ```ts
 * Bytes()[BYTES_KEYWORD]; // true
 * ```
 */
export const BYTES_KEYWORD = "x-malamute-bytes";

/**
 * Size limits of a {@link Bytes} field, in bytes.
 *
 * @example
 * ```ts
 * const thumbnail = Bytes({ minBytes: 1, maxBytes: 65_536, description: "PNG thumbnail" });
 * ```
 */
export interface BytesOptions {
  minBytes?: number;
  maxBytes?: number;
  description?: string;
}

/**
 * The schema type of a binary field: a `Uint8Array` at compile time.
 *
 * @example
 * ```ts
 * const image: TBytes = Bytes();
 * type Image = Static<typeof image>; // Uint8Array
 * ```
 */
export type TBytes = TRefineAdd<TUnsafe<Uint8Array>>;

/**
 * A binary field (images, audio, video). TypeBox 1.x has no byte-array type, so this is an
 * `Unsafe<Uint8Array>` with a refinement that the compiled validators run. On the wire the
 * value is a msgpack `bin`, never base64; on receipt it is a view of the received frame,
 * not a copy.
 *
 * @example
 * ```ts
 * import Type from "typebox";
 * import { Bytes, defineService } from "malamute";
 * const zimage = defineService("zimage", {
 *   render: { input: Type.Object({ prompt: Type.String() }), output: Type.Object({ png: Bytes() }) },
 * });
 * ```
 */
export function Bytes(options: BytesOptions = {}): TBytes {
  const { minBytes, maxBytes, description } = options;
  const annotation: Record<string, unknown> = { [BYTES_KEYWORD]: true };
  if (minBytes !== undefined) annotation["minBytes"] = minBytes;
  if (maxBytes !== undefined) annotation["maxBytes"] = maxBytes;
  if (description !== undefined) annotation["description"] = description;
  return Type.Refine(
    Type.Unsafe<Uint8Array>(annotation as never),
    (value: unknown) =>
      value instanceof Uint8Array &&
      (minBytes === undefined || value.byteLength >= minBytes) &&
      (maxBytes === undefined || value.byteLength <= maxBytes),
    (value: unknown) =>
      value instanceof Uint8Array
        ? `must be between ${minBytes ?? 0} and ${maxBytes ?? "any number of"} bytes, got ${value.byteLength}`
        : "must be a Uint8Array (msgpack bin)",
  ) as TBytes;
}
