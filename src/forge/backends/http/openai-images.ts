import { fromBase64, randomSeed } from "../../bytes.ts";
import { resolveZImageInput, type ZImageInput, type ZImageOutput } from "../../contracts/zimage.ts";
import { ForgeCode, ForgeError } from "../../errors.ts";
import { isPng, parseHeader, readPngChunks, type PngHeader } from "../../media/png-decode.ts";
import type { BackendContext, ZImageBackend } from "../types.ts";
import { badShape, joinUrl, parseJson, postJson, type HttpBackendOptions } from "./request.ts";

/**
 * Options of {@link openAiImagesZImage}.
 *
 * @example
 * ```ts
 * const options: OpenAiImagesOptions = { baseUrl: "http://127.0.0.1:8000/v1", model: "Tongyi-MAI/Z-Image-Turbo", samplingFields: false };
 * ```
 */
export interface OpenAiImagesOptions extends HttpBackendOptions {
  /** Fields merged into every request body. */
  extraBody?: Record<string, unknown>;
  /**
   * Send the diffusion settings OpenAI's API lacks — `negative_prompt`, `num_inference_steps`,
   * `guidance_scale`, `seed` — as extra fields, as diffusers-based servers read them.
   * Default true; turn off for servers that reject unknown fields.
   */
  samplingFields?: boolean;
}

interface ImagesResponse {
  data?: Array<{ b64_json?: string; url?: string; seed?: number }>;
  seed?: number;
}

/**
 * `zimage.generate` through an OpenAI-compatible `/images/generations` endpoint with
 * `response_format: "b64_json"`. The seed is always sent (a random one when the caller gives
 * none) so the output can name it; a seed the server reports back wins. The returned bytes
 * must be a PNG; width and height are read from it.
 *
 * @example
 * ```ts
 * import { openAiImagesZImage } from "malamute/forge";
 * const backend = openAiImagesZImage({ baseUrl: "http://127.0.0.1:8000/v1", model: "Tongyi-MAI/Z-Image-Turbo" });
 * const { png, seed } = await backend.generate({ prompt: "a fox in the snow", width: 1024, height: 1024 }, { signal });
 * ```
 */
export function openAiImagesZImage(options: OpenAiImagesOptions): ZImageBackend {
  const url = joinUrl(options.baseUrl, "/images/generations");
  return {
    name: `openai-images:${options.model}`,
    async generate(input: ZImageInput, ctx: BackendContext): Promise<ZImageOutput> {
      const req = resolveZImageInput(input);
      const seed = req.seed ?? randomSeed();
      const body: Record<string, unknown> = {
        ...options.extraBody,
        model: options.model,
        prompt: req.prompt,
        n: 1,
        size: `${req.width}x${req.height}`,
        response_format: "b64_json",
      };
      if (options.samplingFields !== false) {
        if (req.negativePrompt) body["negative_prompt"] = req.negativePrompt;
        body["num_inference_steps"] = req.steps;
        body["guidance_scale"] = req.guidance;
        body["seed"] = seed;
      }
      const json = parseJson(await postJson(options, "/images/generations", body, ctx), url) as ImagesResponse;
      const item = json.data?.[0];
      if (!item?.b64_json) throw badShape(url, item?.url ? "b64_json (it sent a URL; the server ignored response_format)" : "data[0].b64_json");
      const png = fromBase64(item.b64_json);
      if (!png) throw badShape(url, "valid base64 in data[0].b64_json");
      if (!isPng(png)) {
        throw new ForgeError(ForgeCode.BadResponse, `${url} returned an image that is not a PNG`, { details: { url, magic: [...png.subarray(0, 4)] } });
      }
      let header: PngHeader;
      try {
        const ihdr = readPngChunks(png)[0];
        if (!ihdr || ihdr.type !== "IHDR") throw new Error("first chunk is not IHDR");
        header = parseHeader(ihdr.data, { maxPixels: Number.MAX_SAFE_INTEGER });
      } catch (err) {
        throw new ForgeError(ForgeCode.BadResponse, `${url} returned a damaged PNG: ${(err as Error).message}`, { cause: err, details: { url } });
      }
      const used = typeof item.seed === "number" ? item.seed : typeof json.seed === "number" ? json.seed : seed;
      return { png, seed: used >>> 0, width: header.width, height: header.height, model: `openai-images:${options.model}` };
    },
  };
}
