import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TcpRouter } from "../../src/transport/tcp/router.ts";
import { next, zmtpVariants } from "./helpers.ts";

for (const { label, socketApi, zmtp } of zmtpVariants) {
  describe(`zmtp ROUTER close() with linger, ${label}`, () => {
    it("messages sent right before close() still reach the peer (close flushes)", async () => {
      const router = new TcpRouter({ linger: 2000, socketApi });
      const endpoint = await router.bind("tcp://127.0.0.1:0");
      const dealer = zmtp.dealer();
      const got: number[] = [];
      dealer.on("message", (frames) => got.push(frames[0]?.length ?? -1));
      try {
        const connected = next<[Uint8Array]>(router, "connect");
        dealer.connect(endpoint);
        const [id] = await connected;
        // Enough bytes that they cannot all be written synchronously.
        const big = new Uint8Array(4 * 1024 * 1024);
        router.send(id, [new Uint8Array(3)]);
        router.send(id, [big]);
        router.send(id, [new Uint8Array(5)]);
        const disconnected = next(dealer, "disconnect");
        await router.close();
        await disconnected;
        assert.deepEqual(got, [3, big.length, 5]);
      } finally {
        await dealer.close();
        await router.close();
      }
    });

    it("linger 0 cuts connections at once; close() still resolves", async () => {
      const router = new TcpRouter({ linger: 0, socketApi });
      const endpoint = await router.bind("tcp://127.0.0.1:0");
      const dealer = zmtp.dealer();
      const connected = next<[Uint8Array]>(router, "connect");
      dealer.connect(endpoint);
      const [id] = await connected;
      router.send(id, [new Uint8Array(16 * 1024 * 1024)]);
      await router.close();
      await dealer.close();
      assert.equal(router.stats().messagesOut, 1);
    });
  });
}
