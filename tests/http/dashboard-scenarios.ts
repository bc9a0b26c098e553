// What the browser check does to the system under the page: connect a worker, queue a call,
// let the queue drain, fail a Forge job. One scenario per backend of /api/events.
import { startFakeEventsServer } from "./fake-events-server.ts";

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

/** The real broker with its HTTP server; filled in once the http branch lands. */
export async function brokerScenario(): Promise<Scenario> {
  throw new Error("the broker scenario needs the http branch (startBroker({ http }))");
}
