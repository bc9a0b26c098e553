import type { Progress } from "../contracts/common.ts";
import type { KokoroInput, KokoroOutput } from "../contracts/kokoro.ts";
import type { Qwen3VlInput, Qwen3VlOutput } from "../contracts/qwen3vl.ts";
import type { Sam3Chunk, Sam3Input } from "../contracts/sam3.ts";
import type { ZImageInput, ZImageOutput } from "../contracts/zimage.ts";

/**
 * What a backend gets besides its input. An RPC handler's context fits it as is, so a worker
 * passes its `ctx` straight through.
 *
 * @example
 * ```ts
 * await backend.generate(input, { signal: AbortSignal.timeout(30_000), progress: (p) => console.log(p.done, p.total) });
 * ```
 */
export interface BackendContext {
  /** Aborted when the caller cancels or the deadline passes; backends stop work and reject. */
  readonly signal: AbortSignal;
  /** Absolute deadline, ms since the Unix epoch, when there is one. */
  readonly deadline?: number;
  /** Reports progress to the caller; optional. */
  progress?(value: Progress): void;
}

/**
 * A backend of `qwen3vl.infer`: the demo image analyser, an OpenAI-compatible chat server,
 * or a script.
 *
 * @example
 * ```ts
 * import { demoQwen3Vl } from "malamute/forge";
 * const backend: Qwen3VlBackend = demoQwen3Vl();
 * const out = await backend.infer({ images: [img], prompt: "Describe it." }, { signal: AbortSignal.timeout(5000) });
 * ```
 */
export interface Qwen3VlBackend {
  /** What this backend is, e.g. `demo-image-stats` or `openai-chat:Qwen/Qwen3-VL-8B-Instruct`. */
  readonly name: string;
  infer(input: Qwen3VlInput, ctx: BackendContext): Promise<Qwen3VlOutput>;
  close?(): Promise<void>;
}

/**
 * A backend of `zimage.generate`.
 *
 * @example
 * ```ts
 * import { demoZImage } from "malamute/forge";
 * const { png, seed } = await demoZImage().generate({ prompt: "a red kite over hills", width: 256, height: 256 }, { signal });
 * ```
 */
export interface ZImageBackend {
  readonly name: string;
  generate(input: ZImageInput, ctx: BackendContext): Promise<ZImageOutput>;
  close?(): Promise<void>;
}

/**
 * A backend of `kokoro.synthesize`.
 *
 * @example
 * ```ts
 * import { demoKokoro } from "malamute/forge";
 * const { audio, duration } = await demoKokoro().synthesize({ text: "Hello there." }, { signal });
 * ```
 */
export interface KokoroBackend {
  readonly name: string;
  synthesize(input: KokoroInput, ctx: BackendContext): Promise<KokoroOutput>;
  close?(): Promise<void>;
}

/**
 * A backend of `sam3.segment`: yields progress chunks, one frame chunk per frame, then a summary.
 *
 * @example
 * ```ts
 * import { demoSam3 } from "malamute/forge";
 * for await (const chunk of demoSam3().segment(input, { signal })) if (chunk.type === "frame") draw(chunk);
 * ```
 */
export interface Sam3Backend {
  readonly name: string;
  segment(input: Sam3Input, ctx: BackendContext): AsyncIterable<Sam3Chunk>;
  close?(): Promise<void>;
}
