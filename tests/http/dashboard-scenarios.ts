// What the browser check does to the system under the page: connect a worker, queue a call,
// let the queue drain, fail a Forge job. One scenario per backend of /api/events.
import { startBroker, type Broker } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import type { Delivery } from "../../src/client/types.ts";
import { ForgeEvents } from "../../src/forge/events.ts";
import { startFakeEventsServer } from "./fake-events-server.ts";

/** A broker with its HTTP endpoint on ephemeral ports. */
async function startBrokerWithHttp(): Promise<{ broker: Broker; endpoint: string; url: string }> {
  void startBroker;
  throw new Error("the broker scenario needs the http branch (startBroker({ http }))");
}

export interface Scenario {
  url: string;
  service: string;
  workerAddress: string;
  connectWorker(): Promise<void>;
  queueCall(): Promise<void>;
  drainQueue(): Promise<void>;
  failJob(): Promise<void>;
  close(): Promise<void>;
}

const failedEvent = (jobId: string) => ({
  v: 1, kind: "failed", jobId, service: "zimage", method: "generate", backend: "demo-procedural", at: Date.now(),
  durationMs: 12, error: { code: "FORGE_BACKEND", message: "<img src=x onerror=alert(1)> out of memory" },
});

/** The fake SSE server of fake-events-server.ts. */
export async function fakeScenario(): Promise<Scenario> {
  const fake = await startFakeEventsServer();
  const service = { name: "echo", workers: 0, busy: 0, queued: 0, inflight: 0, calls: 0, failures: {} as Record<string, number>, queueWaitP50Ms: 0.4, queueWaitP99Ms: 3.1, roundTripP50Ms: 12, roundTripP99Ms: 40 };
  return {
    url: fake.url,
    service: "echo",
    workerAddress: "echo-worker",
    connectWorker: async () => {
      service.workers = 1;
      fake.services.push(service);
      fake.clients.push({ address: "echo-worker", offers: ["echo"], reads: [], writes: "" });
    },
    queueCall: async () => { service.queued = 1; service.busy = 1; },
    drainQueue: async () => { service.queued = 0; service.busy = 0; service.calls = 1; },
    failJob: async () => {
      service.failures = { "301": 1 };
      fake.job({ ...failedEvent("job-1"), kind: "started" }, "zimage.generate.started");
      fake.job(failedEvent("job-1"), "zimage.generate.failed");
    },
    close: () => fake.close(),
  };
}

/**
 * The real thing: a broker with its HTTP server, a real MlmClient worker that takes one call at a
 * time (credit 1, topped up by hand), a caller, and a Forge events publisher.
 */
export async function brokerScenario(): Promise<Scenario> {
  const { broker, endpoint, url } = await startBrokerWithHttp();
  const own: Array<{ close(): Promise<void> }> = [];
  const keep = <T extends { close(): Promise<void> }>(thing: T): T => (own.push(thing), thing);
  const held: Delivery[] = [];
  let worker: MlmClient | undefined;
  const until = async (check: () => boolean, what: string) => {
    for (const end = Date.now() + 2000; !check();) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return {
    url,
    service: "echo",
    workerAddress: "echo-worker",
    connectWorker: async () => {
      worker = keep(await MlmClient.connect(endpoint, { address: "echo-worker", credit: 1, manualCredit: true }));
      worker.onDelivery((d) => { if (d.kind === "service") held.push(d); });
      await worker.setWorker("echo", ".*");
    },
    queueCall: async () => {
      const caller = keep(await MlmClient.connect(endpoint, { address: "caller" }));
      // The first call takes the worker's only credit; the second waits in the queue.
      caller.sendFor("echo", "ping", "one", { tracker: "call-1" });
      caller.sendFor("echo", "ping", "two", { tracker: "call-2" });
      await until(() => held.length === 1, "the first call at the worker");
    },
    drainQueue: async () => {
      worker!.confirm(held[0]!);
      worker!.addCredit(1);
      await until(() => held.length === 2, "the queued call at the worker");
    },
    failJob: async () => {
      worker!.confirm(held[1]!, { code: 301, reason: "too late" });
      const events = keep(await ForgeEvents.connect(endpoint, { address: "forge-events" }));
      const job = events.job({ jobId: "job-1", service: "zimage", method: "generate", backend: "demo-procedural" });
      job.progress({ done: 2, total: 8, stage: "denoise" });
      job.failed(new Error("<img src=x onerror=alert(1)> out of memory"));
    },
    close: async () => {
      for (const thing of own.reverse()) await thing.close().catch(() => {});
      await broker.close();
    },
  };
}
