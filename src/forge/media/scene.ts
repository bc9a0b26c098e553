import { rng } from "../bytes.ts";
import { findColors, rgbToHsl } from "./colors.ts";
import { createNoise } from "./noise.ts";
import type { RgbaImage } from "./image.ts";

type Rgb = [number, number, number];

/**
 * What the procedural renderer will draw, read from a prompt.
 *
 * @example
 * ```ts
 * const spec = parseScene("a city at night", "", 1, 0); // spec.time === "night", spec.features.city === true
 * ```
 */
export interface SceneSpec {
  seed: number;
  time: "day" | "sunset" | "night";
  skyTop: Rgb;
  skyHorizon: Rgb;
  glow: Rgb;
  /** Land colours, far to near. */
  land: Rgb[];
  waterTint: Rgb;
  features: {
    sun: boolean; moon: boolean; stars: boolean; clouds: boolean; mountains: boolean; hills: boolean;
    water: boolean; trees: boolean; city: boolean; snow: boolean; dunes: boolean;
  };
  /** Light source position, fractions of width/height. */
  light: { x: number; y: number };
  /** Horizon height, fraction of the image height from the top. */
  horizon: number;
  /** Saturation multiplier (grows with guidance, as classifier-free guidance oversaturates). */
  saturation: number;
  /** Colour words taken from the prompt, for the image's metadata. */
  colorWords: string[];
}

/** Prefix match, so "mountains", "snowy" and "reflection" count for "mountain", "snow" and "reflect". */
const has = (text: string, words: string) => new RegExp(`\\b(?:${words})`, "i").test(text);
/** Whole words (plus plural), so a negative "watermark" does not switch off "water". */
const hasWord = (text: string, words: string) => new RegExp(`\\b(?:${words})(?:s|es)?\\b`, "i").test(text);

/**
 * Reads a prompt (and negative prompt) into a scene: time of day from words like "sunset" or
 * "night", features from "mountains", "lake", "forest", "city"..., colours from colour words,
 * the light's position from phrases like "bright ... upper right". Words in the negative prompt
 * switch features off and drop colours.
 *
 * @example
 * ```ts
 * import { parseScene } from "malamute/forge";
 * parseScene("mountains over a lake at sunset", "clouds", 1, 0).features.clouds; // false
 * ```
 */
export function parseScene(prompt: string, negative: string, seed: number, guidance: number): SceneSpec {
  const next = rng(seed ^ 0x5eed);
  const neg = negative.toLowerCase();
  const off = (words: string) => neg.length > 0 && hasWord(neg, words);
  const on = (words: string) => has(prompt, words) && !off(words);

  let time: SceneSpec["time"] = "day";
  if (has(prompt, "sunset|sunrise|dusk|dawn|evening|twilight|golden hour|dusk-like|sunset light")) time = "sunset";
  if (has(prompt, "night|midnight|starry|moonlit|nocturnal")) time = "night";

  const features = {
    sun: false, moon: false, stars: false,
    clouds: on("cloud|overcast|storm|mist|fog|haze"),
    mountains: on("mountain|peak|alp|ridge|cliff|summit|rock"),
    hills: on("hill|valley|meadow|field|landscape|countryside|grass"),
    water: on("sea|ocean|lake|river|water|bay|coast|beach|reflect|pond|shore|wave"),
    trees: on("tree|forest|wood|pine|jungle|grove"),
    city: on("city|skyline|building|town|tower|street|village|house"),
    snow: on("snow|winter|ice|frost|glacier"),
    dunes: on("desert|dune|sand"),
  };
  const anyLand = features.mountains || features.hills || features.city || features.dunes;
  if (!anyLand) features.hills = !off("hill|land");
  if (!has(prompt, "clear") && !features.clouds && time !== "night" && next() < 0.5 && !off("cloud")) features.clouds = true;
  features.moon = time === "night" && !off("moon");
  features.stars = time === "night" && !off("star");
  features.sun = time !== "night" && !off("sun");

  const defaults: Record<SceneSpec["time"], { top: Rgb; horizon: Rgb; glow: Rgb; land: Rgb[]; water: Rgb }> = {
    day: { top: [62, 122, 205], horizon: [178, 212, 240], glow: [255, 244, 214], land: [[110, 140, 160], [86, 132, 86], [52, 104, 56]], water: [40, 96, 150] },
    sunset: { top: [58, 52, 124], horizon: [250, 156, 86], glow: [255, 196, 110], land: [[110, 72, 110], [70, 46, 80], [36, 28, 48]], water: [60, 50, 100] },
    night: { top: [8, 12, 36], horizon: [34, 50, 96], glow: [226, 230, 255], land: [[32, 38, 66], [20, 26, 48], [10, 12, 28]], water: [14, 22, 50] },
  };
  const base = defaults[time];
  const negColors = new Set(findColors(neg).map((c) => c.name.split(" ").pop()!));
  const colors = findColors(prompt).filter((c) => !negColors.has(c.name.split(" ").pop()!));
  const weight = Math.min(1, 0.7 + guidance * 0.04);
  const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
  let skyTop = base.top, skyHorizon = base.horizon, glow = base.glow, water = base.water;
  const land = [...base.land];
  let coolUsed = 0, warmUsed = 0, landUsed = 0;
  for (const c of colors) {
    const [h, s, l] = rgbToHsl(...c.rgb);
    if (s < 0.15) continue; // greys and whites carry no hue to paint with
    const earthy = (h >= 60 && h < 170) || (h >= 12 && h < 48 && l < 0.42);
    const warm = !earthy && (h < 60 || h >= 300);
    if (earthy && landUsed < land.length) {
      const i = land.length - 1 - landUsed++;
      land[i] = mix(land[i]!, c.rgb, weight);
    } else if (warm && warmUsed < 2) {
      if (warmUsed++ === 0) skyHorizon = mix(skyHorizon, c.rgb, weight);
      else glow = mix(glow, c.rgb, weight);
    } else if (!earthy && !warm && coolUsed < 2) {
      if (coolUsed++ === 0) {
        skyTop = mix(skyTop, c.rgb, weight);
        water = mix(water, c.rgb, weight * 0.8);
      } else skyHorizon = mix(skyHorizon, c.rgb, weight * 0.6);
    }
  }

  const horizon = features.water ? 0.56 + next() * 0.08 : 0.6 + next() * 0.1;
  // The light sits above whatever land rises from the horizon, low in the sky at sunset.
  const landTop = horizon - (features.mountains ? 0.36 : features.city ? 0.28 : 0.16);
  const light = { x: 0.2 + next() * 0.6, y: time === "sunset" ? Math.max(0.1, landTop - 0.06) : Math.min(0.18 + next() * 0.15, landTop - 0.08) };
  const where = /bright[^.]*?\b(upper|top|lower|bottom|middle|centre|center)?[ -]?(left|right|centre|center)\b/i.exec(prompt);
  if (where) {
    const side = where[2]!.toLowerCase();
    light.x = side === "left" ? 0.22 : side === "right" ? 0.78 : 0.5;
    const vertical = where[1]?.toLowerCase();
    if (vertical === "upper" || vertical === "top") light.y = Math.min(light.y, 0.2);
  }
  return {
    seed, time, skyTop, skyHorizon, glow, land, waterTint: water, features, light,
    horizon,
    saturation: Math.min(1.6, 1 + guidance * 0.03),
    colorWords: colors.map((c) => c.name),
  };
}

/**
 * One paint pass of a scene, run in order; the caller may yield between passes.
 *
 * @example
 * ```ts
 * for (const layer of render.layers) { layer.paint(); console.log("painted", layer.name); }
 * ```
 */
export interface SceneLayer {
  name: string;
  paint(): void;
}

/**
 * A scene being rendered: run every layer's `paint`, then `finish()` returns the image.
 *
 * @example
 * ```ts
 * const render = renderScene(spec, 320, 200, 5);
 * for (const layer of render.layers) layer.paint();
 * const img = render.finish();
 * ```
 */
export interface SceneRender {
  layers: SceneLayer[];
  finish(): RgbaImage;
}

/**
 * Prepares the paint passes for a scene. `detail` (1–8) is the number of noise octaves in
 * ridges and clouds.
 *
 * @example
 * ```ts
 * import { parseScene, renderScene, encodePng } from "malamute/forge";
 * const render = renderScene(parseScene("a lake at night", "", 3, 0), 256, 160, 5);
 * for (const layer of render.layers) layer.paint();
 * const png = encodePng(render.finish());
 * ```
 */
export function renderScene(spec: SceneSpec, width: number, height: number, detail: number): SceneRender {
  const buf = new Float32Array(width * height * 3);
  const noise = createNoise(spec.seed);
  const next = rng(spec.seed ^ 0x1a7e);
  const octaves = Math.max(1, Math.min(8, Math.round(detail)));
  const H = spec.horizon * height;
  const f = spec.features;
  const minSide = Math.min(width, height);
  const put = (x: number, y: number, c: Rgb, a = 1) => {
    const i = (y * width + x) * 3;
    buf[i] = buf[i]! + (c[0] - buf[i]!) * a;
    buf[i + 1] = buf[i + 1]! + (c[1] - buf[i + 1]!) * a;
    buf[i + 2] = buf[i + 2]! + (c[2] - buf[i + 2]!) * a;
  };
  const lerp = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
  const lx = spec.light.x * width, ly = spec.light.y * height;
  /** Ground line of the nearest land layer, per column; trees stand on it. */
  const ground = new Float32Array(width).fill(height);

  const layers: SceneLayer[] = [];
  layers.push({
    name: "sky",
    paint() {
      const glowRadius = minSide * (spec.time === "sunset" ? 0.55 : 0.35);
      for (let y = 0; y < height; y++) {
        const t = Math.min(1, y / Math.max(1, H));
        const row = lerp(spec.skyTop, spec.skyHorizon, Math.pow(t, 1.4));
        for (let x = 0; x < width; x++) {
          const d = Math.hypot(x - lx, y - ly) / glowRadius;
          const g = f.sun || f.moon ? Math.exp(-d * d) * (spec.time === "night" ? 0.25 : 0.6) : 0;
          put(x, y, lerp(row, spec.glow, g));
        }
      }
      if (f.stars) {
        const count = Math.round((width * H) / 400);
        for (let i = 0; i < count; i++) {
          const x = Math.floor(next() * width), y = Math.floor(next() * H * 0.95);
          const b = 150 + next() * 105;
          put(x, y, [b, b, b * 1.05], 0.4 + next() * 0.6);
        }
      }
    },
  });
  if (f.sun || f.moon) {
    layers.push({
      name: f.moon ? "moon" : "sun",
      paint() {
        const r = minSide * (f.moon ? 0.05 : 0.07);
        const disc: Rgb = f.moon ? [236, 236, 226] : lerp(spec.glow, [255, 252, 240], 0.6);
        for (let y = Math.max(0, Math.floor(ly - r - 2)); y < Math.min(height, ly + r + 2); y++) {
          for (let x = Math.max(0, Math.floor(lx - r - 2)); x < Math.min(width, lx + r + 2); x++) {
            const d = Math.hypot(x - lx, y - ly);
            if (d > r + 1) continue;
            const edge = Math.min(1, r + 1 - d); // 1-pixel antialiased rim
            let c = disc;
            if (f.moon) c = lerp(disc, [190, 190, 180], noise.fbm(x / (r * 0.5), y / (r * 0.5), 3) * 0.6);
            put(x, y, c, edge);
          }
        }
      },
    });
  }
  if (f.clouds) {
    layers.push({
      name: "clouds",
      paint() {
        const lit: Rgb = spec.time === "night" ? [70, 78, 110] : spec.time === "sunset" ? lerp(spec.glow, [255, 230, 220], 0.4) : [250, 250, 252];
        const shade: Rgb = lerp(lit, spec.skyTop, 0.45);
        for (let y = 0; y < H; y++) {
          const fade = 1 - y / H;
          for (let x = 0; x < width; x++) {
            const n = noise.fbm((x / width) * 3.2, (y / height) * 9, octaves + 1);
            const a = Math.max(0, Math.min(1, (n - 0.52) * 5)) * fade;
            if (a <= 0) continue;
            const inner = noise.fbm((x / width) * 6 + 4, (y / height) * 14, octaves);
            put(x, y, lerp(lit, shade, inner * 0.8), a * 0.9);
          }
        }
      },
    });
  }
  // Land layers, far to near: each is a ridge line filled down to the horizon (with water) or the bottom.
  const ridges: Array<{ name: string; color: Rgb; base: number; amp: number; freq: number; ridged: boolean; snow: boolean }> = [];
  if (f.mountains) {
    ridges.push({ name: "far mountains", color: lerp(spec.land[0]!, spec.skyHorizon, 0.45), base: H, amp: height * 0.3, freq: 2.2, ridged: true, snow: f.snow });
    ridges.push({ name: "mountains", color: spec.land[0]!, base: H, amp: height * 0.2, freq: 3.1, ridged: true, snow: f.snow });
  }
  if (f.dunes) ridges.push({ name: "dunes", color: spec.land[1]!, base: H + height * 0.02, amp: height * 0.08, freq: 1.6, ridged: false, snow: false });
  if (f.hills) {
    ridges.push({ name: "far hills", color: lerp(spec.land[1]!, spec.skyHorizon, 0.3), base: H, amp: height * 0.14, freq: 2.5, ridged: false, snow: false });
    ridges.push({ name: "hills", color: spec.land[2]!, base: H + (f.water ? 0 : height * 0.06), amp: height * 0.11, freq: 1.8, ridged: false, snow: false });
  }
  const bottom = f.water ? Math.ceil(H) : height;
  ridges.forEach((ridge, k) => {
    layers.push({
      name: ridge.name,
      paint() {
        const tops = new Float32Array(width);
        for (let x = 0; x < width; x++) {
          let n = noise.fbm((x / width) * ridge.freq + k * 7.7, k * 3.3, octaves);
          if (ridge.ridged) n = 1 - Math.abs(2 * n - 1);
          tops[x] = ridge.base - ridge.amp * n;
        }
        const span = Math.max(2, Math.round(width / 40));
        for (let x = 0; x < width; x++) {
          const top = tops[x]!;
          // Broad slope of the ridge, signed toward the light: faces turned to it are lit.
          const slope = (tops[Math.min(width - 1, x + span)]! - tops[Math.max(0, x - span)]!) / (2 * span);
          const toward = Math.max(-1, Math.min(1, (x - lx) / (width * 0.15)));
          const faceLit = Math.max(-0.12, Math.min(0.12, -slope * toward * 0.5));
          for (let y = Math.max(0, Math.floor(top)); y < bottom; y++) {
            const depth = (y - top) / Math.max(1, bottom - top);
            // 2-D rock/grass texture: brightness follows the noise gradient, like lit facets.
            const u = (x / width) * (ridge.ridged ? 9 : 6) + k * 5, w = (y / height) * (ridge.ridged ? 9 : 12);
            const facet = (noise.fbm(u + 0.02, w, 4) - noise.fbm(u - 0.02, w, 4)) * (ridge.ridged ? 12 : 5) * -toward;
            const shade = (1 + faceLit * (1 - depth) + Math.max(-0.15, Math.min(0.15, facet))) * (1 - depth * 0.25);
            let c: Rgb = [ridge.color[0] * shade, ridge.color[1] * shade, ridge.color[2] * shade];
            if (ridge.snow && y - top < ridge.amp * 0.14 * (0.5 + noise.value(x * 0.15, y * 0.15))) c = lerp(c, [240, 244, 250], 0.85);
            put(x, y, c, y === Math.floor(top) ? 1 - (top - Math.floor(top)) : 1);
          }
          ground[x] = Math.min(Math.max(0, top), height);
        }
      },
    });
  });
  if (f.city) {
    layers.push({
      name: "city",
      paint() {
        const dark: Rgb = lerp(spec.land[2]!, [20, 20, 30], 0.6);
        const windowLit: Rgb = [255, 214, 120];
        let x = 0;
        while (x < width) {
          const w = Math.max(3, Math.round(width * (0.025 + next() * 0.05)));
          const h = height * (0.06 + next() * 0.2);
          const top = Math.max(0, Math.floor(H - h));
          const lit = spec.time !== "day";
          for (let y = top; y < bottom; y++) {
            for (let xx = x; xx < Math.min(width, x + w); xx++) {
              const win = lit && (xx - x) % 4 === 2 && (y - top) % 5 === 2 && noise.value(xx * 1.7, y * 1.3) > 0.55;
              put(xx, y, win ? windowLit : dark);
            }
          }
          for (let xx = x; xx < Math.min(width, x + w); xx++) ground[xx] = Math.min(ground[xx]!, top);
          x += w + Math.round(next() * 2);
        }
      },
    });
  }
  if (f.water) {
    layers.push({
      name: "water",
      paint() {
        const top = Math.ceil(H);
        for (let y = top; y < height; y++) {
          const depth = (y - top) / Math.max(1, height - top);
          for (let x = 0; x < width; x++) {
            const ripple = (noise.value(x * 0.05, y * 0.6) - 0.5) * (2 + depth * 10);
            const sx = Math.max(0, Math.min(width - 1, Math.round(x + ripple)));
            const sy = Math.max(0, Math.min(top - 1, Math.round(2 * H - y - 1)));
            const i = (sy * width + sx) * 3;
            let c: Rgb = [buf[i]!, buf[i + 1]!, buf[i + 2]!];
            c = lerp(c, spec.waterTint, 0.35 + depth * 0.35);
            const glint = (f.sun || f.moon) && Math.abs(x - lx) < minSide * 0.035 * (1 + depth * 2) && noise.value(x * 0.35, y * 1.1) > 0.66;
            put(x, y, glint ? lerp(c, spec.glow, 0.7) : c);
          }
        }
        for (let x = 0; x < width; x++) ground[x] = Math.min(ground[x]!, top);
      },
    });
  }
  if (f.trees) {
    layers.push({
      name: "trees",
      paint() {
        const tree: Rgb = spec.time === "day" ? lerp(spec.land[2]!, [10, 40, 20], 0.55) : lerp(spec.land[2]!, [5, 5, 10], 0.6);
        const count = Math.max(3, Math.round(width / (minSide * 0.05)));
        for (let i = 0; i < count; i++) {
          const cx = Math.floor(next() * width);
          const baseY = ground[cx]! + 2;
          const h = minSide * (0.05 + next() * 0.08), w = h * 0.38;
          for (let y = Math.max(0, Math.floor(baseY - h)); y < Math.min(height, baseY); y++) {
            const half = (w * (y - (baseY - h))) / h;
            for (let x = Math.max(0, Math.floor(cx - half)); x <= Math.min(width - 1, cx + half); x++) put(x, y, tree);
          }
        }
      },
    });
  }
  return {
    layers,
    finish() {
      const out = new Uint8Array(width * height * 4);
      const cx = width / 2, cy = height / 2, maxR = Math.hypot(cx, cy);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 3, o = (y * width + x) * 4;
          const r = buf[i]!, g = buf[i + 1]!, b = buf[i + 2]!;
          const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
          const v = 1 - 0.22 * (Math.hypot(x - cx, y - cy) / maxR) ** 2;
          const grain = (next() - 0.5) * 4;
          out[o] = clamp255((l + (r - l) * spec.saturation) * v + grain);
          out[o + 1] = clamp255((l + (g - l) * spec.saturation) * v + grain);
          out[o + 2] = clamp255((l + (b - l) * spec.saturation) * v + grain);
          out[o + 3] = 255;
        }
      }
      return { width, height, data: out };
    },
  };
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

