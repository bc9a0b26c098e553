import Type, { type TNumber, type TObject, type TOptional, type TString } from "typebox";
import { Bytes, type TBytes } from "../../rpc/bytes.ts";

/**
 * Largest accepted image file, in bytes (32 MiB).
 *
 * @example
 * ```ts
 * if (png.length > MAX_IMAGE_BYTES) throw new Error("image too large for qwen3vl.infer");
 * ```
 */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;

/**
 * An image file with its media type.
 *
 * @example
 * ```ts
 * const image: ImageFile = { data: pngBytes, mimeType: "image/png" };
 * ```
 */
export const ImageFile: TObject<{ data: TBytes; mimeType: TString }> = Type.Object({
  /** The encoded file (PNG, JPEG, WebP...), not raw pixels. */
  data: Bytes({ minBytes: 1, maxBytes: MAX_IMAGE_BYTES }),
  /** IANA media type, e.g. `image/png`. */
  mimeType: Type.String({ pattern: "^image/[A-Za-z0-9.+-]+$", maxLength: 100 }),
}, { additionalProperties: false });

/**
 * An image file with its media type.
 *
 * @example
 * ```ts
 * const image: ImageFile = { data: pngBytes, mimeType: "image/png" };
 * ```
 */
export type ImageFile = Type.Static<typeof ImageFile>;

/**
 * Progress of a long job, reported while it runs.
 *
 * @example
 * ```ts
 * const p: Progress = { done: 3, total: 9, stage: "denoise" };
 * ```
 */
export const Progress: TObject<{ done: TNumber; total: TNumber; stage: TOptional<TString> }> = Type.Object({
  /** Units finished (steps, frames...). */
  done: Type.Number({ minimum: 0 }),
  /** Units in total. */
  total: Type.Number({ minimum: 0 }),
  /** What is being done, e.g. `"denoise"`, `"segment"`. */
  stage: Type.Optional(Type.String({ maxLength: 100 })),
});

/**
 * Progress of a long job, reported while it runs.
 *
 * @example
 * ```ts
 * const p: Progress = { done: 3, total: 9, stage: "denoise" };
 * ```
 */
export type Progress = Type.Static<typeof Progress>;
