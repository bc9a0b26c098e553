// OpenTelemetry for tests: a tracer provider exporting to `exporter`, and a context manager on
// AsyncLocalStorage (what @opentelemetry/context-async-hooks provides; that package is not
// installed, and node:async_hooks' AsyncLocalStorage runs on Node, Bun and Deno alike).
// Installed once per process: the API's globals can be set only once.
import { AsyncLocalStorage } from "node:async_hooks";
import { type Context, context, type ContextManager, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, type SpanExporter,
} from "@opentelemetry/sdk-trace-base";

class AlsContextManager implements ContextManager {
  readonly #als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return ((...args: unknown[]) => this.with(ctx, () => fn(...args))) as unknown as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#als.disable();
    return this;
  }
}

const KEY = Symbol.for("malamute.tests.otel");

/** Installs the provider (once per process) and returns the exporter every span goes to. */
export function installOtel<E extends SpanExporter = InMemorySpanExporter>(make?: () => E): E {
  const g = globalThis as { [KEY]?: SpanExporter };
  if (g[KEY] === undefined) {
    const exporter = make?.() ?? new InMemorySpanExporter();
    context.setGlobalContextManager(new AlsContextManager());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    g[KEY] = exporter;
  }
  return g[KEY] as E;
}

/** A span as a child process reports it on stdout (`span <json>`). */
export interface SpanLine {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  kind: number;
  status: number;
  attributes: Record<string, unknown>;
}

/** The plain-data view of a finished span. */
export function spanLine(span: ReadableSpan): SpanLine {
  return {
    name: span.name,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    kind: span.kind,
    status: span.status.code,
    attributes: { ...span.attributes },
  };
}

/** An exporter that prints each span as a `span <json>` line (child processes report spans so). */
export class StdoutSpanExporter implements SpanExporter {
  constructor(private readonly write: (line: string) => void) {}
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    for (const span of spans) this.write(`span ${JSON.stringify(spanLine(span))}\n`);
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
