import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { next, until } from "../transport/helpers.ts";
import { echoRouter, handshakeBytes, Raw } from "../transport/raw-peer.ts";

const MiB = 1024 * 1024;
const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe("hostile: a peer that stops reading (ROUTER sendHighWaterMark)", () => {
  it("messages mark: exactly `messages` are accepted in a turn, the next is dropped and counted", async () => {
    const t = await echoRouter({ sendHighWaterMark: { messages: 100 } });
    const raw = new Raw(t.endpoint, { keep: false });
    const connected = next<[Uint8Array]>(t.router, "connect");
    raw.write(...handshakeBytes());
    const [id] = await connected;
    const events: string[] = [];
    t.router.on("congested", () => events.push("congested"));
    t.router.on("drained", () => events.push("drained"));
    const msg = [new Uint8Array(10)];
    const results: boolean[] = [];
    for (let i = 0; i < 101; i++) {
      results.push(t.router.send(id, msg));
      if (i === 48 || i === 49) events.push(`sent ${i + 1}`);
    }
    assert.deepEqual(results.slice(0, 100), new Array(100).fill(true));
    assert.equal(results[100], false);
    assert.equal(t.router.stats().droppedHighWater, 1);
    assert.deepEqual(events, ["sent 49", "congested", "sent 50"], "congested at half the mark");
    await until(() => events.includes("drained"), 5000, "drained");
    assert.equal(t.router.send(id, msg), true);
    raw.socket.destroy();
    await t.close();
  });

  it("defaults: 10,000 messages accepted in a turn, the 10,001st dropped", async () => {
    const t = await echoRouter();
    const raw = new Raw(t.endpoint, { keep: false });
    const connected = next<[Uint8Array]>(t.router, "connect");
    raw.write(...handshakeBytes());
    const [id] = await connected;
    const msg = [new Uint8Array(1)];
    let accepted = 0;
    while (accepted < 20_000 && t.router.send(id, msg)) accepted++;
    assert.equal(accepted, 10_000);
    assert.equal(t.router.stats().droppedHighWater, 1);
    raw.socket.destroy();
    await t.close();
  });

  it("bytes mark: a stalled reader bounds the backlog; congested, then drops; drained once it reads again", async () => {
    const t = await echoRouter({ sendHighWaterMark: { bytes: MiB } });
    const raw = new Raw(t.endpoint, { keep: false });
    const connected = next<[Uint8Array]>(t.router, "connect");
    raw.write(...handshakeBytes());
    const [id] = await connected;
    raw.socket.pause();
    let congestedAfter = -1;
    let drained = false;
    t.router.on("congested", () => (congestedAfter = accepted));
    t.router.on("drained", () => (drained = true));
    const msg = [new Uint8Array(16 * 1024)];
    let accepted = 0;
    let refused = 0;
    // Offer 256 KiB per turn until the first refusal (at most 256 MiB).
    for (let i = 0; i < 1024 && refused === 0; i++) {
      for (let k = 0; k < 16 && refused === 0; k++) {
        if (t.router.send(id, msg)) accepted++;
        else refused++;
      }
      await turn();
    }
    assert.equal(refused, 1, "a send was refused at the mark");
    for (let k = 0; k < 10; k++) assert.equal(t.router.send(id, msg), false);
    assert.equal(t.router.stats().droppedHighWater, 11);
    assert.ok(congestedAfter >= 0 && congestedAfter < accepted, "congested before the first drop");
    const acceptedBytes = accepted * 16 * 1024;
    // What the kernel's buffers absorbed plus the 1 MiB mark; far below what was offered.
    assert.ok(acceptedBytes < 64 * MiB, `accepted ${acceptedBytes / MiB} MiB for a stalled reader`);
    assert.equal(drained, false);
    raw.socket.resume();
    await until(() => drained, 5000, "drained");
    assert.equal(t.router.send(id, msg), true);
    raw.socket.destroy();
    await t.close();
  });
});
