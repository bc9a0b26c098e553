/**
 * The floor under the broker's service round trip: the same four hops (caller → relay →
 * worker → relay → caller) over plain `node:net` sockets with a 4-byte length prefix, no
 * ZMTP, no MLM, no routing. Whatever the broker costs on top of this is ours; below this,
 * the runtime's sockets and the kernel set the pace.
 */
import { Buffer } from "node:buffer";
import { connect, createServer, type Server, type Socket } from "node:net";
import { type RoundTrips, timeRoundTrips } from "./lib.ts";

/** Calls `onMessage` with each length-prefixed message; one allocation per message. */
function unframe(socket: Socket, onMessage: (body: Buffer) => void): void {
  const header = Buffer.alloc(4);
  let headerHave = 0;
  let body: Buffer | undefined;
  let bodyHave = 0;
  socket.on("data", (chunk: Buffer) => {
    let off = 0;
    while (off < chunk.length) {
      if (body === undefined) {
        const take = Math.min(4 - headerHave, chunk.length - off);
        chunk.copy(header, headerHave, off, off + take);
        headerHave += take;
        off += take;
        if (headerHave === 4) {
          body = Buffer.allocUnsafe(header.readUInt32BE(0));
          bodyHave = 0;
          headerHave = 0;
        }
        continue;
      }
      const take = Math.min(body.length - bodyHave, chunk.length - off);
      chunk.copy(body, bodyHave, off, off + take);
      bodyHave += take;
      off += take;
      if (bodyHave === body.length) {
        const done = body;
        body = undefined;
        onMessage(done);
      }
    }
  });
}

function frame(socket: Socket, body: Uint8Array): void {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.byteLength);
  socket.cork();
  socket.write(header);
  socket.write(body);
  socket.uncork();
}

/** The relay: connections pair up in arrival order (caller, worker) and forward to each other. */
export function startRelay(): Promise<{ port: number; server: Server }> {
  let waiting: Socket | undefined;
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    if (waiting === undefined) {
      waiting = socket;
      return;
    }
    const [a, b] = [waiting, socket];
    waiting = undefined;
    unframe(a, (m) => frame(b, m));
    unframe(b, (m) => frame(a, m));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve({ port: typeof address === "object" && address ? address.port : 0, server });
    });
  });
}

async function open(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return socket;
}

/** Sequential round trips of `size` bytes each way through the relay, for about `ms`. */
export async function relayRoundTrips(port: number, size: number, ms: number): Promise<RoundTrips> {
  const caller = await open(port);
  // The relay pairs by arrival order: make sure the caller is first.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const worker = await open(port);
  unframe(worker, (m) => frame(worker, m));
  let next: (() => void) | undefined;
  unframe(caller, () => {
    const resolve = next;
    next = undefined;
    resolve?.();
  });
  const body = new Uint8Array(size);
  const oneCall = (): Promise<void> => new Promise((resolve) => {
    next = resolve;
    frame(caller, body);
  });
  const result = await timeRoundTrips(oneCall, 500, ms);
  caller.destroy();
  worker.destroy();
  return result;
}
