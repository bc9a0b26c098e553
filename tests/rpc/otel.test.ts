// Trace context through RPC (issue 17, item 3): the client puts the active span's W3C trace
// context in the call's meta, the worker runs the handler in a child span; across processes too.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, it } from "node:test";
import { context, createTraceState, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { connect } from "../../src/rpc/client/client.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { RpcError } from "../../src/rpc/errors.ts";
import { type Rig, rig } from "./harness.ts";
import { traceBack } from "./otel-contract.ts";
import { installOtel, type SpanLine, spanLine } from "./otel-setup.ts";

const exporter = installOtel();
const tracer = trace.getTracer("malamute-tests");

/** Runs `fn` inside a new active span, which it ends after. */
function inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, (span) => fn(span).finally(() => span.end()));
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

describe("rpc tracing (OpenTelemetry)", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    exporter.reset();
  });
  afterEach(() => r.close());

  /** A traceback worker whose `work` answers with its ctx.meta as JSON. */
  async function metaEcho(tracing?: boolean) {
    r.own(await serve(r.endpoint, traceBack, {
      work: (_input, ctx) => Promise.resolve({ text: JSON.stringify(ctx.meta) }),
      fail: () => Promise.reject(new RpcError("APP_BROKEN", "broken on purpose")),
    }, tracing === undefined ? {} : { tracing }));
  }

  it("injects the active span's traceparent into meta; a worker span becomes its child", async () => {
    await metaEcho();
    const client = r.own(await connect(r.endpoint, { traceBack }));
    const { root, meta } = await inSpan("root", async (span) => {
      const out = await client.traceBack.work({ text: "x" });
      return { root: span.spanContext(), meta: JSON.parse(out.text) as Record<string, string> };
    });
    assert.match(meta["traceparent"] ?? "", TRACEPARENT);
    assert.equal(meta["traceparent"], `00-${root.traceId}-${root.spanId}-01`);
    const server = exporter.getFinishedSpans().map(spanLine).find((s) => s.name === "traceback/work");
    assert.ok(server, "the worker ended a span");
    assert.equal(server.traceId, root.traceId);
    assert.equal(server.parentSpanId, root.spanId);
    assert.equal(server.kind, SpanKind.SERVER);
    assert.equal(server.status, SpanStatusCode.UNSET);
    assert.equal(server.attributes["rpc.system"], "malamute");
    assert.equal(server.attributes["rpc.service"], "traceback");
    assert.equal(server.attributes["rpc.method"], "work");
    assert.equal(server.attributes["malamute.rpc.outcome"], "OK");
    assert.equal(typeof server.attributes["malamute.rpc.call_id"], "string");
    const wait = server.attributes["malamute.rpc.queue_wait_ms"];
    assert.ok(typeof wait === "number" && wait >= 0, `queue wait ${String(wait)}`);
  });

  it("passes tracestate on", async () => {
    await metaEcho();
    const client = r.own(await connect(r.endpoint, { traceBack }));
    const parent = trace.wrapSpanContext({
      traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: 1, traceState: createTraceState("vendor=abc"),
    });
    const out = await context.with(trace.setSpan(context.active(), parent), () => client.traceBack.work({ text: "x" }));
    assert.deepEqual(JSON.parse(out.text), { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "vendor=abc" });
  });

  it("a traceparent set in options.meta wins", async () => {
    await metaEcho();
    const client = r.own(await connect(r.endpoint, { traceBack }));
    const mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const meta = await inSpan("root", async () => {
      const out = await client.traceBack.work({ text: "x" }, { meta: { traceparent: mine, user: "u1" } });
      return JSON.parse(out.text) as Record<string, string>;
    });
    assert.deepEqual(meta, { traceparent: mine, user: "u1" });
  });

  it("adds nothing without an active span", async () => {
    await metaEcho();
    const client = r.own(await connect(r.endpoint, { traceBack }));
    const out = await client.traceBack.work({ text: "x" });
    assert.deepEqual(JSON.parse(out.text), {});
    assert.equal(exporter.getFinishedSpans().length, 0);
  });

  it("tracing: false on the client injects nothing; on the worker, starts no span", async () => {
    await metaEcho(false);
    const untraced = r.own(await connect(r.endpoint, { traceBack }, { tracing: false }));
    const traced = r.own(await connect(r.endpoint, { traceBack }));
    const [plain, carried] = await inSpan("root", async () => [
      JSON.parse((await untraced.traceBack.work({ text: "x" })).text) as Record<string, string>,
      JSON.parse((await traced.traceBack.work({ text: "x" })).text) as Record<string, string>,
    ]);
    assert.deepEqual(plain, {});
    assert.match(carried["traceparent"] ?? "", TRACEPARENT);
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), ["root"]);
  });

  it("a failed call ends its span with the error status and code", async () => {
    await metaEcho();
    const client = r.own(await connect(r.endpoint, { traceBack }));
    await inSpan("root", async () => {
      await assert.rejects(client.traceBack.fail({}), { code: "APP_BROKEN" });
    });
    const server = exporter.getFinishedSpans().map(spanLine).find((s) => s.name === "traceback/fail");
    assert.ok(server);
    assert.equal(server.status, SpanStatusCode.ERROR);
    assert.equal(server.attributes["malamute.rpc.outcome"], "APP_BROKEN");
  });

  it("ignores a malformed traceparent: no span, the call runs", async () => {
    await metaEcho();
    const client = r.own(await connect(r.endpoint, { traceBack }));
    const out = await client.traceBack.work({ text: "x" }, { meta: { traceparent: "00-zz-bad-01" } });
    assert.deepEqual(JSON.parse(out.text), { traceparent: "00-zz-bad-01" });
    assert.equal(exporter.getFinishedSpans().length, 0);
  });

  it("one trace across the caller, a broker and two worker processes", async () => {
    const children = [spawnChild("back", r.endpoint), spawnChild("front", r.endpoint)];
    try {
      await Promise.all(children.map((c) => c.ready));
      const { traceFront } = await import("./otel-contract.ts");
      const client = r.own(await connect(r.endpoint, { traceFront }));
      const root = await inSpan("request", async (span) => {
        assert.deepEqual(await client.traceFront.ask({ text: "hi" }), { text: "front(back(hi))" });
        return span.spanContext();
      });
      const [back, front] = await Promise.all([
        children[0]!.span("traceback/work"),
        children[1]!.span("tracefront/ask"),
      ]);
      assert.equal(front.traceId, root.traceId);
      assert.equal(back.traceId, root.traceId);
      assert.equal(front.parentSpanId, root.spanId, "the front worker's span is the caller's child");
      assert.equal(back.parentSpanId, front.spanId, "the back worker's span is the front worker's child");
      assert.equal(front.kind, SpanKind.SERVER);
      assert.equal(back.attributes["malamute.rpc.outcome"], "OK");
    } finally {
      for (const c of children) c.child.kill();
    }
  });
});

const childFile = fileURLToPath(new URL("./otel-child.ts", import.meta.url));

/** A child worker process (same runtime as this test) and the spans it prints. */
function spawnChild(role: string, endpoint: string): { child: ChildProcess; ready: Promise<void>; span(name: string): Promise<SpanLine> } {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const args = g.Deno !== undefined
    ? ["run", "-A", childFile, role, endpoint]
    : g.Bun !== undefined
    ? [childFile, role, endpoint]
    : ["--import", "tsx", childFile, role, endpoint];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Uint8Array) => {
    buffer += new TextDecoder().decode(chunk);
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const find = <T>(pick: (line: string) => T | undefined, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${role} worker: no ${what} within 10 s`)), 10_000);
      const look = () => {
        for (const l of lines) {
          const hit = pick(l);
          if (hit !== undefined) {
            clearTimeout(timer);
            resolve(hit);
            return;
          }
        }
        waiters.push(look);
      };
      look();
    });
  return {
    child,
    ready: find((l) => (l === "ready" ? true : undefined), "ready line").then(() => {}),
    span: (name) =>
      find((l) => {
        if (!l.startsWith("span ")) return undefined;
        const s = JSON.parse(l.slice(5)) as SpanLine;
        return s.name === name ? s : undefined;
      }, `span ${name}`),
  };
}
