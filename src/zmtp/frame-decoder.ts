import { ZmtpError } from "./errors.ts";
import { FLAG_COMMAND, FLAG_LONG, FLAG_MORE } from "./frame.ts";
import { GROWING_FRAME_START, WHOLE_FRAME_ALLOCATION_MAX } from "./limits.ts";
import type { ReceiveBudget } from "./receive-budget.ts";

/** Receives decoded frames; `stopped` is checked between frames so a failure stops decoding. */
export interface FrameSink {
  readonly stopped: boolean;
  frame(flags: number, body: Uint8Array): void;
}

/** Hands out buffers for large frames, one per frame (e.g. `BufferPool` from src/util). */
export interface FrameBufferSource {
  /** Frames of at least this many bytes are allocated here. */
  readonly minSize: number;
  take(size: number): Uint8Array;
}

/** Largest long-frame size accepted before any limit check: 2^53 - 1 (exact in a double). */
const MAX_SAFE_HI = 0x1fffff;

/**
 * Incremental ZMTP frame decoder. Frames that lie inside one input chunk are handed out as
 * zero-copy views of it; only frames split across chunks are assembled into a new buffer,
 * allocated after the size has been checked against the limits: at its final size up to
 * `WHOLE_FRAME_ALLOCATION_MAX` (1 MiB), beyond that growing (from 64 KiB, doubling) with the
 * bytes that actually arrived, so a header declaring a huge size costs nothing until the
 * bytes follow. With a `budget`, every such allocation is taken from it first (and given
 * back when the frame is handed out, or on `release`); a refusal throws `ZMTP_RECEIVE_BUDGET`.
 *
 * A chunk pushed as `transient` (a read buffer the I/O layer reuses) is never referenced
 * after `push` returns: every frame in it is copied out. The I/O layer can also read the
 * rest of a large frame straight into its buffer: `bodyTarget` is the unfilled part, and
 * `filled(n)` records bytes written there.
 *
 * `maxData` (bytes left for the current message), `partsHeld` and `maxCommand` are updated
 * by the owner.
 *
 * @example
 * ```ts
 * const dec = new FrameDecoder();
 * dec.push(chunk, 0, { stopped: false, frame: (flags, body) => console.log(flags, body) });
 * ```
 */
export class FrameDecoder {
  /** Largest data frame accepted next (the message's remaining budget). */
  maxData = Number.MAX_SAFE_INTEGER;
  /** Largest command frame accepted. */
  maxCommand = 64 * 1024;
  /** Most data frames in one message; the header of one more throws `ZMTP_TOO_MANY_PARTS`. */
  maxParts = Number.MAX_SAFE_INTEGER;
  /** Frames of the current message received so far (kept by the owner, which sees message ends). */
  partsHeld = 0;
  /** Shared budget the buffers of frames being assembled are taken from. */
  budget: ReceiveBudget | undefined = undefined;
  /**
   * Allocates the buffer of a frame split across chunks. The I/O layer may supply an
   * allocator that skips zero-filling (the whole buffer is always overwritten).
   */
  allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size);
  /**
   * Optional source of buffers for frames of at least `minSize` bytes. Each such frame gets
   * a buffer of its own (never shared with other frames), so the owner can recycle it per
   * frame.
   */
  frameBuffers: FrameBufferSource | undefined = undefined;
  readonly #hdr = new Uint8Array(9);
  #hdrHave = 0;
  /** The frame being assembled: possibly only the first part of its final size (see #grow). */
  #body: Uint8Array | null = null;
  #bodyHave = 0;
  #bodySize = 0;
  #flags = 0;
  /** Bytes taken from `budget` for #body. */
  #charged = 0;

  /** True when a frame has been started but not finished (useful to detect truncation at EOF). */
  get midFrame(): boolean {
    return this.#hdrHave > 0 || this.#body !== null;
  }

  /**
   * The unfilled tail of the frame being assembled, when at least `min` bytes are missing;
   * bytes written there must then be reported with `filled`. A growing frame's buffer is
   * enlarged here when less than `min` bytes of room are left, which may throw
   * `ZMTP_RECEIVE_BUDGET`.
   */
  bodyTarget(min: number): Uint8Array | undefined {
    let body = this.#body;
    if (body === null || this.#bodySize - this.#bodyHave < min) return undefined;
    if (body.length - this.#bodyHave < min) body = this.#grow(this.#bodyHave + min);
    return body.subarray(this.#bodyHave);
  }

  /** Record `n` bytes written into `bodyTarget` (at most its length). */
  filled(n: number, sink: FrameSink): void {
    const body = this.#body;
    if (body === null) throw new RangeError("no frame is being assembled");
    this.#bodyHave = Math.min(body.length, this.#bodyHave + n);
    if (this.#bodyHave === this.#bodySize) this.#finishBody(sink);
  }

  /** Drop the frame being assembled and give its bytes back to the budget (the connection is ending). */
  release(): void {
    this.#body = null;
    this.#hdrHave = 0;
    this.#uncharge();
  }

  /**
   * Decode frames from `chunk[offset..end]` (`end` defaults to the chunk's length, so a read
   * buffer needs no view of its filled part). With `transient`, frames are copied out of the
   * chunk instead of viewed. Returns where decoding stopped: `end`, or earlier when the sink
   * reported `stopped` (the bytes from there on were not looked at). Throws ZmtpError on
   * invalid frames.
   */
  push(chunk: Uint8Array, offset: number, sink: FrameSink, transient = false, end = chunk.length): number {
    const n = end;
    let off = offset;
    while (off < n && !sink.stopped) {
      if (this.#body !== null) {
        off = this.#continueBody(chunk, off, n, sink);
        continue;
      }
      if (this.#hdrHave > 0) {
        off = this.#continueHeader(chunk, off, n, sink);
        continue;
      }
      const flags = chunk[off] as number;
      let size: number;
      let hl: number;
      if ((flags & FLAG_LONG) !== 0) {
        if (n - off < 9) {
          off = this.#startHeader(chunk, off, n);
          continue;
        }
        size = readSize(chunk, off + 1);
        hl = 9;
      } else {
        if (n - off < 2) {
          off = this.#startHeader(chunk, off, n);
          continue;
        }
        size = chunk[off + 1] as number;
        hl = 2;
      }
      this.#check(flags, size);
      const start = off + hl;
      const frameEnd = start + size;
      if (frameEnd <= n) {
        off = frameEnd;
        if (transient && size >= this.#ownBufferFrom) {
          const body = this.#allocBody(size);
          body.set(chunk.subarray(start, frameEnd));
          sink.frame(flags, body);
        } else if (transient) {
          const at = start - hl;
          const wholeEnd = completeFramesEnd(chunk, frameEnd, n, this.#ownBufferFrom);
          if (wholeEnd === frameEnd) {
            // A lone small frame (e.g. the header before a large body): a copy of its body only.
            const body = this.allocate(size);
            copyBytes(body, chunk, start, frameEnd);
            sink.frame(flags, body);
            continue;
          }
          // Copy every whole frame from here on at once, then hand out views of the copy:
          // one allocation per read instead of one per frame.
          const copy = this.allocate(wholeEnd - at);
          copyBytes(copy, chunk, at, wholeEnd);
          sink.frame(flags, copy.subarray(hl, hl + size));
          // Where a stop leaves the run of frames undelivered, decoding resumes from the chunk.
          off = frameEnd;
          if (wholeEnd > frameEnd && !sink.stopped) off = at + this.push(copy, frameEnd - at, sink, false);
        } else {
          sink.frame(flags, chunk.subarray(start, frameEnd));
        }
      } else {
        this.#beginBody(flags, size, n - start).set(chunk.subarray(start, n));
        this.#bodyHave = n - start;
        off = n;
      }
    }
    return off;
  }

  /** Frames this large get a buffer of their own from `frameBuffers`. */
  get #ownBufferFrom(): number {
    return this.frameBuffers?.minSize ?? Infinity;
  }

  /** The buffer of one frame copied whole out of a transient chunk. */
  #allocBody(size: number): Uint8Array {
    const source = this.frameBuffers;
    return source !== undefined && size >= source.minSize ? source.take(size) : this.allocate(size);
  }

  /** Start assembling a frame of `size` bytes of which `have` are here; returns its (first) buffer. */
  #beginBody(flags: number, size: number, have: number): Uint8Array {
    const capacity = size <= WHOLE_FRAME_ALLOCATION_MAX ? size : Math.min(size, Math.max(GROWING_FRAME_START, have));
    this.#charge(capacity);
    const body = capacity === size ? this.#allocBody(size) : this.allocate(capacity);
    this.#body = body;
    this.#bodySize = size;
    this.#bodyHave = 0;
    this.#flags = flags;
    return body;
  }

  /** A bigger buffer for the frame being assembled, holding at least `need` bytes (doubling). */
  #grow(need: number): Uint8Array {
    const old = this.#body as Uint8Array;
    const capacity = Math.min(this.#bodySize, Math.max(old.length * 2, need));
    this.#charge(capacity - old.length);
    const body = this.allocate(capacity);
    body.set(old.subarray(0, this.#bodyHave));
    this.#body = body;
    return body;
  }

  #charge(bytes: number): void {
    const budget = this.budget;
    if (budget === undefined) return;
    if (!budget.take(bytes)) {
      throw new ZmtpError(
        "ZMTP_RECEIVE_BUDGET",
        `receive budget of ${budget.limit} bytes exhausted (${budget.held} held in unfinished messages)`,
      );
    }
    this.#charged += bytes;
  }

  #uncharge(): void {
    if (this.#charged === 0) return;
    this.budget?.give(this.#charged);
    this.#charged = 0;
  }

  #finishBody(sink: FrameSink): void {
    const body = this.#body as Uint8Array;
    this.#body = null;
    this.#uncharge();
    sink.frame(this.#flags, body);
  }

  #startHeader(chunk: Uint8Array, off: number, n: number): number {
    this.#hdr.set(chunk.subarray(off, n), 0);
    this.#hdrHave = n - off;
    return n;
  }

  #continueHeader(chunk: Uint8Array, off: number, n: number, sink: FrameSink): number {
    const hdr = this.#hdr;
    const need = ((hdr[0] as number) & FLAG_LONG) !== 0 ? 9 : 2;
    const take = Math.min(need - this.#hdrHave, n - off);
    hdr.set(chunk.subarray(off, off + take), this.#hdrHave);
    this.#hdrHave += take;
    off += take;
    if (this.#hdrHave < need) return off;
    this.#hdrHave = 0;
    const flags = hdr[0] as number;
    const size = need === 9 ? readSize(hdr, 1) : (hdr[1] as number);
    this.#check(flags, size);
    if (size === 0) {
      sink.frame(flags, new Uint8Array(0));
      return off;
    }
    this.#beginBody(flags, size, n - off);
    return off;
  }

  #continueBody(chunk: Uint8Array, off: number, n: number, sink: FrameSink): number {
    let body = this.#body as Uint8Array;
    const take = Math.min(this.#bodySize - this.#bodyHave, n - off);
    if (body.length - this.#bodyHave < take) body = this.#grow(this.#bodyHave + take);
    body.set(chunk.subarray(off, off + take), this.#bodyHave);
    this.#bodyHave += take;
    if (this.#bodyHave === this.#bodySize) this.#finishBody(sink);
    return off + take;
  }

  #check(flags: number, size: number): void {
    if ((flags & FLAG_COMMAND) !== 0) {
      if ((flags & FLAG_MORE) !== 0) throw new ZmtpError("ZMTP_BAD_FRAME", "command frame with the MORE flag set");
      if (size > this.maxCommand) {
        throw new ZmtpError("ZMTP_FRAME_TOO_LARGE", `command of ${size} bytes exceeds the limit of ${this.maxCommand}`);
      }
    } else if (size > this.maxData) {
      throw new ZmtpError("ZMTP_FRAME_TOO_LARGE", `frame of ${size} bytes exceeds the message size limit`);
    } else if (this.partsHeld >= this.maxParts) {
      throw new ZmtpError("ZMTP_TOO_MANY_PARTS", `message of more than ${this.maxParts} frames`);
    }
  }
}

/**
 * Where the run of frames lying wholly inside `chunk[off..n]` ends (no validation). The run
 * also stops before a frame of `ownBufferFrom` bytes or more, which gets a buffer of its own.
 */
function completeFramesEnd(chunk: Uint8Array, off: number, n: number, ownBufferFrom: number): number {
  for (;;) {
    if (n - off < 2) return off;
    const flags = chunk[off] as number;
    let end: number;
    if ((flags & FLAG_LONG) !== 0) {
      if (n - off < 9) return off;
      if ((chunk[off + 1] as number) !== 0 || (chunk[off + 2] as number) !== 0 || (chunk[off + 3] as number) !== 0 ||
        (chunk[off + 4] as number) !== 0) return off;
      const lo = (((chunk[off + 5] as number) << 24) | ((chunk[off + 6] as number) << 16) |
        ((chunk[off + 7] as number) << 8) | (chunk[off + 8] as number)) >>> 0;
      if (lo >= ownBufferFrom) return off;
      end = off + 9 + lo;
    } else {
      const size = chunk[off + 1] as number;
      if (size >= ownBufferFrom) return off;
      end = off + 2 + size;
    }
    if (end > n) return off;
    off = end;
  }
}

/**
 * `target.set(source.subarray(from, to))` without the view for short runs: a view is an
 * allocation, which costs more than a loop over a few hundred bytes.
 */
function copyBytes(target: Uint8Array, source: Uint8Array, from: number, to: number): void {
  if (to - from > 256) {
    target.set(source.subarray(from, to));
    return;
  }
  for (let i = from; i < to; i++) target[i - from] = source[i] as number;
}

function readSize(b: Uint8Array, at: number): number {
  const hi = (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) |
    (b[at + 3] as number)) >>> 0;
  const lo = (((b[at + 4] as number) << 24) | ((b[at + 5] as number) << 16) | ((b[at + 6] as number) << 8) |
    (b[at + 7] as number)) >>> 0;
  if (hi > MAX_SAFE_HI) throw new ZmtpError("ZMTP_FRAME_TOO_LARGE", "frame size beyond 2^53");
  return hi * 0x100000000 + lo;
}
