import type { BackendContext } from "../types.ts";

/**
 * Turns a push-style producer into an async generator: `start` gets `push` for each value,
 * `fail` to end the stream with an error at once (after the values pushed before it), and a
 * signal linked to the caller's that is also aborted when the consumer stops iterating; the
 * generator ends when the promise `start` returns settles (rethrowing its failure).
 *
 * @example
 * ```ts
 * yield* pushStream<Sam3Chunk>(ctx, (push, _fail, callCtx) => host.call("sam3.segment", input, callCtx, { onChunk: push }));
 * ```
 */
export async function* pushStream<T>(
  ctx: BackendContext,
  start: (push: (value: T) => void, fail: (error: unknown) => void, ctx: { signal: AbortSignal; deadline?: number }) => Promise<unknown>,
): AsyncGenerator<T> {
  const values: T[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  let done = false;
  const stop = new AbortController();
  const onAbort = () => stop.abort(ctx.signal.reason);
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener("abort", onAbort, { once: true });
  const callCtx: { signal: AbortSignal; deadline?: number } = { signal: stop.signal };
  if (ctx.deadline !== undefined) callCtx.deadline = ctx.deadline;
  const push = (value: T) => {
    values.push(value);
    wake?.();
  };
  const fail = (error: unknown) => {
    failure ??= error;
    wake?.();
  };
  const finished = start(push, fail, callCtx).then(
    () => { done = true; wake?.(); },
    (err: unknown) => { failure ??= err; done = true; wake?.(); },
  );
  try {
    for (;;) {
      while (values.length > 0) yield values.shift()!;
      if (failure !== undefined) throw failure;
      if (done) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    if (!done) stop.abort();
    await finished;
  }
}
