import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Frames } from "../../src/transport/types.ts";
import { FLAG_MORE } from "../../src/zmtp/mod.ts";
import { next } from "../transport/helpers.ts";
import { echoRouter, Raw } from "../transport/raw-peer.ts";

/** `n` empty frames, MORE on all but the last unless `open` (then the message never ends). */
function emptyFrames(n: number, open = false): Uint8Array {
  const bytes = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) bytes[2 * i] = open || i < n - 1 ? FLAG_MORE : 0;
  return bytes;
}

const codes = (router: { on(e: "error", h: (e: Error) => void): unknown }): string[] => {
  const seen: string[] = [];
  router.on("error", (e) => seen.push((e as { code?: string }).code ?? ""));
  return seen;
};

describe("hostile: empty-frame floods over TCP (maxMessageParts)", () => {
  it("a message of exactly 1024 frames is delivered; 1025 closes that connection only (ZMTP_TOO_MANY_PARTS)", async () => {
    const t = await echoRouter();
    const errors = codes(t.router);
    const raw = new Raw(t.endpoint);
    await raw.handshake();
    const got = next<[Uint8Array, Frames]>(t.router, "message", 5000);
    raw.write(emptyFrames(1024));
    const [, frames] = await got;
    assert.equal(frames.length, 1024);
    raw.write(emptyFrames(1025));
    await raw.closedWithin();
    assert.deepEqual(errors, ["ZMTP_TOO_MANY_PARTS"]);
    assert.equal(t.router.stats().protocolErrors, 1);
    await t.checkHealthy("after 1025 frames");
    await t.close();
  });

  it("the limit is configurable on the ROUTER", async () => {
    const t = await echoRouter({ maxMessageParts: 4 });
    const errors = codes(t.router);
    const raw = new Raw(t.endpoint);
    await raw.handshake();
    const got = next<[Uint8Array, Frames]>(t.router, "message", 5000);
    raw.write(emptyFrames(4));
    assert.equal((await got)[1].length, 4);
    raw.write(emptyFrames(5));
    await raw.closedWithin();
    assert.deepEqual(errors, ["ZMTP_TOO_MANY_PARTS"]);
    await t.close();
  });

  it("100k empty MORE frames close the flooding connection while another client's round trip works", async () => {
    const t = await echoRouter();
    const errors = codes(t.router);
    const raw = new Raw(t.endpoint);
    await raw.handshake();
    // 100k frames in pieces of 1000, as a flood arrives; the message never ends.
    const piece = emptyFrames(1000, true);
    for (let i = 0; i < 100 && !raw.closed; i++) raw.write(piece);
    await t.checkHealthy("during the flood");
    await raw.closedWithin();
    assert.deepEqual(errors, ["ZMTP_TOO_MANY_PARTS"]);
    assert.equal(t.router.receiveBudget.held, 0, "nothing of the flood is held");
    await t.checkHealthy("after the flood");
    await t.close();
  });
});
