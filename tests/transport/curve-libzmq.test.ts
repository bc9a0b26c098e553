import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Frames, PeerConnectInfo } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { decodeZ85, encodeZ85 } from "../../src/zmtp/mod.ts";
import { dec, enc, next, sleep, until, zeromqSkip } from "./helpers.ts";

// Loaded lazily so that Bun, where the native addon does not load, never touches it.
type Zmq = typeof import("zeromq");
let zmq: Zmq;

describe("CURVE interoperates with libzmq (zeromq package)", () => {
  before(async () => {
    if (!zeromqSkip) {
      zmq = await import("zeromq");
      assert.ok(zmq.capability.curve, "this libzmq was built with CURVE");
    }
  });

  it("libzmq DEALER (CURVE client) ⇄ our ROUTER: multipart both ways, the client key on connect", { skip: zeromqSkip }, async () => {
    const server = zmq.curveKeyPair();
    const client = zmq.curveKeyPair();
    const asked: string[] = [];
    const router = zmtp.router({
      curve: { publicKey: server.publicKey, secretKey: server.secretKey, authorize: (key) => (asked.push(encodeZ85(key)), true) },
    });
    const endpoint = await router.bind("tcp://127.0.0.1:0");
    const connected = next<[Uint8Array, PeerConnectInfo]>(router, "connect");
    router.on("message", (id, frames) => router.send(id, [...frames, enc("pong")]));
    const dealer = new zmq.Dealer({
      linger: 0, curveServerKey: server.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey,
    });
    dealer.connect(endpoint);
    await dealer.send(["ping", "", Buffer.alloc(100_000, 3)]);
    const [, info] = await connected;
    assert.deepEqual(info.curvePublicKey, decodeZ85(client.publicKey as string));
    assert.deepEqual(asked, [client.publicKey]);
    const reply = await dealer.receive();
    assert.deepEqual(reply.map((f) => f.length), [4, 0, 100_000, 4]);
    assert.equal(reply[0]?.toString(), "ping");
    assert.equal(reply[3]?.toString(), "pong");
    for (let i = 0; i < 50; i++) await dealer.send([`n${i}`]);
    for (let i = 0; i < 50; i++) assert.equal((await dealer.receive())[0]?.toString(), `n${i}`);
    dealer.close();
    await router.close();
  });

  it("our DEALER (CURVE client) ⇄ libzmq ROUTER (curveServer): multipart both ways", { skip: zeromqSkip }, async () => {
    const server = zmq.curveKeyPair();
    const client = zmq.curveKeyPair();
    const router = new zmq.Router({ linger: 0, curveServer: true, curveSecretKey: server.secretKey });
    await router.bind("tcp://127.0.0.1:*");
    const dealer = zmtp.dealer({
      routingId: enc("curvy"),
      curve: { serverKey: server.publicKey, publicKey: client.publicKey, secretKey: client.secretKey },
    });
    dealer.connect(router.lastEndpoint as string);
    dealer.send([enc("hello"), new Uint8Array(0), new Uint8Array(70_000).fill(9)]);
    const [id, ...frames] = await router.receive();
    assert.equal(id?.toString(), "curvy");
    assert.deepEqual(frames.map((f) => f.length), [5, 0, 70_000]);
    assert.equal(frames[2]?.[69_999], 9);
    for (let i = 0; i < 20; i++) {
      const reply = next<[Frames]>(dealer, "message");
      await router.send([id as Buffer, "", `back${i}`]);
      assert.deepEqual((await reply)[0].map(dec), ["", `back${i}`]);
    }
    router.close();
    await dealer.close();
  });

  it("libzmq DEALER with a wrong server key never gets through; our ROUTER counts it", { skip: zeromqSkip }, async () => {
    const server = zmq.curveKeyPair();
    const client = zmq.curveKeyPair();
    const router = zmtp.router({ curve: { publicKey: server.publicKey, secretKey: server.secretKey } });
    router.on("error", () => {});
    const endpoint = await router.bind("tcp://127.0.0.1:0");
    let messages = 0;
    router.on("message", () => messages++);
    const dealer = new zmq.Dealer({
      linger: 0, curveServerKey: client.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey,
    });
    dealer.connect(endpoint);
    await dealer.send(["x"]).catch(() => {});
    await until(() => router.stats().protocolErrors >= 1);
    await sleep(50);
    assert.equal(messages, 0);
    dealer.close();
    await router.close();
  });

  it("our DEALER with a wrong server key never connects to a libzmq ROUTER", { skip: zeromqSkip }, async () => {
    const server = zmq.curveKeyPair();
    const client = zmq.curveKeyPair();
    const router = new zmq.Router({ linger: 0, curveServer: true, curveSecretKey: server.secretKey });
    await router.bind("tcp://127.0.0.1:*");
    const events = router.events;
    const failed = (async () => {
      for await (const e of events) if (e.type === "handshake:error:protocol" || e.type === "handshake:error:other") return e.type;
      return "none";
    })();
    const dealer = zmtp.dealer({ curve: { serverKey: client.publicKey, publicKey: client.publicKey, secretKey: client.secretKey } });
    dealer.connect(router.lastEndpoint as string);
    assert.match(await failed, /handshake:error/);
    assert.equal(dealer.connected, false);
    await dealer.close();
    router.close();
  });

  it("a libzmq DEALER whose key our ROUTER refuses sees libzmq's auth failure (ERROR 400)", { skip: zeromqSkip }, async () => {
    const server = zmq.curveKeyPair();
    const client = zmq.curveKeyPair();
    const router = zmtp.router({ curve: { publicKey: server.publicKey, secretKey: server.secretKey, authorize: () => false } });
    router.on("error", () => {});
    const endpoint = await router.bind("tcp://127.0.0.1:0");
    const dealer = new zmq.Dealer({
      linger: 0, curveServerKey: server.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey,
    });
    const events = dealer.events;
    const failed = (async () => {
      for await (const e of events) {
        if (e.type === "handshake:error:auth") return `${e.type} ${(e.error as { status?: number }).status ?? ""}`.trim();
        if (e.type.startsWith("handshake:error")) return e.type;
      }
      return "none";
    })();
    dealer.connect(endpoint);
    assert.equal(await failed, "handshake:error:auth 400");
    dealer.close();
    await router.close();
  });
});
