import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { describe, it } from "node:test";
import { TransportError } from "../../src/transport/errors.ts";
import { NATIVE_SOCKETS, socketApiFor } from "../../src/transport/socket/select.ts";
import type { SocketApi, StreamListener, StreamSocket } from "../../src/transport/socket/types.ts";
import { until } from "./helpers.ts";

/**
 * The runtime's own socket binding under the zmtp transport (Bun's or Deno's; Node has none, so
 * on Node this suite does not exist), at the byte-stream level: it must behave as node:net does
 * on partial writes, peer resets and half-closes. (The node:net binding reads through
 * connection-supplied buffers on Node, so it is checked through the transport suites instead.)
 */
const apis: { label: string; api: SocketApi }[] = NATIVE_SOCKETS
  ? [{ label: `native ${NATIVE_SOCKETS.name} sockets (Bun/Deno only)`, api: NATIVE_SOCKETS }]
  : [];

const pattern = (offset: number, n: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (offset + i) % 251;
  return b;
};

/** Listens on an ephemeral port; resolves the first accepted socket through `accepted`. */
async function listen(api: SocketApi): Promise<{ listener: StreamListener; accepted: Promise<StreamSocket> }> {
  let resolve!: (s: StreamSocket) => void;
  const accepted = new Promise<StreamSocket>((r) => (resolve = r));
  const listener = await api.listen("127.0.0.1", 0, (socket) => resolve(socket), () => {});
  return { listener, accepted };
}

function connected(socket: StreamSocket): Promise<void> {
  return new Promise((resolve) => socket.once("connect", resolve));
}

for (const { label, api } of apis) {
  describe(`socket binding: ${label}`, () => {
    it("keeps what the kernel does not take (slow reader, 32 MiB backlog) and delivers every byte in order", async () => {
      const { listener, accepted } = await listen(api);
      const { socket: reader } = api.connect("127.0.0.1", listener.port);
      await connected(reader);
      reader.pause();
      const writer = await accepted;
      let received = 0;
      let corrupt = -1;
      reader.on("data", (chunk) => {
        for (let i = 0; i < chunk.length && corrupt < 0; i++) {
          if (chunk[i] !== (received + i) % 251) corrupt = received + i;
        }
        received += chunk.length;
      });
      let drains = 0;
      writer.on("drain", () => drains++);
      const total = 32 * 1024 * 1024;
      const chunk = 1024 * 1024;
      let written = false;
      writer.cork();
      for (let at = 0; at < total; at += chunk) writer.write(pattern(at, chunk));
      writer.uncork();
      writer.write(new Uint8Array(0), () => (written = true));
      // A paused reader lets the kernel take a few MB at most: the rest waits in the socket.
      await until(() => writer.writableLength > 0, 5000, "a backlog");
      assert.ok(writer.writableLength > 8 * 1024 * 1024, `backlog ${writer.writableLength}`);
      assert.equal(written, false);
      reader.resume();
      await until(() => received === total && written, 10_000, "every byte");
      assert.equal(corrupt, -1, `first wrong byte at ${corrupt}`);
      assert.equal(writer.writableLength, 0);
      assert.ok(drains >= 1, "drain after the backlog emptied");
      writer.destroy();
      reader.destroy();
      await listener.close();
    });

    it("a peer reset closes the socket once, and later writes fail through their callback", async () => {
      // The peer never reads (paused on connect), so destroying it with unread data sends RST.
      let peer: Socket | undefined;
      const server = createServer({ pauseOnConnect: true }, (s) => (peer = s));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as { port: number }).port;
      const { socket } = api.connect("127.0.0.1", port);
      let closes = 0;
      socket.on("error", () => {});
      socket.on("close", () => closes++);
      await connected(socket);
      socket.write(pattern(0, 64 * 1024));
      await until(() => peer !== undefined, 5000, "the peer");
      await new Promise((r) => setTimeout(r, 50)); // let the bytes reach the peer's kernel buffer
      peer!.destroy();
      await until(() => closes > 0, 5000, "close after the reset");
      assert.equal(socket.destroyed, true);
      let failure: unknown;
      assert.equal(socket.write(pattern(0, 10), (err) => (failure = err)), false);
      await until(() => failure !== undefined, 5000, "the write callback");
      assert.ok(failure instanceof Error);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(closes, 1);
      await new Promise<void>((r) => server.close(() => r()));
    });

    it("half-close: after the peer's FIN, what was queued still goes out, then our FIN, then close", async () => {
      const { listener, accepted } = await listen(api);
      const { socket: client } = api.connect("127.0.0.1", listener.port);
      await connected(client);
      const server = await accepted;
      const reply = 4 * 1024 * 1024;
      let serverCloses = 0;
      server.on("close", () => serverCloses++);
      server.on("data", () => {
        // Answer with more than the kernel takes at once, so it is still queued at the FIN.
        server.write(pattern(0, reply));
      });
      let received = 0;
      let clientClosed = false;
      client.on("data", (chunk) => (received += chunk.length));
      client.on("close", () => (clientClosed = true));
      client.write(new Uint8Array([1, 2, 3]));
      client.end();
      await until(() => clientClosed && serverCloses === 1, 10_000, "both sides closed");
      assert.equal(received, reply);
      await listener.close();
    });
  });
}

describe("socketApi option", () => {
  const badOption = (e: unknown) => e instanceof TransportError && e.code === "BAD_OPTION";

  it("node is node:net on every runtime; an unknown value is TransportError BAD_OPTION", () => {
    assert.equal(socketApiFor("node").name, "node");
    assert.throws(() => socketApiFor("fast" as never), badOption);
  });

  it("native is Bun's or Deno's own API there, and TransportError BAD_OPTION on Node (which has none)", () => {
    if (NATIVE_SOCKETS === undefined) assert.throws(() => socketApiFor("native"), badOption);
    else assert.equal(socketApiFor("native"), NATIVE_SOCKETS);
  });
});
