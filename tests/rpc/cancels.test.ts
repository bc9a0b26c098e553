import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EarlyCancels } from "../../src/rpc/worker/cancels.ts";

describe("rpc worker memory of early cancels", () => {
  it("remembers a cancel until it is taken, once", () => {
    const early = new EarlyCancels(10);
    early.add("a", 1000, 0);
    assert.equal(early.take("b", 10), false);
    assert.equal(early.take("a", 10), true);
    assert.equal(early.take("a", 10), false);
  });

  it("forgets a cancel after its expiry", () => {
    const early = new EarlyCancels(10);
    early.add("a", 100, 0);
    assert.equal(early.take("a", 100), false);
  });

  it("drops expired entries when adding", () => {
    const early = new EarlyCancels(10);
    early.add("a", 100, 0);
    early.add("b", 100, 0);
    early.add("c", 1000, 500);
    assert.equal(early.size, 1);
  });

  it("is bounded: the oldest entries leave first", () => {
    const early = new EarlyCancels(3);
    for (const id of ["a", "b", "c", "d", "e"]) early.add(id, 1000, 0);
    assert.equal(early.size, 3);
    assert.equal(early.take("a", 1), false);
    assert.equal(early.take("b", 1), false);
    assert.equal(early.take("e", 1), true);
  });
});
