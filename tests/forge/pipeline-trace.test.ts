// The Forge pipeline makes one span per step under a `pipeline` span when OpenTelemetry is installed.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { pipeline, PipelineError } from "../../src/forge/pipeline.ts";
import { installOtel, spanLine } from "../rpc/otel-setup.ts";

const exporter = installOtel();
const tracer = trace.getTracer("malamute-tests");

describe("pipeline tracing", () => {
  beforeEach(() => exporter.reset());

  it("one span per step, children of a pipeline span under the caller's, active while the step runs", async () => {
    const seen: (string | undefined)[] = [];
    const active = () => seen.push(trace.getActiveSpan()?.spanContext().spanId);
    const flow = pipeline<number>()
      .step("double", (n) => (active(), n * 2))
      .step("later", async (n) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        active();
        return n + 1;
      });
    const root = await tracer.startActiveSpan("request", async (span) => {
      assert.equal((await flow.run(20)).output, 41);
      span.end();
      return span.spanContext();
    });
    const spans = exporter.getFinishedSpans().map(spanLine);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const run = byName.get("pipeline");
    assert.ok(run);
    assert.equal(run.parentSpanId, root.spanId);
    for (const name of ["step double", "step later"]) {
      const s = byName.get(name);
      assert.ok(s, name);
      assert.equal(s.traceId, root.traceId);
      assert.equal(s.parentSpanId, run.spanId);
      assert.equal(s.status, SpanStatusCode.UNSET);
    }
    assert.deepEqual(seen, [byName.get("step double")!.spanId, byName.get("step later")!.spanId]);
  });

  it("a failed step's span and the pipeline's carry the error; later steps get none", async () => {
    const flow = pipeline<number>()
      .step("boom", () => {
        throw new Error("no");
      })
      .step("never", (n) => n);
    await assert.rejects(flow.run(1), PipelineError);
    const spans = new Map(exporter.getFinishedSpans().map(spanLine).map((s) => [s.name, s]));
    assert.equal(spans.get("step boom")?.status, SpanStatusCode.ERROR);
    assert.equal(spans.get("pipeline")?.status, SpanStatusCode.ERROR);
    assert.equal(spans.has("step never"), false);
  });

  it("tracing: false makes no spans", async () => {
    await pipeline<number>().step("a", (n) => n).run(1, { tracing: false });
    assert.equal(exporter.getFinishedSpans().length, 0);
  });
});
