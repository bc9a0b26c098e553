// The socket interface the TCP transport drives (a subset of node:net's Socket), so that
// node:net and the runtimes' own sockets are interchangeable under a TcpConnection.
import type { ReadInto } from "./node-reads.ts";

/**
 * The byte stream a {@link TcpConnection} drives: the subset of `node:net`'s Socket it uses,
 * so a node:net socket is one as is and the runtimes' own sockets (Bun, Deno) are wrapped to
 * look like it. Events: `data` (chunk, and whether the chunk is reused after the listener
 * returns), `error`, `drain` (the write queue emptied), `connect`, and `close` exactly once.
 */
export interface StreamSocket {
  /** Bytes accepted by `write` that the kernel has not taken yet. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly writable: boolean;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** `cb` runs once this chunk and everything written before it is out (or the socket died). */
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  pause(): unknown;
  resume(): unknown;
  setNoDelay(noDelay?: boolean): unknown;
  /** Send what is queued, then shut down the sending side; `cb` once that is done. */
  end(cb?: () => void): unknown;
  destroy(): unknown;
  /**
   * Optional (Deno): read into `target()` whenever it returns a buffer (the rest of a large
   * frame's body) instead of the socket's own, and report it with `filled(n)` in place of a
   * `data` event; `filled` returning false pauses the socket as after `data`.
   */
  readDirect?(target: () => Uint8Array | undefined, filled: (n: number) => boolean): void;
  on(event: "data", listener: (chunk: Uint8Array, transient?: boolean) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "close" | "drain", listener: () => void): unknown;
  once(event: "close" | "connect", listener: () => void): unknown;
}

/** A bound listening socket. */
export interface StreamListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Which socket API the `zmtp` transport uses: `node` (`node:net`, every runtime), `native`
 * (`Bun.listen`/`Bun.connect` on Bun, `Deno.listen`/`Deno.connect` on Deno; there is none on
 * Node), or `auto` (whichever measured faster on this runtime, see `socketApiFor`).
 */
export type SocketApiChoice = "node" | "native" | "auto";

/** One runtime's sockets, as the ROUTER and DEALER use them. */
export interface SocketApi {
  readonly name: "node" | "bun" | "deno";
  /**
   * Listen on `host:port` (0 = ephemeral). `onAccept` gets each accepted socket, already
   * reading, and the `onread` hooks it reads through when it does (Node). Rejects when the
   * address cannot be bound; later listener errors go to `onError`.
   */
  listen(
    host: string,
    port: number,
    onAccept: (socket: StreamSocket, reads: ReadInto | undefined) => void,
    onError: (err: Error) => void,
  ): Promise<StreamListener>;
  /** Start connecting; the socket emits `connect` once connected, or `error` and `close`. */
  connect(host: string, port: number): { socket: StreamSocket; reads: ReadInto | undefined };
}
