// Bad input from the fixtures (broker_malformed, broker_destructive) against a live broker,
// over inproc and TCP, while a second client keeps getting answers (design §3 "decode").
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startBroker } from "../../src/broker/server.ts";
import { decode } from "../../src/proto/mod.ts";
import { inproc } from "../../src/transport/inproc.ts";
import type { Transport } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { unhex } from "./harness.ts";
import { RawClient } from "./raw-client.ts";

interface BadInput {
  name: string;
  frames: string[];
  opened_first: boolean;
}

const fixture = JSON.parse(readFileSync(new URL("../fixtures/mlm_proto.json", import.meta.url), "utf8")) as {
  broker_malformed: BadInput[];
  broker_destructive: BadInput[];
};
const inputs = [...fixture.broker_malformed, ...fixture.broker_destructive];

const PONG = { type: "CONNECTION_PONG" };
const OK = { type: "OK", code: 200, reason: "" };
const INVALID = { type: "ERROR", code: 500, reason: "" };

const transports: [string, Transport, string][] = [
  ["inproc", inproc, `inproc://broker-malformed-${process.pid}`],
  ["tcp", zmtp, "tcp://127.0.0.1:0"],
];

for (const [name, transport, endpoint] of transports) {
  describe(`broker over ${name}: every broker_malformed and broker_destructive fixture input`, () => {
    it("is dropped (or, if well-formed, answered) while another client keeps being served; the broker still serves at the end", async () => {
      assert.ok(inputs.length >= 14, "fixture inputs present");
      const broker = await startBroker({ endpoints: [endpoint], transport });
      const bound = broker.endpoints[0] as string;
      const witness = new RawClient(transport, bound);
      const clients: RawClient[] = [witness];
      try {
        await witness.open("witness");
        let malformed = 0;
        for (const input of inputs) {
          const frames = input.frames.map(unhex);
          const bad = new RawClient(transport, bound);
          clients.push(bad);
          if (input.opened_first) await bad.open(`bad-${input.name}`);
          bad.sendRaw(frames);
          const decoded = decode(frames);
          if (!decoded.ok) malformed++;
          else if (decoded.message.type === "CONNECTION_PING") assert.deepEqual(await bad.next(), PONG, input.name);
          else if (decoded.message.type === "CONNECTION_CLOSE") assert.deepEqual(await bad.next(), OK, input.name);
          else assert.fail(`${input.name}: unexpected well-formed ${decoded.message.type}`);
          // Nothing else came back: the next reply answers our PING.
          bad.send({ type: "CONNECTION_PING" });
          const expected = input.opened_first && decoded.ok && decoded.message.type === "CONNECTION_CLOSE" ? INVALID
            : input.opened_first ? PONG : INVALID;
          assert.deepEqual(await bad.next(), expected, `${input.name}: reply to the following PING`);
          await witness.expectOnlyPong();
          assert.equal(broker.stats().counters.malformed, malformed, `${input.name}: counted`);
        }
        const late = new RawClient(transport, bound);
        clients.push(late);
        await late.open("late");
        await late.expectOnlyPong();
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await broker.close();
      }
    });
  });
}
