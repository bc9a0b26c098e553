// kill -9 of a broker child at random points of a flood (fsync always: group commit): after a restart on the
// same directory, everything confirmed stored or delivered comes out, in order, once
// (tests/durable/crash-flood.ts). Replay a failure with DURABLE_SEED=<seed printed>.
import { describe, it } from "node:test";
import { floodKillRestart } from "./crash-flood.ts";
import { random, seedOf, withSeed } from "./broker-child.ts";

const ITERATIONS = 12;

describe("broker child killed mid-flood (fsync always)", () => {
  const seed = seedOf();
  const seeds = random(seed);
  for (let i = 0; i < ITERATIONS; i++) {
    const iterationSeed = Math.floor(seeds() * 2 ** 32);
    it(`loses nothing it confirmed or delivered (random kill ${i + 1} of ${ITERATIONS})`, async () => {
      await withSeed(seed, `crash-kill-always iteration ${i + 1}`, async () => {
        const outcome = await floodKillRestart("always", iterationSeed);
        process.stderr.write(`  iteration ${i + 1}: ${JSON.stringify(outcome)}\n`);
      });
    });
  }
});
