import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { describe, it } from "node:test";
import { zmtp } from "../../src/transport/zmtp.ts";
import { encodeGreeting } from "../../src/zmtp/mod.ts";
import { until } from "../transport/helpers.ts";
import { echoRouter, Raw } from "../transport/raw-peer.ts";

const codes = (router: { on(e: "error", h: (e: Error) => void): unknown }): Array<[string, string]> => {
  const seen: Array<[string, string]> = [];
  router.on("error", (e) => seen.push([(e as { code?: string }).code ?? "", e.message]));
  return seen;
};

describe("hostile: stalled handshakes (handshakeTimeout)", () => {
  it("ROUTER: a client that sends half a greeting is closed after the timeout; others are served", async () => {
    const t = await echoRouter({ handshakeTimeout: 200 });
    const raw = new Raw(t.endpoint);
    await raw.connected();
    raw.write(encodeGreeting("NULL", false).subarray(0, 32));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(raw.closed, false, "still open before the timeout");
    await t.checkHealthy("while a handshake stalls");
    await raw.closedWithin(3000);
    await t.close();
  });

  it("ROUTER: a client that sends its greeting but never READY is closed too", async () => {
    const t = await echoRouter({ handshakeTimeout: 200 });
    const raw = new Raw(t.endpoint);
    raw.write(encodeGreeting("NULL", false));
    await raw.closedWithin(3000);
    await t.close();
  });

  it("DEALER: a server that accepts and never greets is dropped after the timeout, then retried", async () => {
    const accepted: Socket[] = [];
    let closedByDealer = 0;
    const server = createServer((s) => {
      s.on("error", () => {});
      s.on("close", () => closedByDealer++);
      s.resume(); // read (and ignore) the dealer's greeting, so that its close is seen
      accepted.push(s);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const dealer = zmtp.dealer({ handshakeTimeout: 200, reconnectInterval: 10 });
    dealer.connect(`tcp://127.0.0.1:${port}`);
    await until(() => accepted.length >= 1, 3000, "the first connection");
    await until(() => closedByDealer >= 1, 3000, "the dealer to drop the silent server");
    await until(() => accepted.length >= 2, 3000, "a new attempt");
    await dealer.close();
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe("hostile: malformed greetings say what is wrong", () => {
  it("bytes after NULL\\0 in the mechanism field: ZMTP_BAD_GREETING with the field escaped", async () => {
    const t = await echoRouter();
    const errors = codes(t.router);
    const raw = new Raw(t.endpoint);
    const g = encodeGreeting("NULL", false);
    g[17] = 0x58; // "NULL\0X"
    raw.write(g);
    await raw.closedWithin();
    assert.deepEqual(errors, [["ZMTP_BAD_GREETING", 'bad greeting: mechanism field "NULL\\x00X" is not a NUL-padded name']]);
    assert.equal(t.router.stats().protocolErrors, 1);
    await t.checkHealthy("after the bad greeting");
    await t.close();
  });
});
