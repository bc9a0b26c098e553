// Warnings the server raises itself (transport errors, failed sends) repeat at a peer's will:
// they are rate-limited as the core's are (logBurst per logWindow) and counted when left out.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker, type BrokerLogEntry } from "../../src/broker/server.ts";
import type { RouterEvents, RouterSocket, Transport } from "../../src/transport/types.ts";
import { Emitter } from "../../src/util/emitter.ts";

class FakeRouter extends Emitter<RouterEvents> implements RouterSocket {
  endpoints: string[] = [];
  async bind(endpoint: string): Promise<string> {
    this.endpoints.push(endpoint);
    return endpoint;
  }
  send(): boolean {
    return true;
  }
  disconnectPeer(): void {}
  stats() {
    return { messagesIn: 0, messagesOut: 0, droppedUnroutable: 0, protocolErrors: 0 };
  }
  async close(): Promise<void> {}
}

describe("server warnings", () => {
  it("logs at most logBurst transport errors per window and counts the rest", async () => {
    const router = new FakeRouter();
    const transport = { name: "fake", router: () => router, dealer: () => { throw new Error("no dealer"); } } as unknown as Transport;
    const logs: BrokerLogEntry[] = [];
    const broker = await startBroker({ endpoints: ["fake://x"], transport, limits: { logBurst: 3 }, log: (e) => logs.push(e), linger: 0 });
    try {
      for (let i = 0; i < 10; i++) router.emit("error", new Error(`boom ${i}`));
      assert.deepEqual(logs.filter((e) => e.level === "warn").map((e) => e.message), ["transport: boom 0", "transport: boom 1", "transport: boom 2"]);
      assert.equal(broker.stats().counters.logsSuppressed, 7);
    } finally {
      await broker.close();
    }
  });
});
