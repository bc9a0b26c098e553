import { fnv1a } from "../../bytes.ts";
import { resolveKokoroInput, type KokoroInput, type KokoroOutput } from "../../contracts/kokoro.ts";
import { ForgeCode, ForgeError } from "../../errors.ts";
import { synthesizeSpeech, voiceParams } from "../../media/speech.ts";
import { encodePcm16, encodeWav } from "../../media/wav.ts";
import type { BackendContext, KokoroBackend } from "../types.ts";
import { breathe, check } from "./util.ts";

/**
 * The name this backend reports as its `model`.
 *
 * @example
 * ```ts
 * demoKokoro().name === DEMO_KOKORO_NAME; // true, "demo-formant"
 * ```
 */
export const DEMO_KOKORO_NAME = "demo-formant";

/** Kokoro's output rate; the demo matches it so files are interchangeable. */
const SAMPLE_RATE = 24_000;

/**
 * A stand-in for Kokoro that runs anywhere: a small formant synthesiser. It turns the text's
 * letters into vowel and consonant sounds with the text's rhythm, pauses at punctuation and
 * falling or rising (`?`) intonation; the voice id picks pitch and vocal-tract size (`af_*`
 * higher, `am_*` lower; mixes average); `speed` scales durations. The result sounds like
 * someone humming through a kazoo, not like words. Formats: `wav` and `pcm` (16-bit mono,
 * 24 kHz); others fail with `FORGE_UNSUPPORTED`.
 *
 * @example
 * ```ts
 * import { demoKokoro } from "malamute/forge";
 * const { audio, duration } = await demoKokoro().synthesize(
 *   { text: "A calm lake at dusk.", voice: "bf_emma", speed: 1.1 },
 *   { signal: AbortSignal.timeout(10_000) },
 * );
 * ```
 */
export function demoKokoro(): KokoroBackend {
  return {
    name: DEMO_KOKORO_NAME,
    async synthesize(input: KokoroInput, ctx: BackendContext): Promise<KokoroOutput> {
      const req = resolveKokoroInput(input);
      check(req.text.trim().length > 0, "text must not be empty");
      check(Number.isFinite(req.speed) && req.speed >= 0.25 && req.speed <= 4, "speed must be between 0.25 and 4", { speed: req.speed });
      if (req.format !== "wav" && req.format !== "pcm") {
        throw new ForgeError(ForgeCode.Unsupported, `${DEMO_KOKORO_NAME} produces wav and pcm only, not ${req.format}`, {
          details: { format: req.format, supported: ["wav", "pcm"] },
        });
      }
      await breathe(ctx.signal);
      const samples = synthesizeSpeech(
        req.text,
        { voice: voiceParams(req.voice), speed: req.speed, sampleRate: SAMPLE_RATE, seed: fnv1a(new TextEncoder().encode(req.voice + "\0" + req.text)) },
        (done, total) => ctx.progress?.({ done, total, stage: "synthesize" }),
      );
      await breathe(ctx.signal);
      const audio = req.format === "wav" ? encodeWav(samples, SAMPLE_RATE) : encodePcm16(samples);
      return { audio, format: req.format, sampleRate: SAMPLE_RATE, duration: samples.length / SAMPLE_RATE, model: DEMO_KOKORO_NAME };
    },
  };
}
