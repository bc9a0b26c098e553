import { resolveKokoroInput, type KokoroInput, type KokoroOutput } from "../../contracts/kokoro.ts";
import { probeAudio } from "../../media/audio-probe.ts";
import type { BackendContext, KokoroBackend } from "../types.ts";
import { badShape, joinUrl, postJson, type HttpBackendOptions } from "./request.ts";

/**
 * Options of {@link openAiSpeechKokoro}.
 *
 * @example
 * ```ts
 * const options: OpenAiSpeechOptions = { baseUrl: "http://127.0.0.1:8880/v1", model: "kokoro", pcmSampleRate: 24_000 };
 * ```
 */
export interface OpenAiSpeechOptions extends HttpBackendOptions {
  /** Fields merged into every request body (Kokoro-FastAPI: e.g. `{ lang_code: "a" }`). */
  extraBody?: Record<string, unknown>;
  /** Sample rate of `pcm` responses, which carry no header. Default 24 000 (Kokoro's rate). */
  pcmSampleRate?: number;
}

/**
 * `kokoro.synthesize` through an OpenAI-compatible `/audio/speech` endpoint, as
 * Kokoro-FastAPI exposes it: `{ model, input, voice, speed, response_format }` in, audio bytes
 * out. Sample rate and duration are read from the returned file's headers.
 *
 * @example
 * ```ts
 * import { openAiSpeechKokoro } from "malamute/forge";
 * const backend = openAiSpeechKokoro({ baseUrl: "http://127.0.0.1:8880/v1", model: "kokoro" });
 * const { audio, duration } = await backend.synthesize({ text: "Hello!", voice: "af_heart", format: "mp3" }, { signal });
 * ```
 */
export function openAiSpeechKokoro(options: OpenAiSpeechOptions): KokoroBackend {
  const url = joinUrl(options.baseUrl, "/audio/speech");
  return {
    name: `openai-speech:${options.model}`,
    async synthesize(input: KokoroInput, ctx: BackendContext): Promise<KokoroOutput> {
      const req = resolveKokoroInput(input);
      const body = { ...options.extraBody, model: options.model, input: req.text, voice: req.voice, speed: req.speed, response_format: req.format };
      const result = await postJson(options, "/audio/speech", body, ctx);
      if (result.body.length === 0) throw badShape(url, "audio bytes");
      const info = probeAudio(result.body, req.format, options.pcmSampleRate);
      return { audio: result.body, format: req.format, sampleRate: info.sampleRate, duration: info.duration, model: `openai-speech:${options.model}` };
    },
  };
}
