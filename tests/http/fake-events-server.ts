// A stand-in for the broker's HTTP admin server: serves the dashboard at / and emits
// /api/events in the agreed SSE format (a stats snapshot every second, `job` events on
// demand) from a state the test edits. Lets the page be tested apart from the broker.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dashboardCsp, dashboardHtml } from "../../src/http/dashboard/page.ts";

export interface FakeService {
  name: string;
  workers: number;
  busy: number;
  queued: number;
  inflight: number;
  calls: number;
  failures: Record<string, number>;
  queueWaitP50Ms: number;
  queueWaitP99Ms: number;
  roundTripP50Ms: number;
  roundTripP99Ms: number;
}

export interface FakeEventsServer {
  url: string;
  services: FakeService[];
  clients: Array<{ address: string; offers: string[]; reads: string[]; writes: string }>;
  /** Sends a `job` event on forge.events to every open feed. */
  job(json: unknown, subject: string): void;
  close(): Promise<void>;
}

export async function startFakeEventsServer(): Promise<FakeEventsServer> {
  const feeds = new Set<ServerResponse>();
  const send = (res: ServerResponse, event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const fake: Omit<FakeEventsServer, "url"> = {
    services: [],
    clients: [],
    job(json, subject) {
      for (const res of feeds) send(res, "job", { time: Date.now(), stream: "forge.events", subject, sender: "forge-events", json, bytes: 100 });
    },
    close: async () => {
      clearInterval(timer);
      for (const res of feeds) res.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const snapshot = () => {
    const clientList = fake.clients.map((c, i) => ({
      conn: `00${i}`, address: c.address, opened: true, idleMs: 100, creditAware: true, credit: 1,
      writes: c.writes, reads: c.reads, offers: c.offers, inflight: 0, buffered: 0, congested: false,
    }));
    const readers = (name: string) => fake.clients.filter((c) => c.reads.includes(name)).length;
    const streams = ["forge.events"].map((name) => ({ name, readers: readers(name), writers: 1 }));
    return {
      time: Date.now(),
      memory: { rss: 80 * 2 ** 20, heapUsed: 20 * 2 ** 20 },
      stats: {
        clients: clientList.length, connections: clientList.length, clientList, mailboxes: [], streams,
        services: fake.services.map((s) => ({ name: s.name, workers: s.workers, queued: s.queued, bytes: 0, inflight: s.inflight })),
        counters: { delivered: 0, queued: 0, expired: 0, dropped: 0, malformed: 0, confirmed: 0, failed: 0, requeued: 0 },
        held: 0,
      },
      services: fake.services,
    };
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": dashboardCsp() });
      res.end(dashboardHtml());
    } else if (path === "/api/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      feeds.add(res);
      req.on("close", () => feeds.delete(res));
      send(res, "stats", snapshot());
    } else {
      res.writeHead(404).end();
    }
  });
  const timer = setInterval(() => { for (const res of feeds) send(res, "stats", snapshot()); }, 1000);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(fake, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
}
