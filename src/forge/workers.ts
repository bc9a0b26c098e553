import { MalamuteError } from "../errors.ts";
import { RpcError, RpcErrorCode, RpcHandlerError } from "../rpc/errors.ts";
import type { HandlerContext } from "../rpc/types.ts";
import { serve, type RpcWorker, type ServeOptions } from "../rpc/worker/worker.ts";
import { demoKokoro } from "./backends/demo/kokoro-formant.ts";
import { demoQwen3Vl } from "./backends/demo/qwen3vl-image-stats.ts";
import { demoSam3 } from "./backends/demo/sam3-framediff.ts";
import { demoZImage } from "./backends/demo/zimage-procedural.ts";
import type { BackendContext, KokoroBackend, Qwen3VlBackend, Sam3Backend, ZImageBackend } from "./backends/types.ts";
import type { Progress } from "./contracts/common.ts";
import { kokoro, qwen3vl, sam3, zimage } from "./contracts/services.ts";
import { ForgeEvents, type JobReporter } from "./events.ts";

/**
 * One backend per service; a missing one is simply not served.
 *
 * @example
 * ```ts
 * const backends: ForgeBackends = { ...demoBackends(), kokoro: openAiSpeechKokoro({ baseUrl, model: "kokoro" }) };
 * ```
 */
export interface ForgeBackends {
  qwen3vl?: Qwen3VlBackend;
  zimage?: ZImageBackend;
  kokoro?: KokoroBackend;
  sam3?: Sam3Backend;
}

/**
 * Options of the `serve*` functions.
 *
 * @example
 * ```ts
 * await serveForge(endpoint, demoBackends(), { events, concurrency: 2, transport: inproc });
 * ```
 */
export interface ForgeServeOptions extends Omit<ServeOptions, "address"> {
  /** Where jobs report lifecycle and progress. Default: nowhere. */
  events?: ForgeEvents;
}

/**
 * The four CPU demo backends: `demo-image-stats`, `demo-procedural`, `demo-formant` and
 * `demo-framediff`. They stand in for the models so everything runs right after `npm install`.
 *
 * @example
 * ```ts
 * import { demoBackends, serveForge } from "malamute/forge";
 * const forge = await serveForge(endpoint, demoBackends());
 * ```
 */
export function demoBackends(): Required<ForgeBackends> {
  return { qwen3vl: demoQwen3Vl(), zimage: demoZImage(), kokoro: demoKokoro(), sam3: demoSam3() };
}

/**
 * Turns whatever a backend threw into an error the RPC layer sends with its code: RPC and
 * Forge errors keep theirs, other malamute errors keep their code, anything else is `RPC_INTERNAL`.
 *
 * @example
 * ```ts
 * try { return await backend.infer(input, ctx); } catch (err) { throw toRpcError(err); }
 * ```
 */
export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof MalamuteError) return new RpcHandlerError(error.code, error.message, undefined, { cause: error });
  const message = error instanceof Error ? error.message || error.name : String(error);
  return new RpcHandlerError(RpcErrorCode.INTERNAL, message, undefined, { cause: error });
}

function jobOf(events: ForgeEvents | undefined, service: string, method: string, backend: string, ctx: HandlerContext<unknown> | HandlerContext): JobReporter | undefined {
  return events?.job({ jobId: ctx.callId, service, method, backend, caller: ctx.caller });
}

/** Runs a unary backend call under an RPC handler: progress to caller and events, errors as RPC errors. */
async function unary<Out>(
  job: JobReporter | undefined,
  ctx: HandlerContext<Progress>,
  run: (bctx: BackendContext) => Promise<Out>,
  summarize: (out: Out) => Record<string, string | number | boolean>,
): Promise<Out> {
  const bctx: BackendContext = {
    signal: ctx.signal,
    deadline: ctx.deadline,
    progress: (p) => {
      ctx.progress(p);
      job?.progress(p);
    },
  };
  try {
    const out = await run(bctx);
    job?.completed(summarize(out));
    return out;
  } catch (err) {
    const error = toRpcError(err);
    job?.failed(error);
    throw error;
  }
}

/**
 * Serves `qwen3vl.infer` with `backend`.
 *
 * @example
 * ```ts
 * import { openAiChatQwen3Vl, serveQwen3Vl } from "malamute/forge";
 * const worker = await serveQwen3Vl("tcp://127.0.0.1:9999", openAiChatQwen3Vl({ baseUrl: "http://127.0.0.1:8000/v1", model: "Qwen/Qwen3-VL-8B-Instruct" }), { concurrency: 4 });
 * ```
 */
export function serveQwen3Vl(endpoint: string, backend: Qwen3VlBackend, options: ForgeServeOptions = {}): Promise<RpcWorker> {
  const { events, ...serveOptions } = options;
  return serve(endpoint, qwen3vl, {
    infer: (input, ctx) =>
      unary(jobOf(events, "qwen3vl", "infer", backend.name, ctx), ctx, (b) => backend.infer(input, b), (out) => ({
        images: input.images.length,
        promptTokens: out.usage.promptTokens,
        completionTokens: out.usage.completionTokens,
        finishReason: out.finishReason,
        model: out.model,
      })),
  }, serveOptions);
}

/**
 * Serves `zimage.generate` with `backend`.
 *
 * @example
 * ```ts
 * import { demoZImage, serveZImage } from "malamute/forge";
 * const worker = await serveZImage("tcp://127.0.0.1:9999", demoZImage());
 * ```
 */
export function serveZImage(endpoint: string, backend: ZImageBackend, options: ForgeServeOptions = {}): Promise<RpcWorker> {
  const { events, ...serveOptions } = options;
  return serve(endpoint, zimage, {
    generate: (input, ctx) =>
      unary(jobOf(events, "zimage", "generate", backend.name, ctx), ctx, (b) => backend.generate(input, b), (out) => ({
        seed: out.seed,
        width: out.width,
        height: out.height,
        bytes: out.png.length,
        model: out.model,
      })),
  }, serveOptions);
}

/**
 * Serves `kokoro.synthesize` with `backend`.
 *
 * @example
 * ```ts
 * import { openAiSpeechKokoro, serveKokoro } from "malamute/forge";
 * const worker = await serveKokoro("tcp://127.0.0.1:9999", openAiSpeechKokoro({ baseUrl: "http://127.0.0.1:8880/v1", model: "kokoro" }));
 * ```
 */
export function serveKokoro(endpoint: string, backend: KokoroBackend, options: ForgeServeOptions = {}): Promise<RpcWorker> {
  const { events, ...serveOptions } = options;
  return serve(endpoint, kokoro, {
    synthesize: (input, ctx) =>
      unary(jobOf(events, "kokoro", "synthesize", backend.name, ctx), ctx, (b) => backend.synthesize(input, b), (out) => ({
        format: out.format,
        sampleRate: out.sampleRate,
        duration: Math.round(out.duration * 1000) / 1000,
        bytes: out.audio.length,
        model: out.model,
      })),
  }, serveOptions);
}

/**
 * Serves `sam3.segment` with `backend`, streaming its chunks; progress chunks also go to
 * `forge.events`.
 *
 * @example
 * ```ts
 * import { demoSam3, serveSam3 } from "malamute/forge";
 * const worker = await serveSam3("tcp://127.0.0.1:9999", demoSam3());
 * ```
 */
export function serveSam3(endpoint: string, backend: Sam3Backend, options: ForgeServeOptions = {}): Promise<RpcWorker> {
  const { events, ...serveOptions } = options;
  return serve(endpoint, sam3, {
    segment: async function* (input, ctx) {
      const job = jobOf(events, "sam3", "segment", backend.name, ctx);
      let settled = false;
      try {
        for await (const chunk of backend.segment(input, { signal: ctx.signal, deadline: ctx.deadline })) {
          if (chunk.type === "progress") job?.progress(chunk.stage === undefined ? { done: chunk.done, total: chunk.total } : { done: chunk.done, total: chunk.total, stage: chunk.stage });
          if (chunk.type === "summary") {
            settled = true;
            job?.completed({ frames: chunk.frames, objects: chunk.objects.length, model: chunk.model });
          }
          yield chunk;
        }
      } catch (err) {
        const error = toRpcError(err);
        settled = true;
        job?.failed(error);
        throw error;
      } finally {
        // The caller stopped reading (cancel): the generator is closed without an error.
        if (!settled) job?.failed(ctx.signal.aborted ? ctx.signal.reason : new RpcError(RpcErrorCode.CANCELLED, "stream closed by the caller"));
      }
    },
  }, serveOptions);
}

/**
 * The workers of {@link serveForge}.
 *
 * @example
 * ```ts
 * const forge = await serveForge(endpoint, demoBackends());
 * console.log(forge.workers.map((w) => w.service));
 * await forge.close();
 * ```
 */
export interface ForgeWorkers {
  readonly workers: RpcWorker[];
  /** Closes every worker (and the backends that have a `close`). */
  close(): Promise<void>;
}

/**
 * Serves every service that has a backend in `backends`, each as its own RPC worker.
 *
 * @example
 * ```ts
 * import { demoBackends, ForgeEvents, serveForge } from "malamute/forge";
 * const events = await ForgeEvents.connect(endpoint);
 * const forge = await serveForge(endpoint, demoBackends(), { events });
 * // ...
 * await forge.close();
 * ```
 */
export async function serveForge(endpoint: string, backends: ForgeBackends, options: ForgeServeOptions = {}): Promise<ForgeWorkers> {
  const started: Array<Promise<RpcWorker>> = [];
  if (backends.qwen3vl) started.push(serveQwen3Vl(endpoint, backends.qwen3vl, options));
  if (backends.zimage) started.push(serveZImage(endpoint, backends.zimage, options));
  if (backends.kokoro) started.push(serveKokoro(endpoint, backends.kokoro, options));
  if (backends.sam3) started.push(serveSam3(endpoint, backends.sam3, options));
  const settled = await Promise.allSettled(started);
  const workers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const closeAll = async () => {
    await Promise.allSettled(workers.map((w) => w.close()));
    await Promise.allSettled(Object.values(backends).map((b: { close?: () => Promise<void> }) => b.close?.()));
  };
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) {
    await closeAll();
    throw failure.reason;
  }
  return { workers, close: closeAll };
}
