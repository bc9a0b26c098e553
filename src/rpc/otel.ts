/**
 * Optional OpenTelemetry support. `@opentelemetry/api` is an optional peer dependency: it is
 * imported lazily, once per process, the first time a client, worker or pipeline that may trace
 * starts (they are all created by async functions, so the hot paths never wait for it). When it
 * is not installed the import fails once and nothing else changes. Only the few members used
 * here are typed, structurally, so that no declaration of this package refers to the API's types.
 */

/** W3C trace context of a span (what `traceparent`/`tracestate` carry). */
export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: { serialize(): string };
}

/** The members of an OpenTelemetry span used here. */
export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/** An OpenTelemetry context: opaque here. */
export type OtelContext = object;

interface OtelTracer {
  startSpan(name: string, options: { kind?: number; attributes?: Record<string, string | number> }, context?: OtelContext): OtelSpan;
}

/** The members of `@opentelemetry/api` used here. */
export interface OtelApi {
  context: {
    active(): OtelContext;
    with<R>(context: OtelContext, fn: () => R): R;
  };
  trace: {
    getSpan(context: OtelContext): OtelSpan | undefined;
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
    setSpanContext(context: OtelContext, spanContext: OtelSpanContext): OtelContext;
    getTracer(name: string, version?: string): OtelTracer;
  };
  isSpanContextValid(spanContext: OtelSpanContext): boolean;
  createTraceState(raw?: string): { serialize(): string };
  ROOT_CONTEXT: OtelContext;
}

/** OpenTelemetry's `SpanKind.SERVER` / `SpanKind.INTERNAL` and `SpanStatusCode.ERROR` (stable numbers of the API). */
export const SPAN_KIND_SERVER = 1;
export const SPAN_KIND_INTERNAL = 0;
export const SPAN_STATUS_ERROR = 2;

let loading: Promise<OtelApi | undefined> | undefined;

/**
 * `@opentelemetry/api`, or undefined when it is not installed; imported on the first call only.
 * `enabled: false` (the `tracing: false` option) resolves undefined without importing anything.
 */
export function loadOtel(enabled = true): Promise<OtelApi | undefined> {
  if (!enabled) return Promise.resolve(undefined);
  // A literal specifier, so that bundlers and `deno publish` see the optional dependency.
  loading ??= import("@opentelemetry/api").then((api) => api as unknown as OtelApi, () => undefined);
  return loading;
}

/**
 * The call's `meta` with the active span's `traceparent` (and `tracestate`) added, or `meta`
 * itself when no valid span is active. Keys the caller set win over the injected ones.
 */
export function withTraceContext(api: OtelApi, meta: Record<string, string> | undefined): Record<string, string> | undefined {
  const span = api.trace.getSpan(api.context.active());
  if (span === undefined) return meta;
  const sc = span.spanContext();
  if (!api.isSpanContextValid(sc)) return meta;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, "0");
  const out: Record<string, string> = { traceparent: `00-${sc.traceId}-${sc.spanId}-${flags}` };
  const state = sc.traceState?.serialize();
  if (state) out["tracestate"] = state;
  return meta === undefined ? out : Object.assign(out, meta);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;

/**
 * The remote parent context carried by a call's `traceparent` (W3C Trace Context, version 00
 * and later versions' common prefix), or undefined when absent or malformed.
 */
export function remoteContext(api: OtelApi, meta: Readonly<Record<string, string>>): OtelContext | undefined {
  const parent = meta["traceparent"];
  if (parent === undefined || parent.length > 512) return undefined;
  const m = TRACEPARENT.exec(parent);
  if (m === null || m[1] === "ff") return undefined;
  const sc: OtelSpanContext = { traceId: m[2] as string, spanId: m[3] as string, traceFlags: parseInt(m[4] as string, 16), isRemote: true };
  if (!api.isSpanContextValid(sc)) return undefined;
  const state = meta["tracestate"];
  if (state !== undefined && state.length <= 512) sc.traceState = api.createTraceState(state);
  return api.trace.setSpanContext(api.ROOT_CONTEXT, sc);
}

/** The tracer of this library. */
export function malamuteTracer(api: OtelApi): OtelTracer {
  return api.trace.getTracer("malamute");
}

/** Ends `span` with the outcome `code` ("OK" or an error code); a failure sets the error status. */
export function endSpan(span: OtelSpan, code: string, message?: string): void {
  span.setAttribute("malamute.rpc.outcome", code);
  if (code !== "OK") span.setStatus(message === undefined ? { code: SPAN_STATUS_ERROR } : { code: SPAN_STATUS_ERROR, message });
  span.end();
}
