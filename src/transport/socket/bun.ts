// Bun's own TCP sockets (`Bun.listen`/`Bun.connect`) behind the transport's socket interface.
import { NativeSocket } from "./native.ts";
import type { SocketApi, StreamListener } from "./types.ts";

/** The part of Bun's TCP socket used here (Bun's types are not a dependency). */
interface BunSocket {
  data: BunStream;
  readonly remoteAddress: string;
  readonly remotePort?: number;
  /** Bytes the kernel took at once (the rest is ours to keep until `drain`); -1 when closed. */
  write(data: Uint8Array): number;
  /** Half-close (FIN); reading goes on. */
  shutdown(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay: boolean): boolean;
  flush(): void;
}

interface BunHandlers {
  open?(s: BunSocket): void;
  data(s: BunSocket, chunk: Uint8Array): void;
  drain(s: BunSocket): void;
  end(s: BunSocket): void;
  close(s: BunSocket, err?: Error): void;
  error(s: BunSocket, err: Error): void;
  connectError?(s: BunSocket, err: Error): void;
}

interface BunGlobal {
  listen(o: { hostname: string; port: number; allowHalfOpen: boolean; socket: BunHandlers }): { port: number; stop(closeActive?: boolean): void };
  connect(o: { hostname: string; port: number; allowHalfOpen: boolean; socket: BunHandlers; data?: BunStream }): Promise<BunSocket>;
}

/**
 * A Bun socket as a {@link StreamSocket}. Bun hands each read to `data` as a fresh Buffer (not
 * reused), so frames may stay views of it; `write` takes what the kernel takes now and the
 * rest stays queued here until Bun's `drain`. Sockets are half-open so that a peer's FIN does
 * not cut what is still queued.
 */
class BunStream extends NativeSocket {
  #s: BunSocket | undefined;

  attach(s: BunSocket): void {
    this.#s = s;
    s.data = this;
    this.remoteAddress = s.remoteAddress;
    this.remotePort = s.remotePort;
    if (this.destroyed) {
      s.terminate();
      return;
    }
    this.connected();
    if (this.out.bytes > 0) this.flushOut();
  }

  protected flushOut(): void {
    const s = this.#s;
    if (s === undefined || this.destroyed) return;
    const out = this.out;
    while (out.bytes > 0) {
      const buf = out.peek();
      const n = s.write(buf);
      if (n < 0) return; // closed: Bun's close handler follows
      out.consumed(n);
      if (n < buf.length) {
        this.blocked = true;
        s.flush();
        return;
      }
    }
    s.flush();
    this.outEmptied();
  }

  /** `Bun.connect` failed: `error`, then `close`, as node:net reports a refused connection. */
  failedToConnect(err: Error): void {
    this.failed(err);
  }

  protected shutdownWrite(): void {
    this.#s?.shutdown();
  }

  protected closeHandle(): void {
    this.#s?.terminate();
  }

  pause(): this {
    this.#s?.pause();
    return this;
  }

  resume(): this {
    this.#s?.resume();
    return this;
  }

  setNoDelay(noDelay = true): this {
    this.#s?.setNoDelay(noDelay);
    return this;
  }

  /** Bun's handlers, shared by every socket (each finds its stream in `s.data`). */
  static readonly handlers: BunHandlers = {
    data: (s, chunk) => s.data.received(chunk, false),
    drain: (s) => s.data.flushOut(),
    end: (s) => s.data.peerEnded(),
    close: (s) => s.data?.handleClosed(),
    error: (s, err) => s.data?.failed(err),
    connectError: (s, err) => s.data?.failed(err),
  };
}

const bun = (): BunGlobal => (globalThis as unknown as { Bun: BunGlobal }).Bun;

/**
 * `Bun.listen` / `Bun.connect` behind the transport's socket interface (Bun only).
 *
 * @example
 * ```ts
 * const router = zmtp.router({ socketApi: "native" }); // on Bun, uses bunSockets
 * ```
 */
export const bunSockets: SocketApi = {
  name: "bun",
  listen(host, port, onAccept): Promise<StreamListener> {
    try {
      const server = bun().listen({
        hostname: host,
        port,
        // Half-closes are handled here (NativeSocket ends our side once our queue is out);
        // without it, Bun closes the socket at the peer's FIN and unsent bytes are lost.
        allowHalfOpen: true,
        socket: {
          ...BunStream.handlers,
          open: (s) => {
            const stream = new BunStream();
            stream.attach(s);
            onAccept(stream, undefined);
          },
        },
      });
      return Promise.resolve({
        port: server.port,
        close: () => {
          server.stop(false);
          return Promise.resolve();
        },
      });
    } catch (err) {
      return Promise.reject(err);
    }
  },
  connect(host, port) {
    const stream = new BunStream();
    bun().connect({ hostname: host, port, allowHalfOpen: true, data: stream, socket: { ...BunStream.handlers, open: (s) => stream.attach(s) } })
      .catch((err: Error) => stream.failedToConnect(err));
    return { socket: stream, reads: undefined };
  },
};
