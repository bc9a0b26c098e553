import { randomSeed } from "../../bytes.ts";
import { KokoroOutput, resolveKokoroInput, type KokoroRequest } from "../../contracts/kokoro.ts";
import { Qwen3VlOutput, resolveQwen3VlInput, type Qwen3VlRequest } from "../../contracts/qwen3vl.ts";
import { resolveSam3Input, Sam3Chunk, type Sam3Request } from "../../contracts/sam3.ts";
import { resolveZImageInput, ZImageOutput, type ZImageRequest } from "../../contracts/zimage.ts";
import { probeAudio } from "../../media/audio-probe.ts";
import { parseHeader, readPngChunks } from "../../media/png-decode.ts";
import type { KokoroBackend, Qwen3VlBackend, Sam3Backend, ZImageBackend } from "../types.ts";
import { expect } from "./check.ts";
import { type CommandOptions, type CommandResult, CommandRunner } from "./command-runner.ts";
import { pushStream } from "./stream.ts";

/**
 * Options of the command-mode backends: a {@link CommandOptions} plus how the result becomes
 * the contract's output. The template is filled from the input with its defaults applied
 * (`{voice}` is `af_heart` when the caller gave none; `{seed}` is a fresh random seed).
 *
 * @example
 * ```ts
 * const options: CommandBackendOptions<KokoroRequest> = {
 *   command: "elixir",
 *   args: ["kokoro_tts_generation.exs", "--text", "{text}", "--voice", "{voice}", "--out", "{out.audio:wav}"],
 *   model: "kokoro-82m (bumblebee)",
 * };
 * ```
 */
export interface CommandBackendOptions<In> extends CommandOptions {
  /** Backend name; default `command:<command> <first argument>`. */
  name?: string;
  /** `model` of the output when the mapping leaves it out; default the backend name. */
  model?: string;
  /**
   * Maps a run onto the contract's output, replacing the default mapping (which takes the
   * JSON object printed on stdout, output files by name, and fills the rest, see each backend).
   * What it returns is checked against the contract (`FORGE_BAD_RESPONSE`).
   */
  output?: (result: CommandResult, input: In) => unknown;
}

/**
 * `kokoro.synthesize` by running a one-shot script per call. Default mapping: `audio` is the
 * output file `audio` (or `out`), `format` the requested one, `sampleRate` and `duration` read
 * from the audio's header, fields of a JSON object on stdout win.
 *
 * @example
 * ```ts
 * import { commandKokoro } from "malamute/forge";
 * const speech = commandKokoro({
 *   command: "elixir",
 *   args: ["kokoro_tts_generation.exs", "--text", "{text}", "--voice", "{voice}", "--out", "{out.audio:wav}"],
 * });
 * ```
 */
export function commandKokoro(options: CommandBackendOptions<KokoroRequest>): KokoroBackend {
  const { runner, name, model } = setup(options);
  return {
    name,
    async synthesize(input, ctx) {
      const req = resolveKokoroInput(input);
      const result = await runner.run(req, ctx);
      if (options.output) return expect(KokoroOutput, options.output(result, req), "kokoro.synthesize result");
      const base = baseOf(result);
      const audio = base["audio"] ?? result.files["out"];
      const format = (base["format"] as string | undefined) ?? req.format;
      const info = audio instanceof Uint8Array && (base["sampleRate"] === undefined || base["duration"] === undefined) ? probeAudio(audio, format) : {};
      return expect(KokoroOutput, { ...info, format, model, ...base, audio }, "kokoro.synthesize result");
    },
    close: () => runner.close(),
  };
}

/**
 * `zimage.generate` by running a one-shot script per call. Default mapping: `png` is the output
 * file `png` (or `out`), `width`/`height` read from the PNG header, `seed` the one passed to the
 * script, fields of a JSON object on stdout win.
 *
 * @example
 * ```ts
 * import { commandZImage } from "malamute/forge";
 * const images = commandZImage({
 *   command: "elixir",
 *   args: ["zimage_generation.exs", "--prompt", "{prompt}", "--seed", "{seed}", "--size", "{width}x{height}", "--out", "{out.png:png}"],
 * });
 * ```
 */
export function commandZImage(options: CommandBackendOptions<ZImageRequest>): ZImageBackend {
  const { runner, name, model } = setup(options);
  return {
    name,
    async generate(input, ctx) {
      const req = resolveZImageInput(input);
      req.seed ??= randomSeed();
      const result = await runner.run(req, ctx);
      if (options.output) return expect(ZImageOutput, options.output(result, req), "zimage.generate result");
      const base = baseOf(result);
      const png = base["png"] ?? result.files["out"];
      const size = png instanceof Uint8Array ? pngSize(png) : {};
      return expect(ZImageOutput, { seed: req.seed, ...size, model, ...base, png }, "zimage.generate result");
    },
    close: () => runner.close(),
  };
}

/**
 * `qwen3vl.infer` by running a one-shot script per call. Default mapping: with `stdout: "text"`
 * the trimmed stdout is `text` (`finishReason` `stop`, token counts estimated at 4 characters a
 * token); with `stdout: "json"` the printed object's fields win.
 *
 * @example
 * ```ts
 * import { commandQwen3Vl } from "malamute/forge";
 * const vision = commandQwen3Vl({
 *   command: "elixir",
 *   args: ["qwen3vl_inference.exs", "--image", "{images[0]:file}", "--prompt", "{prompt}", "--max-tokens", "{maxTokens}"],
 * });
 * ```
 */
export function commandQwen3Vl(options: CommandBackendOptions<Qwen3VlRequest>): Qwen3VlBackend {
  const { runner, name, model } = setup(options);
  return {
    name,
    async infer(input, ctx) {
      const req = resolveQwen3VlInput(input);
      const result = await runner.run(req, ctx);
      if (options.output) return expect(Qwen3VlOutput, options.output(result, req), "qwen3vl.infer result");
      const base = baseOf(result);
      const text = typeof base["text"] === "string" ? base["text"] : result.stdout.trim();
      const promptTokens = Math.ceil(((req.system ?? "").length + req.prompt.length) / 4);
      const completionTokens = Math.ceil(text.length / 4);
      const usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
      return expect(Qwen3VlOutput, { finishReason: "stop", usage, model, ...base, text }, "qwen3vl.infer result");
    },
    close: () => runner.close(),
  };
}

/**
 * `sam3.segment` by running a one-shot script per call, streaming as it prints: each stdout line
 * that starts with `{` is one JSON chunk (`progress`, `frame`, then `summary`), checked against
 * the contract and yielded at once; other lines (logs) are ignored. Pass `chunk` to map lines
 * differently (return `undefined` to skip one). Stopping the iteration kills the process group.
 *
 * @example
 * ```ts
 * import { commandSam3 } from "malamute/forge";
 * const tracker = commandSam3({
 *   command: "elixir",
 *   args: ["sam3_video_segmentation.exs", "--video", "{video:file}", "--prompts", "{prompts:json}", "--threshold", "{threshold}"],
 * });
 * ```
 */
export function commandSam3(options: Omit<CommandBackendOptions<Sam3Request>, "output"> & { chunk?: (line: string, input: Sam3Request) => unknown }): Sam3Backend {
  const { runner, name } = setup(options);
  const parse = options.chunk ?? ((line: string) => (line.startsWith("{") ? JSON.parse(line) as unknown : undefined));
  return {
    name,
    segment(input, ctx) {
      const req = resolveSam3Input(input);
      return pushStream<Sam3Chunk>(ctx, (push, _fail, callCtx) =>
        runner.run(req, callCtx, (line) => {
          const value = parse(line, req);
          // A throw here kills the script and fails the stream with it.
          if (value !== undefined) push(expect<Sam3Chunk>(Sam3Chunk, value, "sam3.segment chunk"));
        }));
    },
    close: () => runner.close(),
  };
}

function setup<In>(options: CommandBackendOptions<In>): { runner: CommandRunner; name: string; model: string } {
  const runner = new CommandRunner(options);
  const first = options.args.find((a): a is string => typeof a === "string");
  const name = options.name ?? `command:${options.command}${first ? ` ${first}` : ""}`;
  return { runner, name, model: options.model ?? name };
}

/** The JSON object printed on stdout (if any) with the named output files on top. */
function baseOf(result: CommandResult): Record<string, unknown> {
  const json = result.json;
  const base: Record<string, unknown> = typeof json === "object" && json !== null && !Array.isArray(json) ? { ...json as Record<string, unknown> } : {};
  for (const [name, bytes] of Object.entries(result.files)) if (name !== "out") base[name] = bytes;
  return base;
}

function pngSize(png: Uint8Array): { width?: number; height?: number } {
  try {
    const ihdr = readPngChunks(png).find((c) => c.type === "IHDR");
    if (!ihdr) return {};
    const { width, height } = parseHeader(ihdr.data);
    return { width, height };
  } catch {
    return {}; // not a PNG: the contract check reports it
  }
}
