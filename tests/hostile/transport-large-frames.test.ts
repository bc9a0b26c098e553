import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import type { Frames } from "../../src/transport/types.ts";
import { GROWING_FRAME_START } from "../../src/zmtp/mod.ts";
import { bytesEqual, next, until } from "../transport/helpers.ts";
import { echoRouter, longHeader, Raw } from "../transport/raw-peer.ts";

const MiB = 1024 * 1024;

const codes = (router: { on(e: "error", h: (e: Error) => void): unknown }): string[] => {
  const seen: string[] = [];
  router.on("error", (e) => seen.push((e as { code?: string }).code ?? ""));
  return seen;
};

/** External memory of the process where the runtime reports it (Node, Deno; Bun may not). */
const arrayBuffers = (): number | undefined => process.memoryUsage().arrayBuffers;

describe("hostile: huge declared frame sizes over TCP", () => {
  for (const [label, size] of [["255 MiB", 255 * MiB], ["2^40 bytes", 2 ** 40]] as const) {
    it(`a frame declaring ${label} beyond maxMessageSize is refused at its header, nothing held`, async () => {
      const t = await echoRouter({ maxMessageSize: 64 * MiB });
      const errors = codes(t.router);
      const raw = new Raw(t.endpoint);
      await raw.handshake();
      raw.write(longHeader(size));
      await raw.closedWithin();
      assert.deepEqual(errors, ["ZMTP_FRAME_TOO_LARGE"]);
      assert.equal(t.router.receiveBudget.peak, 0);
      await t.checkHealthy("after the oversize header");
      await t.close();
    });
  }

  it("40 connections declaring 255 MiB frames (limit 300 MiB) hold 64 KiB each, not 10 GB", async () => {
    const t = await echoRouter({ maxMessageSize: 300 * MiB });
    const before = arrayBuffers();
    const raws = Array.from({ length: 40 }, () => new Raw(t.endpoint));
    await Promise.all(raws.map((r) => r.handshake()));
    for (const r of raws) r.write(longHeader(255 * MiB), new Uint8Array(10));
    await until(() => t.router.receiveBudget.held === 40 * GROWING_FRAME_START, 5000, "every header to be read");
    await t.checkHealthy("while 40 huge frames are pending");
    const after = arrayBuffers();
    if (before !== undefined && after !== undefined) {
      assert.ok(after - before < 256 * MiB, `external memory grew by ${((after - before) / MiB).toFixed(0)} MiB`);
    }
    assert.equal(t.router.receiveBudget.peak, 40 * GROWING_FRAME_START);
    for (const r of raws) r.socket.destroy();
    await until(() => t.router.receiveBudget.held === 0, 5000, "the budget to be given back");
    await t.close();
  });

  it("a 3 MiB frame trickling in pieces arrives intact (incremental buffer)", async () => {
    const t = await echoRouter();
    const raw = new Raw(t.endpoint);
    await raw.handshake();
    const body = new Uint8Array(3 * MiB).map((_, i) => (i * 13) >> 2);
    const got = next<[Uint8Array, Frames]>(t.router, "message", 5000);
    raw.write(longHeader(body.length));
    for (let off = 0; off < body.length; off += 100_000) {
      raw.write(body.subarray(off, off + 100_000));
      if (off % 1_000_000 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    const [, frames] = await got;
    assert.ok(bytesEqual(frames[0] as Uint8Array, body));
    raw.socket.destroy();
    await t.close();
  });
});

describe("hostile: the ROUTER's receive budget", () => {
  it("closes only the connection whose next allocation would exceed it (ZMTP_RECEIVE_BUDGET, counted)", async () => {
    const t = await echoRouter({ receiveBudget: 2 * MiB });
    const errors = codes(t.router);
    const size = 1.5 * MiB;
    const body = new Uint8Array(size).fill(3);
    const a = new Raw(t.endpoint, { keep: true });
    const b = new Raw(t.endpoint);
    await Promise.all([a.handshake(), b.handshake()]);
    // a's frame grows to a buffer of about 1 MB; b's then cannot grow past what is left.
    a.write(longHeader(size), body.subarray(0, 1_000_000));
    await until(() => t.router.receiveBudget.held >= 1_000_000, 5000, "a's first megabyte");
    b.write(longHeader(size), body.subarray(0, 1_200_000));
    await b.closedWithin();
    assert.deepEqual(errors, ["ZMTP_RECEIVE_BUDGET"]);
    assert.equal(t.router.stats().protocolErrors, 1);
    assert.equal(a.closed, false);
    // a finishes its frame within the budget and gets its echo.
    const echoed = a.bytesReceived;
    a.write(body.subarray(1_000_000));
    await until(() => a.bytesReceived - echoed >= size, 5000, "a's echo");
    assert.equal(t.router.receiveBudget.held, 0);
    await t.checkHealthy("after the budget was exceeded");
    a.socket.destroy();
    await t.close();
  });
});
