import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { TransportError } from "../../src/transport/errors.ts";
import { inproc } from "../../src/transport/inproc.ts";
import type { Frames, Transport } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { dec, enc, next, until, zeromqSkip, zmtpVariants } from "./helpers.ts";

/**
 * The Transport contract, checked against every implementation: inproc (reference), zmtp
 * (ours over TCP) and zeromq (libzmq), plus the zmtp↔zeromq pairings over TCP.
 */
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
let zeromq: Transport | undefined;
// Verified with plain zeromq.js under Deno 2.9: a receive left pending while the socket is idle
// (what any event-driven socket needs) is often not woken when a message arrives, so
// deliveries stall until some unrelated event. The zeromq transport is therefore
// supported on Node only; the zmtp↔libzmq interop tests still run on Deno.
const zeromqTransportSkip: string | false = zeromqSkip ||
  (isDeno ? "zeromq.js under Deno misses wake-ups of pending receives (deliveries stall); zeromq transport is Node-only" : false);
let names = 0;

interface Case {
  name: string;
  router: () => Transport;
  dealer: () => Transport;
  endpoint: () => string;
  skip: string | false;
}

const tcp = () => "tcp://127.0.0.1:0";
const cases: Case[] = [
  { name: "inproc", router: () => inproc, dealer: () => inproc, endpoint: () => `inproc://contract-${names++}`, skip: false },
  { name: "zmtp", router: () => zmtp, dealer: () => zmtp, endpoint: tcp, skip: false },
  // Bun and Deno only: the runtime's own sockets under zmtp, both ends and against node:net.
  ...zmtpVariants.filter((v) => v.socketApi === "native").flatMap(({ label, zmtp: native }) => [
    { name: `zmtp, ${label}`, router: () => native, dealer: () => native, endpoint: tcp, skip: false as const },
    { name: `zmtp dealer on node:net → zmtp router, ${label}`, router: () => native, dealer: () => zmtp, endpoint: tcp, skip: false as const },
    { name: `zmtp dealer, ${label} → zmtp router on node:net`, router: () => zmtp, dealer: () => native, endpoint: tcp, skip: false as const },
  ]),
  { name: "zeromq", router: () => zeromq as Transport, dealer: () => zeromq as Transport, endpoint: tcp, skip: zeromqTransportSkip },
  { name: "zmtp dealer → zeromq router", router: () => zeromq as Transport, dealer: () => zmtp, endpoint: tcp, skip: zeromqTransportSkip },
  { name: "zeromq dealer → zmtp router", router: () => zmtp, dealer: () => zeromq as Transport, endpoint: tcp, skip: zeromqTransportSkip },
];

before(async () => {
  if (!zeromqTransportSkip) zeromq = (await import("../../src/transport/zeromq.ts")).zeromq;
});

for (const c of cases) {
  describe(`Transport contract: ${c.name}`, () => {
    it("round trip of multipart messages with empty frames; reply routed by routing id", { skip: c.skip }, async () => {
      const router = c.router().router();
      const endpoint = await router.bind(c.endpoint());
      const dealer = c.dealer().dealer();
      dealer.connect(endpoint);
      const got = next<[Uint8Array, Frames]>(router, "message");
      dealer.send([enc("a"), new Uint8Array(0), enc("b")]);
      const [id, frames] = await got;
      assert.deepEqual(frames.map(dec), ["a", "", "b"]);
      const back = next<[Frames]>(dealer, "message");
      assert.equal(router.send(id, [enc("r"), new Uint8Array(0)]), true);
      assert.deepEqual((await back)[0].map(dec), ["r", ""]);
      assert.equal(router.stats().messagesIn, 1);
      await dealer.close();
      await router.close();
    });

    it("a DEALER's routingId is its routing id at the ROUTER, in connect and disconnect events", { skip: c.skip }, async () => {
      const router = c.router().router();
      const endpoint = await router.bind(c.endpoint());
      const dealer = c.dealer().dealer({ routingId: enc("peer-A") });
      const connected = next<[Uint8Array]>(router, "connect");
      dealer.connect(endpoint);
      assert.equal(dec((await connected)[0]), "peer-A");
      const gone = next<[Uint8Array]>(router, "disconnect");
      await dealer.close();
      assert.equal(dec((await gone)[0]), "peer-A");
      await router.close();
    });

    it("sends to an unknown routing id are dropped and counted, or throw HOST_UNREACHABLE when mandatory", { skip: c.skip }, async () => {
      const router = c.router().router();
      await router.bind(c.endpoint());
      assert.equal(router.send(enc("ghost"), [enc("x")]), false);
      assert.equal(router.stats().droppedUnroutable, 1);
      const strict = c.router().router({ mandatory: true });
      await strict.bind(c.endpoint());
      assert.throws(() => strict.send(enc("ghost"), [enc("x")]), (e: unknown) => e instanceof TransportError && e.code === "HOST_UNREACHABLE");
      await router.close();
      await strict.close();
    });

    it("messages sent before the connection is up are queued and delivered in order", { skip: c.skip }, async () => {
      const router = c.router().router();
      const endpoint = await router.bind(c.endpoint());
      const got: string[] = [];
      router.on("message", (_id, f) => got.push(dec(f[0] as Uint8Array)));
      const dealer = c.dealer().dealer();
      for (let i = 0; i < 50; i++) dealer.send([enc(`m${i}`)]);
      dealer.connect(endpoint);
      await until(() => got.length === 50);
      assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `m${i}`));
      await dealer.close();
      await router.close();
    });

    it("send throws SEND_QUEUE_FULL once the high-water mark is reached with no peer", { skip: c.skip }, async () => {
      const dealer = c.dealer().dealer({ sendHighWaterMark: 5 });
      let accepted = 0;
      let error: unknown;
      for (let i = 0; i < 20 && error === undefined; i++) {
        try {
          dealer.send([enc("x")]);
          accepted++;
        } catch (e) {
          error = e;
        }
      }
      assert.ok(error instanceof TransportError && error.code === "SEND_QUEUE_FULL", String(error));
      assert.ok(accepted >= 5 && accepted < 20, `accepted ${accepted}`);
      await dealer.close();
    });

    it("PLAIN: accepted and refused credentials", {
      skip: c.skip,
    }, async () => {
      const router = c.router().router({ plain: { authenticate: (u, p) => u === "u" && p === "p" } });
      const endpoint = await router.bind(c.endpoint());
      const good = c.dealer().dealer({ plain: { username: "u", password: "p" } });
      good.connect(endpoint);
      const got = next<[Uint8Array, Frames]>(router, "message");
      good.send([enc("ok")]);
      assert.equal(dec((await got)[1][0] as Uint8Array), "ok");
      const messages: string[] = [];
      router.on("message", (_id, f) => messages.push(dec(f[0] as Uint8Array)));
      const bad = c.dealer().dealer({ plain: { username: "u", password: "wrong" } });
      bad.connect(endpoint);
      bad.send([enc("must not arrive")]);
      await until(() => router.stats().protocolErrors >= 1);
      good.send([enc("after")]);
      await until(() => messages.includes("after"));
      assert.deepEqual(messages, ["after"]);
      await bad.close();
      await good.close();
      await router.close();
    });

    it("close is idempotent and sockets refuse use afterwards", { skip: c.skip }, async () => {
      const router = c.router().router();
      await router.bind(c.endpoint());
      const dealer = c.dealer().dealer();
      await dealer.close();
      await dealer.close();
      await router.close();
      await router.close();
      assert.throws(() => dealer.send([enc("x")]), (e: unknown) => e instanceof TransportError && e.code === "SOCKET_CLOSED");
    });
  });
}
