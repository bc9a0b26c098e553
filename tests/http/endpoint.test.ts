import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { BrokerError } from "../../src/broker/errors.ts";
import { startBroker as startBrokerOnly } from "../../src/broker/server.ts";
import type { Broker } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import { encodeValue } from "../../src/rpc/wire/codec.ts";
import { startBroker } from "../../src/http/start.ts";
import { parseExposition } from "./exposition.ts";
import { httpBroker, readEvents } from "./helpers.ts";

describe("broker HTTP endpoint", () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const thing of open.reverse()) await thing.close().catch(() => {});
    open.length = 0;
  });
  const own = <T extends { close(): Promise<void> }>(thing: T): T => (open.push(thing), thing);

  it("serves /healthz, /readyz, /metrics, the JSON API and the dashboard at GET /", async () => {
    const broker = own(await httpBroker());
    assert.match(broker.http, /^http:\/\/127\.0\.0\.1:\d+$/);
    const get = (path: string) => fetch(`${broker.http}${path}`);
    assert.equal(await (await get("/healthz")).text(), "ok\n");
    assert.equal((await get("/readyz")).status, 200);
    const metrics = await get("/metrics");
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.ok(parseExposition(await metrics.text()).some((s) => s.name === "malamute_connections"));
    const stats = await (await get("/api/stats")).json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(stats.counters as object), Object.keys(broker.stats().counters));
    assert.ok(Array.isArray(await (await get("/api/services")).json()));
    assert.deepEqual(await (await get("/api/clients")).json(), { total: 0, clients: [] });
    assert.deepEqual(await (await get("/api/streams")).json(), { streams: [], journals: [] });
    const root = await get("/");
    assert.equal(root.status, 200);
    assert.match(root.headers.get("content-security-policy") ?? "", /script-src 'sha256-/);
    assert.match(await root.text(), /data-events="api\/events"/);
  });

  it("asks for the bearer token on everything but the probes", async () => {
    const broker = own(await httpBroker({ bearer: "s3cret" }));
    for (const path of ["/metrics", "/api/stats", "/api/events"]) {
      const refused = await fetch(`${broker.http}${path}`);
      await refused.body?.cancel();
      assert.equal(refused.status, 401, path);
      const wrong = await fetch(`${broker.http}${path}`, { headers: { authorization: "Bearer nope" } });
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401, path);
    }
    const ok = await fetch(`${broker.http}/api/stats`, { headers: { authorization: "Bearer s3cret" } });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    assert.equal((await fetch(`${broker.http}/healthz`)).status, 200);
  });

  it("asks for basic-auth credentials when configured with a username", async () => {
    const broker = own(await httpBroker({ username: "ops", password: "pw" }));
    const refused = await fetch(`${broker.http}/metrics`);
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
    const ok = await fetch(`${broker.http}/metrics`, { headers: { authorization: `Basic ${btoa("ops:pw")}` } });
    assert.equal(ok.status, 200);
    await ok.text();
  });

  it("/api/events sends a stats snapshot and the messages of the selected streams as job events", async () => {
    const broker = own(await httpBroker());
    const response = await fetch(`${broker.http}/api/events?streams=forge.events`);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const writer = own(await MlmClient.connect(broker.endpoints[0]!, { address: "forge" }));
    await writer.setProducer("forge.events");
    const other = own(await MlmClient.connect(broker.endpoints[0]!));
    await other.setProducer("other");
    let sent = false;
    const events = await readEvents(response, (seen) => {
      if (!sent && seen.some((e) => e.event === "stats")) {
        sent = true;
        other.send("x.y.started", [new TextEncoder().encode('{"not":"selected"}')]);
        writer.send("zimage.generate.started", [encodeValue({ v: 1, kind: "started", image: new Uint8Array(3) })]);
      }
      return seen.some((e) => e.event === "job");
    });
    const stats = events.find((e) => e.event === "stats")!.data as Record<string, unknown>;
    assert.deepEqual(Object.keys(stats).sort(), ["memory", "services", "stats", "time"]);
    assert.ok(typeof (stats.memory as { rss: number }).rss === "number");
    const jobs = events.filter((e) => e.event === "job");
    assert.equal(jobs.length, 1);
    const job = jobs[0]!.data as Record<string, unknown>;
    assert.deepEqual({ ...job, time: 0 }, {
      time: 0, stream: "forge.events", subject: "zimage.generate.started", sender: "forge",
      json: { v: 1, kind: "started", image: { bytes: 3 } }, bytes: job.bytes,
    });
    assert.ok(typeof job.time === "number" && (job.bytes as number) > 0);
  });

  it("/api/events refuses more streams than its limit", async () => {
    const broker = own(await httpBroker());
    const names = Array.from({ length: 17 }, (_, i) => `s${i}`).join(",");
    const refused = await fetch(`${broker.http}/api/events?streams=${names}`);
    assert.equal(refused.status, 400);
    await refused.body?.cancel();
    const atLimit = await fetch(`${broker.http}/api/events?streams=${names.split(",").slice(0, 16).join(",")}`);
    assert.equal(atLimit.status, 200);
    await atLimit.body?.cancel();
  });

  it("without http the broker serves no HTTP; the broker layer alone refuses an http option", async () => {
    const plain = own(await startBroker({ endpoints: ["tcp://127.0.0.1:0"] }));
    assert.equal(plain.http, undefined);
    await assert.rejects(
      startBrokerOnly({ endpoints: ["tcp://127.0.0.1:0"], http: { listen: "127.0.0.1:0" } }),
      (error: unknown) => error instanceof BrokerError && error.code === "BROKER_CONFIG",
    );
  });

  it("fails to start with BROKER_BIND when the HTTP port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        startBroker({ endpoints: ["tcp://127.0.0.1:0"], http: { listen: `127.0.0.1:${port}` } }),
        (error: unknown) => error instanceof BrokerError && error.code === "BROKER_BIND",
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("closing the broker ends open event streams", async () => {
    const broker: Broker & { http: string } = await httpBroker();
    const response = await fetch(`${broker.http}/api/events`);
    const reader = response.body!.getReader();
    await reader.read();
    await broker.close();
    let ended = false;
    for (let i = 0; i < 10 && !ended; i++) ended = (await reader.read().catch(() => ({ done: true }))).done === true;
    assert.ok(ended);
  });
});
