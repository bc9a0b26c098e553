import { nameColor } from "./colors.ts";
import type { RgbaImage } from "./image.ts";

/**
 * One dominant colour of an image.
 *
 * @example
 * ```ts
 * for (const c of analyzeImage(img).dominant) console.log(c.name, c.hex, Math.round(c.share * 100) + "%");
 * ```
 */
export interface DominantColor {
  name: string;
  rgb: [number, number, number];
  /** `#rrggbb`. */
  hex: string;
  /** Share of the (opaque) pixels, 0..1. */
  share: number;
}

/**
 * Measured properties of an image; everything is computed from the pixels.
 *
 * @example
 * ```ts
 * const { brightness, edges, mirror } = analyzeImage(decodePng(png));
 * ```
 */
export interface ImageStats {
  width: number;
  height: number;
  orientation: "landscape" | "portrait" | "square";
  /** Share of pixels with alpha below 128. */
  transparentShare: number;
  /** Mean Rec. 709 luma, 0..1. */
  brightness: number;
  /** Standard deviation of luma, 0..~0.5. */
  contrast: number;
  /** Hasler–Süsstrunk colourfulness, scaled to 0..~1 (0 = grey). */
  colorfulness: number;
  /** Mean red minus mean blue, -1..1; positive = warm. */
  warmth: number;
  /** Up to five colours, largest share first. */
  dominant: DominantColor[];
  /** Share of pixels on a strong edge (Sobel), and how those edges run. */
  edges: { density: number; horizontal: number; vertical: number };
  /** Mean luma of the top, middle and bottom thirds, and of the left and right halves. */
  bands: { top: number; middle: number; bottom: number; left: number; right: number };
  /** Centre of the brightest cell of an 8×8 grid, as fractions of width and height. */
  brightest: { x: number; y: number; brightness: number };
  /**
   * The horizontal line the image is most nearly mirrored about (as a fraction of the height)
   * and how closely (1 = a perfect mirror, 0 = no likeness), as a reflection on water gives.
   */
  mirror: { line: number; score: number };
}

/** Longest side of the working copy the statistics are computed on. */
const WORK_SIZE = 256;

/**
 * Measures an image: size, brightness, contrast, colourfulness, dominant colours (median cut),
 * edge density and direction (Sobel), and where the light is.
 *
 * @example
 * ```ts
 * import { analyzeImage, decodePng } from "malamute/forge";
 * const stats = analyzeImage(decodePng(pngBytes));
 * console.log(stats.dominant.map((c) => c.name)); // e.g. ["dark blue", "orange"]
 * ```
 */
export function analyzeImage(image: RgbaImage): ImageStats {
  const { width, height } = image;
  const small = downsample(image, WORK_SIZE);
  const n = small.width * small.height;
  const luma = new Float32Array(n);
  let sumL = 0, sumL2 = 0, sumR = 0, sumB = 0, transparent = 0, opaque = 0;
  let sumRg = 0, sumRg2 = 0, sumYb = 0, sumYb2 = 0;
  for (let i = 0; i < n; i++) {
    const r = small.data[i * 4]!, g = small.data[i * 4 + 1]!, b = small.data[i * 4 + 2]!, a = small.data[i * 4 + 3]!;
    const y = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    luma[i] = y;
    if (a < 128) {
      transparent++;
      continue;
    }
    opaque++;
    sumL += y;
    sumL2 += y * y;
    sumR += r;
    sumB += b;
    const rg = r - g, yb = 0.5 * (r + g) - b;
    sumRg += rg; sumRg2 += rg * rg; sumYb += yb; sumYb2 += yb * yb;
  }
  const m = Math.max(1, opaque);
  const brightness = sumL / m;
  const contrast = Math.sqrt(Math.max(0, sumL2 / m - brightness * brightness));
  const sdRg = Math.sqrt(Math.max(0, sumRg2 / m - (sumRg / m) ** 2));
  const sdYb = Math.sqrt(Math.max(0, sumYb2 / m - (sumYb / m) ** 2));
  const colorfulness = (Math.hypot(sdRg, sdYb) + 0.3 * Math.hypot(sumRg / m, sumYb / m)) / 180;

  return {
    width,
    height,
    orientation: width > height * 1.1 ? "landscape" : height > width * 1.1 ? "portrait" : "square",
    transparentShare: transparent / n,
    brightness,
    contrast,
    colorfulness,
    warmth: (sumR - sumB) / m / 255,
    dominant: dominantColors(small),
    edges: sobel(luma, small.width, small.height),
    bands: bands(luma, small.width, small.height),
    brightest: brightestCell(luma, small.width, small.height),
    mirror: mirrorLine(luma, small.width, small.height),
  };
}

/**
 * Box-filtered copy whose longest side is at most `max` (the image itself when smaller).
 *
 * @example
 * ```ts
 * const thumb = downsample(decodePng(png), 128); // longest side at most 128 px
 * ```
 */
export function downsample(image: RgbaImage, max: number): RgbaImage {
  const scale = Math.max(image.width, image.height) / max;
  if (scale <= 1) return image;
  const w = Math.max(1, Math.round(image.width / scale));
  const h = Math.max(1, Math.round(image.height / scale));
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * image.height) / h), y1 = Math.max(y0 + 1, Math.floor(((y + 1) * image.height) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * image.width) / w), x1 = Math.max(x0 + 1, Math.floor(((x + 1) * image.width) / w));
      let r = 0, g = 0, b = 0, a = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const i = (yy * image.width + xx) * 4;
          r += image.data[i]!; g += image.data[i + 1]!; b += image.data[i + 2]!; a += image.data[i + 3]!;
        }
      }
      const c = (y1 - y0) * (x1 - x0), o = (y * w + x) * 4;
      out[o] = r / c; out[o + 1] = g / c; out[o + 2] = b / c; out[o + 3] = a / c;
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * Median cut into up to 12 boxes, then boxes with the same colour name merged, so the result
 * reads as "blue and orange" rather than five shades of blue.
 */
function dominantColors(image: RgbaImage): DominantColor[] {
  const pixels: number[][] = [];
  for (let i = 0; i < image.width * image.height; i++) {
    if (image.data[i * 4 + 3]! < 128) continue;
    pixels.push([image.data[i * 4]!, image.data[i * 4 + 1]!, image.data[i * 4 + 2]!]);
  }
  if (pixels.length === 0) return [];
  let boxes: number[][][] = [pixels];
  while (boxes.length < 12) {
    let pick = -1, widest = 0, channel = 0;
    boxes.forEach((box, idx) => {
      if (box.length < 2) return;
      for (let c = 0; c < 3; c++) {
        let lo = 255, hi = 0;
        for (const p of box) { lo = Math.min(lo, p[c]!); hi = Math.max(hi, p[c]!); }
        // Weight by population so large areas split before small outliers.
        const score = (hi - lo) * Math.sqrt(box.length);
        if (score > widest) { widest = score; pick = idx; channel = c; }
      }
    });
    if (pick < 0 || widest === 0) break;
    const box = boxes[pick]!.sort((a, b) => a[channel]! - b[channel]!);
    const mid = box.length >> 1;
    boxes = [...boxes.slice(0, pick), box.slice(0, mid), box.slice(mid), ...boxes.slice(pick + 1)];
  }
  const merged = new Map<string, { sum: [number, number, number]; count: number }>();
  for (const box of boxes) {
    const mean: [number, number, number] = [0, 0, 0];
    for (const p of box) { mean[0] += p[0]!; mean[1] += p[1]!; mean[2] += p[2]!; }
    const name = nameColor(mean[0] / box.length, mean[1] / box.length, mean[2] / box.length);
    const entry = merged.get(name) ?? { sum: [0, 0, 0], count: 0 };
    entry.sum[0] += mean[0]; entry.sum[1] += mean[1]; entry.sum[2] += mean[2];
    entry.count += box.length;
    merged.set(name, entry);
  }
  return [...merged.entries()]
    .map(([name, { sum, count }]) => {
      const rgb: [number, number, number] = [Math.round(sum[0] / count), Math.round(sum[1] / count), Math.round(sum[2] / count)];
      return { name, rgb, hex: "#" + rgb.map((v) => v.toString(16).padStart(2, "0")).join(""), share: count / pixels.length };
    })
    .sort((a, b) => b.share - a.share)
    .slice(0, 5);
}

function sobel(luma: Float32Array, w: number, h: number): ImageStats["edges"] {
  if (w < 3 || h < 3) return { density: 0, horizontal: 0, vertical: 0 };
  let strong = 0, horizontal = 0, vertical = 0;
  const at = (x: number, y: number) => luma[y * w + x]!;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      if (Math.hypot(gx, gy) < 0.5) continue;
      strong++;
      // A vertical gradient means a horizontal edge (e.g. a horizon).
      if (Math.abs(gy) > 2 * Math.abs(gx)) horizontal++;
      else if (Math.abs(gx) > 2 * Math.abs(gy)) vertical++;
    }
  }
  const inner = (w - 2) * (h - 2);
  return { density: strong / inner, horizontal: strong ? horizontal / strong : 0, vertical: strong ? vertical / strong : 0 };
}

function bands(luma: Float32Array, w: number, h: number): ImageStats["bands"] {
  const mean = (x0: number, x1: number, y0: number, y1: number) => {
    let s = 0, c = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { s += luma[y * w + x]!; c++; }
    return c ? s / c : 0;
  };
  const t1 = Math.max(1, Math.floor(h / 3)), t2 = Math.max(t1, Math.floor((2 * h) / 3));
  const half = Math.max(1, Math.floor(w / 2));
  return {
    top: mean(0, w, 0, t1),
    middle: mean(0, w, t1, Math.max(t1 + 1, t2)),
    bottom: mean(0, w, t2, h),
    left: mean(0, half, 0, h),
    right: mean(half, w, 0, h),
  };
}

function brightestCell(luma: Float32Array, w: number, h: number): ImageStats["brightest"] {
  const cells = 8;
  let best = { x: 0.5, y: 0.5, brightness: -1 };
  for (let cy = 0; cy < cells; cy++) {
    for (let cx = 0; cx < cells; cx++) {
      const x0 = Math.floor((cx * w) / cells), x1 = Math.max(x0 + 1, Math.floor(((cx + 1) * w) / cells));
      const y0 = Math.floor((cy * h) / cells), y1 = Math.max(y0 + 1, Math.floor(((cy + 1) * h) / cells));
      let s = 0, c = 0;
      for (let y = y0; y < Math.min(y1, h); y++) for (let x = x0; x < Math.min(x1, w); x++) { s += luma[y * w + x]!; c++; }
      if (c && s / c > best.brightness) best = { x: (cx + 0.5) / cells, y: (cy + 0.5) / cells, brightness: s / c };
    }
  }
  return best;
}

/**
 * Searches the middle of the image for a horizontal mirror line: compares rows at equal
 * distances above and below it (column-averaged luma profiles, so ripples matter less) and
 * scores the likeness against how different unrelated rows are.
 */
function mirrorLine(luma: Float32Array, w: number, h: number): ImageStats["mirror"] {
  if (h < 16) return { line: 0.5, score: 0 };
  const bands = 8;
  const profile = (y: number) => {
    const out: number[] = [];
    for (let b = 0; b < bands; b++) {
      let s = 0;
      const x0 = Math.floor((b * w) / bands), x1 = Math.max(x0 + 1, Math.floor(((b + 1) * w) / bands));
      for (let x = x0; x < x1; x++) s += luma[y * w + x]!;
      out.push(s / (x1 - x0));
    }
    return out;
  };
  const rows = Array.from({ length: h }, (_, y) => profile(y));
  const dist = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / bands;
  // Baseline: how different rows a fixed distance apart are anyway.
  let baseline = 0, n = 0;
  for (let y = 0; y + h / 4 < h; y += 2) { baseline += dist(rows[y]!, rows[Math.floor(y + h / 4)]!); n++; }
  baseline = Math.max(1e-3, baseline / Math.max(1, n));
  let best = { line: 0.5, score: 0 };
  const reach = Math.floor(h * 0.2);
  for (let m = Math.floor(h * 0.35); m <= Math.floor(h * 0.75) && m + reach < h; m++) {
    let d = 0;
    for (let k = 2; k <= reach; k++) d += dist(rows[m - k]!, rows[m + k]!);
    const score = Math.max(0, 1 - d / (reach - 1) / baseline);
    if (score > best.score) best = { line: m / h, score };
  }
  return best;
}
