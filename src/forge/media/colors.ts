/**
 * Colour names both ways: RGB → a plain-English name (for descriptions), and a name found in a
 * prompt → RGB (for rendering). One vocabulary serves both, so a description written by the
 * demo analyser can be rendered back by the demo generator.
 */

/** Base colour words, with the RGB the renderer paints for each. */
export const BASE_COLORS: Readonly<Record<string, readonly [number, number, number]>> = {
  black: [12, 12, 16],
  charcoal: [54, 56, 62],
  grey: [128, 128, 132],
  gray: [128, 128, 132],
  silver: [192, 194, 200],
  white: [245, 245, 242],
  red: [200, 40, 40],
  crimson: [170, 20, 50],
  orange: [238, 126, 38],
  amber: [245, 170, 40],
  gold: [230, 185, 60],
  golden: [230, 185, 60],
  yellow: [240, 220, 70],
  lime: [160, 210, 60],
  green: [60, 150, 70],
  olive: [120, 128, 50],
  teal: [30, 140, 135],
  turquoise: [60, 200, 190],
  cyan: [60, 200, 225],
  azure: [80, 160, 235],
  blue: [45, 90, 200],
  navy: [20, 35, 90],
  indigo: [70, 50, 150],
  violet: [140, 90, 210],
  purple: [125, 55, 150],
  magenta: [200, 50, 170],
  pink: [240, 150, 185],
  rose: [225, 110, 140],
  brown: [120, 75, 40],
  beige: [220, 200, 165],
  cream: [245, 235, 205],
};

/** Modifiers the namer emits and the parser understands, as lightness/saturation shifts. */
const MODIFIERS: Readonly<Record<string, { l: number; s: number }>> = {
  dark: { l: -0.22, s: 0 },
  deep: { l: -0.15, s: 0.1 },
  light: { l: 0.2, s: -0.05 },
  pale: { l: 0.25, s: -0.25 },
  bright: { l: 0.08, s: 0.2 },
  muted: { l: 0, s: -0.3 },
  dusty: { l: 0.02, s: -0.35 },
};

/** HSL of an 8-bit RGB colour: hue in degrees, saturation and lightness in 0..1. */
export function rgbToHsl(r: number, g: number, b: number): [number, number, number] {
  const rn = r / 255, gn = g / 255, bn = b / 255;
  const max = Math.max(rn, gn, bn), min = Math.min(rn, gn, bn);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  let h: number;
  if (max === rn) h = ((gn - bn) / d + (gn < bn ? 6 : 0)) * 60;
  else if (max === gn) h = ((bn - rn) / d + 2) * 60;
  else h = ((rn - gn) / d + 4) * 60;
  return [h, s, l];
}

/** 8-bit RGB of an HSL colour (hue in degrees, s and l in 0..1). */
export function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const hue = ((h % 360) + 360) % 360 / 360;
  if (s <= 0) {
    const v = Math.round(l * 255);
    return [v, v, v];
  }
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t: number) => {
    const tt = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
    const v = tt < 1 / 6 ? p + (q - p) * 6 * tt : tt < 1 / 2 ? q : tt < 2 / 3 ? p + (q - p) * (2 / 3 - tt) * 6 : p;
    return Math.round(Math.max(0, Math.min(1, v)) * 255);
  };
  return [channel(hue + 1 / 3), channel(hue), channel(hue - 1 / 3)];
}

/**
 * A short English name for an 8-bit RGB colour, e.g. `"dark blue"`, `"pale orange"`, `"grey"`.
 *
 * @example
 * ```ts
 * import { nameColor } from "malamute/forge";
 * nameColor(20, 40, 120); // "dark blue"
 * ```
 */
export function nameColor(r: number, g: number, b: number): string {
  const [h, s, l] = rgbToHsl(r, g, b);
  if (l < 0.1) return "black";
  if (l > 0.94) return "white";
  if (s < 0.12 || (s < 0.2 && (l < 0.2 || l > 0.85))) {
    return l < 0.3 ? "charcoal" : l < 0.62 ? "grey" : l < 0.85 ? "silver" : "white";
  }
  let base: string;
  if ((h >= 12 && h < 48) && l < 0.42) base = "brown";
  else if ((h >= 25 && h < 60) && s < 0.5 && l > 0.7) base = "beige";
  else if ((h >= 330 || h < 12) && l > 0.68) base = "pink";
  else if (h < 12 || h >= 345) base = "red";
  else if (h < 42) base = "orange";
  else if (h < 68) base = "yellow";
  else if (h < 95) base = "lime";
  else if (h < 155) base = "green";
  else if (h < 178) base = "teal";
  else if (h < 200) base = "cyan";
  else if (h < 222) base = "azure";
  else if (h < 250) base = "blue";
  else if (h < 275) base = "indigo";
  else if (h < 305) base = "purple";
  else base = h < 330 ? "magenta" : "rose";
  if (base === "brown" || base === "beige" || base === "pink") return base;
  if (l < 0.28) return `dark ${base}`;
  if (s < 0.3) return `muted ${base}`;
  if (l > 0.72) return `pale ${base}`;
  if (l > 0.6) return `light ${base}`;
  if (s > 0.8 && l > 0.45) return `bright ${base}`;
  return base;
}

/**
 * A colour named in a prompt.
 *
 * @example
 * ```ts
 * for (const c of findColors("a pale orange sky")) console.log(c.name, c.rgb);
 * ```
 */
export interface NamedColor {
  /** The words as found, e.g. `"dark blue"`. */
  name: string;
  rgb: [number, number, number];
}

/**
 * Every colour named in `text`, in order of appearance, with modifiers applied
 * (`"pale orange sky"` → one pale orange).
 *
 * @example
 * ```ts
 * import { findColors } from "malamute/forge";
 * findColors("a dark blue sea under a golden sky").map((c) => c.name); // ["dark blue", "golden"]
 * ```
 */
export function findColors(text: string): NamedColor[] {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  const out: NamedColor[] = [];
  for (let i = 0; i < words.length; i++) {
    const base = BASE_COLORS[words[i]!];
    if (!base) continue;
    const mod = i > 0 ? MODIFIERS[words[i - 1]!] : undefined;
    let rgb: [number, number, number] = [base[0], base[1], base[2]];
    if (mod) {
      const [h, s, l] = rgbToHsl(...rgb);
      rgb = hslToRgb(h, clamp01(s + mod.s), clamp01(l + mod.l));
    }
    out.push({ name: mod ? `${words[i - 1]} ${words[i]}` : words[i]!, rgb });
  }
  return out;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
