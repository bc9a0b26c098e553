// The half of a runtime-native socket that does not depend on the runtime: listeners, write
// queue and node:net's close rules; bun.ts and deno.ts move the bytes.
import { OutQueue } from "./out-queue.ts";
import type { StreamSocket } from "./types.ts";

type Listener = (...args: never[]) => void;

/**
 * The runtime-independent half of a {@link StreamSocket} over a runtime's own socket API: the
 * listeners, the write queue with corking, and node:net's close rules (a peer's FIN ends our
 * side once our queue is out, as with `allowHalfOpen: false`; `close` is emitted exactly once,
 * after `error` when there is one). Subclasses move the bytes.
 */
export abstract class NativeSocket implements StreamSocket {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  destroyed = false;
  protected readonly out = new OutQueue();
  /** The queue is waiting for the kernel (a write was short): `drain` follows once it empties. */
  protected blocked = false;
  #corked = 0;
  #ending = false;
  #endCallback: (() => void) | undefined;
  #sentEnd = false;
  #peerEnded = false;
  #closed = false;
  readonly #listeners: Record<string, Listener[]> = { data: [], error: [], close: [], drain: [], connect: [] };

  get writableLength(): number {
    return this.out.bytes;
  }

  get writable(): boolean {
    return !this.destroyed && !this.#ending;
  }

  on(event: string, listener: Listener): this {
    this.#listeners[event]?.push(listener);
    return this;
  }

  once(event: string, listener: () => void): this {
    const wrapped = (): void => {
      const list = this.#listeners[event] as Listener[];
      list.splice(list.indexOf(wrapped), 1);
      listener();
    };
    return this.on(event, wrapped);
  }

  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (!this.writable) {
      if (cb) queueMicrotask(() => cb(new Error("write after end")));
      return false;
    }
    this.out.push(chunk);
    if (cb) this.out.whenWritten(cb);
    if (this.#corked === 0) this.flushOut();
    return this.out.bytes < 16 * 1024;
  }

  cork(): void {
    this.#corked++;
  }

  uncork(): void {
    if (this.#corked > 0 && --this.#corked === 0) this.flushOut();
  }

  end(cb?: () => void): this {
    if (this.destroyed || this.#ending) return this;
    this.#ending = true;
    this.#endCallback = cb;
    this.#corked = 0;
    if (this.out.bytes === 0) this.#shutdown();
    else this.flushOut();
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.out.fail(new Error("socket destroyed"));
    this.closeHandle();
    this.emitClose();
    return this;
  }

  /** Writes the queue out as far as the kernel takes it; calls `outEmptied` when it is empty. */
  protected abstract flushOut(): void;
  /** Half-close: send FIN. */
  protected abstract shutdownWrite(): void;
  /** Release the OS socket now. */
  protected abstract closeHandle(): void;
  abstract pause(): unknown;
  abstract resume(): unknown;
  abstract setNoDelay(noDelay?: boolean): unknown;

  protected outEmptied(): void {
    if (this.#ending && !this.#sentEnd) this.#shutdown();
    if (this.blocked) {
      this.blocked = false;
      this.emit("drain");
    }
  }

  protected received(chunk: Uint8Array, transient: boolean): void {
    for (const l of this.#listeners.data as ((c: Uint8Array, t: boolean) => void)[]) l(chunk, transient);
  }

  /** The peer sent FIN: end our side too (node:net's default), and close once both are done. */
  protected peerEnded(): void {
    this.#peerEnded = true;
    if (this.#sentEnd) this.destroy();
    else this.end();
  }

  protected connected(): void {
    this.emit("connect");
  }

  /** The socket failed: `error`, then `close`. */
  protected failed(err: Error): void {
    if (this.destroyed) return;
    this.emit("error", err);
    this.destroy();
  }

  /** The OS socket closed under us. */
  protected handleClosed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.out.fail(new Error("socket closed"));
    this.emitClose();
  }

  protected emitClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit("close");
  }

  #shutdown(): void {
    this.#sentEnd = true;
    this.shutdownWrite();
    const cb = this.#endCallback;
    this.#endCallback = undefined;
    if (cb) queueMicrotask(cb);
    if (this.#peerEnded) this.destroy();
  }

  protected emit(event: string, ...args: unknown[]): void {
    const list = this.#listeners[event];
    if (list === undefined || list.length === 0) return;
    for (const l of list.slice()) (l as (...a: unknown[]) => void)(...args);
  }
}
