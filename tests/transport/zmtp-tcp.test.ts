import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TransportError } from "../../src/transport/errors.ts";
import type { DealerSocket, Frames, RouterSocket } from "../../src/transport/types.ts";
import { bytesEqual, dec, enc, next, until, zmtpVariants } from "./helpers.ts";

for (const { label, zmtp } of zmtpVariants) {
  async function pair(
    routerOpts: Parameters<typeof zmtp.router>[0] = {},
    dealerOpts: Parameters<typeof zmtp.dealer>[0] = {},
  ): Promise<{ router: RouterSocket; dealer: DealerSocket; endpoint: string; close: () => Promise<void> }> {
    const router = zmtp.router(routerOpts);
    const endpoint = await router.bind("tcp://127.0.0.1:0");
    const dealer = zmtp.dealer(dealerOpts);
    return {
      router,
      dealer,
      endpoint,
      close: async () => {
        await dealer.close();
        await router.close();
      },
    };
  }

  describe(`zmtp transport over TCP (ours to ours), ${label}`, () => {
    it("bind with port 0 reports the ephemeral port actually bound", async () => {
      const router = zmtp.router();
      const ep = await router.bind("tcp://127.0.0.1:0");
      const port = Number(/:(\d+)$/.exec(ep)?.[1]);
      assert.ok(port > 0, ep);
      assert.deepEqual(router.endpoints, [ep]);
      const any = await router.bind("tcp://*:0");
      assert.match(any, /^tcp:\/\/0\.0\.0\.0:[1-9]\d*$/);
      await router.close();
    });

    it("rejects non-tcp endpoints with BAD_ENDPOINT", async () => {
      const router = zmtp.router();
      await assert.rejects(router.bind("inproc://x"), (e: unknown) => e instanceof TransportError && e.code === "BAD_ENDPOINT");
      const dealer = zmtp.dealer();
      assert.throws(() => dealer.connect("udp://1.2.3.4:5"), (e: unknown) => e instanceof TransportError);
      await dealer.close();
      await router.close();
    });

    it("once close() resolves, the port can be bound again at once (a broker restart)", async () => {
      const first = zmtp.router();
      const endpoint = await first.bind("tcp://127.0.0.1:0");
      const dealer = zmtp.dealer();
      const up = next(first, "connect");
      dealer.connect(endpoint);
      await up;
      await first.close();
      const second = zmtp.router();
      assert.equal(await second.bind(endpoint), endpoint);
      await dealer.close();
      await second.close();
    });

    it("binding a port already in use fails with BIND_FAILED", async () => {
      const a = zmtp.router();
      const ep = await a.bind("tcp://127.0.0.1:0");
      const b = zmtp.router();
      await assert.rejects(b.bind(ep), (e: unknown) => e instanceof TransportError && e.code === "BIND_FAILED");
      await b.close();
      await a.close();
    });

    it("delivers multipart messages whole, including empty frames, both ways", async () => {
      const { router, dealer, endpoint, close } = await pair();
      dealer.connect(endpoint);
      const got = next<[Uint8Array, Frames]>(router, "message");
      dealer.send([enc("a"), new Uint8Array(0), enc("c"), new Uint8Array(0)]);
      const [id, frames] = await got;
      assert.deepEqual(frames.map(dec), ["a", "", "c", ""]);
      const back = next<[Frames]>(dealer, "message");
      assert.equal(router.send(id, [new Uint8Array(0), enc("reply")]), true);
      const [reply] = await back;
      assert.deepEqual(reply.map(dec), ["", "reply"]);
      await close();
    });

    it("ROUTER generates 00+u32 routing ids for anonymous peers and reports them on connect", async () => {
      const { router, dealer, endpoint, close } = await pair();
      const connected = next<[Uint8Array, { address: string }]>(router, "connect");
      dealer.connect(endpoint);
      const [id, info] = await connected;
      assert.equal(id.length, 5);
      assert.equal(id[0], 0);
      assert.match(info.address, /^127\.0\.0\.1:\d+$/);
      const got = next<[Uint8Array, Frames]>(router, "message");
      dealer.send([enc("x")]);
      const [msgId] = await got;
      assert.ok(bytesEqual(msgId, id));
      await close();
    });

    it("ROUTER uses the peer's Identity as routing id when given", async () => {
      const { router, dealer, endpoint, close } = await pair({}, { routingId: enc("worker-1") });
      const connected = next<[Uint8Array]>(router, "connect");
      dealer.connect(endpoint);
      const [id] = await connected;
      assert.equal(dec(id), "worker-1");
      await close();
    });

    it("ROUTER drops and counts messages to unknown routing ids; mandatory throws HOST_UNREACHABLE", async () => {
      const router = zmtp.router();
      assert.equal(router.send(enc("nobody"), [enc("x")]), false);
      assert.equal(router.stats().droppedUnroutable, 1);
      const strict = zmtp.router({ mandatory: true });
      assert.throws(
        () => strict.send(enc("nobody"), [enc("x")]),
        (e: unknown) => e instanceof TransportError && e.code === "HOST_UNREACHABLE",
      );
      await router.close();
      await strict.close();
    });

    it("disconnect events carry the routing id, and disconnectPeer closes one peer", async () => {
      const { router, dealer, endpoint, close } = await pair();
      const connected = next<[Uint8Array]>(router, "connect");
      const dealerUp = next(dealer, "connect");
      dealer.connect(endpoint);
      const [id] = await connected;
      await dealerUp;
      const gone = next<[Uint8Array, string]>(router, "disconnect");
      const dealerDown = next<[string, string]>(dealer, "disconnect");
      router.disconnectPeer(id);
      const [goneId, reason] = await gone;
      assert.ok(bytesEqual(goneId, id));
      assert.match(reason, /disconnected by router/);
      const [ep] = await dealerDown;
      assert.equal(ep, endpoint);
      await close();
    });

    it("DEALER queues messages sent before any peer is connected and sends them after the handshake", async () => {
      const { router, dealer, endpoint, close } = await pair();
      assert.equal(dealer.connected, false);
      const received: string[] = [];
      router.on("message", (_id, f) => received.push(dec(f[0] as Uint8Array)));
      dealer.send([enc("early-1")]);
      dealer.send([enc("early-2")]);
      dealer.connect(endpoint);
      await until(() => received.length === 2);
      assert.deepEqual(received, ["early-1", "early-2"]);
      assert.equal(dealer.connected, true);
      await close();
    });

    it("DEALER send throws SEND_QUEUE_FULL beyond sendHighWaterMark while disconnected", async () => {
      const dealer = zmtp.dealer({ sendHighWaterMark: 3 });
      for (let i = 0; i < 3; i++) dealer.send([enc(String(i))]);
      assert.throws(
        () => dealer.send([enc("one too many")]),
        (e: unknown) => e instanceof TransportError && e.code === "SEND_QUEUE_FULL",
      );
      await dealer.close();
      assert.throws(() => dealer.send([enc("x")]), (e: unknown) => e instanceof TransportError && e.code === "SOCKET_CLOSED");
    });

    it("DEALER sends round-robin across connected peers", async () => {
      const r1 = zmtp.router();
      const r2 = zmtp.router();
      const e1 = await r1.bind("tcp://127.0.0.1:0");
      const e2 = await r2.bind("tcp://127.0.0.1:0");
      const dealer = zmtp.dealer();
      let up = 0;
      dealer.on("connect", () => up++);
      dealer.connect(e1);
      dealer.connect(e2);
      await until(() => up === 2);
      const at1: string[] = [];
      const at2: string[] = [];
      r1.on("message", (_i, f) => at1.push(dec(f[0] as Uint8Array)));
      r2.on("message", (_i, f) => at2.push(dec(f[0] as Uint8Array)));
      for (let i = 0; i < 10; i++) dealer.send([enc(String(i))]);
      await until(() => at1.length + at2.length === 10);
      assert.equal(at1.length, 5);
      assert.equal(at2.length, 5);
      await dealer.close();
      await r1.close();
      await r2.close();
    });

    it("a burst of 10,000 messages arrives complete and in order", async () => {
      const { router, dealer, endpoint, close } = await pair();
      dealer.connect(endpoint);
      await next(dealer, "connect");
      const got: number[] = [];
      router.on("message", (_id, f) => got.push(new DataView((f[0] as Uint8Array).buffer, (f[0] as Uint8Array).byteOffset).getUint32(0)));
      for (let i = 0; i < 10_000; i++) {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, i);
        dealer.send([b]);
      }
      await until(() => got.length === 10_000);
      for (let i = 0; i < 10_000; i++) if (got[i] !== i) assert.fail(`message ${i} arrived as ${got[i]}`);
      assert.equal(router.stats().messagesIn, 10_000);
      assert.equal(dealer.stats().messagesOut, 10_000);
      await close();
    });

    it("a 10 MiB frame crosses intact (long frame encoding, reassembly across chunks)", async () => {
      const { router, dealer, endpoint, close } = await pair();
      dealer.connect(endpoint);
      const big = new Uint8Array(10 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 255;
      big[big.length - 1] = 0xab;
      const got = next<[Uint8Array, Frames]>(router, "message");
      dealer.send([enc("head"), big]);
      const [, frames] = await got;
      assert.equal(frames.length, 2);
      assert.equal((frames[1] as Uint8Array).length, big.length);
      assert.ok(bytesEqual(frames[1] as Uint8Array, big));
      await close();
    });

    it("maxMessageSize: an oversize message closes that connection only and is counted", async () => {
      const { router, endpoint, close } = await pair({ maxMessageSize: 1000 });
      const small = zmtp.dealer();
      const big = zmtp.dealer();
      small.connect(endpoint);
      big.connect(endpoint);
      await Promise.all([next(small, "connect"), next(big, "connect")]);
      const dropped = next<[string, string]>(big, "disconnect");
      big.send([new Uint8Array(600), new Uint8Array(600)]);
      const [, reason] = await dropped;
      assert.ok(reason.length > 0);
      await until(() => router.stats().protocolErrors === 1);
      const got = next<[Uint8Array, Frames]>(router, "message");
      small.send([enc("still fine")]);
      const [, frames] = await got;
      assert.equal(dec(frames[0] as Uint8Array), "still fine");
      await big.close();
      await small.close();
      await close();
    });

    it("PLAIN: accepted credentials connect; refused ones are closed and the dealer gives up", async () => {
      const seen: string[] = [];
      const router = zmtp.router({
        plain: {
          authenticate: async (user, pass, peer) => {
            seen.push(`${user}@${peer.address.split(":")[0]}`);
            await Promise.resolve();
            return user === "admin" && pass === "secret";
          },
        },
      });
      const endpoint = await router.bind("tcp://127.0.0.1:0");
      const good = zmtp.dealer({ plain: { username: "admin", password: "secret" } });
      good.connect(endpoint);
      const got = next<[Uint8Array, Frames]>(router, "message");
      good.send([enc("authorised")]);
      const [, frames] = await got;
      assert.equal(dec(frames[0] as Uint8Array), "authorised");

      const bad = zmtp.dealer({ plain: { username: "admin", password: "wrong" } });
      const failed = next<[Error]>(bad, "error");
      bad.connect(endpoint);
      const [err] = await failed;
      assert.equal((err as { code?: string }).code, "ZMTP_AUTH_FAILED");
      assert.equal(bad.connected, false);
      assert.deepEqual(seen, ["admin@127.0.0.1", "admin@127.0.0.1"]);
      assert.equal(router.stats().protocolErrors, 1);
      await bad.close();
      await good.close();
      await router.close();
    });

    it("close is idempotent and a closed router refuses to bind", async () => {
      const { router, dealer, endpoint, close } = await pair();
      dealer.connect(endpoint);
      await next(dealer, "connect");
      await close();
      await close();
      await assert.rejects(router.bind("tcp://127.0.0.1:0"), (e: unknown) => e instanceof TransportError && e.code === "SOCKET_CLOSED");
    });
  });
}
