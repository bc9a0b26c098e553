import { Buffer } from "node:buffer";
import { concatBytes } from "../util/bytes.ts";

/**
 * Concatenates byte arrays into one (a single part is returned without copying).
 *
 * @example
 * ```ts
 * import { concat } from "malamute/forge";
 * concat([Uint8Array.of(1), Uint8Array.of(2, 3)]); // Uint8Array [1, 2, 3]
 * ```
 */
export const concat: (parts: readonly Uint8Array[]) => Uint8Array = concatBytes;

/**
 * Standard base64 (with padding) of `bytes`.
 *
 * @example
 * ```ts
 * import { toBase64 } from "malamute/forge";
 * toBase64(new TextEncoder().encode("hi")); // "aGk="
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * Decodes standard or URL-safe base64; returns `undefined` when `text` is not base64.
 *
 * @example
 * ```ts
 * import { fromBase64 } from "malamute/forge";
 * fromBase64("aGk="); // Uint8Array [104, 105]
 * ```
 */
export function fromBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) return undefined;
  const buf = Buffer.from(clean, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * A `data:` URL for `bytes`, as OpenAI-compatible servers accept for image inputs.
 *
 * @example
 * ```ts
 * import { dataUrl } from "malamute/forge";
 * dataUrl("image/png", Uint8Array.of(1, 2)); // "data:image/png;base64,AQI="
 * ```
 */
export function dataUrl(mimeType: string, bytes: Uint8Array): string {
  return `data:${mimeType};base64,${toBase64(bytes)}`;
}

/** 32-bit FNV-1a over bytes; a cheap stable seed for deterministic demo output. */
export function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A small, fast, seedable PRNG (mulberry32) returning floats in [0, 1). Deterministic demo
 * output needs a seed the caller controls; `Math.random` cannot be seeded.
 *
 * @example
 * ```ts
 * import { rng } from "malamute/forge";
 * const next = rng(42);
 * next(); // same value on every run and runtime
 * ```
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random 32-bit seed from the platform's CSPRNG.
 *
 * @example
 * ```ts
 * import { randomSeed } from "malamute/forge";
 * const seed = randomSeed(); // 0 ..= 4294967295
 * ```
 */
export function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}
