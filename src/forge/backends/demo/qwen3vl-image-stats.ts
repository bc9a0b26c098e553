import { fnv1a, rng } from "../../bytes.ts";
import { resolveQwen3VlInput, type Qwen3VlInput, type Qwen3VlOutput } from "../../contracts/qwen3vl.ts";
import { ForgeCode, ForgeError } from "../../errors.ts";
import { analyzeImage, type ImageStats } from "../../media/analyze.ts";
import { decodePng, isPng, type PngDecodeLimits } from "../../media/png-decode.ts";
import type { BackendContext, Qwen3VlBackend } from "../types.ts";
import { breathe, check, roughTokens } from "./util.ts";

/**
 * The name this backend reports as its `model`.
 *
 * @example
 * ```ts
 * demoQwen3Vl().name === DEMO_QWEN3VL_NAME; // true, "demo-image-stats"
 * ```
 */
export const DEMO_QWEN3VL_NAME = "demo-image-stats";

/**
 * Options of {@link demoQwen3Vl}.
 *
 * @example
 * ```ts
 * const backend = demoQwen3Vl({ limits: { maxPixels: 4_000_000 } });
 * ```
 */
export interface DemoQwen3VlOptions {
  /** Limits on the PNGs it decodes. */
  limits?: PngDecodeLimits;
}

/**
 * A stand-in for Qwen3-VL that runs anywhere: it decodes each PNG and describes what it
 * measures — size, dominant colours, brightness, contrast, where the light is, edge density
 * and direction. It is not a vision-language model: it does not recognise objects, and it
 * answers every prompt with the same kind of description. Token counts are estimates (words and
 * punctuation marks; one image token per 32×32 pixels, as Qwen3-VL's patching yields).
 *
 * @example
 * ```ts
 * import { demoQwen3Vl } from "malamute/forge";
 * const out = await demoQwen3Vl().infer(
 *   { images: [{ data: png, mimeType: "image/png" }], prompt: "Describe this image." },
 *   { signal: AbortSignal.timeout(10_000) },
 * );
 * console.log(out.text, out.usage.totalTokens);
 * ```
 */
export function demoQwen3Vl(options: DemoQwen3VlOptions = {}): Qwen3VlBackend {
  return {
    name: DEMO_QWEN3VL_NAME,
    async infer(input: Qwen3VlInput, ctx: BackendContext): Promise<Qwen3VlOutput> {
      const req = resolveQwen3VlInput(input);
      check(req.images.length > 0, "at least one image is required");
      check(req.prompt.length > 0, "prompt must not be empty");
      const stats: ImageStats[] = [];
      let imageTokens = 0;
      for (const [i, image] of req.images.entries()) {
        await breathe(ctx.signal);
        if (image.mimeType !== "image/png" && image.mimeType !== "image/apng") {
          throw new ForgeError(
            ForgeCode.Unsupported,
            `${DEMO_QWEN3VL_NAME} decodes PNG images only; image ${i} is ${image.mimeType}`,
            { details: { index: i, mimeType: image.mimeType } },
          );
        }
        check(isPng(image.data), `image ${i} is labelled ${image.mimeType} but is not a PNG file`, { index: i });
        const s = analyzeImage(decodePng(image.data, options.limits));
        stats.push(s);
        imageTokens += Math.ceil(s.width / 32) * Math.ceil(s.height / 32) + 2;
      }
      const seed = req.images.reduce((h, img) => fnv1a(img.data, h), fnv1a(new TextEncoder().encode(req.prompt)));
      const pick = phrasePicker(req.temperature, seed);
      const paragraphs = stats.map((s, i) => (stats.length > 1 ? `Image ${i + 1}: ` : "") + describe(s, pick));
      const full = paragraphs.join("\n\n");
      const tokens = roughTokens(full);
      let text = full;
      let finishReason: Qwen3VlOutput["finishReason"] = "stop";
      if (tokens.length > req.maxTokens) {
        const last = tokens[req.maxTokens - 1]!;
        text = full.slice(0, last.index! + last[0].length);
        finishReason = "length";
      }
      const completionTokens = Math.min(tokens.length, req.maxTokens);
      ctx.progress?.({ done: completionTokens, total: req.maxTokens, stage: "decode" });
      const promptTokens = roughTokens(req.prompt).length + roughTokens(req.system ?? "").length + imageTokens;
      return {
        text,
        finishReason,
        usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
        model: DEMO_QWEN3VL_NAME,
      };
    },
  };
}

type PhrasePick = (...choices: string[]) => string;

/**
 * Chooses between equivalent phrasings: always the first at temperature 0, otherwise a
 * deterministic choice seeded by the input, more varied as the temperature rises.
 */
function phrasePicker(temperature: number, seed: number): PhrasePick {
  const next = rng(seed);
  return (...choices) => {
    if (temperature <= 0 || choices.length === 1) return choices[0]!;
    const r = next();
    return r < Math.min(1, temperature / 1.5) ? choices[1 + Math.floor(next() * (choices.length - 1))]! : choices[0]!;
  };
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

function position(x: number, y: number): string {
  const v = y < 0.34 ? "upper" : y > 0.66 ? "lower" : "middle";
  const h = x < 0.34 ? "left" : x > 0.66 ? "right" : "centre";
  if (v === "middle" && h === "centre") return "centre";
  return v === "middle" ? `middle ${h}` : `${v} ${h}`;
}

function list(items: string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** One paragraph about one image, built only from measured values. */
export function describe(s: ImageStats, pick: PhrasePick = (...c) => c[0]!): string {
  const sentences: string[] = [];
  const main = s.dominant[0];
  const others = s.dominant.slice(1).filter((c) => c.share >= 0.05).map((c) => c.name);
  const alpha = s.transparentShare > 0.01 ? ` with ${pct(s.transparentShare)} transparent pixels` : "";
  sentences.push(
    main
      ? `A ${s.width}×${s.height} ${s.orientation} image${alpha}, ${pick("dominated by", "mostly")} ${main.name} (${pct(main.share)})` +
        (others.length ? `, ${pick("with", "alongside")} ${list(others)}.` : ".")
      : `A ${s.width}×${s.height} image with no opaque pixels.`,
  );
  const level = s.brightness < 0.15 ? "very dark" : s.brightness < 0.3 ? "dark" : s.brightness < 0.45 ? "dim" :
    s.brightness < 0.6 ? "moderately bright" : s.brightness < 0.8 ? "bright" : "very bright";
  const contrast = s.contrast < 0.08 ? "low" : s.contrast < 0.2 ? "moderate" : "high";
  const vertical = s.bands.top - s.bands.bottom > 0.08
    ? "the upper part is lighter than the lower part"
    : s.bands.bottom - s.bands.top > 0.08 ? "the lower part is lighter than the upper part" : "the light is even from top to bottom";
  sentences.push(`It is ${level} overall (mean brightness ${pct(s.brightness)}) with ${contrast} contrast; ${vertical}.`);
  if (s.brightest.brightness - s.brightness > 0.1) {
    sentences.push(`The ${pick("brightest area", "brightest region")} sits near the ${position(s.brightest.x, s.brightest.y)}.`);
  }
  const density = s.edges.density < 0.03 ? "sparse" : s.edges.density < 0.1 ? "moderate" : "dense";
  const direction = s.edges.horizontal > 0.5
    ? ", mostly horizontal, as along a horizon or layered ridges"
    : s.edges.vertical > 0.5 ? ", mostly vertical, as along upright structures" : s.edges.density > 0 ? ", running in many directions" : "";
  sentences.push(`Edges are ${density} (${pct(s.edges.density)} of pixels)${direction}.`);
  if (s.mirror.score > 0.55) {
    sentences.push(`The lower part mirrors the upper part about a line at ${pct(s.mirror.line)} of the height, as a reflection on water would.`);
  }
  const warmShare = s.dominant.filter((c) => /red|orange|yellow|pink|rose|magenta|purple|brown|gold|amber/.test(c.name)).reduce((a, c) => a + c.share, 0);
  const temperature = s.warmth > 0.08 || warmShare > 0.6 ? "warm" : s.warmth < -0.08 ? "cool" : "neutral";
  const vividness = s.colorfulness < 0.15 ? "muted" : s.colorfulness < 0.45 ? pick("moderately colourful", "fairly colourful") : "vivid";
  const lighting = s.brightness < 0.22 ? "night" : temperature === "warm" && s.brightness < 0.6 ? "sunset light" : "daylight";
  sentences.push(`The palette is ${temperature} and ${vividness}; the lighting suggests ${lighting}.`);
  return sentences.join(" ");
}
