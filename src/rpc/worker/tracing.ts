// The SERVER span of a call that carries W3C trace context (see the `tracing` option of serve()).
import { malamuteTracer, type OtelApi, type OtelContext, remoteContext, SPAN_KIND_SERVER } from "../otel.ts";
import type { RunningCall } from "./running.ts";

/**
 * Starts the span of a call that carries trace context; returns the context to run its handler
 * in, or undefined when the call's meta has no valid `traceparent` (then no span).
 *
 * @example
 * ```ts
 * const context = startCallSpan(otel, "echo", run);
 * if (context !== undefined) otel.context.with(context, () => start(run));
 * ```
 */
export function startCallSpan(otel: OtelApi, service: string, run: RunningCall): OtelContext | undefined {
  const parent = remoteContext(otel, run.meta);
  if (parent === undefined) return undefined;
  const attributes: Record<string, string | number> = {
    "rpc.system": "malamute",
    "rpc.service": service,
    "rpc.method": run.method,
    "malamute.rpc.call_id": run.callId,
  };
  const wait = run.startedAt - run.reply.sentAt;
  if (wait >= 0) attributes["malamute.rpc.queue_wait_ms"] = wait;
  run.span = malamuteTracer(otel).startSpan(`${service}/${run.method}`, { kind: SPAN_KIND_SERVER, attributes }, parent);
  return otel.trace.setSpan(parent, run.span);
}
