// The write queue of the runtime-native sockets (Bun, Deno): merges small writes.
/** Chunks shorter than this are merged with their neighbours into one write. */
const MERGE_BELOW = 16 * 1024;
/** Largest merged write. */
const MERGE_MAX = 64 * 1024;

/**
 * The bytes a socket has accepted but the kernel has not taken yet, for socket APIs that write
 * only what the kernel takes at once (Bun) or one buffer per call (Deno). Small chunks queued
 * together are merged into one write (a syscall each is what costs); write callbacks run once
 * the bytes before them are out.
 *
 * @example
 * ```ts
 * const out = new OutQueue();
 * out.push(chunk);
 * while (out.bytes > 0) { const n = trySend(out.peek()); out.consumed(n); if (n === 0) break; }
 * ```
 */
export class OutQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  /** Bytes of the head chunk already written. */
  #offset = 0;
  /** Bytes queued and not yet written. */
  bytes = 0;
  #pushed = 0;
  #taken = 0;
  #callbacks: { at: number; cb: (err?: Error | null) => void }[] = [];

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.bytes += chunk.length;
    this.#pushed += chunk.length;
  }

  /** `cb` runs once every byte pushed so far is written (at once, in a microtask, if none waits). */
  whenWritten(cb: (err?: Error | null) => void): void {
    if (this.bytes === 0) queueMicrotask(() => cb());
    else this.#callbacks.push({ at: this.#pushed, cb });
  }

  /** The next bytes to write: the rest of the head chunk, merged with small ones after it. */
  peek(): Uint8Array {
    const chunks = this.#chunks;
    const head = chunks[this.#head] as Uint8Array;
    const first = this.#offset === 0 ? head : head.subarray(this.#offset);
    if (first.length >= MERGE_BELOW || this.#head + 1 === chunks.length) return first;
    let end = this.#head + 1;
    let total = first.length;
    while (end < chunks.length) {
      const next = (chunks[end] as Uint8Array).length;
      if (next >= MERGE_BELOW || total + next > MERGE_MAX) break;
      total += next;
      end++;
    }
    if (end === this.#head + 1) return first;
    const merged = new Uint8Array(total);
    merged.set(first, 0);
    let at = first.length;
    for (let i = this.#head + 1; i < end; i++) {
      const c = chunks[i] as Uint8Array;
      merged.set(c, at);
      at += c.length;
    }
    this.#head = end - 1;
    this.#offset = 0;
    chunks[this.#head] = merged;
    return merged;
  }

  /** `n` bytes from `peek()` were written. */
  consumed(n: number): void {
    if (n <= 0) return;
    this.bytes -= n;
    this.#taken += n;
    const chunks = this.#chunks;
    let left = n;
    while (left > 0) {
      const rest = (chunks[this.#head] as Uint8Array).length - this.#offset;
      if (left < rest) {
        this.#offset += left;
        break;
      }
      left -= rest;
      chunks[this.#head++] = undefined as unknown as Uint8Array;
      this.#offset = 0;
    }
    if (this.#head === chunks.length) {
      chunks.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024) {
      chunks.splice(0, this.#head);
      this.#head = 0;
    }
    const cbs = this.#callbacks;
    let k = 0;
    while (k < cbs.length && (cbs[k] as { at: number }).at <= this.#taken) k++;
    if (k > 0) for (const { cb } of cbs.splice(0, k)) cb();
  }

  /** The socket died: drop what is queued; pending callbacks get `err`. */
  fail(err: Error): void {
    this.#chunks = [];
    this.#head = 0;
    this.#offset = 0;
    this.bytes = 0;
    for (const { cb } of this.#callbacks.splice(0)) cb(err);
  }
}
