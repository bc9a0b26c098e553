// kill -9 of a broker child at random points of a flood (fsync always: group commit): after a restart on the
// same directory, everything confirmed stored or delivered comes out, in order, once
// (tests/durable/crash-flood.ts). Replay a failure with DURABLE_SEED=<seed printed>.
import { describe, it } from "node:test";
import { floodKillRestart } from "./crash-flood.ts";
import { random, seedOf, withSeed } from "./broker-child.ts";

const ITERATIONS = 12;

describe("broker child killed mid-flood (fsync always)", () => {
  it(`loses nothing it confirmed or delivered, over ${ITERATIONS} random kills`, async () => {
    const seed = seedOf();
    const seeds = random(seed);
    await withSeed(seed, "crash-kill-always", async () => {
      for (let i = 0; i < ITERATIONS; i++) {
        const outcome = await floodKillRestart("always", Math.floor(seeds() * 2 ** 32));
        process.stderr.write(`  iteration ${i}: ${JSON.stringify(outcome)}\n`);
      }
    });
  });
});
