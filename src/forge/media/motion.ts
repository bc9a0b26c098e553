import type { RgbaImage } from "./image.ts";

/** A connected region of changed pixels in one frame. */
export interface Region {
  /** Pixel indices (`y * width + x`), ascending. */
  pixels: Uint32Array;
  box: { x: number; y: number; width: number; height: number };
  area: number;
  centroid: { x: number; y: number };
  /** Mean colour of the region in this frame. */
  rgb: [number, number, number];
  /** Mean difference from the background, in 0..255 units. */
  strength: number;
  /** Track this region belongs to (set by {@link trackRegions}). */
  track: number;
}

/** Options of the motion analysis. */
export interface MotionOptions {
  /** Smallest region kept, in pixels. Default: 0.05% of the frame, at least 12. */
  minArea?: number;
  /** Lowest colour difference that counts as change, 0..255. Default: adaptive, at least 24. */
  minDifference?: number;
}

/**
 * Per-pixel, per-channel median of up to 25 evenly spaced frames: the static background,
 * robust to anything that moves through less than half of the sampled frames.
 *
 * @example
 * ```ts
 * import { medianBackground } from "malamute/forge";
 * const background = medianBackground(frames);
 * ```
 */
export function medianBackground(frames: RgbaImage[]): Uint8Array {
  const first = frames[0]!;
  const n = first.width * first.height;
  const step = Math.max(1, frames.length / 25);
  const sample: RgbaImage[] = [];
  for (let i = 0; i < frames.length && sample.length < 25; i = Math.floor(i + step)) sample.push(frames[Math.floor(i)]!);
  const out = new Uint8Array(n * 4);
  const values = new Uint8Array(sample.length);
  for (let p = 0; p < n * 4; p++) {
    if ((p & 3) === 3) {
      out[p] = 255;
      continue;
    }
    for (let k = 0; k < sample.length; k++) values[k] = sample[k]!.data[p]!;
    values.sort();
    out[p] = values[values.length >> 1]!;
  }
  return out;
}

/**
 * The moving regions of one frame: pixels differing from the background by more than an
 * adaptive threshold, cleaned by a morphological opening and closing, split into 8-connected
 * regions.
 *
 * @example
 * ```ts
 * import { medianBackground, movingRegions } from "malamute/forge";
 * const bg = medianBackground(frames);
 * const regions = movingRegions(frames[3], bg);
 * ```
 */
export function movingRegions(frame: RgbaImage, background: Uint8Array, options: MotionOptions = {}): Region[] {
  const { width, height, data } = frame;
  const n = width * height;
  const diff = new Uint8Array(n);
  const histogram = new Uint32Array(256);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const d = Math.max(Math.abs(data[o]! - background[o]!), Math.abs(data[o + 1]! - background[o + 1]!), Math.abs(data[o + 2]! - background[o + 2]!));
    diff[i] = d;
    histogram[d]!++;
  }
  // Most pixels are background, so the median difference measures noise (compression, grain).
  let median = 0;
  for (let acc = 0; median < 255 && acc + histogram[median]! < n / 2; median++) acc += histogram[median]!;
  const threshold = options.minDifference ?? Math.max(24, 4 * median + 8);
  let mask: Uint8Array = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = diff[i]! > threshold ? 1 : 0;
  mask = dilate(erode(mask, width, height), width, height); // opening: drops specks
  mask = erode(dilate(mask, width, height), width, height); // closing: fills pinholes
  const minArea = options.minArea ?? Math.max(12, Math.round(n * 0.0005));
  return components(mask, width, height, minArea).map((pixels) => describeRegion(pixels, frame, diff));
}

function erode(mask: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let on = 1;
      for (let dy = -1; dy <= 1 && on; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h || !mask[yy * w + xx]) { on = 0; break; }
        }
      }
      out[y * w + x] = on;
    }
  }
  return out;
}

function dilate(mask: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < w && yy < h) out[yy * w + xx] = 1;
        }
      }
    }
  }
  return out;
}

/** 8-connected components of a mask with at least `minArea` pixels, largest first. */
function components(mask: Uint8Array, w: number, h: number, minArea: number): Uint32Array[] {
  const seen = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  const found: Uint32Array[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const pixels: number[] = [];
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const p = stack[--top]!;
      pixels.push(p);
      const x = p % w, y = (p - x) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const q = yy * w + xx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    if (pixels.length >= minArea) found.push(Uint32Array.from(pixels).sort());
  }
  return found.sort((a, b) => b.length - a.length);
}

function describeRegion(pixels: Uint32Array, frame: RgbaImage, diff: Uint8Array): Region {
  const w = frame.width;
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1, sx = 0, sy = 0, r = 0, g = 0, b = 0, s = 0;
  for (const p of pixels) {
    const x = p % w, y = (p - x) / w;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    sx += x; sy += y;
    r += frame.data[p * 4]!; g += frame.data[p * 4 + 1]!; b += frame.data[p * 4 + 2]!;
    s += diff[p]!;
  }
  const n = pixels.length;
  return {
    pixels,
    box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 },
    area: n,
    centroid: { x: sx / n, y: sy / n },
    rgb: [r / n, g / n, b / n],
    strength: s / n,
    track: 0,
  };
}

/**
 * Links regions across frames into tracks: each region joins the track of the best-matching
 * region seen in the last `maxGap + 1` frames (box overlap, else nearby centroid), or starts a
 * new track. Sets `region.track` (1-based) and returns the number of tracks.
 *
 * @example
 * ```ts
 * import { trackRegions } from "malamute/forge";
 * const tracks = trackRegions(regionsPerFrame);
 * ```
 */
export function trackRegions(perFrame: Region[][], maxGap = 2): number {
  let nextTrack = 1;
  const last = new Map<number, { region: Region; frame: number }>();
  perFrame.forEach((regions, f) => {
    const taken = new Set<number>();
    for (const region of regions) {
      let best = 0, bestScore = 0;
      for (const [track, seen] of last) {
        if (taken.has(track) || f - seen.frame > maxGap + 1) continue;
        const score = matchScore(seen.region, region);
        if (score > bestScore) { bestScore = score; best = track; }
      }
      region.track = best || nextTrack++;
      taken.add(region.track);
      last.set(region.track, { region, frame: f });
    }
  });
  return nextTrack - 1;
}

function matchScore(a: Region, b: Region): number {
  const ix = Math.max(0, Math.min(a.box.x + a.box.width, b.box.x + b.box.width) - Math.max(a.box.x, b.box.x));
  const iy = Math.max(0, Math.min(a.box.y + a.box.height, b.box.y + b.box.height) - Math.max(a.box.y, b.box.y));
  const inter = ix * iy;
  const union = a.box.width * a.box.height + b.box.width * b.box.height - inter;
  if (inter > 0) return 1 + inter / union;
  const reach = Math.max(a.box.width, a.box.height, b.box.width, b.box.height) * 1.5;
  const d = Math.hypot(a.centroid.x - b.centroid.x, a.centroid.y - b.centroid.y);
  return d < reach ? 1 - d / reach : 0;
}
