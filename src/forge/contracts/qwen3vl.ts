import Type, { type TArray, type TInteger, type TLiteral, type TNumber, type TObject, type TOptional, type TString, type TUnion } from "typebox";
import { ImageFile } from "./common.ts";

/**
 * Largest number of images in one `qwen3vl.infer` call.
 *
 * @example
 * ```ts
 * const batch = images.slice(0, QWEN3VL_MAX_IMAGES);
 * ```
 */
export const QWEN3VL_MAX_IMAGES = 16;

/**
 * Input of `qwen3vl.infer`: images plus a prompt, as Qwen3-VL's chat template takes them
 * (images first, then the text, in one user turn).
 *
 * @example
 * ```ts
 * const input: Qwen3VlInput = { images: [{ data: png, mimeType: "image/png" }], prompt: "What is shown?", maxTokens: 128 };
 * ```
 */
export const Qwen3VlInput: TObject<{
  images: TArray<typeof ImageFile>;
  prompt: TString;
  system: TOptional<TString>;
  maxTokens: TOptional<TInteger>;
  temperature: TOptional<TNumber>;
}> = Type.Object({
  images: Type.Array(ImageFile, { minItems: 1, maxItems: QWEN3VL_MAX_IMAGES }),
  prompt: Type.String({ minLength: 1, maxLength: 32_768 }),
  /** Optional system message. */
  system: Type.Optional(Type.String({ maxLength: 32_768 })),
  /** Upper bound on generated tokens. Default 512. */
  maxTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 32_768, default: 512 })),
  /** Sampling temperature; 0 = greedy. Default 0.7. */
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2, default: 0.7 })),
}, { additionalProperties: false });

/**
 * Input of `qwen3vl.infer`.
 *
 * @example
 * ```ts
 * const input: Qwen3VlInput = { images: [{ data: png, mimeType: "image/png" }], prompt: "What is shown?", maxTokens: 128 };
 * ```
 */
export type Qwen3VlInput = Type.Static<typeof Qwen3VlInput>;

/**
 * Token counts as the model server reports them.
 *
 * @example
 * ```ts
 * const usage: TokenUsage = { promptTokens: 90, completionTokens: 40, totalTokens: 130 };
 * ```
 */
export const TokenUsage: TObject<{ promptTokens: TInteger; completionTokens: TInteger; totalTokens: TInteger }> = Type.Object({
  promptTokens: Type.Integer({ minimum: 0 }),
  completionTokens: Type.Integer({ minimum: 0 }),
  totalTokens: Type.Integer({ minimum: 0 }),
});

/**
 * Token counts as the model server reports them.
 *
 * @example
 * ```ts
 * const usage: TokenUsage = { promptTokens: 90, completionTokens: 40, totalTokens: 130 };
 * ```
 */
export type TokenUsage = Type.Static<typeof TokenUsage>;

/**
 * Output of `qwen3vl.infer`.
 *
 * @example
 * ```ts
 * const { text, usage }: Qwen3VlOutput = await client.qwen3vl.infer(input);
 * ```
 */
export const Qwen3VlOutput: TObject<{
  text: TString;
  finishReason: TUnion<[TLiteral<"stop">, TLiteral<"length">]>;
  usage: typeof TokenUsage;
  model: TString;
}> = Type.Object({
  text: Type.String(),
  /** `stop`: the model finished; `length`: `maxTokens` cut it off. */
  finishReason: Type.Union([Type.Literal("stop"), Type.Literal("length")]),
  usage: TokenUsage,
  /** Which backend and model produced the text, e.g. `demo-image-stats` or `vllm:Qwen/Qwen3-VL-8B-Instruct`. */
  model: Type.String(),
});

/**
 * Output of `qwen3vl.infer`.
 *
 * @example
 * ```ts
 * const { text, usage }: Qwen3VlOutput = await client.qwen3vl.infer(input);
 * ```
 */
export type Qwen3VlOutput = Type.Static<typeof Qwen3VlOutput>;

/**
 * `qwen3vl.infer` input with every default filled in.
 *
 * @example
 * ```ts
 * const req: Qwen3VlRequest = resolveQwen3VlInput(input); // maxTokens and temperature filled in
 * ```
 */
export type Qwen3VlRequest = Required<Omit<Qwen3VlInput, "system">> & Pick<Qwen3VlInput, "system">;

/**
 * Fills in the defaults of a `qwen3vl.infer` input.
 *
 * @example
 * ```ts
 * import { resolveQwen3VlInput } from "malamute/forge";
 * resolveQwen3VlInput({ images: [img], prompt: "Describe." }).maxTokens; // 512
 * ```
 */
export function resolveQwen3VlInput(input: Qwen3VlInput): Qwen3VlRequest {
  return { ...input, maxTokens: input.maxTokens ?? 512, temperature: input.temperature ?? 0.7 };
}
