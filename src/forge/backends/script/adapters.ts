import { issuesOf } from "../../../rpc/shared/validate.ts";
import { KokoroOutput } from "../../contracts/kokoro.ts";
import { Qwen3VlOutput } from "../../contracts/qwen3vl.ts";
import { Sam3Chunk } from "../../contracts/sam3.ts";
import { ZImageOutput } from "../../contracts/zimage.ts";
import { expect } from "./check.ts";
import { pushStream } from "./stream.ts";
import type { BackendContext, KokoroBackend, Qwen3VlBackend, Sam3Backend, ZImageBackend } from "../types.ts";
import { ScriptHost, type ScriptHostOptions } from "./host.ts";
import { Progress } from "../../contracts/common.ts";

function progressHandler(ctx: BackendContext): ((value: unknown) => void) | undefined {
  const report = ctx.progress;
  if (!report) return undefined;
  return (value) => {
    // Progress is advisory: a malformed one is dropped rather than failing the call.
    if (issuesOf(Progress, value).length === 0) report(value as Progress);
  };
}

function hostFor(target: ScriptHost | ScriptHostOptions): ScriptHost {
  return target instanceof ScriptHost ? target : new ScriptHost(target);
}

const label = (host: ScriptHost | ScriptHostOptions) =>
  host instanceof ScriptHost ? "script" : `script:${[host.command, ...(host.args ?? [])].join(" ")}`;

/**
 * `qwen3vl.infer` served by a script (method name `qwen3vl.infer`). Pass a shared
 * {@link ScriptHost} to serve several methods from one process, or options to start one.
 *
 * @example
 * ```ts
 * import { scriptQwen3Vl } from "malamute/forge";
 * const backend = scriptQwen3Vl({ command: "elixir", args: ["qwen3vl_worker.exs"] });
 * ```
 */
export function scriptQwen3Vl(target: ScriptHost | ScriptHostOptions): Qwen3VlBackend {
  const host = hostFor(target);
  return {
    name: label(target),
    async infer(input, ctx) {
      const handlers = { onProgress: progressHandler(ctx) };
      return expect(Qwen3VlOutput, await host.call("qwen3vl.infer", input, ctx, clean(handlers)), "qwen3vl.infer result");
    },
    close: () => host.close(),
  };
}

/**
 * `zimage.generate` served by a script (method name `zimage.generate`).
 *
 * @example
 * ```ts
 * import { scriptZImage } from "malamute/forge";
 * const backend = scriptZImage({ command: "python3", args: ["zimage_worker.py"] });
 * ```
 */
export function scriptZImage(target: ScriptHost | ScriptHostOptions): ZImageBackend {
  const host = hostFor(target);
  return {
    name: label(target),
    async generate(input, ctx) {
      const handlers = { onProgress: progressHandler(ctx) };
      return expect(ZImageOutput, await host.call("zimage.generate", input, ctx, clean(handlers)), "zimage.generate result");
    },
    close: () => host.close(),
  };
}

/**
 * `kokoro.synthesize` served by a script (method name `kokoro.synthesize`).
 *
 * @example
 * ```ts
 * import { scriptKokoro } from "malamute/forge";
 * const backend = scriptKokoro({ command: "python3", args: ["kokoro_worker.py"] });
 * ```
 */
export function scriptKokoro(target: ScriptHost | ScriptHostOptions): KokoroBackend {
  const host = hostFor(target);
  return {
    name: label(target),
    async synthesize(input, ctx) {
      const handlers = { onProgress: progressHandler(ctx) };
      return expect(KokoroOutput, await host.call("kokoro.synthesize", input, ctx, clean(handlers)), "kokoro.synthesize result");
    },
    close: () => host.close(),
  };
}

/**
 * `sam3.segment` served by a script (method name `sam3.segment`): each `chunk` message the
 * script sends is yielded, in order; its final `result` is ignored.
 *
 * @example
 * ```ts
 * import { scriptSam3 } from "malamute/forge";
 * const backend = scriptSam3({ command: "python3", args: ["sam3_worker.py"] });
 * ```
 */
export function scriptSam3(target: ScriptHost | ScriptHostOptions): Sam3Backend {
  const host = hostFor(target);
  return {
    name: label(target),
    async *segment(input, ctx) {
      yield* pushStream<Sam3Chunk>(ctx, (push, fail, callCtx) =>
        host.call("sam3.segment", input, callCtx, {
          onChunk: (value) => {
            try {
              push(expect<Sam3Chunk>(Sam3Chunk, value, "sam3.segment chunk"));
            } catch (err) {
              fail(err);
            }
          },
        }));
    },
    close: () => host.close(),
  };
}

function clean<T extends object>(handlers: T): T {
  for (const key of Object.keys(handlers) as Array<keyof T>) if (handlers[key] === undefined) delete handlers[key];
  return handlers;
}
