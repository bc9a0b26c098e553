import Type, { type TInteger, type TNumber, type TObject, type TOptional, type TString } from "typebox";
import { Bytes, type TBytes } from "../../rpc/bytes.ts";

/**
 * Input of `zimage.generate`. Dimensions are multiples of 16 (Z-Image's VAE downsamples by 8
 * and its transformer patches by 2). Defaults follow Z-Image-Turbo: 9 steps, guidance 0.
 *
 * @example
 * ```ts
 * const input: ZImageInput = { prompt: "a red kite over hills", width: 768, height: 512, seed: 42 };
 * ```
 */
export const ZImageInput: TObject<{
  prompt: TString;
  negativePrompt: TOptional<TString>;
  width: TOptional<TInteger>;
  height: TOptional<TInteger>;
  steps: TOptional<TInteger>;
  guidance: TOptional<TNumber>;
  seed: TOptional<TInteger>;
}> = Type.Object({
  prompt: Type.String({ minLength: 1, maxLength: 4_000 }),
  negativePrompt: Type.Optional(Type.String({ maxLength: 4_000, default: "" })),
  width: Type.Optional(Type.Integer({ minimum: 64, maximum: 2_048, multipleOf: 16, default: 1_024 })),
  height: Type.Optional(Type.Integer({ minimum: 64, maximum: 2_048, multipleOf: 16, default: 1_024 })),
  steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 9 })),
  /** Classifier-free guidance scale; 0 disables it. */
  guidance: Type.Optional(Type.Number({ minimum: 0, maximum: 30, default: 0 })),
  /** 32-bit seed; omitted = random, and the output says which one was used. */
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4_294_967_295 })),
}, { additionalProperties: false });

/**
 * Input of `zimage.generate`.
 *
 * @example
 * ```ts
 * const input: ZImageInput = { prompt: "a red kite over hills", width: 768, height: 512, seed: 42 };
 * ```
 */
export type ZImageInput = Type.Static<typeof ZImageInput>;

/**
 * Output of `zimage.generate`.
 *
 * @example
 * ```ts
 * const { png, seed }: ZImageOutput = await client.zimage.generate({ prompt: "a lighthouse" });
 * ```
 */
export const ZImageOutput: TObject<{ png: TBytes; seed: TInteger; width: TInteger; height: TInteger; model: TString }> = Type.Object({
  /** A PNG file. */
  png: Bytes(),
  /** The seed actually used, so the image can be reproduced. */
  seed: Type.Integer({ minimum: 0, maximum: 4_294_967_295 }),
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  /** Which backend and model produced the image, e.g. `demo-procedural`. */
  model: Type.String(),
});

/**
 * Output of `zimage.generate`.
 *
 * @example
 * ```ts
 * const { png, seed }: ZImageOutput = await client.zimage.generate({ prompt: "a lighthouse" });
 * ```
 */
export type ZImageOutput = Type.Static<typeof ZImageOutput>;

/**
 * `zimage.generate` input with every default filled in (the seed stays optional).
 *
 * @example
 * ```ts
 * const req: ZImageRequest = resolveZImageInput({ prompt: "x" }); // size, steps, guidance filled in
 * ```
 */
export type ZImageRequest = Required<Omit<ZImageInput, "seed">> & Pick<ZImageInput, "seed">;

/**
 * Fills in the defaults of a `zimage.generate` input.
 *
 * @example
 * ```ts
 * import { resolveZImageInput } from "malamute/forge";
 * resolveZImageInput({ prompt: "a lighthouse at dusk" }).steps; // 9
 * ```
 */
export function resolveZImageInput(input: ZImageInput): ZImageRequest {
  return {
    ...input,
    negativePrompt: input.negativePrompt ?? "",
    width: input.width ?? 1_024,
    height: input.height ?? 1_024,
    steps: input.steps ?? 9,
    guidance: input.guidance ?? 0,
  };
}
