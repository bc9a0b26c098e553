import { randomSeed } from "../../bytes.ts";
import { resolveZImageInput, type ZImageInput, type ZImageOutput } from "../../contracts/zimage.ts";
import { encodePng } from "../../media/png-encode.ts";
import { parseScene, renderScene } from "../../media/scene.ts";
import type { BackendContext, ZImageBackend } from "../types.ts";
import { breathe, check } from "./util.ts";

/**
 * The name this backend reports as its `model`.
 *
 * @example
 * ```ts
 * demoZImage().name === DEMO_ZIMAGE_NAME; // true, "demo-procedural"
 * ```
 */
export const DEMO_ZIMAGE_NAME = "demo-procedural";

/**
 * Options of {@link demoZImage}.
 *
 * @example
 * ```ts
 * const backend = demoZImage({ maxPixels: 1024 * 1024 });
 * ```
 */
export interface DemoZImageOptions {
  /** Largest accepted `width * height`. Default 2048 × 2048. */
  maxPixels?: number;
}

/**
 * A stand-in for Z-Image that runs anywhere: a procedural landscape renderer driven by the
 * prompt's words. Time of day ("sunset", "night"), features ("mountains", "lake", "forest",
 * "city", "snow", "clouds"...), colour words and phrases like "bright ... upper right" shape the
 * picture; the negative prompt switches features and colours off; the seed fixes the noise;
 * `steps` sets the detail (noise octaves); `guidance` strengthens the prompt's colours and the
 * saturation. It is not a diffusion model and draws nothing it has no word for. The PNG
 * carries the prompt, seed and renderer name in iTXt chunks.
 *
 * @example
 * ```ts
 * import { demoZImage } from "malamute/forge";
 * const { png, seed } = await demoZImage().generate(
 *   { prompt: "snowy mountains above a dark blue lake at sunset", width: 512, height: 320, seed: 7 },
 *   { signal: AbortSignal.timeout(10_000) },
 * );
 * ```
 */
export function demoZImage(options: DemoZImageOptions = {}): ZImageBackend {
  const maxPixels = options.maxPixels ?? 2048 * 2048;
  return {
    name: DEMO_ZIMAGE_NAME,
    async generate(input: ZImageInput, ctx: BackendContext): Promise<ZImageOutput> {
      const req = resolveZImageInput(input);
      for (const [key, v] of [["width", req.width], ["height", req.height]] as const) {
        check(Number.isInteger(v) && v >= 16 && v % 16 === 0, `${key} must be a positive multiple of 16`, { [key]: v });
      }
      check(req.width * req.height <= maxPixels, `image larger than ${maxPixels} pixels`, { width: req.width, height: req.height });
      check(Number.isInteger(req.steps) && req.steps >= 1, "steps must be a positive integer", { steps: req.steps });
      const seed = req.seed ?? randomSeed();
      const spec = parseScene(req.prompt, req.negativePrompt, seed, req.guidance);
      const render = renderScene(spec, req.width, req.height, 1 + Math.ceil(req.steps / 2));
      const total = render.layers.length + 1;
      for (const [i, layer] of render.layers.entries()) {
        await breathe(ctx.signal);
        layer.paint();
        ctx.progress?.({ done: i + 1, total, stage: layer.name });
      }
      await breathe(ctx.signal);
      const png = encodePng(render.finish(), {
        text: {
          Description: req.prompt,
          Software: `malamute ${DEMO_ZIMAGE_NAME} (a procedural renderer standing in for Z-Image)`,
          Parameters: JSON.stringify({ seed, steps: req.steps, guidance: req.guidance, negativePrompt: req.negativePrompt }),
        },
      });
      ctx.progress?.({ done: total, total, stage: "encode" });
      return { png, seed, width: req.width, height: req.height, model: DEMO_ZIMAGE_NAME };
    },
  };
}
