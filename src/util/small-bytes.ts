/**
 * Allocation of the small byte arrays made for every message (MLM headers, RPC envelopes).
 *
 * A typed array with memory of its own costs what its engine charges for a backing store,
 * and that differs a lot (measured in a loop, per array):
 * - Node's V8 keeps arrays of up to 64 bytes on the JS heap (~30 ns); a 70-byte one gets a
 *   backing store from the embedder and costs ~0.9 µs.
 * - Deno's V8 gives every array a backing store: ~0.75 µs even for 40 bytes.
 * - Bun (JavaScriptCore) allocates either size in 12-20 ns, faster than making a view.
 * A view of a shared slab costs 25-45 ns on both V8 runtimes, so arrays the engine would give
 * a backing store are carved out of 8 KiB slabs instead, the way Node's `Buffer.allocUnsafe`
 * pools small Buffers; a slab is freed once every array carved from it is unreachable.
 */

/**
 * Arrays up to this size get memory of their own, which the engine allocates cheaply: V8's
 * on-heap limit on Node, none on Deno, all slab-sized ones on Bun.
 */
const ON_HEAP_MAX = "Bun" in globalThis ? Infinity : "Deno" in globalThis ? 0 : 64;
/** Arrays up to this size come from a slab; bigger ones get their own memory. */
const SLAB_MAX = 4096;
/**
 * Small, like Node's 8 KiB `Buffer` pool: an array that lives long (content a broker stores,
 * handed over by reference by the `inproc` transport) keeps its whole slab alive.
 */
const SLAB_SIZE = 8 * 1024;

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
  if (size <= ON_HEAP_MAX || size > SLAB_MAX || size === 0) return new Uint8Array(size);
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
  if (size <= ON_HEAP_MAX || size > SLAB_MAX || size === 0) return bytes.slice(0, size);
  const out = smallBytes(size);
  out.set(bytes.subarray(0, size));
  return out;
}
