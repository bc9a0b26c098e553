import { RpcError, RpcErrorCode } from "./errors.ts";
import type { Reply } from "./reply.ts";
import type { HandlerContext } from "./types.ts";
import type { MethodInfo } from "./method-info.ts";
import { invalid } from "./validate.ts";

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
  #abortReason: RpcError | undefined;
  #controller: AbortController | undefined;

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
    return this.reply.delivery.tracker;
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
    if (this.#abortReason === undefined) this.reply.progress(value);
  }
}
