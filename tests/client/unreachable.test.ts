// An unreachable broker fails connect() at once with the transport's cause (issue 20 item 10):
// refused, a host that does not resolve, PLAIN credentials refused. The connect timeout is set
// far above what these tests may take, so only failing fast lets them finish.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "../../src/broker/server.ts";
import { MlmClient } from "../../src/client/client.ts";
import { MlmError } from "../../src/client/errors.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { closedPort } from "../transport/helpers.ts";

const NEVER = 60_000;

async function failure(promise: Promise<unknown>): Promise<MlmError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof MlmError, `expected MlmError, got ${String(error)}`);
  return error;
}

const causeCode = (error: MlmError) => (error.cause as { code?: string } | undefined)?.code;

describe("MlmClient.connect to an unreachable broker", { timeout: 20_000 }, () => {
  it("connection refused: MLM_UNREACHABLE with the ECONNREFUSED cause, long before the timeout", async () => {
    const endpoint = `tcp://127.0.0.1:${await closedPort()}`;
    const error = await failure(MlmClient.connect(endpoint, { transport: zmtp, timeout: NEVER }));
    assert.equal(error.code, "MLM_UNREACHABLE");
    assert.equal(causeCode(error), "ECONNREFUSED");
    assert.match(error.message, new RegExp(`cannot reach the broker at ${endpoint.replace(/\./g, "\\.")}: .*ECONNREFUSED`));
  });

  it("a host name that does not resolve: MLM_UNREACHABLE with the DNS cause", async () => {
    const error = await failure(MlmClient.connect("tcp://no-such-host.invalid:5555", { transport: zmtp, timeout: NEVER }));
    assert.equal(error.code, "MLM_UNREACHABLE");
    assert.match(causeCode(error) ?? "", /^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL)$/);
  });

  it("PLAIN credentials refused: MLM_UNREACHABLE naming the handshake", async () => {
    const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], transport: zmtp, auth: { mechanism: "plain", users: { admin: "secret" } } });
    try {
      const endpoint = broker.endpoints[0] as string;
      const error = await failure(MlmClient.connect(endpoint, { transport: zmtp, timeout: NEVER, plain: { username: "admin", password: "wrong" } }));
      assert.equal(error.code, "MLM_UNREACHABLE");
      assert.match(error.message, /refused the handshake/);
      const good = await MlmClient.connect(endpoint, { transport: zmtp, plain: { username: "admin", password: "secret" } });
      await good.close();
    } finally {
      await broker.close();
    }
  });

  it("waitForBroker keeps retrying until the timeout, which then names the last cause", async () => {
    const endpoint = `tcp://127.0.0.1:${await closedPort()}`;
    const error = await failure(MlmClient.connect(endpoint, { transport: zmtp, timeout: 300, waitForBroker: true }));
    assert.equal(error.code, "MLM_TIMEOUT");
    assert.match(error.message, /within 300 ms \(last attempt: .*ECONNREFUSED/);
    assert.equal(causeCode(error), "ECONNREFUSED");
  });

  it("waitForBroker connects to a broker that starts after connect() began", async () => {
    const port = await closedPort();
    const connecting = MlmClient.connect(`tcp://127.0.0.1:${port}`, { transport: zmtp, timeout: 10_000, waitForBroker: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const broker = await startBroker({ endpoints: [`tcp://127.0.0.1:${port}`], transport: zmtp });
    try {
      const client = await connecting;
      assert.equal(client.connected, true);
      await client.close();
    } finally {
      await broker.close();
    }
  });
});
