// Each CLI hint follows from the actual cause (issue 20 item 8).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { deadlineHint } from "../../src/cli/actions/call.ts";
import { statsTimeoutHint } from "../../src/cli/actions/stat.ts";
import { systemCode } from "../../src/cli/cause.ts";
import { CLASSIC_BROKER } from "../../src/client/features.ts";

describe("cli hints", () => {
  it("stat timeout: only a classic broker is said to lack the admin service", () => {
    assert.match(statsTimeoutHint(CLASSIC_BROKER), /no admin service/);
    const ours = { extended: true, version: "malamute-ext/1", features: ["confirm", "credit"] };
    const hint = statsTimeoutHint(ours);
    assert.match(hint, /raise --wait/);
    assert.doesNotMatch(hint, /C malamute|no admin service/);
  });

  it("deadline: start a worker only when none is registered; wait longer when one is", () => {
    assert.match(deadlineHint("img", 0), /no worker for "img" is registered/);
    assert.match(deadlineHint("img", 1), /^1 worker for "img" is registered.*raise --deadline$/);
    assert.match(deadlineHint("img", 3), /^3 workers for "img" are registered/);
    assert.match(deadlineHint("img", undefined), /is a worker for "img" running, and is it slower than --deadline\?/);
  });

  it("finds the system code down the cause chain, and stops on a loop", () => {
    const inner = Object.assign(new Error("getaddrinfo ENOTFOUND x"), { code: "ENOTFOUND" });
    assert.equal(systemCode(new Error("cannot bind", { cause: new Error("wrap", { cause: inner }) })), "ENOTFOUND");
    assert.equal(systemCode(Object.assign(new Error("x"), { code: "BROKER_BIND" })), undefined);
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    assert.equal(systemCode(loop), undefined);
  });
});
