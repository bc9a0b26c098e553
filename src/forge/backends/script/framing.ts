import { decodeValue, encodeValue } from "../../../rpc/wire/codec.ts";
import { ForgeCode, ForgeError } from "../../errors.ts";

/** Default largest frame accepted from a script: 256 MiB. */
export const DEFAULT_MAX_FRAME = 256 * 1024 * 1024;

/**
 * Encodes one protocol message: a 4-byte big-endian length, then the msgpack bytes.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "malamute/forge";
 * process.stdout.write(encodeFrame({ type: "ready", protocol: 1 }));
 * ```
 */
export function encodeFrame(message: unknown): Uint8Array {
  const body = encodeValue(message);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/**
 * Reassembles length-prefixed msgpack frames from a byte stream cut at arbitrary points.
 * A frame over `maxFrame` bytes, or one that is not valid msgpack, throws
 * `FORGE_BAD_RESPONSE`: after that the stream cannot be trusted.
 *
 * @example
 * ```ts
 * import { FrameDecoder } from "malamute/forge";
 * const decoder = new FrameDecoder();
 * child.stdout.on("data", (bytes) => { for (const message of decoder.push(bytes)) handle(message); });
 * ```
 */
export class FrameDecoder {
  #buffer = new Uint8Array(0);
  #length = 0;
  readonly #maxFrame: number;

  constructor(maxFrame = DEFAULT_MAX_FRAME) {
    this.#maxFrame = maxFrame;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.#length;
  }

  /** Adds bytes; returns every message they complete, in order. */
  push(bytes: Uint8Array): unknown[] {
    this.#append(bytes);
    const out: unknown[] = [];
    let offset = 0;
    while (this.#length - offset >= 4) {
      const b = this.#buffer;
      const size = ((b[offset]! << 24) >>> 0) + (b[offset + 1]! << 16) + (b[offset + 2]! << 8) + b[offset + 3]!;
      if (size > this.#maxFrame) {
        throw new ForgeError(ForgeCode.BadResponse, `script sent a ${size}-byte frame, over the ${this.#maxFrame}-byte limit`, { details: { size, limit: this.#maxFrame } });
      }
      if (this.#length - offset - 4 < size) break;
      // Copy the frame out: the buffer is reused, and decoded binaries are views of their frame.
      const frame = b.slice(offset + 4, offset + 4 + size);
      offset += 4 + size;
      try {
        out.push(decodeValue(frame, "script"));
      } catch (err) {
        throw new ForgeError(ForgeCode.BadResponse, "script sent a frame that is not valid msgpack", { cause: err });
      }
    }
    if (offset > 0) {
      this.#buffer.copyWithin(0, offset, this.#length);
      this.#length -= offset;
    }
    return out;
  }

  #append(bytes: Uint8Array): void {
    const need = this.#length + bytes.length;
    if (need > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(need, this.#buffer.length * 2, 64 * 1024));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#length);
    this.#length = need;
  }
}
