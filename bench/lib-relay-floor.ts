/**
 * The floor under the broker's service round trip: the same four hops (caller → relay →
 * worker → relay → caller) over plain `node:net` sockets with a 4-byte length prefix, no
 * ZMTP, no MLM, no routing. Whatever the broker costs on top of this is ours; below this,
 * the runtime's sockets and the kernel set the pace.
 *
 * Each connection first says what it is (one byte, `c` caller or `w` worker) and waits for an
 * empty acknowledgement, so the relay knows its workers before the first request. The relay
 * serves one caller at a time: requests go round-robin to the workers, replies to the caller.
 * A request carries a 4-byte id before the body; the relay forwards it without looking.
 *
 * It does what any careful node:net program would, so that it is a floor and not a straw man:
 * writes are batched per callback, messages live in reused buffers, and on Node sockets read
 * into one shared buffer (as the broker's transport does).
 */
import { Buffer } from "node:buffer";
import { connect, createServer, type OnReadOpts, type Server, type Socket } from "node:net";
import { adoptAccepted, type ReadInto, USER_READ_BUFFERS } from "../src/transport/socket/node-reads.ts";
import { type RoundTrips, timeRoundTrips } from "./lib.ts";
import type { ServiceEnds } from "./lib-service.ts";

/**
 * Message buffers by exact size, reused once their write has completed: a relay that allocated
 * one per 64 KiB message would spend its time in full GCs (the engine counts them as external
 * memory), which the broker does not, and would be no floor.
 */
const pool = new Map<number, Buffer[]>();
const POOL_PER_SIZE = 1024;

function take(size: number): Buffer {
  return pool.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
}

function release(buffer: Buffer): void {
  let idle = pool.get(buffer.length);
  if (idle === undefined) pool.set(buffer.length, idle = []);
  if (idle.length < POOL_PER_SIZE) idle.push(buffer);
}

/** One read buffer for every socket that reads into ours: each read is consumed at once. */
const SCRATCH = Buffer.allocUnsafe(64 * 1024);

interface Reader {
  /** The message handler: owns each message (a pooled buffer) it is given. */
  on: (message: Buffer) => void;
}

/** Feeds chunks to `reader.on` as length-prefixed messages, each copied into a pooled buffer. */
function unframe(reader: Reader): (chunk: Buffer) => void {
  const header = Buffer.alloc(4);
  let headerHave = 0;
  let body: Buffer | undefined;
  let bodyHave = 0;
  return (chunk) => {
    let off = 0;
    while (off < chunk.length || (body !== undefined && bodyHave === body.length)) {
      if (body === undefined) {
        const n = Math.min(4 - headerHave, chunk.length - off);
        chunk.copy(header, headerHave, off, off + n);
        headerHave += n;
        off += n;
        if (headerHave === 4) {
          body = take(header.readUInt32BE(0));
          bodyHave = 0;
          headerHave = 0;
        }
        continue;
      }
      const n = Math.min(body.length - bodyHave, chunk.length - off);
      chunk.copy(body, bodyHave, off, off + n);
      bodyHave += n;
      off += n;
      if (bodyHave === body.length) {
        const done = body;
        body = undefined;
        reader.on(done);
      }
    }
  };
}

/** `onread` hooks reading into SCRATCH, for Node. */
function readHooks(feed: (chunk: Buffer) => void): OnReadOpts {
  return {
    buffer: SCRATCH,
    callback: (n, buf) => {
      feed((buf as Buffer).subarray(0, n));
      return true;
    },
  };
}

/**
 * Sockets written since the last flush. Writes are corked until the current callback (e.g. one
 * read carrying many pipelined messages) is done, as the broker batches its writes: a syscall
 * per message would make this floor slower than the broker under pipelining.
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

/** Writes `message` with its length prefix, then returns it to the pool once written. */
function frame(socket: Socket, message: Buffer): void {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(message.length);
  cork(socket);
  socket.write(header);
  if (message.length === 0) return;
  socket.write(message, () => release(message));
}

/** The relay (see the file comment). */
export function startRelay(): Promise<{ port: number; server: Server }> {
  let caller: Socket | undefined;
  const workers: Socket[] = [];
  let next = 0;
  const server = createServer({ pauseOnConnect: USER_READ_BUFFERS }, (accepted) => {
    const reader: Reader = { on: () => {} };
    const feed = unframe(reader);
    const { socket, direct } = adoptAccepted(accepted, readHooks(feed) as ReadInto);
    if (!direct) socket.on("data", feed);
    socket.setNoDelay(true);
    reader.on = (hello) => {
      if (hello[0] === 0x63) {
        caller = socket;
        reader.on = (m) => {
          const worker = workers[next++ % workers.length];
          if (worker !== undefined) frame(worker, m);
          else release(m);
        };
      } else {
        workers.push(socket);
        reader.on = (m) => {
          if (caller !== undefined) frame(caller, m);
          else release(m);
        };
      }
      frame(socket, take(0));
    };
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

/** A connection to the relay that has said what it is; `reader.on` then gets its messages. */
async function open(port: number, role: "c" | "w", reader: Reader): Promise<Socket> {
  const acked = new Promise<void>((resolve) => {
    const later = reader.on;
    reader.on = (m) => {
      release(m);
      reader.on = later;
      resolve();
    };
  });
  const feed = unframe(reader);
  const socket = connect({ port, host: "127.0.0.1", ...(USER_READ_BUFFERS ? { onread: readHooks(feed) } : {}) });
  if (!USER_READ_BUFFERS) socket.on("data", feed);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  frame(socket, Buffer.from(role));
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
    const reader: Reader = { on: (m) => frame(worker, m) };
    const worker: Socket = await open(port, "w", reader);
    sockets.push(worker);
  }
  let onReply: (id: number) => void = () => {};
  const caller = await open(port, "c", {
    on: (m) => {
      const id = m.readUInt32BE(0);
      release(m);
      onReply(id);
    },
  });
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
