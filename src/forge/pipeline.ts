import { MalamuteError } from "../errors.ts";
import { loadOtel, malamuteTracer, type OtelApi, type OtelSpan, SPAN_KIND_INTERNAL, SPAN_STATUS_ERROR } from "../rpc/otel.ts";
import { abortError, ForgeCode, ForgeError, type ForgeCodeValue } from "./errors.ts";

/**
 * What every step gets: the shared cancellation and deadline, and the earlier steps' results.
 *
 * @example
 * ```ts
 * pipeline<string>().step("ask", (prompt, ctx) => client.llm.ask({ prompt }, { signal: ctx.signal, deadline: ctx.deadline }));
 * ```
 */
export interface StepContext<Results> {
  /** Aborted when the caller cancels or the pipeline's deadline passes. Pass it to every call. */
  readonly signal: AbortSignal;
  /** The pipeline's absolute deadline, ms since the Unix epoch. */
  readonly deadline: number;
  /** Milliseconds left before the deadline (never negative). */
  remainingMs(): number;
  /** Results of the steps that already ran, by name. */
  readonly results: Results;
}

/**
 * How long one step took.
 *
 * @example
 * ```ts
 * for (const s of (await flow.run(input)).steps) console.log(s.name, s.status, s.durationMs.toFixed(0));
 * ```
 */
export interface StepTiming {
  name: string;
  /** Start, ms after the pipeline started. */
  startMs: number;
  durationMs: number;
  status: "ok" | "failed" | "skipped";
}

/**
 * What a finished pipeline returns.
 *
 * @example
 * ```ts
 * const { output, results, steps, totalMs } = await flow.run(input);
 * ```
 */
export interface PipelineResult<Out, Results> {
  /** The last step's result. */
  output: Out;
  /** Every step's result, by name. */
  results: Results;
  steps: StepTiming[];
  totalMs: number;
}

/**
 * Options of {@link Pipeline.run}.
 *
 * @example
 * ```ts
 * await flow.run(input, { timeoutMs: 60_000, signal: ac.signal, onStep: (t) => console.log(t.name, t.durationMs) });
 * ```
 */
export interface PipelineRunOptions {
  /** Time for the whole pipeline, ms. Default 300 000. */
  timeoutMs?: number;
  /** Absolute deadline (ms since the epoch); wins when earlier than `timeoutMs`. */
  deadline?: number;
  /** Cancels the running step and the pipeline. */
  signal?: AbortSignal;
  /** Called after each step, e.g. to print a progress line. */
  onStep?: (timing: StepTiming) => void;
  /**
   * When `@opentelemetry/api` is installed: a span `pipeline` (child of the active span) with one
   * child span per step, `step <name>`, active while the step runs, so its RPC calls carry it to
   * the workers. `false`: no spans, and the API is not even loaded. Default true.
   */
  tracing?: boolean;
}

/**
 * A step failed (or the deadline passed, or the caller cancelled). `code` is the failure's own
 * code (e.g. `RPC_DEADLINE_EXCEEDED`), `step` names the step, and `steps` has the timings so far.
 *
 * @example
 * ```ts
 * try { await pipeline.run(input); }
 * catch (e) { if (e instanceof PipelineError) console.log(e.step, e.code, e.steps); }
 * ```
 */
export class PipelineError extends ForgeError {
  readonly step: string;
  readonly steps: StepTiming[];

  constructor(step: string, cause: unknown, steps: StepTiming[]) {
    const code = (cause instanceof MalamuteError ? cause.code : ForgeCode.Internal) as ForgeCodeValue;
    const message = cause instanceof Error ? cause.message : String(cause);
    super(code, `step "${step}" failed: ${message}`, { cause, details: { step } });
    this.step = step;
    this.steps = steps;
  }
}

type StepFn<In, Out, Results> = (input: In, ctx: StepContext<Results>) => Promise<Out> | Out;

interface Step {
  name: string;
  run: StepFn<unknown, unknown, Record<string, unknown>>;
}

/**
 * Chains typed steps — each gets the previous step's result — under one deadline and one
 * cancellation signal, timing each step. Build it with {@link pipeline} and `.step(...)`.
 *
 * @example
 * ```ts
 * import { pipeline } from "malamute/forge";
 * const flow = pipeline<ImageFile>()
 *   .step("describe", (image, ctx) => client.qwen3vl.infer({ images: [image], prompt: "Describe." }, ctx))
 *   .step("generate", (d, ctx) => client.zimage.generate({ prompt: d.text }, ctx));
 * const { output, steps } = await flow.run(image, { timeoutMs: 60_000 });
 * ```
 */
export class Pipeline<In, Out, Results extends Record<string, unknown>> {
  readonly #steps: readonly Step[];

  /** @internal Use {@link pipeline}. */
  constructor(steps: readonly Step[]) {
    this.#steps = steps;
  }

  /** Names of the steps, in order. */
  get names(): string[] {
    return this.#steps.map((s) => s.name);
  }

  /** Adds a step that receives the previous step's result; its own result is `results[name]`. */
  step<const Name extends string, R>(
    name: Name,
    run: StepFn<Out, R, Results>,
  ): Pipeline<In, Awaited<R>, Results & { [K in Name]: Awaited<R> }> {
    if (this.#steps.some((s) => s.name === name)) throw new RangeError(`duplicate step name ${JSON.stringify(name)}`);
    return new Pipeline([...this.#steps, { name, run: run as Step["run"] }]);
  }

  /** Runs every step in order. Rejects with {@link PipelineError} when one fails. */
  async run(input: In, options: PipelineRunOptions = {}): Promise<PipelineResult<Out, Results>> {
    const t0 = performance.now();
    const deadline = Math.min(options.deadline ?? Infinity, Date.now() + (options.timeoutMs ?? 300_000));
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new ForgeError(ForgeCode.DeadlineExceeded, "pipeline deadline passed")),
      Math.max(0, deadline - Date.now()),
    );
    const results: Record<string, unknown> = {};
    const steps: StepTiming[] = [];
    const ctx: StepContext<Results> = {
      signal: controller.signal,
      deadline,
      remainingMs: () => Math.max(0, deadline - Date.now()),
      results: results as Results,
    };
    let value: unknown = input;
    const spans = new Spans(await loadOtel(options.tracing ?? true), this.#steps.length);
    try {
      for (const [i, step] of this.#steps.entries()) {
        const start = performance.now();
        try {
          if (controller.signal.aborted) throw abortError(controller.signal);
          const prev = value;
          // Whichever comes first: the step's result, or the pipeline's cancellation.
          value = await Promise.race([
            spans.step(step.name, () => Promise.resolve().then(() => step.run(prev, ctx))),
            new Promise<never>((_, reject) => {
              const fail = () => reject(abortError(controller.signal));
              if (controller.signal.aborted) fail();
              else controller.signal.addEventListener("abort", fail, { once: true });
            }),
          ]);
        } catch (err) {
          spans.failed(err);
          const timing: StepTiming = { name: step.name, startMs: start - t0, durationMs: performance.now() - start, status: "failed" };
          steps.push(timing);
          options.onStep?.(timing);
          for (const rest of this.#steps.slice(i + 1)) steps.push({ name: rest.name, startMs: performance.now() - t0, durationMs: 0, status: "skipped" });
          throw new PipelineError(step.name, err, steps);
        }
        spans.ok();
        results[step.name] = value;
        const timing: StepTiming = { name: step.name, startMs: start - t0, durationMs: performance.now() - start, status: "ok" };
        steps.push(timing);
        options.onStep?.(timing);
      }
    } finally {
      spans.end();
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      // Release the per-step race listeners.
      controller.abort(new ForgeError(ForgeCode.Cancelled, "pipeline finished"));
    }
    return { output: value as Out, results: results as Results, steps, totalMs: performance.now() - t0 };
  }
}

/** The spans of one run: `pipeline`, and the running step's; all no-ops without the API. */
class Spans {
  readonly #otel: OtelApi | undefined;
  readonly #root: OtelSpan | undefined;
  readonly #context: object | undefined;
  #step: OtelSpan | undefined;

  constructor(otel: OtelApi | undefined, steps: number) {
    this.#otel = otel;
    if (otel === undefined) return;
    const parent = otel.context.active();
    this.#root = malamuteTracer(otel).startSpan("pipeline", { kind: SPAN_KIND_INTERNAL, attributes: { "forge.pipeline.steps": steps } }, parent);
    this.#context = otel.trace.setSpan(parent, this.#root);
  }

  /** Runs `fn` with a new span for step `name` active. */
  step<T>(name: string, fn: () => T): T {
    const otel = this.#otel;
    if (otel === undefined || this.#context === undefined) return fn();
    const span = malamuteTracer(otel).startSpan(`step ${name}`, { kind: SPAN_KIND_INTERNAL, attributes: { "forge.step": name } }, this.#context);
    this.#step = span;
    return otel.context.with(otel.trace.setSpan(this.#context, span), fn);
  }

  ok(): void {
    this.#step?.end();
    this.#step = undefined;
  }

  failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof MalamuteError ? error.code : ForgeCode.Internal;
    for (const span of [this.#step, this.#root]) {
      span?.setAttribute("forge.error.code", code);
      span?.setStatus({ code: SPAN_STATUS_ERROR, message });
    }
    this.ok();
  }

  end(): void {
    this.#step?.end();
    this.#root?.end();
  }
}

/**
 * Starts a pipeline whose first step receives an `In`.
 *
 * @example
 * ```ts
 * import { pipeline } from "malamute/forge";
 * const double = pipeline<number>().step("double", (n) => n * 2).step("text", (n) => `=${n}`);
 * const { output } = await double.run(21); // "=42"
 * ```
 */
export function pipeline<In>(): Pipeline<In, In, Record<never, never>> {
  return new Pipeline([]);
}
