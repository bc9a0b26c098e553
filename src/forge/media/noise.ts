import { rng } from "../bytes.ts";

/**
 * Seeded 2-D value noise and fractal sums of it, for procedural images. Deterministic for a
 * seed on every runtime (no `Math.random`).
 */
export interface Noise {
  /** Smooth noise in [0, 1]. */
  value(x: number, y: number): number;
  /** Fractal Brownian motion: `octaves` layers of noise, each twice the frequency and half the weight; [0, 1]. */
  fbm(x: number, y: number, octaves: number): number;
}

/**
 * Creates a noise field for `seed`.
 *
 * @example
 * ```ts
 * import { createNoise } from "malamute/forge";
 * const noise = createNoise(7);
 * noise.fbm(0.5, 0.25, 5); // a value in [0, 1]
 * ```
 */
export function createNoise(seed: number): Noise {
  const next = rng(seed);
  const perm = new Uint8Array(512);
  const values = new Float32Array(256);
  const order = Array.from({ length: 256 }, (_, i) => i);
  for (let i = 255; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let i = 0; i < 512; i++) perm[i] = order[i & 255]!;
  for (let i = 0; i < 256; i++) values[i] = next();

  const lattice = (ix: number, iy: number) => values[perm[(perm[ix & 255]! + iy) & 511]!]!;
  const smooth = (t: number) => t * t * (3 - 2 * t);
  const value = (x: number, y: number) => {
    const x0 = Math.floor(x), y0 = Math.floor(y);
    const tx = smooth(x - x0), ty = smooth(y - y0);
    const a = lattice(x0, y0), b = lattice(x0 + 1, y0), c = lattice(x0, y0 + 1), d = lattice(x0 + 1, y0 + 1);
    return a + (b - a) * tx + (c - a) * ty + (a - b - c + d) * tx * ty;
  };
  const fbm = (x: number, y: number, octaves: number) => {
    let sum = 0, amp = 0.5, norm = 0, f = 1;
    for (let o = 0; o < octaves; o++) {
      sum += value(x * f + o * 17.3, y * f - o * 9.1) * amp;
      norm += amp;
      amp *= 0.5;
      f *= 2;
    }
    return sum / norm;
  };
  return { value, fbm };
}
