import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { TcpRouter } from "../../src/transport/tcp/router.ts";
import type { Frames, PeerConnectInfo } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { CurveClientMechanism, curveKeyPair, encodeZ85, Session } from "../../src/zmtp/mod.ts";
import { dec, enc, next, until } from "./helpers.ts";

const server = curveKeyPair();
const client = curveKeyPair();

/** A CURVE client session over a raw socket, so a test can also write bytes of its own. */
class RawCurveClient {
  readonly socket: Socket;
  readonly session: Session;
  ready = false;
  messages: string[][] = [];
  closed = false;
  readonly whenClosed: Promise<void>;

  constructor(endpoint: string, serverKey = server.publicKey) {
    const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint) as RegExpExecArray;
    this.session = new Session({
      socketType: "DEALER",
      mechanism: new CurveClientMechanism({ serverKey, ...client }),
    }, {
      onReady: () => (this.ready = true),
      onMessage: (frames) => this.messages.push(frames.map(dec)),
      onClose: () => {},
    });
    this.socket = connect({ host: m[1] as string, port: Number(m[2]) });
    this.socket.on("error", () => {});
    this.socket.on("connect", () => {
      this.session.start(performance.now());
      this.flush();
    });
    this.socket.on("data", (d: Uint8Array) => {
      this.session.feed(new Uint8Array(d), performance.now());
      this.flush();
    });
    this.whenClosed = new Promise((r) => this.socket.on("close", () => {
      this.closed = true;
      r();
    }));
  }

  flush(): void {
    const out = this.session.takeOutput();
    if (out.length > 0 && !this.socket.destroyed) this.socket.write(concatBytes(out));
  }

  /** The bytes `send` would write, without writing them. */
  encode(frames: Uint8Array[]): Uint8Array {
    this.session.send(frames);
    return concatBytes(this.session.takeOutput());
  }
}

async function echoRouter(authorize?: (key: Uint8Array) => boolean | Promise<boolean>) {
  const router = new TcpRouter({ curve: { publicKey: encodeZ85(server.publicKey), secretKey: server.secretKey, authorize } });
  const endpoint = await router.bind("tcp://127.0.0.1:0");
  const connected: PeerConnectInfo[] = [];
  router.on("connect", (_id, info) => connected.push(info));
  router.on("message", (id, frames) => router.send(id, frames));
  router.on("error", () => {});
  return { router, endpoint, connected };
}

describe("zmtp transport with CURVE", () => {
  it("our DEALER ⇄ our ROUTER: multipart both ways; the router sees the client's public key", async () => {
    const { router, endpoint, connected } = await echoRouter(async (key) => {
      await new Promise((r) => setTimeout(r, 5));
      return encodeZ85(key) === encodeZ85(client.publicKey);
    });
    const dealer = zmtp.dealer({
      curve: { serverKey: encodeZ85(server.publicKey), publicKey: encodeZ85(client.publicKey), secretKey: encodeZ85(client.secretKey) },
    });
    dealer.connect(endpoint);
    const got = next<[Frames]>(dealer, "message");
    dealer.send([enc("a"), new Uint8Array(0), new Uint8Array(70_000).fill(7)]);
    const [frames] = await got;
    assert.deepEqual(frames.map((f) => f.length), [1, 0, 70_000]);
    assert.equal(frames[2]?.[69_999], 7);
    assert.equal(connected.length, 1);
    assert.deepEqual(connected[0]?.curvePublicKey, client.publicKey);
    await dealer.close();
    await router.close();
  });

  it("validates keys when the socket is made (wrong length, bad Z85, mismatched pair, curve with plain)", () => {
    assert.throws(() => zmtp.router({ curve: { publicKey: "short", secretKey: server.secretKey } }), RangeError);
    assert.throws(() => zmtp.router({ curve: { publicKey: client.publicKey, secretKey: server.secretKey } }), /not the public key/);
    assert.throws(() => zmtp.dealer({ curve: { serverKey: "~".repeat(40), ...client } }), { code: "Z85_BAD_CHARACTER" });
    assert.throws(
      () => zmtp.dealer({ curve: { serverKey: server.publicKey, ...client }, plain: { username: "u", password: "p" } }),
      /either curve or plain/,
    );
  });

  it("a refused key: ERROR, connection closed, counted; another client keeps being served", async () => {
    const other = curveKeyPair();
    const { router, endpoint } = await echoRouter((key) => encodeZ85(key) === encodeZ85(other.publicKey));
    const refused = new RawCurveClient(endpoint);
    await refused.whenClosed;
    assert.equal(refused.ready, false);
    assert.equal(refused.session.error?.code, "ZMTP_AUTH_FAILED");
    await until(() => router.stats().protocolErrors === 1);
    const dealer = zmtp.dealer({ curve: { serverKey: server.publicKey, ...other } });
    dealer.connect(endpoint);
    const got = next<[Frames]>(dealer, "message");
    dealer.send([enc("still served")]);
    assert.equal(dec((await got)[0][0] as Uint8Array), "still served");
    await dealer.close();
    await router.close();
  });

  it("a wrong server key never connects (the server closes without a word)", async () => {
    const { router, endpoint } = await echoRouter();
    const wrong = new RawCurveClient(endpoint, client.publicKey);
    await wrong.whenClosed;
    assert.equal(wrong.ready, false);
    await until(() => router.stats().protocolErrors === 1);
    await router.close();
  });

  for (const attack of ["flipped byte", "replayed MESSAGE"] as const) {
    it(`a ${attack} ends that connection only`, async () => {
      const { router, endpoint } = await echoRouter();
      const healthy = zmtp.dealer({ curve: { serverKey: server.publicKey, ...client } });
      healthy.connect(endpoint);
      const victim = new RawCurveClient(endpoint);
      await until(() => victim.ready && healthy.connected);
      const bytes = victim.encode([enc("hello")]);
      victim.socket.write(bytes);
      await until(() => victim.messages.length === 1);
      if (attack === "replayed MESSAGE") victim.socket.write(bytes);
      else {
        const tampered = victim.encode([enc("hello")]);
        tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x80;
        victim.socket.write(tampered);
      }
      await victim.whenClosed;
      assert.equal(victim.messages.length, 1);
      assert.equal(router.stats().protocolErrors, 1);
      const got = next<[Frames]>(healthy, "message");
      healthy.send([enc("unaffected")]);
      assert.equal(dec((await got)[0][0] as Uint8Array), "unaffected");
      await healthy.close();
      await router.close();
    });
  }

  it("a handshake cut short leaves no peer and no held bytes", async () => {
    const { router, endpoint, connected } = await echoRouter();
    // Cut inside the greeting, inside HELLO (which ends at 64 + 202), and after HELLO.
    for (const keep of [10, 64, 70, 266, 300]) {
      const raw = connect({ host: "127.0.0.1", port: Number(/:(\d+)$/.exec(endpoint)?.[1]) });
      raw.on("error", () => {});
      const rec = new Session({ socketType: "DEALER", mechanism: new CurveClientMechanism({ serverKey: server.publicKey, ...client }) }, {
        onReady: () => {}, onMessage: () => {}, onClose: () => {},
      });
      rec.start(0);
      const greeting = concatBytes(rec.takeOutput());
      await new Promise<void>((r) => raw.on("connect", () => r()));
      raw.write(greeting.subarray(0, Math.min(keep, greeting.length)));
      if (keep > 64) {
        const theirs = await new Promise<Uint8Array>((r) => raw.once("data", (d: Uint8Array) => r(new Uint8Array(d))));
        rec.feed(theirs.subarray(0, 64), 0);
        raw.write(concatBytes(rec.takeOutput()).subarray(0, keep - 64));
      }
      raw.destroy();
    }
    await until(() => router.receiveBudget.held === 0);
    assert.equal(connected.length, 0);
    await router.close();
  });
});
