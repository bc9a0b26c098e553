// Node's read-into-our-buffers path: node:net sockets that read through `onread` hooks into
// buffers the connection supplies, and the adoption of accepted sockets onto such hooks. The
// hooks talk to whatever consumes the bytes through `ReadSink` (a TcpConnection), so the socket
// layer does not depend on the TCP transport.
import { Buffer } from "node:buffer";
import { type OnReadOpts, Socket } from "node:net";
import process from "node:process";

/** What the read hooks feed: a TcpConnection (tcp/connection.ts). */
export interface ReadSink {
  readonly session: {
    /** A frame buffer to read straight into when at least `min` bytes of it are missing. */
    readTarget(min: number): Uint8Array | undefined;
  };
  /** `chunk` undefined: `n` bytes went into the last read target. False pauses reading. */
  received(chunk: Uint8Array | undefined, n: number): boolean;
}

/**
 * Node can read into buffers we supply (`onread`), which spares one fresh 64 KiB buffer per
 * read and lets large frames be read straight into their final buffer. Bun and Deno accept
 * the option but not reliably the same way, so they keep `data` events.
 */
export const USER_READ_BUFFERS = typeof process.versions?.node === "string" &&
  !("Bun" in globalThis) && !("Deno" in globalThis);

/**
 * One read buffer shared by every connection: each read is consumed synchronously (every frame
 * in it is copied out) before the event loop performs another read.
 */
const SCRATCH = Buffer.allocUnsafe(64 * 1024);
/**
 * The start of SCRATCH, for reads while large frames are arriving: a short first read takes
 * the headers, and the body then goes straight into its buffer instead of being copied out
 * of a 64 KiB read.
 */
const SCRATCH_SHORT = SCRATCH.subarray(0, 4 * 1024);

/** Read straight into a frame's buffer when at least this much of it is missing. */
export const DIRECT_MIN = 4 * 1024;

/**
 * The `onread` option for a socket whose connection is attached later (the socket has to
 * exist before its connection).
 *
 * @example
 * ```ts
 * const hooks = new ReadInto();
 * const socket = netConnect({ host, port, onread: hooks });
 * new TcpConnection(socket, options, owner, hooks); // sets hooks.conn
 * ```
 */
export class ReadInto implements OnReadOpts {
  conn: ReadSink | undefined;
  #target: Uint8Array | undefined;
  /** Large frames are arriving: read short between them (see SCRATCH_SHORT). */
  #short = false;

  readonly buffer = (): Uint8Array => {
    this.#target = this.conn?.session.readTarget(DIRECT_MIN);
    return this.#target ?? (this.#short ? SCRATCH_SHORT : SCRATCH);
  };

  /** Returns false (which pauses the socket) while the connection holds input for a later turn. */
  readonly callback = (n: number, buf: Uint8Array): boolean => {
    const conn = this.conn;
    if (conn === undefined) return true;
    if (this.#target !== undefined && buf === this.#target) {
      this.#target = undefined;
      this.#short = true;
      return conn.received(undefined, n);
    }
    // A short read that filled up without starting a large frame: small messages are
    // streaming, so go back to long reads (many messages per read).
    if (n === SCRATCH_SHORT.length && this.#short) this.#short = false;
    return conn.received(buf, n);
  };
}

/**
 * On Node, moves an accepted socket (created with `pauseOnConnect`) onto a new Socket object
 * that reads through `hooks`; elsewhere resumes it and returns it as is. The server's
 * connection count follows the original object, which is destroyed without its handle.
 *
 * @example
 * ```ts
 * createServer({ pauseOnConnect: USER_READ_BUFFERS }, (accepted) => {
 *   const hooks = new ReadInto();
 *   const { socket, direct } = adoptAccepted(accepted, hooks);
 *   new TcpConnection(socket, options, owner, direct ? hooks : undefined);
 * });
 * ```
 */
export function adoptAccepted(socket: Socket, hooks: ReadInto): { socket: Socket; direct: boolean } {
  const raw = socket as unknown as { _handle: { useUserBuffer?: unknown } | null };
  const handle = raw._handle;
  if (!USER_READ_BUFFERS || handle === null || typeof handle.useUserBuffer !== "function") {
    socket.resume();
    return { socket, direct: false };
  }
  const adopted = new Socket({ handle, onread: hooks, readable: true, writable: true } as ConstructorParameters<typeof Socket>[0]);
  raw._handle = null;
  socket.destroy();
  return { socket: adopted, direct: true };
}
