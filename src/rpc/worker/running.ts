import { RpcError, RpcErrorCode } from "../errors.ts";
import type { Reply } from "./reply.ts";
import type { HandlerContext } from "../types.ts";
import type { MethodInfo } from "../shared/method-info.ts";
import type { OtelSpan } from "../otel.ts";
import { invalid } from "../shared/validate.ts";

/**
 * One call a worker runs, and the `ctx` its handler gets. The AbortController is created
 * only when the handler reads `ctx.signal` (most fast handlers never do), so an abort before
 * that is remembered in `abortReason` and applied when the signal is made.
 */
export class RunningCall implements HandlerContext<unknown> {
  readonly startedAt: number;
  /** Whether the caller was told which mailbox takes cancels. */
  acked = false;
  /** Set when the worker closes: the call is left unanswered so the broker requeues it. */
  abandoned = false;
  /** The OpenTelemetry span the handler runs in, when the call carried trace context. */
  span: OtelSpan | undefined = undefined;
  /** `performance.now()` at the start, when someone observes call durations (else 0). */
  clock = 0;
  #abortReason: RpcError | undefined;
  #controller: AbortController | undefined;
  /** Neighbours in the worker's {@link RunningCalls}. */
  prev: RunningCall | undefined = undefined;
  next: RunningCall | undefined = undefined;

  constructor(
    readonly reply: Reply,
    readonly info: MethodInfo,
    readonly deadline: number,
    readonly meta: Readonly<Record<string, string>>,
    now: number,
  ) {
    this.startedAt = now;
  }

  get service(): string {
    return this.info.service;
  }

  get caller(): string {
    return this.reply.delivery.sender;
  }

  get callId(): string {
    return this.reply.callId;
  }

  get method(): string {
    return this.reply.delivery.subject;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Why the call was aborted (cancel, deadline, worker closing), if it was. */
  get abortReason(): RpcError | undefined {
    return this.#abortReason;
  }

  abort(reason: RpcError): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  progress(value: unknown): void {
    const { label, progress } = this.info;
    if (progress === undefined) throw new RpcError(RpcErrorCode.INTERNAL, `${label} declares no progress schema`);
    if (!progress.Check(value)) throw invalid(this.info.schema.progress!, value, "progress", label);
    if (this.#abortReason === undefined) this.reply.progress(value, this.info.progressCodec);
  }
}

/**
 * The calls a worker is running, as a list threaded through the calls themselves: adding and
 * removing cost no allocation and no hash-table upkeep (a Set churning between a few entries
 * spends more on both than the calls' own bookkeeping).
 *
 * @example
 * ```ts
 * const running = new RunningCalls();
 * running.add(run);
 * for (const r of running.list()) r.abort(reason);
 * running.remove(run);
 * ```
 */
export class RunningCalls {
  #first: RunningCall | undefined = undefined;
  size = 0;

  add(run: RunningCall): void {
    run.prev = undefined;
    run.next = this.#first;
    if (this.#first !== undefined) this.#first.prev = run;
    this.#first = run;
    this.size++;
  }

  /** Removes `run`; a call not in the list is left alone. */
  remove(run: RunningCall): void {
    if (run.prev === undefined && this.#first !== run) return;
    if (run.prev !== undefined) run.prev.next = run.next;
    else this.#first = run.next;
    if (run.next !== undefined) run.next.prev = run.prev;
    run.prev = undefined;
    run.next = undefined;
    this.size--;
  }

  /** A snapshot of the calls, safe to use while calls are added or removed. */
  list(): RunningCall[] {
    const out: RunningCall[] = [];
    for (let run = this.#first; run !== undefined; run = run.next) out.push(run);
    return out;
  }
}
