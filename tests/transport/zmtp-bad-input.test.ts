import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import type { DealerSocket, Frames, RouterOptions, RouterSocket } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { decodeCommand, encodeCommand, encodeGreeting, encodeMetadata, FrameDecoder } from "../../src/zmtp/mod.ts";
import { dec, enc, next, until } from "./helpers.ts";

/** A raw TCP client that records what it receives and when it is closed. */
class Raw {
  readonly socket: Socket;
  received: Uint8Array[] = [];
  closed = false;
  readonly whenClosed: Promise<void>;

  constructor(endpoint: string) {
    const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint) as RegExpExecArray;
    this.socket = connect({ host: m[1] as string, port: Number(m[2]) });
    this.socket.on("data", (d: Uint8Array) => this.received.push(new Uint8Array(d)));
    this.socket.on("error", () => {});
    this.whenClosed = new Promise((r) => this.socket.on("close", () => {
      this.closed = true;
      r();
    }));
  }

  connected(): Promise<void> {
    return new Promise((r) => this.socket.once("connect", () => r()));
  }

  write(...parts: Uint8Array[]): void {
    for (const p of parts) this.socket.write(p);
  }

  /** Names of the commands received after the 64-byte greeting. */
  commands(): string[] {
    const all = new Uint8Array(this.received.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of this.received) {
      all.set(b, o);
      o += b.length;
    }
    const names: string[] = [];
    if (all.length <= 64) return names;
    new FrameDecoder().push(all, 64, { stopped: false, frame: (_f, body) => names.push(decodeCommand(body).name) });
    return names;
  }
}

const frame = (flags: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(2 + body.length);
  out[0] = flags;
  out[1] = body.length;
  out.set(body, 2);
  return out;
};
const ready = (type: string) => frame(4, encodeCommand("READY", encodeMetadata([["Socket-Type", enc(type)]])));

/** A ROUTER that echoes, with one healthy DEALER connected to it. */
async function setup(options: RouterOptions = {}): Promise<{
  router: RouterSocket;
  endpoint: string;
  healthy: DealerSocket;
  checkHealthy: (text: string) => Promise<void>;
  close: () => Promise<void>;
}> {
  const router = zmtp.router(options);
  router.on("message", (id, frames) => router.send(id, frames));
  const endpoint = await router.bind("tcp://127.0.0.1:0");
  const healthy = zmtp.dealer(options.plain ? { plain: { username: "good", password: "pw" } } : {});
  const up = Promise.all([next(healthy, "connect"), next(router, "connect")]);
  healthy.connect(endpoint);
  await up;
  const checkHealthy = async (text: string) => {
    const got = next<[Frames]>(healthy, "message");
    healthy.send([enc(text)]);
    const [frames] = await got;
    assert.equal(dec(frames[0] as Uint8Array), text);
  };
  return {
    router,
    endpoint,
    healthy,
    checkHealthy,
    close: async () => {
      await healthy.close();
      await router.close();
    },
  };
}

describe("bad input over raw TCP closes only the offending connection", () => {
  it("garbage instead of a greeting → closed (ZMTP_BAD_GREETING), healthy peer unaffected", async () => {
    const t = await setup();
    const errors: string[] = [];
    t.router.on("error", (e) => errors.push((e as { code?: string }).code ?? ""));
    const raw = new Raw(t.endpoint);
    raw.write(enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await raw.whenClosed;
    assert.deepEqual(errors, ["ZMTP_BAD_GREETING"]);
    assert.equal(t.router.stats().protocolErrors, 1);
    await t.checkHealthy("after garbage");
    await t.close();
  });

  it("wrong major version (ZMTP 2) → closed with ZMTP_BAD_VERSION", async () => {
    const t = await setup();
    const errors: string[] = [];
    t.router.on("error", (e) => errors.push((e as { code?: string }).code ?? ""));
    const raw = new Raw(t.endpoint);
    const g = encodeGreeting("NULL", false);
    g[10] = 2;
    raw.write(g.subarray(0, 11));
    await raw.whenClosed;
    assert.deepEqual(errors, ["ZMTP_BAD_VERSION"]);
    await t.checkHealthy("after bad version");
    await t.close();
  });

  it("wrong socket type (PUB talking to ROUTER) → ERROR command, then closed", async () => {
    const t = await setup();
    const raw = new Raw(t.endpoint);
    raw.write(encodeGreeting("NULL", false), ready("PUB"));
    await raw.whenClosed;
    assert.deepEqual(raw.commands(), ["READY", "ERROR"]);
    assert.equal(t.router.stats().protocolErrors, 1);
    await t.checkHealthy("after bad socket type");
    await t.close();
  });

  it("oversize frame header (2^40 bytes) → closed before anything is allocated", async () => {
    const t = await setup({ maxMessageSize: 1024 * 1024 });
    const raw = new Raw(t.endpoint);
    raw.write(encodeGreeting("NULL", false), ready("DEALER"));
    await until(() => raw.commands().includes("READY"));
    raw.write(new Uint8Array([2, 0, 0, 1, 0, 0, 0, 0, 0]));
    await raw.whenClosed;
    assert.equal(t.router.stats().protocolErrors, 1);
    await t.checkHealthy("after oversize frame");
    await t.close();
  });

  it("half-sent frame then connection reset → disconnect with a reason, nothing delivered", async () => {
    const t = await setup();
    const delivered: Frames[] = [];
    t.router.on("message", (_id, f) => delivered.push(f));
    const raw = new Raw(t.endpoint);
    const connected = next<[Uint8Array]>(t.router, "connect");
    raw.write(encodeGreeting("NULL", false), ready("DEALER"));
    const [id] = await connected;
    const gone = next<[Uint8Array, string]>(t.router, "disconnect");
    // MORE frame complete, then a frame announcing 200 bytes of which only 10 arrive.
    raw.write(new Uint8Array([1, 1, 0x61, 0, 200]), new Uint8Array(10));
    await new Promise((r) => setTimeout(r, 20));
    if (typeof raw.socket.resetAndDestroy === "function") raw.socket.resetAndDestroy();
    else raw.socket.destroy();
    const [goneId, reason] = await gone;
    assert.deepEqual(goneId, id);
    assert.ok(reason.length > 0);
    assert.equal(delivered.filter((f) => f.length === 2).length, 0, "the partial message is never delivered");
    await t.checkHealthy("after reset");
    await t.close();
  });

  it("bad PLAIN credentials → ERROR 400 and close; good credentials on another connection still work", async () => {
    const t = await setup({ plain: { authenticate: (u, p) => u === "good" && p === "pw" } });
    const raw = new Raw(t.endpoint);
    const hello = encodeCommand("HELLO", new Uint8Array([3, ...enc("bad"), 2, ...enc("no")]));
    raw.write(encodeGreeting("PLAIN", false), frame(4, hello));
    await raw.whenClosed;
    assert.deepEqual(raw.commands(), ["ERROR"]);
    assert.equal(t.router.stats().protocolErrors, 1);
    await t.checkHealthy("after bad credentials");
    await t.close();
  });

  it("a NULL client talking to a PLAIN server → closed (ZMTP_MECHANISM_MISMATCH)", async () => {
    const t = await setup({ plain: { authenticate: () => true } });
    const errors: string[] = [];
    t.router.on("error", (e) => errors.push((e as { code?: string }).code ?? ""));
    const raw = new Raw(t.endpoint);
    raw.write(encodeGreeting("NULL", false));
    await raw.whenClosed;
    assert.deepEqual(errors, ["ZMTP_MECHANISM_MISMATCH"]);
    await t.close();
  });

  it("a flood of PINGs is answered with few PONGs and does not starve the healthy peer", async () => {
    const t = await setup();
    const raw = new Raw(t.endpoint);
    raw.write(encodeGreeting("NULL", false), ready("DEALER"));
    await until(() => raw.commands().includes("READY"));
    const ping = frame(4, encodeCommand("PING", new Uint8Array([0, 0])));
    const burst = new Uint8Array(ping.length * 20_000);
    for (let i = 0; i < 20_000; i++) burst.set(ping, i * ping.length);
    for (let i = 0; i < 5; i++) raw.write(burst);
    await t.checkHealthy("during the flood");
    await until(() => raw.commands().filter((c) => c === "PONG").length > 0);
    const pongs = raw.commands().filter((c) => c === "PONG").length;
    assert.ok(pongs < 100_000 / 10, `PONGs are coalesced (got ${pongs} for 100000 PINGs)`);
    assert.equal(raw.closed, false);
    raw.socket.destroy();
    await raw.whenClosed;
    await t.checkHealthy("after the flood");
    await t.close();
  });

  it("a malformed command after the handshake → closed (ZMTP_MALFORMED_COMMAND)", async () => {
    const t = await setup();
    const errors: string[] = [];
    t.router.on("error", (e) => errors.push((e as { code?: string }).code ?? ""));
    const raw = new Raw(t.endpoint);
    raw.write(encodeGreeting("NULL", false), ready("DEALER"));
    await until(() => raw.commands().includes("READY"));
    raw.write(new Uint8Array([4, 3, 9, 0x41, 0x42])); // name length 9, only 2 bytes
    await raw.whenClosed;
    assert.deepEqual(errors, ["ZMTP_MALFORMED_COMMAND"]);
    await t.checkHealthy("after malformed command");
    await t.close();
  });
});
