import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../../src/rpc/client/client.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { BrokerFigures, OTHER_LABEL } from "../../src/http/figures.ts";
import { BrokerMetrics, capped } from "../../src/http/metrics.ts";
import { BrokerCore } from "../../src/broker/core/broker-core.ts";
import { qwen3vl } from "../rpc/contracts.ts";
import { noTokens } from "../rpc/harness.ts";
import { parseExposition, valueOf } from "./exposition.ts";
import { httpBroker } from "./helpers.ts";

describe("/metrics", () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const thing of open.reverse()) await thing.close().catch(() => {});
    open.length = 0;
  });
  const own = <T extends { close(): Promise<void> }>(thing: T): T => (open.push(thing), thing);

  it("parses as Prometheus text and matches broker.stats() after 60 calls", async () => {
    const broker = own(await httpBroker());
    const endpoint = broker.endpoints[0]!;
    own(await serve(endpoint, qwen3vl, { infer: async ({ prompt }) => ({ text: prompt, tokens: 1 }), tokens: noTokens }, { concurrency: 4 }));
    const client = own(await connect(endpoint, { qwen3vl }));
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.qwen3vl.infer({ prompt: `p${i}` })));
    const text = await (await fetch(`${broker.http}/metrics`)).text();
    const stats = broker.stats();
    const samples = parseExposition(text);
    const at = (name: string, labels?: Record<string, string>) => valueOf(samples, name, labels);
    assert.equal(at("malamute_connections"), stats.connections);
    assert.equal(at("malamute_clients"), stats.clients);
    assert.equal(at("malamute_service_workers", { service: "qwen3vl" }), 1);
    assert.equal(at("malamute_service_queue_messages", { service: "qwen3vl" }), 0);
    assert.equal(at("malamute_service_inflight", { service: "qwen3vl" }), 0);
    assert.equal(at("malamute_service_calls_total", { service: "qwen3vl" }), 60);
    assert.equal(at("malamute_service_round_trip_seconds_count", { service: "qwen3vl" }), 60);
    assert.equal(at("malamute_service_queue_wait_seconds_count", { service: "qwen3vl" }), 60);
    assert.equal(at("malamute_confirms_total", { status: "200" }), 60);
    assert.equal(at("malamute_delivered_total"), stats.counters.delivered);
    assert.equal(at("malamute_requeued_total"), stats.counters.requeued);
    assert.equal(at("malamute_malformed_total"), stats.counters.malformed);
    assert.equal(at("malamute_messages_received_total", { kind: "SERVICE_SEND" }), stats.traffic!.kindsIn.SERVICE_SEND);
    assert.ok(stats.traffic!.kindsIn.SERVICE_SEND! >= 60);
    assert.equal(at("malamute_messages_received_total", { kind: "CONFIRM" }), stats.traffic!.kindsIn.CONFIRM);
    assert.ok(at("malamute_received_bytes_total")! > 0);
  });

  it("counts busy workers: credit-aware workers with no credit left", async () => {
    const broker = own(await httpBroker());
    const endpoint = broker.endpoints[0]!;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    own(await serve(endpoint, qwen3vl, { infer: async () => { await held; return { text: "", tokens: 0 }; }, tokens: noTokens }, { concurrency: 1 }));
    own(await serve(endpoint, qwen3vl, { infer: async () => ({ text: "", tokens: 0 }), tokens: noTokens }, { concurrency: 1 }));
    const client = own(await connect(endpoint, { qwen3vl }));
    const calls = [client.qwen3vl.infer({ prompt: "a" }), client.qwen3vl.infer({ prompt: "b" })];
    let busy: number | undefined;
    for (let i = 0; i < 200 && busy !== 1; i++) {
      busy = valueOf(parseExposition(await (await fetch(`${broker.http}/metrics`)).text()), "malamute_service_busy_workers", { service: "qwen3vl" });
      if (busy !== 1) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(busy, 1);
    release();
    await Promise.all(calls);
  });
});

describe("label cap", () => {
  it("gives the first `cap` services their own label and counts the rest under _other", () => {
    const figures = new BrokerFigures(3);
    for (const name of ["a", "b", "c"]) figures.dispatched(name, 1);
    assert.deepEqual([...figures.services.keys()], ["a", "b", "c"]);
    figures.dispatched("d", 1);
    figures.dispatched("e", 2);
    figures.confirmed(301, "e", undefined);
    assert.deepEqual([...figures.services.keys()], ["a", "b", "c", OTHER_LABEL]);
    assert.equal(figures.services.get(OTHER_LABEL)!.calls, 2);
    assert.equal(figures.services.get(OTHER_LABEL)!.failures.get(301), 1);
    figures.dispatched("a", 1);
    assert.equal(figures.services.get("a")!.calls, 2);
  });

  it("sums stats rows beyond the cap under _other, and adds no _other at the cap", () => {
    const rows = [{ n: "x", v: 1 }, { n: "y", v: 2 }, { n: "z", v: 4 }];
    assert.deepEqual(capped(rows, 3, (r) => r.n, (r) => r.v), [["x", 1], ["y", 2], ["z", 4]]);
    assert.deepEqual(capped(rows, 2, (r) => r.n, (r) => r.v), [["x", 1], ["y", 2], [OTHER_LABEL, 4]]);
  });

  it("caps per-service series in the exposition at the limit", async () => {
    const core = new BrokerCore();
    const figures = new BrokerFigures(2);
    const metrics = new BrokerMetrics(() => ({
      ...core.stats(),
      services: ["s1", "s2", "s3", "s4"].map((name) => ({ name, workers: 1, queued: 1, bytes: 0, inflight: 0 })),
    }), figures);
    for (const name of ["s1", "s2", "s3", "s4"]) figures.dispatched(name, 0.3);
    const samples = parseExposition(await metrics.render());
    const labels = (name: string) => samples.filter((s) => s.name === name).map((s) => s.labels.service);
    assert.deepEqual(labels("malamute_service_workers"), ["s1", "s2", OTHER_LABEL]);
    assert.equal(valueOf(samples, "malamute_service_workers", { service: OTHER_LABEL }), 2);
    assert.deepEqual(labels("malamute_service_calls_total"), ["s1", "s2", OTHER_LABEL]);
    assert.equal(valueOf(samples, "malamute_service_queue_wait_seconds_count", { service: OTHER_LABEL }), 2);
  });
});
