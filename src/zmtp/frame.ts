/** Frame flag: another frame of the same message follows. */
export const FLAG_MORE = 0x01;
/** Frame flag: the size field is 8 bytes. */
export const FLAG_LONG = 0x02;
/** Frame flag: the frame is a command. */
export const FLAG_COMMAND = 0x04;

/** Bodies at least this large are queued by reference instead of copied into the batch. */
const COPY_LIMIT = 16 * 1024;
/**
 * Copy blocks are sized between these. Only a block of at most MIN_BLOCK is kept across
 * batches, so an idle connection holds at most 4 KiB of output buffer (1,000 idle clients
 * would otherwise pin 64 MB of touched 64 KiB blocks).
 */
const MIN_BLOCK = 4 * 1024;
const MAX_BLOCK = 64 * 1024;
const EMPTY = new Uint8Array(0);

/** The smallest power-of-two block size in [MIN_BLOCK, MAX_BLOCK] that holds `bytes`. */
function blockFor(bytes: number): number {
  let size = MIN_BLOCK;
  while (size < bytes && size < MAX_BLOCK) size *= 2;
  return size;
}

/**
 * Accumulates encoded frames for one connection and hands them out in as few chunks as
 * possible, so that a burst of small messages becomes a single socket write.
 *
 * Small bodies are copied into a shared block; large ones are referenced (the caller must not
 * mutate a frame after sending it). Handed-out chunks are never written to again.
 *
 * Blocks adapt to the traffic: the next block is sized for the last batch (4 KiB to 64 KiB),
 * doubling when a batch overflows its block and halving per batch when batches shrink. A
 * block larger than 4 KiB, or without room for another batch like the last one, is dropped
 * once taken (the socket's write keeps it alive until the bytes are out), so a quiet
 * connection holds at most a 4 KiB block.
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
  /**
   * Allocates output blocks (contents are always written before they are handed out). An I/O
   * layer may supply its runtime's buffer type, so that handed-out chunks need no wrapping.
   */
  allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size);
  #block: Uint8Array = EMPTY;
  #start = 0;
  #pos = 0;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  /** Size of the next block to allocate. */
  #size = MIN_BLOCK;
  /** Bytes copied into blocks since the last `take` (referenced bodies excluded). */
  #copied = 0;

  /** Bytes encoded and not yet taken. */
  get pending(): number {
    return this.#bytes;
  }

  /**
   * Size in bytes of the output block held now (0 when none): what this writer keeps in
   * memory between batches. At most 4 KiB after a `take`.
   *
   * @example
   * ```ts
   * const w = new FrameWriter();
   * w.frame(0, new Uint8Array(10));
   * w.take();
   * console.log(w.capacity <= 4096); // true
   * ```
   */
  get capacity(): number {
    return this.#block.length;
  }

  /** Append one frame. */
  frame(flags: number, body: Uint8Array): void {
    const size = body.length;
    const copy = size < COPY_LIMIT;
    const headerSize = this.#header(flags, size, copy);
    const block = this.#block;
    const p = this.#pos;
    if (copy) {
      if (size <= 16) {
        for (let i = 0; i < size; i++) block[p + i] = body[i] as number;
      } else {
        block.set(body, p);
      }
      this.#pos = p + size;
      this.#copied += headerSize + size;
    } else {
      this.#pos = p;
      this.#copied += headerSize;
      this.#seal();
      this.#chunks.push(body);
    }
    this.#bytes += headerSize + size;
  }

  /**
   * Append the header of a frame of `size` bytes and return where its body goes, to be
   * filled completely by the caller before the next call (so a codec can write the body in
   * place instead of building it first and having it copied).
   */
  frameInto(flags: number, size: number): Uint8Array {
    const copy = size < COPY_LIMIT;
    const headerSize = this.#header(flags, size, copy);
    const block = this.#block;
    const p = this.#pos;
    this.#bytes += headerSize + size;
    if (copy) {
      this.#pos = p + size;
      this.#copied += headerSize + size;
      return block.subarray(p, p + size);
    }
    this.#pos = p;
    this.#copied += headerSize;
    this.#seal();
    const body = this.allocate(size);
    this.#chunks.push(body);
    return body;
  }

  /**
   * Write a frame header at the current position (after reserving room for the body too
   * when it is to be copied) and move past it; returns the header's size.
   */
  #header(flags: number, size: number, copy: boolean): number {
    const long = size > 255;
    const headerSize = long ? 9 : 2;
    this.#reserve(copy ? headerSize + size : headerSize);
    const block = this.#block;
    const p = this.#pos;
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
    } else {
      block[p] = flags;
      block[p + 1] = size;
    }
    this.#pos = p + headerSize;
    return headerSize;
  }

  /** Append raw bytes (the greeting). */
  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#block.set(bytes, this.#pos);
    this.#pos += bytes.length;
    this.#copied += bytes.length;
    this.#bytes += bytes.length;
  }

  /** Take everything encoded so far, in order. */
  take(): Uint8Array[] {
    this.#seal();
    const out = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    const batch = this.#copied;
    this.#copied = 0;
    // Jump up at once for a big batch, come down by halves so that alternating batch sizes
    // do not make every big batch overflow into several blocks.
    this.#size = Math.max(blockFor(batch), this.#size / 2);
    // Keep only a small block with room for a batch like this one: a big block would be held
    // by an idle connection, and a nearly full one would split the next batch in two chunks.
    if (this.#block.length > MIN_BLOCK || this.#block.length - this.#pos < batch) {
      this.#block = EMPTY;
      this.#start = 0;
      this.#pos = 0;
    }
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
    // Grow only when this batch filled most of the block itself: overflowing the rest of a
    // block kept from earlier batches says nothing about the batch size.
    if (this.#copied > this.#block.length / 2) this.#size = Math.min(MAX_BLOCK, this.#size * 2);
    this.#block = this.allocate(Math.max(this.#size, n));
    this.#start = 0;
    this.#pos = 0;
  }
}
