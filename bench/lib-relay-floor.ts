/**
 * The floor under the broker's service round trip: the same four hops (caller → relay →
 * worker → relay → caller) over plain `node:net` sockets with a 4-byte length prefix, no
 * ZMTP, no MLM, no routing. Whatever the broker costs on top of this is ours; below this,
 * the runtime's sockets and the kernel set the pace.
 *
 * Each connection first says what it is (one byte, `c` caller or `w` worker) and waits for an
 * empty acknowledgement, so the relay knows its workers before the first request. The relay
 * serves one caller at a time: requests go round-robin to the workers, replies to the caller.
 * A request carries a 4-byte id before the body; the relay forwards it without looking, as
 * views of the chunks it read (no copy).
 */
import { Buffer } from "node:buffer";
import { connect, createServer, type Server, type Socket } from "node:net";
import { type RoundTrips, timeRoundTrips } from "./lib.ts";
import type { ServiceEnds } from "./lib-service.ts";

/** A message as views into the received chunks: forwarded without being copied. */
type Parts = Buffer[];

/** Calls the current `handler.on` with each length-prefixed message, as views (no copy). */
function unframe(socket: Socket, handler: { on: (parts: Parts) => void }): void {
  const header = Buffer.alloc(4);
  let headerHave = 0;
  let parts: Parts | undefined;
  let need = 0;
  socket.on("data", (chunk: Buffer) => {
    let off = 0;
    while (off < chunk.length || (parts !== undefined && need === 0)) {
      if (parts === undefined) {
        const take = Math.min(4 - headerHave, chunk.length - off);
        chunk.copy(header, headerHave, off, off + take);
        headerHave += take;
        off += take;
        if (headerHave === 4) {
          need = header.readUInt32BE(0);
          parts = [];
          headerHave = 0;
        }
        continue;
      }
      if (need > 0) {
        const take = Math.min(need, chunk.length - off);
        parts.push(chunk.subarray(off, off + take));
        need -= take;
        off += take;
      }
      if (need === 0) {
        const done = parts;
        parts = undefined;
        handler.on(done);
      }
    }
  });
}

/** The request id in a message's first 4 bytes. */
function readId(parts: Parts): number {
  const first = parts[0];
  return first !== undefined && first.length >= 4 ? first.readUInt32BE(0) : Buffer.concat(parts).readUInt32BE(0);
}

/**
 * Sockets written since the last flush. Writes are corked until the current callback (e.g. one
 * `data` chunk carrying many pipelined messages) is done, as the broker batches its writes: a
 * syscall per message would make this floor slower than the broker under pipelining.
 */
const corked = new Set<Socket>();

function flush(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

function cork(socket: Socket): void {
  if (corked.has(socket)) return;
  if (corked.size === 0) queueMicrotask(flush);
  socket.cork();
  corked.add(socket);
}

function frame(socket: Socket, parts: readonly Uint8Array[]): void {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const header = Buffer.alloc(4);
  header.writeUInt32BE(length);
  cork(socket);
  socket.write(header);
  for (const p of parts) socket.write(p);
}

/** The relay (see the file comment). */
export function startRelay(): Promise<{ port: number; server: Server }> {
  let caller: Socket | undefined;
  const workers: Socket[] = [];
  let next = 0;
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const handler = {
      on: (hello: Parts): void => {
        if (hello[0]?.[0] === 0x63) {
          caller = socket;
          handler.on = (m) => {
            const worker = workers[next++ % workers.length];
            if (worker !== undefined) frame(worker, m);
          };
        } else {
          workers.push(socket);
          handler.on = (m) => {
            if (caller !== undefined) frame(caller, m);
          };
        }
        frame(socket, []);
      },
    };
    unframe(socket, handler);
    socket.on("error", () => {});
    socket.on("close", () => {
      if (caller === socket) caller = undefined;
      const i = workers.indexOf(socket);
      if (i >= 0) workers.splice(i, 1);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve({ port: typeof address === "object" && address ? address.port : 0, server });
    });
  });
}

/** A connection to the relay that has said what it is; `handler.on` then gets its messages. */
async function open(port: number, role: "c" | "w", handler: { on: (m: Parts) => void }): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const acked = new Promise<void>((resolve) => {
    const later = handler.on;
    handler.on = () => {
      handler.on = later;
      resolve();
    };
  });
  unframe(socket, handler);
  frame(socket, [Buffer.from(role)]);
  await acked;
  return socket;
}

/**
 * One caller and `workers` echoing workers on the relay, for {@link closedLoop}. Workers answer
 * at once with the request as received, as the broker bench's raw workers do.
 *
 * @example
 * ```ts
 * const ends = await relayServiceEnds(relay.port, 4);
 * const run = await closedLoop(ends, 10, 64, 500, 2000, sample);
 * ```
 */
export async function relayServiceEnds(port: number, workers: number): Promise<ServiceEnds> {
  const sockets: Socket[] = [];
  for (let i = 0; i < workers; i++) {
    const handler = { on: (m: Parts) => frame(worker, m) };
    const worker: Socket = await open(port, "w", handler);
    sockets.push(worker);
  }
  let onReply: (id: number) => void = () => {};
  const caller = await open(port, "c", { on: (m) => onReply(readId(m)) });
  return {
    send(id, body) {
      const header = Buffer.allocUnsafe(8);
      header.writeUInt32BE(4 + body.byteLength, 0);
      header.writeUInt32BE(id >>> 0, 4);
      cork(caller);
      caller.write(header);
      caller.write(body);
    },
    onReply(handler) {
      onReply = handler;
    },
    close() {
      for (const s of [caller, ...sockets]) s.destroy();
      return Promise.resolve();
    },
  };
}

/** Sequential round trips of `size` bytes each way through the relay, for about `ms`. */
export async function relayRoundTrips(port: number, size: number, ms: number): Promise<RoundTrips> {
  const ends = await relayServiceEnds(port, 1);
  let next: (() => void) | undefined;
  ends.onReply(() => {
    const resolve = next;
    next = undefined;
    resolve?.();
  });
  const body = new Uint8Array(size);
  const oneCall = (i: number): Promise<void> => new Promise((resolve) => {
    next = resolve;
    ends.send(i, body);
  });
  const result = await timeRoundTrips(oneCall, 500, ms);
  await ends.close();
  return result;
}
