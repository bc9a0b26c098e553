// Worker and client stats through a prom-client registry (issue 17, item 4): what a worker
// process serves at its own /metrics.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Registry } from "prom-client";
import { connect } from "../../src/rpc/client/client.ts";
import { RpcError } from "../../src/rpc/errors.ts";
import { registerRpcMetrics } from "../../src/rpc/metrics.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { gate, type Rig, rig, until } from "./harness.ts";
import { traceBack } from "./otel-contract.ts";

/** The value of the sample `name{labels}` in exposition text (labels as written, in order). */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("registerRpcMetrics", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(() => r.close());

  it("exposes calls, failures by code, concurrency in use and handler durations", async () => {
    const held = gate();
    let codes = 0;
    const worker = r.own(await serve(r.endpoint, traceBack, {
      work: async ({ text }) => {
        if (text === "hold") await held.promise;
        return { text };
      },
      fail: () => Promise.reject(new RpcError(`APP_E${codes++ % 2}`, "broken on purpose")),
    }, { concurrency: 2 }));
    const client = r.own(await connect(r.endpoint, { traceBack }));
    const registry = new Registry();
    const remove = await registerRpcMetrics(registry, { worker, client });
    await client.traceBack.work({ text: "a" });
    for (let i = 0; i < 3; i++) await assert.rejects(client.traceBack.fail({}));
    const holding = client.traceBack.work({ text: "hold" });
    await until(() => worker.stats().running === 1, "the held call to run");

    const text = await registry.metrics();
    const svc = 'service="traceback"';
    const cli = `client="${client.address}"`;
    assert.equal(sample(text, "malamute_rpc_worker_calls_total", svc), 5);
    assert.equal(sample(text, "malamute_rpc_worker_succeeded_total", svc), 1);
    assert.equal(sample(text, "malamute_rpc_worker_failures_total", `${svc},code="APP_E0"`), 2);
    assert.equal(sample(text, "malamute_rpc_worker_failures_total", `${svc},code="APP_E1"`), 1);
    assert.equal(sample(text, "malamute_rpc_worker_running", svc), 1);
    assert.equal(sample(text, "malamute_rpc_worker_concurrency", svc), 2);
    assert.equal(sample(text, "malamute_rpc_worker_handler_duration_seconds_count", `${svc},method="work",outcome="ok"`), 1);
    assert.equal(sample(text, "malamute_rpc_worker_handler_duration_seconds_count", `${svc},method="fail",outcome="error"`), 3);
    assert.equal(sample(text, "malamute_rpc_client_calls_total", cli), 5);
    assert.equal(sample(text, "malamute_rpc_client_pending", cli), 1);
    assert.equal(sample(text, "malamute_rpc_client_failures_total", `${cli},code="APP_E0"`), 2);
    assert.match(text, /# TYPE malamute_rpc_worker_handler_duration_seconds histogram/);

    held.open();
    await holding;
    remove();
    assert.equal((await registry.metrics()).trim(), "");
  });

  it("counts failures beyond maxFailureCodes distinct codes under OTHER", async () => {
    let n = 0;
    const worker = r.own(await serve(r.endpoint, traceBack, {
      work: ({ text }) => Promise.resolve({ text }),
      fail: () => Promise.reject(new RpcError(`APP_E${n++}`, "broken on purpose")),
    }, { maxFailureCodes: 2 }));
    const client = r.own(await connect(r.endpoint, { traceBack }));
    for (let i = 0; i < 4; i++) await assert.rejects(client.traceBack.fail({}));
    assert.deepEqual(worker.stats().failures, { APP_E0: 1, APP_E1: 1, OTHER: 2 });
    assert.equal(worker.stats().failed, 4);
    // The client counts every code it saw (its own limit is the default 64).
    assert.deepEqual(client.stats().failures, { APP_E0: 1, APP_E1: 1, APP_E2: 1, APP_E3: 1 });
  });

  it("a client counts local failures by code too, up to its maxFailureCodes", async () => {
    const client = r.own(await connect(r.endpoint, { traceBack }, { maxFailureCodes: 1 }));
    await assert.rejects(client.traceBack.work({ text: "x" }, { timeout: 30 }), { code: "RPC_DEADLINE_EXCEEDED" });
    const ac = new AbortController();
    const cancelled = client.traceBack.work({ text: "x" }, { signal: ac.signal });
    ac.abort();
    await assert.rejects(cancelled, { code: "RPC_CANCELLED" });
    assert.deepEqual(client.stats().failures, { RPC_DEADLINE_EXCEEDED: 1, OTHER: 1 });
  });
});
