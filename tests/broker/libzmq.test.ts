// The broker with libzmq DEALERs (the zeromq package), i.e. what C mlm_client programs use:
// the worked example of mlm-protocol.md §3.2 byte for byte, and ZMTP PLAIN.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "../../src/broker/server.ts";
import type { Broker } from "../../src/broker/server.ts";
import { hex, unhex } from "./harness.ts";
import { until } from "./raw-client.ts";

const zeromqSkip: string | false = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "zeromq native addon does not load on Bun"
  : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
  ? "zeromq.js under Deno can leave a pending receive unwoken (observed as hangs), so in-process libzmq tests run on Node"
  : false;

type Zmq = typeof import("zeromq");
let zmq: Zmq;

async function receiveHex(dealer: InstanceType<Zmq["Dealer"]>): Promise<string[]> {
  return (await dealer.receive()).map((f) => hex(new Uint8Array(f)));
}

describe("broker with libzmq DEALER clients (C mlm_client wire behaviour)", () => {
  let broker: Broker;

  before(async () => {
    if (zeromqSkip) return;
    zmq = await import("zeromq");
    broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], auth: undefined });
  });

  after(async () => {
    await broker?.close();
  });

  it("mlm-protocol §3.2 worked example, byte for byte", { skip: zeromqSkip }, async () => {
    const w1 = new zmq.Dealer({ linger: 0 });
    const reader = new zmq.Dealer({ linger: 0 });
    w1.connect(broker.endpoints[0] as string);
    reader.connect(broker.endpoints[0] as string);
    try {
      await reader.send(unhex("aaa801084d414c414d555445000106726561646572"));
      assert.deepEqual(await receiveHex(reader), ["aaa80e00c800"]);
      await reader.send(unhex("aaa806077765617468657200"));
      assert.deepEqual(await receiveHex(reader), ["aaa80e00c800"]);

      await w1.send(unhex("aaa801084d414c414d5554450001027731"));
      assert.deepEqual(await receiveHex(w1), ["aaa80e00c800"]);
      await w1.send(unhex("aaa8050777656174686572"));
      assert.deepEqual(await receiveHex(w1), ["aaa80e00c800"]);
      await w1.send([unhex("aaa8070674656d702e78"), unhex("3231")]);
      await w1.send([unhex("aaa8090277310268690000000000"), unhex("626f6479")]);
      assert.deepEqual(await receiveHex(w1), ["aaa80a027731027731026869" + "00", "626f6479"]);
      await w1.send(unhex("aaa802"));
      assert.deepEqual(await receiveHex(w1), ["aaa803"], "no STREAM-DELIVER to the writer itself");
      await w1.send(unhex("aaa804"));
      assert.deepEqual(await receiveHex(w1), ["aaa80e00c800"]);

      assert.deepEqual(await receiveHex(reader), [
        "aaa808" + "07" + hex(new TextEncoder().encode("weather")) + "027731" + "0674656d702e78", "3231",
      ]);
    } finally {
      w1.close();
      reader.close();
    }
  });

  it("ERROR 500 before OPEN and ERROR 300 for STREAM-SEND without a writer, byte for byte", { skip: zeromqSkip }, async () => {
    const d = new zmq.Dealer({ linger: 0 });
    d.connect(broker.endpoints[0] as string);
    try {
      await d.send(unhex("aaa802"));
      assert.deepEqual(await receiveHex(d), ["aaa80f01f400"]);
      await d.send(unhex("aaa801084d414c414d555445000100"));
      assert.deepEqual(await receiveHex(d), ["aaa80e00c800"]);
      await d.send([unhex("aaa8070178"), unhex("79")]);
      assert.deepEqual(await receiveHex(d), ["aaa80f012c00"]);
    } finally {
      d.close();
    }
  });

  it("ZMTP PLAIN: a libzmq client with the right password is served, a wrong one is refused", { skip: zeromqSkip }, async () => {
    const secured = await startBroker({
      endpoints: ["tcp://127.0.0.1:0"], auth: { mechanism: "plain", users: { admin: "secret" } },
    });
    const refusals: string[] = [];
    secured.on("error", (e) => refusals.push(e.message));
    const good = new zmq.Dealer({ linger: 0, plainUsername: "admin", plainPassword: "secret" });
    // libzmq blocks sends while no peer accepts it, so the refused client only connects.
    const bad = new zmq.Dealer({ linger: 0, plainUsername: "admin", plainPassword: "nope" });
    try {
      good.connect(secured.endpoints[0] as string);
      bad.connect(secured.endpoints[0] as string);
      await good.send(unhex("aaa801084d414c414d555445000100"));
      assert.deepEqual(await receiveHex(good), ["aaa80e00c800"]);
      await until(() => refusals.some((m) => /refused/.test(m)), "the wrong password to be refused");
      assert.equal(secured.stats().connections, 1);
    } finally {
      good.close();
      bad.close();
      await secured.close();
    }
  });
});
