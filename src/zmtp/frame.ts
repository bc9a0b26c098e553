/** Frame flag: another frame of the same message follows. */
export const FLAG_MORE = 0x01;
/** Frame flag: the size field is 8 bytes. */
export const FLAG_LONG = 0x02;
/** Frame flag: the frame is a command. */
export const FLAG_COMMAND = 0x04;

/** Bodies at least this large are queued by reference instead of copied into the batch. */
const COPY_LIMIT = 16 * 1024;
const BLOCK_SIZE = 64 * 1024;

/**
 * Accumulates encoded frames for one connection and hands them out in as few chunks as
 * possible, so that a burst of small messages becomes a single socket write.
 *
 * Small bodies are copied into a shared block; large ones are referenced (the caller must not
 * mutate a frame after sending it). Handed-out chunks are never written to again.
 *
 * @example
 * ```ts
 * const w = new FrameWriter();
 * w.frame(FLAG_MORE, header);
 * w.frame(0, body);
 * socket.write(w.take()[0]);
 * ```
 */
export class FrameWriter {
  #block = new Uint8Array(BLOCK_SIZE);
  #start = 0;
  #pos = 0;
  #chunks: Uint8Array[] = [];
  #bytes = 0;

  /** Bytes encoded and not yet taken. */
  get pending(): number {
    return this.#bytes;
  }

  /** Append one frame. */
  frame(flags: number, body: Uint8Array): void {
    const size = body.length;
    const long = size > 255;
    const headerSize = long ? 9 : 2;
    const copy = size < COPY_LIMIT;
    this.#reserve(copy ? headerSize + size : headerSize);
    const block = this.#block;
    let p = this.#pos;
    if (long) {
      block[p] = flags | FLAG_LONG;
      const hi = Math.floor(size / 0x100000000);
      const lo = size >>> 0;
      block[p + 1] = hi >>> 24;
      block[p + 2] = (hi >>> 16) & 255;
      block[p + 3] = (hi >>> 8) & 255;
      block[p + 4] = hi & 255;
      block[p + 5] = lo >>> 24;
      block[p + 6] = (lo >>> 16) & 255;
      block[p + 7] = (lo >>> 8) & 255;
      block[p + 8] = lo & 255;
      p += 9;
    } else {
      block[p] = flags;
      block[p + 1] = size;
      p += 2;
    }
    if (copy) {
      if (size <= 16) {
        for (let i = 0; i < size; i++) block[p + i] = body[i] as number;
      } else {
        block.set(body, p);
      }
      this.#pos = p + size;
    } else {
      this.#pos = p;
      this.#seal();
      this.#chunks.push(body);
    }
    this.#bytes += headerSize + size;
  }

  /** Append raw bytes (the greeting). */
  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#block.set(bytes, this.#pos);
    this.#pos += bytes.length;
    this.#bytes += bytes.length;
  }

  /** Take everything encoded so far, in order. */
  take(): Uint8Array[] {
    this.#seal();
    const out = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    return out;
  }

  #seal(): void {
    if (this.#pos > this.#start) {
      this.#chunks.push(this.#block.subarray(this.#start, this.#pos));
      this.#start = this.#pos;
    }
  }

  #reserve(n: number): void {
    if (this.#block.length - this.#pos >= n) return;
    this.#seal();
    this.#block = new Uint8Array(Math.max(BLOCK_SIZE, n));
    this.#start = 0;
    this.#pos = 0;
  }
}
