/** Random lowercase hex of `bytes` random bytes (Web Crypto: the same on Node, Bun and Deno). */
export function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of buf) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Makes call ids: a short random per-generator prefix plus a counter. Ids need only be unique
 * among one client's calls (replies come back to the client's own mailbox, and workers and
 * the broker key calls by caller and id), and they are never reused by a generator; the
 * prefix keeps a restarted client that reuses its address from taking a late reply meant for
 * its previous life. They are short because every message of a call carries one: ten bytes
 * instead of twenty made the typed path measurably faster (bench/rpc.ts).
 *
 * @example
 * ```ts
 * const ids = new CallIds();
 * ids.next(); // "k3x9q2.1"
 * ids.seq; // 1, what callSequence("k3x9q2.1") reads back
 * ```
 */
export class CallIds {
  readonly #prefix: string;
  /** The counter of the id {@link next} made last. */
  seq = 0;

  constructor() {
    const [random] = crypto.getRandomValues(new Uint32Array(1));
    this.#prefix = (random as number).toString(36);
  }

  next(): string {
    return `${this.#prefix}.${(++this.seq).toString(36)}`;
  }
}

/**
 * The counter of an id made by {@link CallIds} (the base-36 digits after its last dot),
 * or -1 for a string that is not such an id.
 *
 * @example
 * ```ts
 * callSequence("k3x9q2.1a"); // 46
 * callSequence("nonsense"); // -1
 * ```
 */
export function callSequence(id: string): number {
  // One pass from the end, without lastIndexOf or substrings: this runs for every reply.
  let n = 0;
  let scale = 1;
  for (let i = id.length - 1, digits = 0; i >= 0; i--, digits++) {
    const c = id.charCodeAt(i);
    if (c === 0x2e) return digits === 0 ? -1 : n;
    // Ten base-36 digits stay below 2^53.
    if (digits === 10) return -1;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x7a ? c - 0x57 : -1;
    if (digit < 0) return -1;
    n += digit * scale;
    scale *= 36;
  }
  return -1;
}
