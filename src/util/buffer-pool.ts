/** Options of {@link BufferPool}. */
export interface BufferPoolOptions {
  /** Smallest size served from the pool; smaller requests get a fresh buffer. Default 16 KiB. */
  minSize?: number;
  /** Largest size served from the pool; larger requests get a fresh buffer. Default 1 MiB. */
  maxSize?: number;
  /** Bytes of released buffers kept for reuse; beyond this they are left to the GC. Default 32 MiB. */
  maxIdleBytes?: number;
}

/** Counters of a {@link BufferPool}. */
export interface BufferPoolStats {
  /** Buffers handed out by `take` that came from the pool's sizes. */
  taken: number;
  /** Of those, how many reused a released buffer. */
  reused: number;
  /** Buffers that went back to the pool. */
  returned: number;
  /** Bytes held for reuse now. */
  idleBytes: number;
}

/**
 * Reference-counted reuse of large frame buffers.
 *
 * Why: a broker that forwards 64 KiB bodies allocates hundreds of MB/s of ArrayBuffers that
 * live for microseconds; the engine counts them as external memory and answers with a full GC
 * every few tens of milliseconds. Reusing them keeps that memory flat.
 *
 * A buffer from `take` starts with one reference (its producer's). Every holder that keeps it
 * beyond the current call adds one with `ref` and drops it with `release`; at zero it is
 * reused. Forgetting a `release` is harmless (the GC reclaims the buffer, since the counts
 * are weak); releasing too early is not, so release only what you are sure is no longer read.
 * Frames the pool did not hand out are ignored by `ref` and `release`.
 *
 * @example
 * ```ts
 * const pool = new BufferPool();
 * const body = pool.take(65536); // 1 reference
 * pool.ref(body);                // a writer holds it too: 2
 * pool.release(body);            // the producer is done: 1
 * pool.release(body);            // the write completed: 0, reused by the next take(65536)
 * ```
 */
export class BufferPool {
  readonly minSize: number;
  readonly maxSize: number;
  readonly #maxIdleBytes: number;
  /** Reference counts of handed-out buffers, weak so a forgotten buffer is still collected. */
  readonly #refs = new WeakMap<ArrayBuffer, number>();
  /** Released buffers by size class (index = log2 of the class size). */
  readonly #idle: ArrayBuffer[][] = [];
  readonly #stats: BufferPoolStats = { taken: 0, reused: 0, returned: 0, idleBytes: 0 };

  constructor(options: BufferPoolOptions = {}) {
    this.minSize = Math.max(1, options.minSize ?? 16 * 1024);
    this.maxSize = Math.max(this.minSize, options.maxSize ?? 1024 * 1024);
    this.#maxIdleBytes = Math.max(0, options.maxIdleBytes ?? 32 * 1024 * 1024);
  }

  /** A buffer of exactly `size` bytes (contents undefined), holding one reference. */
  take(size: number): Uint8Array {
    if (size < this.minSize || size > this.maxSize) return new Uint8Array(size);
    const cls = sizeClass(size);
    const idle = this.#idle[cls];
    let buffer = idle?.pop();
    this.#stats.taken++;
    if (buffer !== undefined) {
      this.#stats.reused++;
      this.#stats.idleBytes -= buffer.byteLength;
    } else {
      buffer = new ArrayBuffer(2 ** cls);
    }
    this.#refs.set(buffer, 1);
    return new Uint8Array(buffer, 0, size);
  }

  /**
   * Add a holder of `frame`'s buffer. Returns false (and does nothing) for buffers the pool
   * did not hand out or that are no longer held, which need no release.
   */
  ref(frame: Uint8Array): boolean {
    if (frame.byteLength < this.minSize) return false;
    const buffer = frame.buffer as ArrayBuffer;
    const count = this.#refs.get(buffer);
    if (count === undefined) return false;
    this.#refs.set(buffer, count + 1);
    return true;
  }

  /** Drop a holder of `frame`'s buffer; the last one returns it to the pool. */
  release(frame: Uint8Array): void {
    if (frame.byteLength < this.minSize) return;
    const buffer = frame.buffer as ArrayBuffer;
    const count = this.#refs.get(buffer);
    if (count === undefined) return;
    if (count > 1) {
      this.#refs.set(buffer, count - 1);
      return;
    }
    this.#refs.delete(buffer);
    if (this.#stats.idleBytes + buffer.byteLength > this.#maxIdleBytes) return;
    const cls = sizeClass(buffer.byteLength);
    (this.#idle[cls] ??= []).push(buffer);
    this.#stats.idleBytes += buffer.byteLength;
    this.#stats.returned++;
  }

  /** Drop one holder of each frame. */
  releaseAll(frames: readonly Uint8Array[]): void {
    for (let i = 0; i < frames.length; i++) this.release(frames[i] as Uint8Array);
  }

  /** Whether `frame` is a pooled buffer someone still holds (for tests and assertions). */
  holds(frame: Uint8Array): boolean {
    return this.#refs.has(frame.buffer as ArrayBuffer);
  }

  stats(): BufferPoolStats {
    return { ...this.#stats };
  }
}

/** log2 of the smallest power of two ≥ size. */
function sizeClass(size: number): number {
  return size <= 1 ? 0 : 32 - Math.clz32(size - 1);
}
