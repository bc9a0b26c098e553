import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Frames } from "../../src/transport/types.ts";
import { encodeCommand, encodeGreeting } from "../../src/zmtp/mod.ts";
import { enc, next, until, zmtpVariants } from "./helpers.ts";
import { echoRouter, frame, Raw, ready } from "./raw-peer.ts";
import type { TcpRouterOptions } from "../../src/transport/tcp/router.ts";

for (const { label, socketApi } of zmtpVariants) {
  const setup = (options: TcpRouterOptions = {}) => echoRouter({ ...options, socketApi });
  describe(`bad input over raw TCP closes only the offending connection, ${label}`, () => {
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
}
