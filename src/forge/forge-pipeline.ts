import type { ServiceClient } from "../rpc/types.ts";
import type { ImageFile, Progress } from "./contracts/common.ts";
import type { kokoro, qwen3vl, zimage } from "./contracts/services.ts";
import { pipeline, type Pipeline } from "./pipeline.ts";
import type { Qwen3VlOutput } from "./contracts/qwen3vl.ts";
import type { ZImageOutput } from "./contracts/zimage.ts";
import type { KokoroOutput } from "./contracts/kokoro.ts";

/**
 * The typed clients the Forge pipeline calls (an RPC client connected with these contracts fits).
 *
 * @example
 * ```ts
 * const clients: ForgePipelineClients = await connect(endpoint, { qwen3vl, zimage, kokoro });
 * ```
 */
export interface ForgePipelineClients {
  qwen3vl: ServiceClient<typeof qwen3vl>;
  zimage: ServiceClient<typeof zimage>;
  kokoro: ServiceClient<typeof kokoro>;
}

/**
 * Settings of {@link forgePipeline}.
 *
 * @example
 * ```ts
 * forgePipeline(client, { width: 768, height: 512, seed: 7, voice: "bm_george", onProgress: (step, p) => console.log(step, p.done) });
 * ```
 */
export interface ForgePipelineOptions {
  /** What qwen3vl is asked about the image. */
  prompt?: string;
  /** Size of the generated image. Default 512 × 320. */
  width?: number;
  height?: number;
  /** zimage steps. Default 9. */
  steps?: number;
  /** zimage seed. Default: random (the output says which). */
  seed?: number;
  /** Kokoro voice. Default `af_heart`. */
  voice?: string;
  /** Progress of every step, as the workers report it. */
  onProgress?: (step: string, progress: Progress) => void;
}

/**
 * Default question for the describe step.
 *
 * @example
 * ```ts
 * await client.qwen3vl.infer({ images: [image], prompt: DESCRIBE_PROMPT });
 * ```
 */
export const DESCRIBE_PROMPT = "Describe this image in one paragraph for an illustrator who will paint a new picture from it.";

/**
 * The results of the three Forge steps, by name.
 *
 * @example
 * ```ts
 * const { results } = await forgePipeline(client).run(image);
 * results.describe.text; results.generate.seed; results.narrate.duration;
 * ```
 */
export type ForgePipelineResults = { describe: Qwen3VlOutput; generate: ZImageOutput; narrate: KokoroOutput };

/**
 * The Forge pipeline: qwen3vl describes an image → zimage generates a new image from the
 * description → kokoro narrates the description. One deadline and one cancellation signal
 * cover every call; each step is timed. Extend it with `.step(...)`.
 *
 * @example
 * ```ts
 * import { connect } from "malamute";
 * import { forgeContracts, forgePipeline } from "malamute/forge";
 * const client = await connect(endpoint, forgeContracts);
 * const { results, steps } = await forgePipeline(client).run({ data: png, mimeType: "image/png" }, { timeoutMs: 120_000 });
 * console.log(results.describe.text, results.generate.seed, results.narrate.duration);
 * ```
 */
export function forgePipeline(
  clients: ForgePipelineClients,
  options: ForgePipelineOptions = {},
): Pipeline<ImageFile, KokoroOutput, ForgePipelineResults> {
  const report = (step: string) => (p: Progress) => options.onProgress?.(step, p);
  return pipeline<ImageFile>()
    .step("describe", (image, ctx) =>
      clients.qwen3vl.infer(
        { images: [image], prompt: options.prompt ?? DESCRIBE_PROMPT, maxTokens: 400, temperature: 0.3 },
        { signal: ctx.signal, deadline: ctx.deadline, onProgress: report("describe") },
      ))
    .step("generate", (description, ctx) => {
      const input: Parameters<ForgePipelineClients["zimage"]["generate"]>[0] = {
        prompt: description.text,
        negativePrompt: "blurry, text, watermark",
        width: options.width ?? 512,
        height: options.height ?? 320,
        steps: options.steps ?? 9,
      };
      if (options.seed !== undefined) input.seed = options.seed;
      return clients.zimage.generate(input, { signal: ctx.signal, deadline: ctx.deadline, onProgress: report("generate") });
    })
    .step("narrate", (_image, ctx) =>
      clients.kokoro.synthesize(
        { text: ctx.results.describe.text, voice: options.voice ?? "af_heart", speed: 1.1, format: "wav" },
        { signal: ctx.signal, deadline: ctx.deadline, onProgress: report("narrate") },
      ));
}
