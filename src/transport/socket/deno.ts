// Deno's own TCP sockets (`Deno.listen`/`Deno.connect`) behind the transport's socket interface.
import { NativeSocket } from "./native.ts";
import type { SocketApi, StreamListener } from "./types.ts";

/** The part of Deno's TCP connection used here (so `tsc` needs no Deno types). */
interface DenoConn {
  readonly remoteAddr: { hostname?: string; port?: number };
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
}

interface DenoListener extends AsyncIterable<DenoConn> {
  readonly addr: { port?: number };
  close(): void;
}

interface DenoGlobal {
  listen(o: { hostname: string; port: number; transport: "tcp" }): DenoListener;
  connect(o: { hostname: string; port: number; transport: "tcp" }): Promise<DenoConn>;
}

/**
 * Bytes read per `read`, into one buffer per connection. Each read is consumed (frames copied
 * out) before the next, so the buffer is reused; an idle connection costs this much.
 */
const READ_SIZE = 16 * 1024;

/**
 * A Deno TCP connection as a {@link StreamSocket}: a read loop into a reusable buffer (the
 * chunks are transient) or, for large frames, straight into the frame's buffer, and a write
 * loop that writes the queue until it is empty.
 */
class DenoStream extends NativeSocket {
  #conn: DenoConn | undefined;
  #writing = false;
  #paused = false;
  #wake: (() => void) | undefined;
  #target: (() => Uint8Array | undefined) | undefined;
  #filled: ((n: number) => boolean) | undefined;

  readDirect(target: () => Uint8Array | undefined, filled: (n: number) => boolean): void {
    this.#target = target;
    this.#filled = filled;
  }

  attach(conn: DenoConn): void {
    this.#conn = conn;
    this.remoteAddress = conn.remoteAddr.hostname;
    this.remotePort = conn.remoteAddr.port;
    if (this.destroyed) {
      conn.close();
      return;
    }
    void this.#readLoop(conn);
    this.connected();
    if (this.out.bytes > 0) this.flushOut();
  }

  /**
   * `Deno.connect` failed: `error`, then `close`, as node:net reports a refused connection.
   */
  failedToConnect(err: Error): void {
    this.failed(withDnsCode(err));
  }

  async #readLoop(conn: DenoConn): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        if (this.#paused) await new Promise<void>((resolve) => (this.#wake = resolve));
        if (this.destroyed) return;
        // A large frame's body goes straight into its buffer (no copy out of `buf`).
        const target = this.#target?.();
        const n = await conn.read(target ?? buf);
        if (this.destroyed) return;
        if (n === null) {
          this.peerEnded();
          return;
        }
        if (target === undefined) this.received(buf.subarray(0, n), true);
        else if (!(this.#filled as (n: number) => boolean)(n)) this.#paused = true;
      }
    } catch (err) {
      this.failed(err as Error);
    }
  }

  protected flushOut(): void {
    if (this.#conn === undefined || this.#writing || this.destroyed || this.out.bytes === 0) return;
    this.#writing = true;
    this.blocked = true;
    void this.#writeLoop(this.#conn);
  }

  async #writeLoop(conn: DenoConn): Promise<void> {
    const out = this.out;
    try {
      while (out.bytes > 0 && !this.destroyed) out.consumed(await conn.write(out.peek()));
    } catch (err) {
      this.#writing = false;
      this.failed(err as Error);
      return;
    }
    this.#writing = false;
    if (!this.destroyed) this.outEmptied();
  }

  protected shutdownWrite(): void {
    this.#conn?.closeWrite().catch(() => {});
  }

  protected closeHandle(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    try {
      this.#conn?.close();
    } catch {
      // already closed by the runtime
    }
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    return this;
  }

  setNoDelay(noDelay = true): this {
    this.#conn?.setNoDelay(noDelay);
    return this;
  }
}

const deno = (): DenoGlobal => (globalThis as unknown as { Deno: DenoGlobal }).Deno;

/**
 * `Deno.listen` / `Deno.connect` behind the transport's socket interface (Deno only).
 *
 * @example
 * ```ts
 * const router = zmtp.router({ socketApi: "native" }); // on Deno, uses denoSockets
 * ```
 */
/**
 * Deno reports a host name that does not resolve as a plain Error without a code: give it
 * node:net's `ENOTFOUND`, so callers can tell it from a refusal or a port in use.
 */
function withDnsCode(err: Error): Error {
  if ((err as { code?: unknown }).code !== undefined || !/failed to lookup address/i.test(err.message)) return err;
  return Object.assign(new Error(`getaddrinfo ENOTFOUND: ${err.message}`, { cause: err }), { code: "ENOTFOUND" });
}

export const denoSockets: SocketApi = {
  name: "deno",
  listen(host, port, onAccept, onError): Promise<StreamListener> {
    let listener: DenoListener;
    try {
      listener = deno().listen({ hostname: host, port, transport: "tcp" });
    } catch (err) {
      return Promise.reject(withDnsCode(err as Error));
    }
    let closed = false;
    const accepting = (async () => {
      try {
        for await (const conn of listener) {
          const stream = new DenoStream();
          stream.attach(conn);
          onAccept(stream, undefined);
        }
      } catch (err) {
        if (!closed) onError(err as Error);
      }
    })();
    return Promise.resolve({
      port: listener.addr.port ?? port,
      // Deno frees the port only once the pending accept has been cancelled, so close()
      // waits for that: the port can then be bound again at once (a broker restart).
      close: () => {
        closed = true;
        try {
          listener.close();
        } catch {
          // already closed
        }
        return accepting;
      },
    });
  },
  connect(host, port) {
    const stream = new DenoStream();
    deno().connect({ hostname: host, port, transport: "tcp" }).then(
      (conn) => stream.attach(conn),
      (err: Error) => stream.failedToConnect(err),
    );
    return { socket: stream, reads: undefined };
  },
};
