import Type, { type TInteger, type TLiteral, type TNumber, type TObject, type TOptional, type TString, type TUnion } from "typebox";
import { Bytes, type TBytes } from "../../rpc/bytes.ts";

/**
 * Audio formats of OpenAI-compatible speech servers such as Kokoro-FastAPI.
 *
 * @example
 * ```ts
 * const format: AudioFormat = "wav";
 * ```
 */
export const AudioFormat: TUnion<[TLiteral<"wav">, TLiteral<"mp3">, TLiteral<"opus">, TLiteral<"flac">, TLiteral<"pcm">]> = Type.Union([
  Type.Literal("wav"),
  Type.Literal("mp3"),
  Type.Literal("opus"),
  Type.Literal("flac"),
  Type.Literal("pcm"),
]);

/**
 * Audio formats of OpenAI-compatible speech servers such as Kokoro-FastAPI.
 *
 * @example
 * ```ts
 * const format: AudioFormat = "wav";
 * ```
 */
export type AudioFormat = Type.Static<typeof AudioFormat>;

/**
 * Input of `kokoro.synthesize`. `voice` is a Kokoro voice id (`af_heart`, `am_adam`, `bf_emma`...;
 * the first letter is the language, the second the gender) or a mix such as `af_bella+af_sky`.
 *
 * @example
 * ```ts
 * const input: KokoroInput = { text: "Hello there.", voice: "bf_emma", speed: 1.1, format: "mp3" };
 * ```
 */
export const KokoroInput: TObject<{ text: TString; voice: TOptional<TString>; speed: TOptional<TNumber>; format: TOptional<typeof AudioFormat> }> = Type.Object({
  text: Type.String({ minLength: 1, maxLength: 10_000 }),
  voice: Type.Optional(Type.String({ pattern: "^[a-z]{2}_[a-z0-9]+(\\([0-9.]+\\))?(\\+[a-z]{2}_[a-z0-9]+(\\([0-9.]+\\))?)*$", maxLength: 200, default: "af_heart" })),
  speed: Type.Optional(Type.Number({ minimum: 0.25, maximum: 4, default: 1 })),
  format: Type.Optional(AudioFormat),
}, { additionalProperties: false });

/**
 * Input of `kokoro.synthesize`.
 *
 * @example
 * ```ts
 * const input: KokoroInput = { text: "Hello there.", voice: "bf_emma", speed: 1.1, format: "mp3" };
 * ```
 */
export type KokoroInput = Type.Static<typeof KokoroInput>;

/**
 * Output of `kokoro.synthesize`.
 *
 * @example
 * ```ts
 * const { audio, sampleRate, duration }: KokoroOutput = await client.kokoro.synthesize({ text: "Hi" });
 * ```
 */
export const KokoroOutput: TObject<{ audio: TBytes; format: typeof AudioFormat; sampleRate: TInteger; duration: TNumber; model: TString }> = Type.Object({
  /** The audio file in `format` (`pcm`: 16-bit little-endian mono samples, no header). */
  audio: Bytes(),
  format: AudioFormat,
  sampleRate: Type.Integer({ minimum: 1 }),
  /** Seconds of audio. */
  duration: Type.Number({ minimum: 0 }),
  /** Which backend and model produced the audio, e.g. `demo-formant`. */
  model: Type.String(),
});

/**
 * Output of `kokoro.synthesize`.
 *
 * @example
 * ```ts
 * const { audio, sampleRate, duration }: KokoroOutput = await client.kokoro.synthesize({ text: "Hi" });
 * ```
 */
export type KokoroOutput = Type.Static<typeof KokoroOutput>;

/**
 * `kokoro.synthesize` input with every default filled in.
 *
 * @example
 * ```ts
 * const req: KokoroRequest = resolveKokoroInput({ text: "Hi" }); // voice, speed and format filled in
 * ```
 */
export type KokoroRequest = Required<KokoroInput>;

/**
 * Fills in the defaults of a `kokoro.synthesize` input.
 *
 * @example
 * ```ts
 * import { resolveKokoroInput } from "malamute/forge";
 * resolveKokoroInput({ text: "Hello" }).voice; // "af_heart"
 * ```
 */
export function resolveKokoroInput(input: KokoroInput): KokoroRequest {
  return { ...input, voice: input.voice ?? "af_heart", speed: input.speed ?? 1, format: input.format ?? "wav" };
}
