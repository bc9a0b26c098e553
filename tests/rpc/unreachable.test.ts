// RPC connect() to an unreachable broker: RpcUnavailableError at once, with the cause (issue 20 item 10).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MlmError } from "../../src/client/errors.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { RpcError, RpcUnavailableError } from "../../src/rpc/errors.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { qwen3vl } from "./contracts.ts";
import { closedPort } from "../transport/helpers.ts";

describe("rpc connect() to an unreachable broker", { timeout: 20_000 }, () => {
  it("rejects with RpcUnavailableError whose cause chain ends at ECONNREFUSED, without waiting for the timeout", async () => {
    const endpoint = `tcp://127.0.0.1:${await closedPort()}`;
    const error = await connect(endpoint, { qwen3vl }, { transport: zmtp, mlm: { timeout: 60_000 } }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RpcError, "the rpc.md pattern `instanceof RpcError` catches it");
    assert.ok(error instanceof RpcUnavailableError);
    assert.equal(error.code, "RPC_UNAVAILABLE");
    assert.match(error.message, /ECONNREFUSED/);
    assert.ok(error.cause instanceof MlmError);
    assert.equal(error.cause.code, "MLM_UNREACHABLE");
    assert.equal((error.cause.cause as { code?: string }).code, "ECONNREFUSED");
  });

  it("a timeout (waitForBroker) is RpcUnavailableError too", async () => {
    const endpoint = `tcp://127.0.0.1:${await closedPort()}`;
    const error = await connect(endpoint, { qwen3vl }, { transport: zmtp, mlm: { timeout: 200, waitForBroker: true } }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RpcUnavailableError);
    assert.equal((error.cause as MlmError).code, "MLM_TIMEOUT");
  });
});
