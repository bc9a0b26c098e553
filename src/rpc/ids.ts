/** Random lowercase hex of `bytes` random bytes (Web Crypto: the same on Node, Bun and Deno). */
export function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of buf) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Makes call ids unique across processes and restarts: a random per-generator prefix plus a
 * counter. Ids are short (MLM trackers are at most 255 bytes) and never reused by a generator.
 *
 * @example
 * ```ts
 * const next = callIdGenerator();
 * next(); // "3f9a0c1b7d2e4a66.1"
 * ```
 */
export function callIdGenerator(): () => string {
  const prefix = randomHex(8);
  let counter = 0;
  return () => `${prefix}.${(++counter).toString(36)}`;
}
