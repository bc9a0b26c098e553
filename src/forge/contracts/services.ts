import { defineService, type ServiceContract } from "../../rpc/contract.ts";
import { Progress } from "./common.ts";
import { KokoroInput, KokoroOutput } from "./kokoro.ts";
import { Qwen3VlInput, Qwen3VlOutput } from "./qwen3vl.ts";
import { Sam3Chunk, Sam3Input } from "./sam3.ts";
import { ZImageInput, ZImageOutput } from "./zimage.ts";

/**
 * `qwen3vl.infer`: images and a prompt → text and token usage.
 *
 * @example
 * ```ts
 * import { connect } from "malamute";
 * import { qwen3vl } from "malamute/forge";
 * const client = await connect(endpoint, { qwen3vl });
 * const { text } = await client.qwen3vl.infer({ images: [{ data: png, mimeType: "image/png" }], prompt: "Describe it." });
 * ```
 */
export const qwen3vl: ServiceContract<"qwen3vl", {
  infer: { input: typeof Qwen3VlInput; output: typeof Qwen3VlOutput; progress: typeof Progress; timeout: number; description: string };
}> = defineService("qwen3vl", {
  infer: { input: Qwen3VlInput, output: Qwen3VlOutput, progress: Progress, timeout: 120_000, description: "Answer a prompt about one or more images." },
}, { description: "Qwen3-VL vision-language model" });

/**
 * `zimage.generate`: prompt and sampling settings → PNG bytes and the seed used.
 *
 * @example
 * ```ts
 * import { connect } from "malamute";
 * import { zimage } from "malamute/forge";
 * const client = await connect(endpoint, { zimage });
 * const { png, seed } = await client.zimage.generate({ prompt: "a lighthouse at dusk", width: 768, height: 512 });
 * ```
 */
export const zimage: ServiceContract<"zimage", {
  generate: { input: typeof ZImageInput; output: typeof ZImageOutput; progress: typeof Progress; timeout: number; description: string };
}> = defineService("zimage", {
  generate: { input: ZImageInput, output: ZImageOutput, progress: Progress, timeout: 300_000, description: "Generate a PNG image from a prompt." },
}, { description: "Z-Image text-to-image model" });

/**
 * `kokoro.synthesize`: text, voice, speed and format → audio bytes, sample rate, duration.
 *
 * @example
 * ```ts
 * import { connect } from "malamute";
 * import { kokoro } from "malamute/forge";
 * const client = await connect(endpoint, { kokoro });
 * const { audio, duration } = await client.kokoro.synthesize({ text: "Hello!", voice: "af_heart", format: "wav" });
 * ```
 */
export const kokoro: ServiceContract<"kokoro", {
  synthesize: { input: typeof KokoroInput; output: typeof KokoroOutput; progress: typeof Progress; timeout: number; description: string };
}> = defineService("kokoro", {
  synthesize: { input: KokoroInput, output: KokoroOutput, progress: Progress, timeout: 120_000, description: "Speak a text." },
}, { description: "Kokoro text-to-speech model" });

/**
 * `sam3.segment`: a video and text or point prompts → streamed progress, per-frame masks, then a summary.
 *
 * @example
 * ```ts
 * import { connect } from "malamute";
 * import { sam3 } from "malamute/forge";
 * const client = await connect(endpoint, { sam3 });
 * for await (const chunk of client.sam3.segment({ video, prompts: [{ type: "text", text: "ball" }] })) {
 *   if (chunk.type === "frame") console.log(chunk.frame, chunk.objects.length);
 * }
 * ```
 */
export const sam3: ServiceContract<"sam3", {
  segment: { input: typeof Sam3Input; chunk: typeof Sam3Chunk; timeout: number; description: string };
}> = defineService("sam3", {
  segment: { input: Sam3Input, chunk: Sam3Chunk, timeout: 600_000, description: "Segment and track objects through a video." },
}, { description: "SAM 3 promptable video segmentation model" });

/**
 * The four Forge contracts, keyed as a client connects them.
 *
 * @example
 * ```ts
 * const client = await connect(endpoint, forgeContracts); // client.qwen3vl, client.zimage, client.kokoro, client.sam3
 * ```
 */
export const forgeContracts = { qwen3vl, zimage, kokoro, sam3 } as const;
