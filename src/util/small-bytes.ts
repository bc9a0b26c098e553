/**
 * Allocation of the small byte arrays made for every message (MLM headers, RPC envelopes).
 *
 * V8 keeps typed arrays of up to 64 bytes on the JS heap, which is cheap. A bigger one gets a
 * backing store from the embedder's allocator, and the garbage collector has to track and free
 * each of them: in a loop that makes a 70-byte array cost 15-20× what a 64-byte one does (about
 * 1 µs against 55 ns on Node 20). Arrays between those sizes are therefore carved out of shared
 * slabs instead, the way Node's `Buffer.allocUnsafe` pools small Buffers; a slab is freed once
 * every array carved from it is unreachable.
 */

/** Arrays up to this size stay on the JS heap (V8's limit for on-heap typed arrays). */
const ON_HEAP_MAX = 64;
/** Arrays up to this size come from a slab; bigger ones get their own memory. */
const SLAB_MAX = 4096;
const SLAB_SIZE = 64 * 1024;

let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

/**
 * A new, zero-filled `Uint8Array` of `size` bytes, cheap to allocate and to collect at
 * every size up to a few KiB. Its `buffer` may be shared with other arrays: use it through
 * `byteOffset` and `byteLength` like any view.
 *
 * @example
 * ```ts
 * const header = smallBytes(70);
 * header.set(bytes);
 * ```
 */
export function smallBytes(size: number): Uint8Array {
  if (size <= ON_HEAP_MAX || size > SLAB_MAX) return new Uint8Array(size);
  if (slabUsed + size > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, size);
  // 8-byte alignment keeps later DataView reads on aligned offsets.
  slabUsed += (size + 7) & ~7;
  return out;
}

/**
 * A copy of `bytes[0, size)` made with {@link smallBytes}.
 *
 * @example
 * ```ts
 * const frame = copySmall(scratch, length);
 * ```
 */
export function copySmall(bytes: Uint8Array, size: number): Uint8Array {
  if (size <= ON_HEAP_MAX || size > SLAB_MAX) return bytes.slice(0, size);
  const out = smallBytes(size);
  out.set(bytes.subarray(0, size));
  return out;
}
