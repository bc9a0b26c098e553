// The soak's attacks (bench/soak.ts) at tiny sizes against a real broker process: whatever the
// attacks do, the broker must still run and answer a new client afterwards. Only robust facts
// are asserted here; RSS and latency under full-size attacks are measured by the bench.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SoakBroker } from "../../bench/lib-soak-broker.ts";
import { pingBroker } from "../../bench/lib-soak-raw.ts";
import { churnCalls } from "../../bench/lib-soak-churn.ts";
import type { Attack } from "../../bench/lib-soak-run.ts";
import { connectionChurn, emptyFrameFlood, hugeDeclaredLengths, slowloris } from "../../bench/lib-soak-wire.ts";

const MiB = 1024 * 1024;

describe("soak attacks at tiny sizes leave the broker running and answering", () => {
  let broker: SoakBroker;
  before(async () => {
    broker = await SoakBroker.start();
  });
  after(async () => {
    await broker.stop();
  });

  const survives = (attack: Attack) => async () => {
    const result = await attack.run({ broker, healthy: undefined });
    await result.cleanup?.();
    assert.equal(broker.alive, true, `broker exited (${broker.exitInfo}) after ${attack.name}: ${broker.tail.slice(-3).join(" / ")}`);
    assert.notEqual(await pingBroker(broker.endpoint, 5000), undefined, `no PONG after ${attack.name}`);
  };

  it("empty-frame flood (1 MiB of empty MORE frames)", survives(emptyFrameFlood({ seconds: 1, maxBytes: MiB })));
  it("4 connections declaring 255 MiB frames", survives(hugeDeclaredLengths({ connections: 4, size: 255 * MiB, seconds: 0.5 })));
  it("8 slowloris sockets after the handshake", survives(slowloris({ sockets: 8, seconds: 0.5 })));
  it("churn of 200 connections", survives(connectionChurn({ connections: 200, concurrency: 20 })));

  it("worker churn: 600 RPC calls each answered exactly once while worker processes are SIGKILLed every 200 ms", async () => {
    const r = await churnCalls(broker.endpoint, { calls: 600, killEvery: 200, workers: 2, inFlight: 16, concurrency: 16, workMs: 20, deadline: 10_000 });
    assert.deepEqual(r.failed, {});
    assert.equal(r.lost, 0);
    assert.equal(r.answeredOnce, 600);
    assert.equal(r.settledTwice, 0);
    assert.ok(r.killed >= 1, "no worker was killed during the calls");
  });
});
